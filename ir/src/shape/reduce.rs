//! Shape rules of pooling (`max_pool`, `avg_pool`) and reductions (`reduce_mean`,
//! `reduce_sum`, `reduce_max`).
//!
//! Pooling follows ONNX: per spatial axis, out = floor((in + pads − dilation·(k−1) − 1) /
//! stride) + 1, or the ceiling with `ceil_mode`, in which case a last window that would
//! start inside the right padding is dropped. As in onnxruntime, each pad must be smaller
//! than the kernel, so no window lies entirely in padding. `max_pool` with `indices = 1` has
//! a second, i64 result of the same shape (`storage_order` 0 or 1 says how it counts).
//! Reductions take an explicit list of distinct axes (empty = reduce nothing) and
//! `keepdims`. Nothing here computes values.

use super::linalg::{positive_list, Window};
use super::{ShapeCx, ShapeResult};
use crate::ops::OpKind;
use crate::types::{DType, TensorType};

/// `max_pool`, `avg_pool`: [N, C, D…] → [N, C, O…] (and `max_pool`'s i64 indices of the
/// same shape when `indices = 1`).
pub fn pool(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let mut indices = false;
    if cx.op == OpKind::AvgPool {
        cx.expect_float(0)?;
        cx.flag("count_include_pad")?;
    } else {
        cx.expect_numeric(0)?;
        indices = cx.flag("indices")?;
        cx.flag("storage_order")?;
    }
    cx.expect_min_rank(0, 3, "N, C and at least one spatial axis")?;
    let x = cx.input(0)?;
    let dims = x.shape.get(2..).unwrap_or(&[]);
    let why = format!("one per spatial axis, of which there are {}", dims.len());
    let kernel = positive_list(cx, "kernel_shape", dims.len(), &why)?;
    let win = Window::read(cx, dims.len())?;
    let ceil_mode = cx.flag("ceil_mode")?;
    let mut shape = x.shape.get(..2).unwrap_or(&[]).to_vec();
    for (i, (&d, &k)) in dims.iter().zip(&kernel).enumerate() {
        let (pb, pe) = win.pad(i);
        if pb >= k || pe >= k {
            return Err(cx.err(format!(
                "attribute `pads` pads spatial axis {i} by {pb} (begin) and {pe} (end), expected \
                 both smaller than the kernel size {k}"
            )));
        }
        let (s, dil) = (win.stride(i), win.dilation(i));
        let eff = dil * (k - 1) + 1;
        let padded = d as i128 + pb + pe;
        if padded < eff {
            return Err(cx.err(format!(
                "spatial axis {i}: the input has size {d}, padded to {padded}, smaller than the \
                 dilated kernel {eff} (kernel {k}, dilation {dil})"
            )));
        }
        let span = padded - eff;
        let mut o = if ceil_mode { (span + s - 1) / s + 1 } else { span / s + 1 };
        if ceil_mode && (o - 1) * s >= d as i128 + pb {
            o -= 1;
        }
        shape.push(cx.dim(&format!("output size along spatial axis {i}"), o)?);
    }
    let mut out = cx.one(TensorType::new(x.dtype, shape.clone()))?;
    if indices {
        out.push(TensorType::new(DType::I64, shape));
    }
    Ok(out)
}

/// `reduce_*`: the listed axes (distinct, possibly negative) become 1 with `keepdims`, or
/// disappear without it.
pub fn reduce(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    // ONNX ReduceMax (opset 20+) also takes bool (logical or); mean and sum need numbers.
    if !(cx.op == OpKind::ReduceMax && cx.input(0)?.dtype == crate::types::DType::Bool) {
        cx.expect_numeric(0)?;
    }
    let x = cx.input(0)?;
    let axes = cx.axes("axes", cx.ints("axes")?, x.rank())?;
    let keep = cx.flag("keepdims")?;
    let shape = x
        .shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keep) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect::<Vec<_>>();
    cx.one(TensorType::new(x.dtype, shape))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::types::DType;

    fn pool_attrs(k: &[i64], s: &[i64], pads: &[i64], ceil: i64) -> Attrs {
        Attrs::new()
            .with("kernel_shape", ints(k))
            .with("strides", ints(s))
            .with("pads", ints(pads))
            .with("dilations", ints(&vec![1; k.len()]))
            .with("ceil_mode", Attr::Int(ceil))
    }

    #[test]
    fn resnet_max_pool() {
        let a = pool_attrs(&[3, 3], &[2, 2], &[1, 1, 1, 1], 0);
        assert_eq!(shape_of(OpKind::MaxPool, &[f(&[1, 64, 112, 112])], a), [1, 64, 56, 56]);
    }

    #[test]
    fn ceil_mode_pool() {
        // ONNX test_maxpool_2d_ceil: 4x4, kernel 3, stride 2 → 2x2 (floor mode gives 1x1).
        let x = f(&[1, 1, 4, 4]);
        let a = pool_attrs(&[3, 3], &[2, 2], &[0, 0, 0, 0], 1);
        assert_eq!(shape_of(OpKind::MaxPool, std::slice::from_ref(&x), a), [1, 1, 2, 2]);
        let a = pool_attrs(&[3, 3], &[2, 2], &[0, 0, 0, 0], 0);
        assert_eq!(shape_of(OpKind::MaxPool, &[x], a), [1, 1, 1, 1]);
        // GoogLeNet: 112 → 56 with kernel 3, stride 2, ceil_mode, no pads.
        let a = pool_attrs(&[3, 3], &[2, 2], &[0, 0, 0, 0], 1);
        assert_eq!(shape_of(OpKind::MaxPool, &[f(&[1, 64, 112, 112])], a), [1, 64, 56, 56]);
        // Size 3, kernel 2, stride 3, end pad 1: ceil gives 2 windows, but the second would
        // start at 3, inside the right padding, so it is dropped.
        let a = pool_attrs(&[2], &[3], &[0, 1], 1);
        assert_eq!(shape_of(OpKind::AvgPool, &[f(&[1, 1, 3])], a), [1, 1, 1]);
        // Same with a begin pad: the second window starts at 3 - 1 = 2, inside the input.
        let a = pool_attrs(&[2], &[3], &[1, 1], 1);
        assert_eq!(shape_of(OpKind::AvgPool, &[f(&[1, 1, 3])], a), [1, 1, 2]);
    }

    #[test]
    fn dilated_3d_pool() {
        // Effective kernel 2·(2−1)+1 = 3: (8 − 3) / 1 + 1 = 6.
        let a = pool_attrs(&[2, 2, 2], &[1, 1, 1], &[0; 6], 0).with("dilations", ints(&[2, 2, 2]));
        assert_eq!(shape_of(OpKind::MaxPool, &[f(&[1, 1, 8, 8, 8])], a), [1, 1, 6, 6, 6]);
        let a = pool_attrs(&[2], &[1], &[0, 0], 0);
        let out = run(OpKind::MaxPool, &[t(DType::U8, &[1, 2, 5])], a).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[1, 2, 4])]);
    }

    #[test]
    fn max_pool_indices_are_a_second_i64_result() {
        let a = pool_attrs(&[2, 2], &[2, 2], &[0; 4], 0).with("indices", Attr::Int(1));
        let out = run(OpKind::MaxPool, &[t(DType::I8, &[1, 2, 5, 4])], a.clone()).unwrap();
        assert_eq!(out, vec![t(DType::I8, &[1, 2, 2, 2]), t(DType::I64, &[1, 2, 2, 2])]);
        let a = a.with("storage_order", Attr::Int(1));
        assert_eq!(run(OpKind::MaxPool, &[f(&[1, 1, 3, 3])], a).unwrap().len(), 2);
        let a = pool_attrs(&[2, 2], &[2, 2], &[0; 4], 0).with("indices", Attr::Int(0));
        assert_eq!(run(OpKind::MaxPool, &[f(&[1, 1, 3, 3])], a).unwrap().len(), 1);
    }

    #[test]
    fn pool_errors() {
        let x = || vec![f(&[1, 3, 4, 4])];
        expect_err(
            OpKind::MaxPool,
            &x(),
            pool_attrs(&[3, 3], &[1, 1], &[0, 3, 0, 0], 0),
            &["max_pool: attribute `pads` pads spatial axis 1 by 3 (begin) and 0 (end), expected \
               both smaller than the kernel size 3"],
        );
        expect_err(
            OpKind::AvgPool,
            &x(),
            pool_attrs(&[5, 5], &[1, 1], &[0, 0, 0, 0], 0),
            &["spatial axis 0: the input has size 4, padded to 4, smaller than the dilated kernel 5"],
        );
        expect_err(
            OpKind::MaxPool,
            &x(),
            pool_attrs(&[3], &[1, 1], &[0, 0, 0, 0], 0),
            &["attribute `kernel_shape` = [3] has 1 entries, expected 2"],
        );
        expect_err(
            OpKind::MaxPool,
            &x(),
            pool_attrs(&[3, 3], &[1, 1], &[0, 0, 0, 0], 2),
            &["attribute `ceil_mode` must be 0 or 1, found 2"],
        );
        expect_err(
            OpKind::MaxPool,
            &x(),
            pool_attrs(&[3, 3], &[1, 1], &[0, 0, 0, 0], 0).with("indices", Attr::Int(2)),
            &["attribute `indices` must be 0 or 1, found 2"],
        );
        expect_err(
            OpKind::MaxPool,
            &x(),
            pool_attrs(&[3, 3], &[1, 1], &[0, 0, 0, 0], 0).with("storage_order", Attr::Int(-1)),
            &["attribute `storage_order` must be 0 or 1, found -1"],
        );
        expect_err(
            OpKind::AvgPool,
            &[t(DType::I32, &[1, 3, 4, 4])],
            pool_attrs(&[3, 3], &[1, 1], &[0, 0, 0, 0], 0),
            &["avg_pool: operand `x` is i32, expected a float dtype"],
        );
        expect_err(
            OpKind::MaxPool,
            &[f(&[3, 4])],
            pool_attrs(&[3], &[1], &[0, 0], 0),
            &["operand `x` has shape [3, 4] (rank 2), expected rank ≥ 3"],
        );
    }

    fn reduce_attrs(axes: &[i64], keep: i64) -> Attrs {
        Attrs::new().with("axes", ints(axes)).with("keepdims", Attr::Int(keep))
    }

    #[test]
    fn reduce_shapes() {
        let x = f(&[2, 3, 4, 5]);
        let r = |a: Attrs| shape_of(OpKind::ReduceMean, std::slice::from_ref(&x), a);
        assert_eq!(r(reduce_attrs(&[2, 3], 1)), vec![2, 3, 1, 1]);
        assert_eq!(r(reduce_attrs(&[-1, 0], 0)), vec![3, 4]);
        assert_eq!(r(reduce_attrs(&[], 0)), vec![2, 3, 4, 5]);
        assert_eq!(r(Attrs::new().with("axes", ints(&[1]))), vec![2, 1, 4, 5]);
        let out = run(OpKind::ReduceSum, &[t(DType::I64, &[3])], reduce_attrs(&[0], 0)).unwrap();
        assert_eq!(out, vec![t(DType::I64, &[])]);
    }

    #[test]
    fn reduce_errors() {
        let x = || vec![f(&[2, 3])];
        expect_err(
            OpKind::ReduceMax,
            &x(),
            reduce_attrs(&[2], 1),
            &["reduce_max: attribute `axes` = [2]: entry 2 is out of range for rank 2"],
        );
        expect_err(
            OpKind::ReduceSum,
            &x(),
            reduce_attrs(&[1, -1], 1),
            &["`axes` = [1, -1] names axis 1 twice"],
        );
        expect_err(OpKind::ReduceSum, &x(), reduce_attrs(&[1], 3), &["`keepdims` must be 0 or 1"]);
        expect_err(
            OpKind::ReduceMean,
            &[t(DType::Bool, &[2])],
            reduce_attrs(&[0], 1),
            &["operand `x` is bool"],
        );
    }
}
