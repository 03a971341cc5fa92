//! Shape rules of the data-movement ops: `concat`, `split`, `slice`, `gather`, `reshape`,
//! `transpose`, `expand`, `pad`, `resize`.
//!
//! All of them keep the operand's dtype. Their parameters are attributes resolved by the
//! importer (`reshape.shape` and `expand.shape` are final shapes, `split.split` lists every
//! part, `resize.sizes` is the output shape); axes may be negative. [`slice_axis`] is the one
//! place ONNX Slice's clamping is written down, for the kernel to share. Nothing here
//! computes values.

use super::{broadcasts_to, ShapeCx, ShapeError, ShapeResult};
use crate::types::{DType, TensorType};

/// `concat`: operands share dtype and rank and agree on every dimension except `axis`,
/// whose sizes add up.
pub fn concat(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_min_rank(0, 1, "concat joins along an axis")?;
    let first = cx.input(0)?;
    let axis = cx.axis_attr("axis", first.rank())?;
    let mut total: i128 = 0;
    for (i, t) in cx.inputs.iter().enumerate() {
        cx.expect_same_dtype(i, 0)?;
        let differs =
            first.shape.iter().zip(&t.shape).enumerate().find(|(d, (a, b))| *d != axis && a != b);
        if t.rank() != first.rank() || differs.is_some() {
            return Err(cx.err(format!(
                "operand {} has shape {:?}, operand {} has shape {:?}: they must agree on \
                 every dimension except axis {axis}",
                cx.operand_name(i),
                t.shape,
                cx.operand_name(0),
                first.shape
            )));
        }
        total += t.shape.get(axis).copied().unwrap_or(0) as i128;
    }
    let mut shape = first.shape.clone();
    if let Some(d) = shape.get_mut(axis) {
        *d = cx.dim(&format!("the concatenated size along axis {axis}"), total)?;
    }
    cx.one(TensorType::new(first.dtype, shape))
}

/// `split`: one result per entry of `split`, each the operand with the `axis` dimension
/// replaced by that entry; the entries sum to the dimension.
pub fn split(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_min_rank(0, 1, "split cuts along an axis")?;
    let x = cx.input(0)?;
    let axis = cx.axis_attr("axis", x.rank())?;
    let sizes = cx.ints("split")?;
    if sizes.is_empty() {
        return Err(cx.err("attribute `split` is empty (it lists the size of every result)"));
    }
    if let Some(bad) = sizes.iter().find(|&&s| s < 0) {
        return Err(cx.err(format!(
            "attribute `split` = {sizes:?} has a negative entry {bad} (sizes must be ≥ 0)"
        )));
    }
    let sum: i128 = sizes.iter().map(|&s| i128::from(s)).sum();
    let dim = x.shape.get(axis).copied().unwrap_or(0);
    if sum != dim as i128 {
        return Err(cx.err(format!(
            "attribute `split` = {sizes:?} sums to {sum}, but axis {axis} of operand `x` {:?} \
             has size {dim}",
            x.shape
        )));
    }
    let mut out = Vec::with_capacity(sizes.len());
    for &s in sizes {
        let mut shape = x.shape.clone();
        if let Some(d) = shape.get_mut(axis) {
            *d = cx.dim("a split part", i128::from(s))?;
        }
        out.push(TensorType::new(x.dtype, shape));
    }
    Ok(out)
}

/// ONNX Slice along one axis of size `dim`: negative `start`/`end` count from the end, then
/// `start` is clamped to [0, dim] ([0, dim−1] for a negative step) and `end` to [0, dim]
/// ([−1, dim−1] for a negative step). Returns the first index taken and the element count
/// (`ceil((end − start) / step)`, or 0 when the range is empty), or `None` when `step` is 0.
pub fn slice_axis(dim: usize, start: i64, end: i64, step: i64) -> Option<(usize, usize)> {
    if step == 0 {
        return None;
    }
    if dim == 0 {
        return Some((0, 0));
    }
    let d = dim as i128;
    let (mut s, mut e, st) = (i128::from(start), i128::from(end), i128::from(step));
    if s < 0 {
        s += d;
    }
    if e < 0 {
        e += d;
    }
    let count = if st > 0 {
        s = s.clamp(0, d);
        e = e.clamp(0, d);
        if e > s {
            (e - s + st - 1) / st
        } else {
            0
        }
    } else {
        s = s.clamp(0, d - 1);
        e = e.clamp(-1, d - 1);
        if s > e {
            (s - e - st - 1) / -st
        } else {
            0
        }
    };
    // 0 ≤ s ≤ dim and 0 ≤ count ≤ dim, so both fit in usize.
    Some((usize::try_from(s).ok()?, usize::try_from(count).ok()?))
}

/// `slice`: per listed axis, the ONNX Slice element count ([`slice_axis`]); other axes keep
/// their size. `starts`, `ends`, `axes` and `steps` have one entry per sliced axis.
pub fn slice(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    let starts = cx.ints("starts")?;
    let ends = cx.ints("ends")?;
    let axes = cx.ints("axes")?;
    let steps = cx.ints("steps")?;
    let why = "one per entry of `starts`";
    cx.expect_len("ends", ends, starts.len(), why)?;
    cx.expect_len("axes", axes, starts.len(), why)?;
    cx.expect_len("steps", steps, starts.len(), why)?;
    let axes = cx.axes("axes", axes, x.rank())?;
    let mut shape = x.shape.clone();
    for (k, &axis) in axes.iter().enumerate() {
        let (start, end, step) = match (starts.get(k), ends.get(k), steps.get(k)) {
            (Some(&s), Some(&e), Some(&st)) => (s, e, st),
            _ => return Err(cx.err("attribute lists differ in length")),
        };
        let Some(d) = shape.get_mut(axis) else {
            return Err(cx.err(format!("axis {axis} is out of range")));
        };
        match slice_axis(*d, start, end, step) {
            Some((_, count)) => *d = count,
            None => {
                return Err(cx.err(format!(
                    "attribute `steps` = {steps:?} has a 0 step for axis {axis} (steps must be \
                     non-zero)"
                )))
            }
        }
    }
    cx.one(TensorType::new(x.dtype, shape))
}

/// `gather`: `data.shape[..axis] ++ indices.shape ++ data.shape[axis+1..]`; indices are
/// i64 or i32.
pub fn gather(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_min_rank(0, 1, "gather takes entries along an axis")?;
    let (data, idx) = (cx.input(0)?, cx.input(1)?);
    if !matches!(idx.dtype, DType::I64 | DType::I32) {
        return Err(cx.err(format!("operand `indices` is {}, expected i64 or i32", idx.dtype)));
    }
    let axis = cx.axis_attr("axis", data.rank())?;
    let mut shape = data.shape.get(..axis).unwrap_or(&[]).to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(data.shape.get(axis + 1..).unwrap_or(&[]));
    cx.one(TensorType::new(data.dtype, shape))
}

/// Reads a list attribute holding a fully resolved shape (every entry ≥ 0).
fn shape_attr(cx: &ShapeCx, name: &str) -> Result<Vec<usize>, ShapeError> {
    let v = cx.ints(name)?;
    if let Some(bad) = v.iter().find(|&&d| d < 0) {
        return Err(cx.err(format!(
            "attribute `{name}` = {v:?} has a negative entry {bad} (the shape must be fully \
             resolved: no -1)"
        )));
    }
    let shape: Vec<usize> = v.iter().map(|&d| usize::try_from(d).unwrap_or(usize::MAX)).collect();
    cx.check_size(&format!("attribute `{name}`"), &shape)?;
    Ok(shape)
}

/// `reshape`: the `shape` attribute, whose element count must equal the operand's.
pub fn reshape(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    let shape = shape_attr(cx, "shape")?;
    let want = TensorType::new(x.dtype, shape);
    if want.numel() != x.numel() {
        return Err(cx.err(format!(
            "attribute `shape` = {:?} has {} elements, operand `x` {:?} has {}",
            want.shape,
            want.numel(),
            x.shape,
            x.numel()
        )));
    }
    cx.one(want)
}

/// `transpose`: result dimension i is operand dimension `perm[i]`; `perm` is a permutation
/// of the axes.
pub fn transpose(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    let perm = cx.ints("perm")?;
    let why = format!("one per axis of operand `x` {:?}", x.shape);
    cx.expect_len("perm", perm, x.rank(), &why)?;
    let perm = cx.axes("perm", perm, x.rank())?;
    let shape = perm.iter().map(|&p| x.shape.get(p).copied().unwrap_or(0)).collect::<Vec<_>>();
    cx.one(TensorType::new(x.dtype, shape))
}

/// `expand`: the `shape` attribute is the final shape; the operand must broadcast to it.
pub fn expand(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    let shape = shape_attr(cx, "shape")?;
    if !broadcasts_to(&x.shape, &shape) {
        return Err(cx.err(format!(
            "operand `x` with shape {:?} does not broadcast to attribute `shape` = {shape:?} \
             (aligned from the right, each operand dimension must equal the target or be 1)",
            x.shape
        )));
    }
    cx.one(TensorType::new(x.dtype, shape))
}

/// `pad`: dimension i becomes `d + pads[i] + pads[rank + i]` (negative pads crop, the result
/// must stay ≥ 0). `reflect`, `edge` and `wrap` copy input elements into the padding, so they
/// cannot pad an empty axis; `wrap` repeats what is left after cropping, so that must not be
/// empty either.
pub fn pad(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    let pads = cx.ints("pads")?;
    let mode = cx.choice("mode", &["constant", "reflect", "edge", "wrap"])?;
    let rank = x.rank();
    cx.expect_len("pads", pads, 2 * rank, &format!("begins ++ ends for rank {rank}"))?;
    let mut shape = Vec::with_capacity(rank);
    for (i, &d) in x.shape.iter().enumerate() {
        let (pb, pe) = match (pads.get(i), pads.get(i + rank)) {
            (Some(&b), Some(&e)) => (i128::from(b), i128::from(e)),
            _ => return Err(cx.err("attribute `pads` is too short")),
        };
        let di = d as i128;
        if mode != "constant" && d == 0 && pb.max(pe) > 0 {
            return Err(cx.err(format!(
                "attribute `pads` = {pads:?} pads axis {i}, which is empty, in mode \"{mode}\" \
                 (only mode \"constant\" can pad an empty axis)"
            )));
        }
        if mode == "wrap" && pb.max(pe) > 0 && di + pb.min(0) + pe.min(0) <= 0 {
            return Err(cx.err(format!(
                "attribute `pads` = {pads:?} crops axis {i} (size {d}) to nothing and pads it in \
                 mode \"wrap\", which repeats what is left"
            )));
        }
        shape.push(
            cx.dim(&format!("the padded size of axis {i} ({d} + {pb} + {pe})"), di + pb + pe)?,
        );
    }
    cx.one(TensorType::new(x.dtype, shape))
}

/// The values of `resize`'s `coordinate_transformation_mode`, as ONNX spells them; the
/// shape rule, the interpreter and the ONNX importer all accept exactly these.
pub const RESIZE_COORDINATE_MODES: &[&str] = &[
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_half_pixel_for_nn",
    "tf_crop_and_resize",
];

/// `resize`: the result shape is `sizes` (one entry per axis); `scales` has one positive
/// finite entry per axis; the mode attributes must be ones the interpreter knows. `roi` is
/// empty, except with `tf_crop_and_resize`, which needs 2·rank finite entries (starts ++
/// ends). `antialias = 1` needs mode linear or cubic.
pub fn resize(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_numeric(0)?;
    let x = cx.input(0)?;
    let rank = x.rank();
    let why = format!("one per axis of operand `x` {:?}", x.shape);
    let sizes = shape_attr(cx, "sizes")?;
    cx.expect_len("sizes", &sizes, rank, &why)?;
    let scales = cx.floats("scales")?;
    cx.expect_len("scales", scales, rank, &why)?;
    if let Some(bad) = scales.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(cx.err(format!(
            "attribute `scales` = {scales:?} has an entry {bad}, expected finite values > 0"
        )));
    }
    let mode = cx.choice("mode", &["nearest", "linear", "cubic"])?;
    let transform = cx.choice("coordinate_transformation_mode", RESIZE_COORDINATE_MODES)?;
    cx.choice("nearest_mode", &["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])?;
    cx.flag("exclude_outside")?;
    cx.float("extrapolation_value")?;
    if cx.flag("antialias")? && mode == "nearest" {
        return Err(cx.err(
            "attribute `antialias` = 1 needs mode \"linear\" or \"cubic\", found \"nearest\"",
        ));
    }
    let roi = cx.floats("roi")?;
    if transform == "tf_crop_and_resize" {
        cx.expect_len("roi", roi, 2 * rank, &format!("starts ++ ends for rank {rank}"))?;
        if let Some(bad) = roi.iter().find(|v| !v.is_finite()) {
            return Err(cx.err(format!("attribute `roi` = {roi:?} has an entry {bad}")));
        }
    } else if !roi.is_empty() {
        return Err(cx.err(format!(
            "attribute `roi` = {roi:?} is only read by coordinate_transformation_mode \
             \"tf_crop_and_resize\", expected [] with \"{transform}\""
        )));
    }
    cx.one(TensorType::new(x.dtype, sizes))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;

    #[test]
    fn concat_shapes() {
        let a = |v| Attrs::new().with("axis", Attr::Int(v));
        let ins = [f(&[1, 64, 56, 56]), f(&[1, 32, 56, 56]), f(&[1, 0, 56, 56])];
        assert_eq!(shape_of(OpKind::Concat, &ins, a(1)), vec![1, 96, 56, 56]);
        assert_eq!(shape_of(OpKind::Concat, &ins, a(-3)), vec![1, 96, 56, 56]);
        assert_eq!(shape_of(OpKind::Concat, &[f(&[3])], a(0)), vec![3]);
    }

    #[test]
    fn concat_errors() {
        let a = |v| Attrs::new().with("axis", Attr::Int(v));
        expect_err(
            OpKind::Concat,
            &[f(&[2, 3]), f(&[3, 3])],
            a(1),
            &["concat: operand `x#1` has shape [3, 3], operand `x#0` has shape [2, 3]", "axis 1"],
        );
        expect_err(OpKind::Concat, &[f(&[2, 3]), f(&[2, 3, 1])], a(0), &["`x#1` has shape"]);
        expect_err(
            OpKind::Concat,
            &[f(&[2]), t(DType::I64, &[2])],
            a(0),
            &["`x#1` is i64 but operand `x#0` is f32"],
        );
        expect_err(OpKind::Concat, &[f(&[2])], a(1), &["`axis` = 1 is out of range for rank 1"]);
        expect_err(OpKind::Concat, &[f(&[])], a(0), &["rank ≥ 1"]);
    }

    fn split_attrs(axis: i64, sizes: &[i64]) -> Attrs {
        Attrs::new().with("axis", Attr::Int(axis)).with("split", ints(sizes))
    }

    #[test]
    fn split_shapes() {
        let out = run(OpKind::Split, &[f(&[2, 6, 4])], split_attrs(1, &[1, 2, 3])).unwrap();
        assert_eq!(out, vec![f(&[2, 1, 4]), f(&[2, 2, 4]), f(&[2, 3, 4])]);
        let out = run(OpKind::Split, &[f(&[2, 6, 4])], split_attrs(-1, &[4, 0])).unwrap();
        assert_eq!(out, vec![f(&[2, 6, 4]), f(&[2, 6, 0])]);
    }

    #[test]
    fn split_errors() {
        expect_err(
            OpKind::Split,
            &[f(&[2, 6])],
            split_attrs(1, &[2, 2]),
            &["split: attribute `split` = [2, 2] sums to 4, but axis 1 of operand `x` [2, 6] has \
               size 6"],
        );
        expect_err(OpKind::Split, &[f(&[2, 6])], split_attrs(1, &[]), &["`split` is empty"]);
        expect_err(OpKind::Split, &[f(&[2, 6])], split_attrs(1, &[7, -1]), &["negative entry -1"]);
        expect_err(OpKind::Split, &[f(&[2, 6])], split_attrs(2, &[6]), &["`axis` = 2"]);
    }

    #[test]
    fn slice_axis_semantics() {
        // Compared with Python's slicing, which ONNX Slice follows.
        assert_eq!(slice_axis(10, 0, 10, 1), Some((0, 10)));
        assert_eq!(slice_axis(10, 2, 8, 3), Some((2, 2)));
        assert_eq!(slice_axis(10, -3, i64::MAX, 1), Some((7, 3)));
        assert_eq!(slice_axis(10, 8, 2, 1), Some((8, 0)));
        // x[::-1]
        assert_eq!(slice_axis(10, -1, i64::MIN, -1), Some((9, 10)));
        // x[8:2:-2] = 8, 6, 4
        assert_eq!(slice_axis(10, 8, 2, -2), Some((8, 3)));
        // x[20:-20:-3]: start clamps to 9, end to -1: 9, 6, 3, 0
        assert_eq!(slice_axis(10, 20, -20, -3), Some((9, 4)));
        // x[-1:-1:-1] is empty: end -1 means index 9.
        assert_eq!(slice_axis(10, -1, -1, -1), Some((9, 0)));
        assert_eq!(slice_axis(10, i64::MIN, i64::MAX, i64::MAX), Some((0, 1)));
        assert_eq!(slice_axis(10, i64::MAX, i64::MIN, i64::MIN), Some((9, 1)));
        assert_eq!(slice_axis(0, 0, 5, -1), Some((0, 0)));
        // ONNX (and onnxruntime) clamp a negative-step start to [0, dim-1]; numpy would give
        // an empty slice here because the start lies before the axis.
        assert_eq!(slice_axis(5, -10, -10, -3), Some((0, 1)));
        assert_eq!(slice_axis(10, 0, 5, 0), None);
    }

    fn slice_attrs(starts: &[i64], ends: &[i64], axes: &[i64], steps: &[i64]) -> Attrs {
        Attrs::new()
            .with("starts", ints(starts))
            .with("ends", ints(ends))
            .with("axes", ints(axes))
            .with("steps", ints(steps))
    }

    #[test]
    fn slice_shapes() {
        let x = f(&[20, 10, 5]);
        let a = slice_attrs(&[0, 0], &[3, 10], &[0, 1], &[1, 1]);
        assert_eq!(shape_of(OpKind::Slice, std::slice::from_ref(&x), a), vec![3, 10, 5]);
        let a = slice_attrs(&[20, 10, 4], &[0, 0, 1], &[0, 1, 2], &[-1, -3, -2]);
        assert_eq!(shape_of(OpKind::Slice, std::slice::from_ref(&x), a), vec![19, 3, 2]);
        let a = slice_attrs(&[-1], &[i64::MIN], &[-2], &[-1]);
        assert_eq!(shape_of(OpKind::Slice, std::slice::from_ref(&x), a), vec![20, 10, 5]);
        let a = slice_attrs(&[1000], &[1000], &[1], &[1]);
        assert_eq!(shape_of(OpKind::Slice, std::slice::from_ref(&x), a), vec![20, 0, 5]);
        let a = slice_attrs(&[], &[], &[], &[]);
        assert_eq!(shape_of(OpKind::Slice, &[x], a), vec![20, 10, 5]);
    }

    #[test]
    fn slice_errors() {
        let x = || vec![f(&[20, 10])];
        expect_err(
            OpKind::Slice,
            &x(),
            slice_attrs(&[0], &[3], &[0], &[0]),
            &["slice: attribute `steps` = [0] has a 0 step for axis 0"],
        );
        expect_err(
            OpKind::Slice,
            &x(),
            slice_attrs(&[0, 1], &[3], &[0, 1], &[1, 1]),
            &["attribute `ends` = [3] has 1 entries, expected 2"],
        );
        expect_err(
            OpKind::Slice,
            &x(),
            slice_attrs(&[0, 1], &[3, 4], &[0, -2], &[1, 1]),
            &["`axes` = [0, -2] names axis 0 twice"],
        );
        expect_err(
            OpKind::Slice,
            &x(),
            slice_attrs(&[0], &[3], &[2], &[1]),
            &["attribute `axes` = [2]: entry 2 is out of range for rank 2 (expected -2..=1)"],
        );
    }

    #[test]
    fn gather_shapes() {
        let a = |v| Attrs::new().with("axis", Attr::Int(v));
        let data = f(&[5, 4, 3]);
        let idx = t(DType::I64, &[2, 6]);
        assert_eq!(shape_of(OpKind::Gather, &[data.clone(), idx.clone()], a(1)), [5, 2, 6, 3]);
        assert_eq!(shape_of(OpKind::Gather, &[data.clone(), idx], a(-1)), [5, 4, 2, 6]);
        let scalar = t(DType::I32, &[]);
        assert_eq!(shape_of(OpKind::Gather, &[data.clone(), scalar], a(0)), [4, 3]);
        let out = run(OpKind::Gather, &[t(DType::I64, &[3]), t(DType::I64, &[])], a(0)).unwrap();
        assert_eq!(out, vec![t(DType::I64, &[])]);
    }

    #[test]
    fn gather_errors() {
        let a = |v| Attrs::new().with("axis", Attr::Int(v));
        expect_err(
            OpKind::Gather,
            &[f(&[5, 4]), f(&[2])],
            a(0),
            &["gather: operand `indices` is f32, expected i64 or i32"],
        );
        expect_err(
            OpKind::Gather,
            &[f(&[5, 4]), t(DType::I64, &[2])],
            a(2),
            &["`axis` = 2 is out of range for rank 2 (expected -2..=1)"],
        );
        expect_err(OpKind::Gather, &[f(&[]), t(DType::I64, &[])], a(0), &["rank ≥ 1"]);
    }

    #[test]
    fn reshape_rule() {
        let a = |v: &[i64]| Attrs::new().with("shape", ints(v));
        assert_eq!(shape_of(OpKind::Reshape, &[f(&[2, 3, 4])], a(&[6, 4])), vec![6, 4]);
        assert_eq!(shape_of(OpKind::Reshape, &[f(&[1])], a(&[])), Vec::<usize>::new());
        expect_err(
            OpKind::Reshape,
            &[f(&[2, 3, 4])],
            a(&[5, 4]),
            &["reshape: attribute `shape` = [5, 4] has 20 elements, operand `x` [2, 3, 4] has 24"],
        );
        expect_err(OpKind::Reshape, &[f(&[2, 3])], a(&[-1]), &["negative entry -1", "no -1"]);
        expect_err(
            OpKind::Reshape,
            &[f(&[2, 3])],
            a(&[1 << 40, 1 << 40]),
            &["attribute `shape`", "2^40"],
        );
    }

    #[test]
    fn transpose_rule() {
        let a = |v: &[i64]| Attrs::new().with("perm", ints(v));
        assert_eq!(shape_of(OpKind::Transpose, &[f(&[2, 3, 4])], a(&[2, 0, 1])), [4, 2, 3]);
        assert_eq!(shape_of(OpKind::Transpose, &[f(&[2, 3, 4])], a(&[-1, 1, -3])), [4, 3, 2]);
        assert_eq!(shape_of(OpKind::Transpose, &[f(&[])], a(&[])), Vec::<usize>::new());
        expect_err(
            OpKind::Transpose,
            &[f(&[2, 3, 4])],
            a(&[0, 1]),
            &["transpose: attribute `perm` = [0, 1] has 2 entries, expected 3"],
        );
        expect_err(
            OpKind::Transpose,
            &[f(&[2, 3, 4])],
            a(&[0, 1, 1]),
            &["`perm` = [0, 1, 1] names axis 1 twice"],
        );
        expect_err(
            OpKind::Transpose,
            &[f(&[2, 3])],
            a(&[0, 2]),
            &["`perm` = [0, 2]: entry 2 is out of range"],
        );
    }

    #[test]
    fn expand_rule() {
        let a = |v: &[i64]| Attrs::new().with("shape", ints(v));
        assert_eq!(shape_of(OpKind::Expand, &[f(&[3, 1])], a(&[2, 3, 6])), vec![2, 3, 6]);
        assert_eq!(shape_of(OpKind::Expand, &[f(&[])], a(&[4])), vec![4]);
        expect_err(
            OpKind::Expand,
            &[f(&[3, 1])],
            a(&[3, 4, 1]),
            &["expand: operand `x` with shape [3, 1] does not broadcast to attribute `shape` = \
               [3, 4, 1]"],
        );
        expect_err(OpKind::Expand, &[f(&[2, 3])], a(&[3]), &["does not broadcast"]);
    }

    fn pad_attrs(pads: &[i64], mode: &str) -> Attrs {
        Attrs::new().with("pads", ints(pads)).with("mode", Attr::Str(mode.into()))
    }

    #[test]
    fn pad_rule() {
        let x = f(&[1, 3, 4, 5]);
        let p = pad_attrs(&[0, 0, 3, 1, 0, 0, 4, 2], "constant");
        assert_eq!(shape_of(OpKind::Pad, std::slice::from_ref(&x), p), vec![1, 3, 11, 8]);
        let p = pad_attrs(&[0, 0, -1, 2, 0, 0, -3, 3], "reflect");
        assert_eq!(shape_of(OpKind::Pad, std::slice::from_ref(&x), p), vec![1, 3, 0, 10]);
        let p = Attrs::new().with("pads", ints(&[0, 0, 1, 1, 0, 0, 1, 1]));
        assert_eq!(shape_of(OpKind::Pad, std::slice::from_ref(&x), p), vec![1, 3, 6, 7]);
        // Reflect pads may exceed the axis (the reflection repeats, as in numpy).
        let p = pad_attrs(&[0, 0, 0, 6, 0, 0, 0, 0], "reflect");
        assert_eq!(shape_of(OpKind::Pad, std::slice::from_ref(&x), p), vec![1, 3, 4, 11]);
        let p = pad_attrs(&[0, 0, 5, 0, 0, 0, 0, 0], "edge");
        assert_eq!(shape_of(OpKind::Pad, std::slice::from_ref(&x), p), vec![1, 3, 9, 5]);
        // Wrap pads may exceed the axis too, and may crop the other end.
        let p = pad_attrs(&[0, 0, 9, -1, 0, 0, 0, 0], "wrap");
        assert_eq!(shape_of(OpKind::Pad, &[x], p), vec![1, 3, 13, 4]);
    }

    #[test]
    fn pad_errors() {
        let x = || vec![f(&[1, 3, 4, 5])];
        expect_err(
            OpKind::Pad,
            &x(),
            pad_attrs(&[0, 0, -5, 0, 0, 0, 0, 0], "constant"),
            &["pad: the padded size of axis 2 (4 + -5 + 0) would be -1, which is negative"],
        );
        expect_err(
            OpKind::Pad,
            &[f(&[0, 2])],
            pad_attrs(&[1, 0, 0, 0], "edge"),
            &["`pads` = [1, 0, 0, 0] pads axis 0, which is empty, in mode \"edge\""],
        );
        expect_err(
            OpKind::Pad,
            &x(),
            pad_attrs(&[0, 0, 1, 1], "constant"),
            &["attribute `pads` = [0, 0, 1, 1] has 4 entries, expected 8"],
        );
        expect_err(
            OpKind::Pad,
            &x(),
            pad_attrs(&[0; 8], "circular"),
            &["attribute `mode` = \"circular\" is not supported (expected one of: constant, \
               reflect, edge, wrap)"],
        );
        expect_err(
            OpKind::Pad,
            &x(),
            pad_attrs(&[0, 0, 0, 2, 0, 0, 0, -5], "wrap"),
            &["`pads` = [0, 0, 0, 2, 0, 0, 0, -5] crops axis 3 (size 5) to nothing and pads it \
               in mode \"wrap\""],
        );
    }

    fn resize_attrs(sizes: &[i64], scales: &[f32]) -> Attrs {
        Attrs::new().with("sizes", ints(sizes)).with("scales", Attr::Floats(scales.to_vec()))
    }

    #[test]
    fn resize_rule() {
        let x = f(&[1, 1, 4, 4]);
        let a = resize_attrs(&[1, 1, 8, 8], &[1.0, 1.0, 2.0, 2.0]);
        assert_eq!(shape_of(OpKind::Resize, std::slice::from_ref(&x), a), vec![1, 1, 8, 8]);
        let a = resize_attrs(&[1, 1, 3, 2], &[1.0, 1.0, 0.75, 0.5])
            .with("mode", Attr::Str("cubic".into()))
            .with("coordinate_transformation_mode", Attr::Str("align_corners".into()));
        assert_eq!(shape_of(OpKind::Resize, std::slice::from_ref(&x), a.clone()), vec![1, 1, 3, 2]);
        let a = a.with("antialias", Attr::Int(1));
        assert_eq!(shape_of(OpKind::Resize, std::slice::from_ref(&x), a), vec![1, 1, 3, 2]);
        // Crop and resize: the roi may reach outside [0, 1] (extrapolation).
        let a = resize_attrs(&[1, 1, 3, 3], &[1.0, 1.0, 0.75, 0.75])
            .with("mode", Attr::Str("linear".into()))
            .with("coordinate_transformation_mode", Attr::Str("tf_crop_and_resize".into()))
            .with("roi", Attr::Floats(vec![0.0, 0.0, 0.4, -0.5, 1.0, 1.0, 0.6, 1.7]))
            .with("extrapolation_value", Attr::Float(10.0));
        assert_eq!(shape_of(OpKind::Resize, &[x], a), vec![1, 1, 3, 3]);
    }

    #[test]
    fn resize_errors() {
        let x = || vec![f(&[1, 1, 4, 4])];
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[8, 8], &[1.0, 1.0, 2.0, 2.0]),
            &["resize: attribute `sizes` = [8, 8] has 2 entries, expected 4"],
        );
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[1, 1, 8, 8], &[2.0, 2.0]),
            &["attribute `scales` = [2.0, 2.0] has 2 entries, expected 4"],
        );
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[1, 1, 8, 8], &[1.0, 1.0, 0.0, 2.0]),
            &["`scales` = [1.0, 1.0, 0.0, 2.0] has an entry 0, expected finite values > 0"],
        );
        let crop = || {
            resize_attrs(&[1, 1, 8, 8], &[1.0; 4])
                .with("coordinate_transformation_mode", Attr::Str("tf_crop_and_resize".into()))
        };
        expect_err(
            OpKind::Resize,
            &x(),
            crop(),
            &["attribute `roi` = [] has 0 entries, expected 8 (starts ++ ends for rank 4)"],
        );
        let mut roi = vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, f32::NAN];
        expect_err(
            OpKind::Resize,
            &x(),
            crop().with("roi", Attr::Floats(roi.clone())),
            &["attribute `roi` = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, NaN] has an entry NaN"],
        );
        roi[7] = 1.0;
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[1, 1, 8, 8], &[1.0; 4]).with("roi", Attr::Floats(roi)),
            &["`roi` = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0] is only read by \
               coordinate_transformation_mode \"tf_crop_and_resize\", expected [] with \
               \"half_pixel\""],
        );
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[1, 1, 8, 8], &[1.0; 4]).with("antialias", Attr::Int(1)),
            &["attribute `antialias` = 1 needs mode \"linear\" or \"cubic\", found \"nearest\""],
        );
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[1, 1, 8, 8], &[1.0; 4]).with("antialias", Attr::Int(2)),
            &["attribute `antialias` must be 0 or 1, found 2"],
        );
        expect_err(
            OpKind::Resize,
            &x(),
            resize_attrs(&[1, 1, -8, 8], &[1.0; 4]),
            &["`sizes` = [1, 1, -8, 8] has a negative entry -8"],
        );
    }
}
