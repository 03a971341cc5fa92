//! Generator of `cast` between the arithmetic dtypes (f32, f64, f16, the integers, bool),
//! with ONNX semantics as the interpreter implements them: float→int truncates toward zero
//! saturating to i64 (`llvm.fptosi.sat`, NaN → 0) and then narrows by wrapping; int→int
//! wraps or extends by the source's signedness; bool is 0/1 and x→bool is x ≠ 0.
//!
//! A cast from a type of at most 16 bits that the direct path does not handle (the coded
//! dtypes — float8, float4, int4, int2 —, bf16, and f16 to a coded type) is a table lookup:
//! every source bit pattern is converted at compile time by the interpreter's own `cast`
//! (with the node's `saturate` and `round_mode`), so the result is the interpreter's exactly.
//! f32/f64 (or wider integers) to bf16 or a coded type are `Unsupported`.

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
fn cast_options(g: &Graph, n: NodeId) -> CastOptions {
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
