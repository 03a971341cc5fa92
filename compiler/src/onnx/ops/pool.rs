//! Pooling: MaxPool, AveragePool (auto_pad resolved to explicit pads), GlobalAveragePool and
//! GlobalMaxPool (→ `reduce_mean` / `reduce_max` over the spatial axes, keeping dims).
//!
//! MaxPool's `Indices` output, when something reads it, is `max_pool`'s second result
//! (`indices = 1`, with `storage_order`); otherwise the node has one result.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::elementwise::flag;
use super::{ints, kernel_shape, resolve_pads, spatial_attr, spatial_dims, spatial_rank};
use asplit_ir::{Attr, Attrs, OpKind, ValueId};

/// The attributes MaxPool and AveragePool share, resolved.
fn pool_attrs(cx: &NodeCx, x: ValueId) -> Result<Attrs, ImportError> {
    let n = spatial_rank(cx, x)?;
    let input = spatial_dims(&cx.ty(x).shape);
    let kernel = kernel_shape(cx, n, None)?;
    let strides = spatial_attr(cx, "strides", n, 1)?;
    let dilations = spatial_attr(cx, "dilations", n, 1)?;
    let pads = resolve_pads(cx, &input, &kernel, &strides, &dilations)?;
    Ok(Attrs::new()
        .with("kernel_shape", Attr::Ints(kernel))
        .with("strides", Attr::Ints(strides))
        .with("pads", Attr::Ints(pads))
        .with("dilations", Attr::Ints(dilations))
        .with("ceil_mode", Attr::Int(flag(cx, "ceil_mode")?)))
}

/// Importer: MaxPool.
pub(crate) fn import_max_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    let indices = cx.output_used(1);
    let attrs = pool_attrs(cx, x)?
        .with("indices", Attr::Int(i64::from(indices)))
        .with("storage_order", Attr::Int(flag(cx, "storage_order")?));
    cx.emit_n(OpKind::MaxPool, attrs, vec![x])
}

/// Importer: AveragePool.
pub(crate) fn import_average_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    let attrs =
        pool_attrs(cx, x)?.with("count_include_pad", Attr::Int(flag(cx, "count_include_pad")?));
    Ok(vec![cx.emit(OpKind::AvgPool, attrs, vec![x])?])
}

fn global(cx: &mut NodeCx, op: OpKind) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    let n = spatial_rank(cx, x)?;
    let attrs = Attrs::new().with("axes", ints(2..n + 2)).with("keepdims", Attr::Int(1));
    Ok(vec![cx.emit(op, attrs, vec![x])?])
}

/// Importer: GlobalAveragePool.
pub(crate) fn import_global_average_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    global(cx, OpKind::ReduceMean)
}

/// Importer: GlobalMaxPool.
pub(crate) fn import_global_max_pool(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    global(cx, OpKind::ReduceMax)
}
