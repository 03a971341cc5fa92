//! Auto-Split quantization math: parameters, quantize/dequantize, bit packing, distortion.
//!
//! One definition (DESIGN.md §8) shared by calibration, the planner, the interpreter's
//! boundary ops and (later) the generated code, so that all of them compute identical codes:
//!
//! - asymmetric (unsigned, per tensor): `q = clamp(round(x / s) + z, 0, 2^b − 1)`,
//!   `x̂ = s·(q − z)`; the range always contains 0, so a post-Relu tensor gets `z = 0`;
//! - symmetric (signed, per tensor or per channel): `q = clamp(round(x / s), −2^(b−1)+1,
//!   2^(b−1)−1)`, `x̂ = s·q`;
//!
//! where `round` is round-half-to-even on the f32 quotient `x / s` (a division, not a multiply
//! by the reciprocal: generated code must do the same). Codes are packed LSB-first, densely,
//! with no padding between elements; signed codes are stored as their low `b` bits (two's
//! complement) and sign-extended when unpacked.
//!
//! This file does not decide bit-widths (the planner does) nor where quantization happens
//! in a graph (the `insert-boundary` pass does).

use thiserror::Error;

/// The bit-widths an edge tensor may take.
pub const EDGE_BITS: [u8; 7] = [2, 3, 4, 5, 6, 7, 8];

/// How a tensor is quantized.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Unsigned codes with a zero point (activations).
    Asymmetric,
    /// Signed codes, zero point 0, symmetric range (weights).
    Symmetric,
}

impl Scheme {
    /// The name used in the text form and in plan.json.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Asymmetric => "asym",
            Scheme::Symmetric => "sym",
        }
    }

    /// Parses [`Scheme::name`].
    pub fn from_name(s: &str) -> Option<Scheme> {
        match s {
            "asym" => Some(Scheme::Asymmetric),
            "sym" => Some(Scheme::Symmetric),
            _ => None,
        }
    }
}

/// Invalid quantization parameters or packed data.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum QuantError {
    /// Bit-width outside 1..=16.
    #[error("bit-width {0} is outside 1..=16")]
    Bits(u8),
    /// A scale that is not a positive finite number.
    #[error("scale {0} is not a positive finite number")]
    Scale(f32),
    /// A zero point outside the code range.
    #[error("zero point {zp} is outside 0..={max} for {bits}-bit codes")]
    ZeroPoint {
        /// The zero point.
        zp: i32,
        /// Largest code.
        max: i32,
        /// Bit-width.
        bits: u8,
    },
    /// Per-channel parameters whose count does not match the tensor.
    #[error(
        "{params} scale(s) / zero point(s) for a tensor with {channels} channel(s) on axis {axis}"
    )]
    Channels {
        /// Parameters given.
        params: usize,
        /// Channels of the tensor.
        channels: usize,
        /// Channel axis.
        axis: usize,
    },
    /// The channel axis is not an axis of the tensor.
    #[error("channel axis {axis} is out of range for rank {rank}")]
    Axis {
        /// Channel axis.
        axis: usize,
        /// Tensor rank.
        rank: usize,
    },
    /// Packed payload of the wrong length.
    #[error("packed payload has {got} bytes, {count} codes of {bits} bits need {want}")]
    PackedLen {
        /// Bytes present.
        got: usize,
        /// Bytes needed.
        want: usize,
        /// Number of codes.
        count: usize,
        /// Bit-width.
        bits: u8,
    },
}

/// Quantization parameters of one tensor: per tensor (`axis = None`, one scale) or per
/// channel along `axis` (one scale and zero point per channel).
#[derive(Clone, Debug, PartialEq)]
pub struct QuantParams {
    /// Bit-width of a code.
    pub bits: u8,
    /// Signed symmetric or unsigned asymmetric.
    pub scheme: Scheme,
    /// Scales (one, or one per channel).
    pub scale: Vec<f32>,
    /// Zero points (same count as `scale`; all 0 for [`Scheme::Symmetric`]).
    pub zero_point: Vec<i32>,
    /// Channel axis for per-channel parameters.
    pub axis: Option<usize>,
}

impl QuantParams {
    /// Asymmetric per-tensor parameters covering `[min, max]` (widened to contain 0).
    pub fn asymmetric(bits: u8, min: f32, max: f32) -> Result<Self, QuantError> {
        check_bits(bits)?;
        let (lo, hi) = (finite_or_zero(min).min(0.0), finite_or_zero(max).max(0.0));
        let levels = ((1u32 << bits) - 1) as f32;
        let scale = nonzero_scale((hi - lo) / levels);
        let zp = (-lo / scale).round_ties_even().clamp(0.0, levels) as i32;
        Ok(QuantParams {
            bits,
            scheme: Scheme::Asymmetric,
            scale: vec![scale],
            zero_point: vec![zp],
            axis: None,
        })
    }

    /// Symmetric per-tensor parameters for values in `[-absmax, absmax]`.
    pub fn symmetric(bits: u8, absmax: f32) -> Result<Self, QuantError> {
        Self::symmetric_per_channel(bits, &[absmax], None)
    }

    /// Symmetric parameters, one scale per entry of `absmax` (per channel along `axis`, or
    /// per tensor when `axis` is `None` and there is one entry).
    pub fn symmetric_per_channel(
        bits: u8,
        absmax: &[f32],
        axis: Option<usize>,
    ) -> Result<Self, QuantError> {
        check_bits(bits)?;
        let qmax = symmetric_qmax(bits) as f32;
        let scale = absmax.iter().map(|&a| nonzero_scale(finite_or_zero(a).abs() / qmax)).collect();
        Ok(QuantParams {
            bits,
            scheme: Scheme::Symmetric,
            scale,
            zero_point: vec![0; absmax.len()],
            axis,
        })
    }

    /// Smallest code.
    pub fn qmin(&self) -> i32 {
        match self.scheme {
            Scheme::Asymmetric => 0,
            Scheme::Symmetric => -symmetric_qmax(self.bits),
        }
    }

    /// Largest code.
    pub fn qmax(&self) -> i32 {
        match self.scheme {
            Scheme::Asymmetric => ((1u32 << self.bits) - 1) as i32,
            Scheme::Symmetric => symmetric_qmax(self.bits),
        }
    }

    /// Checks bits, scales, zero points, and the parameter count against a tensor shape.
    pub fn validate(&self, shape: &[usize]) -> Result<(), QuantError> {
        check_bits(self.bits)?;
        if let Some(&s) = self.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(QuantError::Scale(s));
        }
        let (lo, hi) = (self.qmin(), self.qmax());
        if let Some(&zp) = self.zero_point.iter().find(|&&z| z < lo.min(0) || z > hi) {
            return Err(QuantError::ZeroPoint { zp, max: hi, bits: self.bits });
        }
        let channels = match self.axis {
            None => 1,
            Some(axis) => *shape.get(axis).ok_or(QuantError::Axis { axis, rank: shape.len() })?,
        };
        let params = self.scale.len();
        if params != channels || self.zero_point.len() != channels {
            return Err(QuantError::Channels { params, channels, axis: self.axis.unwrap_or(0) });
        }
        Ok(())
    }

    /// The code of `x` with the parameters of channel `c`.
    pub fn quantize_one(&self, x: f32, c: usize) -> i32 {
        let q = (x / self.scale[c]).round_ties_even();
        let q = if q.is_nan() { 0.0 } else { q };
        (q + self.zero_point[c] as f32).clamp(self.qmin() as f32, self.qmax() as f32) as i32
    }

    /// The value of code `q` with the parameters of channel `c`.
    pub fn dequantize_one(&self, q: i32, c: usize) -> f32 {
        self.scale[c] * (q - self.zero_point[c]) as f32
    }

    /// Quantizes a dense row-major tensor of `shape`. Call [`QuantParams::validate`] first.
    pub fn quantize(&self, x: &[f32], shape: &[usize]) -> Vec<i32> {
        let (inner, channels) = self.layout(shape);
        x.iter().enumerate().map(|(i, &v)| self.quantize_one(v, (i / inner) % channels)).collect()
    }

    /// Dequantizes codes of a dense row-major tensor of `shape`.
    pub fn dequantize(&self, q: &[i32], shape: &[usize]) -> Vec<f32> {
        let (inner, channels) = self.layout(shape);
        q.iter().enumerate().map(|(i, &c)| self.dequantize_one(c, (i / inner) % channels)).collect()
    }

    /// `dequantize(quantize(x))`.
    pub fn fake_quantize(&self, x: &[f32], shape: &[usize]) -> Vec<f32> {
        let (inner, channels) = self.layout(shape);
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = (i / inner) % channels;
                self.dequantize_one(self.quantize_one(v, c), c)
            })
            .collect()
    }

    /// (elements per channel step, channel count) for indexing a row-major tensor.
    fn layout(&self, shape: &[usize]) -> (usize, usize) {
        match self.axis {
            Some(a) if a < shape.len() => {
                (shape[a + 1..].iter().product::<usize>().max(1), shape[a].max(1))
            }
            _ => (1, 1),
        }
    }
}

/// Largest symmetric code for `bits` (1 for 2 bits, 127 for 8).
fn symmetric_qmax(bits: u8) -> i32 {
    ((1u32 << (bits - 1)) - 1).max(1) as i32
}

fn check_bits(bits: u8) -> Result<(), QuantError> {
    if (1..=16).contains(&bits) {
        Ok(())
    } else {
        Err(QuantError::Bits(bits))
    }
}

fn finite_or_zero(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// A constant tensor (all zeros) still needs a usable scale.
fn nonzero_scale(s: f32) -> f32 {
    if s.is_finite() && s > 0.0 {
        s
    } else {
        1.0
    }
}

/// Bytes taken by `count` codes of `bits` bits, packed densely.
pub fn packed_len(count: usize, bits: u8) -> usize {
    (count * bits as usize).div_ceil(8)
}

/// Packs codes LSB-first into `bits`-bit fields (signed codes as their low bits).
pub fn pack(codes: &[i32], bits: u8) -> Vec<u8> {
    let mut out = vec![0u8; packed_len(codes.len(), bits)];
    let mask = (1u32 << bits) - 1;
    for (i, &q) in codes.iter().enumerate() {
        let field = (q as u32) & mask;
        let bit = i * bits as usize;
        for k in 0..bits as usize {
            if field >> k & 1 == 1 {
                out[(bit + k) / 8] |= 1 << ((bit + k) % 8);
            }
        }
    }
    out
}

/// Unpacks `count` codes of `bits` bits; `signed` sign-extends them.
pub fn unpack(bytes: &[u8], bits: u8, count: usize, signed: bool) -> Result<Vec<i32>, QuantError> {
    check_bits(bits)?;
    let want = packed_len(count, bits);
    if bytes.len() != want {
        return Err(QuantError::PackedLen { got: bytes.len(), want, count, bits });
    }
    let b = bits as usize;
    Ok((0..count)
        .map(|i| {
            let field = (0..b).fold(0u32, |acc, k| {
                let bit = i * b + k;
                acc | (((bytes[bit / 8] >> (bit % 8)) & 1) as u32) << k
            });
            if signed && field >> (b - 1) & 1 == 1 {
                (field | !((1u32 << b) - 1)) as i32
            } else {
                field as i32
            }
        })
        .collect())
}

/// Sum of squared differences and of squared reference values, in f64.
pub fn squared_error(reference: &[f32], approx: &[f32]) -> (f64, f64) {
    reference.iter().zip(approx).fold((0.0, 0.0), |(e, p), (&r, &a)| {
        let d = r as f64 - a as f64;
        (e + d * d, p + r as f64 * r as f64)
    })
}

/// Mean squared error between a tensor and its fake-quantized self under `p`.
pub fn quantization_mse(x: &[f32], shape: &[usize], p: &QuantParams) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    squared_error(x, &p.fake_quantize(x, shape)).0 / x.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asymmetric_post_relu_has_zero_point_zero() {
        let p = QuantParams::asymmetric(4, 0.0, 15.0).unwrap();
        assert_eq!((p.scale[0], p.zero_point[0]), (1.0, 0));
        assert_eq!(p.quantize(&[0.0, 1.4, 1.5, 2.5, 20.0, -3.0], &[6]), vec![0, 1, 2, 2, 15, 0]);
    }

    #[test]
    fn asymmetric_range_is_widened_to_contain_zero() {
        let p = QuantParams::asymmetric(8, 2.0, 4.0).unwrap();
        assert_eq!(p.zero_point[0], 0);
        assert!((p.scale[0] - 4.0 / 255.0).abs() < 1e-9);
        let n = QuantParams::asymmetric(8, -1.0, 1.0).unwrap();
        assert!((127..=128).contains(&n.zero_point[0]), "{}", n.zero_point[0]);
        assert_eq!(n.fake_quantize(&[0.0], &[1]), vec![0.0], "0 is exactly representable");
    }

    #[test]
    fn symmetric_per_channel_uses_its_channel_scale() {
        let p = QuantParams::symmetric_per_channel(3, &[3.0, 30.0], Some(0)).unwrap();
        assert_eq!((p.qmin(), p.qmax()), (-3, 3));
        p.validate(&[2, 2]).unwrap();
        assert_eq!(p.quantize(&[3.0, -1.0, 3.0, -40.0], &[2, 2]), vec![3, -1, 0, -3]);
        assert!(p.validate(&[3, 2]).is_err());
    }

    #[test]
    fn two_bit_symmetric_has_three_levels() {
        let p = QuantParams::symmetric(2, 1.0).unwrap();
        assert_eq!(p.quantize(&[-5.0, -0.4, 0.6, 5.0], &[4]), vec![-1, 0, 1, 1]);
    }

    #[test]
    fn constant_tensor_gets_a_usable_scale() {
        let p = QuantParams::asymmetric(8, 0.0, 0.0).unwrap();
        assert_eq!(p.scale[0], 1.0);
        assert_eq!(p.fake_quantize(&[0.0, 0.0], &[2]), vec![0.0, 0.0]);
        assert_eq!(QuantParams::symmetric(4, f32::NAN).unwrap().scale[0], 1.0);
    }

    #[test]
    fn pack_is_lsb_first_and_dense() {
        assert_eq!(pack(&[1, 2, 3], 2), vec![0b0011_1001]);
        assert_eq!(pack(&[0b101, 0b011, 0b111], 3), vec![0b1101_1101, 0b0000_0001]);
        assert_eq!(packed_len(3, 3), 2);
    }

    #[test]
    fn pack_unpack_round_trips_every_width() {
        for bits in 1..=16u8 {
            let max = (1i32 << bits) - 1;
            let codes: Vec<i32> = (0..37).map(|i| (i * 7919) % (max + 1)).collect();
            assert_eq!(unpack(&pack(&codes, bits), bits, codes.len(), false).unwrap(), codes);
            if bits >= 2 {
                let half = 1i32 << (bits - 1);
                let signed: Vec<i32> = codes.iter().map(|c| c % half - (half - 1) / 2).collect();
                assert_eq!(unpack(&pack(&signed, bits), bits, codes.len(), true).unwrap(), signed);
            }
        }
    }

    #[test]
    fn unpack_checks_the_length() {
        assert!(matches!(unpack(&[0, 0], 3, 8, false), Err(QuantError::PackedLen { want: 3, .. })));
        assert!(unpack(&[0], 0, 1, false).is_err());
    }

    #[test]
    fn mse_shrinks_with_bits() {
        let x: Vec<f32> = (0..1000).map(|i| ((i * 37) % 101) as f32 / 10.0 - 2.0).collect();
        let mse: Vec<f64> = EDGE_BITS
            .iter()
            .map(|&b| {
                let p = QuantParams::asymmetric(b, -2.0, 8.1).unwrap();
                quantization_mse(&x, &[1000], &p)
            })
            .collect();
        assert!(mse.windows(2).all(|w| w[1] < w[0]), "{mse:?}");
        let step = 10.1 / 255.0;
        assert!(mse[6] < step * step / 12.0 * 1.5, "{}", mse[6]);
    }
}
