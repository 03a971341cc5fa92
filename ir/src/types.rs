//! Element types and static tensor types.
//!
//! Every IR value has a [`TensorType`]: a [`DType`] and a fully static shape. Symbolic
//! dimensions are bound before a graph exists (the ONNX importer's `--input-shape`), so
//! nothing here knows about dynamic shapes.
//!
//! Besides the IEEE floats, the integers and bool, the IR has the low-precision types that
//! quantization produces: the 4- and 2-bit integers (`i4`, `u4`, `i2`, `u2`) and the 8- and
//! 4-bit floats (`f8e4m3fn`, `f8e4m3fnuz`, `f8e5m2`, `f8e5m2fnuz`, `f8e8m0`, `f4e2m1`). They are
//! *coded* types ([`DType::coded`]): stored one code per byte, converted by
//! [`crate::coded`], and only moved, cast and (de)quantized — no arithmetic.

use crate::coded::CodedType;
use std::fmt;

/// Element type of a tensor.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary64.
    F64,
    /// IEEE 754 binary16.
    F16,
    /// Signed 64-bit integer.
    I64,
    /// Signed 32-bit integer.
    I32,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 8-bit integer.
    U8,
    /// Boolean.
    Bool,
    /// bfloat16: binary32 with the mantissa cut to 7 bits.
    BF16,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// Signed 4-bit integer (coded).
    I4,
    /// Unsigned 4-bit integer (coded).
    U4,
    /// Signed 2-bit integer (coded).
    I2,
    /// Unsigned 2-bit integer (coded).
    U2,
    /// 8-bit float, 4 exponent and 3 mantissa bits, finite (NaN but no infinity; coded).
    F8E4M3FN,
    /// As [`DType::F8E4M3FN`], exponent bias 8, no negative zero (its code is NaN; coded).
    F8E4M3FNUZ,
    /// 8-bit float, 5 exponent and 2 mantissa bits, IEEE-like with infinities (coded).
    F8E5M2,
    /// As [`DType::F8E5M2`], exponent bias 16, no infinities, no negative zero (coded).
    F8E5M2FNUZ,
    /// 8-bit unsigned power of two 2^(code−127), code 255 is NaN (MX scales; coded).
    F8E8M0,
    /// 4-bit float, 2 exponent and 1 mantissa bit: ±{0, 0.5, 1, 1.5, 2, 3, 4, 6} (coded).
    F4E2M1,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 23] = [
        DType::F32,
        DType::F64,
        DType::F16,
        DType::I64,
        DType::I32,
        DType::I8,
        DType::U8,
        DType::Bool,
        DType::BF16,
        DType::I16,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::I4,
        DType::U4,
        DType::I2,
        DType::U2,
        DType::F8E4M3FN,
        DType::F8E4M3FNUZ,
        DType::F8E5M2,
        DType::F8E5M2FNUZ,
        DType::F8E8M0,
        DType::F4E2M1,
    ];

    /// The spelling in the `.air` text form.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::F16 => "f16",
            DType::I64 => "i64",
            DType::I32 => "i32",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::Bool => "bool",
            DType::BF16 => "bf16",
            DType::I16 => "i16",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::I4 => "i4",
            DType::U4 => "u4",
            DType::I2 => "i2",
            DType::U2 => "u2",
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E4M3FNUZ => "f8e4m3fnuz",
            DType::F8E5M2 => "f8e5m2",
            DType::F8E5M2FNUZ => "f8e5m2fnuz",
            DType::F8E8M0 => "f8e8m0",
            DType::F4E2M1 => "f4e2m1",
        }
    }

    /// Inverse of [`DType::name`].
    pub fn from_name(s: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == s)
    }

    /// Size of one element in memory, in bytes (coded types take one byte per element; see
    /// [`DType::bits`] for their width).
    pub fn size_bytes(self) -> usize {
        match self {
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I4
            | DType::U4
            | DType::I2
            | DType::U2
            | DType::F8E4M3FN
            | DType::F8E4M3FNUZ
            | DType::F8E5M2
            | DType::F8E5M2FNUZ
            | DType::F8E8M0
            | DType::F4E2M1 => 1,
        }
    }

    /// Width of one element in bits as the type defines it (8 for bool, 4 for `i4`).
    pub fn bits(self) -> u32 {
        match self.coded() {
            Some(c) => c.bits(),
            None => 8 * self.size_bytes() as u32,
        }
    }

    /// True for the floating-point dtypes arithmetic works on: f32, f64, f16, bf16 (the
    /// coded 8- and 4-bit floats are not among them).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
    }

    /// True for the integer dtypes arithmetic works on: 8 to 64 bits, signed or not (not
    /// bool, not the coded 4- and 2-bit integers).
    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::I64
                | DType::I32
                | DType::I16
                | DType::I8
                | DType::U64
                | DType::U32
                | DType::U16
                | DType::U8
        )
    }

    /// The coded type of a dtype stored one code per byte (`i4`, `f8e4m3fn`, …), `None` for
    /// the others.
    pub fn coded(self) -> Option<CodedType> {
        CodedType::ALL.into_iter().find(|c| c.dtype() == self)
    }

    /// True for the float dtypes of any width, coded ones included.
    pub fn is_any_float(self) -> bool {
        self.is_float() || self.coded().is_some_and(CodedType::is_float)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A static tensor type: dtype plus shape. A scalar has an empty shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
}

impl TensorType {
    /// Builds a tensor type.
    pub fn new(dtype: DType, shape: impl Into<Vec<usize>>) -> Self {
        TensorType { dtype, shape: shape.into() }
    }

    /// Number of elements (1 for a scalar). Saturates instead of overflowing.
    pub fn numel(&self) -> usize {
        self.shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
    }

    /// Rank (number of dimensions).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Size in bytes of a dense buffer of this type.
    pub fn size_bytes(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size_bytes())
    }
}

impl fmt::Display for TensorType {
    /// `f32[1,3,224,224]`; a scalar is `f32[]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtype_names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_name(d.name()), Some(d));
        }
        assert_eq!(DType::from_name("f8"), None);
    }

    #[test]
    fn dtype_classes() {
        for d in DType::ALL {
            let classes = [d.is_float(), d.is_int(), d.coded().is_some(), d == DType::Bool];
            assert_eq!(classes.iter().filter(|&&c| c).count(), 1, "{d}");
        }
        assert_eq!(DType::F8E5M2.coded().map(|c| c.dtype()), Some(DType::F8E5M2));
        assert_eq!((DType::I4.bits(), DType::F8E8M0.bits(), DType::BF16.bits()), (4, 8, 16));
        assert!(DType::F4E2M1.is_any_float() && !DType::I4.is_any_float());
    }

    #[test]
    fn tensor_type_display() {
        assert_eq!(TensorType::new(DType::F32, [1, 3, 2]).to_string(), "f32[1,3,2]");
        assert_eq!(TensorType::new(DType::I64, []).to_string(), "i64[]");
        assert_eq!(TensorType::new(DType::I64, []).numel(), 1);
    }
}
