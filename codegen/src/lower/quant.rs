//! Generators of quantize_linear and dequantize_linear between f32/f64 and the 8- to 32-bit
//! integers, per tensor, per axis or blocked (`block_size` consecutive elements along
//! `axis` share a scale), as the interpreter computes them:
//! `q = clamp(round_half_even(x / scale) + zero_point)` in x's precision, and
//! `x = (q − zero_point) · scale` in the scale's dtype. The coded targets (int4, float8, …),
//! f16/bf16 operands and float zero points are `Unsupported`.

use super::layout::{dense_strides, nest, offset};
use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind};
use inkwell::values::{FunctionValue, IntValue};

fn int_range(d: DType) -> Option<(f64, f64)> {
    Some(match d {
        DType::U8 => (0.0, 255.0),
        DType::I8 => (-128.0, 127.0),
        DType::U16 => (0.0, 65535.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::I32 => (i32::MIN as f64, i32::MAX as f64),
        DType::U32 => (0.0, u32::MAX as f64),
        _ => return None,
    })
}

fn signed(d: DType) -> bool {
    matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64)
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
    if !matches!(fdt, DType::F32 | DType::F64) || s_ty.dtype != fdt || int_range(idt).is_none() {
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
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let s = k.operand(cx, 1)?;
    let z = if node.inputs.len() > 2 { Some(k.operand(cx, 2)?) } else { None };
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
            let q = cx.call_intrinsic("llvm.roundeven", &[q])?;
            let q = math::add(cx, q, zp.into())?;
            let q = math::clamp(cx, q, lo, hi)?;
            let t = ie.into_int_type();
            let r = if signed(idt) {
                cx.builder.build_float_to_signed_int(q.into_float_value(), t, "q")?
            } else {
                cx.builder.build_float_to_unsigned_int(q.into_float_value(), t, "q")?
            };
            cx.store_at(r.into(), y, xo, ia)
        } else {
            let v = cx.load_at(ie, x, xo, ia)?.into_int_value();
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
