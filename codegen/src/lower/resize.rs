//! Generator of `resize` in `nearest` mode: a gather through a compile-time index table.
//!
//! Nearest-neighbour resizing picks one input element per output element, and which one
//! depends only on the shapes and attributes. So the table is computed by running the
//! interpreter's own resize on a probe tensor whose elements are their flat indices (f64,
//! exact), with `extrapolation_value = -1` marking the outputs that tf_crop_and_resize fills
//! with `extrapolation_value`: every coordinate-transformation and rounding mode then agrees
//! with the interpreter by construction. The kernel is `y[i] = t[i] < 0 ? fill : x[t[i]]`.
//!
//! `linear` and `cubic` modes (N-d, antialias, cubic_coeff_a, exclude_outside, every
//! coordinate transform) take their taps from the interpreter too
//! ([`asplit_ir::interp::resize_taps`]): per resized axis and output coordinate, the input
//! indices and weights, emitted as constant tables (i64 indices, f32 weights; a row under
//! tf_crop_and_resize outside the input has index −1). The kernel loops over the output and
//! sums, over the tensor product of the resized axes' taps, `Π w · x[…]` in f32 — no
//! scratch buffer. Only f32 is compiled in these modes; other dtypes are `Unsupported`.

use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::interp::{resize_taps, AxisTaps, EvalCx};
use asplit_ir::{Attr, DType, Graph, NodeId, OpKind, Tensor, TensorData, TensorType};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{FloatValue, FunctionValue, IntValue, PointerValue};
use inkwell::IntPredicate;

/// resize.
pub fn lower_resize<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let mode = node.attrs.str("mode").unwrap_or("nearest");
    if mode != "nearest" {
        return lower_interpolating(cx, g, n);
    }
    let x_ty = g.ty(node.inputs[0]).clone();
    let y_ty = g.ty(node.outputs[0]).clone();
    if x_ty.numel() >= 1 << 52 {
        return Err(cx.unsupported(g, n, "more than 2^52 elements"));
    }
    let fill = node.attrs.float("extrapolation_value").unwrap_or(0.0) as f64;
    let mut attrs = node.attrs.clone();
    attrs.set("extrapolation_value", Attr::Float(-1.0));
    let probe = Tensor::new(
        x_ty.shape.clone(),
        TensorData::F64((0..x_ty.numel()).map(|i| i as f64).collect()),
    )
    .map_err(|e| cx.invalid(g, n, e.to_string()))?;
    let out_ty = TensorType::new(DType::F64, y_ty.shape.clone());
    let mapped = asplit_ir::interp::eval_node(OpKind::Resize, &attrs, &[&probe], &[out_ty])
        .map_err(|e| cx.invalid(g, n, format!("index table: {e}")))?;
    let table: Vec<i64> = mapped
        .first()
        .ok_or_else(|| cx.invalid(g, n, "index table: no result"))?
        .data()
        .to_f64_vec()
        .iter()
        .map(|&v| if v < 0.0 { -1 } else { v as i64 })
        .collect();
    let bytes: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
    let elem = cx.elem_type(x_ty.dtype);
    let align = x_ty.dtype.size_bytes() as u32;
    let fill_v = match elem {
        BasicTypeEnum::FloatType(t) => t.const_float(fill).into(),
        BasicTypeEnum::IntType(t) => t.const_int(fill as i64 as u64, true).into(),
        _ => return Err(cx.unsupported(g, n, format!("dtype {}", x_ty.dtype))),
    };
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let t = cx.const_bytes(&bytes);
    cx.for_n(table.len() as u64, 1, |cx, i| {
        let j = cx.load_at(cx.i64_type(), t, i, 8)?.into_int_value();
        let outside = cx.builder.build_int_compare(IntPredicate::SLT, j, cx.i64(0), "o")?;
        let safe = cx.builder.build_select(outside, cx.i64(0), j, "j")?.into_int_value();
        let v = cx.load_at(elem, x, safe, align)?;
        let r = cx.builder.build_select(outside, fill_v, v, "r")?;
        cx.store_at(r, y, i, align)
    })?;
    cx.finish_kernel(k)
}

/// The constant tables of one resized axis.
struct AxisTable<'ctx> {
    /// `out_len × n` input indices (−1 on every tap of a row that is extrapolated).
    idx: PointerValue<'ctx>,
    /// `out_len × n` f32 weights.
    w: PointerValue<'ctx>,
    /// Taps per output coordinate.
    n: u64,
    /// Element stride of the axis in the input.
    stride: u64,
}

/// What the loop nest of an interpolating resize reads.
struct Interp<'ctx> {
    x: PointerValue<'ctx>,
    y: PointerValue<'ctx>,
    out_shape: Vec<usize>,
    in_strides: Vec<u64>,
    /// Per axis, its tables when the resize changes it.
    tables: Vec<Option<AxisTable<'ctx>>>,
    fill: f64,
}

/// resize in `linear` / `cubic` mode (f32).
fn lower_interpolating<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let y_ty = g.ty(node.outputs[0]).clone();
    if x_ty.dtype != DType::F32 {
        return Err(cx.unsupported(g, n, format!("linear/cubic resize of {}", x_ty.dtype)));
    }
    // resize_taps reads only the operand's shape, but takes a tensor: a zero probe of that
    // shape (the nearest path allocates a probe of the same size).
    let probe = Tensor::new(x_ty.shape.clone(), TensorData::F32(vec![0.0; x_ty.numel()]))
        .map_err(|e| cx.invalid(g, n, e.to_string()))?;
    let inputs = [&probe];
    let outputs = [y_ty.clone()];
    let ecx = EvalCx { op: OpKind::Resize, inputs: &inputs, attrs: &node.attrs, outputs: &outputs };
    let (axes, fill) = resize_taps(&ecx).map_err(|e| cx.invalid(g, n, format!("taps: {e}")))?;
    let rank = x_ty.shape.len();
    let mut in_strides = vec![1u64; rank];
    for d in (0..rank.saturating_sub(1)).rev() {
        in_strides[d] = in_strides[d + 1] * x_ty.shape[d + 1] as u64;
    }
    let mut tables: Vec<Option<AxisTable<'ctx>>> = (0..rank).map(|_| None).collect();
    for a in &axes {
        let table = axis_table(cx, a, in_strides.get(a.axis).copied().unwrap_or(1));
        match tables.get_mut(a.axis) {
            Some(slot) => *slot = Some(table),
            None => return Err(cx.invalid(g, n, format!("taps of axis {}", a.axis))),
        }
    }
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let st = Interp { x, y, out_shape: y_ty.shape.clone(), in_strides, tables, fill };
    let mut coords = Vec::with_capacity(rank);
    emit_outer(cx, &st, &mut coords, cx.i64(0))?;
    cx.finish_kernel(k)
}

/// Emits the constant tables of one axis.
fn axis_table<'ctx>(cx: &mut KernelCx<'_, 'ctx>, a: &AxisTaps, stride: u64) -> AxisTable<'ctx> {
    let n = a.taps.iter().flatten().map(Vec::len).max().unwrap_or(1).max(1);
    let mut idx: Vec<u8> = Vec::with_capacity(a.taps.len() * n * 8);
    let mut w: Vec<f32> = Vec::with_capacity(a.taps.len() * n);
    for row in &a.taps {
        for j in 0..n {
            let (i, wj) = match row {
                Some(taps) => taps.get(j).map_or((0, 0.0), |&(i, wj)| (i as i64, wj as f32)),
                None => (-1, 0.0),
            };
            idx.extend_from_slice(&i.to_le_bytes());
            w.push(wj);
        }
    }
    AxisTable { idx: cx.const_bytes(&idx), w: cx.const_f32s(&w), n: n as u64, stride }
}

/// Loops over output axis `coords.len()` and deeper; `y_lin` is the flat output offset of
/// the outer coordinates.
fn emit_outer<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    st: &Interp<'ctx>,
    coords: &mut Vec<IntValue<'ctx>>,
    y_lin: IntValue<'ctx>,
) -> Result<(), CodegenError> {
    let d = coords.len();
    let Some(&len) = st.out_shape.get(d) else {
        return emit_point(cx, st, coords, y_lin);
    };
    cx.for_n(len as u64, 1, |cx, i| {
        let scaled = cx.builder.build_int_nuw_mul(y_lin, cx.i64(len as u64), "y")?;
        let y = cx.builder.build_int_nuw_add(scaled, i, "y")?;
        coords.push(i);
        emit_outer(cx, st, coords, y)?;
        coords.pop();
        Ok(())
    })
}

/// Computes one output element at `coords` (flat offset `y_lin`).
fn emit_point<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    st: &Interp<'ctx>,
    coords: &[IntValue<'ctx>],
    y_lin: IntValue<'ctx>,
) -> Result<(), CodegenError> {
    let f32t = cx.f32_type();
    let acc = cx.entry_alloca(f32t.into())?;
    cx.builder.build_store(acc, f32t.const_zero())?;
    let mut base = cx.i64(0);
    let mut outside = cx.ctx.bool_type().const_zero();
    for (d, &c) in coords.iter().enumerate() {
        match st.tables.get(d).and_then(Option::as_ref) {
            None => {
                let off = cx.builder.build_int_nuw_mul(c, cx.i64(st.in_strides[d]), "o")?;
                base = cx.builder.build_int_nuw_add(base, off, "b")?;
            }
            Some(t) => {
                let row = cx.builder.build_int_nuw_mul(c, cx.i64(t.n), "r")?;
                let i0 = cx.load_at(cx.i64_type(), t.idx, row, 8)?.into_int_value();
                let out = cx.builder.build_int_compare(IntPredicate::SLT, i0, cx.i64(0), "x")?;
                outside = cx.builder.build_or(outside, out, "x")?;
            }
        }
    }
    emit_taps(cx, st, coords, 0, base, f32t.const_float(1.0), acc)?;
    let sum = cx.builder.build_load(f32t, acc, "s")?;
    let fill = f32t.const_float(st.fill).into();
    let r = cx.builder.build_select(outside, fill, sum, "r")?;
    cx.store_at(r, st.y, y_lin, 4)
}

/// Sums over the taps of resized axes `d..`: `acc += weight · Π w · x[base + Σ idx·stride]`.
fn emit_taps<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    st: &Interp<'ctx>,
    coords: &[IntValue<'ctx>],
    d: usize,
    base: IntValue<'ctx>,
    weight: FloatValue<'ctx>,
    acc: PointerValue<'ctx>,
) -> Result<(), CodegenError> {
    let f32t = cx.f32_type();
    if d == coords.len() {
        let v = cx.load_at(f32t, st.x, base, 4)?;
        let a = cx.builder.build_load(f32t, acc, "a")?;
        let s = cx.fmuladd(weight.into(), v, a)?;
        cx.builder.build_store(acc, s)?;
        return Ok(());
    }
    let Some(t) = st.tables.get(d).and_then(Option::as_ref) else {
        return emit_taps(cx, st, coords, d + 1, base, weight, acc);
    };
    let row = cx.builder.build_int_nuw_mul(coords[d], cx.i64(t.n), "r")?;
    cx.for_n(t.n, 1, |cx, j| {
        let at = cx.builder.build_int_nuw_add(row, j, "t")?;
        let i = cx.load_at(cx.i64_type(), t.idx, at, 8)?.into_int_value();
        let neg = cx.builder.build_int_compare(IntPredicate::SLT, i, cx.i64(0), "n")?;
        let i = cx.builder.build_select(neg, cx.i64(0), i, "i")?.into_int_value();
        let w = cx.load_at(f32t, t.w, at, 4)?.into_float_value();
        let off = cx.builder.build_int_nuw_mul(i, cx.i64(t.stride), "o")?;
        let b = cx.builder.build_int_nuw_add(base, off, "b")?;
        let wt = cx.builder.build_float_mul(weight, w, "w")?;
        emit_taps(cx, st, coords, d + 1, b, wt, acc)
    })
}
