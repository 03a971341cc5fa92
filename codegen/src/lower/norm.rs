//! Generators of the normalisations: batch_norm (inference, axis 1), layer_norm over
//! `[axis, rank)` with broadcast scale/bias, and lrn across channels.
//!
//! f32 and f64 only (others are `Unsupported`); statistics are computed in the element type
//! (the interpreter uses f64; the conformance tolerances absorb the difference). batch_norm
//! normally disappears into the preceding conv (fold-batchnorm); this generator covers the
//! rest.

use super::layout::{broadcast_strides, nest, offset};
use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind};
use inkwell::values::FunctionValue;
use inkwell::IntPredicate;

/// batch_norm, layer_norm and lrn.
pub fn lower_norm<'ctx>(
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
    if node.op != OpKind::LayerNorm && x_ty.rank() < 2 {
        return Err(cx.invalid(g, n, "rank below 2"));
    }
    let f = |name: &str| {
        node.attrs.float(name).map(f64::from).map_err(|e| CodegenError::Invalid {
            op: node.op,
            node: super::node_label(g, n),
            msg: e.to_string(),
        })
    };
    let elem = cx.elem_type(d);
    let align = d.size_bytes() as u32;
    let shape = x_ty.shape.clone();
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    match node.op {
        OpKind::BatchNorm => {
            let eps = f("epsilon")?;
            let p: Vec<_> = (1..5).map(|i| k.operand(cx, i)).collect::<Result<_, _>>()?;
            let (nb, c, plane) = (shape[0], shape[1], shape[2..].iter().product::<usize>());
            nest(cx, &[nb, c], &mut |cx, idx| {
                let ch = idx[1];
                let ld = |cx: &KernelCx<'_, 'ctx>, i: usize| cx.load_at(elem, p[i], ch, align);
                let (s, b, m, v) = (ld(cx, 0)?, ld(cx, 1)?, ld(cx, 2)?, ld(cx, 3)?);
                let a = math::div(cx, s, math::sqrt(cx, math::add_c(cx, v, eps)?)?)?;
                let shift = math::sub(cx, b, math::mul(cx, m, a)?)?;
                let base = offset(cx, idx, 0, &[(c * plane) as i64, plane as i64])?;
                cx.for_n(plane as u64, 1, |cx, i| {
                    let o = cx.builder.build_int_add(base, i, "o")?;
                    let xv = cx.load_at(elem, x, o, align)?;
                    let r = cx.fmuladd(xv, a, shift)?;
                    cx.store_at(r, y, o, align)
                })
            })?;
        }
        OpKind::LayerNorm => {
            let eps = f("epsilon")?;
            let r = shape.len() as i64;
            let a = node.attrs.int("axis").map_err(|e| cx.invalid(g, n, e.to_string()))?;
            let axis = usize::try_from(if a < 0 { a + r } else { a })
                .ok()
                .filter(|&a| a < shape.len())
                .ok_or_else(|| cx.invalid(g, n, "axis"))?;
            let norm_shape = &shape[axis..];
            let inner: usize = norm_shape.iter().product();
            let rows: usize = shape[..axis].iter().product();
            let scale = k.operand(cx, 1)?;
            let ss = broadcast_strides(&g.ty(node.inputs[1]).shape, norm_shape);
            let bias = match node.inputs.len() > 2 {
                true => Some((
                    k.operand(cx, 2)?,
                    broadcast_strides(&g.ty(node.inputs[2]).shape, norm_shape),
                )),
                false => None,
            };
            let ns = super::layout::dense_strides(norm_shape);
            let slot = cx.entry_alloca(elem)?;
            let inv_n = 1.0 / inner.max(1) as f64;
            cx.for_n(rows as u64, 1, |cx, row| {
                let base = cx.builder.build_int_mul(row, cx.i64(inner as u64), "b")?;
                let at = |cx: &KernelCx<'_, 'ctx>, i| cx.builder.build_int_add(base, i, "o");
                let zero = math::fconst(cx, cx.load_at(elem, x, base, align)?, 0.0)?;
                cx.builder.build_store(slot, zero)?;
                cx.for_n(inner as u64, 1, |cx, i| {
                    let v = cx.load_at(elem, x, at(cx, i)?, align)?;
                    let s = cx.builder.build_load(elem, slot, "s")?;
                    cx.builder.build_store(slot, math::add(cx, s, v)?)?;
                    Ok(())
                })?;
                let mean = math::mul_c(cx, cx.builder.build_load(elem, slot, "s")?, inv_n)?;
                cx.builder.build_store(slot, zero)?;
                cx.for_n(inner as u64, 1, |cx, i| {
                    let v = cx.load_at(elem, x, at(cx, i)?, align)?;
                    let dv = math::sub(cx, v, mean)?;
                    let s = cx.builder.build_load(elem, slot, "s")?;
                    cx.builder.build_store(slot, cx.fmuladd(dv, dv, s)?)?;
                    Ok(())
                })?;
                let var = math::mul_c(cx, cx.builder.build_load(elem, slot, "s")?, inv_n)?;
                let one = math::fconst(cx, var, 1.0)?;
                let inv = math::div(cx, one, math::sqrt(cx, math::add_c(cx, var, eps)?)?)?;
                nest(cx, norm_shape, &mut |cx, idx| {
                    let i = offset(cx, idx, 0, &ns)?;
                    let o = at(cx, i)?;
                    let v = cx.load_at(elem, x, o, align)?;
                    let nv = math::mul(cx, math::sub(cx, v, mean)?, inv)?;
                    let s = cx.load_at(elem, scale, offset(cx, idx, 0, &ss)?, align)?;
                    let r = match &bias {
                        Some((bp, bs)) => {
                            let b = cx.load_at(elem, *bp, offset(cx, idx, 0, bs)?, align)?;
                            cx.fmuladd(nv, s, b)?
                        }
                        None => math::mul(cx, nv, s)?,
                    };
                    cx.store_at(r, y, o, align)
                })
            })?;
        }
        OpKind::Lrn => {
            let size = node.attrs.int("size").map_err(|e| cx.invalid(g, n, e.to_string()))?;
            if size < 1 {
                return Err(cx.invalid(g, n, format!("size = {size}")));
            }
            let (alpha, beta, bias) = (f("alpha")?, f("beta")?, f("bias")?);
            let before = (size - 1) / 2;
            let after = size - 1 - before;
            let (nb, c, plane) = (shape[0], shape[1], shape[2..].iter().product::<usize>());
            let slot = cx.entry_alloca(elem)?;
            let coef = alpha / size as f64;
            nest(cx, &[nb, c, plane], &mut |cx, idx| {
                let (b, ch, p) = (idx[0], idx[1], idx[2]);
                let bd = &cx.builder;
                let lo = bd.build_int_sub(ch, cx.i64s(before), "lo")?;
                let neg = bd.build_int_compare(IntPredicate::SLT, lo, cx.i64(0), "n")?;
                let lo = bd.build_select(neg, cx.i64(0), lo, "lo")?.into_int_value();
                let hi = bd.build_int_add(ch, cx.i64s(after + 1), "hi")?;
                let big = bd.build_int_compare(IntPredicate::SGT, hi, cx.i64(c as u64), "b")?;
                let hi = bd.build_select(big, cx.i64(c as u64), hi, "hi")?.into_int_value();
                let plane_base = bd.build_int_mul(b, cx.i64((c * plane) as u64), "pb")?;
                let zero = elem.into_float_type().const_zero();
                bd.build_store(slot, zero)?;
                cx.for_range(lo, hi, 1, |cx, kk| {
                    let o = cx.builder.build_int_mul(kk, cx.i64(plane as u64), "o")?;
                    let o = cx.builder.build_int_add(
                        cx.builder.build_int_add(plane_base, o, "o")?,
                        p,
                        "o",
                    )?;
                    let v = cx.load_at(elem, x, o, align)?;
                    let s = cx.builder.build_load(elem, slot, "s")?;
                    cx.builder.build_store(slot, cx.fmuladd(v, v, s)?)?;
                    Ok(())
                })?;
                let sum = cx.builder.build_load(elem, slot, "s")?;
                let base = math::add_c(cx, math::mul_c(cx, sum, coef)?, bias)?;
                let den = cx.call_intrinsic("llvm.pow", &[base, math::fconst(cx, base, beta)?])?;
                let o = offset(cx, idx, 0, &[(c * plane) as i64, plane as i64, 1])?;
                let v = cx.load_at(elem, x, o, align)?;
                cx.store_at(math::div(cx, v, den)?, y, o, align)
            })?;
        }
        op => return Err(cx.invalid(g, n, format!("`{op}` is not a normalisation"))),
    }
    cx.finish_kernel(k)
}
