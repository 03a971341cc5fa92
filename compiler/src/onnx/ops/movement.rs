//! Data movement and element-type ops: Concat, Split, Slice, Gather, Pad, Identity,
//! Dropout, Cast.
//!
//! Parameters ONNX passes as inputs (Split sizes, Slice starts/ends/axes/steps, Pad pads,
//! constant value and axes) must be constants and become attributes; those passed as
//! attributes in older opsets (Split < 13, Slice < 10, Pad < 11) are read from there.
//! Dropout is inference-only: it becomes `identity`, a read mask output becomes an all-true
//! constant, and training mode with a non-zero ratio is an error.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::super::tensor::dtype_from_onnx;
use super::ints;
use super::shape::splat_like;
use asplit_ir::{Attr, Attrs, DType, OpKind, Tensor, TensorType, ValueId};

/// Importer: Concat.
pub(crate) fn import_concat(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let xs = cx.all_inputs("inputs")?;
    let rank = cx.ty(xs[0]).rank();
    let axis = cx.attrs.req_int("axis")?;
    let axis = cx.attr_axis("axis", axis, rank)?;
    Ok(vec![cx.emit(OpKind::Concat, Attrs::new().with("axis", Attr::Int(axis as i64)), xs)?])
}

/// Importer: Split (sizes from the attribute before opset 13, the input after; otherwise
/// equal parts, the last one smaller when the size does not divide).
pub(crate) fn import_split(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "input")?;
    let shape = cx.ty(x).shape.clone();
    let axis = cx.attrs.int_or("axis", 0)?;
    let axis = cx.attr_axis("axis", axis, shape.len())?;
    let dim = shape[axis] as i64;
    let parts = cx.num_outputs();
    if parts == 0 {
        return Err(cx.invalid("has no outputs"));
    }
    let given = if cx.opset() < 13 {
        cx.attrs.ints("split")?.map(<[i64]>::to_vec)
    } else {
        cx.const_ints(1, "split")?
    };
    let sizes = match given.filter(|s| !s.is_empty()) {
        Some(s) => {
            let total: i128 = s.iter().map(|&v| i128::from(v)).sum();
            if s.len() != parts || s.iter().any(|&v| v < 0) || total != i128::from(dim) {
                return Err(cx.invalid(format!(
                    "split sizes {s:?} should be {parts} non-negative sizes adding up to {dim} (axis {axis} of {shape:?})"
                )));
            }
            s
        }
        None => equal_parts(cx, dim, parts)?,
    };
    let attrs = Attrs::new().with("axis", Attr::Int(axis as i64)).with("split", Attr::Ints(sizes));
    cx.emit_n(OpKind::Split, attrs, vec![x])
}

fn equal_parts(cx: &NodeCx, dim: i64, parts: usize) -> Result<Vec<i64>, ImportError> {
    if let Some(k) = cx.attrs.int("num_outputs")? {
        if k != parts as i64 {
            return Err(
                cx.attr_err("num_outputs", format!("is {k}, but the node has {parts} outputs"))
            );
        }
    }
    let n = parts as i128;
    let chunk = (i128::from(dim) + n - 1) / n;
    let last = i128::from(dim) - chunk * (n - 1);
    if last < 0 {
        return Err(cx.invalid(format!("cannot split a dimension of {dim} into {parts} parts")));
    }
    // Both fit: 0 ≤ last ≤ chunk ≤ dim.
    let (chunk, last) = (chunk as i64, last as i64);
    let mut sizes = vec![chunk; parts];
    if let Some(l) = sizes.last_mut() {
        *l = last;
    }
    Ok(sizes)
}

/// Importer: Slice (attributes before opset 10, constant inputs after).
pub(crate) fn import_slice(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let rank = cx.ty(x).rank();
    let (starts, ends, axes, steps) = if cx.opset() < 10 {
        let a = &cx.attrs;
        (
            a.req_ints("starts")?.to_vec(),
            a.req_ints("ends")?.to_vec(),
            a.ints("axes")?.map(<[i64]>::to_vec),
            None,
        )
    } else {
        let need = |i: usize, role: &str| {
            cx.const_ints(i, role)?
                .ok_or_else(|| cx.invalid(format!("required input #{i} (`{role}`) is missing")))
        };
        (
            need(1, "starts")?,
            need(2, "ends")?,
            cx.const_ints(3, "axes")?,
            cx.const_ints(4, "steps")?,
        )
    };
    let n = starts.len();
    let axes = axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(cx.invalid(format!(
            "starts {starts:?}, ends {ends:?}, axes {axes:?} and steps {steps:?} should have the same length"
        )));
    }
    if steps.contains(&0) {
        return Err(cx.invalid(format!("steps {steps:?} contain 0")));
    }
    let axes = cx.input_axes("axes", &axes, rank)?;
    let attrs = Attrs::new()
        .with("starts", Attr::Ints(starts))
        .with("ends", Attr::Ints(ends))
        .with("axes", ints(axes))
        .with("steps", Attr::Ints(steps));
    Ok(vec![cx.emit(OpKind::Slice, attrs, vec![x])?])
}

/// Importer: Gather.
pub(crate) fn import_gather(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let data = cx.input(0, "data")?;
    let indices = cx.input(1, "indices")?;
    let axis = cx.attrs.int_or("axis", 0)?;
    let axis = cx.attr_axis("axis", axis, cx.ty(data).rank())?;
    let attrs = Attrs::new().with("axis", Attr::Int(axis as i64));
    Ok(vec![cx.emit(OpKind::Gather, attrs, vec![data, indices])?])
}

/// Importer: Pad (attributes before opset 11; constant inputs after, `axes` from 18).
pub(crate) fn import_pad(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let rank = cx.ty(x).rank();
    let mode = cx.attrs.string_or("mode", "constant")?;
    match mode.as_str() {
        "constant" | "reflect" | "edge" | "wrap" => {}
        other => {
            return Err(cx.attr_err(
                "mode",
                format!("`{other}` is not one of constant, reflect, edge, wrap"),
            ))
        }
    }
    let (pads, value) = if cx.opset() < 11 {
        (cx.attrs.req_ints("pads")?.to_vec(), f64::from(cx.attrs.float_or("value", 0.0)?))
    } else {
        let pads = cx
            .const_ints(1, "pads")?
            .ok_or_else(|| cx.invalid("required input #1 (`pads`) is missing"))?;
        let value = match cx.const_input(2, "constant_value")? {
            Some(t) if t.numel() == 0 => 0.0,
            Some(_) => cx.const_scalar(2, "constant_value")?.unwrap_or(0.0),
            None => 0.0,
        };
        (pads, value)
    };
    let axes = match cx.const_ints(3, "axes")? {
        Some(a) => cx.input_axes("axes", &a, rank)?,
        None => (0..rank).collect(),
    };
    if pads.len() != 2 * axes.len() {
        return Err(cx.invalid(format!(
            "pads {pads:?} should have {} entries (begins and ends of {} axes)",
            2 * axes.len(),
            axes.len()
        )));
    }
    let mut full = vec![0i64; 2 * rank];
    for (i, &a) in axes.iter().enumerate() {
        full[a] = pads[i];
        full[rank + a] = pads[axes.len() + i];
    }
    let attrs = Attrs::new()
        .with("pads", Attr::Ints(full))
        .with("mode", Attr::Str(mode))
        .with("value", Attr::Float(value as f32));
    Ok(vec![cx.emit(OpKind::Pad, attrs, vec![x])?])
}

/// Importer: Identity.
pub(crate) fn import_identity(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "input")?;
    Ok(vec![cx.emit(OpKind::Identity, Attrs::new(), vec![x])?])
}

/// Importer: Dropout (inference: identity; the mask, if read, is all true).
pub(crate) fn import_dropout(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    if cx.opset() >= 12 {
        let training = cx.const_scalar(2, "training_mode")?.is_some_and(|t| t != 0.0);
        let ratio = cx.const_scalar(1, "ratio")?.unwrap_or(0.5);
        if training && ratio != 0.0 {
            return Err(
                cx.unsupported(format!("training_mode=true with ratio {ratio} (random dropout)"))
            );
        }
    }
    let y = cx.emit(OpKind::Identity, Attrs::new(), vec![x])?;
    if !cx.output_used(1) {
        return Ok(vec![y]);
    }
    // Dropout-7 gives the mask the input's type; from opset 10 it is bool.
    let dtype = if cx.opset() >= 10 { DType::Bool } else { cx.ty(x).dtype };
    let ty = TensorType::new(dtype, cx.ty(x).shape.clone());
    cx.reserve_const(&ty, "the Dropout mask")?;
    let one = Tensor::new([1], asplit_ir::TensorData::Bool(vec![true]))
        .map_err(|e| cx.invalid(e.to_string()))?
        .cast(dtype);
    let mask = splat_like(&one, &ty).map_err(|e| cx.invalid(e))?;
    Ok(vec![y, cx.add_const(mask)])
}

/// Importer: Cast; `saturate` (opset 19) and `round_mode` (opset 24) only matter for the
/// float8 targets and pass through.
pub(crate) fn import_cast(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "input")?;
    let to = cx.attrs.req_int("to")?;
    let to = i32::try_from(to)
        .map_err(|_| cx.attr_err("to", format!("{to} is not an ONNX element type")))
        .and_then(|code| {
            dtype_from_onnx(code).map_err(|dtype| ImportError::UnsupportedDtype {
                what: format!("attribute `to` of {}", cx.loc),
                dtype,
            })
        })?;
    let saturate = cx.attrs.int_or("saturate", 1)?;
    if !matches!(saturate, 0 | 1) {
        return Err(cx.attr_err("saturate", format!("{saturate} is not 0 or 1")));
    }
    let round_mode = cx.attrs.choice("round_mode", "up", &["up", "down", "nearest"])?;
    let attrs = Attrs::new()
        .with("to", Attr::DType(to))
        .with("saturate", Attr::Int(saturate))
        .with("round_mode", Attr::Str(round_mode));
    Ok(vec![cx.emit(OpKind::Cast, attrs, vec![x])?])
}
