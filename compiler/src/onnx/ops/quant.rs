//! QuantizeLinear and DequantizeLinear, per tensor, per axis or blocked (`block_size`).
//!
//! QuantizeLinear's result type (`to`) is the zero point's dtype, else `output_dtype`
//! (opset 21), else uint8; it may be any quantized type the IR has (uint8, int8, uint16,
//! int16, uint4, int4, uint2, int2, the float8 types but e8m0, float4e2m1). `saturate`
//! (float8 only) and `block_size` pass through. A division `precision` other than the
//! scale's type and a DequantizeLinear `output_dtype` other than the scale's are explicit
//! errors.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::super::tensor::{dtype_from_onnx, dtype_to_onnx, onnx_dtype_name};
use asplit_ir::shape::quant::is_quantized_dtype;
use asplit_ir::{Attr, Attrs, DType, OpKind, ValueId};

/// Operands and the attributes shared by both ops (`axis`, `block_size`).
fn operands(cx: &NodeCx, roles: [&str; 3]) -> Result<(Vec<ValueId>, Attrs), ImportError> {
    let x = cx.input(0, roles[0])?;
    let scale = cx.input(1, roles[1])?;
    let mut inputs = vec![x, scale];
    inputs.extend(cx.opt_input(2));
    let block = cx.attrs.int_or("block_size", 0)?;
    if block < 0 {
        return Err(cx.attr_err("block_size", format!("{block} is negative")));
    }
    let axis = cx.attrs.int_or("axis", 1)?;
    let rank = cx.ty(x).rank();
    // The axis only matters for a scale that is not a scalar (per axis or blocked);
    // per-tensor keeps any valid value.
    let axis = if cx.ty(scale).rank() == 0 {
        super::super::cx::normalize_axis(axis, rank).unwrap_or(0) as i64
    } else {
        cx.attr_axis("axis", axis, rank)? as i64
    };
    let attrs = Attrs::new().with("axis", Attr::Int(axis)).with("block_size", Attr::Int(block));
    Ok((inputs, attrs))
}

/// Importer: QuantizeLinear.
pub(crate) fn import_quantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let (inputs, attrs) = operands(cx, ["x", "y_scale", "y_zero_point"])?;
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
    if !is_quantized_dtype(to) {
        return Err(cx.unsupported(format!("quantizing to {to}")));
    }
    let saturate = cx.attrs.int_or("saturate", 1)?;
    if !matches!(saturate, 0 | 1) {
        return Err(cx.attr_err("saturate", format!("{saturate} is not 0 or 1")));
    }
    let attrs = attrs.with("to", Attr::DType(to)).with("saturate", Attr::Int(saturate));
    Ok(vec![cx.emit(OpKind::QuantizeLinear, attrs, inputs)?])
}

/// Importer: DequantizeLinear.
pub(crate) fn import_dequantize_linear(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let (inputs, attrs) = operands(cx, ["x", "x_scale", "x_zero_point"])?;
    let scale_dtype = cx.ty(inputs[1]).dtype;
    let out = cx.attrs.int_or("output_dtype", 0)?;
    if out != 0 && out != i64::from(dtype_to_onnx(scale_dtype)) {
        return Err(cx.unsupported(format!(
            "output_dtype {} different from the scale's type {scale_dtype}",
            code_name(out)
        )));
    }
    Ok(vec![cx.emit(OpKind::DequantizeLinear, attrs, inputs)?])
}

fn code_name(code: i64) -> String {
    i32::try_from(code).map(onnx_dtype_name).unwrap_or_else(|_| format!("unknown ({code})"))
}
