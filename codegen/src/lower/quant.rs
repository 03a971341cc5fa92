//! Generators of quantize_linear and dequantize_linear between f32/f64 and the 8- to 32-bit
//! integers, per tensor, per axis or blocked (`block_size` consecutive elements along
//! `axis` share a scale), as the interpreter computes them:
//! `q = clamp(round_half_even(x / scale) + zero_point)` in x's precision, and
//! `x = (q − zero_point) · scale` in the scale's dtype. int4/int2 are one code per byte
//! (their zero point decoded by sign extension for the signed ones). To a coded float
//! (float8 but e8m0, float4) `x / scale` is encoded by the cast's [`NarrowEncoder`]
//! (bit-exact with the interpreter, `saturate` honoured); from one, codes decode through a
//! compile-time table of the interpreter's values. A coded-float zero point must be a
//! constant of zeros. f16/bf16 operands, e8m0 and non-constant float zero points are
//! `Unsupported`.

use super::cast::NarrowEncoder;
use super::layout::{dense_strides, nest, offset};
use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{CastOptions, CodedType, DType, Graph, NodeId, OpKind, RoundMode};
use inkwell::values::{FunctionValue, IntValue};

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

/// Whether the zero point operand is absent or a constant of zeros.
fn zero_point_is_zero(g: &Graph, n: NodeId) -> bool {
    match g.nodes[n].inputs.get(2) {
        None => true,
        Some(&z) => {
            g.const_value(z).is_some_and(|t| t.data().to_f64_vec().iter().all(|&v| v == 0.0))
        }
    }
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

/// quantize_linear and dequantize_linear.
pub fn lower_quant<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let s_ty = g.ty(node.inputs[1]).clone();
    let y_ty = g.ty(node.outputs[0]).clone();
    let quantize = node.op == OpKind::QuantizeLinear;
    let (fdt, idt) = if quantize { (x_ty.dtype, y_ty.dtype) } else { (y_ty.dtype, x_ty.dtype) };
    let cf = coded_float(idt);
    if !matches!(fdt, DType::F32 | DType::F64)
        || s_ty.dtype != fdt
        || (int_range(idt).is_none() && cf.is_none())
        || (cf.is_some() && !zero_point_is_zero(g, n))
    {
        return Err(cx.unsupported(g, n, format!("{} ↔ {} with a {} scale", fdt, idt, s_ty.dtype)));
    }
    if node.inputs.len() > 2 && g.ty(node.inputs[2]).dtype != idt {
        return Err(cx.invalid(g, n, "zero point dtype"));
    }
    let rank = x_ty.rank();
    let a = node.attrs.int("axis").unwrap_or(1);
    let axis = if a < 0 { a + rank as i64 } else { a };
    let block = node.attrs.int("block_size").unwrap_or(0).max(0) as usize;
    // The scale's shape seen at x's rank: all 1 (per tensor), the axis only (per axis), or
    // the scale's own shape (blocked).
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
    let p_strides = dense_strides(&full);
    let x_strides = dense_strides(&x_ty.shape);
    let (lo, hi) = int_range(idt).unwrap_or((0.0, 0.0));
    let fe = cx.elem_type(fdt);
    let ie = cx.elem_type(idt);
    let (fa, ia) = (fdt.size_bytes() as u32, idt.size_bytes() as u32);
    let mask = cx.ctx.i8_type().const_int((1u64 << code_bits(idt)) - 1, false);
    let saturate = node.attrs.int("saturate").map(|v| v != 0).unwrap_or(true);
    let opts = CastOptions { saturate, round_mode: RoundMode::Up };
    let enc = match cf {
        Some(_) if quantize => Some(
            NarrowEncoder::new(cx, fdt, idt, opts)
                .ok_or_else(|| cx.unsupported(g, n, format!("quantizing to {idt}")))?,
        ),
        _ => None,
    };
    let decode_table = match cf {
        Some(c) if !quantize => {
            let mut bytes = Vec::with_capacity(1024);
            for code in 0..=255u8 {
                bytes.extend_from_slice(&(c.to_f64(code & c.mask()) as f32).to_le_bytes());
            }
            Some(cx.const_bytes(&bytes))
        }
        _ => None,
    };
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let s = k.operand(cx, 1)?;
    let z = if node.inputs.len() > 2 && cf.is_none() { Some(k.operand(cx, 2)?) } else { None };
    let y = k.result(0)?;
    nest(cx, &x_ty.shape, &mut |cx, idx| {
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
        let scale = cx.load_at(fe, s, po, fa)?;
        let zp = match z {
            Some(zp) => {
                let v = cx.load_at(ie, zp, po, ia)?.into_int_value();
                let v = decode_int(cx, idt, v)?;
                let ft = fe.into_float_type();
                if signed(idt) {
                    cx.builder.build_signed_int_to_float(v, ft, "z")?
                } else {
                    cx.builder.build_unsigned_int_to_float(v, ft, "z")?
                }
            }
            None => fe.into_float_type().const_zero(),
        };
        if quantize {
            let v = cx.load_at(fe, x, xo, fa)?;
            let q = math::div(cx, v, scale)?;
            if let Some(enc) = &enc {
                let code = enc.emit(cx, q.into_float_value())?;
                return cx.store_at(code.into(), y, xo, ia);
            }
            let q = cx.call_intrinsic("llvm.roundeven", &[q])?;
            // NaN quantizes as 0 (the interpreter's `NaN as i64`), before the zero point.
            let qf = q.into_float_value();
            let nan =
                cx.builder.build_float_compare(inkwell::FloatPredicate::UNO, qf, qf, "nan")?;
            let q = cx.builder.build_select(nan, qf.get_type().const_zero(), qf, "q")?;
            let q = math::add(cx, q, zp.into())?;
            let q = math::clamp(cx, q, lo, hi)?;
            let t = ie.into_int_type();
            let r = if signed(idt) {
                cx.builder.build_float_to_signed_int(q.into_float_value(), t, "q")?
            } else {
                cx.builder.build_float_to_unsigned_int(q.into_float_value(), t, "q")?
            };
            let r = if code_bits(idt) < 8 { cx.builder.build_and(r, mask, "c")? } else { r };
            cx.store_at(r.into(), y, xo, ia)
        } else if let Some(table) = decode_table {
            let v = cx.load_at(ie, x, xo, ia)?.into_int_value();
            let i = cx.builder.build_int_z_extend(v, cx.i64_type(), "i")?;
            let f = cx.load_at(cx.f32_type(), table, i, 4)?.into_float_value();
            let f = cx.builder.build_float_cast(f, fe.into_float_type(), "f")?;
            cx.store_at(math::mul(cx, f.into(), scale)?, y, xo, fa)
        } else {
            let v = cx.load_at(ie, x, xo, ia)?.into_int_value();
            let v = decode_int(cx, idt, v)?;
            let ft = fe.into_float_type();
            let f = if signed(idt) {
                cx.builder.build_signed_int_to_float(v, ft, "f")?
            } else {
                cx.builder.build_unsigned_int_to_float(v, ft, "f")?
            };
            let r = math::mul(cx, math::sub(cx, f.into(), zp.into())?, scale)?;
            cx.store_at(r, y, xo, fa)
        }
    })?;
    cx.finish_kernel(k)
}
