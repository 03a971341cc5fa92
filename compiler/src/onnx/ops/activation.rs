//! Pointwise activations and math (Relu, LeakyRelu, Clip, Sigmoid, Tanh, HardSigmoid,
//! HardSwish, Erf, Gelu, Exp, Log, Sqrt) and Softmax/LogSoftmax.
//!
//! Clip takes `min`/`max` attributes before opset 11 and constant inputs from 11 on; absent
//! bounds are ±∞. Softmax and LogSoftmax before opset 13 "coerce the input to 2-D" at
//! `axis` (default 1): unless `axis` is already the last axis, that is imported as reshape
//! to 2-D, softmax over axis 1, reshape back. From opset 13 on they act on one axis
//! (default -1), which is what the IR ops do.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::{ints, product};
use asplit_ir::{Attr, Attrs, OpKind, ValueId};

fn unary(cx: &mut NodeCx, op: OpKind, attrs: Attrs) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    Ok(vec![cx.emit(op, attrs, vec![x])?])
}

macro_rules! plain_unary {
    ($($fn:ident => $op:ident),* $(,)?) => {$(
        /// Importer (attribute-free unary op).
        pub(crate) fn $fn(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
            unary(cx, OpKind::$op, Attrs::new())
        }
    )*};
}
plain_unary!(
    import_relu => Relu,
    import_sigmoid => Sigmoid,
    import_tanh => Tanh,
    import_erf => Erf,
    import_exp => Exp,
    import_log => Log,
    import_sqrt => Sqrt,
    import_hard_swish => HardSwish,
);

/// Importer: LeakyRelu.
pub(crate) fn import_leaky_relu(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let attrs = Attrs::new().with("alpha", Attr::Float(cx.attrs.float_or("alpha", 0.01)?));
    unary(cx, OpKind::LeakyRelu, attrs)
}

/// Importer: HardSigmoid.
pub(crate) fn import_hard_sigmoid(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let attrs = Attrs::new()
        .with("alpha", Attr::Float(cx.attrs.float_or("alpha", 0.2)?))
        .with("beta", Attr::Float(cx.attrs.float_or("beta", 0.5)?));
    unary(cx, OpKind::HardSigmoid, attrs)
}

/// Importer: Gelu (opset 20).
pub(crate) fn import_gelu(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let approx = cx.attrs.choice("approximate", "none", &["none", "tanh"])?;
    unary(cx, OpKind::Gelu, Attrs::new().with("approximate", Attr::Str(approx)))
}

/// Importer: Clip (attributes before opset 11, constant inputs from 11).
pub(crate) fn import_clip(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let (min, max) = if cx.opset() < 11 {
        (cx.attrs.float("min")?.map(f64::from), cx.attrs.float("max")?.map(f64::from))
    } else {
        (cx.const_scalar(1, "min")?, cx.const_scalar(2, "max")?)
    };
    let attrs = Attrs::new()
        .with("min", Attr::Float(min.map_or(f32::NEG_INFINITY, |v| v as f32)))
        .with("max", Attr::Float(max.map_or(f32::INFINITY, |v| v as f32)));
    unary(cx, OpKind::Clip, attrs)
}

/// Importer: Softmax.
pub(crate) fn import_softmax(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    softmax(cx, OpKind::Softmax)
}

/// Importer: LogSoftmax.
pub(crate) fn import_log_softmax(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    softmax(cx, OpKind::LogSoftmax)
}

fn softmax(cx: &mut NodeCx, op: OpKind) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "input")?;
    let shape = cx.ty(x).shape.clone();
    let rank = shape.len();
    let legacy = cx.opset() < 13;
    let axis = cx.attrs.int_or("axis", if legacy { 1 } else { -1 })?;
    let axis = cx.attr_axis("axis", axis, rank)?;
    let one_axis = |a: usize| Attrs::new().with("axis", Attr::Int(a as i64));
    if !legacy || axis + 1 == rank {
        return Ok(vec![cx.emit(op, one_axis(axis), vec![x])?]);
    }
    // Opset < 13: softmax over the flattened trailing block [axis, rank).
    let rows = product(cx, &shape[..axis])?;
    let cols = product(cx, &shape[axis..])?;
    let flat = cx.emit(OpKind::Reshape, Attrs::new().with("shape", ints([rows, cols])), vec![x])?;
    let y = cx.emit(op, one_axis(1), vec![flat])?;
    Ok(vec![cx.emit(OpKind::Reshape, Attrs::new().with("shape", ints(shape)), vec![y])?])
}
