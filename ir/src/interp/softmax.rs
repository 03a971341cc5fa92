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
