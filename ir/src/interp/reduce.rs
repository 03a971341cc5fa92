//! Reductions: reduce_mean, reduce_sum and reduce_max over an explicit list of axes, with
//! or without kept dims. An empty axis list reduces nothing (the operand is returned).
//!
//! Dtypes f32, f64 and the 8- to 64-bit integers (f16 and bf16 through f32; reduce_max also
//! bool, as `or`). Float sums accumulate in f64; integer sums wrap and an integer mean
//! truncates. The max of an empty set is the lowest
//! value of the dtype (−∞ for floats), the mean of an empty set is NaN for floats.

use super::common::{
    broadcast_index, elems, input, invalid, make, norm_axis, num_dtype, numel, touches_f16,
    unsupported_dtype, via_cast, via_f32, KResult, Num,
};
use super::EvalCx;
use crate::ops::OpKind;
use crate::types::DType;

/// `reduce_mean`, `reduce_sum`, `reduce_max`.
pub fn reduce(cx: &EvalCx) -> KResult {
    if touches_f16(cx) {
        return via_f32(cx, reduce);
    }
    let d = input(cx, 0)?.dtype();
    if d == DType::Bool && cx.op == OpKind::ReduceMax {
        // The maximum of booleans is their disjunction: reduce 0/1 as u8.
        return via_cast(cx, DType::Bool, DType::U8, reduce);
    }
    num_dtype!(d, T => reduce_t::<T>(cx), other => Err(unsupported_dtype(cx, other)))
}

fn reduce_t<T: Num>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let shape = xt.shape();
    let x = elems::<T>(cx, 0)?;
    let mut reduced = vec![false; shape.len()];
    for &a in cx.attrs.ints("axes")? {
        reduced[norm_axis(cx, a, shape.len())?] = true;
    }
    let keep = cx.attrs.int("keepdims")? != 0;
    let kept: Vec<usize> =
        shape.iter().zip(&reduced).map(|(&d, &r)| if r { 1 } else { d }).collect();
    let out: Vec<usize> = if keep {
        kept.clone()
    } else {
        shape.iter().zip(&reduced).filter(|(_, &r)| !r).map(|(&d, _)| d).collect()
    };
    let n_out = numel(&kept);
    let count = numel(shape) / n_out.max(1);
    // For every operand element, the result element it folds into.
    let dest = broadcast_index(cx, shape, &kept)?;
    let y: Vec<T> = match cx.op {
        OpKind::ReduceMax => {
            let mut acc = vec![T::LOWEST; n_out];
            for (&v, &o) in x.iter().zip(&dest) {
                acc[o] = acc[o].max_nan(v);
            }
            acc
        }
        OpKind::ReduceSum | OpKind::ReduceMean => {
            let mean = cx.op == OpKind::ReduceMean;
            if T::FLOAT {
                let mut acc = vec![0.0f64; n_out];
                for (&v, &o) in x.iter().zip(&dest) {
                    acc[o] += v.to_f64();
                }
                let div = if mean { count as f64 } else { 1.0 };
                acc.into_iter().map(|s| T::from_f64(s / div)).collect()
            } else {
                // Integer sums accumulate in i64 and wrap to the dtype (numpy's promotion).
                let mut acc = vec![0i64; n_out];
                for (&v, &o) in x.iter().zip(&dest) {
                    acc[o] = acc[o].wrapping_add(v.as_i64());
                }
                if mean && count == 0 {
                    return Err(invalid(cx, "integer mean of an empty set"));
                }
                let div = if mean { count as i64 } else { 1 };
                acc.into_iter().map(|s| T::from_i64(s / div)).collect()
            }
        }
        op => return Err(invalid(cx, format!("`{op}` is not a reduction"))),
    };
    Ok(vec![make(cx, out, T::wrap(y))?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::tensor::TensorData;
    use crate::types::DType;

    fn red(axes: &[i64], keep: bool) -> Attrs {
        attrs(&[("axes", ints(axes)), ("keepdims", Attr::Int(keep as i64))])
    }

    #[test]
    fn reductions_over_listed_axes() {
        let x = f32t(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let y = run1(OpKind::ReduceSum, &red(&[1], true), &[&x], DType::F32, &[2, 1]);
        assert_eq!(vals(&y), vec![6.0, 15.0]);
        let y = run1(OpKind::ReduceMean, &red(&[0], false), &[&x], DType::F32, &[3]);
        assert_eq!(vals(&y), vec![2.5, 3.5, 4.5]);
        let y = run1(OpKind::ReduceMax, &red(&[-1, 0], false), &[&x], DType::F32, &[]);
        assert_eq!(vals(&y), vec![6.0]);
        let y = run1(OpKind::ReduceMean, &red(&[], true), &[&x], DType::F32, &[2, 3]);
        assert_eq!(vals(&y), vals(&x));
    }

    #[test]
    fn global_average_pool_shape() {
        let x = f32t(&[1, 2, 2, 2], &[1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 8.0]);
        let y = run1(OpKind::ReduceMean, &red(&[2, 3], true), &[&x], DType::F32, &[1, 2, 1, 1]);
        assert_eq!(vals(&y), vec![2.5, 2.0]);
    }

    #[test]
    fn integer_and_bool_reductions_and_empty_sets() {
        let x = tensor(&[2, 2], TensorData::I32(vec![-7, 2, 3, 4]));
        let y = run1(OpKind::ReduceMean, &red(&[0, 1], false), &[&x], DType::I32, &[]);
        assert_eq!(y.data(), &TensorData::I32(vec![0]));
        let y = run1(OpKind::ReduceSum, &red(&[1], false), &[&x], DType::I32, &[2]);
        assert_eq!(y.data(), &TensorData::I32(vec![-5, 7]));
        let b = tensor(&[2, 2], TensorData::Bool(vec![false, true, false, false]));
        let y = run1(OpKind::ReduceMax, &red(&[1], false), &[&b], DType::Bool, &[2]);
        assert_eq!(y.data(), &TensorData::Bool(vec![true, false]));
        let e = f32t(&[2, 0], &[]);
        let y = run1(OpKind::ReduceMax, &red(&[1], false), &[&e], DType::F32, &[2]);
        assert_eq!(vals(&y), vec![f32::NEG_INFINITY; 2]);
        let y = run1(OpKind::ReduceSum, &red(&[1], false), &[&e], DType::F32, &[2]);
        assert_eq!(vals(&y), vec![0.0; 2]);
    }
}
