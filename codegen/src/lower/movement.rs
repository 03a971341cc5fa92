//! Generators of the data-movement ops: reshape/identity copies (when they cannot alias),
//! transpose, slice, expand, concat, split, pad and gather.
//!
//! All but gather and the non-constant pad modes are affine index maps, so they are strided
//! copies built by `layout` (contiguous runs collapse into one loop that LLVM turns into
//! vector moves). They move elements of any dtype (coded ones as their bytes). Gather clamps
//! out-of-range indices into the axis (the interpreter reports them as errors); pad's
//! `reflect`/`edge`/`wrap` modes map each output coordinate through the mode per axis.

use super::elementwise::copy_bytes;
use super::layout::{collapse, dense_strides, nest, offset};
use super::{Kernel, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use inkwell::IntPredicate;

/// An affine view of a buffer: element offset `base + Σ idx·strides`.
struct View<'ctx> {
    ptr: PointerValue<'ctx>,
    base: i64,
    strides: Vec<i64>,
}

/// Copies `dims` elements from `src` to `dst` views.
fn strided_copy<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    elem: BasicTypeEnum<'ctx>,
    align: u32,
    dims: &[usize],
    src: View<'ctx>,
    dst: View<'ctx>,
) -> Result<(), CodegenError> {
    let mut strides = vec![src.strides, dst.strides];
    let dims = collapse(dims, &mut strides);
    nest(cx, &dims, &mut |cx, idx| {
        let so = offset(cx, idx, src.base, &strides[0])?;
        let v = cx.load_at(elem, src.ptr, so, align)?;
        let d = offset(cx, idx, dst.base, &strides[1])?;
        cx.store_at(v, dst.ptr, d, align)
    })
}

fn ints(cx: &KernelCx<'_, '_>, g: &Graph, n: NodeId, name: &str) -> Result<Vec<i64>, CodegenError> {
    g.nodes[n].attrs.ints(name).map(|v| v.to_vec()).map_err(|e| cx.invalid(g, n, e.to_string()))
}

fn axis(cx: &KernelCx<'_, '_>, g: &Graph, n: NodeId, rank: usize) -> Result<usize, CodegenError> {
    let a = g.nodes[n].attrs.int("axis").map_err(|e| cx.invalid(g, n, e.to_string()))?;
    let a = if a < 0 { a + rank as i64 } else { a };
    usize::try_from(a).ok().filter(|&a| a < rank.max(1)).ok_or_else(|| cx.invalid(g, n, "axis"))
}

/// All movement ops.
pub fn lower_movement<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let elem = cx.elem_type(x_ty.dtype);
    let align = x_ty.dtype.size_bytes() as u32;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let in_strides = dense_strides(&x_ty.shape);
    match node.op {
        OpKind::Reshape | OpKind::Identity => {
            copy_bytes(cx, x, k.result(0)?, x_ty.size_bytes() as u64)?;
        }
        OpKind::Transpose => {
            let perm = ints(cx, g, n, "perm")?;
            let out = g.ty(node.outputs[0]).shape.clone();
            let mut src = Vec::with_capacity(perm.len());
            for &p in &perm {
                let s = usize::try_from(p).ok().and_then(|p| in_strides.get(p)).copied();
                src.push(s.ok_or_else(|| cx.invalid(g, n, "perm"))?);
            }
            let dst = View { ptr: k.result(0)?, base: 0, strides: dense_strides(&out) };
            strided_copy(cx, elem, align, &out, View { ptr: x, base: 0, strides: src }, dst)?;
        }
        OpKind::Expand => {
            let out = g.ty(node.outputs[0]).shape.clone();
            let src = super::layout::broadcast_strides(&x_ty.shape, &out);
            let dst = View { ptr: k.result(0)?, base: 0, strides: dense_strides(&out) };
            strided_copy(cx, elem, align, &out, View { ptr: x, base: 0, strides: src }, dst)?;
        }
        OpKind::Slice => {
            let out = g.ty(node.outputs[0]).shape.clone();
            let (base, strides) = slice_view(cx, g, n, &x_ty.shape, &in_strides)?;
            let dst = View { ptr: k.result(0)?, base: 0, strides: dense_strides(&out) };
            strided_copy(cx, elem, align, &out, View { ptr: x, base, strides }, dst)?;
        }
        OpKind::Concat => concat(cx, g, n, &mut k, elem, align)?,
        OpKind::Split => {
            let ax = axis(cx, g, n, x_ty.rank())?;
            let mut start = 0i64;
            for j in 0..node.outputs.len() {
                let out = g.ty(node.outputs[j]).shape.clone();
                let src =
                    View { ptr: x, base: start * in_strides[ax], strides: in_strides.clone() };
                let dst = View { ptr: k.result(j)?, base: 0, strides: dense_strides(&out) };
                strided_copy(cx, elem, align, &out, src, dst)?;
                start += out[ax] as i64;
            }
        }
        OpKind::Pad => pad(cx, g, n, &k, x, elem, align)?,
        OpKind::Gather => gather(cx, g, n, &mut k, x, elem, align)?,
        op => return Err(cx.invalid(g, n, format!("`{op}` is not a movement op"))),
    }
    cx.finish_kernel(k)
}

/// Base offset and strides of a slice (ONNX clamping of starts, negative steps).
fn slice_view(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    n: NodeId,
    shape: &[usize],
    strides: &[i64],
) -> Result<(i64, Vec<i64>), CodegenError> {
    let (starts, axes, steps) =
        (ints(cx, g, n, "starts")?, ints(cx, g, n, "axes")?, ints(cx, g, n, "steps")?);
    let mut base = 0i64;
    let mut out = strides.to_vec();
    for (i, &a) in axes.iter().enumerate() {
        let a = if a < 0 { a + shape.len() as i64 } else { a };
        let a = usize::try_from(a)
            .ok()
            .filter(|&a| a < shape.len())
            .ok_or_else(|| cx.invalid(g, n, "axes"))?;
        let dim = shape[a] as i64;
        let step = steps.get(i).copied().unwrap_or(1);
        let mut s = starts.get(i).copied().ok_or_else(|| cx.invalid(g, n, "starts"))?;
        if s < 0 {
            s += dim;
        }
        s = if step > 0 { s.clamp(0, dim) } else { s.clamp(0, (dim - 1).max(0)) };
        base += s * strides[a];
        out[a] = strides[a] * step;
    }
    Ok((base, out))
}

fn concat<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    k: &mut Kernel<'ctx>,
    elem: BasicTypeEnum<'ctx>,
    align: u32,
) -> Result<(), CodegenError> {
    let node = &g.nodes[n];
    let out = g.ty(node.outputs[0]).shape.clone();
    let ax = axis(cx, g, n, out.len())?;
    let out_strides = dense_strides(&out);
    let y = k.result(0)?;
    let mut start = 0i64;
    for i in 0..node.inputs.len() {
        let shape = g.ty(node.inputs[i]).shape.clone();
        let src = View { ptr: k.operand(cx, i)?, base: 0, strides: dense_strides(&shape) };
        let dst = View { ptr: y, base: start * out_strides[ax], strides: out_strides.clone() };
        strided_copy(cx, elem, align, &shape, src, dst)?;
        start += shape[ax] as i64;
    }
    Ok(())
}

/// Pad: constant mode fills then copies the kept interior; other modes map coordinates.
fn pad<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    k: &Kernel<'ctx>,
    x: PointerValue<'ctx>,
    elem: BasicTypeEnum<'ctx>,
    align: u32,
) -> Result<(), CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let out = g.ty(node.outputs[0]).shape.clone();
    let pads = ints(cx, g, n, "pads")?;
    let r = x_ty.rank();
    if pads.len() != 2 * r {
        return Err(cx.invalid(g, n, "pads"));
    }
    let mode = node.attrs.str("mode").unwrap_or("constant").to_string();
    let y = k.result(0)?;
    let in_strides = dense_strides(&x_ty.shape);
    let out_strides = dense_strides(&out);
    if mode == "constant" {
        let value = node.attrs.float("value").unwrap_or(0.0) as f64;
        let fill = scalar_const(cx, g, n, x_ty.dtype, value)?;
        let total = out.iter().product::<usize>();
        cx.for_n(total as u64, 1, |cx, i| cx.store_at(fill, y, i, align))?;
        // Interior: out[b_d + j] = x[j] for the part of x that is kept.
        let mut dims = Vec::with_capacity(r);
        let (mut sb, mut db) = (0i64, 0i64);
        for d in 0..r {
            let (b, e) = (pads[d], pads[d + r]);
            let len = x_ty.shape[d] as i64 + b.min(0) + e.min(0);
            if len <= 0 {
                return Ok(());
            }
            dims.push(len as usize);
            sb += (-b).max(0) * in_strides[d];
            db += b.max(0) * out_strides[d];
        }
        let src = View { ptr: x, base: sb, strides: in_strides };
        let dst = View { ptr: y, base: db, strides: out_strides };
        return strided_copy(cx, elem, align, &dims, src, dst);
    }
    if x_ty.shape.contains(&0) {
        return Err(cx.unsupported(g, n, format!("mode {mode} on an empty axis")));
    }
    nest(cx, &out, &mut |cx, idx| {
        let mut src = cx.i64(0);
        for d in 0..r {
            let c = map_coord(cx, &mode, idx[d], pads[d], x_ty.shape[d] as i64)?;
            let t = cx.builder.build_int_mul(c, cx.i64s(in_strides[d]), "t")?;
            src = cx.builder.build_int_add(src, t, "s")?;
        }
        let v = cx.load_at(elem, x, src, align)?;
        let dst = offset(cx, idx, 0, &out_strides)?;
        cx.store_at(v, y, dst, align)
    })
}

/// Input coordinate of output coordinate `i` on an axis of size `dim` padded by `begin`.
fn map_coord<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    mode: &str,
    i: IntValue<'ctx>,
    begin: i64,
    dim: i64,
) -> Result<IntValue<'ctx>, CodegenError> {
    let b = &cx.builder;
    let c = b.build_int_sub(i, cx.i64s(begin), "c")?;
    let (zero, last) = (cx.i64(0), cx.i64s(dim - 1));
    let clamp = |v: IntValue<'ctx>| -> Result<IntValue<'ctx>, CodegenError> {
        let lo = b.build_int_compare(IntPredicate::SLT, v, zero, "lo")?;
        let v = b.build_select(lo, zero, v, "v")?.into_int_value();
        let hi = b.build_int_compare(IntPredicate::SGT, v, last, "hi")?;
        Ok(b.build_select(hi, last, v, "v")?.into_int_value())
    };
    match mode {
        "edge" => clamp(c),
        "wrap" => {
            let m = b.build_int_signed_rem(c, cx.i64s(dim), "m")?;
            let neg = b.build_int_compare(IntPredicate::SLT, m, zero, "n")?;
            let p = b.build_int_add(m, cx.i64s(dim), "p")?;
            Ok(b.build_select(neg, p, m, "w")?.into_int_value())
        }
        "reflect" => {
            if dim == 1 {
                return Ok(zero);
            }
            // Period 2(dim-1): fold into [0, 2(dim-1)), then mirror the upper half.
            let period = cx.i64s(2 * (dim - 1));
            let m = b.build_int_signed_rem(c, period, "m")?;
            let neg = b.build_int_compare(IntPredicate::SLT, m, zero, "n")?;
            let p = b.build_int_add(m, period, "p")?;
            let m = b.build_select(neg, p, m, "r")?.into_int_value();
            let upper = b.build_int_compare(IntPredicate::SGT, m, last, "u")?;
            let mirrored = b.build_int_sub(period, m, "mi")?;
            Ok(b.build_select(upper, mirrored, m, "rf")?.into_int_value())
        }
        other => Err(CodegenError::Llvm(format!("pad mode {other} has no coordinate map"))),
    }
}

/// A constant of dtype `d` with value `v`.
fn scalar_const<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    d: DType,
    v: f64,
) -> Result<inkwell::values::BasicValueEnum<'ctx>, CodegenError> {
    Ok(match cx.elem_type(d) {
        BasicTypeEnum::FloatType(t) => t.const_float(v).into(),
        BasicTypeEnum::IntType(t) if d.is_int() || d == DType::Bool => {
            t.const_int(v as i64 as u64, true).into()
        }
        _ => return Err(cx.unsupported(g, n, format!("a fill value of dtype {d}"))),
    })
}

fn gather<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    k: &mut Kernel<'ctx>,
    x: PointerValue<'ctx>,
    elem: BasicTypeEnum<'ctx>,
    align: u32,
) -> Result<(), CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let i_ty = g.ty(node.inputs[1]).clone();
    let ax = axis(cx, g, n, x_ty.rank())?;
    let outer: usize = x_ty.shape[..ax].iter().product();
    let dim = x_ty.shape[ax] as i64;
    let inner: usize = x_ty.shape[ax + 1..].iter().product();
    let count = i_ty.numel();
    if dim == 0 {
        return Err(cx.unsupported(g, n, "gathering from an empty axis"));
    }
    let signed = !matches!(i_ty.dtype, DType::U8 | DType::U16 | DType::U32 | DType::U64);
    if !i_ty.dtype.is_int() {
        return Err(cx.unsupported(g, n, format!("indices of dtype {}", i_ty.dtype)));
    }
    let ip = k.operand(cx, 1)?;
    let y = k.result(0)?;
    let ity = cx.elem_type(i_ty.dtype);
    let ialign = i_ty.dtype.size_bytes() as u32;
    nest(cx, &[outer, count], &mut |cx, idx| {
        let raw = cx.load_at(ity, ip, idx[1], ialign)?.into_int_value();
        let b = &cx.builder;
        let j = if signed {
            b.build_int_s_extend_or_bit_cast(raw, cx.i64_type(), "j")?
        } else {
            b.build_int_z_extend_or_bit_cast(raw, cx.i64_type(), "j")?
        };
        let neg = b.build_int_compare(IntPredicate::SLT, j, cx.i64(0), "n")?;
        let wrapped = b.build_int_add(j, cx.i64s(dim), "w")?;
        let j = b.build_select(neg, wrapped, j, "j")?.into_int_value();
        let lo = b.build_int_compare(IntPredicate::SLT, j, cx.i64(0), "lo")?;
        let j = b.build_select(lo, cx.i64(0), j, "j")?.into_int_value();
        let hi = b.build_int_compare(IntPredicate::SGT, j, cx.i64s(dim - 1), "hi")?;
        let j = b.build_select(hi, cx.i64s(dim - 1), j, "j")?.into_int_value();
        let o = b.build_int_mul(idx[0], cx.i64s(dim), "o")?;
        let row = b.build_int_add(o, j, "r")?;
        let src0 = b.build_int_mul(row, cx.i64(inner as u64), "s")?;
        let ob = b.build_int_mul(idx[0], cx.i64(count as u64), "ob")?;
        let orow = b.build_int_add(ob, idx[1], "or")?;
        let dst0 = b.build_int_mul(orow, cx.i64(inner as u64), "d")?;
        cx.for_n(inner as u64, 1, |cx, t| {
            let s = cx.builder.build_int_add(src0, t, "si")?;
            let v = cx.load_at(elem, x, s, align)?;
            let d = cx.builder.build_int_add(dst0, t, "di")?;
            cx.store_at(v, y, d, align)
        })
    })
}
