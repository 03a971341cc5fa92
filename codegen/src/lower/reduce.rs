//! Generators of the reductions (reduce_mean, reduce_sum, reduce_max over listed axes,
//! keepdims either way) and of softmax / log_softmax along one axis.
//!
//! Reductions walk the input in storage order and accumulate into the result buffer (so a
//! reduction over an outer axis vectorises over the inner ones), then divide for the mean.
//! Floats accumulate in their own type (f16 is `Unsupported`; the interpreter sums in f64,
//! which the conformance tolerances absorb); integers wrap; bool max is a u8 max.
//! Softmax does three passes per lane (max, Σ exp, normalise) in the element type.

use super::layout::{dense_strides, nest, offset};
use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, FunctionValue};
use inkwell::IntPredicate;

/// reduce_mean, reduce_sum, reduce_max.
pub fn lower_reduce<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let d = x_ty.dtype;
    let float = matches!(d, DType::F32 | DType::F64);
    if !(float || d.is_int() || (d == DType::Bool && node.op == OpKind::ReduceMax)) {
        return Err(cx.unsupported(g, n, format!("dtype {d}")));
    }
    let rank = x_ty.rank();
    let mut reduced = vec![false; rank];
    for &a in node.attrs.ints("axes").map_err(|e| cx.invalid(g, n, e.to_string()))? {
        let a = usize::try_from(if a < 0 { a + rank as i64 } else { a })
            .ok()
            .filter(|&a| a < rank)
            .ok_or_else(|| cx.invalid(g, n, "axes"))?;
        reduced[a] = true;
    }
    let kept: Vec<usize> =
        x_ty.shape.iter().zip(&reduced).map(|(&s, &r)| if r { 1 } else { s }).collect();
    let out_n: usize = kept.iter().product();
    let count = x_ty.numel() / out_n.max(1);
    let kept_strides = dense_strides(&kept);
    let dst_strides: Vec<i64> =
        kept_strides.iter().zip(&reduced).map(|(&s, &r)| if r { 0 } else { s }).collect();
    let elem = cx.elem_type(d);
    let align = d.size_bytes() as u32;
    let signed = matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    let op = node.op;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let init = identity(elem, op, signed)?;
    cx.for_n(out_n as u64, 1, |cx, i| cx.store_at(init, y, i, align))?;
    let src_strides = dense_strides(&x_ty.shape);
    nest(cx, &x_ty.shape, &mut |cx, idx| {
        let v = cx.load_at(elem, x, offset(cx, idx, 0, &src_strides)?, align)?;
        let o = offset(cx, idx, 0, &dst_strides)?;
        let acc = cx.load_at(elem, y, o, align)?;
        let r = combine(cx, op, signed, acc, v)?;
        cx.store_at(r, y, o, align)
    })?;
    if op == OpKind::ReduceMean && count != 1 {
        cx.for_n(out_n as u64, 1, |cx, i| {
            let s = cx.load_at(elem, y, i, align)?;
            let m = match s {
                BasicValueEnum::FloatValue(_) => math::mul_c(cx, s, 1.0 / count.max(1) as f64)?,
                BasicValueEnum::IntValue(v) => {
                    let c = v.get_type().const_int(count.max(1) as u64, false);
                    let b = &cx.builder;
                    let q = if signed {
                        b.build_int_signed_div(v, c, "q")?
                    } else {
                        b.build_int_unsigned_div(v, c, "q")?
                    };
                    q.into()
                }
                _ => return Err(CodegenError::Llvm("mean of a non-number".into())),
            };
            cx.store_at(m, y, i, align)
        })?;
    }
    cx.finish_kernel(k)
}

fn identity<'ctx>(
    elem: BasicTypeEnum<'ctx>,
    op: OpKind,
    signed: bool,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    let max = op == OpKind::ReduceMax;
    Ok(match elem {
        BasicTypeEnum::FloatType(t) => {
            t.const_float(if max { f64::NEG_INFINITY } else { 0.0 }).into()
        }
        BasicTypeEnum::IntType(t) => {
            if max && signed {
                let bits = t.get_bit_width();
                t.const_int(1u64 << (bits - 1), false).into()
            } else {
                t.const_zero().into()
            }
        }
        other => return Err(CodegenError::Llvm(format!("reduction over {other:?}"))),
    })
}

fn combine<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    op: OpKind,
    signed: bool,
    acc: BasicValueEnum<'ctx>,
    v: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    match (acc, v) {
        (BasicValueEnum::FloatValue(_), _) => match op {
            OpKind::ReduceMax => cx.call_intrinsic("llvm.maximum", &[acc, v]),
            _ => math::add(cx, acc, v),
        },
        (BasicValueEnum::IntValue(a), BasicValueEnum::IntValue(b)) => {
            let bd = &cx.builder;
            Ok(match op {
                OpKind::ReduceMax => {
                    let p = if signed { IntPredicate::SGT } else { IntPredicate::UGT };
                    let c = bd.build_int_compare(p, a, b, "c")?;
                    bd.build_select(c, a, b, "m")?
                }
                _ => bd.build_int_add(a, b, "s")?.into(),
            })
        }
        _ => Err(CodegenError::Llvm("mismatched reduction operands".into())),
    }
}

/// softmax and log_softmax along `axis`.
pub fn lower_softmax<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let d = x_ty.dtype;
    if !matches!(d, DType::F32 | DType::F64) {
        return Err(cx.unsupported(g, n, format!("dtype {d}")));
    }
    let rank = x_ty.rank();
    let a = node.attrs.int("axis").map_err(|e| cx.invalid(g, n, e.to_string()))?;
    let axis = usize::try_from(if a < 0 { a + rank as i64 } else { a })
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| cx.invalid(g, n, "axis"))?;
    let outer: usize = x_ty.shape[..axis].iter().product();
    let dim = x_ty.shape[axis];
    let inner: usize = x_ty.shape[axis + 1..].iter().product();
    let log = node.op == OpKind::LogSoftmax;
    let elem = cx.elem_type(d);
    let ft = elem.into_float_type();
    let align = d.size_bytes() as u32;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let max_slot = cx.entry_alloca(elem)?;
    let sum_slot = cx.entry_alloca(elem)?;
    let stride = inner as i64;
    nest(cx, &[outer, inner], &mut |cx, idx| {
        let base = offset(cx, idx, 0, &[(dim * inner) as i64, 1])?;
        let at = |cx: &KernelCx<'_, 'ctx>, j| -> Result<_, CodegenError> {
            let t = cx.builder.build_int_mul(j, cx.i64s(stride), "t")?;
            Ok(cx.builder.build_int_add(base, t, "o")?)
        };
        cx.builder.build_store(max_slot, ft.const_float(f64::NEG_INFINITY))?;
        cx.builder.build_store(sum_slot, ft.const_zero())?;
        cx.for_n(dim as u64, 1, |cx, j| {
            let v = cx.load_at(elem, x, at(cx, j)?, align)?;
            let m = cx.builder.build_load(elem, max_slot, "m")?;
            let m = cx.call_intrinsic("llvm.maximum", &[m, v])?;
            cx.builder.build_store(max_slot, m)?;
            Ok(())
        })?;
        let m = cx.builder.build_load(elem, max_slot, "m")?;
        cx.for_n(dim as u64, 1, |cx, j| {
            let o = at(cx, j)?;
            let v = cx.load_at(elem, x, o, align)?;
            let e = math::exp(cx, math::sub(cx, v, m)?)?;
            if !log {
                cx.store_at(e, y, o, align)?;
            }
            let s = cx.builder.build_load(elem, sum_slot, "s")?;
            cx.builder.build_store(sum_slot, math::add(cx, s, e)?)?;
            Ok(())
        })?;
        let s = cx.builder.build_load(elem, sum_slot, "s")?;
        let (scale, shift) = if log {
            (s, math::add(cx, m, math::log(cx, s)?)?)
        } else {
            (math::div(cx, math::fconst(cx, s, 1.0)?, s)?, s)
        };
        cx.for_n(dim as u64, 1, |cx, j| {
            let o = at(cx, j)?;
            let r = if log {
                let v = cx.load_at(elem, x, o, align)?;
                math::sub(cx, v, shift)?
            } else {
                let e = cx.load_at(elem, y, o, align)?;
                math::mul(cx, e, scale)?
            };
            cx.store_at(r, y, o, align)
        })
    })?;
    cx.finish_kernel(k)
}
