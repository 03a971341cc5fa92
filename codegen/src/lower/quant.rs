//! Generators of quantize_linear and dequantize_linear between f32/f64/f16 and the 8- to
//! 32-bit integers, int4/int2 and the coded floats (float8 but e8m0, float4), per tensor,
//! per axis or blocked (`block_size` consecutive elements along `axis` share a scale),
//! bit-exact with the interpreter (`asplit_ir::interp`'s quant kernel), which fixes the
//! precision of every step:
//! - quantize: `x / scale` in x's precision (f16 x divides in f32 and rounds to f16; f64 x
//!   in f64; the scale is converted to that precision first). To an integer:
//!   `clamp(round_half_even(q) + zero_point)` (NaN → 0 before the zero point). To a coded
//!   float: `q + zero_point` (added in f32 — f64 for f64 x — and rounded to f16 for f16 x;
//!   nothing added without a zero point), encoded by the cast's [`NarrowEncoder`]
//!   (`saturate` honoured).
//! - dequantize: `(q − zero_point)` in f32, times the scale in f32 (f64 for an f64 scale),
//!   rounded to the scale's dtype (the result's).
//!
//! int4/int2 are one code per byte (decoded by sign extension for the signed ones). Coded
//! floats, values and zero points alike, decode through a compile-time table of the
//! interpreter's values, so a zero point may be any run-time value (graph input or
//! constant). bf16 operands or scales, an i32 x of quantize, a dequantize whose result
//! dtype is not its scale's, and e8m0 are `Unsupported`.

use super::cast::NarrowEncoder;
use super::layout::{dense_strides, nest, offset};
use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{CastOptions, CodedType, DType, Graph, NodeId, OpKind, RoundMode};
use inkwell::types::FloatType;
use inkwell::values::{BasicValueEnum, FloatValue, FunctionValue, IntValue, PointerValue};

fn int_range(d: DType) -> Option<(f64, f64)> {
    Some(match d {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        DType::U16 => (0.0, 65535.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::U32 => (0.0, u32::MAX as f64),
        d => {
            let (lo, hi) = d.coded()?.int_range()?;
            (lo as f64, hi as f64)
        }
    })
}

fn signed(d: DType) -> bool {
    matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::I4 | DType::I2)
}

/// The code width of an int4/int2 dtype (8 for the byte-or-wider integers).
fn code_bits(d: DType) -> u32 {
    d.coded().filter(|c| c.int_range().is_some()).map_or(8, CodedType::bits)
}

/// The coded float a quantize targets or a dequantize reads (not e8m0).
fn coded_float(d: DType) -> Option<CodedType> {
    d.coded().filter(|c| c.is_float() && *c != CodedType::F8E8M0)
}

/// The float dtypes this generator reads and writes.
fn float_operand(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F64 | DType::F16)
}

/// What one quantize/dequantize node computes.
struct Spec {
    quantize: bool,
    /// The float side: x of quantize, y of dequantize.
    fdt: DType,
    /// The quantized side.
    idt: DType,
    /// The scale's dtype.
    sdt: DType,
    /// The arithmetic's dtype (f32 or f64).
    work: DType,
    /// `Some` when `idt` is a coded float.
    cf: Option<CodedType>,
    has_zp: bool,
}

impl Spec {
    /// The node's spec, or `Unsupported` naming the dtypes.
    fn of(cx: &KernelCx<'_, '_>, g: &Graph, n: NodeId) -> Result<Spec, CodegenError> {
        let node = &g.nodes[n];
        let quantize = node.op == OpKind::QuantizeLinear;
        let (x, y) = (g.ty(node.inputs[0]).dtype, g.ty(node.outputs[0]).dtype);
        let sdt = g.ty(node.inputs[1]).dtype;
        let (fdt, idt) = if quantize { (x, y) } else { (y, x) };
        let cf = coded_float(idt);
        let ok = float_operand(fdt)
            && float_operand(sdt)
            && (quantize || sdt == fdt)
            && (int_range(idt).is_some() || cf.is_some());
        if !ok {
            return Err(cx.unsupported(g, n, format!("{fdt} ↔ {idt} with a {sdt} scale")));
        }
        let has_zp = node.inputs.len() > 2;
        if has_zp && g.ty(node.inputs[2]).dtype != idt {
            return Err(cx.invalid(g, n, "zero point dtype"));
        }
        let wide = if quantize { fdt } else { sdt };
        let work = if wide == DType::F64 { DType::F64 } else { DType::F32 };
        Ok(Spec { quantize, fdt, idt, sdt, work, cf, has_zp })
    }
}

/// The scale's shape seen at x's rank: all 1 (per tensor), the axis only (per axis), or the
/// scale's own shape (blocked); with the normalised axis and the block size.
fn param_shape(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    n: NodeId,
) -> Result<(Vec<usize>, i64, usize), CodegenError> {
    let node = &g.nodes[n];
    let (x_ty, s_ty) = (g.ty(node.inputs[0]), g.ty(node.inputs[1]));
    let rank = x_ty.rank();
    let a = node.attrs.int("axis").unwrap_or(1);
    let axis = if a < 0 { a + rank as i64 } else { a };
    let block = node.attrs.int("block_size").unwrap_or(0).max(0) as usize;
    let full: Vec<usize> = if s_ty.numel() == 1 && s_ty.rank() <= 1 {
        vec![1; rank]
    } else if block == 0 {
        let ax = usize::try_from(axis)
            .ok()
            .filter(|&a| a < rank)
            .ok_or_else(|| cx.invalid(g, n, "axis"))?;
        (0..rank).map(|d| if d == ax { x_ty.shape[d] } else { 1 }).collect()
    } else {
        s_ty.shape.clone()
    };
    if full.len() != rank || full.iter().product::<usize>() != s_ty.numel() {
        return Err(cx.invalid(g, n, "scale shape"));
    }
    Ok((full, axis, block))
}

/// A compile-time table of the f32 value of every code of `c` (indexed by the code byte).
fn decode_table<'ctx>(cx: &mut KernelCx<'_, 'ctx>, c: CodedType) -> PointerValue<'ctx> {
    let mut bytes = Vec::with_capacity(1024);
    for code in 0..=255u8 {
        bytes.extend_from_slice(&(c.to_f64(code & c.mask()) as f32).to_le_bytes());
    }
    cx.const_bytes(&bytes)
}

/// The f32 value of the coded-float code `ptr[at]` through `table`.
fn load_coded<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    table: PointerValue<'ctx>,
    ptr: PointerValue<'ctx>,
    at: IntValue<'ctx>,
) -> Result<FloatValue<'ctx>, CodegenError> {
    let v = cx.load_at(cx.ctx.i8_type(), ptr, at, 1)?.into_int_value();
    let i = cx.builder.build_int_z_extend(v, cx.i64_type(), "i")?;
    Ok(cx.load_at(cx.f32_type(), table, i, 4)?.into_float_value())
}

/// The integer `ptr[at]` of dtype `d` (int4/int2 codes decoded) as a float of type `ft`.
fn load_int_as<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    d: DType,
    ptr: PointerValue<'ctx>,
    at: IntValue<'ctx>,
    ft: FloatType<'ctx>,
) -> Result<FloatValue<'ctx>, CodegenError> {
    let v = cx.load_at(cx.elem_type(d), ptr, at, d.size_bytes() as u32)?.into_int_value();
    let v = decode_int(cx, d, v)?;
    Ok(if signed(d) {
        cx.builder.build_signed_int_to_float(v, ft, "f")?
    } else {
        cx.builder.build_unsigned_int_to_float(v, ft, "f")?
    })
}

/// An int4/int2 code (an i8 holding the low bits) as its integer value.
fn decode_int<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    d: DType,
    v: IntValue<'ctx>,
) -> Result<IntValue<'ctx>, CodegenError> {
    let bits = code_bits(d);
    if bits == 8 || !signed(d) {
        return Ok(v);
    }
    let sh = cx.ctx.i8_type().const_int(u64::from(8 - bits), false);
    let up = cx.builder.build_left_shift(v, sh, "u")?;
    Ok(cx.builder.build_right_shift(up, sh, true, "d")?)
}

/// `v` converted (extended or rounded) to the float type `ft`.
fn to_float<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    v: FloatValue<'ctx>,
    ft: FloatType<'ctx>,
) -> Result<FloatValue<'ctx>, CodegenError> {
    if v.get_type() == ft {
        return Ok(v);
    }
    Ok(cx.builder.build_float_cast(v, ft, "c")?)
}

/// `v` (f32) rounded to f16 and back when `d` is f16: the interpreter's f16 precision.
fn round_to<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    d: DType,
    v: FloatValue<'ctx>,
) -> Result<FloatValue<'ctx>, CodegenError> {
    if d != DType::F16 {
        return Ok(v);
    }
    let h = cx.builder.build_float_trunc(v, cx.ctx.f16_type(), "h")?;
    Ok(cx.builder.build_float_ext(h, v.get_type(), "w")?)
}

/// The zero point at `po` in the kernel's float types: decoded coded float (f32), or the
/// integer in `ft`; `None` without a zero point.
struct ZeroPoint<'ctx> {
    ptr: Option<PointerValue<'ctx>>,
    table: Option<PointerValue<'ctx>>,
}

impl<'ctx> ZeroPoint<'ctx> {
    fn load(
        &self,
        cx: &KernelCx<'_, 'ctx>,
        d: DType,
        po: IntValue<'ctx>,
        ft: FloatType<'ctx>,
    ) -> Result<Option<FloatValue<'ctx>>, CodegenError> {
        let Some(ptr) = self.ptr else { return Ok(None) };
        Ok(Some(match self.table {
            Some(t) => load_coded(cx, t, ptr, po)?,
            None => load_int_as(cx, d, ptr, po, ft)?,
        }))
    }
}

/// quantize_linear and dequantize_linear.
pub fn lower_quant<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let spec = Spec::of(cx, g, n)?;
    let node = &g.nodes[n];
    let x_shape = g.ty(node.inputs[0]).shape.clone();
    let (full, axis, block) = param_shape(cx, g, n)?;
    let p_strides = dense_strides(&full);
    let x_strides = dense_strides(&x_shape);
    let saturate = node.attrs.int("saturate").map(|v| v != 0).unwrap_or(true);
    let opts = CastOptions { saturate, round_mode: RoundMode::Up };
    let enc = match spec.cf {
        Some(_) if spec.quantize => Some(
            NarrowEncoder::new(cx, spec.work, spec.idt, opts)
                .ok_or_else(|| cx.unsupported(g, n, format!("quantizing to {}", spec.idt)))?,
        ),
        _ => None,
    };
    let table = spec.cf.filter(|_| !spec.quantize || spec.has_zp).map(|c| decode_table(cx, c));
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let s = k.operand(cx, 1)?;
    let zp = ZeroPoint { ptr: if spec.has_zp { Some(k.operand(cx, 2)?) } else { None }, table };
    let y = k.result(0)?;
    let rank = x_shape.len();
    nest(cx, &x_shape, &mut |cx, idx| {
        let mut pidx: Vec<IntValue> = Vec::with_capacity(rank);
        for d in 0..rank {
            pidx.push(if full[d] == 1 {
                cx.i64(0)
            } else if block > 0 && d as i64 == axis {
                cx.builder.build_int_unsigned_div(idx[d], cx.i64(block as u64), "b")?
            } else {
                idx[d]
            });
        }
        let po = offset(cx, &pidx, 0, &p_strides)?;
        let xo = offset(cx, idx, 0, &x_strides)?;
        let io = Io { x, s, y, po, xo };
        if spec.quantize {
            quantize_one(cx, &spec, &io, &zp, enc.as_ref())
        } else {
            dequantize_one(cx, &spec, &io, &zp, table)
        }
    })?;
    cx.finish_kernel(k)
}

/// The buffers of one element's computation and its offsets into them.
struct Io<'ctx> {
    x: PointerValue<'ctx>,
    s: PointerValue<'ctx>,
    y: PointerValue<'ctx>,
    /// Offset of the scale / zero point.
    po: IntValue<'ctx>,
    /// Offset of the element in x and y.
    xo: IntValue<'ctx>,
}

/// The scale at `io.po` in the work type.
fn load_scale<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    spec: &Spec,
    io: &Io<'ctx>,
) -> Result<FloatValue<'ctx>, CodegenError> {
    let s = cx.load_at(cx.elem_type(spec.sdt), io.s, io.po, spec.sdt.size_bytes() as u32)?;
    to_float(cx, s.into_float_value(), cx.elem_type(spec.work).into_float_type())
}

/// One element of quantize_linear.
fn quantize_one<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    spec: &Spec,
    io: &Io<'ctx>,
    zp: &ZeroPoint<'ctx>,
    enc: Option<&NarrowEncoder<'ctx>>,
) -> Result<(), CodegenError> {
    let ft = cx.elem_type(spec.work).into_float_type();
    let ia = spec.idt.size_bytes() as u32;
    let v = cx.load_at(cx.elem_type(spec.fdt), io.x, io.xo, spec.fdt.size_bytes() as u32)?;
    let v = to_float(cx, v.into_float_value(), ft)?;
    let scale = load_scale(cx, spec, io)?;
    let q = math::div(cx, v.into(), scale.into())?.into_float_value();
    let q = round_to(cx, spec.fdt, q)?;
    let z = zp.load(cx, spec.idt, io.po, ft)?;
    if let Some(enc) = enc {
        let q = match z {
            Some(z) => {
                let sum = math::add(cx, q.into(), to_float(cx, z, ft)?.into())?;
                round_to(cx, spec.fdt, sum.into_float_value())?
            }
            None => q,
        };
        let code = enc.emit(cx, q)?;
        return cx.store_at(code.into(), io.y, io.xo, ia);
    }
    let q = cx.call_intrinsic("llvm.roundeven", &[q.into()])?.into_float_value();
    // NaN quantizes as 0 (the interpreter's `NaN as i64`), before the zero point.
    let nan = cx.builder.build_float_compare(inkwell::FloatPredicate::UNO, q, q, "nan")?;
    let q: BasicValueEnum = cx.builder.build_select(nan, ft.const_zero(), q, "q")?;
    let q = match z {
        Some(z) => math::add(cx, q, z.into())?,
        None => q,
    };
    let (lo, hi) = int_range(spec.idt).unwrap_or((0.0, 0.0));
    let q = math::clamp(cx, q, lo, hi)?.into_float_value();
    let t = cx.elem_type(spec.idt).into_int_type();
    let r = if signed(spec.idt) {
        cx.builder.build_float_to_signed_int(q, t, "q")?
    } else {
        cx.builder.build_float_to_unsigned_int(q, t, "q")?
    };
    let r = if code_bits(spec.idt) < 8 {
        let mask = cx.ctx.i8_type().const_int((1u64 << code_bits(spec.idt)) - 1, false);
        cx.builder.build_and(r, mask, "c")?
    } else {
        r
    };
    cx.store_at(r.into(), io.y, io.xo, ia)
}

/// One element of dequantize_linear.
fn dequantize_one<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    spec: &Spec,
    io: &Io<'ctx>,
    zp: &ZeroPoint<'ctx>,
    table: Option<PointerValue<'ctx>>,
) -> Result<(), CodegenError> {
    let f32t = cx.f32_type();
    let v = match table {
        Some(t) => load_coded(cx, t, io.x, io.xo)?,
        None => load_int_as(cx, spec.idt, io.x, io.xo, f32t)?,
    };
    let diff = match zp.load(cx, spec.idt, io.po, f32t)? {
        Some(z) => math::sub(cx, v.into(), z.into())?.into_float_value(),
        None => v,
    };
    let ft = cx.elem_type(spec.work).into_float_type();
    let diff = to_float(cx, diff, ft)?;
    let scale = load_scale(cx, spec, io)?;
    let r = math::mul(cx, diff.into(), scale.into())?.into_float_value();
    let r = to_float(cx, r, cx.elem_type(spec.fdt).into_float_type())?;
    cx.store_at(r.into(), io.y, io.xo, spec.fdt.size_bytes() as u32)
}

#[cfg(test)]
mod tests {
    use crate::testing::{run_jit, tensor_bytes};
    use asplit_ir::{CodedType, Tensor, TensorData};

    const FLOATS: [(&str, CodedType); 5] = [
        ("f8e4m3fn", CodedType::F8E4M3FN),
        ("f8e4m3fnuz", CodedType::F8E4M3FNUZ),
        ("f8e5m2", CodedType::F8E5M2),
        ("f8e5m2fnuz", CodedType::F8E5M2FNUZ),
        ("f4e2m1", CodedType::F4E2M1),
    ];

    fn scalar(d: TensorData) -> Tensor {
        Tensor::new(Vec::<usize>::new(), d).expect("scalar")
    }

    /// Parses `text`, runs it interpreted and compiled on `inputs`, asserts every result is
    /// the same bytes, and returns the results.
    fn same_bits(text: &str, inputs: &[Tensor]) -> Vec<Tensor> {
        let g = asplit_ir::parse::parse(text).unwrap_or_else(|e| panic!("parse: {e}\n{text}"));
        asplit_ir::verify::verify(&g).unwrap_or_else(|v| panic!("verify: {v:?}"));
        let want = asplit_ir::interp::run(&g, inputs).expect("interprets");
        let got = run_jit(&g, inputs).expect("compiles and runs");
        assert_eq!(want.len(), got.len());
        for (i, (w, o)) in want.iter().zip(&got).enumerate() {
            assert_eq!(o.dtype(), w.dtype(), "result {i}");
            assert_eq!(tensor_bytes(w), tensor_bytes(o), "result {i}: {w:?} vs {o:?}");
        }
        got
    }

    /// Values around the codes of every coded float, ties, overflow, ±0, NaN.
    fn probes() -> Vec<f32> {
        let mut v = vec![0.0, -0.0, f32::NAN, f32::INFINITY, -f32::INFINITY, 1e9, -1e9];
        for k in -40..=40 {
            let base = 2f32.powi(k / 4) * (1.0 + (k.rem_euclid(4) as f32) * 0.15625);
            v.extend([base, -base, base.next_up(), base.next_down(), base * 1.0625]);
        }
        v
    }

    #[test]
    fn run_time_float_zero_points_quantize_and_dequantize_like_the_interpreter() {
        let v = probes();
        let n = v.len();
        for (t, c) in FLOATS {
            let text = format!(
                "graph @g(%x: f32[{n}] \"x\", %s: f32[] \"s\", %z: {t}[] \"z\") {{\n  \
                 %q = quantize_linear(%x, %s, %z) {{to = {t}}} : {t}[{n}]\n  \
                 %d = dequantize_linear(%q, %s, %z) : f32[{n}]\n  return %q \"q\", %d \"d\"\n}}"
            );
            let x = Tensor::from_f32([n], v.clone()).expect("1-d");
            for zv in [1.0, -0.5, 0.0, 3.0] {
                let code = c.exact_code(zv).expect("representable");
                let z = scalar(TensorData::Codes(c, vec![code]));
                for s in [1.0f32, 0.37, 4.0] {
                    let s = scalar(TensorData::F32(vec![s]));
                    same_bits(&text, &[x.clone(), s, z.clone()]);
                }
            }
        }
    }

    #[test]
    fn nonzero_float8_zero_point_by_hand() {
        // x / 2 + 1 → [1.5, 2.75, 448, −448] (e4m3fn), then (q − 1) · 2.
        let text = "graph @g(%x: f32[4] \"x\", %s: f32[] \"s\", %z: f8e4m3fn[] \"z\") {\n  \
                    %q = quantize_linear(%x, %s, %z) {to = f8e4m3fn} : f8e4m3fn[4]\n  \
                    %d = dequantize_linear(%q, %s, %z) : f32[4]\n  return %q \"q\", %d \"d\"\n}";
        let x = Tensor::from_f32([4], vec![1.0, 3.3, 1000.0, -1e9]).expect("1-d");
        let s = scalar(TensorData::F32(vec![2.0]));
        let z = scalar(TensorData::Codes(CodedType::F8E4M3FN, vec![0x38]));
        let out = same_bits(text, &[x, s, z]);
        assert_eq!(out[0].data().to_f64_vec(), vec![1.5, 2.75, 448.0, -448.0]);
        assert_eq!(out[1].data().to_f64_vec(), vec![1.0, 3.5, 894.0, -898.0]);
    }

    #[test]
    fn f16_operands_and_scales() {
        let v = probes();
        let n = v.len();
        let text = format!(
            "graph @g(%x: f16[{n}] \"x\", %s: f16[] \"s\", %z: f8e4m3fn[] \"z\", \
             %u: u8[] \"u\", %c: f8e5m2[{n}] \"c\") {{\n  \
             %q = quantize_linear(%x, %s, %z) {{to = f8e4m3fn}} : f8e4m3fn[{n}]\n  \
             %d = dequantize_linear(%q, %s, %z) : f16[{n}]\n  \
             %qu = quantize_linear(%x, %s, %u) {{to = u8}} : u8[{n}]\n  \
             %du = dequantize_linear(%qu, %s, %u) : f16[{n}]\n  \
             %dc = dequantize_linear(%c, %s) : f16[{n}]\n  \
             return %q \"q\", %d \"d\", %qu \"qu\", %du \"du\", %dc \"dc\"\n}}"
        );
        let h: Vec<half::f16> = v.iter().map(|&a| half::f16::from_f32(a)).collect();
        let x = Tensor::new([n], TensorData::F16(h)).expect("1-d");
        let codes: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
        let c = Tensor::new([n], TensorData::Codes(CodedType::F8E5M2, codes)).expect("1-d");
        for (s, z, u) in [(1.0f32, 0x38u8, 7u8), (0.37, 0xB0, 200), (3.0, 0x00, 0)] {
            let inputs = [
                x.clone(),
                scalar(TensorData::F16(vec![half::f16::from_f32(s)])),
                scalar(TensorData::Codes(CodedType::F8E4M3FN, vec![z])),
                scalar(TensorData::U8(vec![u])),
                c.clone(),
            ];
            same_bits(&text, &inputs);
        }
    }

    #[test]
    fn f16_quantize_rounds_the_sum_to_f16() {
        // 1/16 + 2^−14 plus the zero point 1 rounds in f16 to the e4m3fn tie 1.0625 → 1.0.
        let text = "graph @g(%x: f16[1] \"x\", %s: f16[] \"s\", %z: f8e4m3fn[] \"z\") {\n  \
                    %q = quantize_linear(%x, %s, %z) {to = f8e4m3fn} : f8e4m3fn[1]\n  \
                    return %q \"q\"\n}";
        let x = half::f16::from_f32(0.0625 + 2f32.powi(-14));
        let x = Tensor::new([1], TensorData::F16(vec![x])).expect("1-d");
        let s = scalar(TensorData::F16(vec![half::f16::from_f32(1.0)]));
        let z = scalar(TensorData::Codes(CodedType::F8E4M3FN, vec![0x38]));
        let out = same_bits(text, &[x, s, z]);
        assert_eq!(out[0].data().to_f64_vec(), vec![1.0]);
    }

    #[test]
    fn bf16_scales_are_unsupported() {
        let text = "graph @g(%q: u8[2] \"q\", %s: bf16[] \"s\") {\n  \
                    %d = dequantize_linear(%q, %s) : bf16[2]\n  return %d \"d\"\n}";
        let g = asplit_ir::parse::parse(text).expect("parses");
        let q = Tensor::new([2], TensorData::U8(vec![1, 2])).expect("1-d");
        let s = scalar(TensorData::BF16(vec![half::bf16::from_f32(0.5)]));
        let err = run_jit(&g, &[q, s]).expect_err("unsupported");
        assert!(err.to_string().contains("bf16 scale"), "{err}");
    }
}
