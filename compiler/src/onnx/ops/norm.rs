//! Normalisations: BatchNormalization (inference only), LayerNormalization, LRN.
//!
//! BatchNormalization's training outputs (running/saved mean and variance), training mode
//! (opset 14+) and the opset-7/8 `spatial=0` per-activation form are explicit errors.
//! LayerNormalization's optional `Mean` and `InvStdDev` outputs, when something reads them,
//! are computed beside the `layer_norm` node from IR ops (reduce_mean, sub, mul, add, sqrt,
//! div) in the `stash_type` precision.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::super::tensor::dtype_from_onnx;
use super::ints;
use asplit_ir::{Attr, Attrs, DType, OpKind, Tensor, TensorType, ValueId};

/// Importer: BatchNormalization (inference).
pub(crate) fn import_batch_norm(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let roles = ["X", "scale", "B", "input_mean", "input_var"];
    let inputs =
        roles.iter().enumerate().map(|(i, r)| cx.input(i, r)).collect::<Result<Vec<_>, _>>()?;
    if cx.opset() < 9 && cx.attrs.int_or("spatial", 1)? == 0 {
        return Err(cx.unsupported("spatial=0 (per-activation batch normalisation)"));
    }
    if cx.attrs.int_or("training_mode", 0)? != 0 {
        return Err(cx.unsupported("training_mode=1 (batch statistics)"));
    }
    for i in 1..cx.num_outputs() {
        if cx.output_used(i) {
            return Err(cx.unsupported(format!(
                "using output #{i} (`{}`): running and saved statistics exist only in training mode",
                cx.node.output[i]
            )));
        }
    }
    let attrs = Attrs::new().with("epsilon", Attr::Float(cx.attrs.float_or("epsilon", 1e-5)?));
    Ok(vec![cx.emit(OpKind::BatchNorm, attrs, inputs)?])
}

/// Importer: LayerNormalization (opset 17).
pub(crate) fn import_layer_norm(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    let scale = cx.input(1, "Scale")?;
    let mut inputs = vec![x, scale];
    inputs.extend(cx.opt_input(2));
    let rank = cx.ty(x).rank();
    let axis = cx.attrs.int_or("axis", -1)?;
    let axis = cx.attr_axis("axis", axis, rank)?;
    let epsilon = cx.attrs.float_or("epsilon", 1e-5)?;
    let attrs =
        Attrs::new().with("axis", Attr::Int(axis as i64)).with("epsilon", Attr::Float(epsilon));
    let y = cx.emit(OpKind::LayerNorm, attrs, inputs)?;
    if !(cx.output_used(1) || cx.output_used(2)) {
        return Ok(vec![y]);
    }
    let stash = cx.attrs.int_or("stash_type", 1)?;
    let stash = i32::try_from(stash)
        .ok()
        .and_then(|c| dtype_from_onnx(c).ok())
        .filter(|d| d.is_float())
        .ok_or_else(|| {
            cx.attr_err("stash_type", format!("{stash} is not a supported float type"))
        })?;
    let mut out = layer_norm_stats(cx, x, axis, epsilon, stash, cx.output_used(2))?;
    out.insert(0, y);
    Ok(out)
}

/// `[Mean]` or `[Mean, InvStdDev]` of `x` over axes `[axis, rank)`, kept as size-1 dims.
fn layer_norm_stats(
    cx: &mut NodeCx,
    x: ValueId,
    axis: usize,
    epsilon: f32,
    stash: DType,
    inv_std: bool,
) -> Result<Vec<ValueId>, ImportError> {
    let rank = cx.ty(x).rank();
    let x = if cx.ty(x).dtype == stash {
        x
    } else {
        cx.emit(OpKind::Cast, Attrs::new().with("to", Attr::DType(stash)), vec![x])?
    };
    let reduce = || Attrs::new().with("axes", ints(axis..rank)).with("keepdims", Attr::Int(1));
    let mean = cx.emit(OpKind::ReduceMean, reduce(), vec![x])?;
    if !inv_std {
        return Ok(vec![mean]);
    }
    let d = cx.emit(OpKind::Sub, Attrs::new(), vec![x, mean])?;
    let d2 = cx.emit(OpKind::Mul, Attrs::new(), vec![d, d])?;
    let var = cx.emit(OpKind::ReduceMean, reduce(), vec![d2])?;
    let scalar = TensorType::new(stash, Vec::<usize>::new());
    let eps = cx.add_const(Tensor::splat(&scalar, f64::from(epsilon)));
    let shifted = cx.emit(OpKind::Add, Attrs::new(), vec![var, eps])?;
    let std = cx.emit(OpKind::Sqrt, Attrs::new(), vec![shifted])?;
    let one = cx.add_const(Tensor::splat(&scalar, 1.0));
    let inv = cx.emit(OpKind::Div, Attrs::new(), vec![one, std])?;
    Ok(vec![mean, inv])
}

/// Importer: LRN.
pub(crate) fn import_lrn(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    let size = cx.attrs.req_int("size")?;
    if size < 1 {
        return Err(cx.attr_err("size", format!("should be positive, found {size}")));
    }
    let attrs = Attrs::new()
        .with("size", Attr::Int(size))
        .with("alpha", Attr::Float(cx.attrs.float_or("alpha", 1e-4)?))
        .with("beta", Attr::Float(cx.attrs.float_or("beta", 0.75)?))
        .with("bias", Attr::Float(cx.attrs.float_or("bias", 1.0)?));
    Ok(vec![cx.emit(OpKind::Lrn, attrs, vec![x])?])
}
