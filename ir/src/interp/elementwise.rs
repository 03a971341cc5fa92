//! Elementwise kernels: unary activations and math functions, broadcasting binary
//! arithmetic and comparisons, variadic max/min/sum, `where` and `cast`.
//!
//! Dtypes: relu and clip work on f32, f64, i64, i32, i8, u8; add, sub, mul, div, pow, max,
//! min, sum, equal, less and greater on those too (equal also on bool); the other unary
//! ops on f32 and f64; f16 goes through f32. Integer arithmetic wraps, integer division
//! truncates toward zero and division by zero is an error. Floating max/min propagate NaN.

use super::common::{
    any_dtype, broadcast_index, broadcast_shapes, elems, input, invalid, make, num_dtype, numel,
    output, real_dtype, touches_f16, unsupported, unsupported_dtype, via_f32, KResult, Num, Real,
    Scalar,
};
use super::{EvalCx, InterpError};
use crate::ops::OpKind;
use crate::types::DType;

/// `f(a[i], b[j])` over the broadcast of `a` (shape `ash`) and `b` (shape `bsh`) to `out`.
#[allow(clippy::too_many_arguments)]
pub fn zip_broadcast<A: Copy, B: Copy, O>(
    cx: &EvalCx,
    out: &[usize],
    a: &[A],
    ash: &[usize],
    b: &[B],
    bsh: &[usize],
    f: impl Fn(A, B) -> O,
) -> Result<Vec<O>, InterpError> {
    if ash == out && bsh == out {
        return Ok(a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect());
    }
    if ash == out && b.len() == 1 {
        let y = b[0];
        return Ok(a.iter().map(|&x| f(x, y)).collect());
    }
    if bsh == out && a.len() == 1 {
        let x = a[0];
        return Ok(b.iter().map(|&y| f(x, y)).collect());
    }
    let ia = broadcast_index(cx, out, ash)?;
    let ib = broadcast_index(cx, out, bsh)?;
    ia.iter()
        .zip(&ib)
        .map(|(&i, &j)| match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => Ok(f(x, y)),
            _ => Err(invalid(cx, "broadcast index out of range")),
        })
        .collect()
}

/// Saturating conversion of a clip bound to the element type (±∞ → the type's range).
fn bound<T: Num>(v: f32) -> T {
    let v = v as f64;
    if v <= T::LOWEST.to_f64() {
        T::LOWEST
    } else if v >= T::HIGHEST.to_f64() {
        T::HIGHEST
    } else {
        T::from_f64(v)
    }
}

/// `min(max(x, lo), hi)`, NaN passing through, `hi` winning when `lo > hi` (as numpy).
fn clip1<T: Num>(x: T, lo: T, hi: T) -> T {
    let y = if x < lo { lo } else { x };
    if y > hi {
        hi
    } else {
        y
    }
}

/// Unary ops (identity, relu, leaky_relu, clip, sigmoid, tanh, hard_sigmoid, hard_swish,
/// erf, gelu, exp, log, sqrt).
pub fn unary(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    match (cx.op, x.dtype()) {
        (OpKind::Identity, _) => Ok(vec![x.clone()]),
        (OpKind::Relu | OpKind::Clip, d) if d.is_int() => {
            num_dtype!(d, T => unary_num::<T>(cx), other => Err(unsupported_dtype(cx, other)))
        }
        (_, d) => real_dtype!(cx, d, unary_real),
    }
}

fn unary_num<T: Num>(cx: &EvalCx) -> KResult {
    let x = elems::<T>(cx, 0)?;
    let y: Vec<T> = match cx.op {
        OpKind::Relu => x.iter().map(|&v| if v < T::ZERO { T::ZERO } else { v }).collect(),
        OpKind::Clip => {
            let lo = bound::<T>(cx.attrs.float("min")?);
            let hi = bound::<T>(cx.attrs.float("max")?);
            x.iter().map(|&v| clip1(v, lo, hi)).collect()
        }
        _ => return Err(unsupported_dtype(cx, T::DTYPE)),
    };
    Ok(vec![make(cx, input(cx, 0)?.shape().to_vec(), T::wrap(y))?])
}

fn map<T: Real>(x: &[T], f: impl Fn(T) -> T) -> Vec<T> {
    x.iter().map(|&v| f(v)).collect()
}

fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::ZERO {
        T::ONE / (T::ONE + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::ONE + e)
    }
}

fn gelu<T: Real>(x: T, tanh_approx: bool) -> T {
    let half = T::from_f64(0.5);
    if tanh_approx {
        let c = T::from_f64((2.0 / std::f64::consts::PI).sqrt());
        let inner = c * (x + T::from_f64(0.044715) * x * x * x);
        half * x * (T::ONE + inner.tanh())
    } else {
        half * x * (T::ONE + (x * T::from_f64(std::f64::consts::FRAC_1_SQRT_2)).erf())
    }
}

fn unary_real<T: Real>(cx: &EvalCx) -> KResult {
    let x = elems::<T>(cx, 0)?;
    let attrs = cx.attrs;
    let f = |name: &str| attrs.float(name).map(|v| T::from_f64(v as f64));
    let y = match cx.op {
        OpKind::Relu => map(x, |v| if v < T::ZERO { T::ZERO } else { v }),
        OpKind::LeakyRelu => {
            let alpha = f("alpha")?;
            map(x, |v| if v < T::ZERO { alpha * v } else { v })
        }
        OpKind::Clip => {
            let (lo, hi) = (bound::<T>(attrs.float("min")?), bound::<T>(attrs.float("max")?));
            map(x, |v| clip1(v, lo, hi))
        }
        OpKind::Sigmoid => map(x, sigmoid),
        OpKind::Tanh => map(x, T::tanh),
        OpKind::HardSigmoid => {
            let (alpha, beta) = (f("alpha")?, f("beta")?);
            map(x, |v| clip1(alpha * v + beta, T::ZERO, T::ONE))
        }
        OpKind::HardSwish => {
            let (alpha, beta) = (T::from_f64(1.0 / 6.0), T::from_f64(0.5));
            map(x, |v| v * clip1(alpha * v + beta, T::ZERO, T::ONE))
        }
        OpKind::Erf => map(x, T::erf),
        OpKind::Gelu => match attrs.str("approximate")? {
            "none" => map(x, |v| gelu(v, false)),
            "tanh" => map(x, |v| gelu(v, true)),
            other => return Err(unsupported(cx, format!("approximate = \"{other}\""))),
        },
        OpKind::Exp => map(x, T::exp),
        OpKind::Log => map(x, T::ln),
        OpKind::Sqrt => map(x, T::sqrt),
        op => return Err(invalid(cx, format!("`{op}` is not a unary op"))),
    };
    Ok(vec![make(cx, input(cx, 0)?.shape().to_vec(), T::wrap(y))?])
}

/// Binary ops with numpy broadcasting: add, sub, mul, div, pow, equal, less, greater.
pub fn binary(cx: &EvalCx) -> KResult {
    let (a, b) = (input(cx, 0)?, input(cx, 1)?);
    if touches_f16(cx) {
        return via_f32(cx, binary);
    }
    if cx.op == OpKind::Pow {
        return num_dtype!(a.dtype(), T => pow_t::<T>(cx), other => Err(unsupported_dtype(cx, other)));
    }
    if a.dtype() != b.dtype() {
        return Err(invalid(cx, format!("operands are {} and {}", a.dtype(), b.dtype())));
    }
    if a.dtype() == DType::Bool && cx.op == OpKind::Equal {
        return compare_t::<bool>(cx, |x, y| x == y);
    }
    num_dtype!(a.dtype(), T => binary_t::<T>(cx), other => Err(unsupported_dtype(cx, other)))
}

fn binary_t<T: Num>(cx: &EvalCx) -> KResult {
    match cx.op {
        OpKind::Add => arith_t::<T>(cx, T::add),
        OpKind::Sub => arith_t::<T>(cx, T::sub),
        OpKind::Mul => arith_t::<T>(cx, T::mul),
        OpKind::Div => {
            let b = elems::<T>(cx, 1)?;
            if !T::FLOAT && b.iter().any(|v| v.is_zero()) {
                return Err(invalid(cx, "integer division by zero"));
            }
            arith_t::<T>(cx, T::div)
        }
        OpKind::Equal => compare_t::<T>(cx, |x, y| x == y),
        OpKind::Less => compare_t::<T>(cx, |x, y| x < y),
        OpKind::Greater => compare_t::<T>(cx, |x, y| x > y),
        op => Err(invalid(cx, format!("`{op}` is not a binary op"))),
    }
}

fn arith_t<T: Num>(cx: &EvalCx, f: impl Fn(T, T) -> T) -> KResult {
    let (at, bt) = (input(cx, 0)?, input(cx, 1)?);
    let out = broadcast_shapes(cx, at.shape(), bt.shape())?;
    let (a, b) = (elems::<T>(cx, 0)?, elems::<T>(cx, 1)?);
    let y = zip_broadcast(cx, &out, a, at.shape(), b, bt.shape(), f)?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

fn compare_t<T: Scalar>(cx: &EvalCx, f: impl Fn(T, T) -> bool) -> KResult {
    let (at, bt) = (input(cx, 0)?, input(cx, 1)?);
    let out = broadcast_shapes(cx, at.shape(), bt.shape())?;
    let (a, b) = (elems::<T>(cx, 0)?, elems::<T>(cx, 1)?);
    let y = zip_broadcast(cx, &out, a, at.shape(), b, bt.shape(), f)?;
    Ok(vec![make(cx, out, bool::wrap(y))?])
}

/// `a ^ b`; the exponent may have any numeric dtype, the result has a's.
fn pow_t<T: Num>(cx: &EvalCx) -> KResult {
    let (at, bt) = (input(cx, 0)?, input(cx, 1)?);
    if bt.dtype() == DType::Bool {
        return Err(unsupported(cx, "a bool exponent"));
    }
    let out = broadcast_shapes(cx, at.shape(), bt.shape())?;
    let a = elems::<T>(cx, 0)?;
    let b = bt.data().to_f64_vec();
    let y = zip_broadcast(cx, &out, a, at.shape(), &b, bt.shape(), T::pow_f64)?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// Variadic max, min and sum over one or more operands, broadcasting.
pub fn variadic(cx: &EvalCx) -> KResult {
    if touches_f16(cx) {
        return via_f32(cx, variadic);
    }
    let d = input(cx, 0)?.dtype();
    if let Some(t) = cx.inputs.iter().find(|t| t.dtype() != d) {
        return Err(invalid(cx, format!("operands are {d} and {}", t.dtype())));
    }
    num_dtype!(d, T => variadic_t::<T>(cx), other => Err(unsupported_dtype(cx, other)))
}

fn variadic_t<T: Num>(cx: &EvalCx) -> KResult {
    let f: fn(T, T) -> T = match cx.op {
        OpKind::Max => T::max_nan,
        OpKind::Min => T::min_nan,
        OpKind::Sum => T::add,
        op => return Err(invalid(cx, format!("`{op}` is not a variadic op"))),
    };
    let first = input(cx, 0)?;
    let mut out = first.shape().to_vec();
    for t in cx.inputs.iter().skip(1) {
        out = broadcast_shapes(cx, &out, t.shape())?;
    }
    let x0 = elems::<T>(cx, 0)?;
    let mut acc: Vec<T> = if first.shape() == out.as_slice() {
        x0.to_vec()
    } else {
        let idx = broadcast_index(cx, &out, first.shape())?;
        idx.iter().map(|&i| x0.get(i).copied().unwrap_or(T::ZERO)).collect()
    };
    for i in 1..cx.inputs.len() {
        let (t, x) = (input(cx, i)?, elems::<T>(cx, i)?);
        if t.shape() == out.as_slice() {
            acc.iter_mut().zip(x).for_each(|(a, &v)| *a = f(*a, v));
        } else {
            let idx = broadcast_index(cx, &out, t.shape())?;
            for (a, &j) in acc.iter_mut().zip(&idx) {
                let v = x.get(j).copied().ok_or_else(|| invalid(cx, "index out of range"))?;
                *a = f(*a, v);
            }
        }
    }
    Ok(vec![make(cx, out, T::wrap(acc))?])
}

/// `cond ? a : b` with the three operands broadcast together; any dtype.
pub fn where_(cx: &EvalCx) -> KResult {
    let (c, a, b) = (input(cx, 0)?, input(cx, 1)?, input(cx, 2)?);
    if c.dtype() != DType::Bool {
        return Err(invalid(cx, format!("condition is {}, expected bool", c.dtype())));
    }
    if a.dtype() != b.dtype() {
        return Err(invalid(cx, format!("operands are {} and {}", a.dtype(), b.dtype())));
    }
    any_dtype!(a.dtype(), T => where_t::<T>(cx))
}

fn where_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let (ct, at, bt) = (input(cx, 0)?, input(cx, 1)?, input(cx, 2)?);
    let out = broadcast_shapes(cx, ct.shape(), at.shape())?;
    let out = broadcast_shapes(cx, &out, bt.shape())?;
    let (c, a, b) = (elems::<bool>(cx, 0)?, elems::<T>(cx, 1)?, elems::<T>(cx, 2)?);
    let ic = broadcast_index(cx, &out, ct.shape())?;
    let ia = broadcast_index(cx, &out, at.shape())?;
    let ib = broadcast_index(cx, &out, bt.shape())?;
    let mut y = Vec::with_capacity(numel(&out));
    for ((&i, &j), &k) in ic.iter().zip(&ia).zip(&ib) {
        let pick = match c.get(i) {
            Some(true) => a.get(j),
            Some(false) => b.get(k),
            None => None,
        };
        y.push(*pick.ok_or_else(|| invalid(cx, "broadcast index out of range"))?);
    }
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// ONNX Cast to the `to` dtype.
pub fn cast(cx: &EvalCx) -> KResult {
    let to = cx.attrs.dtype("to")?;
    let want = output(cx, 0)?;
    if want.dtype != to {
        return Err(invalid(cx, format!("result type {want} disagrees with to = {to}")));
    }
    Ok(vec![input(cx, 0)?.cast(to)])
}
