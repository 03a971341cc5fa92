//! MaxPool and AveragePool over N spatial dims (layout N, C, spatial…), with pads
//! (begins ++ ends), strides, dilations and ceil_mode.
//!
//! The result size per axis follows ONNX: `⌊(in + pads − ((k−1)·d+1)) / s⌋ + 1` (or ⌈⌉
//! with ceil_mode, dropping a last window that would start in the end padding). Window
//! element `j` of output `o` reads input `o·s − pad_begin + j·d`; elements outside the
//! input are skipped. Average pooling divides by the number of elements read
//! (count_include_pad = 0) or by the number inside the padded extent `[−pad_begin,
//! in + pad_end)` (count_include_pad = 1); ceil-mode overhang never counts.
//! Max pooling: f32, f64, i64, i32, i8, u8 (f16 through f32); average: f32, f64 (f16
//! through f32). Max pooling's optional second result (`indices = 1`) holds, as i64, the
//! flat index into `x` of each maximum: `plane · plane_size + position`, the position
//! counted row-major (`storage_order` 0) or column-major (1, first spatial axis fastest);
//! the first maximum in window order wins, a NaN beats every number (the maximum is NaN
//! then), and a window that reads no input element gives -1.

use super::common::{
    elems, expect_shape, input, invalid, make, next_index, num_dtype, numel, real_dtype,
    spatial_list, strides, to_sizes, touches_f16, unsupported_dtype, via_f32, KResult, Num, Real,
};
use super::{EvalCx, InterpError};
use crate::shape::ShapeCx;
use crate::tensor::TensorData;

/// The windows of one spatial axis: `len` outputs; output `o` covers input positions
/// `o·s − pb + j·d` for `j ∈ [0, k)`.
struct AxisWindows {
    len: usize,
    k: i128,
    s: i128,
    d: i128,
    dim: i128,
    pb: i128,
    pe: i128,
}

/// Window geometry of one axis.
#[derive(Copy, Clone)]
struct AxisParams {
    dim: usize,
    k: usize,
    stride: usize,
    dil: usize,
    pad_begin: usize,
    pad_end: usize,
    ceil: bool,
}

fn axis_windows(cx: &EvalCx, p: AxisParams) -> Result<AxisWindows, InterpError> {
    if p.k == 0 || p.stride == 0 || p.dil == 0 {
        return Err(invalid(cx, "kernel, stride and dilation must be positive"));
    }
    // i128 arithmetic: attribute values cannot overflow it.
    let (k, s, d) = (p.k as i128, p.stride as i128, p.dil as i128);
    let (dim, pb, pe) = (p.dim as i128, p.pad_begin as i128, p.pad_end as i128);
    let eff = (k - 1) * d + 1;
    let padded = dim + pb + pe;
    if padded < eff {
        return Err(invalid(cx, format!("window {eff} exceeds padded input {padded}")));
    }
    let num = padded - eff;
    let mut out = if p.ceil { (num + s - 1) / s + 1 } else { num / s + 1 };
    if p.ceil && (out - 1) * s >= dim + pb {
        out -= 1;
    }
    let out = usize::try_from(out).map_err(|_| invalid(cx, "pooling result too large"))?;
    Ok(AxisWindows { len: out, k, s, d, dim, pb, pe })
}

impl AxisWindows {
    /// Window elements `j ∈ [lo, hi)` of output `o` read the input (`0 ≤ start + j·d < dim`).
    fn valid(&self, o: usize) -> (i128, i128, i128) {
        let start = o as i128 * self.s - self.pb;
        let lo = if start >= 0 { 0 } else { (-start + self.d - 1) / self.d };
        let top = self.dim - start;
        let hi = if top <= 0 { 0 } else { (top + self.d - 1) / self.d };
        let lo = lo.min(self.k);
        (start, lo, hi.clamp(lo, self.k))
    }

    /// Input indices read by output `o`.
    fn taps(&self, o: usize) -> Vec<usize> {
        let (start, lo, hi) = self.valid(o);
        (lo..hi).map(|j| (start + j * self.d) as usize).collect()
    }

    /// Window elements of output `o` inside the padded extent (`start + j·d < dim + pe`).
    fn span(&self, o: usize) -> usize {
        let start = o as i128 * self.s - self.pb;
        let top = self.dim + self.pe - start;
        let n = if top <= 0 { 0 } else { (top + self.d - 1) / self.d };
        n.min(self.k) as usize
    }
}

/// Reads the pooling attributes and builds the per-axis windows; returns them with the
/// result shape.
fn windows(cx: &EvalCx) -> Result<(Vec<AxisWindows>, Vec<usize>), InterpError> {
    let shape = input(cx, 0)?.shape();
    if shape.len() < 3 {
        return Err(invalid(cx, format!("operand has rank {}, expected ≥ 3", shape.len())));
    }
    let sp = shape.len() - 2;
    let a = cx.attrs;
    let kernel = to_sizes(cx, "kernel_shape", a.ints("kernel_shape")?)?;
    if kernel.len() != sp {
        return Err(invalid(
            cx,
            format!("kernel_shape has {} entries, expected {sp}", kernel.len()),
        ));
    }
    let st = spatial_list(cx, "strides", sp, 1)?;
    let pads = spatial_list(cx, "pads", 2 * sp, 0)?;
    let dil = spatial_list(cx, "dilations", sp, 1)?;
    let ceil = a.int("ceil_mode")? != 0;
    let mut out = shape[..2].to_vec();
    let mut ws = Vec::with_capacity(sp);
    for i in 0..sp {
        let p = AxisParams {
            dim: shape[2 + i],
            k: kernel[i],
            stride: st[i],
            dil: dil[i],
            pad_begin: pads[i],
            pad_end: pads[sp + i],
            ceil,
        };
        let w = axis_windows(cx, p)?;
        out.push(w.len);
        ws.push(w);
    }
    expect_shape(cx, 0, &out)?;
    Ok((ws, out))
}

/// Calls `f` with the offset of every element of the window `lists[0] × lists[1] × …`.
fn visit(lists: &[&[usize]], st: &[usize], base: usize, f: &mut impl FnMut(usize)) {
    match (lists.split_first(), st.split_first()) {
        (Some((l, rest)), Some((&s, st_rest))) => {
            for &i in *l {
                visit(rest, st_rest, base + i * s, f);
            }
        }
        _ => f(base),
    }
}

/// Runs `reduce(plane, window offsets)` for every output position of every (n, c) plane.
fn pool_planes<T: Copy, R>(
    cx: &EvalCx,
    x: &[T],
    ws: &[AxisWindows],
    out: &[usize],
    mut reduce: impl FnMut(&[T], &[&[usize]], &[usize], &[usize]) -> R,
) -> Result<Vec<R>, InterpError> {
    let shape = input(cx, 0)?.shape();
    let plane = numel(&shape[2..]);
    let st = strides(&shape[2..]);
    let out_sp = &out[2..];
    let mut y = Vec::with_capacity(numel(out));
    if numel(out) == 0 {
        return Ok(y);
    }
    let taps: Vec<Vec<Vec<usize>>> =
        ws.iter().map(|w| (0..w.len).map(|o| w.taps(o)).collect()).collect();
    let mut lists: Vec<&[usize]> = Vec::with_capacity(taps.len());
    for p in x.chunks(plane.max(1)).take(shape[0] * shape[1]) {
        let mut pos = vec![0usize; out_sp.len()];
        loop {
            lists.clear();
            lists.extend(taps.iter().zip(&pos).map(|(t, &o)| &t[o][..]));
            y.push(reduce(p, &lists, &st, &pos));
            if !next_index(&mut pos, out_sp) {
                break;
            }
        }
    }
    Ok(y)
}

/// Max pooling.
pub fn max_pool(cx: &EvalCx) -> KResult {
    if touches_f16(cx) {
        return via_f32(cx, max_pool);
    }
    let d = input(cx, 0)?.dtype();
    num_dtype!(d, T => max_pool_t::<T>(cx), other => Err(unsupported_dtype(cx, other)))
}

fn max_pool_t<T: Num>(cx: &EvalCx) -> KResult {
    let x = elems::<T>(cx, 0)?;
    let (ws, out) = windows(cx)?;
    if cx.outputs.len() == 2 {
        return max_pool_indices_t(cx, x, &ws, out);
    }
    let y = pool_planes(cx, x, &ws, &out, |p, lists, st, _| {
        let mut m = T::LOWEST;
        visit(lists, st, 0, &mut |o| {
            if let Some(&v) = p.get(o) {
                m = m.max_nan(v);
            }
        });
        m
    })?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

/// Max pooling with the flat index of every maximum (the `indices = 1` form).
fn max_pool_indices_t<T: Num>(
    cx: &EvalCx,
    x: &[T],
    ws: &[AxisWindows],
    out: Vec<usize>,
) -> KResult {
    let shape = input(cx, 0)?.shape();
    let found = pool_planes(cx, x, ws, &out, |p, lists, st, _| {
        // (maximum, its offset in the plane); NaN is sticky, ties keep the first.
        let mut best: Option<(T, usize)> = None;
        visit(lists, st, 0, &mut |o| {
            let Some(&v) = p.get(o) else { return };
            let better = match best {
                None => true,
                Some((m, _)) => !is_nan(m) && (is_nan(v) || v > m),
            };
            if better {
                best = Some((v, o));
            }
        });
        best
    })?;
    let column_major = storage_order(cx)?;
    let dims = &shape[2..];
    let plane = numel(dims);
    let per_plane = numel(&out[2..]).max(1);
    let mut values = Vec::with_capacity(found.len());
    let mut indices = Vec::with_capacity(found.len());
    for (k, f) in found.into_iter().enumerate() {
        let (v, idx) = match f {
            Some((v, o)) => (v, flat_index(k / per_plane, plane, dims, o, column_major)),
            None => (T::LOWEST, -1),
        };
        values.push(v);
        indices.push(idx);
    }
    let idx = make(cx, out.clone(), TensorData::I64(indices))?;
    Ok(vec![make(cx, out, T::wrap(values))?, idx])
}

/// True for NaN, the one value unequal to itself (integers never are).
#[allow(clippy::eq_op)]
fn is_nan<T: PartialEq>(v: T) -> bool {
    v != v
}

/// `storage_order` (absent = the op table's default, 0): true for column-major indices.
fn storage_order(cx: &EvalCx) -> Result<bool, InterpError> {
    let rule = ShapeCx { op: cx.op, inputs: &[], attrs: cx.attrs };
    Ok(rule.int("storage_order").map_err(|e| invalid(cx, e.to_string()))? != 0)
}

/// Flat index into `x` of offset `o` (row-major within a plane of spatial shape `dims`) of
/// plane `p`: row-major, or with the spatial position counted column-major.
fn flat_index(p: usize, plane: usize, dims: &[usize], o: usize, column_major: bool) -> i64 {
    let pos = if column_major {
        let (mut rest, mut stride, mut pos) = (o, 1usize, 0usize);
        let row_strides = strides(dims);
        for (&d, &rs) in dims.iter().zip(&row_strides) {
            pos += (rest / rs.max(1)) * stride;
            rest %= rs.max(1);
            stride *= d;
        }
        pos
    } else {
        o
    };
    // Bounded by the operand's element count, which the shape rule caps at 2^40.
    (p * plane + pos) as i64
}

/// Average pooling.
pub fn avg_pool(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), avg_pool_t)
}

fn avg_pool_t<T: Real>(cx: &EvalCx) -> KResult {
    let x = elems::<T>(cx, 0)?;
    let (ws, out) = windows(cx)?;
    let include_pad = cx.attrs.int("count_include_pad")? != 0;
    let y = pool_planes(cx, x, &ws, &out, |p, lists, st, pos| {
        let mut sum = T::ZERO;
        visit(lists, st, 0, &mut |o| {
            if let Some(&v) = p.get(o) {
                sum += v;
            }
        });
        let count: usize = if include_pad {
            ws.iter().zip(pos).map(|(w, &o)| w.span(o)).product()
        } else {
            lists.iter().map(|l| l.len()).product()
        };
        sum / T::from_f64(count as f64)
    })?;
    Ok(vec![make(cx, out, T::wrap(y))?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::tensor::TensorData;
    use crate::types::{DType, TensorType};

    fn pool_attrs(k: &[i64], s: &[i64], pads: &[i64], d: &[i64], ceil: bool, incl: bool) -> Attrs {
        attrs(&[
            ("kernel_shape", ints(k)),
            ("strides", ints(s)),
            ("pads", ints(pads)),
            ("dilations", ints(d)),
            ("ceil_mode", Attr::Int(ceil as i64)),
            ("count_include_pad", Attr::Int(incl as i64)),
        ])
    }

    fn iota(shape: &[usize]) -> crate::tensor::Tensor {
        let n: usize = shape.iter().product();
        f32t(shape, &(1..=n).map(|v| v as f32).collect::<Vec<_>>())
    }

    #[test]
    fn max_pool_2d_with_and_without_pads() {
        let x = iota(&[1, 1, 4, 4]);
        let a = pool_attrs(&[2, 2], &[2, 2], &[0; 4], &[1, 1], false, false);
        let y = run1(OpKind::MaxPool, &a, &[&x], DType::F32, &[1, 1, 2, 2]);
        assert_eq!(vals(&y), vec![6.0, 8.0, 14.0, 16.0]);
        let a = pool_attrs(&[3, 3], &[2, 2], &[1; 4], &[1, 1], false, false);
        let y = run1(OpKind::MaxPool, &a, &[&x], DType::F32, &[1, 1, 2, 2]);
        assert_eq!(vals(&y), vec![6.0, 8.0, 14.0, 16.0]);
    }

    #[test]
    fn avg_pool_counts_padding_only_when_asked() {
        let x = iota(&[1, 1, 3, 3]);
        let a = pool_attrs(&[2, 2], &[1, 1], &[1, 1, 0, 0], &[1, 1], false, false);
        let y = run1(OpKind::AvgPool, &a, &[&x], DType::F32, &[1, 1, 3, 3]);
        assert_close(&vals(&y)[..4], &[1.0, 1.5, 2.5, 2.5], 1e-6);
        let a = pool_attrs(&[2, 2], &[1, 1], &[1, 1, 0, 0], &[1, 1], false, true);
        let y = run1(OpKind::AvgPool, &a, &[&x], DType::F32, &[1, 1, 3, 3]);
        assert_close(&vals(&y)[..4], &[0.25, 0.75, 1.25, 1.25], 1e-6);
    }

    #[test]
    fn ceil_mode_adds_a_partial_window_but_not_one_starting_in_the_padding() {
        let x = iota(&[1, 1, 5]);
        let a = pool_attrs(&[2], &[2], &[0, 0], &[1], true, false);
        let y = run1(OpKind::MaxPool, &a, &[&x], DType::F32, &[1, 1, 3]);
        assert_eq!(vals(&y), vec![2.0, 4.0, 5.0]);
        let y = run1(OpKind::AvgPool, &a, &[&x], DType::F32, &[1, 1, 3]);
        assert_eq!(vals(&y), vec![1.5, 3.5, 5.0]);
        // The overhang beyond the end padding never counts, even with count_include_pad.
        let a = pool_attrs(&[2], &[2], &[0, 0], &[1], true, true);
        let y = run1(OpKind::AvgPool, &a, &[&x], DType::F32, &[1, 1, 3]);
        assert_eq!(vals(&y), vec![1.5, 3.5, 5.0]);
        // A third window would start at 4 = in + pad_begin: it is dropped.
        let x = iota(&[1, 1, 4]);
        let a = pool_attrs(&[2], &[2], &[0, 1], &[1], true, false);
        let y = run1(OpKind::MaxPool, &a, &[&x], DType::F32, &[1, 1, 2]);
        assert_eq!(vals(&y), vec![2.0, 4.0]);
        let outs = [TensorType::new(DType::F32, [1, 1, 3])];
        assert!(try_run(OpKind::MaxPool, &a, &[&x], &outs).is_err());
    }

    #[test]
    fn dilated_pooling_skips_elements() {
        let x = iota(&[1, 1, 6]);
        let a = pool_attrs(&[2], &[1], &[0, 0], &[2], false, false);
        let y = run1(OpKind::MaxPool, &a, &[&x], DType::F32, &[1, 1, 4]);
        assert_eq!(vals(&y), vec![3.0, 4.0, 5.0, 6.0]);
        let y = run1(OpKind::AvgPool, &a, &[&x], DType::F32, &[1, 1, 4]);
        assert_eq!(vals(&y), vec![2.0, 3.0, 4.0, 5.0]);
    }

    /// Max pooling with indices: (values, indices).
    fn with_indices(a: &Attrs, x: &crate::tensor::Tensor, out: &[usize]) -> (Vec<f32>, Vec<i64>) {
        let mut a = a.clone();
        a.set("indices", Attr::Int(1));
        let outs = [TensorType::new(x.dtype(), out), TensorType::new(DType::I64, out)];
        let r = try_run(OpKind::MaxPool, &a, &[x], &outs).unwrap_or_else(|e| panic!("{e}"));
        let TensorData::I64(idx) = r[1].data().clone() else { panic!("indices are not i64") };
        (vals(&r[0].cast(DType::F32)), idx)
    }

    #[test]
    fn max_pool_indices_row_major_with_pads() {
        // ONNX test_maxpool_with_argmax_2d_precomputed_pads.
        let x = iota(&[1, 1, 5, 5]);
        let a = pool_attrs(&[5, 5], &[1, 1], &[2; 4], &[1, 1], false, false);
        let (v, idx) = with_indices(&a, &x, &[1, 1, 5, 5]);
        let rows = [[12, 13, 14, 14, 14], [17, 18, 19, 19, 19], [22, 23, 24, 24, 24]];
        let want: Vec<i64> = [rows[0], rows[1], rows[2], rows[2], rows[2]].concat();
        assert_eq!(idx, want);
        assert_eq!(v, want.iter().map(|&i| i as f32 + 1.0).collect::<Vec<_>>());
    }

    #[test]
    fn max_pool_indices_column_major_and_per_plane() {
        // ONNX test_maxpool_with_argmax_2d_precomputed_strides: (h, w) counts as w·5 + h.
        let x = iota(&[1, 1, 5, 5]);
        let mut a = pool_attrs(&[2, 2], &[2, 2], &[0; 4], &[1, 1], false, false);
        a.set("storage_order", Attr::Int(1));
        let (v, idx) = with_indices(&a, &x, &[1, 1, 2, 2]);
        assert_eq!((v, idx), (vec![7.0, 9.0, 17.0, 19.0], vec![6, 16, 8, 18]));
        // Planes (n, c) offset by their size; N = 2, C = 1, a 3-d 2x2x2 input per plane.
        let x = iota(&[2, 1, 2, 2, 2]);
        let a3 = pool_attrs(&[2, 2, 2], &[1, 1, 1], &[0; 6], &[1, 1, 1], false, false);
        assert_eq!(with_indices(&a3, &x, &[2, 1, 1, 1, 1]).1, vec![7, 15]);
        let mut a3 = a3;
        a3.set("storage_order", Attr::Int(1));
        // The last element (1, 1, 1) is 7 either way; a max at (d0, d1, d2) = (1, 0, 0)
        // is row-major 4 and column-major 1.
        let x = f32t(&[1, 1, 2, 2, 2], &[0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0]);
        assert_eq!(with_indices(&a3, &x, &[1, 1, 1, 1, 1]).1, vec![1]);
    }

    #[test]
    fn max_pool_indices_ties_nans_and_dtypes() {
        // Ties keep the first in window order; a NaN wins and stays.
        let x = f32t(&[1, 1, 6], &[3.0, 3.0, 1.0, f32::NAN, 5.0, f32::NAN]);
        let a = pool_attrs(&[2], &[2], &[0, 0], &[1], false, false);
        let (v, idx) = with_indices(&a, &x, &[1, 1, 3]);
        assert_eq!(idx, vec![0, 3, 5]);
        assert!(v[0] == 3.0 && v[1].is_nan() && v[2].is_nan());
        // Integers and f16 (through f32).
        let x = tensor(&[1, 1, 4], TensorData::I8(vec![-5, -3, 7, -128]));
        assert_eq!(with_indices(&a, &x, &[1, 1, 2]), (vec![-3.0, 7.0], vec![1, 2]));
        let x = f32t(&[1, 1, 4], &[0.5, -1.0, 2.0, 2.0]).cast(DType::F16);
        assert_eq!(with_indices(&a, &x, &[1, 1, 2]), (vec![0.5, 2.0], vec![0, 2]));
    }

    #[test]
    fn max_pool_on_int8_and_3d() {
        let x = tensor(&[1, 1, 4], TensorData::I8(vec![-5, -3, 7, -128]));
        let a = pool_attrs(&[2], &[2], &[0, 0], &[1], false, false);
        let y = run1(OpKind::MaxPool, &a, &[&x], DType::I8, &[1, 1, 2]);
        assert_eq!(y.data(), &TensorData::I8(vec![-3, 7]));
        let x = iota(&[1, 2, 2, 2, 2]);
        let a = pool_attrs(&[2, 2, 2], &[1, 1, 1], &[0; 6], &[1, 1, 1], false, false);
        let y = run1(OpKind::AvgPool, &a, &[&x], DType::F32, &[1, 2, 1, 1, 1]);
        assert_eq!(vals(&y), vec![4.5, 12.5]);
    }
}
