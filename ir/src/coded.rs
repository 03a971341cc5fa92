//! Coded element types: the 4- and 2-bit integers and the 8- and 4-bit floats, stored one
//! code per byte, and their conversions.
//!
//! Storage ([`crate::tensor::TensorData::Codes`]): every element is one byte holding its bit
//! pattern in the low [`CodedType::bits`] bits, the bits above zero. The integers are two's
//! complement (`i4` −1 is `0x0f`); the floats use the ONNX layouts (those of ml_dtypes): sign
//! on top, then exponent, then mantissa (`f8e8m0` has no sign and no mantissa). One byte
//! per element keeps data movement trivial (kernels move codes as `u8`); [`pack`] and
//! [`unpack`] convert to and from the dense LSB-first layout ONNX `TensorProto`s use for
//! the 4- and 2-bit types.
//!
//! Conversions follow ONNX `Cast` (and its reference implementation):
//! - to `i4`, `u4`, `i2`, `u2`: integers wrap (the low bits are kept); floats truncate toward
//!   zero first (saturating to i64, NaN → 0), then wrap.
//! - to the float8 types: round to nearest, ties to even. Out-of-range values and
//!   infinities become ±max with `saturate`, otherwise ±∞ (`f8e5m2`) or NaN (the others).
//!   NaN stays NaN; a negative value that rounds to zero is −0, except in the `fnuz` types,
//!   which have no −0 (their `0x80` is NaN) and give +0.
//! - to `f4e2m1`: as float8 but always saturating (the type has no ∞ or NaN); NaN → +0.
//! - to `f8e8m0`: ONNX's `to_float8e8m0`: the value is rounded to f32 first and its sign
//!   ignored; the code is the f32 exponent, incremented per [`RoundMode`] (`up`: when any
//!   mantissa bit is set; `nearest`: when the mantissa's top bit is set — for subnormals
//!   only past the halfway point; `down`: never). ±∞ and NaN give NaN (`0xff`); with
//!   `saturate` rounding never turns `0xfe` into NaN. Zero gives code 0 (2^−127).
//!
//! bf16 and f16 are not coded (they have their own storage) but their rounding from f64
//! lives here too, with the same small-float encoder (`half`'s `from_f64` drops the low 32
//! bits of the f64 before rounding, which misrounds some f32 values just above a tie).
//! Nothing here does arithmetic on coded values.

use crate::types::DType;
use half::{bf16, f16};

/// A dtype stored as one code per byte.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodedType {
    /// Signed 4-bit integer, −8..=7.
    I4,
    /// Unsigned 4-bit integer, 0..=15.
    U4,
    /// Signed 2-bit integer, −2..=1.
    I2,
    /// Unsigned 2-bit integer, 0..=3.
    U2,
    /// E4M3, bias 7, NaN = all ones, no infinity; max 448.
    F8E4M3FN,
    /// E4M3, bias 8, NaN = `0x80`, no infinity, no −0; max 240.
    F8E4M3FNUZ,
    /// E5M2, bias 15, IEEE infinities and NaNs; max 57344.
    F8E5M2,
    /// E5M2, bias 16, NaN = `0x80`, no infinity, no −0; max 57344.
    F8E5M2FNUZ,
    /// 2^(code − 127), `0xff` = NaN.
    F8E8M0,
    /// E2M1, bias 1, every code finite; max 6.
    F4E2M1,
}

/// Rounding of conversions to `f8e8m0` (ONNX Cast's `round_mode`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum RoundMode {
    /// Toward +∞ (the ONNX default).
    #[default]
    Up,
    /// Toward zero.
    Down,
    /// To the nearer power of two.
    Nearest,
}

impl RoundMode {
    /// Every mode.
    pub const ALL: [RoundMode; 3] = [RoundMode::Up, RoundMode::Down, RoundMode::Nearest];

    /// The ONNX (and `.air`) spelling.
    pub fn name(self) -> &'static str {
        match self {
            RoundMode::Up => "up",
            RoundMode::Down => "down",
            RoundMode::Nearest => "nearest",
        }
    }

    /// Inverse of [`RoundMode::name`].
    pub fn from_name(s: &str) -> Option<RoundMode> {
        RoundMode::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// How a conversion to a coded float treats values out of range and rounds `f8e8m0`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CastOptions {
    /// Out-of-range values become ±max instead of ±∞ / NaN (ONNX `saturate`).
    pub saturate: bool,
    /// Rounding to `f8e8m0`.
    pub round_mode: RoundMode,
}

impl Default for CastOptions {
    /// ONNX Cast's defaults: `saturate = 1`, `round_mode = "up"`.
    fn default() -> Self {
        CastOptions { saturate: true, round_mode: RoundMode::Up }
    }
}

impl CodedType {
    /// Every coded type.
    pub const ALL: [CodedType; 10] = [
        CodedType::I4,
        CodedType::U4,
        CodedType::I2,
        CodedType::U2,
        CodedType::F8E4M3FN,
        CodedType::F8E4M3FNUZ,
        CodedType::F8E5M2,
        CodedType::F8E5M2FNUZ,
        CodedType::F8E8M0,
        CodedType::F4E2M1,
    ];

    /// The dtype.
    pub fn dtype(self) -> DType {
        match self {
            CodedType::I4 => DType::I4,
            CodedType::U4 => DType::U4,
            CodedType::I2 => DType::I2,
            CodedType::U2 => DType::U2,
            CodedType::F8E4M3FN => DType::F8E4M3FN,
            CodedType::F8E4M3FNUZ => DType::F8E4M3FNUZ,
            CodedType::F8E5M2 => DType::F8E5M2,
            CodedType::F8E5M2FNUZ => DType::F8E5M2FNUZ,
            CodedType::F8E8M0 => DType::F8E8M0,
            CodedType::F4E2M1 => DType::F4E2M1,
        }
    }

    /// Width of a code in bits.
    pub fn bits(self) -> u32 {
        match self {
            CodedType::I4 | CodedType::U4 | CodedType::F4E2M1 => 4,
            CodedType::I2 | CodedType::U2 => 2,
            _ => 8,
        }
    }

    /// True for the float types.
    pub fn is_float(self) -> bool {
        self.int_range().is_none()
    }

    /// `(min, max)` of an integer type; `None` for the floats.
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            CodedType::I4 => Some((-8, 7)),
            CodedType::U4 => Some((0, 15)),
            CodedType::I2 => Some((-2, 1)),
            CodedType::U2 => Some((0, 3)),
            _ => None,
        }
    }

    /// The largest finite value (NaN for none, which no type here has).
    pub fn max_finite(self) -> f64 {
        (0..=self.mask()).map(|c| self.to_f64(c)).filter(|v| v.is_finite()).fold(f64::NAN, f64::max)
    }

    /// The bits a code may use.
    pub fn mask(self) -> u8 {
        (((1u16) << self.bits()) - 1) as u8
    }

    fn minifloat(self) -> Option<MiniFloat> {
        match self {
            CodedType::F8E4M3FN => Some(E4M3FN),
            CodedType::F8E4M3FNUZ => Some(E4M3FNUZ),
            CodedType::F8E5M2 => Some(E5M2),
            CodedType::F8E5M2FNUZ => Some(E5M2FNUZ),
            CodedType::F4E2M1 => Some(E2M1),
            _ => None,
        }
    }

    /// The value of `code` (bits above [`CodedType::bits`] are ignored).
    pub fn to_f64(self, code: u8) -> f64 {
        let c = code & self.mask();
        match (self.int_range(), self.minifloat()) {
            (Some(_), _) => self.to_i64(c) as f64,
            (None, Some(f)) => f.decode(c as u32),
            (None, None) => decode_e8m0(c),
        }
    }

    /// The value of `code` as an integer (floats truncate toward zero, NaN → 0).
    pub fn to_i64(self, code: u8) -> i64 {
        let c = code & self.mask();
        match self {
            CodedType::I4 | CodedType::I2 => {
                let shift = 8 - self.bits();
                i64::from(((c << shift) as i8) >> shift)
            }
            CodedType::U4 | CodedType::U2 => i64::from(c),
            _ => self.to_f64(c) as i64,
        }
    }

    /// The code of integer `v`: integer types keep the low bits, float types round `v`.
    pub fn from_i64(self, v: i64, opts: CastOptions) -> u8 {
        if self.int_range().is_some() {
            (v as u8) & self.mask()
        } else {
            self.from_f64(v as f64, opts)
        }
    }

    /// The code of `x` under ONNX `Cast` semantics (see the module doc).
    pub fn from_f64(self, x: f64, opts: CastOptions) -> u8 {
        match (self.int_range(), self.minifloat()) {
            (Some(_), _) => self.from_i64(x as i64, opts),
            (None, Some(f)) => f.encode(x, opts.saturate) as u8,
            (None, None) => encode_e8m0(x, opts),
        }
    }

    /// The code whose value is exactly `x` (NaN matches a NaN code, −0 only −0), if any.
    pub fn exact_code(self, x: f64) -> Option<u8> {
        (0..=self.mask()).find(|&c| {
            let v = self.to_f64(c);
            (v.is_nan() && x.is_nan()) || v.to_bits() == x.to_bits()
        })
    }
}

/// The bf16 nearest to `x` (ties to even; overflow gives ±∞, NaN a quiet NaN). Unlike
/// `half::bf16::from_f64`, this rounds from all of `x`'s bits.
pub fn bf16_from_f64(x: f64) -> bf16 {
    bf16::from_bits(BF16.encode(x, false) as u16)
}

/// The f16 nearest to `x` (ties to even; overflow gives ±∞, NaN a quiet NaN), rounding
/// from all of `x`'s bits.
pub fn f16_from_f64(x: f64) -> f16 {
    f16::from_bits(F16.encode(x, false) as u16)
}

/// Layout of a small binary float: sign, `exp` exponent bits with `bias`, `man` mantissa
/// bits, and how the special values are encoded.
#[derive(Copy, Clone, Debug)]
struct MiniFloat {
    exp: u32,
    man: u32,
    bias: i32,
    special: Special,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Special {
    /// IEEE 754: the top exponent holds infinities (mantissa 0) and NaNs.
    Ieee,
    /// No infinities; only the all-ones magnitude is NaN (E4M3FN).
    AllOnesNan,
    /// No infinities and no −0: the sign bit alone is NaN (the FNUZ types).
    Fnuz,
    /// Every code is a finite number (E2M1).
    Finite,
}

const F16: MiniFloat = MiniFloat { exp: 5, man: 10, bias: 15, special: Special::Ieee };
const BF16: MiniFloat = MiniFloat { exp: 8, man: 7, bias: 127, special: Special::Ieee };
const E4M3FN: MiniFloat = MiniFloat { exp: 4, man: 3, bias: 7, special: Special::AllOnesNan };
const E4M3FNUZ: MiniFloat = MiniFloat { exp: 4, man: 3, bias: 8, special: Special::Fnuz };
const E5M2: MiniFloat = MiniFloat { exp: 5, man: 2, bias: 15, special: Special::Ieee };
const E5M2FNUZ: MiniFloat = MiniFloat { exp: 5, man: 2, bias: 16, special: Special::Fnuz };
const E2M1: MiniFloat = MiniFloat { exp: 2, man: 1, bias: 1, special: Special::Finite };

/// 2^k for the exponents the formats here reach (|k| ≤ 1022), exactly.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((k.clamp(-1022, 1023) + 1023) as u64) << 52)
}

impl MiniFloat {
    fn sign(self) -> u32 {
        1 << (self.exp + self.man)
    }

    fn exp_max(self) -> u32 {
        (1 << self.exp) - 1
    }

    /// The magnitude code of the largest finite value.
    fn max_finite(self) -> u32 {
        let all = self.sign() - 1;
        match self.special {
            Special::Ieee => (self.exp_max() << self.man) - 1,
            Special::AllOnesNan => all - 1,
            Special::Fnuz | Special::Finite => all,
        }
    }

    fn signed(self, neg: bool, mag: u32) -> u32 {
        if neg {
            mag | self.sign()
        } else {
            mag
        }
    }

    fn nan(self, neg: bool) -> u32 {
        match self.special {
            Special::Ieee => self.signed(neg, (self.exp_max() << self.man) | (1 << (self.man - 1))),
            Special::AllOnesNan => self.signed(neg, self.sign() - 1),
            Special::Fnuz => self.sign(),
            Special::Finite => 0,
        }
    }

    /// The code for a value beyond the largest finite one.
    fn overflow(self, neg: bool, saturate: bool) -> u32 {
        match self.special {
            _ if saturate => self.signed(neg, self.max_finite()),
            Special::Finite => self.signed(neg, self.max_finite()),
            Special::Ieee => self.signed(neg, self.exp_max() << self.man),
            Special::AllOnesNan | Special::Fnuz => self.nan(neg),
        }
    }

    fn decode(self, code: u32) -> f64 {
        let code = code & ((self.sign() << 1) - 1);
        let neg = code & self.sign() != 0;
        let mag = code & (self.sign() - 1);
        let (e, f) = (mag >> self.man, mag & ((1 << self.man) - 1));
        let special = match self.special {
            Special::Fnuz if code == self.sign() => Some(f64::NAN),
            Special::AllOnesNan if mag == self.sign() - 1 => Some(f64::NAN),
            Special::Ieee if e == self.exp_max() => {
                Some(if f == 0 { f64::INFINITY } else { f64::NAN })
            }
            _ => None,
        };
        let v = special.unwrap_or_else(|| {
            let (m, e) = if e == 0 { (f, 1) } else { (f | (1 << self.man), e) };
            m as f64 * pow2(e as i32 - self.bias - self.man as i32)
        });
        if neg {
            -v
        } else {
            v
        }
    }

    fn encode(self, x: f64, saturate: bool) -> u32 {
        let neg = x.is_sign_negative();
        if x.is_nan() {
            return self.nan(neg);
        }
        let a = x.abs();
        if a.is_infinite() {
            return self.overflow(neg, saturate);
        }
        match self.round(a) {
            Some(0) if self.special == Special::Fnuz => 0,
            Some(m) if m <= self.max_finite() => self.signed(neg, m),
            _ => self.overflow(neg, saturate),
        }
    }

    /// The magnitude code nearest to the finite `a ≥ 0` (ties to even), possibly past the
    /// largest finite code; `None` when even the exponent is out of reach.
    fn round(self, a: f64) -> Option<u32> {
        let min_exp = 1 - self.bias;
        let biased = ((a.to_bits() >> 52) & 0x7ff) as i32;
        let e = (biased - 1023).max(min_exp);
        if e + self.bias > self.exp_max() as i32 + 1 {
            return None;
        }
        // a = q · 2^(e − man) with q in [2^man, 2^(man+1)) (or below 2^man for subnormals);
        // the scaling is exact, so only the rounding to an integer loses anything.
        let q = (a * pow2(self.man as i32 - e)).round_ties_even() as u32;
        Some((((e + self.bias - 1) as u32) << self.man) + q)
    }
}

fn decode_e8m0(code: u8) -> f64 {
    if code == 0xff {
        f64::NAN
    } else {
        pow2(i32::from(code) - 127)
    }
}

fn encode_e8m0(x: f64, opts: CastOptions) -> u8 {
    let bits = (x as f32).to_bits();
    let exp = (bits >> 23) & 0xff;
    if exp == 0xff {
        return 0xff;
    }
    let up = match opts.round_mode {
        RoundMode::Down => false,
        RoundMode::Up => bits & 0x7f_ffff != 0,
        RoundMode::Nearest => {
            let guard = bits & 0x40_0000 != 0;
            let round = bits & 0x20_0000 != 0;
            let sticky = bits & 0x1f_ffff != 0;
            guard && (round || sticky || exp > 0)
        }
    };
    let blocked = opts.saturate && exp == 0xfe;
    (exp + u32::from(up && !blocked)) as u8
}

/// Bytes that `n` codes of `bits` bits take packed; `None` on overflow.
pub fn packed_len(n: usize, bits: u32) -> Option<usize> {
    n.checked_mul(bits as usize).map(|b| b.div_ceil(8))
}

/// Packs codes of `bits` bits (1 to 8; other values are clamped into that range) densely,
/// least significant bits first: element i occupies bits i·bits.. of the stream, whose bit
/// 0 is bit 0 of byte 0; the last byte is zero-padded. For 4 bits, element 2k is the low
/// nibble of byte k; for 2 bits, element 4k is bits 0–1 of byte k: ONNX's `TensorProto`
/// layout of the 4- and 2-bit types.
pub fn pack(codes: &[u8], bits: u32) -> Vec<u8> {
    let bits = bits.clamp(1, 8);
    let mask = ((1u32 << bits) - 1) as u8;
    let mut out = Vec::with_capacity(packed_len(codes.len(), bits).unwrap_or(codes.len()));
    let (mut acc, mut held) = (0u32, 0u32);
    for &c in codes {
        acc |= u32::from(c & mask) << held;
        held += bits;
        while held >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            held -= 8;
        }
    }
    if held > 0 {
        out.push(acc as u8);
    }
    out
}

/// Inverse of [`pack`]: `n` codes of `bits` bits from `bytes`, which must be exactly
/// [`packed_len`]`(n, bits)` long (`None` otherwise).
pub fn unpack(bytes: &[u8], bits: u32, n: usize) -> Option<Vec<u8>> {
    let bits = bits.clamp(1, 8);
    if packed_len(n, bits) != Some(bytes.len()) {
        return None;
    }
    let mask = (1u32 << bits) - 1;
    let mut out = Vec::with_capacity(n);
    let mut next = bytes.iter();
    let (mut acc, mut held) = (0u32, 0u32);
    while out.len() < n {
        if held < bits {
            acc |= u32::from(*next.next()?) << held;
            held += 8;
        }
        out.push((acc & mask) as u8);
        acc >>= bits;
        held -= bits;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(c: CodedType) -> impl Fn(f64) -> u8 {
        move |x| c.from_f64(x, CastOptions::default())
    }

    fn no_sat(c: CodedType, x: f64) -> u8 {
        c.from_f64(x, CastOptions { saturate: false, round_mode: RoundMode::Up })
    }

    #[test]
    fn integer_codes_wrap_and_sign_extend() {
        let i4 = CodedType::I4;
        assert_eq!([i4.to_i64(0x0f), i4.to_i64(0x08), i4.to_i64(0x07)], [-1, -8, 7]);
        assert_eq!(i4.from_i64(-9, CastOptions::default()), 0x07);
        assert_eq!(f(i4)(-3.7), 0x0d);
        assert_eq!(f(CodedType::U4)(16.0), 0);
        assert_eq!(CodedType::I2.to_i64(0x02), -2);
        assert_eq!(f(CodedType::U2)(-1.0), 3);
        assert_eq!(f(i4)(f64::NAN), 0);
    }

    #[test]
    fn e4m3fn_rounds_to_even_and_saturates() {
        let c = f(CodedType::F8E4M3FN);
        assert_eq!(c(448.0), 0x7e);
        assert_eq!(c(464.0), 0x7e, "tie between 448 and 480 goes to the even 448");
        assert_eq!(c(1e6), 0x7e);
        assert_eq!(c(f64::NEG_INFINITY), 0xfe);
        assert_eq!(no_sat(CodedType::F8E4M3FN, 470.0), 0x7f);
        assert_eq!(no_sat(CodedType::F8E4M3FN, f64::INFINITY), 0x7f);
        assert_eq!(c(0.001), 0x01, "rounds to the smallest subnormal 2^-9");
        assert_eq!(c(-1e-30), 0x80);
        assert_eq!(c(5.5), 0x4b);
        assert!(CodedType::F8E4M3FN.to_f64(0xff).is_nan());
        assert_eq!(CodedType::F8E4M3FN.to_f64(0x4b), 5.5);
    }

    #[test]
    fn fnuz_types_have_no_negative_zero() {
        let c = f(CodedType::F8E4M3FNUZ);
        assert_eq!(c(-1e-30), 0x00);
        assert_eq!(c(f64::NAN), 0x80);
        assert_eq!(c(1e9), 0x7f);
        assert_eq!(CodedType::F8E4M3FNUZ.to_f64(0x7f), 240.0);
        assert_eq!(no_sat(CodedType::F8E5M2FNUZ, f64::INFINITY), 0x80);
        assert_eq!(CodedType::F8E5M2FNUZ.to_f64(0x7f), 57344.0);
    }

    #[test]
    fn e5m2_has_infinities() {
        assert_eq!(no_sat(CodedType::F8E5M2, 1e6), 0x7c);
        assert_eq!(no_sat(CodedType::F8E5M2, -1e6), 0xfc);
        assert_eq!(f(CodedType::F8E5M2)(1e6), 0x7b);
        assert_eq!(CodedType::F8E5M2.to_f64(0x7c), f64::INFINITY);
        assert!(CodedType::F8E5M2.to_f64(0x7e).is_nan());
        assert_eq!(CodedType::F8E5M2.to_f64(0x7b), 57344.0);
    }

    #[test]
    fn e2m1_always_saturates() {
        let c = f(CodedType::F4E2M1);
        let vals: Vec<f64> = (0..16).map(|k| CodedType::F4E2M1.to_f64(k)).collect();
        let want = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
        assert_eq!(&vals[..8], &want);
        assert_eq!(vals[9..], want[1..].iter().map(|v| -v).collect::<Vec<_>>());
        assert_eq!((c(5.5), c(5.0), c(0.75), c(0.25), c(2.5)), (7, 6, 2, 0, 4));
        assert_eq!(no_sat(CodedType::F4E2M1, f64::INFINITY), 7);
        assert_eq!(c(-100.0), 0x0f);
        assert_eq!(c(f64::NAN), 0);
    }

    #[test]
    fn e8m0_rounding_modes() {
        let with = |x: f64, round_mode, saturate| {
            CodedType::F8E8M0.from_f64(x, CastOptions { saturate, round_mode })
        };
        assert_eq!(with(1.0, RoundMode::Up, true), 127);
        assert_eq!(with(1.1, RoundMode::Up, true), 128);
        assert_eq!(with(1.1, RoundMode::Down, true), 127);
        assert_eq!(with(1.4, RoundMode::Nearest, true), 127);
        assert_eq!(with(1.5, RoundMode::Nearest, true), 128);
        assert_eq!(with(-4.0, RoundMode::Up, true), 129);
        assert_eq!(with(0.0, RoundMode::Up, true), 0);
        assert_eq!(with(f64::INFINITY, RoundMode::Up, true), 0xff);
        let big = f32::MAX as f64;
        assert_eq!(with(big, RoundMode::Up, true), 0xfe);
        assert_eq!(with(big, RoundMode::Up, false), 0xff);
        assert_eq!(CodedType::F8E8M0.to_f64(127), 1.0);
        assert_eq!(CodedType::F8E8M0.to_f64(0), 2f64.powi(-127));
        assert!(CodedType::F8E8M0.to_f64(255).is_nan());
    }

    #[test]
    fn every_code_round_trips_through_its_value() {
        for c in CodedType::ALL {
            for code in 0..=c.mask() {
                let v = c.to_f64(code);
                let back = c.from_f64(v, CastOptions { saturate: false, ..Default::default() });
                let same = back == code || (v.is_nan() && c.to_f64(back).is_nan());
                // e8m0 rounds from f32, where 2^-127 is subnormal and rounds up.
                let e8m0_zero = c == CodedType::F8E8M0 && code == 0;
                assert!(same || e8m0_zero, "{c:?} {code:#x} → {v} → {back:#x}");
                let exact = c.exact_code(v).map(|k| c.to_f64(k));
                assert!(
                    exact.is_some_and(|e| e.to_bits() == v.to_bits() || e.is_nan() && v.is_nan())
                );
            }
        }
    }

    #[test]
    fn bf16_rounds_from_every_bit() {
        // 1 + 2^-8 + 2^-40 is just above the tie between 1 and 1 + 2^-7.
        let x = 1.0 + 2f64.powi(-8) + 2f64.powi(-40);
        assert_eq!(bf16_from_f64(x).to_f64(), 1.0 + 2f64.powi(-7));
        assert_eq!(bf16_from_f64(1.0 + 2f64.powi(-8)).to_f64(), 1.0);
        assert_eq!(bf16_from_f64(1e40).to_f64(), f64::INFINITY);
        assert!(bf16_from_f64(f64::NAN).is_nan());
        for x in [0.478_925_47f32, 0.816_468, -3.5e-39, 1e-45, 3.3e38] {
            assert_eq!(bf16_from_f64(x as f64), bf16::from_f32(x), "{x}");
        }
    }

    #[test]
    fn f16_rounds_from_every_bit() {
        // 1 + 2^-11 + 2^-23 is an f32 just above the tie between 1 and 1 + 2^-10.
        let x = 1.0 + 2f64.powi(-11) + 2f64.powi(-23);
        assert_eq!(f16_from_f64(x).to_f64(), 1.0 + 2f64.powi(-10));
        assert_eq!(f16_from_f64(x - 2f64.powi(-23)).to_f64(), 1.0);
        assert_eq!(f16_from_f64(65520.0).to_f64(), f64::INFINITY);
        assert_eq!(f16_from_f64(65519.0).to_f64(), 65504.0);
        assert_eq!(f16_from_f64(2f64.powi(-25)).to_f64(), 0.0, "tie rounds to even zero");
        assert_eq!(f16_from_f64(-3e-8).to_f64(), -(2f64.powi(-24)));
        for x in [0.478_925_47f32, -0.816_468, 6.1e-5, 1e-7, 3.3e4, f32::INFINITY] {
            assert_eq!(f16_from_f64(x as f64), f16::from_f32(x), "{x}");
        }
    }

    #[test]
    fn packing_is_lsb_first() {
        assert_eq!(pack(&[0x1, 0x2, 0x3], 4), vec![0x21, 0x03]);
        assert_eq!(pack(&[1, 2, 3, 0, 1], 2), vec![0b00_11_10_01, 0b01]);
        assert_eq!(pack(&[0xff; 3], 4), vec![0xff, 0x0f]);
        for bits in 1..=8 {
            let mask = ((1u32 << bits) - 1) as u8;
            let codes: Vec<u8> = (0..37u32).map(|i| (i * 7 % 256) as u8 & mask).collect();
            let packed = pack(&codes, bits);
            assert_eq!(Some(packed.len()), packed_len(codes.len(), bits));
            assert_eq!(unpack(&packed, bits, codes.len()), Some(codes), "{bits} bits");
        }
        assert_eq!(unpack(&[0], 4, 3), None);
        assert_eq!(packed_len(usize::MAX, 4), None);
    }
}
