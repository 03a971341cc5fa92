//! ReduceMean, ReduceSum, ReduceMax → `reduce_*` with the explicit, sorted list of reduced
//! axes.
//!
//! Axes come from the attribute until the op moved them to an input (ReduceSum at opset 13,
//! ReduceMean/ReduceMax at 18). No axes means all axes, unless `noop_with_empty_axes` is
//! set, in which case the node is an identity.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::ints;
use asplit_ir::{Attr, Attrs, OpKind, ValueId};

fn reduce(cx: &mut NodeCx, op: OpKind, axes_input_since: i64) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let rank = cx.ty(x).rank();
    let axes = if cx.opset() >= axes_input_since {
        cx.const_ints(1, "axes")?
    } else {
        cx.attrs.ints("axes")?.map(<[i64]>::to_vec)
    };
    let keepdims = super::elementwise::flag_or(cx, "keepdims", 1)?;
    let noop = cx.attrs.int_or("noop_with_empty_axes", 0)? != 0;
    let mut axes = match axes.filter(|a| !a.is_empty()) {
        Some(a) => cx.input_axes("axes", &a, rank)?,
        None if noop => return Ok(vec![cx.emit(OpKind::Identity, Attrs::new(), vec![x])?]),
        None => (0..rank).collect(),
    };
    axes.sort_unstable();
    let attrs = Attrs::new().with("axes", ints(axes)).with("keepdims", Attr::Int(keepdims));
    Ok(vec![cx.emit(op, attrs, vec![x])?])
}

/// Importer: ReduceMean.
pub(crate) fn import_reduce_mean(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    reduce(cx, OpKind::ReduceMean, 18)
}

/// Importer: ReduceSum.
pub(crate) fn import_reduce_sum(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    reduce(cx, OpKind::ReduceSum, 13)
}

/// Importer: ReduceMax.
pub(crate) fn import_reduce_max(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    reduce(cx, OpKind::ReduceMax, 18)
}
