//! Normalisation kernels: inference BatchNormalization, LayerNormalization and LRN.
//!
//! f32 and f64 (f16 through f32). Layer-norm statistics accumulate in f64. Training-mode
//! batch norm (running statistics as results) is not an IR op.

use super::common::{
    broadcast_index, elems, input, invalid, make, norm_axis, numel, opt_input, real_dtype, KResult,
    Real,
};
use super::EvalCx;

/// `(x − mean) / sqrt(var + ε) · scale + bias` per channel (axis 1).
pub fn batch_norm(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), batch_norm_t)
}

fn batch_norm_t<T: Real>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let shape = xt.shape();
    if shape.len() < 2 {
        return Err(invalid(cx, format!("operand has rank {}, expected ≥ 2", shape.len())));
    }
    let (n, c, plane) = (shape[0], shape[1], numel(&shape[2..]));
    let x = elems::<T>(cx, 0)?;
    let params: Vec<&[T]> = (1..5).map(|i| elems::<T>(cx, i)).collect::<Result<_, _>>()?;
    let [scale, bias, mean, var] = params[..] else {
        return Err(invalid(cx, "expected scale, bias, mean and var"));
    };
    if [scale, bias, mean, var].iter().any(|p| p.len() != c) {
        return Err(invalid(cx, format!("parameters must have {c} elements")));
    }
    let eps = T::from_f64(cx.attrs.float("epsilon")? as f64);
    let mut y = Vec::with_capacity(x.len());
    for (i, chunk) in x.chunks(plane.max(1)).enumerate().take(n * c) {
        let ch = i % c;
        let a = scale[ch] / (var[ch] + eps).sqrt();
        let (m, b) = (mean[ch], bias[ch]);
        y.extend(chunk.iter().map(|&v| (v - m) * a + b));
    }
    Ok(vec![make(cx, shape.to_vec(), T::wrap(y))?])
}

/// Normalises over axes `[axis, rank)`, then scales and shifts (scale and bias broadcast
/// to the normalised shape).
pub fn layer_norm(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), layer_norm_t)
}

fn layer_norm_t<T: Real>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let shape = xt.shape();
    let axis = norm_axis(cx, cx.attrs.int("axis")?, shape.len())?;
    let norm_shape = &shape[axis..];
    let inner = numel(norm_shape);
    let x = elems::<T>(cx, 0)?;
    let scale = elems::<T>(cx, 1)?;
    let si = broadcast_index(cx, norm_shape, input(cx, 1)?.shape())?;
    let scale: Vec<T> = si.iter().map(|&i| scale[i]).collect();
    let bias: Vec<T> = match opt_input(cx, 2) {
        Some(bt) => {
            let b = elems::<T>(cx, 2)?;
            broadcast_index(cx, norm_shape, bt.shape())?.iter().map(|&i| b[i]).collect()
        }
        None => vec![T::ZERO; inner],
    };
    let eps = cx.attrs.float("epsilon")? as f64;
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(inner.max(1)) {
        let nf = row.len() as f64;
        let mean = row.iter().map(|v| v.to_f64()).sum::<f64>() / nf;
        let var = row.iter().map(|v| (v.to_f64() - mean).powi(2)).sum::<f64>() / nf;
        let inv = 1.0 / (var + eps).sqrt();
        y.extend(
            row.iter()
                .zip(&scale)
                .zip(&bias)
                .map(|((&v, &s), &b)| T::from_f64((v.to_f64() - mean) * inv) * s + b),
        );
    }
    Ok(vec![make(cx, shape.to_vec(), T::wrap(y))?])
}

/// Local response normalisation across channels:
/// `x / (bias + alpha/size · Σ x²)^beta` over a window of `size` channels.
pub fn lrn(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), lrn_t)
}

fn lrn_t<T: Real>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let shape = xt.shape();
    if shape.len() < 2 {
        return Err(invalid(cx, format!("operand has rank {}, expected ≥ 2", shape.len())));
    }
    let size = cx.attrs.int("size")?;
    if size < 1 {
        return Err(invalid(cx, format!("size = {size}")));
    }
    let (n, c, plane) = (shape[0], shape[1], numel(&shape[2..]));
    let x = elems::<T>(cx, 0)?;
    let f = |name: &str| cx.attrs.float(name).map(|v| v as f64);
    let (alpha, beta, bias) = (f("alpha")?, f("beta")?, f("bias")?);
    let before = ((size - 1) / 2) as usize;
    let after = (size as usize - 1) - before;
    let coef = alpha / size as f64;
    let sq: Vec<f64> = x.iter().map(|v| v.to_f64() * v.to_f64()).collect();
    let mut y = vec![T::ZERO; x.len()];
    let mut acc = vec![0.0f64; plane];
    for b in 0..n {
        for ch in 0..c {
            acc.iter_mut().for_each(|a| *a = 0.0);
            let (lo, hi) = (ch.saturating_sub(before), (ch + after).min(c - 1));
            for k in lo..=hi {
                let src = &sq[(b * c + k) * plane..(b * c + k + 1) * plane];
                acc.iter_mut().zip(src).for_each(|(a, &s)| *a += s);
            }
            let off = (b * c + ch) * plane;
            let (xs, ys) = (&x[off..off + plane], &mut y[off..off + plane]);
            for ((yv, &xv), &s) in ys.iter_mut().zip(xs).zip(&acc) {
                *yv = T::from_f64(xv.to_f64() / (bias + coef * s).powf(beta));
            }
        }
    }
    Ok(vec![make(cx, shape.to_vec(), T::wrap(y))?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::Attr;
    use crate::ops::OpKind;
    use crate::types::DType;

    #[test]
    fn batch_norm_per_channel() {
        let x = f32t(&[1, 2, 1, 2], &[1.0, 2.0, 3.0, 4.0]);
        let scale = f32t(&[2], &[1.0, 2.0]);
        let bias = f32t(&[2], &[0.0, 1.0]);
        let mean = f32t(&[2], &[1.0, 3.0]);
        let var = f32t(&[2], &[1.0, 4.0]);
        let a = attrs(&[("epsilon", Attr::Float(0.0))]);
        let y = run1(
            OpKind::BatchNorm,
            &a,
            &[&x, &scale, &bias, &mean, &var],
            DType::F32,
            &[1, 2, 1, 2],
        );
        assert_close(&vals(&y), &[0.0, 1.0, 1.0, 2.0], 1e-6);
    }

    #[test]
    fn layer_norm_over_trailing_axes() {
        let x = f32t(&[2, 2], &[1.0, 3.0, 2.0, 6.0]);
        let scale = f32t(&[2], &[2.0, 3.0]);
        let bias = f32t(&[2], &[1.0, 0.0]);
        let a = attrs(&[("axis", Attr::Int(-1)), ("epsilon", Attr::Float(0.0))]);
        let y = run1(OpKind::LayerNorm, &a, &[&x, &scale, &bias], DType::F32, &[2, 2]);
        assert_close(&vals(&y), &[-1.0, 3.0, -1.0, 3.0], 1e-6);
        let ones = f32t(&[2, 2], &[1.0; 4]);
        let a = attrs(&[("axis", Attr::Int(0)), ("epsilon", Attr::Float(0.0))]);
        let y = run1(OpKind::LayerNorm, &a, &[&x, &ones], DType::F32, &[2, 2]);
        let sd = 3.5f32.sqrt();
        assert_close(&vals(&y), &[-2.0 / sd, 0.0, -1.0 / sd, 3.0 / sd], 1e-6);
    }

    #[test]
    fn lrn_sums_a_window_of_channels() {
        let x = f32t(&[1, 3, 1, 1], &[1.0, 2.0, 3.0]);
        let a = attrs(&[
            ("size", Attr::Int(3)),
            ("alpha", Attr::Float(3.0)),
            ("beta", Attr::Float(1.0)),
            ("bias", Attr::Float(1.0)),
        ]);
        let y = run1(OpKind::Lrn, &a, &[&x], DType::F32, &[1, 3, 1, 1]);
        assert_close(&vals(&y), &[1.0 / 6.0, 2.0 / 15.0, 3.0 / 14.0], 1e-6);
        // An even size looks one channel further ahead than behind.
        let a = attrs(&[
            ("size", Attr::Int(2)),
            ("alpha", Attr::Float(2.0)),
            ("beta", Attr::Float(1.0)),
            ("bias", Attr::Float(1.0)),
        ]);
        let y = run1(OpKind::Lrn, &a, &[&x], DType::F32, &[1, 3, 1, 1]);
        assert_close(&vals(&y), &[1.0 / 6.0, 2.0 / 14.0, 3.0 / 10.0], 1e-6);
    }
}
