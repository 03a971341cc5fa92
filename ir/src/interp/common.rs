//! Helpers shared by the kernels: typed element access, error constructors, attribute and
//! axis normalisation, broadcasting index maps, and the f16-through-f32 adapter.
//!
//! Element traits: [`Scalar`] (every uncoded dtype: data movement), [`Num`] (f32, f64 and
//! the 8- to 64-bit integers: arithmetic and comparisons), [`Real`] (f32, f64:
//! transcendental functions and GEMM). Kernels are generic over one of them and dispatched
//! on the dtype with [`any_dtype!`], [`num_dtype!`] or [`real_dtype!`]. The 16-bit floats
//! (f16, bf16) go through f32 ([`via_f32`]); the coded dtypes (i4, f8e4m3fn, …) reach data
//! movement kernels as their `u8` codes ([`via_codes`], applied by `eval_node`). Nothing
//! here knows about a particular op.

use super::{EvalCx, InterpError};
use crate::tensor::{Tensor, TensorData};
use crate::types::{DType, TensorType};
use half::{bf16, f16};

/// What every kernel returns.
pub type KResult = Result<Vec<Tensor>, InterpError>;

/// An "operand values are inconsistent" error for the current op.
pub fn invalid(cx: &EvalCx, msg: impl Into<String>) -> InterpError {
    InterpError::Invalid { op: cx.op, msg: msg.into() }
}

/// An "unsupported by the interpreter" error for the current op.
pub fn unsupported(cx: &EvalCx, what: impl Into<String>) -> InterpError {
    InterpError::Unsupported { op: cx.op, what: what.into() }
}

/// The dtype `dt` is not handled by this kernel.
pub fn unsupported_dtype(cx: &EvalCx, dt: DType) -> InterpError {
    unsupported(cx, format!("dtype {dt}"))
}

/// Operand `i`, or an error when the node has fewer.
pub fn input<'a>(cx: &EvalCx<'a>, i: usize) -> Result<&'a Tensor, InterpError> {
    cx.inputs
        .get(i)
        .copied()
        .ok_or_else(|| invalid(cx, format!("expected at least {} operand(s)", i + 1)))
}

/// Operand `i` if present.
pub fn opt_input<'a>(cx: &EvalCx<'a>, i: usize) -> Option<&'a Tensor> {
    cx.inputs.get(i).copied()
}

/// Result type `i`, or an error when the shape rule gave fewer.
pub fn output<'a>(cx: &EvalCx<'a>, i: usize) -> Result<&'a TensorType, InterpError> {
    cx.outputs.get(i).ok_or_else(|| invalid(cx, format!("expected at least {} result(s)", i + 1)))
}

/// Builds a tensor, turning an element-count mismatch into an interpreter error.
pub fn make(cx: &EvalCx, shape: Vec<usize>, data: TensorData) -> Result<Tensor, InterpError> {
    Tensor::new(shape, data).map_err(|e| invalid(cx, e.to_string()))
}

/// Normalises a possibly negative axis against `rank`.
pub fn norm_axis(cx: &EvalCx, axis: i64, rank: usize) -> Result<usize, InterpError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(invalid(cx, format!("axis {axis} is out of range for rank {rank}")))
    }
}

/// Converts a list attribute to sizes, rejecting negative entries.
pub fn to_sizes(cx: &EvalCx, name: &str, v: &[i64]) -> Result<Vec<usize>, InterpError> {
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| invalid(cx, format!("`{name}` has entry {x}"))))
        .collect()
}

/// A per-spatial-axis list attribute (`strides`, `pads`, …) of `len` sizes; an empty list
/// means `default` everywhere.
pub fn spatial_list(
    cx: &EvalCx,
    name: &str,
    len: usize,
    default: usize,
) -> Result<Vec<usize>, InterpError> {
    let v = to_sizes(cx, name, cx.attrs.ints(name)?)?;
    match v.len() {
        0 => Ok(vec![default; len]),
        n if n == len => Ok(v),
        n => Err(invalid(cx, format!("`{name}` has {n} entries, expected {len}"))),
    }
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Product of the dims (1 for an empty list), saturating instead of overflowing.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |a, &d| a.saturating_mul(d))
}

/// Checks a result shape the kernel computed against the one the shape rule gave, before
/// the kernel allocates it (so attribute values cannot request more than the graph's
/// declared types).
pub fn expect_shape(cx: &EvalCx, i: usize, shape: &[usize]) -> Result<(), InterpError> {
    let want = output(cx, i)?;
    if want.shape == shape {
        Ok(())
    } else {
        Err(invalid(cx, format!("computed result shape {shape:?}, the shape rule says {want}")))
    }
}

/// Advances a row-major multi-index over `shape`; returns false when it wraps around.
pub fn next_index(idx: &mut [usize], shape: &[usize]) -> bool {
    for i in (0..idx.len()).rev() {
        idx[i] += 1;
        if idx[i] < shape[i] {
            return true;
        }
        idx[i] = 0;
    }
    false
}

/// Strides of `inp` aligned to the trailing dims of `out`, 0 where `inp` broadcasts;
/// `None` when `inp` does not broadcast to `out` (numpy rules, one direction).
pub fn broadcast_strides(out: &[usize], inp: &[usize]) -> Option<Vec<usize>> {
    if inp.len() > out.len() {
        return None;
    }
    let lead = out.len() - inp.len();
    let st = strides(inp);
    let mut r = vec![0usize; out.len()];
    for (i, (&d, &s)) in inp.iter().zip(&st).enumerate() {
        let o = out[lead + i];
        if d == o {
            r[lead + i] = if d == 1 { 0 } else { s };
        } else if d != 1 {
            return None;
        }
    }
    Some(r)
}

/// The numpy broadcast of two shapes, or an error naming both.
pub fn broadcast_shapes(cx: &EvalCx, a: &[usize], b: &[usize]) -> Result<Vec<usize>, InterpError> {
    let r = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() >= r { s[i + s.len() - r] } else { 1 };
    (0..r)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            _ => Err(invalid(cx, format!("shapes {a:?} and {b:?} do not broadcast"))),
        })
        .collect()
}

/// For every element of `out` (row-major), the offset of the element of `inp` it reads
/// when `inp` is broadcast to `out`.
pub fn broadcast_index(
    cx: &EvalCx,
    out: &[usize],
    inp: &[usize],
) -> Result<Vec<usize>, InterpError> {
    let st = broadcast_strides(out, inp)
        .ok_or_else(|| invalid(cx, format!("shape {inp:?} does not broadcast to {out:?}")))?;
    let n = numel(out);
    let mut idx = Vec::with_capacity(n);
    if n == 0 {
        return Ok(idx);
    }
    let r = out.len();
    if r == 0 {
        idx.push(0);
        return Ok(idx);
    }
    let (inner, inner_st) = (out[r - 1], st[r - 1]);
    let outer = &out[..r - 1];
    let mut pos = vec![0usize; r - 1];
    loop {
        let base: usize = pos.iter().zip(&st).map(|(&p, &s)| p * s).sum();
        idx.extend((0..inner).map(|j| base + j * inner_st));
        if !next_index(&mut pos, outer) {
            break;
        }
    }
    Ok(idx)
}

/// Elements of one dtype: data movement works on every dtype.
pub trait Scalar: Copy + PartialEq + Send + Sync + 'static {
    /// The dtype.
    const DTYPE: DType;
    /// The element nearest to `v` under ONNX `Cast` rules.
    fn from_f64(v: f64) -> Self;
    /// The element as f64 (exact except for large i64).
    fn to_f64(self) -> f64;
    /// The storage of `d`, if it holds this type.
    fn slice(d: &TensorData) -> Option<&[Self]>;
    /// Wraps a vector as storage.
    fn wrap(v: Vec<Self>) -> TensorData;
}

/// Numeric elements: arithmetic with ONNX semantics (integers wrap; division truncates).
pub trait Num: Scalar + PartialOrd {
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// The smallest value (−∞ for floats).
    const LOWEST: Self;
    /// The largest value (+∞ for floats).
    const HIGHEST: Self;
    /// True for f32/f64.
    const FLOAT: bool;
    /// a + b.
    fn add(self, o: Self) -> Self;
    /// a − b.
    fn sub(self, o: Self) -> Self;
    /// a · b.
    fn mul(self, o: Self) -> Self;
    /// a / b (callers reject integer division by zero first).
    fn div(self, o: Self) -> Self;
    /// NaN-propagating maximum.
    fn max_nan(self, o: Self) -> Self;
    /// NaN-propagating minimum.
    fn min_nan(self, o: Self) -> Self;
    /// a ^ b with b given as f64 (the result keeps a's type).
    fn pow_f64(self, b: f64) -> Self;
    /// The value as i64 (floats truncate, saturating).
    fn as_i64(self) -> i64;
    /// An i64 converted to this type (integers wrap).
    fn from_i64(v: i64) -> Self;
    /// True for zero.
    fn is_zero(self) -> bool {
        self == Self::ZERO
    }
}

macro_rules! scalar_impl {
    ($t:ty, $dt:ident, |$v:ident| $from:expr, |$s:ident| $to:expr) => {
        impl Scalar for $t {
            const DTYPE: DType = DType::$dt;
            fn from_f64($v: f64) -> Self {
                $from
            }
            fn to_f64(self) -> f64 {
                let $s = self;
                $to
            }
            fn slice(d: &TensorData) -> Option<&[Self]> {
                match d {
                    TensorData::$dt(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> TensorData {
                TensorData::$dt(v)
            }
        }
    };
}
scalar_impl!(f32, F32, |v| v as f32, |s| s as f64);
scalar_impl!(f64, F64, |v| v, |s| s);
scalar_impl!(f16, F16, |v| crate::coded::f16_from_f64(v), |s| s.to_f64());
scalar_impl!(bf16, BF16, |v| crate::coded::bf16_from_f64(v), |s| s.to_f64());
scalar_impl!(i64, I64, |v| v as i64, |s| s as f64);
// Narrow integers go through i64 and wrap, as `Tensor::cast` does.
scalar_impl!(i32, I32, |v| v as i64 as i32, |s| s as f64);
scalar_impl!(i16, I16, |v| v as i64 as i16, |s| s as f64);
scalar_impl!(i8, I8, |v| v as i64 as i8, |s| s as f64);
scalar_impl!(u64, U64, |v| if v >= 0.0 { v as u64 } else { v as i64 as u64 }, |s| s as f64);
scalar_impl!(u32, U32, |v| v as i64 as u32, |s| s as f64);
scalar_impl!(u16, U16, |v| v as i64 as u16, |s| s as f64);
scalar_impl!(u8, U8, |v| v as i64 as u8, |s| s as f64);
scalar_impl!(bool, Bool, |v| v != 0.0, |s| s as u8 as f64);

macro_rules! num_int_impl {
    ($t:ty) => {
        impl Num for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            const FLOAT: bool = false;
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            fn mul(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            fn div(self, o: Self) -> Self {
                if o == 0 {
                    0
                } else {
                    self.wrapping_div(o)
                }
            }
            fn max_nan(self, o: Self) -> Self {
                Ord::max(self, o)
            }
            fn min_nan(self, o: Self) -> Self {
                Ord::min(self, o)
            }
            fn pow_f64(self, b: f64) -> Self {
                if b >= 0.0 && b.fract() == 0.0 && b <= u32::MAX as f64 {
                    self.wrapping_pow(b as u32)
                } else {
                    (self as f64).powf(b) as $t
                }
            }
            fn as_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}
num_int_impl!(i64);
num_int_impl!(i32);
num_int_impl!(i16);
num_int_impl!(i8);
num_int_impl!(u64);
num_int_impl!(u32);
num_int_impl!(u16);
num_int_impl!(u8);

macro_rules! num_float_impl {
    ($t:ty) => {
        impl Num for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;
            const FLOAT: bool = true;
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
            fn max_nan(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() {
                    <$t>::NAN
                } else {
                    <$t>::max(self, o)
                }
            }
            fn min_nan(self, o: Self) -> Self {
                if self.is_nan() || o.is_nan() {
                    <$t>::NAN
                } else {
                    <$t>::min(self, o)
                }
            }
            fn pow_f64(self, b: f64) -> Self {
                (self as f64).powf(b) as $t
            }
            fn as_i64(self) -> i64 {
                self as i64
            }
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}
num_float_impl!(f32);
num_float_impl!(f64);

/// Floating-point elements (f32, f64): everything the float-only kernels need.
pub trait Real:
    Num
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + std::ops::AddAssign
    + std::ops::MulAssign
{
    /// e^x.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Error function.
    fn erf(self) -> Self;
    /// `C ← α·A·B + β·C` with arbitrary row/column strides; returns false (computing
    /// nothing) when a stride pattern would reach outside a slice. See
    /// [`super::matmul::sgemm_raw`].
    #[allow(clippy::too_many_arguments)]
    fn gemm_raw(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        sa: (usize, usize),
        b: &[Self],
        sb: (usize, usize),
        beta: Self,
        c: &mut [Self],
        sc: (usize, usize),
    ) -> bool;
}

macro_rules! real_impl {
    ($t:ty, $erf:path, $gemm:path) => {
        impl Real for $t {
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            fn erf(self) -> Self {
                $erf(self)
            }
            fn gemm_raw(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                sa: (usize, usize),
                b: &[Self],
                sb: (usize, usize),
                beta: Self,
                c: &mut [Self],
                sc: (usize, usize),
            ) -> bool {
                $gemm(m, k, n, alpha, a, sa, b, sb, beta, c, sc)
            }
        }
    };
}
real_impl!(f32, libm::erff, super::matmul::sgemm_raw);
real_impl!(f64, libm::erf, super::matmul::dgemm_raw);

/// The typed elements of operand `i`, or an error naming the dtype found.
pub fn elems<'a, T: Scalar>(cx: &EvalCx<'a>, i: usize) -> Result<&'a [T], InterpError> {
    let t = input(cx, i)?;
    T::slice(t.data())
        .ok_or_else(|| invalid(cx, format!("operand {i} is {}, expected {}", t.dtype(), T::DTYPE)))
}

/// Runs `kernel` with f16 and bf16 operands and results widened to f32, then rounds the f32
/// results that should be f16 or bf16 back. Used by float-only kernels.
pub fn via_f32(cx: &EvalCx, kernel: fn(&EvalCx) -> KResult) -> KResult {
    via_casts(cx, &[DType::F16, DType::BF16], DType::F32, kernel)
}

/// Runs `kernel` with `narrow` operands and result types converted to `wide`, then converts
/// the results that should be `narrow` back (exactly, when `wide` holds every `narrow`
/// value).
pub fn via_cast(
    cx: &EvalCx,
    narrow: DType,
    wide: DType,
    kernel: fn(&EvalCx) -> KResult,
) -> KResult {
    via_casts(cx, &[narrow], wide, kernel)
}

/// [`via_cast`] for several narrow dtypes at once: each result whose declared dtype is one
/// of them is converted back to that dtype.
fn via_casts(
    cx: &EvalCx,
    narrow: &[DType],
    wide: DType,
    kernel: fn(&EvalCx) -> KResult,
) -> KResult {
    let widened: Vec<Tensor> = cx
        .inputs
        .iter()
        .map(|t| if narrow.contains(&t.dtype()) { t.cast(wide) } else { (*t).clone() })
        .collect();
    let refs: Vec<&Tensor> = widened.iter().collect();
    let outs: Vec<TensorType> = cx
        .outputs
        .iter()
        .map(|t| {
            let dtype = if narrow.contains(&t.dtype) { wide } else { t.dtype };
            TensorType::new(dtype, t.shape.clone())
        })
        .collect();
    let sub = EvalCx { op: cx.op, inputs: &refs, attrs: cx.attrs, outputs: &outs };
    let results = kernel(&sub)?;
    Ok(results
        .into_iter()
        .enumerate()
        .map(|(i, t)| match cx.outputs.get(i) {
            Some(w) if narrow.contains(&w.dtype) && t.dtype() == wide => t.cast(w.dtype),
            _ => t,
        })
        .collect())
}

/// Runs a data-movement `kernel` with coded operands (i4, f8e4m3fn, …) as their `u8` codes,
/// then retags the `u8` results whose declared dtype is coded. `value_attr` names a float
/// attribute holding an element value (pad's `value`), which is replaced by its code.
pub fn via_codes(cx: &EvalCx, value_attr: Option<&str>, kernel: fn(&EvalCx) -> KResult) -> KResult {
    let inputs: Vec<Tensor> = cx
        .inputs
        .iter()
        .map(|t| match t.dtype().coded() {
            Some(_) => make(cx, t.shape().to_vec(), t.data().codes_as_u8()),
            None => Ok((*t).clone()),
        })
        .collect::<Result<_, _>>()?;
    let refs: Vec<&Tensor> = inputs.iter().collect();
    let outs: Vec<TensorType> = cx
        .outputs
        .iter()
        .map(|t| match t.dtype.coded() {
            Some(_) => TensorType::new(DType::U8, t.shape.clone()),
            None => t.clone(),
        })
        .collect();
    let mut attrs = cx.attrs.clone();
    let coded_out = cx.outputs.iter().find_map(|t| t.dtype.coded());
    if let (Some(name), Some(c)) = (value_attr, coded_out) {
        let v = cx.attrs.float(name)?;
        let code = c.from_f64(v as f64, crate::coded::CastOptions::default());
        attrs.set(name, crate::attr::Attr::Float(f32::from(code)));
    }
    let sub = EvalCx { op: cx.op, inputs: &refs, attrs: &attrs, outputs: &outs };
    kernel(&sub)?
        .into_iter()
        .enumerate()
        .map(|(i, t)| match cx.outputs.get(i).and_then(|w| w.dtype.coded()) {
            Some(c) if t.dtype() == DType::U8 => {
                let shape = t.shape().to_vec();
                let data = t.into_data().u8_as_codes(c).ok_or_else(|| invalid(cx, "codes"))?;
                make(cx, shape, data)
            }
            _ => Ok(t),
        })
        .collect()
}

/// True when any operand or result has a coded dtype.
pub fn touches_codes(cx: &EvalCx) -> bool {
    cx.inputs.iter().any(|t| t.dtype().coded().is_some())
        || cx.outputs.iter().any(|t| t.dtype.coded().is_some())
}

/// True when any operand or result is a 16-bit float (f16 or bf16): the kernel should go
/// through [`via_f32`].
pub fn touches_f16(cx: &EvalCx) -> bool {
    let half = |d: DType| matches!(d, DType::F16 | DType::BF16);
    cx.inputs.iter().any(|t| half(t.dtype())) || cx.outputs.iter().any(|t| half(t.dtype))
}

/// Dispatches `$body` with the type alias `$t` bound to the element type of `$dt`
/// (every dtype). Coded dtypes bind `u8`, the type of their codes: kernels see them only
/// through [`via_codes`], which hands them `u8` storage (given coded storage directly,
/// [`elems`] reports the dtype mismatch).
macro_rules! any_dtype {
    ($dt:expr, $t:ident => $body:expr) => {
        match $dt {
            $crate::types::DType::BF16 => {
                type $t = half::bf16;
                $body
            }
            $crate::types::DType::I16 => {
                type $t = i16;
                $body
            }
            $crate::types::DType::U16 => {
                type $t = u16;
                $body
            }
            $crate::types::DType::U32 => {
                type $t = u32;
                $body
            }
            $crate::types::DType::U64 => {
                type $t = u64;
                $body
            }
            $crate::types::DType::I4
            | $crate::types::DType::U4
            | $crate::types::DType::I2
            | $crate::types::DType::U2
            | $crate::types::DType::F8E4M3FN
            | $crate::types::DType::F8E4M3FNUZ
            | $crate::types::DType::F8E5M2
            | $crate::types::DType::F8E5M2FNUZ
            | $crate::types::DType::F8E8M0
            | $crate::types::DType::F4E2M1 => {
                type $t = u8;
                $body
            }
            $crate::types::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::types::DType::F64 => {
                type $t = f64;
                $body
            }
            $crate::types::DType::F16 => {
                type $t = half::f16;
                $body
            }
            $crate::types::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::types::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::types::DType::I8 => {
                type $t = i8;
                $body
            }
            $crate::types::DType::U8 => {
                type $t = u8;
                $body
            }
            $crate::types::DType::Bool => {
                type $t = bool;
                $body
            }
        }
    };
}
pub(crate) use any_dtype;

/// Like [`any_dtype!`] for the numeric dtypes (not f16/bf16, not bool, not coded);
/// `$other` binds the dtype otherwise.
macro_rules! num_dtype {
    ($dt:expr, $t:ident => $body:expr, $other:ident => $fallback:expr) => {
        match $dt {
            $crate::types::DType::I16 => {
                type $t = i16;
                $body
            }
            $crate::types::DType::U16 => {
                type $t = u16;
                $body
            }
            $crate::types::DType::U32 => {
                type $t = u32;
                $body
            }
            $crate::types::DType::U64 => {
                type $t = u64;
                $body
            }
            $crate::types::DType::F32 => {
                type $t = f32;
                $body
            }
            $crate::types::DType::F64 => {
                type $t = f64;
                $body
            }
            $crate::types::DType::I64 => {
                type $t = i64;
                $body
            }
            $crate::types::DType::I32 => {
                type $t = i32;
                $body
            }
            $crate::types::DType::I8 => {
                type $t = i8;
                $body
            }
            $crate::types::DType::U8 => {
                type $t = u8;
                $body
            }
            $other => $fallback,
        }
    };
}
pub(crate) use num_dtype;

/// Dispatches a float-only kernel: `$k::<f32>` / `$k::<f64>`, f16 and bf16 through f32,
/// any other dtype is unsupported.
macro_rules! real_dtype {
    ($cx:expr, $dt:expr, $k:ident) => {
        match $dt {
            $crate::types::DType::F32 => $k::<f32>($cx),
            $crate::types::DType::F64 => $k::<f64>($cx),
            $crate::types::DType::F16 | $crate::types::DType::BF16 => {
                $crate::interp::common::via_f32($cx, $k::<f32>)
            }
            other => Err($crate::interp::common::unsupported_dtype($cx, other)),
        }
    };
}
pub(crate) use real_dtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_follow_numpy() {
        assert_eq!(broadcast_strides(&[2, 3, 4], &[3, 1]), Some(vec![0, 1, 0]));
        assert_eq!(broadcast_strides(&[2, 3, 4], &[2, 3, 4]), Some(vec![12, 4, 1]));
        assert_eq!(broadcast_strides(&[2, 3], &[4]), None);
        assert_eq!(broadcast_strides(&[3], &[2, 3]), None);
    }

    #[test]
    fn next_index_counts_row_major() {
        let mut idx = vec![0, 0];
        let mut seen = vec![idx.clone()];
        while next_index(&mut idx, &[2, 2]) {
            seen.push(idx.clone());
        }
        assert_eq!(seen, vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]);
    }

    #[test]
    fn integer_arithmetic_wraps_and_truncates() {
        assert_eq!(Num::div(-7i32, 2), -3);
        assert_eq!(Num::div(7i64, -2), -3);
        assert_eq!(Num::add(250u8, 10), 4);
        assert_eq!(Num::pow_f64(3i64, 3.0), 27);
        assert_eq!(Num::pow_f64(2i32, -1.0), 0);
        assert!(Num::max_nan(f32::NAN, 1.0).is_nan());
        assert_eq!(Num::min_nan(2.0f64, 1.0), 1.0);
    }
}

/// Helpers for the kernel unit tests.
#[cfg(test)]
pub mod testutil {
    use crate::attr::{Attr, Attrs};
    use crate::interp::{eval_node, InterpError};
    use crate::ops::OpKind;
    use crate::tensor::{seeded_uniform, Tensor, TensorData};
    use crate::types::{DType, TensorType};

    /// An f32 tensor.
    pub fn f32t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_f32(shape.to_vec(), v.to_vec()).expect("element count")
    }

    /// A tensor of any dtype.
    pub fn tensor(shape: &[usize], d: TensorData) -> Tensor {
        Tensor::new(shape.to_vec(), d).expect("element count")
    }

    /// Deterministic random f32 tensor in [-1, 1).
    pub fn rand(shape: &[usize], seed: u64) -> Tensor {
        let n = shape.iter().product();
        f32t(shape, &seeded_uniform(seed, n, -1.0, 1.0))
    }

    /// Attributes from (name, value) pairs.
    pub fn attrs(list: &[(&str, Attr)]) -> Attrs {
        let mut a = Attrs::new();
        for (k, v) in list {
            a.set(k, v.clone());
        }
        a
    }

    /// `Attr::Ints`.
    pub fn ints(v: &[i64]) -> Attr {
        Attr::Ints(v.to_vec())
    }

    /// Runs one op; the result types are `outs`.
    pub fn try_run(
        op: OpKind,
        a: &Attrs,
        inputs: &[&Tensor],
        outs: &[TensorType],
    ) -> Result<Vec<Tensor>, InterpError> {
        eval_node(op, a, inputs, outs)
    }

    /// Runs one op with one result of type `dtype[shape]`, which must succeed.
    pub fn run1(
        op: OpKind,
        a: &Attrs,
        inputs: &[&Tensor],
        dtype: DType,
        shape: &[usize],
    ) -> Tensor {
        let outs = [TensorType::new(dtype, shape.to_vec())];
        match eval_node(op, a, inputs, &outs) {
            Ok(mut v) => v.remove(0),
            Err(e) => panic!("{op} failed: {e}"),
        }
    }

    /// The f32 elements of `t`.
    pub fn vals(t: &Tensor) -> Vec<f32> {
        t.as_f32().expect("an f32 tensor").to_vec()
    }

    /// Asserts `|got − want| ≤ tol·(1 + |want|)` elementwise (NaN matches NaN).
    pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let ok = if w.is_nan() { g.is_nan() } else { (g - w).abs() <= tol * (1.0 + w.abs()) };
            assert!(ok, "element {i}: got {g}, want {w}\n got {got:?}\nwant {want:?}");
        }
    }
}
