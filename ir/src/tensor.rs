//! Dense host tensors: the payload of constants and the values the interpreter computes.
//!
//! A [`Tensor`] owns its elements in a typed vector ([`TensorData`]) and always holds exactly
//! `numel(shape)` of them; the constructors check that. The coded dtypes (4- and 2-bit
//! integers, 8- and 4-bit floats) share one storage, [`TensorData::Codes`]: one byte per
//! element holding the element's code (see [`crate::coded`]) and the dtype as a tag.
//! Conversions between dtypes follow ONNX `Cast` semantics (float→int truncates toward zero,
//! saturating to i64, then integer narrowing wraps; bool is 0/1; coded floats round to
//! nearest even, see [`crate::coded`]). This file does no arithmetic beyond conversions:
//! kernels live in `interp/`.

use crate::coded::{bf16_from_f64, f16_from_f64, CastOptions, CodedType};
use crate::types::{DType, TensorType};
use half::{bf16, f16};
use thiserror::Error;

/// Typed element storage.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    /// f32 elements.
    F32(Vec<f32>),
    /// f64 elements.
    F64(Vec<f64>),
    /// f16 elements.
    F16(Vec<f16>),
    /// bf16 elements.
    BF16(Vec<bf16>),
    /// i64 elements.
    I64(Vec<i64>),
    /// i32 elements.
    I32(Vec<i32>),
    /// i16 elements.
    I16(Vec<i16>),
    /// i8 elements.
    I8(Vec<i8>),
    /// u64 elements.
    U64(Vec<u64>),
    /// u32 elements.
    U32(Vec<u32>),
    /// u16 elements.
    U16(Vec<u16>),
    /// u8 elements.
    U8(Vec<u8>),
    /// bool elements.
    Bool(Vec<bool>),
    /// Elements of a coded dtype, one code per byte in the low [`CodedType::bits`] bits.
    Codes(CodedType, Vec<u8>),
}

/// Tensor construction errors.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TensorError {
    /// The element count does not match the shape.
    #[error("tensor of shape {shape:?} needs {expected} elements, got {got}")]
    ElementCount {
        /// Shape asked for.
        shape: Vec<usize>,
        /// numel(shape).
        expected: usize,
        /// Elements supplied.
        got: usize,
    },
    /// A code of a coded dtype uses bits beyond the type's width.
    #[error(
        "code {code:#04x} is not a valid {dtype} element (it uses bits beyond the type's width)"
    )]
    Code {
        /// The coded dtype.
        dtype: DType,
        /// The offending code.
        code: u8,
    },
}

/// Runs `$body` with `$v` bound to the element vector, whatever its type.
macro_rules! dispatch {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            TensorData::F32($v) => $body,
            TensorData::F64($v) => $body,
            TensorData::F16($v) => $body,
            TensorData::BF16($v) => $body,
            TensorData::I64($v) => $body,
            TensorData::I32($v) => $body,
            TensorData::I16($v) => $body,
            TensorData::I8($v) => $body,
            TensorData::U64($v) => $body,
            TensorData::U32($v) => $body,
            TensorData::U16($v) => $body,
            TensorData::U8($v) => $body,
            TensorData::Bool($v) => $body,
            TensorData::Codes(_, $v) => $body,
        }
    };
}

/// Like [`dispatch!`], rebuilding the same variant from the vector `$body` returns.
macro_rules! map_same {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            TensorData::F32($v) => TensorData::F32($body),
            TensorData::F64($v) => TensorData::F64($body),
            TensorData::F16($v) => TensorData::F16($body),
            TensorData::BF16($v) => TensorData::BF16($body),
            TensorData::I64($v) => TensorData::I64($body),
            TensorData::I32($v) => TensorData::I32($body),
            TensorData::I16($v) => TensorData::I16($body),
            TensorData::I8($v) => TensorData::I8($body),
            TensorData::U64($v) => TensorData::U64($body),
            TensorData::U32($v) => TensorData::U32($body),
            TensorData::U16($v) => TensorData::U16($body),
            TensorData::U8($v) => TensorData::U8($body),
            TensorData::Bool($v) => TensorData::Bool($body),
            TensorData::Codes(c, $v) => TensorData::Codes(*c, $body),
        }
    };
}

impl TensorData {
    /// Element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::F64(_) => DType::F64,
            TensorData::F16(_) => DType::F16,
            TensorData::BF16(_) => DType::BF16,
            TensorData::I64(_) => DType::I64,
            TensorData::I32(_) => DType::I32,
            TensorData::I16(_) => DType::I16,
            TensorData::I8(_) => DType::I8,
            TensorData::U64(_) => DType::U64,
            TensorData::U32(_) => DType::U32,
            TensorData::U16(_) => DType::U16,
            TensorData::U8(_) => DType::U8,
            TensorData::Bool(_) => DType::Bool,
            TensorData::Codes(c, _) => c.dtype(),
        }
    }

    /// Empty storage of dtype `d`.
    pub fn empty(d: DType) -> TensorData {
        match d {
            DType::F32 => TensorData::F32(Vec::new()),
            DType::F64 => TensorData::F64(Vec::new()),
            DType::F16 => TensorData::F16(Vec::new()),
            DType::BF16 => TensorData::BF16(Vec::new()),
            DType::I64 => TensorData::I64(Vec::new()),
            DType::I32 => TensorData::I32(Vec::new()),
            DType::I16 => TensorData::I16(Vec::new()),
            DType::I8 => TensorData::I8(Vec::new()),
            DType::U64 => TensorData::U64(Vec::new()),
            DType::U32 => TensorData::U32(Vec::new()),
            DType::U16 => TensorData::U16(Vec::new()),
            DType::U8 => TensorData::U8(Vec::new()),
            DType::Bool => TensorData::Bool(Vec::new()),
            coded => match coded.coded() {
                Some(c) => TensorData::Codes(c, Vec::new()),
                None => TensorData::U8(Vec::new()),
            },
        }
    }

    /// Number of elements stored.
    pub fn len(&self) -> usize {
        dispatch!(self, v => v.len())
    }

    /// True when no element is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `n` copies of the first element (empty storage when there is none).
    pub fn repeated(&self, n: usize) -> TensorData {
        map_same!(self, v => v.first().map(|&x| vec![x; n]).unwrap_or_default())
    }

    /// True when there is at least one element and all have the same bit pattern.
    pub fn is_splat(&self) -> bool {
        dispatch!(self, v => v.first().is_some_and(|f| v.iter().all(|x| x.to_bits_eq(f))))
    }

    /// The codes of a coded tensor, retagged as `u8` storage (the layout data movement works
    /// on); other storage is returned unchanged.
    pub fn codes_as_u8(&self) -> TensorData {
        match self {
            TensorData::Codes(_, v) => TensorData::U8(v.clone()),
            other => other.clone(),
        }
    }

    /// `u8` storage retagged as codes of `c` (bits above its width cleared); `None` for any
    /// other storage.
    pub fn u8_as_codes(self, c: CodedType) -> Option<TensorData> {
        match self {
            TensorData::U8(v) => {
                Some(TensorData::Codes(c, v.into_iter().map(|x| x & c.mask()).collect()))
            }
            _ => None,
        }
    }

    /// All elements converted to f64 (exact for every dtype but 64-bit integers beyond 2^53).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::F64(v) => v.clone(),
            TensorData::F16(v) => v.iter().map(|x| x.to_f64()).collect(),
            TensorData::BF16(v) => v.iter().map(|x| x.to_f64()).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I16(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U16(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| x as f64).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
            TensorData::Codes(c, v) => v.iter().map(|&x| c.to_f64(x)).collect(),
        }
    }

    /// All elements converted to i64 (floats truncate toward zero, saturating; NaN → 0;
    /// u64 beyond i64::MAX wraps).
    pub fn to_i64_vec(&self) -> Vec<i64> {
        match self {
            TensorData::I64(v) => v.clone(),
            TensorData::I32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I16(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::I8(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U16(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::U8(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| x as i64).collect(),
            TensorData::Codes(c, v) => v.iter().map(|&x| c.to_i64(x)).collect(),
            other => other.to_f64_vec().into_iter().map(|x| x as i64).collect(),
        }
    }

    /// Converts to another dtype with ONNX `Cast` semantics and its default options
    /// (`saturate = 1`, `round_mode = "up"`).
    pub fn cast(&self, to: DType) -> TensorData {
        self.cast_with(to, CastOptions::default())
    }

    /// Converts to another dtype with ONNX `Cast` semantics; `opts` matter only for the
    /// coded floats.
    pub fn cast_with(&self, to: DType, opts: CastOptions) -> TensorData {
        if self.dtype() == to {
            return self.clone();
        }
        let from_float = self.dtype().is_any_float();
        let floats = || self.to_f64_vec();
        // Float → int truncates (through i64); int → int wraps (C semantics, as ONNX
        // Runtime does).
        let ints = || -> Vec<i64> {
            if from_float {
                floats().into_iter().map(|x| x as i64).collect()
            } else {
                self.to_i64_vec()
            }
        };
        macro_rules! narrow {
            ($variant:ident, $t:ty) => {
                TensorData::$variant(ints().into_iter().map(|x| x as $t).collect())
            };
        }
        match to {
            DType::F32 => TensorData::F32(floats().into_iter().map(|x| x as f32).collect()),
            DType::F64 => TensorData::F64(floats()),
            DType::F16 => TensorData::F16(floats().into_iter().map(f16_from_f64).collect()),
            DType::BF16 => TensorData::BF16(floats().into_iter().map(bf16_from_f64).collect()),
            DType::Bool => TensorData::Bool(floats().into_iter().map(|x| x != 0.0).collect()),
            DType::I64 => TensorData::I64(ints()),
            DType::I32 => narrow!(I32, i32),
            DType::I16 => narrow!(I16, i16),
            DType::I8 => narrow!(I8, i8),
            // Floats at or above 2^63 do not fit i64: convert them directly (saturating).
            DType::U64 if from_float => TensorData::U64(
                floats()
                    .into_iter()
                    .map(|x| if x >= 0.0 { x as u64 } else { x as i64 as u64 })
                    .collect(),
            ),
            DType::U64 => narrow!(U64, u64),
            DType::U32 => narrow!(U32, u32),
            DType::U16 => narrow!(U16, u16),
            DType::U8 => narrow!(U8, u8),
            coded => match coded.coded() {
                Some(c) if from_float || c.is_float() => TensorData::Codes(
                    c,
                    floats().into_iter().map(|x| c.from_f64(x, opts)).collect(),
                ),
                Some(c) => {
                    TensorData::Codes(c, ints().into_iter().map(|x| c.from_i64(x, opts)).collect())
                }
                None => self.clone(),
            },
        }
    }
}

/// A dense tensor with a static shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: TensorData,
}

impl Tensor {
    /// Builds a tensor, checking that `data` holds exactly `numel(shape)` elements and,
    /// for coded storage, that no code uses bits beyond its type's width.
    pub fn new(shape: impl Into<Vec<usize>>, data: TensorData) -> Result<Self, TensorError> {
        let shape = shape.into();
        let expected =
            shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(TensorError::ElementCount { shape, expected, got: data.len() });
        }
        if let TensorData::Codes(c, v) = &data {
            if let Some(&code) = v.iter().find(|&&x| x & !c.mask() != 0) {
                return Err(TensorError::Code { dtype: c.dtype(), code });
            }
        }
        Ok(Tensor { shape, data })
    }

    /// An f32 tensor; see [`Tensor::new`].
    pub fn from_f32(shape: impl Into<Vec<usize>>, v: Vec<f32>) -> Result<Self, TensorError> {
        Tensor::new(shape, TensorData::F32(v))
    }

    /// An i64 tensor; see [`Tensor::new`].
    pub fn from_i64(shape: impl Into<Vec<usize>>, v: Vec<i64>) -> Result<Self, TensorError> {
        Tensor::new(shape, TensorData::I64(v))
    }

    /// A tensor of `ty` with every element equal to `value` (converted with `Cast` rules).
    pub fn splat(ty: &TensorType, value: f64) -> Tensor {
        let n = ty.numel();
        let data = TensorData::F64(vec![value; n]).cast(ty.dtype);
        Tensor { shape: ty.shape.clone(), data }
    }

    /// Shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The tensor type (dtype + shape).
    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype(), self.shape.clone())
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// Element storage.
    pub fn data(&self) -> &TensorData {
        &self.data
    }

    /// Consumes the tensor, returning its storage.
    pub fn into_data(self) -> TensorData {
        self.data
    }

    /// The f32 elements, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    /// Same elements, new shape; fails when the element counts differ.
    pub fn reshaped(&self, shape: impl Into<Vec<usize>>) -> Result<Tensor, TensorError> {
        Tensor::new(shape, self.data.clone())
    }

    /// Converts to another dtype with ONNX `Cast` semantics (default options).
    pub fn cast(&self, to: DType) -> Tensor {
        Tensor { shape: self.shape.clone(), data: self.data.cast(to) }
    }

    /// Converts to another dtype with ONNX `Cast` semantics and explicit options.
    pub fn cast_with(&self, to: DType, opts: CastOptions) -> Tensor {
        Tensor { shape: self.shape.clone(), data: self.data.cast_with(to, opts) }
    }

    /// If every element has the same bit pattern, that element as f64.
    pub fn splat_value(&self) -> Option<f64> {
        if !self.data.is_splat() {
            return None;
        }
        self.data.repeated(1).to_f64_vec().first().copied()
    }

    /// A 64-bit FNV-1a hash of dtype, shape and element bytes (little-endian). Stable across
    /// runs and platforms; printed for large constants in the `.air` form.
    pub fn content_hash(&self) -> u64 {
        let mut h = Fnv::new();
        h.write(self.dtype().name().as_bytes());
        for &d in &self.shape {
            h.write(&(d as u64).to_le_bytes());
        }
        dispatch!(&self.data, v => v.iter().for_each(|x| x.hash_le(&mut h)));
        h.0
    }
}

/// Element helpers shared by every storage type.
trait Elem {
    fn to_bits_eq(&self, other: &Self) -> bool;
    fn hash_le(&self, h: &mut Fnv);
}

macro_rules! elem_num {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            fn to_bits_eq(&self, other: &Self) -> bool { self.to_le_bytes() == other.to_le_bytes() }
            fn hash_le(&self, h: &mut Fnv) { h.write(&self.to_le_bytes()) }
        }
    )*};
}
elem_num!(f32, f64, f16, bf16, i64, i32, i16, i8, u64, u32, u16, u8);

impl Elem for bool {
    fn to_bits_eq(&self, other: &Self) -> bool {
        self == other
    }
    fn hash_le(&self, h: &mut Fnv) {
        h.write(&[*self as u8])
    }
}

/// FNV-1a, 64 bit.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Deterministic uniform values in `[lo, hi)` from `seed` (splitmix64), used by seeded-random
/// constants in the `.air` form and by tests.
pub fn seeded_uniform(seed: u64, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let unit = (z >> 40) as f32 / (1u64 << 24) as f32;
            lo + (hi - lo) * unit
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_count_is_checked() {
        assert!(Tensor::from_f32([2, 3], vec![0.0; 5]).is_err());
        assert!(Tensor::from_f32([2, 3], vec![0.0; 6]).is_ok());
        assert!(Tensor::from_f32([], vec![1.0]).is_ok());
    }

    #[test]
    fn cast_follows_onnx() {
        let t = Tensor::from_f32([4], vec![1.7, -1.7, 0.0, 300.0]).unwrap();
        assert_eq!(t.cast(DType::I64).data(), &TensorData::I64(vec![1, -1, 0, 300]));
        assert_eq!(t.cast(DType::Bool).data(), &TensorData::Bool(vec![true, true, false, true]));
    }

    #[test]
    fn splat_and_hash() {
        let t = Tensor::splat(&TensorType::new(DType::F32, [3]), 0.5);
        assert_eq!(t.splat_value(), Some(0.5));
        let u = Tensor::from_f32([3], vec![0.5, 0.5, 0.25]).unwrap();
        assert_eq!(u.splat_value(), None);
        assert_ne!(t.content_hash(), u.content_hash());
        assert_eq!(t.content_hash(), t.clone().content_hash());
    }

    #[test]
    fn seeded_uniform_is_deterministic_and_in_range() {
        let a = seeded_uniform(7, 100, -1.0, 1.0);
        assert_eq!(a, seeded_uniform(7, 100, -1.0, 1.0));
        assert_ne!(a, seeded_uniform(8, 100, -1.0, 1.0));
        assert!(a.iter().all(|&x| (-1.0..1.0).contains(&x)));
    }
}
