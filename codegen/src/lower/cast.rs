//! Generator of `cast` between the arithmetic dtypes (f32, f64, f16, the integers, bool),
//! with ONNX semantics as the interpreter implements them: float→int truncates toward zero
//! saturating to i64 (`llvm.fptosi.sat`, NaN → 0) and then narrows by wrapping; int→int
//! wraps or extends by the source's signedness; bool is 0/1 and x→bool is x ≠ 0.
//! bf16 and the coded dtypes (float8, int4, …) are `Unsupported` here.

use super::nary::{from_f64, to_f64};
use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId};
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
    for d in [from, to] {
        if !supported(d) {
            return Err(cx.unsupported(g, n, format!("cast involving {d}")));
        }
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
