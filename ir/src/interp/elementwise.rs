//! Elementwise kernels: unary activations and math functions, broadcasting binary
//! arithmetic and comparisons, variadic max/min/sum, `where` and `cast`.
//!
//! Dtypes: relu and clip work on f32, f64 and the 8- to 64-bit integers; add, sub, mul, div,
//! pow, max, min, sum, equal, less and greater on those too (equal also on bool); the other
//! unary ops on f32 and f64; f16 and bf16 go through f32. `where` takes every dtype (coded
//! ones as codes) and `cast` converts between all of them. Integer arithmetic wraps, integer
//! division truncates toward zero and division by zero is an error. Floating max/min
//! propagate NaN.

use super::common::{
    any_dtype, broadcast_index, broadcast_shapes, elems, input, invalid, make, num_dtype, numel,
    output, real_dtype, touches_f16, unsupported, unsupported_dtype, via_f32, KResult, Num, Real,
    Scalar,
};
use super::{EvalCx, InterpError};
use crate::coded::{CastOptions, RoundMode};
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

/// ONNX Cast to the `to` dtype; `saturate` (default 1) and `round_mode` (default "up")
/// matter only for the coded floats.
pub fn cast(cx: &EvalCx) -> KResult {
    let to = cx.attrs.dtype("to")?;
    let want = output(cx, 0)?;
    if want.dtype != to {
        return Err(invalid(cx, format!("result type {want} disagrees with to = {to}")));
    }
    let saturate = match cx.attrs.get("saturate") {
        Some(_) => cx.attrs.int("saturate")? != 0,
        None => true,
    };
    let round_mode = match cx.attrs.get("round_mode") {
        Some(_) => {
            let name = cx.attrs.str("round_mode")?;
            RoundMode::from_name(name)
                .ok_or_else(|| unsupported(cx, format!("round_mode = \"{name}\"")))?
        }
        None => RoundMode::Up,
    };
    Ok(vec![input(cx, 0)?.cast_with(to, CastOptions { saturate, round_mode })])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::tensor::TensorData;
    use crate::types::DType;
    use half::f16;

    fn none() -> Attrs {
        Attrs::new()
    }

    #[test]
    fn add_broadcasts_rows_and_columns() {
        let a = f32t(&[2, 1], &[1.0, 2.0]);
        let b = f32t(&[3], &[10.0, 20.0, 30.0]);
        let y = run1(OpKind::Add, &none(), &[&a, &b], DType::F32, &[2, 3]);
        assert_eq!(vals(&y), vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]);
    }

    #[test]
    fn integer_division_truncates_and_rejects_zero() {
        let a = tensor(&[4], TensorData::I32(vec![-7, 7, -8, 9]));
        let b = tensor(&[4], TensorData::I32(vec![2, -2, 3, 3]));
        let y = run1(OpKind::Div, &none(), &[&a, &b], DType::I32, &[4]);
        assert_eq!(y.data(), &TensorData::I32(vec![-3, -3, -2, 3]));
        let z = tensor(&[1], TensorData::I32(vec![0]));
        let outs = [crate::types::TensorType::new(DType::I32, [4])];
        let err = try_run(OpKind::Div, &none(), &[&a, &z], &outs).unwrap_err();
        assert!(err.to_string().contains("division by zero"), "{err}");
    }

    #[test]
    fn integer_arithmetic_wraps() {
        let a = tensor(&[2], TensorData::U8(vec![250, 3]));
        let b = tensor(&[2], TensorData::U8(vec![10, 5]));
        let y = run1(OpKind::Add, &none(), &[&a, &b], DType::U8, &[2]);
        assert_eq!(y.data(), &TensorData::U8(vec![4, 8]));
        let y = run1(OpKind::Sub, &none(), &[&a, &b], DType::U8, &[2]);
        assert_eq!(y.data(), &TensorData::U8(vec![240, 254]));
    }

    #[test]
    fn pow_keeps_base_dtype_with_any_exponent_dtype() {
        let a = f32t(&[3], &[2.0, 4.0, -3.0]);
        let e = tensor(&[3], TensorData::I64(vec![3, -1, 2]));
        let y = run1(OpKind::Pow, &none(), &[&a, &e], DType::F32, &[3]);
        assert_eq!(vals(&y), vec![8.0, 0.25, 9.0]);
        let ai = tensor(&[2], TensorData::I64(vec![3, -2]));
        let ef = f32t(&[1], &[3.0]);
        let y = run1(OpKind::Pow, &none(), &[&ai, &ef], DType::I64, &[2]);
        assert_eq!(y.data(), &TensorData::I64(vec![27, -8]));
    }

    #[test]
    fn comparisons_give_bool() {
        let a = f32t(&[3], &[1.0, 2.0, f32::NAN]);
        let b = f32t(&[1], &[2.0]);
        let eq = run1(OpKind::Equal, &none(), &[&a, &b], DType::Bool, &[3]);
        assert_eq!(eq.data(), &TensorData::Bool(vec![false, true, false]));
        let lt = run1(OpKind::Less, &none(), &[&a, &b], DType::Bool, &[3]);
        assert_eq!(lt.data(), &TensorData::Bool(vec![true, false, false]));
        let gt = run1(OpKind::Greater, &none(), &[&b, &a], DType::Bool, &[3]);
        assert_eq!(gt.data(), &TensorData::Bool(vec![true, false, false]));
        let p = tensor(&[2], TensorData::Bool(vec![true, false]));
        let q = tensor(&[2], TensorData::Bool(vec![true, true]));
        let eq = run1(OpKind::Equal, &none(), &[&p, &q], DType::Bool, &[2]);
        assert_eq!(eq.data(), &TensorData::Bool(vec![true, false]));
    }

    #[test]
    fn variadic_ops_broadcast_and_propagate_nan() {
        let a = f32t(&[2, 2], &[1.0, 5.0, f32::NAN, 0.0]);
        let b = f32t(&[2], &[3.0, 4.0]);
        let c = f32t(&[1], &[-1.0]);
        let mx = run1(OpKind::Max, &none(), &[&a, &b, &c], DType::F32, &[2, 2]);
        assert_close(&vals(&mx), &[3.0, 5.0, f32::NAN, 4.0], 0.0);
        let mn = run1(OpKind::Min, &none(), &[&a, &b], DType::F32, &[2, 2]);
        assert_close(&vals(&mn), &[1.0, 4.0, f32::NAN, 0.0], 0.0);
        let s = run1(OpKind::Sum, &none(), &[&b, &c, &b], DType::F32, &[2]);
        assert_eq!(vals(&s), vec![5.0, 7.0]);
        let one = run1(OpKind::Sum, &none(), &[&b], DType::F32, &[2]);
        assert_eq!(vals(&one), vec![3.0, 4.0]);
    }

    #[test]
    fn where_broadcasts_three_ways() {
        let c = tensor(&[2, 1], TensorData::Bool(vec![true, false]));
        let a = tensor(&[2], TensorData::I64(vec![1, 2]));
        let b = tensor(&[], TensorData::I64(vec![9]));
        let y = run1(OpKind::Where, &none(), &[&c, &a, &b], DType::I64, &[2, 2]);
        assert_eq!(y.data(), &TensorData::I64(vec![1, 2, 9, 9]));
    }

    #[test]
    fn relu_and_clip_on_integers() {
        let x = tensor(&[4], TensorData::I8(vec![-128, -1, 0, 127]));
        let y = run1(OpKind::Relu, &none(), &[&x], DType::I8, &[4]);
        assert_eq!(y.data(), &TensorData::I8(vec![0, 0, 0, 127]));
        let a = attrs(&[("min", Attr::Float(f32::NEG_INFINITY)), ("max", Attr::Float(5.0))]);
        let y = run1(OpKind::Clip, &a, &[&x], DType::I8, &[4]);
        assert_eq!(y.data(), &TensorData::I8(vec![-128, -1, 0, 5]));
    }

    #[test]
    fn clip_with_min_above_max_gives_max() {
        let x = f32t(&[3], &[-1.0, 0.5, 2.0]);
        let a = attrs(&[("min", Attr::Float(1.0)), ("max", Attr::Float(0.0))]);
        let y = run1(OpKind::Clip, &a, &[&x], DType::F32, &[3]);
        assert_eq!(vals(&y), vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn activations_match_hand_values() {
        let x = f32t(&[4], &[-100.0, -2.0, 0.0, 3.0]);
        let sig = run1(OpKind::Sigmoid, &none(), &[&x], DType::F32, &[4]);
        assert_close(&vals(&sig), &[0.0, 0.119_202_92, 0.5, 0.952_574_13], 1e-6);
        let a = attrs(&[("alpha", Attr::Float(0.1))]);
        let lr = run1(OpKind::LeakyRelu, &a, &[&x], DType::F32, &[4]);
        assert_close(&vals(&lr), &[-10.0, -0.2, 0.0, 3.0], 1e-6);
        let a = attrs(&[("alpha", Attr::Float(0.2)), ("beta", Attr::Float(0.5))]);
        let hs = run1(OpKind::HardSigmoid, &a, &[&x], DType::F32, &[4]);
        assert_close(&vals(&hs), &[0.0, 0.1, 0.5, 1.0], 1e-6);
        let hw = run1(OpKind::HardSwish, &none(), &[&x], DType::F32, &[4]);
        assert_close(&vals(&hw), &[0.0, -1.0 / 3.0, 0.0, 3.0], 1e-6);
    }

    #[test]
    fn erf_and_gelu_are_precise_near_zero() {
        let x = f32t(&[4], &[0.5, -1.5, 1e-3, 3.0]);
        let e = run1(OpKind::Erf, &none(), &[&x], DType::F32, &[4]);
        let want = [0.520_499_9, -0.966_105_15, 0.001_128_378_8, 0.999_977_9];
        assert_close(&vals(&e), &want, 1e-6);
        let x = f32t(&[2], &[1.0, -2.0]);
        let exact = attrs(&[("approximate", Attr::Str("none".into()))]);
        let g = run1(OpKind::Gelu, &exact, &[&x], DType::F32, &[2]);
        assert_close(&vals(&g), &[0.841_344_7, -0.045_500_264], 1e-6);
        let tanh = attrs(&[("approximate", Attr::Str("tanh".into()))]);
        let g = run1(OpKind::Gelu, &tanh, &[&x], DType::F32, &[2]);
        assert_close(&vals(&g), &[0.841_192, -0.045_402_306], 1e-6);
    }

    #[test]
    fn transcendental_ops_on_f64_and_f16() {
        let x = crate::tensor::Tensor::new(vec![2], TensorData::F64(vec![1.0, 4.0])).unwrap();
        let y = run1(OpKind::Sqrt, &none(), &[&x], DType::F64, &[2]);
        assert_eq!(y.data(), &TensorData::F64(vec![1.0, 2.0]));
        let h = tensor(&[2], TensorData::F16(vec![f16::from_f32(0.0), f16::from_f32(1.0)]));
        let y = run1(OpKind::Exp, &none(), &[&h], DType::F16, &[2]);
        let want = [f16::from_f32(1.0), f16::from_f32(std::f32::consts::E)];
        assert_eq!(y.data(), &TensorData::F16(want.to_vec()));
        let l = run1(OpKind::Log, &none(), &[&f32t(&[2], &[1.0, 0.0])], DType::F32, &[2]);
        assert_eq!(vals(&l), vec![0.0, f32::NEG_INFINITY]);
    }

    #[test]
    fn transcendental_ops_reject_integers() {
        let x = tensor(&[1], TensorData::I32(vec![1]));
        let outs = [crate::types::TensorType::new(DType::I32, [1])];
        let err = try_run(OpKind::Exp, &none(), &[&x], &outs).unwrap_err();
        assert!(err.to_string().contains("dtype i32"), "{err}");
    }

    #[test]
    fn wide_and_unsigned_integers() {
        let a = tensor(&[2], TensorData::U64(vec![u64::MAX, 7]));
        let b = tensor(&[1], TensorData::U64(vec![2]));
        let y = run1(OpKind::Div, &none(), &[&a, &b], DType::U64, &[2]);
        assert_eq!(y.data(), &TensorData::U64(vec![u64::MAX / 2, 3]));
        let y = run1(OpKind::Greater, &none(), &[&a, &b], DType::Bool, &[2]);
        assert_eq!(y.data(), &TensorData::Bool(vec![true, true]));
        let c = tensor(&[2], TensorData::I16(vec![-300, 300]));
        let d = tensor(&[2], TensorData::I16(vec![200, -400]));
        let y = run1(OpKind::Max, &none(), &[&c, &d], DType::I16, &[2]);
        assert_eq!(y.data(), &TensorData::I16(vec![200, 300]));
        let y = run1(OpKind::Mul, &none(), &[&c, &d], DType::I16, &[2]);
        assert_eq!(y.data(), &TensorData::I16(vec![(-60000i32) as i16, (-120000i32) as i16]));
    }

    #[test]
    fn bf16_goes_through_f32() {
        let h = |v: &[f32]| TensorData::BF16(v.iter().map(|&x| half::bf16::from_f32(x)).collect());
        let a = tensor(&[2], h(&[1.5, -2.0]));
        let b = tensor(&[2], h(&[0.25, 3.0]));
        let y = run1(OpKind::Add, &none(), &[&a, &b], DType::BF16, &[2]);
        assert_eq!(y.data(), &h(&[1.75, 1.0]));
        let y = run1(OpKind::Relu, &none(), &[&a], DType::BF16, &[2]);
        assert_eq!(y.data(), &h(&[1.5, 0.0]));
    }

    #[test]
    fn cast_to_float8_honours_saturate_and_round_mode() {
        let x = f32t(&[3], &[1.1, 1000.0, f32::INFINITY]);
        let to = |d: DType, extra: &[(&str, Attr)]| {
            let mut a = attrs(extra);
            a.set("to", Attr::DType(d));
            a
        };
        let y = run1(OpKind::Cast, &to(DType::F8E4M3FN, &[]), &[&x], DType::F8E4M3FN, &[3]);
        assert_eq!(y.data().to_f64_vec(), vec![1.125, 448.0, 448.0]);
        let ns = to(DType::F8E5M2, &[("saturate", Attr::Int(0))]);
        let y = run1(OpKind::Cast, &ns, &[&x], DType::F8E5M2, &[3]);
        assert_eq!(y.data().to_f64_vec(), vec![1.0, 1024.0, f64::INFINITY]);
        let down = to(DType::F8E8M0, &[("round_mode", Attr::Str("down".into()))]);
        let y = run1(OpKind::Cast, &down, &[&x], DType::F8E8M0, &[3]);
        assert_eq!(y.data().to_f64_vec()[..2], [1.0, 512.0]);
        let back = run1(OpKind::Cast, &to(DType::F32, &[]), &[&y], DType::F32, &[3]);
        assert_eq!(vals(&back)[..2], [1.0, 512.0]);
    }

    #[test]
    fn where_and_movement_work_on_codes() {
        let c = tensor(&[2], TensorData::Bool(vec![true, false]));
        let a = f32t(&[2], &[1.0, -1.0]).cast(DType::I4);
        let b = f32t(&[], &[5.0]).cast(DType::I4);
        let y = run1(OpKind::Where, &none(), &[&c, &a, &b], DType::I4, &[2]);
        assert_eq!(y.data().to_i64_vec(), vec![1, 5]);
        let t = f32t(&[2, 2], &[0.5, 1.0, 2.0, 4.0]).cast(DType::F4E2M1);
        let p = attrs(&[("perm", ints(&[1, 0]))]);
        let y = run1(OpKind::Transpose, &p, &[&t], DType::F4E2M1, &[2, 2]);
        assert_eq!(y.data().to_f64_vec(), vec![0.5, 2.0, 1.0, 4.0]);
    }

    #[test]
    fn cast_uses_onnx_rules() {
        let x = f32t(&[3], &[-1.7, 2.5, 300.0]);
        let a = attrs(&[("to", Attr::DType(DType::I32))]);
        let y = run1(OpKind::Cast, &a, &[&x], DType::I32, &[3]);
        assert_eq!(y.data(), &TensorData::I32(vec![-1, 2, 300]));
    }
}
