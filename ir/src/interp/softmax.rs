//! Softmax and LogSoftmax along one axis (ONNX opset-13 semantics), numerically stable:
//! the lane maximum is subtracted before exponentiating.
//!
//! f32 and f64 (f16 through f32). The exponential sum accumulates in f64.

use super::common::{elems, input, make, norm_axis, numel, real_dtype, KResult, Real};
use super::EvalCx;
use crate::ops::OpKind;

/// `softmax` and `log_softmax`.
pub fn softmax(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), softmax_t)
}

fn softmax_t<T: Real>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let shape = xt.shape();
    let x = elems::<T>(cx, 0)?;
    let log = cx.op == OpKind::LogSoftmax;
    let mut y = x.to_vec();
    let axis = norm_axis(cx, cx.attrs.int("axis")?, shape.len())?;
    let (dim, inner) = (shape[axis], numel(&shape[axis + 1..]));
    let mut lane = vec![0.0f64; dim];
    for block in y.chunks_mut((dim * inner).max(1)) {
        for i in 0..inner {
            for (j, l) in lane.iter_mut().enumerate() {
                *l = block[j * inner + i].to_f64();
            }
            normalise_lane(&mut lane, log);
            for (j, &l) in lane.iter().enumerate() {
                block[j * inner + i] = T::from_f64(l);
            }
        }
    }
    Ok(vec![make(cx, shape.to_vec(), T::wrap(y))?])
}

/// Softmax (or log-softmax) of one lane in place.
fn normalise_lane(lane: &mut [f64], log: bool) {
    let max = lane.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = lane.iter().map(|&v| (v - max).exp()).sum();
    if log {
        let ls = sum.ln();
        lane.iter_mut().for_each(|v| *v = *v - max - ls);
    } else {
        lane.iter_mut().for_each(|v| *v = (*v - max).exp() / sum);
    }
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::Attr;
    use crate::ops::OpKind;
    use crate::types::DType;

    #[test]
    fn softmax_is_stable_for_large_inputs() {
        let a = attrs(&[("axis", Attr::Int(-1))]);
        let want = [0.090_030_57, 0.244_728_47, 0.665_240_94];
        for base in [0.0f32, 1000.0] {
            let x = f32t(&[3], &[base + 1.0, base + 2.0, base + 3.0]);
            let y = run1(OpKind::Softmax, &a, &[&x], DType::F32, &[3]);
            assert_close(&vals(&y), &want, 1e-6);
            let y = run1(OpKind::LogSoftmax, &a, &[&x], DType::F32, &[3]);
            assert_close(&vals(&y), &[-2.407_606, -1.407_606, -0.407_606], 1e-6);
        }
    }

    #[test]
    fn softmax_along_a_middle_axis() {
        let x = f32t(&[2, 2, 2], &[0.0, 1.0, 0.0, 3.0, 5.0, 5.0, 5.0, 5.0]);
        let a = attrs(&[("axis", Attr::Int(1))]);
        let y = vals(&run1(OpKind::Softmax, &a, &[&x], DType::F32, &[2, 2, 2]));
        let e2 = 1.0 / (1.0 + (2.0f32).exp());
        assert_close(&y, &[0.5, e2, 0.5, 1.0 - e2, 0.5, 0.5, 0.5, 0.5], 1e-6);
    }
}
