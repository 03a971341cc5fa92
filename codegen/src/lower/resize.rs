//! Generator of `resize` in `nearest` mode: a gather through a compile-time index table.
//!
//! Nearest-neighbour resizing picks one input element per output element, and which one
//! depends only on the shapes and attributes. So the table is computed by running the
//! interpreter's own resize on a probe tensor whose elements are their flat indices (f64,
//! exact), with `extrapolation_value = -1` marking the outputs that tf_crop_and_resize fills
//! with `extrapolation_value`: every coordinate-transformation and rounding mode then agrees
//! with the interpreter by construction. The kernel is `y[i] = t[i] < 0 ? fill : x[t[i]]`.
//! `linear` and `cubic` modes are `Unsupported`.

use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::{Attr, DType, Graph, NodeId, OpKind, Tensor, TensorData, TensorType};
use inkwell::types::BasicTypeEnum;
use inkwell::values::FunctionValue;
use inkwell::IntPredicate;

/// resize (nearest).
pub fn lower_resize<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let mode = node.attrs.str("mode").unwrap_or("nearest");
    if mode != "nearest" {
        return Err(cx.unsupported(g, n, format!("mode = \"{mode}\"")));
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
