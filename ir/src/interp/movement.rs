//! Data-movement kernels: const, concat, split, slice, gather, reshape, transpose, expand
//! and pad. They copy elements without arithmetic, so every dtype is supported.
//!
//! Slice follows ONNX exactly (negative starts/ends count from the end, then clamp; steps
//! may be negative); gather accepts negative indices and rejects out-of-range ones; pad
//! supports constant, reflect, edge and wrap modes and negative (cropping) pads. Wrap crops
//! first and then repeats the kept part periodically (as onnxruntime does).

use super::common::{
    any_dtype, broadcast_index, elems, expect_shape, input, invalid, make, next_index, norm_axis,
    numel, strides, to_sizes, unsupported, KResult, Scalar,
};
use super::{EvalCx, InterpError};
use crate::types::DType;

/// The `value` attribute.
pub fn constant(cx: &EvalCx) -> KResult {
    Ok(vec![cx.attrs.tensor("value")?.as_ref().clone()])
}

/// Same elements, the `shape` attribute as the new shape.
pub fn reshape(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let shape = to_sizes(cx, "shape", cx.attrs.ints("shape")?)?;
    let y = x.reshaped(shape).map_err(|e| invalid(cx, e.to_string()))?;
    Ok(vec![y])
}

/// Every operand's dims equal outside `axis`; returns (outer, inner) sizes around it.
fn concat_geometry(cx: &EvalCx, axis: usize) -> Result<(usize, usize, Vec<usize>), InterpError> {
    let first = input(cx, 0)?.shape();
    let mut out = first.to_vec();
    out[axis] = 0;
    for t in cx.inputs {
        let s = t.shape();
        let same_rank = s.len() == first.len();
        if !same_rank || s.iter().zip(first).enumerate().any(|(i, (a, b))| i != axis && a != b) {
            return Err(invalid(cx, format!("cannot concatenate {first:?} and {s:?}")));
        }
        out[axis] += s[axis];
    }
    Ok((numel(&first[..axis]), numel(&first[axis + 1..]), out))
}

/// Concatenation along `axis`.
pub fn concat(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    if let Some(t) = cx.inputs.iter().find(|t| t.dtype() != x.dtype()) {
        return Err(invalid(cx, format!("operands are {} and {}", x.dtype(), t.dtype())));
    }
    any_dtype!(x.dtype(), T => concat_t::<T>(cx))
}

fn concat_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let rank = input(cx, 0)?.shape().len();
    let axis = norm_axis(cx, cx.attrs.int("axis")?, rank)?;
    let (outer, inner, out) = concat_geometry(cx, axis)?;
    let parts: Vec<(&[T], usize)> = (0..cx.inputs.len())
        .map(|i| Ok((elems::<T>(cx, i)?, input(cx, i)?.shape()[axis] * inner)))
        .collect::<Result<_, InterpError>>()?;
    let mut y = Vec::with_capacity(numel(&out));
    for o in 0..outer {
        for &(data, chunk) in &parts {
            let src = data.get(o * chunk..(o + 1) * chunk);
            y.extend_from_slice(src.ok_or_else(|| invalid(cx, "concat chunk out of range"))?);
        }
    }
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// Splits along `axis` into parts of the `split` sizes.
pub fn split(cx: &EvalCx) -> KResult {
    any_dtype!(input(cx, 0)?.dtype(), T => split_t::<T>(cx))
}

fn split_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let data = elems::<T>(cx, 0)?;
    let shape = x.shape();
    let axis = norm_axis(cx, cx.attrs.int("axis")?, shape.len())?;
    let sizes = to_sizes(cx, "split", cx.attrs.ints("split")?)?;
    if sizes.iter().sum::<usize>() != shape[axis] {
        return Err(invalid(cx, format!("split {sizes:?} does not add up to {}", shape[axis])));
    }
    let (outer, inner) = (numel(&shape[..axis]), numel(&shape[axis + 1..]));
    let row = shape[axis] * inner;
    let mut start = 0;
    let mut results = Vec::with_capacity(sizes.len());
    for &s in &sizes {
        let mut y = Vec::with_capacity(outer * s * inner);
        for o in 0..outer {
            let lo = o * row + start * inner;
            let src = data.get(lo..lo + s * inner);
            y.extend_from_slice(src.ok_or_else(|| invalid(cx, "split chunk out of range"))?);
        }
        let mut dims = shape.to_vec();
        dims[axis] = s;
        results.push(make(cx, dims, T::wrap(y))?);
        start += s;
    }
    Ok(results)
}

/// Start, step and count of one sliced axis of size `dim`, per the ONNX rules.
pub fn slice_axis(dim: usize, start: i64, end: i64, step: i64) -> (i64, i64, usize) {
    // i128 keeps the clamping exact for any i64 attribute (i64::MIN steps included).
    let d = dim as i128;
    let wrap = |v: i64| if v < 0 { v as i128 + d } else { v as i128 };
    let (s, e) = (wrap(start), wrap(end));
    if d == 0 {
        return (0, step, 0);
    }
    let (s, e) = if step > 0 {
        (s.clamp(0, d), e.clamp(0, d))
    } else {
        (s.clamp(0, d - 1), e.clamp(-1, d - 1))
    };
    let span = if step > 0 { e - s } else { s - e };
    let stride = (step as i128).abs();
    let count = if span <= 0 { 0 } else { (span + stride - 1) / stride };
    (s as i64, step, count as usize)
}

/// Strided slice with ONNX semantics.
pub fn slice(cx: &EvalCx) -> KResult {
    any_dtype!(input(cx, 0)?.dtype(), T => slice_t::<T>(cx))
}

fn slice_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let data = elems::<T>(cx, 0)?;
    let shape = x.shape();
    let a = cx.attrs;
    let (starts, ends, axes, steps) =
        (a.ints("starts")?, a.ints("ends")?, a.ints("axes")?, a.ints("steps")?);
    let n = starts.len();
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err(invalid(cx, "starts, ends, axes and steps differ in length"));
    }
    // Per axis: first index, step, count. Unlisted axes are taken whole.
    let mut plan: Vec<(i64, i64, usize)> = shape.iter().map(|&d| (0, 1, d)).collect();
    let mut seen = vec![false; shape.len()];
    for i in 0..n {
        let ax = norm_axis(cx, axes[i], shape.len())?;
        if std::mem::replace(&mut seen[ax], true) {
            return Err(invalid(cx, format!("axis {ax} is sliced twice")));
        }
        if steps[i] == 0 {
            return Err(invalid(cx, "slice step 0"));
        }
        plan[ax] = slice_axis(shape[ax], starts[i], ends[i], steps[i]);
    }
    let out: Vec<usize> = plan.iter().map(|p| p.2).collect();
    let st = strides(shape);
    let maps: Vec<Vec<usize>> = plan
        .iter()
        .zip(&st)
        .map(|(&(s, step, c), &stride)| {
            (0..c as i128).map(|j| (s as i128 + j * step as i128) as usize * stride).collect()
        })
        .collect();
    let y = gather_by_axis_maps(cx, data, &out, &maps)?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// Builds a tensor of shape `out` whose element at multi-index `i` is
/// `data[Σ maps[a][i[a]]]`: each axis maps an output coordinate to an input offset.
fn gather_by_axis_maps<T: Scalar>(
    cx: &EvalCx,
    data: &[T],
    out: &[usize],
    maps: &[Vec<usize>],
) -> Result<Vec<T>, InterpError> {
    let n = numel(out);
    let mut y = Vec::with_capacity(n);
    if n == 0 {
        return Ok(y);
    }
    let Some((last, outer_maps)) = maps.split_last() else {
        y.push(*data.first().ok_or_else(|| invalid(cx, "empty scalar"))?);
        return Ok(y);
    };
    let outer = &out[..out.len() - 1];
    let mut pos = vec![0usize; outer.len()];
    loop {
        let base: usize = pos.iter().zip(outer_maps).map(|(&p, m)| m[p]).sum();
        for &off in last {
            y.push(*data.get(base + off).ok_or_else(|| invalid(cx, "index out of range"))?);
        }
        if !next_index(&mut pos, outer) {
            break;
        }
    }
    Ok(y)
}

/// Takes entries of `data` along `axis` at `indices` (i64 or i32; negative count from the
/// end; out of range is an error).
pub fn gather(cx: &EvalCx) -> KResult {
    any_dtype!(input(cx, 0)?.dtype(), T => gather_t::<T>(cx))
}

fn gather_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let (x, it) = (input(cx, 0)?, input(cx, 1)?);
    let data = elems::<T>(cx, 0)?;
    let indices: Vec<i64> = match it.dtype() {
        DType::I64 | DType::I32 => it.data().to_i64_vec(),
        d => return Err(invalid(cx, format!("indices are {d}, expected i64 or i32"))),
    };
    let shape = x.shape();
    let axis = norm_axis(cx, cx.attrs.int("axis")?, shape.len())?;
    let dim = shape[axis];
    let (outer, inner) = (numel(&shape[..axis]), numel(&shape[axis + 1..]));
    let rows: Vec<usize> = indices
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + dim as i64 } else { i };
            if (0..dim as i64).contains(&j) {
                Ok(j as usize)
            } else {
                Err(invalid(cx, format!("index {i} is out of range for axis of size {dim}")))
            }
        })
        .collect::<Result<_, _>>()?;
    let mut y = Vec::with_capacity(outer * rows.len() * inner);
    for o in 0..outer {
        for &r in &rows {
            let lo = (o * dim + r) * inner;
            let src = data.get(lo..lo + inner);
            y.extend_from_slice(src.ok_or_else(|| invalid(cx, "gather row out of range"))?);
        }
    }
    let out = [&shape[..axis], it.shape(), &shape[axis + 1..]].concat();
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// Permutes axes: result dim `i` is operand dim `perm[i]`.
pub fn transpose(cx: &EvalCx) -> KResult {
    any_dtype!(input(cx, 0)?.dtype(), T => transpose_t::<T>(cx))
}

fn transpose_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let data = elems::<T>(cx, 0)?;
    let shape = x.shape();
    let perm = cx.attrs.ints("perm")?;
    let perm: Vec<usize> = if perm.is_empty() {
        (0..shape.len()).rev().collect()
    } else {
        perm.iter().map(|&p| norm_axis(cx, p, shape.len())).collect::<Result<_, _>>()?
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..shape.len()).collect::<Vec<_>>() {
        return Err(invalid(cx, format!("perm {perm:?} is not a permutation")));
    }
    let st = strides(shape);
    let out: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let maps: Vec<Vec<usize>> =
        perm.iter().map(|&p| (0..shape[p]).map(|j| j * st[p]).collect()).collect();
    let y = gather_by_axis_maps(cx, data, &out, &maps)?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// Broadcasts to the result shape (the resolved `shape` attribute).
pub fn expand(cx: &EvalCx) -> KResult {
    any_dtype!(input(cx, 0)?.dtype(), T => expand_t::<T>(cx))
}

fn expand_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let data = elems::<T>(cx, 0)?;
    let out = to_sizes(cx, "shape", cx.attrs.ints("shape")?)?;
    expect_shape(cx, 0, &out)?;
    let idx = broadcast_index(cx, &out, x.shape())?;
    let y = idx
        .iter()
        .map(|&i| data.get(i).copied().ok_or_else(|| invalid(cx, "index out of range")))
        .collect::<Result<Vec<T>, _>>()?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// How an output coordinate of a padded axis finds its element.
fn pad_axis_map(
    cx: &EvalCx,
    dim: usize,
    before: i64,
    after: i64,
    mode: &str,
) -> Result<Vec<Option<usize>>, InterpError> {
    // i128: pads may be anywhere in i64 (a huge begin and a huge negative end cancel out).
    let (d, b, e) = (dim as i128, i128::from(before), i128::from(after));
    let out = d + b + e;
    if out < 0 {
        return Err(invalid(cx, format!("pads {before},{after} crop more than the dim {dim}")));
    }
    // The part kept after cropping, [lo, hi) (wrap repeats it).
    let (lo, hi) = ((-b).clamp(0, d), (d + e.min(0)).max((-b).clamp(0, d)));
    (0..out)
        .map(|o| {
            let i = o - b;
            if (0..d).contains(&i) {
                return Ok(Some(i as usize));
            }
            match mode {
                "constant" => Ok(None),
                _ if d == 0 => Err(invalid(cx, format!("cannot {mode}-pad an empty axis"))),
                "edge" => Ok(Some(i.clamp(0, d - 1) as usize)),
                "reflect" if d == 1 => Ok(Some(0)),
                "reflect" => {
                    let period = 2 * (d - 1);
                    let r = i.rem_euclid(period);
                    Ok(Some(if r < d { r } else { period - r } as usize))
                }
                "wrap" if hi == lo => {
                    Err(invalid(cx, "cannot wrap-pad an axis cropped to nothing"))
                }
                "wrap" => Ok(Some((lo + (i - lo).rem_euclid(hi - lo)) as usize)),
                other => Err(unsupported(cx, format!("mode = \"{other}\""))),
            }
        })
        .collect()
}

/// Pads every axis; `pads` = begins ++ ends, negative entries crop.
pub fn pad(cx: &EvalCx) -> KResult {
    any_dtype!(input(cx, 0)?.dtype(), T => pad_t::<T>(cx))
}

fn pad_t<T: Scalar>(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let data = elems::<T>(cx, 0)?;
    let shape = x.shape();
    let r = shape.len();
    let pads = cx.attrs.ints("pads")?;
    if pads.len() != 2 * r {
        return Err(invalid(cx, format!("{} pads for rank {r}", pads.len())));
    }
    let mode = cx.attrs.str("mode")?;
    let out: Vec<usize> = (0..r)
        .map(|a| {
            (shape[a] as i64).saturating_add(pads[a]).saturating_add(pads[r + a]).max(0) as usize
        })
        .collect();
    expect_shape(cx, 0, &out)?;
    let fill = T::from_f64(cx.attrs.float("value")? as f64);
    let maps: Vec<Vec<Option<usize>>> = (0..r)
        .map(|a| pad_axis_map(cx, shape[a], pads[a], pads[r + a], mode))
        .collect::<Result<_, _>>()?;
    let st = strides(shape);
    let n = numel(&out);
    let mut y = Vec::with_capacity(n);
    if n > 0 {
        let mut pos = vec![0usize; r];
        loop {
            let mut off = Some(0usize);
            for ((&p, m), &s) in pos.iter().zip(&maps).zip(&st) {
                off = off.zip(m[p]).map(|(o, i)| o + i * s);
            }
            y.push(match off {
                Some(o) => *data.get(o).ok_or_else(|| invalid(cx, "index out of range"))?,
                None => fill,
            });
            if !next_index(&mut pos, &out) {
                break;
            }
        }
    }
    Ok(vec![make(cx, out, T::wrap(y))?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::tensor::{Tensor, TensorData};
    use crate::types::{DType, TensorType};
    use std::sync::Arc;

    fn iota(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        tensor(shape, TensorData::I64((0..n as i64).collect()))
    }

    fn i64s(t: &Tensor) -> Vec<i64> {
        t.data().to_i64_vec()
    }

    #[test]
    fn constant_and_reshape() {
        let v = Arc::new(f32t(&[2], &[1.0, 2.0]));
        let a = attrs(&[("value", Attr::Tensor(v))]);
        let y = run1(OpKind::Const, &a, &[], DType::F32, &[2]);
        assert_eq!(vals(&y), vec![1.0, 2.0]);
        let a = attrs(&[("shape", ints(&[3, 2]))]);
        let y = run1(OpKind::Reshape, &a, &[&iota(&[2, 3])], DType::I64, &[3, 2]);
        assert_eq!(i64s(&y), (0..6).collect::<Vec<_>>());
    }

    #[test]
    fn concat_and_split_are_inverse() {
        let (a, b) = (iota(&[2, 1]), iota(&[2, 2]));
        let at = attrs(&[("axis", Attr::Int(-1))]);
        let y = run1(OpKind::Concat, &at, &[&a, &b], DType::I64, &[2, 3]);
        assert_eq!(i64s(&y), vec![0, 0, 1, 1, 2, 3]);
        let at = attrs(&[("axis", Attr::Int(1)), ("split", ints(&[1, 2]))]);
        let outs = [TensorType::new(DType::I64, [2, 1]), TensorType::new(DType::I64, [2, 2])];
        let parts = try_run(OpKind::Split, &at, &[&y], &outs).unwrap();
        assert_eq!((i64s(&parts[0]), i64s(&parts[1])), (i64s(&a), i64s(&b)));
    }

    #[test]
    fn slice_clamps_and_steps_backwards() {
        let x = iota(&[10]);
        let s = |starts: i64, ends: i64, steps: i64, n: usize| {
            let a = attrs(&[
                ("starts", ints(&[starts])),
                ("ends", ints(&[ends])),
                ("axes", ints(&[0])),
                ("steps", ints(&[steps])),
            ]);
            i64s(&run1(OpKind::Slice, &a, &[&x], DType::I64, &[n]))
        };
        assert_eq!(s(1, 1000, 3, 3), vec![1, 4, 7]);
        assert_eq!(s(-1, i64::MIN, -1, 10), vec![9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        assert_eq!(s(20, -20, -4, 3), vec![9, 5, 1]);
        assert_eq!(s(-3, -1, 1, 2), vec![7, 8]);
        assert_eq!(s(5, 2, 1, 0), Vec::<i64>::new());
    }

    #[test]
    fn slice_on_an_inner_axis() {
        let x = iota(&[2, 3]);
        let a = attrs(&[
            ("starts", ints(&[2])),
            ("ends", ints(&[0])),
            ("axes", ints(&[-1])),
            ("steps", ints(&[-2])),
        ]);
        let y = run1(OpKind::Slice, &a, &[&x], DType::I64, &[2, 1]);
        assert_eq!(i64s(&y), vec![2, 5]);
    }

    #[test]
    fn gather_takes_negative_indices_and_rejects_out_of_range() {
        let x = iota(&[3, 2]);
        let idx = tensor(&[2], TensorData::I64(vec![-1, 0]));
        let a = attrs(&[("axis", Attr::Int(0))]);
        let y = run1(OpKind::Gather, &a, &[&x, &idx], DType::I64, &[2, 2]);
        assert_eq!(i64s(&y), vec![4, 5, 0, 1]);
        let idx = tensor(&[], TensorData::I32(vec![1]));
        let a1 = attrs(&[("axis", Attr::Int(1))]);
        let y = run1(OpKind::Gather, &a1, &[&x, &idx], DType::I64, &[3]);
        assert_eq!(i64s(&y), vec![1, 3, 5]);
        let bad = tensor(&[1], TensorData::I64(vec![3]));
        let outs = [TensorType::new(DType::I64, [1, 2])];
        let err = try_run(OpKind::Gather, &a, &[&x, &bad], &outs).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }

    #[test]
    fn transpose_and_expand() {
        let x = iota(&[2, 3]);
        let a = attrs(&[("perm", ints(&[1, 0]))]);
        let y = run1(OpKind::Transpose, &a, &[&x], DType::I64, &[3, 2]);
        assert_eq!(i64s(&y), vec![0, 3, 1, 4, 2, 5]);
        let b = tensor(&[3, 1], TensorData::Bool(vec![true, false, true]));
        let a = attrs(&[("shape", ints(&[2, 3, 2]))]);
        let y = run1(OpKind::Expand, &a, &[&b], DType::Bool, &[2, 3, 2]);
        let row = [true, true, false, false, true, true];
        assert_eq!(y.data(), &TensorData::Bool([row, row].concat()));
    }

    fn pad_attrs(pads: &[i64], mode: &str, value: f32) -> Attrs {
        attrs(&[
            ("pads", ints(pads)),
            ("mode", Attr::Str(mode.into())),
            ("value", Attr::Float(value)),
        ])
    }

    #[test]
    fn pad_modes() {
        let x = f32t(&[3], &[1.0, 2.0, 3.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[2, 1], "constant", 9.0), &[&x], DType::F32, &[6]);
        assert_eq!(vals(&y), vec![9.0, 9.0, 1.0, 2.0, 3.0, 9.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[2, 3], "reflect", 0.0), &[&x], DType::F32, &[8]);
        assert_eq!(vals(&y), vec![3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[2, 1], "edge", 0.0), &[&x], DType::F32, &[6]);
        assert_eq!(vals(&y), vec![1.0, 1.0, 1.0, 2.0, 3.0, 3.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[-1, 1], "constant", 0.0), &[&x], DType::F32, &[3]);
        assert_eq!(vals(&y), vec![2.0, 3.0, 0.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[2, 4], "wrap", 0.0), &[&x], DType::F32, &[9]);
        assert_eq!(vals(&y), vec![2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]);
    }

    #[test]
    fn wrap_pad_repeats_the_part_left_after_cropping() {
        // onnxruntime: crop first, then wrap the rest ([0..5) → [1, 2, 3, 4] → …).
        let x = f32t(&[5], &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[-1, 3], "wrap", 0.0), &[&x], DType::F32, &[7]);
        assert_eq!(vals(&y), vec![1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[3, -1], "wrap", 0.0), &[&x], DType::F32, &[7]);
        assert_eq!(vals(&y), vec![1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0]);
        let y = run1(OpKind::Pad, &pad_attrs(&[-2, 4], "wrap", 0.0), &[&x], DType::F32, &[7]);
        assert_eq!(vals(&y), vec![2.0, 3.0, 4.0, 2.0, 3.0, 4.0, 2.0]);
        let outs = [TensorType::new(DType::F32, [1])];
        let err = try_run(OpKind::Pad, &pad_attrs(&[-5, 1], "wrap", 0.0), &[&x], &outs);
        assert!(err.unwrap_err().to_string().contains("cropped to nothing"));
    }

    #[test]
    fn wrap_pad_2d_matches_numpy() {
        // numpy.pad(arange(6).reshape(2, 3), ((1, 0), (1, 2)), mode="wrap")
        let x = iota(&[2, 3]);
        let y =
            run1(OpKind::Pad, &pad_attrs(&[1, 1, 0, 2], "wrap", 0.0), &[&x], DType::I64, &[3, 6]);
        let want = [5, 3, 4, 5, 3, 4, 2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 3, 4];
        assert_eq!(i64s(&y), want);
    }

    #[test]
    fn pad_2d_integers() {
        let x = iota(&[2, 2]);
        let y = run1(
            OpKind::Pad,
            &pad_attrs(&[0, 1, 1, 0], "constant", 0.0),
            &[&x],
            DType::I64,
            &[3, 3],
        );
        assert_eq!(i64s(&y), vec![0, 0, 1, 0, 2, 3, 0, 0, 0]);
    }

    #[test]
    fn identity_copies_any_dtype() {
        let x = tensor(&[2], TensorData::U8(vec![1, 2]));
        let y = run1(OpKind::Identity, &Attrs::new(), &[&x], DType::U8, &[2]);
        assert_eq!(y, x);
    }
}
