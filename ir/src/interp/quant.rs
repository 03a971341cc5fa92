//! QuantizeLinear and DequantizeLinear as exact integer/float arithmetic, per tensor (a
//! one-element scale), per axis (a 1-d scale along `axis`) or blocked (`block_size` B > 0: a
//! scale of `x`'s rank with ceil(n / B) entries along `axis`, each covering B consecutive
//! elements).
//!
//! Quantize: `x / scale` is computed in x's precision (f32, f64, or f16/bf16 rounding), as
//! ONNX does; i32 inputs divide in f64. To an integer type (u8, i8, u16, i16, u4, i4, u2,
//! i2): `q = clamp(round_half_even(x / scale) + zero_point)` to the type's range. To a coded
//! float (f8e4m3fn, f8e4m3fnuz, f8e5m2, f8e5m2fnuz, f4e2m1): the ONNX formula
//! `y = convert(x / scale + zero_point)`, the sum computed in f32 and rounded to x's
//! precision (f64 for f64 and i32 inputs), then rounded to the nearest code, out-of-range
//! values saturating to ±max when `saturate` is 1 (see [`crate::coded`]); without a zero
//! point nothing is added (so −0 stays −0). Dequantize: `(q − zero_point) · scale` from any
//! of those types or i32, the difference computed in f32 (coded floats and their zero points
//! decode exactly), the product in f32 (f64 when the scale is f64) and returned in the
//! scale's dtype.
//!
//! A nonzero coded-float zero point follows that formula. ONNX's reference implementation
//! (onnx 1.23) is not consistent there: it rejects a nonzero float8 zero point in
//! DequantizeLinear, ignores the zero point when quantizing to float8 and when dequantizing
//! float4, and adds it when quantizing to float4; the formula is the operator spec's ("the
//! quantization formula remains the same for consistency"). e8m0 is not a quantized type.

use super::common::{input, invalid, make, norm_axis, numel, opt_input, unsupported, KResult};
use super::{EvalCx, InterpError};
use crate::coded::{bf16_from_f64, CastOptions, CodedType, RoundMode};
use crate::tensor::{Tensor, TensorData};
use crate::types::DType;
use half::{bf16, f16};

/// Maps an element offset of the operand to the offset of its scale / zero point.
enum ParamMap {
    /// One scale.
    PerTensor,
    /// One scale per index along the axis (`dim` of them), `inner` elements apart.
    PerAxis { dim: usize, inner: usize },
    /// Scales of `x`'s shape with `sdim` entries along the axis, one per `block` indices.
    Blocked { dim: usize, inner: usize, block: usize, sdim: usize },
}

impl ParamMap {
    fn new(cx: &EvalCx, x: &Tensor, p: &Tensor) -> Result<ParamMap, InterpError> {
        if p.numel() == 1 && p.shape().len() <= 1 {
            return Ok(ParamMap::PerTensor);
        }
        let shape = x.shape();
        let axis = norm_axis(cx, cx.attrs.int("axis")?, shape.len())?;
        let (dim, inner) = (shape[axis], numel(&shape[axis + 1..]));
        let block = block_size(cx)?;
        if block == 0 {
            if p.shape() != [dim] {
                return Err(invalid(
                    cx,
                    format!("scale {:?} for axis {axis} of {shape:?}", p.shape()),
                ));
            }
            return Ok(ParamMap::PerAxis { dim, inner });
        }
        let sdim = dim.div_ceil(block);
        let mut want = shape.to_vec();
        want[axis] = sdim;
        if p.shape() != want.as_slice() {
            let msg = format!("blocked scale {:?} for {shape:?}, block {block}", p.shape());
            return Err(invalid(cx, msg));
        }
        Ok(ParamMap::Blocked { dim, inner, block, sdim })
    }

    /// The scale offset of element `i` of `x`.
    fn index(&self, i: usize) -> usize {
        match *self {
            ParamMap::PerTensor => 0,
            ParamMap::PerAxis { dim, inner } => (i / inner.max(1)) % dim.max(1),
            ParamMap::Blocked { dim, inner, block, sdim } => {
                let inner = inner.max(1);
                let (outer, j, k) = (i / inner / dim.max(1), (i / inner) % dim.max(1), i % inner);
                (outer * sdim + j / block) * inner + k
            }
        }
    }
}

/// The `block_size` attribute (0 when absent: hand-built attributes may omit it).
fn block_size(cx: &EvalCx) -> Result<usize, InterpError> {
    let b = match cx.attrs.get("block_size") {
        Some(_) => cx.attrs.int("block_size")?,
        None => 0,
    };
    usize::try_from(b).map_err(|_| invalid(cx, format!("block_size = {b}")))
}

/// Zero points as values (decoded for the coded floats), `None` when absent; their dtype
/// must be `want`.
fn zero_points(cx: &EvalCx, want: DType) -> Result<Option<Vec<f64>>, InterpError> {
    match opt_input(cx, 2) {
        None => Ok(None),
        Some(z) if z.dtype() != want => {
            Err(invalid(cx, format!("zero point is {}, expected {want}", z.dtype())))
        }
        Some(z) => Ok(Some(z.data().to_f64_vec())),
    }
}

/// Checks that the zero points (if any) pair with the scales one to one.
fn check_zero_points(cx: &EvalCx, zp: Option<&[f64]>, s: &Tensor) -> Result<(), InterpError> {
    match zp {
        Some(z) if z.len() != s.numel() => Err(invalid(cx, "zero point and scale differ in size")),
        _ => Ok(()),
    }
}

/// `q + z` for a quotient `q` of x's precision: added in f32 and rounded to x's precision
/// (f16, bf16 or f32; exact rounding of the sum, as f32 has over twice their digits), or
/// added in f64 for f64 and i32 inputs.
fn add_in_precision(x: DType, q: f64, z: f64) -> f64 {
    let sum32 = || q as f32 + z as f32;
    match x {
        DType::F32 => f64::from(sum32()),
        DType::F16 => f16::from_f32(sum32()).to_f64(),
        DType::BF16 => bf16::from_f32(sum32()).to_f64(),
        _ => q + z,
    }
}

/// `x / s` in the precision ONNX uses for x's dtype.
fn quotients(cx: &EvalCx, x: &Tensor, s: &Tensor, map: &ParamMap) -> Result<Vec<f64>, InterpError> {
    let sf = s.data().to_f64_vec();
    let scale = |i: usize| sf.get(map.index(i)).copied().unwrap_or(f64::NAN);
    let half = |i: usize, a: f32, round: fn(f32) -> f64| round(a / scale(i) as f32);
    Ok(match x.data() {
        TensorData::F32(v) => {
            v.iter().enumerate().map(|(i, &a)| (a / scale(i) as f32) as f64).collect()
        }
        TensorData::F64(v) => v.iter().enumerate().map(|(i, &a)| a / scale(i)).collect(),
        TensorData::F16(v) => v
            .iter()
            .enumerate()
            .map(|(i, a)| half(i, a.to_f32(), |q| f16::from_f32(q).to_f64()))
            .collect(),
        TensorData::BF16(v) => v
            .iter()
            .enumerate()
            .map(|(i, a)| half(i, a.to_f32(), |q| bf16::from_f32(q).to_f64()))
            .collect(),
        TensorData::I32(v) => v.iter().enumerate().map(|(i, &a)| a as f64 / scale(i)).collect(),
        other => return Err(unsupported(cx, format!("quantizing {}", other.dtype()))),
    })
}

/// What quantize produces: integers clamped to a range, or codes of a coded float.
enum Target {
    Int(i64, i64),
    Float(CodedType),
}

fn target(cx: &EvalCx, to: DType) -> Result<Target, InterpError> {
    let range = match to {
        DType::U8 => Some((0, 255)),
        DType::I8 => Some((-128, 127)),
        DType::U16 => Some((0, 65535)),
        DType::I16 => Some((-32768, 32767)),
        d => d.coded().and_then(CodedType::int_range),
    };
    match (range, to.coded()) {
        (Some((lo, hi)), _) => Ok(Target::Int(lo, hi)),
        (None, Some(c)) if c != CodedType::F8E8M0 => Ok(Target::Float(c)),
        _ => Err(unsupported(cx, format!("quantizing to {to}"))),
    }
}

/// QuantizeLinear to the `to` dtype.
pub fn quantize_linear(cx: &EvalCx) -> KResult {
    let (x, s) = (input(cx, 0)?, input(cx, 1)?);
    let to = cx.attrs.dtype("to")?;
    let target = target(cx, to)?;
    if !s.dtype().is_float() {
        return Err(invalid(cx, format!("scale is {}, expected a float dtype", s.dtype())));
    }
    let map = ParamMap::new(cx, x, s)?;
    let zp = zero_points(cx, to)?;
    check_zero_points(cx, zp.as_deref(), s)?;
    let z = |i: usize| zp.as_ref().map(|z| z.get(map.index(i)).copied().unwrap_or(0.0));
    let q = quotients(cx, x, s, &map)?;
    let data = match target {
        Target::Int(lo, hi) => {
            let vals = q.iter().enumerate().map(|(i, &v)| {
                let z = z(i).unwrap_or(0.0) as i64;
                (v.round_ties_even() as i64).saturating_add(z).clamp(lo, hi)
            });
            TensorData::I64(vals.collect()).cast(to)
        }
        Target::Float(c) => {
            let saturate = match cx.attrs.get("saturate") {
                Some(_) => cx.attrs.int("saturate")? != 0,
                None => true,
            };
            let opts = CastOptions { saturate, round_mode: RoundMode::Up };
            let sum = |i: usize, v: f64| z(i).map_or(v, |z| add_in_precision(x.dtype(), v, z));
            let codes = q.iter().enumerate().map(|(i, &v)| c.from_f64(sum(i, v), opts));
            TensorData::Codes(c, codes.collect())
        }
    };
    Ok(vec![make(cx, x.shape().to_vec(), data)?])
}

/// DequantizeLinear; the result has the scale's dtype.
pub fn dequantize_linear(cx: &EvalCx) -> KResult {
    let (x, s) = (input(cx, 0)?, input(cx, 1)?);
    let xd = x.dtype();
    if !(crate::shape::quant::is_quantized_dtype(xd) || xd == DType::I32) {
        return Err(unsupported(cx, format!("dequantizing {xd}")));
    }
    let map = ParamMap::new(cx, x, s)?;
    let zp = zero_points(cx, xd)?;
    check_zero_points(cx, zp.as_deref(), s)?;
    // (q − zp) in f32, as the ONNX reference computes it (coded floats decode exactly).
    let q = x.data().to_f64_vec();
    let sf = s.data().to_f64_vec();
    let z = |i: usize| zp.as_ref().and_then(|z| z.get(map.index(i)).copied()).unwrap_or(0.0);
    let diff = |i: usize, v: f64| v as f32 - z(i) as f32;
    let sc = |i: usize| sf.get(map.index(i)).copied().unwrap_or(f64::NAN);
    let y32 = || q.iter().enumerate().map(|(i, &v)| diff(i, v) * sc(i) as f32);
    let data = match s.dtype() {
        DType::F32 => TensorData::F32(y32().collect()),
        DType::F16 => TensorData::F16(y32().map(f16::from_f32).collect()),
        DType::BF16 => TensorData::BF16(y32().map(|v| bf16_from_f64(v as f64)).collect()),
        DType::F64 => {
            TensorData::F64(q.iter().enumerate().map(|(i, &v)| diff(i, v) as f64 * sc(i)).collect())
        }
        d => return Err(invalid(cx, format!("scale is {d}, expected a float dtype"))),
    };
    Ok(vec![make(cx, x.shape().to_vec(), data)?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::Attr;
    use crate::coded::CodedType;
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
    fn dequantize_int32() {
        let q = tensor(&[3], TensorData::I32(vec![-3, 0, 100]));
        let s = f32t(&[], &[0.25]);
        let a = attrs(&[("axis", Attr::Int(1))]);
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s], DType::F32, &[3]);
        assert_eq!(vals(&d), vec![-0.75, 0.0, 25.0]);
    }

    #[test]
    fn blocked_scales_cover_consecutive_elements() {
        // x [2, 5], blocks of 2 along axis 1: scale [2, 3], the last block holds one element.
        let x = f32t(&[2, 5], &[1.0, 2.0, 3.0, 4.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0]);
        let s = f32t(&[2, 3], &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0]);
        let z = tensor(&[2, 3], TensorData::I8(vec![0, 1, 2, 0, -1, -2]));
        let a = attrs(&[
            ("axis", Attr::Int(1)),
            ("block_size", Attr::Int(2)),
            ("to", Attr::DType(DType::I8)),
        ]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::I8, &[2, 5]);
        assert_eq!(q.data(), &TensorData::I8(vec![1, 2, 3, 3, 3, 1, 2, 1, 1, -1]));
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s, &z], DType::F32, &[2, 5]);
        assert_eq!(vals(&d), vec![1.0, 2.0, 4.0, 4.0, 5.0, 10.0, 20.0, 40.0, 40.0, 50.0]);
        let wrong = f32t(&[2, 2], &[1.0; 4]);
        let outs = [TensorType::new(DType::F32, [2, 5])];
        let err = try_run(OpKind::DequantizeLinear, &a, &[&q, &wrong], &outs).unwrap_err();
        assert!(err.to_string().contains("blocked scale [2, 2]"), "{err}");
    }

    #[test]
    fn low_bit_integers_clamp_to_their_range() {
        let x = f32t(&[5], &[-9.0, -2.5, 0.4, 6.6, 100.0]);
        let s = f32t(&[], &[1.0]);
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::I4))]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s], DType::I4, &[5]);
        assert_eq!(q.data().to_i64_vec(), vec![-8, -2, 0, 7, 7]);
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::U2))]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s], DType::U2, &[5]);
        assert_eq!(q.data().to_i64_vec(), vec![0, 0, 0, 3, 3]);
        let z = tensor(&[], TensorData::Codes(CodedType::U2, vec![1]));
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s, &z], DType::F32, &[5]);
        assert_eq!(vals(&d), vec![-1.0, -1.0, -1.0, 2.0, 2.0]);
    }

    #[test]
    fn float8_quantization_saturates_on_request() {
        let x = f32t(&[4], &[1.0, 3.3, 1000.0, -1e9]);
        let s = f32t(&[], &[2.0]);
        let sat = |v: i64| {
            attrs(&[
                ("axis", Attr::Int(1)),
                ("to", Attr::DType(DType::F8E4M3FN)),
                ("saturate", Attr::Int(v)),
            ])
        };
        let q = run1(OpKind::QuantizeLinear, &sat(1), &[&x, &s], DType::F8E4M3FN, &[4]);
        assert_eq!(q.data().to_f64_vec(), vec![0.5, 1.625, 448.0, -448.0]);
        let q = run1(OpKind::QuantizeLinear, &sat(0), &[&x, &s], DType::F8E4M3FN, &[4]);
        let back = q.data().to_f64_vec();
        assert!(back[2].is_nan() && back[3].is_nan(), "{back:?}");
        let d = run1(OpKind::DequantizeLinear, &sat(1), &[&q, &s], DType::F32, &[4]);
        assert_eq!(vals(&d)[..2], [1.0, 3.25]);
    }

    #[test]
    fn nonzero_float8_zero_point_follows_the_formula() {
        // zero point 1.0 (e4m3fn 0x38), scale 2: x / 2 + 1 = [1.5, 2.65, 501, −5e8 + 1]
        // → 1.5, 2.75 (nearest of 2.5 / 2.75), ±448 (saturated).
        let x = f32t(&[4], &[1.0, 3.3, 1000.0, -1e9]);
        let s = f32t(&[], &[2.0]);
        let z = tensor(&[], TensorData::Codes(CodedType::F8E4M3FN, vec![0x38]));
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::F8E4M3FN))]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::F8E4M3FN, &[4]);
        assert_eq!(q.data().to_f64_vec(), vec![1.5, 2.75, 448.0, -448.0]);
        // (q − 1) · 2.
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s, &z], DType::F32, &[4]);
        assert_eq!(vals(&d), vec![1.0, 3.5, 894.0, -898.0]);
    }

    #[test]
    fn float4_zero_point_and_the_sign_of_zero() {
        // zero point 0.5 (f4e2m1 0x1): 1.5, 2.5 → 2 (tie to the even mantissa), −2.5 → −2.
        let x = f32t(&[4], &[1.0, 2.0, -3.0, -0.0]);
        let s = f32t(&[], &[1.0]);
        let z = tensor(&[], TensorData::Codes(CodedType::F4E2M1, vec![0x1]));
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::F4E2M1))]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::F4E2M1, &[4]);
        assert_eq!(q.data(), &TensorData::Codes(CodedType::F4E2M1, vec![0x3, 0x4, 0xC, 0x1]));
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s, &z], DType::F32, &[4]);
        assert_eq!(vals(&d), vec![1.0, 1.5, -2.5, 0.0]);
        // −0 without a zero point stays −0 (code 0x8); a +0 zero point makes it +0.
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s], DType::F4E2M1, &[4]);
        assert_eq!(q.data(), &TensorData::Codes(CodedType::F4E2M1, vec![0x2, 0x4, 0xD, 0x8]));
        let z0 = tensor(&[], TensorData::Codes(CodedType::F4E2M1, vec![0x0]));
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z0], DType::F4E2M1, &[4]);
        assert_eq!(q.data().to_f64_vec()[3].to_bits(), 0.0f64.to_bits());
    }

    #[test]
    fn f16_quantize_adds_the_zero_point_in_f16() {
        // x = 1/16 + 2^−14 (an f16), scale 1, zero point 1: the sum 1.0625 + 2^−14 rounds in
        // f16 (step 2^−10) to the e4m3fn tie 1.0625, which goes to the even 1.0; in f32 it
        // stays above the tie and gives 1.125.
        let v = 0.0625 + 2f32.powi(-14);
        let one = half::f16::from_f32(1.0);
        let x = tensor(&[1], TensorData::F16(vec![half::f16::from_f32(v)]));
        let s = tensor(&[], TensorData::F16(vec![one]));
        let z = tensor(&[], TensorData::Codes(CodedType::F8E4M3FN, vec![0x38]));
        let a = attrs(&[("axis", Attr::Int(1)), ("to", Attr::DType(DType::F8E4M3FN))]);
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::F8E4M3FN, &[1]);
        assert_eq!(q.data().to_f64_vec(), vec![1.0]);
        let (x, s) = (f32t(&[1], &[v]), f32t(&[], &[1.0]));
        let q = run1(OpKind::QuantizeLinear, &a, &[&x, &s, &z], DType::F8E4M3FN, &[1]);
        assert_eq!(q.data().to_f64_vec(), vec![1.125]);
    }

    #[test]
    fn sixteen_bit_scales_and_results() {
        let q = tensor(&[2], TensorData::U16(vec![0, 65535]));
        let s = tensor(&[], TensorData::BF16(vec![half::bf16::from_f32(0.5)]));
        let a = attrs(&[("axis", Attr::Int(1))]);
        let d = run1(OpKind::DequantizeLinear, &a, &[&q, &s], DType::BF16, &[2]);
        assert_eq!(d.data().to_f64_vec(), vec![0.0, 32768.0]);
    }
}
