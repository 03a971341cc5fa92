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
//! through f32).

use super::common::{
    elems, expect_shape, input, invalid, make, next_index, num_dtype, numel, real_dtype,
    spatial_list, strides, to_sizes, touches_f16, unsupported_dtype, via_f32, KResult, Num, Real,
};
use super::{EvalCx, InterpError};

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
fn pool_planes<T: Copy>(
    cx: &EvalCx,
    x: &[T],
    ws: &[AxisWindows],
    out: &[usize],
    mut reduce: impl FnMut(&[T], &[&[usize]], &[usize], &[usize]) -> T,
) -> Result<Vec<T>, InterpError> {
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
