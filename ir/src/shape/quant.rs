//! Shape rules of `quantize_linear` and `dequantize_linear` (ONNX QuantizeLinear /
//! DequantizeLinear, per tensor or per axis; blocked quantization is not part of the IR).
//!
//! The scale is per tensor when it has one element and rank ≤ 1, otherwise it is 1-d with
//! one entry per element of `x` along `axis` (which is only checked in that case, as in
//! ONNX). The zero point, when present, has the scale's shape and the quantized dtype.
//! Quantize gives dtype `to` (u8 or i8); dequantize gives the scale's dtype. Nothing here
//! computes values.

use super::{ShapeCx, ShapeError, ShapeResult};
use crate::types::{DType, TensorType};

/// Checks the scale operand (1) against `x` (0) and `axis`, and the optional zero point (2)
/// against the scale's shape and `zp_dtype`.
fn check_params(cx: &ShapeCx, zp_dtype: DType) -> Result<(), ShapeError> {
    let (x, scale) = (cx.input(0)?, cx.input(1)?);
    cx.expect_float(1)?;
    let per_tensor = scale.numel() == 1 && scale.rank() <= 1;
    if !per_tensor {
        let axis = cx.axis_attr("axis", x.rank())?;
        let n = x.shape.get(axis).copied().unwrap_or(0);
        if scale.shape != [n] {
            return Err(cx.err(format!(
                "operand `scale` has shape {:?}, expected a scalar (per tensor) or [{n}] (per \
                 axis: one entry per element of `x` {:?} along axis {axis})",
                scale.shape, x.shape
            )));
        }
    }
    if let Some(zp) = cx.opt_input(2) {
        if zp.dtype != zp_dtype {
            return Err(
                cx.err(format!("operand `zero_point` is {}, expected {zp_dtype}", zp.dtype))
            );
        }
        if zp.shape != scale.shape {
            return Err(cx.err(format!(
                "operand `zero_point` has shape {:?}, expected the shape of `scale` {:?}",
                zp.shape, scale.shape
            )));
        }
    }
    Ok(())
}

/// `quantize_linear`: float (or i32) `x` → dtype `to` (u8 or i8), same shape.
pub fn quantize_linear(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    if !(x.dtype.is_float() || x.dtype == DType::I32) {
        return Err(cx.err(format!("operand `x` is {}, expected f32, f64, f16 or i32", x.dtype)));
    }
    let to = cx.dtype("to")?;
    if !matches!(to, DType::U8 | DType::I8) {
        return Err(cx.err(format!("attribute `to` is {to}, expected u8 or i8")));
    }
    check_params(cx, to)?;
    cx.one(TensorType::new(to, x.shape.clone()))
}

/// `dequantize_linear`: u8, i8 or i32 `x` → the scale's dtype, same shape.
pub fn dequantize_linear(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    if !matches!(x.dtype, DType::U8 | DType::I8 | DType::I32) {
        return Err(cx.err(format!("operand `x` is {}, expected u8, i8 or i32", x.dtype)));
    }
    check_params(cx, x.dtype)?;
    cx.one(TensorType::new(cx.input(1)?.dtype, x.shape.clone()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;

    fn q(to: DType) -> Attrs {
        Attrs::new().with("to", Attr::DType(to))
    }

    #[test]
    fn quantize_shapes() {
        let x = f(&[1, 3, 4, 4]);
        let out = run(OpKind::QuantizeLinear, &[x.clone(), f(&[])], q(DType::U8)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[1, 3, 4, 4])]);
        let ins = [x.clone(), f(&[3]), t(DType::I8, &[3])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::I8)).unwrap();
        assert_eq!(out, vec![t(DType::I8, &[1, 3, 4, 4])]);
        let ins = [x.clone(), f(&[4]), t(DType::I8, &[4])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::I8).with("axis", Attr::Int(-1)));
        assert_eq!(out.unwrap(), vec![t(DType::I8, &[1, 3, 4, 4])]);
        // A one-element scale is per tensor, whatever the axis says.
        let ins = [f(&[]), f(&[1]), t(DType::U8, &[1])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::U8)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[])]);
    }

    #[test]
    fn quantize_errors() {
        let x = f(&[1, 3, 4, 4]);
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[4])],
            q(DType::U8),
            &["quantize_linear: operand `scale` has shape [4], expected a scalar (per tensor) or \
               [3]"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[]), t(DType::I8, &[])],
            q(DType::U8),
            &["operand `zero_point` is i8, expected u8"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[3]), t(DType::U8, &[])],
            q(DType::U8),
            &["operand `zero_point` has shape [], expected the shape of `scale` [3]"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[])],
            q(DType::I32),
            &["attribute `to` is i32, expected u8 or i8"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), t(DType::I64, &[])],
            q(DType::U8),
            &["operand `scale` is i64, expected a float dtype"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[t(DType::U8, &[2]), f(&[])],
            q(DType::U8),
            &["operand `x` is u8, expected f32, f64, f16 or i32"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x, f(&[3])],
            q(DType::U8).with("axis", Attr::Int(4)),
            &["attribute `axis` = 4 is out of range for rank 4"],
        );
    }

    #[test]
    fn dequantize_shapes() {
        let x = t(DType::U8, &[2, 3]);
        let out = run(OpKind::DequantizeLinear, &[x.clone(), f(&[])], Attrs::new()).unwrap();
        assert_eq!(out, vec![f(&[2, 3])]);
        let ins = [x.clone(), t(DType::F16, &[2]), t(DType::U8, &[2])];
        let out = run(OpKind::DequantizeLinear, &ins, Attrs::new().with("axis", Attr::Int(0)));
        assert_eq!(out.unwrap(), vec![t(DType::F16, &[2, 3])]);
        let ins = [t(DType::I32, &[5]), f(&[5])];
        let out = run(OpKind::DequantizeLinear, &ins, Attrs::new().with("axis", Attr::Int(0)));
        assert_eq!(out.unwrap(), vec![f(&[5])]);
    }

    #[test]
    fn dequantize_errors() {
        expect_err(
            OpKind::DequantizeLinear,
            &[f(&[2, 3]), f(&[])],
            Attrs::new(),
            &["dequantize_linear: operand `x` is f32, expected u8, i8 or i32"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[t(DType::I8, &[2, 3]), f(&[]), t(DType::U8, &[])],
            Attrs::new(),
            &["operand `zero_point` is u8, expected i8"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[t(DType::I8, &[2, 3]), f(&[2])],
            Attrs::new(),
            &["operand `scale` has shape [2], expected a scalar (per tensor) or [3]"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[t(DType::I8, &[2, 3])],
            Attrs::new(),
            &["takes 2 to 3 operand(s), found 1"],
        );
    }
}
