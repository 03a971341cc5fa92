//! Generator of `cast` between the arithmetic dtypes (f32, f64, f16, the integers, bool),
//! with ONNX semantics as the interpreter implements them: float→int truncates toward zero
//! saturating to i64 (`llvm.fptosi.sat`, NaN → 0) and then narrows by wrapping; int→int
//! wraps or extends by the source's signedness; bool is 0/1 and x→bool is x ≠ 0.
//!
//! A cast from a type of at most 16 bits that the direct path does not handle (the coded
//! dtypes — float8, float4, int4, int2 —, bf16, and f16 to a coded type) is a table lookup:
//! every source bit pattern is converted at compile time by the interpreter's own `cast`
//! (with the node's `saturate` and `round_mode`), so the result is the interpreter's exactly.
//!
//! f32/f64 to bf16 or a coded type ([`NarrowEncoder`]): the interpreter's conversion is a
//! step function of the source value whose steps are contiguous in the source's order. At
//! compile time the step edges are found exactly by bisection on the source's bit patterns
//! (each probe runs the interpreter's own conversion), and the kernel looks the value's
//! order key up in that sorted edge table (branchless binary search), NaN apart. To int4 /
//! int2 the interpreter truncates through i64 and keeps the low bits (a wrap, not a step
//! function): `llvm.fptosi.sat` to i64, then truncate and mask. Wider
//! integers to bf16 or a coded type are `Unsupported`.

use super::nary::{from_f64, to_f64};
use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::{CastOptions, DType, Graph, NodeId, RoundMode, Tensor, TensorData};
use inkwell::values::{BasicValueEnum, FunctionValue};
use inkwell::{FloatPredicate, IntPredicate};

fn supported(d: DType) -> bool {
    matches!(d, DType::F32 | DType::F64 | DType::F16 | DType::Bool) || d.is_int()
}

fn signed(d: DType) -> bool {
    matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64)
}

/// cast.
pub fn lower_cast<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let from = g.ty(node.inputs[0]).dtype;
    let to = g.ty(node.outputs[0]).dtype;
    if !(supported(from) && supported(to)) {
        if from.bits() <= 16 {
            return lower_table_cast(cx, g, n, from, to);
        }
        if matches!(from, DType::F32 | DType::F64) {
            return lower_narrow_cast(cx, g, n, from, to);
        }
        let bad = if supported(from) { to } else { from };
        return Err(cx.unsupported(g, n, format!("cast involving {bad}")));
    }
    let numel = g.ty(node.inputs[0]).numel() as u64;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let (fe, te) = (cx.elem_type(from), cx.elem_type(to));
    let (fa, ta) = (from.size_bytes() as u32, to.size_bytes() as u32);
    cx.for_n(numel, 1, |cx, i| {
        let v = cx.load_at(fe, x, i, fa)?;
        let r = convert(cx, g, n, from, to, v)?;
        debug_assert_eq!(r.get_type(), te);
        cx.store_at(r, y, i, ta)
    })?;
    cx.finish_kernel(k)
}

fn convert<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    from: DType,
    to: DType,
    v: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    let b = &cx.builder;
    let i8t = cx.ctx.i8_type();
    if from == to {
        return Ok(v);
    }
    if to == DType::Bool {
        let bit = match v {
            BasicValueEnum::FloatValue(f) => {
                b.build_float_compare(FloatPredicate::UNE, f, f.get_type().const_zero(), "b")?
            }
            BasicValueEnum::IntValue(x) => {
                b.build_int_compare(IntPredicate::NE, x, x.get_type().const_zero(), "b")?
            }
            _ => return Err(cx.unsupported(g, n, "this cast")),
        };
        return Ok(b.build_int_z_extend(bit, i8t, "b")?.into());
    }
    let from_float = matches!(from, DType::F32 | DType::F64 | DType::F16);
    let to_float = matches!(to, DType::F32 | DType::F64 | DType::F16);
    match (from_float, to_float) {
        (true, true) => {
            let t = cx.elem_type(to).into_float_type();
            Ok(b.build_float_cast(v.into_float_value(), t, "f")?.into())
        }
        (false, true) => {
            if from == DType::Bool || !signed(from) {
                let f =
                    b.build_unsigned_int_to_float(v.into_int_value(), cx.ctx.f64_type(), "f")?;
                from_f64(cx, g, n, to, f.into())
            } else {
                let f = to_f64(cx, g, n, from, v)?;
                from_f64(cx, g, n, to, f)
            }
        }
        (true, false) => {
            let wide = match from {
                DType::F16 => b.build_float_ext(v.into_float_value(), cx.f32_type(), "w")?.into(),
                _ => v,
            };
            let sat = cx.intrinsic("llvm.fptosi.sat", &[cx.i64_type().into(), wide.get_type()])?;
            let call = b.build_call(sat, &[wide.into()], "i")?;
            let i = call
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| CodegenError::Llvm("fptosi.sat returned nothing".into()))?;
            let t = cx.elem_type(to).into_int_type();
            Ok(b.build_int_truncate_or_bit_cast(i.into_int_value(), t, "n")?.into())
        }
        (false, false) => {
            let x = v.into_int_value();
            let t = cx.elem_type(to).into_int_type();
            let (fw, tw) = (x.get_type().get_bit_width(), t.get_bit_width());
            Ok(if tw < fw {
                b.build_int_truncate(x, t, "t")?.into()
            } else if tw == fw {
                x.into()
            } else if signed(from) {
                b.build_int_s_extend(x, t, "s")?.into()
            } else {
                b.build_int_z_extend(x, t, "z")?.into()
            })
        }
    }
}

/// The node's cast options (`saturate`, `round_mode`; ONNX defaults when absent).
pub(crate) fn cast_options(g: &Graph, n: NodeId) -> CastOptions {
    let a = &g.nodes[n].attrs;
    CastOptions {
        saturate: a.int("saturate").map(|v| v != 0).unwrap_or(true),
        round_mode: a
            .str("round_mode")
            .ok()
            .and_then(RoundMode::from_name)
            .unwrap_or(RoundMode::Up),
    }
}

/// Every value of a ≤ 16-bit dtype, in bit-pattern order (codes for the coded dtypes).
fn all_values(from: DType) -> Option<Tensor> {
    let count = 1usize << from.bits();
    let data = match from {
        DType::F16 => TensorData::F16((0..count).map(|b| half::f16::from_bits(b as u16)).collect()),
        DType::BF16 => {
            TensorData::BF16((0..count).map(|b| half::bf16::from_bits(b as u16)).collect())
        }
        DType::I16 => TensorData::I16((0..count).map(|b| b as u16 as i16).collect()),
        DType::U16 => TensorData::U16((0..count).map(|b| b as u16).collect()),
        DType::I8 => TensorData::I8((0..count).map(|b| b as u8 as i8).collect()),
        DType::U8 => TensorData::U8((0..count).map(|b| b as u8).collect()),
        DType::Bool => TensorData::Bool(vec![false, true]),
        d => TensorData::Codes(d.coded()?, (0..count).map(|b| b as u8).collect()),
    };
    Tensor::new([count], data).ok()
}

/// A cast through a compile-time table indexed by the source's bit pattern.
fn lower_table_cast<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    from: DType,
    to: DType,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let values =
        all_values(from).ok_or_else(|| cx.unsupported(g, n, format!("cast from {from}")))?;
    let converted = values.cast_with(to, cast_options(g, n));
    let mut bytes = Vec::new();
    asplit_runtime::npy::encode_le(converted.data(), &mut bytes);
    let numel = g.ty(node.inputs[0]).numel() as u64;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let table = cx.const_bytes(&bytes);
    let (fe, te) = (cx.elem_type(from), cx.elem_type(to));
    let (fa, ta) = (from.size_bytes() as u32, to.size_bytes() as u32);
    let mask = (1u64 << from.bits()) - 1;
    cx.for_n(numel, 1, |cx, i| {
        let v = cx.load_at(fe, x, i, fa)?;
        let bits = match v {
            BasicValueEnum::IntValue(b) => b,
            BasicValueEnum::FloatValue(f) => {
                let it = match f.get_type().get_bit_width() {
                    16 => cx.ctx.i16_type(),
                    32 => cx.ctx.i32_type(),
                    _ => cx.ctx.i64_type(),
                };
                cx.builder.build_bit_cast(f, it, "bits")?.into_int_value()
            }
            _ => return Err(CodegenError::Llvm("table cast of a non-scalar".into())),
        };
        let wide = cx.builder.build_int_z_extend_or_bit_cast(bits, cx.i64_type(), "w")?;
        let idx = cx.builder.build_and(wide, cx.i64(mask), "m")?;
        let r = cx.load_at(te, table, idx, ta)?;
        cx.store_at(r, y, i, ta)
    })?;
    cx.finish_kernel(k)
}

/// f32/f64 → bf16 or a coded dtype, through a [`NarrowEncoder`].
fn lower_narrow_cast<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    from: DType,
    to: DType,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let enc = NarrowEncoder::new(cx, from, to, cast_options(g, n))
        .ok_or_else(|| cx.unsupported(g, n, format!("cast from {from} to {to}")))?;
    let numel = g.ty(g.nodes[n].inputs[0]).numel() as u64;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let fe = cx.elem_type(from);
    let (fa, ta) = (from.size_bytes() as u32, to.size_bytes() as u32);
    cx.for_n(numel, 1, |cx, i| {
        let v = cx.load_at(fe, x, i, fa)?.into_float_value();
        let r = enc.emit(cx, v)?;
        cx.store_at(r.into(), y, i, ta)
    })?;
    cx.finish_kernel(k)
}

/// The order key of float bits of width `w` (32 or 64): a signed integer increasing with
/// the value, −NaN < −∞ < … < −0 < +0 < … < +∞ < +NaN.
fn order_key(bits: u64, w: u32) -> i64 {
    if w == 32 {
        let b = bits as u32 as i32;
        i64::from(b ^ ((b >> 31) & 0x7FFF_FFFF))
    } else {
        let b = bits as i64;
        b ^ ((b >> 63) & i64::MAX)
    }
}

/// The value (as f64, exactly) whose order key is `k` (inverse of [`order_key`]).
fn key_value(k: i64, w: u32) -> f64 {
    if w == 32 {
        let k = k as i32;
        f64::from(f32::from_bits((k ^ ((k >> 31) & 0x7FFF_FFFF)) as u32))
    } else {
        f64::from_bits((k ^ ((k >> 63) & i64::MAX)) as u64)
    }
}

/// The interpreter's conversion of one f64 to the code of `to` (bf16 bits or a coded code).
fn encoder_of(to: DType, opts: CastOptions) -> Option<Box<dyn Fn(f64) -> u64>> {
    if to == DType::BF16 {
        return Some(Box::new(|x| u64::from(asplit_ir::coded::bf16_from_f64(x).to_bits())));
    }
    let c = to.coded()?;
    Some(Box::new(move |x| u64::from(c.from_f64(x, opts))))
}

/// Appends to `edges` every key in `(lo, hi]` where `f` changes, with the code from there
/// on, assuming each code's keys are contiguous (`f(lo) == f(hi)` means constant).
fn find_edges(f: &dyn Fn(i64) -> u64, lo: (i64, u64), hi: (i64, u64), edges: &mut Vec<(i64, u64)>) {
    if lo.1 == hi.1 {
        return;
    }
    if hi.0 - lo.0 <= 1 {
        edges.push(hi);
        return;
    }
    let m = lo.0 + (hi.0 - lo.0) / 2;
    let mid = (m, f(m));
    find_edges(f, lo, mid, edges);
    find_edges(f, mid, hi, edges);
}

/// The step table of `code(key)` over the non-NaN keys of a `w`-bit float: the first code
/// and the sorted `(edge key, code from there)` list.
fn step_table(code: &dyn Fn(f64) -> u64, w: u32) -> (u64, Vec<(i64, u64)>) {
    let f = |k: i64| code(key_value(k, w));
    let inf = if w == 32 { u64::from(f32::INFINITY.to_bits()) } else { f64::INFINITY.to_bits() };
    let sign = if w == 32 { 1u64 << 31 } else { 1u64 << 63 };
    let (lo, hi) = (order_key(inf | sign, w), order_key(inf, w));
    // Seed with a grid (an eighth of a binade apart) so that a code whose keys were not
    // contiguous could not hide between two equal probes of a coarse bisection.
    let step = 1i64 << (if w == 32 { 20 } else { 49 });
    let mut seeds: Vec<i64> = (lo / step..=hi / step).map(|s| s * step).collect();
    seeds.extend([lo, -1, 0, hi]);
    seeds.retain(|&k| (lo..=hi).contains(&k));
    seeds.sort_unstable();
    seeds.dedup();
    let probes: Vec<(i64, u64)> = seeds.iter().map(|&k| (k, f(k))).collect();
    let mut edges = Vec::new();
    for w2 in probes.windows(2) {
        find_edges(&f, w2[0], w2[1], &mut edges);
    }
    (probes.first().map_or(0, |p| p.1), edges)
}

/// f32/f64 → bf16 or coded-dtype conversion emitted as a lookup in compile-time step
/// tables (see the module doc): bit-exact with the interpreter by construction.
pub(crate) struct NarrowEncoder<'ctx> {
    /// For int4/int2 targets: the code mask (truncate-and-wrap, no tables).
    int_mask: Option<u8>,
    width: u32,
    levels: u32,
    keys: inkwell::values::PointerValue<'ctx>,
    codes: inkwell::values::PointerValue<'ctx>,
    code_bytes: u32,
    nan_pos: u64,
    nan_neg: u64,
}

impl<'ctx> NarrowEncoder<'ctx> {
    /// The tables for `from` (f32 or f64) → `to` (bf16 or coded) under `opts`; `None` when
    /// the pair is not such a conversion.
    pub(crate) fn new(
        cx: &mut KernelCx<'_, 'ctx>,
        from: DType,
        to: DType,
        opts: CastOptions,
    ) -> Option<Self> {
        let width = match from {
            DType::F32 => 32,
            DType::F64 => 64,
            _ => return None,
        };
        let code = encoder_of(to, opts)?;
        if let Some(c) = to.coded().filter(|c| c.int_range().is_some()) {
            let null = cx.ctx.ptr_type(inkwell::AddressSpace::default()).const_null();
            let mask = Some(c.mask());
            return Some(NarrowEncoder {
                int_mask: mask,
                width,
                levels: 0,
                keys: null,
                codes: null,
                code_bytes: 1,
                nan_pos: 0,
                nan_neg: 0,
            });
        }
        let (first, edges) = step_table(&*code, width);
        // Padded to a power of two > len with a key no value reaches.
        let size = (edges.len() + 1).next_power_of_two();
        let code_bytes = to.size_bytes() as u32;
        let (mut kb, mut cb) = (Vec::new(), Vec::new());
        let push_code = |cb: &mut Vec<u8>, c: u64| {
            cb.extend_from_slice(&c.to_le_bytes()[..code_bytes as usize]);
        };
        push_code(&mut cb, first);
        for i in 0..size {
            let (k, c) = edges.get(i).copied().unwrap_or((i64::MAX, 0));
            if width == 32 {
                let k32 = i32::try_from(k).unwrap_or(i32::MAX);
                kb.extend_from_slice(&k32.to_le_bytes());
            } else {
                kb.extend_from_slice(&k.to_le_bytes());
            }
            push_code(&mut cb, c);
        }
        let nan_pos = code(f64::NAN);
        let nan_neg = code(-f64::NAN);
        Some(NarrowEncoder {
            int_mask: None,
            width,
            levels: size.trailing_zeros(),
            keys: cx.const_bytes(&kb),
            codes: cx.const_bytes(&cb),
            code_bytes,
            nan_pos,
            nan_neg,
        })
    }

    /// The code of `v` (an integer of the target's storage width).
    pub(crate) fn emit(
        &self,
        cx: &KernelCx<'_, 'ctx>,
        v: inkwell::values::FloatValue<'ctx>,
    ) -> Result<inkwell::values::IntValue<'ctx>, CodegenError> {
        let b = &cx.builder;
        if let Some(mask) = self.int_mask {
            let sat =
                cx.intrinsic("llvm.fptosi.sat", &[cx.i64_type().into(), v.get_type().into()])?;
            let i = b
                .build_call(sat, &[v.into()], "i")?
                .try_as_basic_value()
                .basic()
                .ok_or_else(|| CodegenError::Llvm("fptosi.sat returned nothing".into()))?;
            let t = b.build_int_truncate(i.into_int_value(), cx.ctx.i8_type(), "t")?;
            return Ok(b.build_and(t, cx.ctx.i8_type().const_int(u64::from(mask), false), "c")?);
        }
        let it = if self.width == 32 { cx.ctx.i32_type() } else { cx.ctx.i64_type() };
        let bits = b.build_bit_cast(v, it, "bits")?.into_int_value();
        let sign =
            b.build_right_shift(bits, it.const_int(u64::from(self.width - 1), false), true, "s")?;
        let mag = it.const_int(u64::MAX >> (65 - self.width), false);
        let key = b.build_xor(bits, b.build_and(sign, mag, "m")?, "key")?;
        let mut pos = cx.i64(0);
        for l in (0..self.levels).rev() {
            let step = cx.i64(1u64 << l);
            let at = b.build_int_add(pos, cx.i64((1u64 << l) - 1), "at")?;
            let t = cx.load_at(it, self.keys, at, self.width / 8)?.into_int_value();
            let le = b.build_int_compare(IntPredicate::SLE, t, key, "le")?;
            let next = b.build_int_add(pos, step, "n")?;
            pos = b.build_select(le, next, pos, "pos")?.into_int_value();
        }
        let ct = if self.code_bytes == 2 { cx.ctx.i16_type() } else { cx.ctx.i8_type() };
        let code = cx.load_at(ct, self.codes, pos, 1)?.into_int_value();
        let neg = b.build_int_compare(IntPredicate::SLT, bits, it.const_zero(), "neg")?;
        let nan_code = b.build_select(
            neg,
            ct.const_int(self.nan_neg, false),
            ct.const_int(self.nan_pos, false),
            "nc",
        )?;
        let nan = b.build_float_compare(FloatPredicate::UNO, v, v, "nan")?;
        Ok(b.build_select(nan, nan_code.into_int_value(), code, "code")?.into_int_value())
    }
}
