//! QuantizeLinear and DequantizeLinear, per tensor or per axis.
//!
//! QuantizeLinear's result type (`to`) is the zero point's dtype, else `output_dtype`
//! (opset 21), else uint8; only uint8 and int8 exist in the IR. Blocked quantization
//! (`block_size`), a division `precision` other than the scale's, and a DequantizeLinear
//! `output_dtype` other than the scale's are explicit errors. `saturate` only concerns
//! float8 and is ignored.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::super::tensor::{dtype_from_onnx, dtype_to_onnx, onnx_dtype_name};
use asplit_ir::{Attr, Attrs, DType, OpKind, ValueId};

/// Operands and the normalized axis shared by both ops.
fn operands(cx: &NodeCx, roles: [&str; 3]) -> Result<(Vec<ValueId>, i64), ImportError> {
    let x = cx.input(0, roles[0])?;
    let scale = cx.input(1, roles[1])?;
    let mut inputs = vec![x, scale];
    inputs.extend(cx.opt_input(2));
    let block = cx.attrs.int_or("block_size", 0)?;
    if block != 0 {
        return Err(cx.unsupported(format!("blocked quantization (block_size={block})")));
    }
    let axis = cx.attrs.int_or("axis", 1)?;
    let rank = cx.ty(x).rank();
    // The axis only matters for a 1-D scale (per-axis); per-tensor keeps any valid value.
    let axis = if cx.ty(scale).rank() == 0 {
        super::super::cx::normalize_axis(axis, rank).unwrap_or(0) as i64
    } else {
        cx.attr_axis("axis", axis, rank)? as i64
    };
    Ok((inputs, axis))
}

/// Importer: QuantizeLinear.
pub(crate) fn import_quantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let (inputs, axis) = operands(cx, ["x", "y_scale", "y_zero_point"])?;
    let scale_dtype = cx.ty(inputs[1]).dtype;
    let precision = cx.attrs.int_or("precision", 0)?;
    if precision != 0 && precision != i64::from(dtype_to_onnx(scale_dtype)) {
        return Err(cx.unsupported(format!(
            "precision {} (the division is done in the scale's type)",
            code_name(precision)
        )));
    }
    let out = cx.attrs.int_or("output_dtype", 0)?;
    let to = match (inputs.get(2), out) {
        (Some(&zp), 0) => cx.ty(zp).dtype,
        (Some(&zp), o) => {
            let zp = cx.ty(zp).dtype;
            if o != i64::from(dtype_to_onnx(zp)) {
                return Err(cx.attr_err(
                    "output_dtype",
                    format!("{} disagrees with the zero point's type {zp}", code_name(o)),
                ));
            }
            zp
        }
        (None, 0) => DType::U8,
        (None, o) => {
            i32::try_from(o).ok().and_then(|c| dtype_from_onnx(c).ok()).ok_or_else(|| {
                ImportError::UnsupportedDtype {
                    what: format!("attribute `output_dtype` of {}", cx.loc),
                    dtype: code_name(o),
                }
            })?
        }
    };
    if !matches!(to, DType::U8 | DType::I8) {
        return Err(cx.unsupported(format!("quantizing to {to} (only uint8 and int8)")));
    }
    let attrs = Attrs::new().with("axis", Attr::Int(axis)).with("to", Attr::DType(to));
    Ok(vec![cx.emit(OpKind::QuantizeLinear, attrs, inputs)?])
}

/// Importer: DequantizeLinear.
pub(crate) fn import_dequantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let (inputs, axis) = operands(cx, ["x", "x_scale", "x_zero_point"])?;
    let scale_dtype = cx.ty(inputs[1]).dtype;
    let out = cx.attrs.int_or("output_dtype", 0)?;
    if out != 0 && out != i64::from(dtype_to_onnx(scale_dtype)) {
        return Err(cx.unsupported(format!(
            "output_dtype {} different from the scale's type {scale_dtype}",
            code_name(out)
        )));
    }
    let attrs = Attrs::new().with("axis", Attr::Int(axis));
    Ok(vec![cx.emit(OpKind::DequantizeLinear, attrs, inputs)?])
}

fn code_name(code: i64) -> String {
    i32::try_from(code).map(onnx_dtype_name).unwrap_or_else(|_| format!("unknown ({code})"))
}
