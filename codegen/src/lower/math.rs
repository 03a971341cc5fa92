//! Float math on LLVM values: the transcendental and activation functions the elementwise
//! generators and the fused epilogues of conv/gemm/matmul share.
//!
//! Every function takes and returns a float scalar or a float vector (f32 or f64, any lane
//! count) and builds straight-line IR at the builder's position, so it vectorises with the
//! loop around it. `exp`, `log` and `sqrt` are LLVM intrinsics; `tanh` and `erf`, which have
//! none, are built from `exp` (`erf`: Abramowitz–Stegun 7.1.26, absolute error ≤ 1.5e-7).
//! Results agree with the interpreter within the conformance tolerances, not bit for bit.
//! Integer math is not here (see `elementwise`).

use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::Activation;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValue, BasicValueEnum};
use inkwell::FloatPredicate;

type V<'ctx> = BasicValueEnum<'ctx>;
type R<'ctx> = Result<BasicValueEnum<'ctx>, CodegenError>;

/// A float constant of the same type as `like` (splat for vectors).
pub fn fconst<'ctx>(_cx: &KernelCx<'_, 'ctx>, like: V<'ctx>, v: f64) -> R<'ctx> {
    match like.get_type() {
        BasicTypeEnum::FloatType(t) => Ok(t.const_float(v).into()),
        BasicTypeEnum::VectorType(t) => {
            let elem = t.get_element_type().into_float_type().const_float(v);
            let lanes: Vec<_> = (0..t.get_size()).map(|_| elem).collect();
            Ok(inkwell::types::VectorType::const_vector(&lanes).into())
        }
        other => Err(CodegenError::Llvm(format!("float constant of type {other:?}"))),
    }
}

fn bin<'ctx>(cx: &KernelCx<'_, 'ctx>, op: char, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    let b_ = &cx.builder;
    Ok(match (a, b) {
        (V::FloatValue(a), V::FloatValue(b)) => match op {
            '+' => b_.build_float_add(a, b, "f")?.into(),
            '-' => b_.build_float_sub(a, b, "f")?.into(),
            '*' => b_.build_float_mul(a, b, "f")?.into(),
            _ => b_.build_float_div(a, b, "f")?.into(),
        },
        (V::VectorValue(a), V::VectorValue(b)) => match op {
            '+' => b_.build_float_add(a, b, "f")?.into(),
            '-' => b_.build_float_sub(a, b, "f")?.into(),
            '*' => b_.build_float_mul(a, b, "f")?.into(),
            _ => b_.build_float_div(a, b, "f")?.into(),
        },
        _ => return Err(CodegenError::Llvm("float op on mismatched operands".into())),
    })
}

/// `a + b`.
pub fn add<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    bin(cx, '+', a, b)
}
/// `a - b`.
pub fn sub<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    bin(cx, '-', a, b)
}
/// `a * b`.
pub fn mul<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    bin(cx, '*', a, b)
}
/// `a / b`.
pub fn div<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    bin(cx, '/', a, b)
}
/// `a * k` for a constant `k`.
pub fn mul_c<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, k: f64) -> R<'ctx> {
    mul(cx, a, fconst(cx, a, k)?)
}
/// `a + k` for a constant `k`.
pub fn add_c<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, k: f64) -> R<'ctx> {
    add(cx, a, fconst(cx, a, k)?)
}
/// `-a`.
pub fn neg<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>) -> R<'ctx> {
    Ok(match a {
        V::FloatValue(a) => cx.builder.build_float_neg(a, "neg")?.into(),
        V::VectorValue(a) => cx.builder.build_float_neg(a, "neg")?.into(),
        _ => return Err(CodegenError::Llvm("negating a non-float".into())),
    })
}

/// `cond(a, b) ? x : y` with a float comparison.
pub fn select_cmp<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    pred: FloatPredicate,
    a: V<'ctx>,
    b: V<'ctx>,
    x: V<'ctx>,
    y: V<'ctx>,
) -> R<'ctx> {
    let c = fcmp(cx, pred, a, b)?;
    cx.select(c, x, y)
}

/// A float comparison giving `i1` or `<n x i1>`.
pub fn fcmp<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    pred: FloatPredicate,
    a: V<'ctx>,
    b: V<'ctx>,
) -> R<'ctx> {
    Ok(match (a, b) {
        (V::FloatValue(a), V::FloatValue(b)) => {
            cx.builder.build_float_compare(pred, a, b, "c")?.as_basic_value_enum()
        }
        (V::VectorValue(a), V::VectorValue(b)) => {
            cx.builder.build_float_compare(pred, a, b, "c")?.as_basic_value_enum()
        }
        _ => return Err(CodegenError::Llvm("comparing mismatched operands".into())),
    })
}

/// `max(a, b)` as `a < b ? b : a` (NaN in `a` propagates, as the interpreter's comparisons do).
pub fn max<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    select_cmp(cx, FloatPredicate::OLT, a, b, b, a)
}
/// `min(a, b)` as `a > b ? b : a`.
pub fn min<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, b: V<'ctx>) -> R<'ctx> {
    select_cmp(cx, FloatPredicate::OGT, a, b, b, a)
}
/// `min(max(a, lo), hi)`.
pub fn clamp<'ctx>(cx: &KernelCx<'_, 'ctx>, a: V<'ctx>, lo: f64, hi: f64) -> R<'ctx> {
    let lo = fconst(cx, a, lo)?;
    let hi = fconst(cx, a, hi)?;
    let m = max(cx, a, lo)?;
    min(cx, m, hi)
}

/// `e^x`.
pub fn exp<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    cx.call_intrinsic("llvm.exp", &[x])
}
/// `ln x`.
pub fn log<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    cx.call_intrinsic("llvm.log", &[x])
}
/// `√x`.
pub fn sqrt<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    cx.call_intrinsic("llvm.sqrt", &[x])
}
/// `|x|`.
pub fn fabs<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    cx.call_intrinsic("llvm.fabs", &[x])
}
/// `copysign(mag, sign)`.
pub fn copysign<'ctx>(cx: &KernelCx<'_, 'ctx>, mag: V<'ctx>, sign: V<'ctx>) -> R<'ctx> {
    cx.call_intrinsic("llvm.copysign", &[mag, sign])
}

/// `tanh x = sign(x)·(1 − e)/(1 + e)` with `e = exp(−2|x|)`.
pub fn tanh<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    let a = fabs(cx, x)?;
    let e = exp(cx, mul_c(cx, a, -2.0)?)?;
    let one = fconst(cx, x, 1.0)?;
    let t = div(cx, sub(cx, one, e)?, add(cx, one, e)?)?;
    copysign(cx, t, x)
}

/// Logistic sigmoid, `1 / (1 + e^−x)`, computed without overflow for either sign.
pub fn sigmoid<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    let a = fabs(cx, x)?;
    let e = exp(cx, neg(cx, a)?)?;
    let one = fconst(cx, x, 1.0)?;
    let pos = div(cx, one, add(cx, one, e)?)?;
    let negv = sub(cx, one, pos)?;
    let zero = fconst(cx, x, 0.0)?;
    select_cmp(cx, FloatPredicate::OGE, x, zero, pos, negv)
}

/// Error function, Abramowitz–Stegun 7.1.26 (absolute error ≤ 1.5e-7).
pub fn erf<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    const P: f64 = 0.327_591_1;
    const A: [f64; 5] =
        [0.254_829_592, -0.284_496_736, 1.421_413_741, -1.453_152_027, 1.061_405_429];
    let a = fabs(cx, x)?;
    let one = fconst(cx, x, 1.0)?;
    let t = div(cx, one, add(cx, one, mul_c(cx, a, P)?)?)?;
    let mut poly = fconst(cx, x, A[4])?;
    for &c in A[..4].iter().rev() {
        poly = cx.fmuladd(poly, t, fconst(cx, x, c)?)?;
    }
    poly = mul(cx, poly, t)?;
    let e = exp(cx, neg(cx, mul(cx, a, a)?)?)?;
    let y = sub(cx, one, mul(cx, poly, e)?)?;
    copysign(cx, y, x)
}

/// GELU, exact (`0.5·x·(1 + erf(x/√2))`) or with the tanh approximation.
pub fn gelu<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>, tanh_approx: bool) -> R<'ctx> {
    let inner = if tanh_approx {
        let c = (2.0 / std::f64::consts::PI).sqrt();
        let x3 = mul(cx, mul(cx, x, x)?, x)?;
        let s = cx.fmuladd(x3, fconst(cx, x, 0.044715)?, x)?;
        tanh(cx, mul_c(cx, s, c)?)?
    } else {
        erf(cx, mul_c(cx, x, std::f64::consts::FRAC_1_SQRT_2)?)?
    };
    let half_x = mul_c(cx, x, 0.5)?;
    mul(cx, half_x, add_c(cx, inner, 1.0)?)
}

/// `max(0, min(1, alpha·x + beta))`.
pub fn hard_sigmoid<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>, alpha: f64, beta: f64) -> R<'ctx> {
    let y = cx.fmuladd(x, fconst(cx, x, alpha)?, fconst(cx, x, beta)?)?;
    clamp(cx, y, 0.0, 1.0)
}

/// `x · hard_sigmoid(x; 1/6, 1/2)`.
pub fn hard_swish<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    let h = hard_sigmoid(cx, x, 1.0 / 6.0, 0.5)?;
    mul(cx, x, h)
}

/// `x < 0 ? 0 : x`.
pub fn relu<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>) -> R<'ctx> {
    let zero = fconst(cx, x, 0.0)?;
    select_cmp(cx, FloatPredicate::OLT, x, zero, zero, x)
}

/// `x < 0 ? alpha·x : x`.
pub fn leaky_relu<'ctx>(cx: &KernelCx<'_, 'ctx>, x: V<'ctx>, alpha: f64) -> R<'ctx> {
    let zero = fconst(cx, x, 0.0)?;
    let ax = mul_c(cx, x, alpha)?;
    select_cmp(cx, FloatPredicate::OLT, x, zero, ax, x)
}

/// A fused activation applied to `x` (the epilogue of conv, gemm and matmul).
pub fn activation<'ctx>(cx: &KernelCx<'_, 'ctx>, act: Activation, x: V<'ctx>) -> R<'ctx> {
    match act {
        Activation::None => Ok(x),
        Activation::Relu => relu(cx, x),
        Activation::LeakyRelu { alpha } => leaky_relu(cx, x, alpha as f64),
        Activation::Clip { min, max } => clamp(cx, x, min as f64, max as f64),
        Activation::Sigmoid => sigmoid(cx, x),
        Activation::HardSwish => hard_swish(cx, x),
        Activation::Gelu { tanh } => gelu(cx, x, tanh),
    }
}
