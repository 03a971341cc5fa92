//! QuantizeLinear and DequantizeLinear as exact integer/float arithmetic, per tensor (a
//! one-element scale) or per axis (a 1-d scale along `axis`). Blocked quantization (scale
//! of rank > 1) is not supported.
//!
//! Quantize: `q = saturate(round_half_even(x / scale) + zero_point)` to u8 or i8, where the
//! division is done in x's precision (f32, f64, or f16 rounding), as ONNX does; i32 inputs
//! divide in f64. Dequantize: `(q − zero_point) · scale` from u8, i8 or i32, computed in
//! f32 (f64 when the scale is f64) and returned in the scale's dtype.

use super::common::{input, invalid, make, norm_axis, numel, opt_input, unsupported, KResult};
use super::{EvalCx, InterpError};
use crate::tensor::{Tensor, TensorData};
use crate::types::DType;
use half::f16;

/// Maps an element offset of the operand to the offset of its scale / zero point.
struct ParamMap {
    per_axis: bool,
    dim: usize,
    inner: usize,
}

impl ParamMap {
    fn new(cx: &EvalCx, x: &Tensor, p: &Tensor) -> Result<ParamMap, InterpError> {
        if p.numel() == 1 {
            return Ok(ParamMap { per_axis: false, dim: 1, inner: 1 });
        }
        let shape = x.shape();
        let axis = norm_axis(cx, cx.attrs.int("axis")?, shape.len())?;
        if p.shape().len() != 1 {
            return Err(unsupported(cx, format!("blocked quantization (scale {:?})", p.shape())));
        }
        if p.numel() != shape[axis] {
            return Err(invalid(cx, format!("{} scales for axis {axis} of {shape:?}", p.numel())));
        }
        Ok(ParamMap { per_axis: true, dim: shape[axis], inner: numel(&shape[axis + 1..]) })
    }

    fn index(&self, i: usize) -> usize {
        if self.per_axis {
            (i / self.inner.max(1)) % self.dim.max(1)
        } else {
            0
        }
    }
}

/// Zero points as i64 (all zero when absent); their dtype must be `want`.
fn zero_points(cx: &EvalCx, want: DType, map_len: usize) -> Result<Vec<i64>, InterpError> {
    match opt_input(cx, 2) {
        None => Ok(vec![0; map_len]),
        Some(z) if z.dtype() == want => Ok(z.data().to_i64_vec()),
        Some(z) => Err(invalid(cx, format!("zero point is {}, expected {want}", z.dtype()))),
    }
}

/// `x / s` in the precision ONNX uses for x's dtype.
fn quotients(cx: &EvalCx, x: &Tensor, s: &Tensor, map: &ParamMap) -> Result<Vec<f64>, InterpError> {
    let sf = s.data().to_f64_vec();
    let scale = |i: usize| sf.get(map.index(i)).copied().unwrap_or(f64::NAN);
    Ok(match x.data() {
        TensorData::F32(v) => {
            v.iter().enumerate().map(|(i, &a)| (a / scale(i) as f32) as f64).collect()
        }
        TensorData::F64(v) => v.iter().enumerate().map(|(i, &a)| a / scale(i)).collect(),
        TensorData::F16(v) => v
            .iter()
            .enumerate()
            .map(|(i, a)| f16::from_f32(a.to_f32() / scale(i) as f32).to_f64())
            .collect(),
        TensorData::I32(v) => v.iter().enumerate().map(|(i, &a)| a as f64 / scale(i)).collect(),
        other => return Err(unsupported(cx, format!("quantizing {}", other.dtype()))),
    })
}

/// QuantizeLinear to the `to` dtype (u8 or i8).
pub fn quantize_linear(cx: &EvalCx) -> KResult {
    let (x, s) = (input(cx, 0)?, input(cx, 1)?);
    let to = cx.attrs.dtype("to")?;
    let (lo, hi) = match to {
        DType::U8 => (0i64, 255i64),
        DType::I8 => (-128, 127),
        d => return Err(unsupported(cx, format!("quantizing to {d}"))),
    };
    if !s.dtype().is_float() {
        return Err(invalid(cx, format!("scale is {}, expected a float dtype", s.dtype())));
    }
    let map = ParamMap::new(cx, x, s)?;
    let zp = zero_points(cx, to, s.numel())?;
    if zp.len() != s.numel() {
        return Err(invalid(cx, "zero point and scale differ in size"));
    }
    let q = quotients(cx, x, s, &map)?;
    let vals = q.iter().enumerate().map(|(i, &v)| {
        let z = zp.get(map.index(i)).copied().unwrap_or(0);
        (v.round_ties_even() as i64).saturating_add(z).clamp(lo, hi)
    });
    let data = match to {
        DType::U8 => TensorData::U8(vals.map(|v| v as u8).collect()),
        _ => TensorData::I8(vals.map(|v| v as i8).collect()),
    };
    Ok(vec![make(cx, x.shape().to_vec(), data)?])
}

/// DequantizeLinear; the result has the scale's dtype.
pub fn dequantize_linear(cx: &EvalCx) -> KResult {
    let (x, s) = (input(cx, 0)?, input(cx, 1)?);
    if !matches!(x.dtype(), DType::U8 | DType::I8 | DType::I32) {
        return Err(unsupported(cx, format!("dequantizing {}", x.dtype())));
    }
    let map = ParamMap::new(cx, x, s)?;
    let zp = zero_points(cx, x.dtype(), s.numel())?;
    if zp.len() != s.numel() {
        return Err(invalid(cx, "zero point and scale differ in size"));
    }
    let q = x.data().to_i64_vec();
    let sf = s.data().to_f64_vec();
    // (q − zp) in f32, as the ONNX reference computes it.
    let diff = |i: usize, v: i64| v as f32 - zp.get(map.index(i)).copied().unwrap_or(0) as f32;
    let sc = |i: usize| sf.get(map.index(i)).copied().unwrap_or(f64::NAN);
    let it = q.iter().enumerate();
    let data = match s.dtype() {
        DType::F32 => TensorData::F32(it.map(|(i, &v)| diff(i, v) * sc(i) as f32).collect()),
        DType::F16 => {
            TensorData::F16(it.map(|(i, &v)| f16::from_f32(diff(i, v) * sc(i) as f32)).collect())
        }
        DType::F64 => TensorData::F64(it.map(|(i, &v)| diff(i, v) as f64 * sc(i)).collect()),
        d => return Err(invalid(cx, format!("scale is {d}, expected a float dtype"))),
    };
    Ok(vec![make(cx, x.shape().to_vec(), data)?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::Attr;
    use crate::ops::OpKind;
    use crate::tensor::TensorData;
    use crate::types::{DType, TensorType};

    #[test]
    fn quantize_rounds_half_to_even_and_saturates() {
        let x = f32t(&[7], &[0.5, 1.5, 2.5, -2.5, 1000.0, -1000.0, 0.26]);
        let s = f32t(&[], &[0.5]);
        let z = tensor(&[], TensorData::U8(vec![10]));
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::U8))]);
        let y = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::U8, &[7]);
        assert_eq!(y.data(), &TensorData::U8(vec![11, 13, 15, 5, 255, 0, 11]));
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::I8))]);
        let y = run1(OpKind::QuantizeLinear, &a, &[&x, &s], DType::I8, &[7]);
        assert_eq!(y.data(), &TensorData::I8(vec![1, 3, 5, -5, 127, -128, 1]));
    }

    #[test]
    fn per_axis_quantize_and_dequantize() {
        let x = f32t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let s = f32t(&[2], &[1.0, 2.0]);
        let z = tensor(&[2], TensorData::I8(vec![0, -1]));
        let a = attrs(&[("axis", Attr::Int(0)), ("to", Attr::DType(DType::I8))]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::I8, &[2, 2]);
        assert_eq!(q.data(), &TensorData::I8(vec![1, 2, 1, 1]));
        let a = attrs(&[("axis", Attr::Int(0))]);
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s, &z], DType::F32, &[2, 2]);
        assert_eq!(vals(&d), vec![1.0, 2.0, 4.0, 4.0]);
    }

    #[test]
    fn dequantize_int32_and_rejects_blocked_scales() {
        let q = tensor(&[3], TensorData::I32(vec![-3, 0, 100]));
        let s = f32t(&[], &[0.25]);
        let a = attrs(&[("axis", Attr::Int(1))]);
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s], DType::F32, &[3]);
        assert_eq!(vals(&d), vec![-0.75, 0.0, 25.0]);
        let q = tensor(&[2, 2], TensorData::U8(vec![1, 2, 3, 4]));
        let blocked = f32t(&[2, 1], &[1.0, 2.0]);
        let outs = [TensorType::new(DType::F32, [2, 2])];
        let err = try_run(OpKind::DequantizeLinear, &a, &[&q, &blocked], &outs).unwrap_err();
        assert!(err.to_string().contains("blocked"), "{err}");
    }
}
