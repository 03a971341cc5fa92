//! Generators of the broadcasting elementwise ops: add, sub, mul, div, pow, max, min, sum,
//! equal, less, greater, where, and `affine` (x·scale + shift, then the fused activation).
//!
//! One strided loop nest over the result (`layout`), each operand read at its broadcast
//! strides, the op applied per element. Floats compute in their type (f16 in f32); integers
//! wrap like the interpreter's; integer division by zero gives 0 (the interpreter reports an
//! error instead; the compiled code must not trap). Max/min propagate NaN. Bool operands are
//! accepted by `equal` and `where`. Coded dtypes are `Unsupported`.

use super::elementwise::{narrow, widen};
use super::layout::{broadcast_strides, collapse, dense_strides, nest, offset};
use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{Activation, DType, Graph, NodeId, OpKind};
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};

type V<'ctx> = BasicValueEnum<'ctx>;

/// All the broadcasting elementwise ops.
pub fn lower_nary<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let out_ty = g.ty(node.outputs[0]).clone();
    let in_tys: Vec<_> = node.inputs.iter().map(|&v| g.ty(v).clone()).collect();
    for t in &in_tys {
        if t.dtype.coded().is_some() {
            return Err(cx.unsupported(g, n, format!("dtype {}", t.dtype)));
        }
    }
    let act = if node.op == OpKind::Affine {
        Activation::from_attrs(&node.attrs).map_err(|e| cx.invalid(g, n, e.to_string()))?
    } else {
        Activation::None
    };
    let mut strides: Vec<Vec<i64>> = vec![dense_strides(&out_ty.shape)];
    strides.extend(in_tys.iter().map(|t| broadcast_strides(&t.shape, &out_ty.shape)));
    let dims = collapse(&out_ty.shape, &mut strides);
    let mut k = cx.begin_kernel(g, n)?;
    let mut ptrs = Vec::with_capacity(in_tys.len());
    for i in 0..in_tys.len() {
        ptrs.push(k.operand(cx, i)?);
    }
    let y = k.result(0)?;
    let out_elem = cx.elem_type(out_ty.dtype);
    let op = node.op;
    nest(cx, &dims, &mut |cx, idx| {
        let mut vals = Vec::with_capacity(ptrs.len());
        for (i, (&p, t)) in ptrs.iter().zip(&in_tys).enumerate() {
            let off = offset(cx, idx, 0, &strides[i + 1])?;
            let v = cx.load_at(cx.elem_type(t.dtype), p, off, t.dtype.size_bytes() as u32)?;
            vals.push(v);
        }
        let r = apply(cx, g, n, op, &in_tys.iter().map(|t| t.dtype).collect::<Vec<_>>(), &vals)?;
        let r = if act == Activation::None {
            r
        } else {
            let w = widen(cx, r, out_ty.dtype)?;
            narrow(cx, math::activation(cx, act, w)?, out_ty.dtype)?
        };
        let off = offset(cx, idx, 0, &strides[0])?;
        debug_assert_eq!(r.get_type(), out_elem);
        cx.store_at(r, y, off, out_ty.dtype.size_bytes() as u32)
    })?;
    cx.finish_kernel(k)
}

/// One element of the op from its operand elements.
fn apply<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    op: OpKind,
    dts: &[DType],
    vals: &[V<'ctx>],
) -> Result<V<'ctx>, CodegenError> {
    let d = dts.first().copied().ok_or_else(|| cx.invalid(g, n, "no operands"))?;
    match op {
        OpKind::Where => {
            let (c, a, b) = match vals {
                [c, a, b] => (*c, *a, *b),
                _ => return Err(cx.invalid(g, n, "where takes three operands")),
            };
            let c = c.into_int_value();
            let t = cx.builder.build_int_compare(
                IntPredicate::NE,
                c,
                c.get_type().const_zero(),
                "c",
            )?;
            cx.select(t.into(), a, b)
        }
        OpKind::Pow => pow(cx, g, n, dts, vals),
        OpKind::Equal | OpKind::Less | OpKind::Greater => {
            let (a, b) = two(cx, g, n, vals)?;
            let bit = compare(cx, op, d, a, b)?;
            Ok(cx.builder.build_int_z_extend(bit, cx.ctx.i8_type(), "b")?.into())
        }
        OpKind::Affine => {
            let (x, s, t) = match vals {
                [x, s, t] => (*x, *s, *t),
                _ => return Err(cx.invalid(g, n, "affine takes three operands")),
            };
            let (x, s, t) = (widen(cx, x, d)?, widen(cx, s, d)?, widen(cx, t, d)?);
            if !d.is_float() {
                return Err(cx.unsupported(g, n, format!("dtype {d}")));
            }
            // `x·s`, rounded, then `+ t`: the interpreter's two steps, bit for bit (an FMA
            // would round once and differ in the last place, which can flip a code of an
            // exact edge layer's rescale).
            narrow(cx, math::add(cx, math::mul(cx, x, s)?, t)?, d)
        }
        _ => {
            let mut acc = vals.first().copied().ok_or_else(|| cx.invalid(g, n, "no operands"))?;
            for &v in &vals[1..] {
                acc = arith(cx, g, n, op, d, acc, v)?;
            }
            Ok(acc)
        }
    }
}

fn two<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    vals: &[V<'ctx>],
) -> Result<(V<'ctx>, V<'ctx>), CodegenError> {
    match vals {
        [a, b] => Ok((*a, *b)),
        _ => Err(cx.invalid(g, n, "expected two operands")),
    }
}

fn is_signed(d: DType) -> bool {
    matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64)
}

/// `a op b` for add/sub/mul/div/max/min/sum.
fn arith<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    op: OpKind,
    d: DType,
    a: V<'ctx>,
    b: V<'ctx>,
) -> Result<V<'ctx>, CodegenError> {
    if d.is_float() && d != DType::BF16 {
        let (x, y) = (widen(cx, a, d)?, widen(cx, b, d)?);
        let r = match op {
            OpKind::Add | OpKind::Sum => math::add(cx, x, y)?,
            OpKind::Sub => math::sub(cx, x, y)?,
            OpKind::Mul => math::mul(cx, x, y)?,
            OpKind::Div => math::div(cx, x, y)?,
            OpKind::Max => cx.call_intrinsic("llvm.maximum", &[x, y])?,
            OpKind::Min => cx.call_intrinsic("llvm.minimum", &[x, y])?,
            _ => return Err(cx.invalid(g, n, format!("`{op}` is not arithmetic"))),
        };
        return narrow(cx, r, d);
    }
    if !d.is_int() {
        return Err(cx.unsupported(g, n, format!("dtype {d}")));
    }
    let (x, y) = (a.into_int_value(), b.into_int_value());
    let bd = &cx.builder;
    let signed = is_signed(d);
    let r: IntValue = match op {
        OpKind::Add | OpKind::Sum => bd.build_int_add(x, y, "a")?,
        OpKind::Sub => bd.build_int_sub(x, y, "s")?,
        OpKind::Mul => bd.build_int_mul(x, y, "m")?,
        OpKind::Div => {
            // Never divide by zero (x86 traps): divide by 1 and select 0.
            let zero = y.get_type().const_zero();
            let is0 = bd.build_int_compare(IntPredicate::EQ, y, zero, "z")?;
            let one = y.get_type().const_int(1, false);
            let safe = bd.build_select(is0, one, y, "d")?.into_int_value();
            let q = if signed {
                bd.build_int_signed_div(x, safe, "q")?
            } else {
                bd.build_int_unsigned_div(x, safe, "q")?
            };
            bd.build_select(is0, zero, q, "q0")?.into_int_value()
        }
        OpKind::Max | OpKind::Min => {
            let pred = match (op == OpKind::Max, signed) {
                (true, true) => IntPredicate::SGT,
                (true, false) => IntPredicate::UGT,
                (false, true) => IntPredicate::SLT,
                (false, false) => IntPredicate::ULT,
            };
            let c = bd.build_int_compare(pred, x, y, "c")?;
            bd.build_select(c, x, y, "mm")?.into_int_value()
        }
        _ => return Err(cx.invalid(g, n, format!("`{op}` is not arithmetic"))),
    };
    Ok(r.into())
}

/// Comparison giving `i1`.
fn compare<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    op: OpKind,
    d: DType,
    a: V<'ctx>,
    b: V<'ctx>,
) -> Result<IntValue<'ctx>, CodegenError> {
    if d.is_float() && d != DType::BF16 {
        let (x, y) = (widen(cx, a, d)?, widen(cx, b, d)?);
        let pred = match op {
            OpKind::Equal => FloatPredicate::OEQ,
            OpKind::Less => FloatPredicate::OLT,
            _ => FloatPredicate::OGT,
        };
        return Ok(math::fcmp(cx, pred, x, y)?.into_int_value());
    }
    let signed = is_signed(d);
    let pred = match (op, signed) {
        (OpKind::Equal, _) => IntPredicate::EQ,
        (OpKind::Less, true) => IntPredicate::SLT,
        (OpKind::Less, false) => IntPredicate::ULT,
        (_, true) => IntPredicate::SGT,
        (_, false) => IntPredicate::UGT,
    };
    Ok(cx.builder.build_int_compare(pred, a.into_int_value(), b.into_int_value(), "c")?)
}

/// `a ^ b`, result in a's dtype; computed in f64 for integers and mixed dtypes.
fn pow<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    dts: &[DType],
    vals: &[V<'ctx>],
) -> Result<V<'ctx>, CodegenError> {
    let (a, b) = two(cx, g, n, vals)?;
    let (da, db) = match dts {
        [da, db] => (*da, *db),
        _ => return Err(cx.invalid(g, n, "pow takes two operands")),
    };
    if da == DType::F32 && db == DType::F32 {
        return cx.call_intrinsic("llvm.pow", &[a, b]);
    }
    let x = to_f64(cx, g, n, da, a)?;
    let y = to_f64(cx, g, n, db, b)?;
    let r = cx.call_intrinsic("llvm.pow", &[x, y])?;
    from_f64(cx, g, n, da, r)
}

/// Converts an element of dtype `d` to f64.
pub fn to_f64<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    d: DType,
    v: V<'ctx>,
) -> Result<V<'ctx>, CodegenError> {
    let f64t = cx.ctx.f64_type();
    Ok(match d {
        DType::F32 | DType::F16 | DType::F64 => {
            cx.builder.build_float_cast(v.into_float_value(), f64t, "f")?.into()
        }
        d if is_signed(d) => {
            cx.builder.build_signed_int_to_float(v.into_int_value(), f64t, "f")?.into()
        }
        d if d.is_int() || d == DType::Bool => {
            cx.builder.build_unsigned_int_to_float(v.into_int_value(), f64t, "f")?.into()
        }
        d => return Err(cx.unsupported(g, n, format!("dtype {d}"))),
    })
}

/// Converts an f64 to dtype `d` (floats round, integers truncate toward zero).
pub fn from_f64<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    d: DType,
    v: V<'ctx>,
) -> Result<V<'ctx>, CodegenError> {
    let f = v.into_float_value();
    Ok(match d {
        DType::F32 | DType::F16 | DType::F64 => {
            cx.builder.build_float_cast(f, cx.elem_type(d).into_float_type(), "f")?.into()
        }
        d if is_signed(d) => {
            cx.builder.build_float_to_signed_int(f, cx.elem_type(d).into_int_type(), "i")?.into()
        }
        d if d.is_int() => {
            cx.builder.build_float_to_unsigned_int(f, cx.elem_type(d).into_int_type(), "u")?.into()
        }
        d => return Err(cx.unsupported(g, n, format!("dtype {d}"))),
    })
}
