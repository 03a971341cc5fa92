//! Resize: nearest (every nearest_mode), N-d linear and cubic interpolation, with the
//! coordinate transforms half_pixel, half_pixel_symmetric, pytorch_half_pixel,
//! align_corners, asymmetric, tf_half_pixel_for_nn and tf_crop_and_resize, and
//! antialiased linear and cubic downscaling.
//!
//! Interpolation is separable, so the kernel resizes one axis at a time (axes whose size
//! and scale are unchanged, and whose roi is the whole axis, are skipped), in f64, as the
//! ONNX reference does. For each output coordinate the source coordinate `x` is mapped back
//! with the transform; the window is the `n` input indices nearest to `x` (ties to the
//! left), clamped to the edge; the weights come from the mode's kernel (exclude_outside
//! zeroes those of indices outside the input and renormalises). n is 2 for nearest and
//! linear and 4 for cubic; with antialias the kernel is stretched by 1/scale when
//! downscaling (n = 2 − 2·(⌊−1/s⌋ + 1) for linear, 2 − 2·(⌊−2/s⌋ + 1) for cubic, s =
//! min(scale, 1)) and its weights are normalised to sum 1. Under tf_crop_and_resize, `x`
//! runs over the axis's `roi` (fractions of `in − 1`) and an `x` outside `[0, in − 1]`
//! gives `extrapolation_value`; the roi arithmetic rounds through f32 where the reference
//! (numpy on the f32 roi tensor) does. f32 and f64 (f16 through f32).

use super::common::{
    elems, expect_shape, input, invalid, make, numel, real_dtype, to_sizes, unsupported, KResult,
    Real,
};
use super::{EvalCx, InterpError};
use crate::shape::ShapeCx;

/// The interpolation kernel of a mode.
#[derive(Copy, Clone)]
enum Kernel {
    Nearest(Rounding),
    Linear,
    Cubic { a: f64 },
}

/// nearest_mode.
#[derive(Copy, Clone)]
enum Rounding {
    PreferFloor,
    PreferCeil,
    Floor,
    Ceil,
}

/// Keys cubic's piecewise polynomial (coefficient `a`) at distance `t ≥ 0`.
fn cubic_weight(a: f64, t: f64) -> f64 {
    let t = t.abs();
    if t <= 1.0 {
        ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    } else if t < 2.0 {
        ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a
    } else {
        0.0
    }
}

impl Kernel {
    /// The first tap's offset from the input index left of `x` (taps are consecutive), with
    /// antialias at scale `scale`: `⌊−support/s⌋ + 1`, s = min(scale, 1); 0 for linear and
    /// −1 for cubic without it (n = 2 − 2·first).
    fn first_tap(self, scale: f64, antialias: bool) -> f64 {
        match self {
            Kernel::Nearest(_) => 0.0,
            Kernel::Linear if antialias => (-1.0 / scale.min(1.0)).floor() + 1.0,
            Kernel::Cubic { .. } if antialias => (-2.0 / scale.min(1.0)).floor() + 1.0,
            Kernel::Linear => 0.0,
            Kernel::Cubic { .. } => -1.0,
        }
    }

    /// Weights of the `2 − 2·first` taps for `ratio ∈ (0, 1]`, the distance of the source
    /// coordinate from the tap left of it (1 when it falls on an index).
    fn weights(self, ratio: f64, scale: f64, first: i64, antialias: bool) -> Vec<f64> {
        let r = ratio;
        match self {
            Kernel::Nearest(_) if r.fract() == 0.0 => vec![0.0, 1.0],
            Kernel::Nearest(mode) => {
                let right = match mode {
                    Rounding::PreferFloor => r > 0.5,
                    Rounding::PreferCeil => r >= 0.5,
                    Rounding::Floor => false,
                    Rounding::Ceil => true,
                };
                if right {
                    vec![0.0, 1.0]
                } else {
                    vec![1.0, 0.0]
                }
            }
            Kernel::Linear if antialias => {
                let s = scale.min(1.0);
                normalised((first..2 - first).map(|i| (1.0 - ((i as f64 - r) * s).abs()).max(0.0)))
            }
            Kernel::Cubic { a } if antialias => {
                let s = scale.min(1.0);
                normalised((first..2 - first).map(|i| cubic_weight(a, s * (i as f64 - r))))
            }
            Kernel::Linear => vec![1.0 - r, r],
            Kernel::Cubic { a } => {
                vec![
                    cubic_weight(a, r + 1.0),
                    cubic_weight(a, r),
                    cubic_weight(a, 1.0 - r),
                    cubic_weight(a, 2.0 - r),
                ]
            }
        }
    }
}

/// The weights divided by their sum.
fn normalised(w: impl Iterator<Item = f64>) -> Vec<f64> {
    let w: Vec<f64> = w.collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|v| v / sum).collect()
}

/// Parameters shared by every axis.
struct Plan {
    kernel: Kernel,
    transform: String,
    exclude_outside: bool,
    antialias: bool,
    /// starts ++ ends (tf_crop_and_resize), else empty.
    roi: Vec<f32>,
    extrapolation: f64,
}

impl Plan {
    /// The roi (start, end) of `axis` of a rank-`rank` operand; (0, 1) without one.
    fn roi(&self, axis: usize, rank: usize) -> (f32, f32) {
        match (self.roi.get(axis), self.roi.get(axis + rank)) {
            (Some(&s), Some(&e)) => (s, e),
            _ => (0.0, 1.0),
        }
    }
}

/// One axis being resized.
#[derive(Copy, Clone)]
struct Axis {
    in_len: usize,
    out_len: usize,
    scale: f64,
    roi: (f32, f32),
}

/// Maps output coordinate `y` of an axis back to the input (ONNX coordinate transforms).
fn source_coord(plan: &Plan, y: f64, ax: Axis) -> Option<f64> {
    let in_f = ax.in_len as f64;
    let scale = ax.scale;
    let out_w = scale * in_f;
    Some(match plan.transform.as_str() {
        "half_pixel" => (y + 0.5) / scale - 0.5,
        "half_pixel_symmetric" => {
            let adjustment = ax.out_len as f64 / out_w;
            let offset = in_f / 2.0 * (1.0 - adjustment);
            offset + (y + 0.5) / scale - 0.5
        }
        "pytorch_half_pixel" if out_w == 1.0 => -0.5,
        "pytorch_half_pixel" => (y + 0.5) / scale - 0.5,
        "align_corners" if out_w == 1.0 => 0.0,
        "align_corners" => y * (in_f - 1.0) / (out_w - 1.0),
        "asymmetric" => y / scale,
        "tf_half_pixel_for_nn" => (y + 0.5) / scale,
        "tf_crop_and_resize" => {
            let (start, end) = ax.roi;
            let last = (in_f - 1.0) as f32;
            let base = f64::from(start * last);
            if out_w == 1.0 {
                f64::from((end - start) * last / 2.0) + base
            } else {
                y * f64::from(end - start) * (in_f - 1.0) / (out_w - 1.0) + base
            }
        }
        _ => return None,
    })
}

/// The input taps of one output coordinate: (input index, weight) pairs, or `None` when
/// the coordinate lies outside the input under tf_crop_and_resize (extrapolation_value).
type Taps = Option<Vec<(usize, f64)>>;

/// For every output coordinate of one axis, its taps.
fn axis_taps(cx: &EvalCx, plan: &Plan, ax: Axis) -> Result<Vec<Taps>, InterpError> {
    let first = plan.kernel.first_tap(ax.scale, plan.antialias);
    let n = 2.0 - 2.0 * first;
    // A consistent scale (≈ out / in) keeps n·out near 4·in; a hand-written one need not.
    let budget = 8.0 * (ax.in_len as f64 + ax.out_len as f64) + 64.0;
    if n.is_nan() || n * ax.out_len as f64 > budget {
        return Err(unsupported(
            cx,
            format!(
                "antialiasing with scale {} from {} to {} elements ({n} taps per output; \
                 the scale is far from out / in)",
                ax.scale, ax.in_len, ax.out_len
            ),
        ));
    }
    let (first, n) = (first as i64, n as i64);
    let crop = plan.transform == "tf_crop_and_resize";
    let last = ax.in_len as i64 - 1;
    let mut all = Vec::with_capacity(ax.out_len);
    for y in 0..ax.out_len {
        let x = source_coord(plan, y as f64, ax).ok_or_else(|| {
            unsupported(cx, format!("coordinate_transformation_mode = \"{}\"", plan.transform))
        })?;
        if crop && (x < 0.0 || x > last as f64) {
            all.push(None);
            continue;
        }
        let ratio = if x == x.floor() { 1.0 } else { x - x.floor() };
        let mut w = plan.kernel.weights(ratio, ax.scale, first, plan.antialias);
        // The n nearest indices to x, ties to the left: consecutive from `start`.
        // (Saturating: a far-off x only ever reads the edge.)
        let left = if x == x.floor() { (x as i64).saturating_sub(1) } else { x.floor() as i64 };
        let idx: Vec<i64> = (0..n).map(|j| left.saturating_add(first + j)).collect();
        if plan.exclude_outside {
            for (wj, &i) in w.iter_mut().zip(&idx) {
                if i < 0 || i > last {
                    *wj = 0.0;
                }
            }
            let sum: f64 = w.iter().sum();
            let sum = if sum == 0.0 { 1.0 } else { sum };
            w.iter_mut().for_each(|v| *v /= sum);
        }
        all.push(Some(
            idx.iter().zip(w).map(|(&i, wj)| (i.clamp(0, last.max(0)) as usize, wj)).collect(),
        ));
    }
    Ok(all)
}

/// Resizes axis `axis` of `data` (shape `shape`) with the given taps; rows without taps get
/// `fill`.
fn apply_axis(data: &[f64], shape: &[usize], axis: usize, taps: &[Taps], fill: f64) -> Vec<f64> {
    let (outer, in_len, inner) = (numel(&shape[..axis]), shape[axis], numel(&shape[axis + 1..]));
    let out_len = taps.len();
    let mut y = vec![0.0f64; outer * out_len * inner];
    if inner == 0 {
        return y;
    }
    for (o, dst) in y.chunks_mut(out_len * inner).enumerate() {
        let src = data.get(o * in_len * inner..(o + 1) * in_len * inner).unwrap_or(&[]);
        for (row, tap) in dst.chunks_mut(inner).zip(taps) {
            let Some(tap) = tap else {
                row.fill(fill);
                continue;
            };
            for &(i, w) in tap {
                if w == 0.0 {
                    continue;
                }
                if let Some(s) = src.get(i * inner..(i + 1) * inner) {
                    row.iter_mut().zip(s).for_each(|(d, &v)| *d += w * v);
                }
            }
        }
    }
    y
}

fn plan(cx: &EvalCx) -> Result<Plan, InterpError> {
    let a = cx.attrs;
    let kernel = match a.str("mode")? {
        "nearest" => Kernel::Nearest(match a.str("nearest_mode")? {
            "round_prefer_floor" => Rounding::PreferFloor,
            "round_prefer_ceil" => Rounding::PreferCeil,
            "floor" => Rounding::Floor,
            "ceil" => Rounding::Ceil,
            other => return Err(unsupported(cx, format!("nearest_mode = \"{other}\""))),
        }),
        "linear" => Kernel::Linear,
        "cubic" => Kernel::Cubic { a: a.float("cubic_coeff_a")? as f64 },
        other => return Err(unsupported(cx, format!("mode = \"{other}\""))),
    };
    let transform = a.str("coordinate_transformation_mode")?.to_string();
    if !crate::shape::RESIZE_COORDINATE_MODES.contains(&transform.as_str()) {
        return Err(unsupported(cx, format!("coordinate_transformation_mode = \"{transform}\"")));
    }
    let exclude_outside = a.int("exclude_outside")? != 0;
    // The attributes added later fall back to the table defaults when absent.
    let rule = ShapeCx { op: cx.op, inputs: &[], attrs: a };
    let fallback = |e: crate::shape::ShapeError| invalid(cx, e.to_string());
    let antialias = rule.int("antialias").map_err(fallback)? != 0;
    let roi = rule.floats("roi").map_err(fallback)?.to_vec();
    let extrapolation = f64::from(rule.float("extrapolation_value").map_err(fallback)?);
    if antialias && matches!(kernel, Kernel::Nearest(_)) {
        return Err(unsupported(cx, "antialias with mode = \"nearest\""));
    }
    let rank = input(cx, 0)?.shape().len();
    let roi_len = if transform == "tf_crop_and_resize" { 2 * rank } else { 0 };
    if roi.len() != roi_len {
        return Err(invalid(cx, format!("roi has {} entries, expected {roi_len}", roi.len())));
    }
    Ok(Plan { kernel, transform, exclude_outside, antialias, roi, extrapolation })
}

/// Resize.
pub fn resize(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), resize_t)
}

fn resize_t<T: Real>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let x = elems::<T>(cx, 0)?;
    let (axes, fill) = resize_taps(cx)?;
    let mut shape = xt.shape().to_vec();
    let mut data: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    for a in axes {
        data = apply_axis(&data, &shape, a.axis, &a.taps, fill);
        shape[a.axis] = a.taps.len();
    }
    let y: Vec<T> = data.into_iter().map(T::from_f64).collect();
    Ok(vec![make(cx, shape, T::wrap(y))?])
}

/// The interpolation taps of one axis a resize changes.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisTaps {
    /// The axis.
    pub axis: usize,
    /// Per output coordinate of the axis: its (input index, weight) pairs, or `None` when
    /// it gets `extrapolation_value` (tf_crop_and_resize outside the input).
    pub taps: Vec<Option<Vec<(usize, f64)>>>,
}

/// The taps of every axis the resize of `cx` changes, in the order the interpreter applies
/// them (one axis at a time, each on the previous one's result), and its
/// `extrapolation_value`; only the shape of the operand is read. Code generators use it to
/// compute the same interpolation as this interpreter.
pub fn resize_taps(cx: &EvalCx) -> Result<(Vec<AxisTaps>, f64), InterpError> {
    let xt = input(cx, 0)?;
    let plan = plan(cx)?;
    let sizes = to_sizes(cx, "sizes", cx.attrs.ints("sizes")?)?;
    let scales = cx.attrs.floats("scales")?;
    let r = xt.shape().len();
    if sizes.len() != r || scales.len() != r {
        return Err(invalid(cx, format!("sizes and scales need {r} entries")));
    }
    expect_shape(cx, 0, &sizes)?;
    let shape = xt.shape();
    let mut axes = Vec::new();
    for axis in 0..r {
        let scale = scales[axis] as f64;
        let ax = Axis { in_len: shape[axis], out_len: sizes[axis], scale, roi: plan.roi(axis, r) };
        let whole = ax.roi.0 == 0.0 && (f64::from(ax.roi.1) - 1.0).abs() <= 1e-9;
        if (scale - 1.0).abs() <= 1e-9 * scale.abs().max(1.0) && ax.in_len == ax.out_len && whole {
            continue;
        }
        axes.push(AxisTaps { axis, taps: axis_taps(cx, &plan, ax)? });
    }
    Ok((axes, plan.extrapolation))
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::types::{DType, TensorType};

    fn resize_attrs(mode: &str, ctm: &str, nearest: &str, sizes: &[i64], scales: &[f32]) -> Attrs {
        attrs(&[
            ("sizes", ints(sizes)),
            ("scales", Attr::Floats(scales.to_vec())),
            ("mode", Attr::Str(mode.into())),
            ("coordinate_transformation_mode", Attr::Str(ctm.into())),
            ("nearest_mode", Attr::Str(nearest.into())),
            ("cubic_coeff_a", Attr::Float(-0.75)),
            ("exclude_outside", Attr::Int(0)),
        ])
    }

    fn row4() -> crate::tensor::Tensor {
        f32t(&[4], &[1.0, 2.0, 3.0, 4.0])
    }

    #[test]
    fn linear_half_pixel_and_align_corners() {
        let a = resize_attrs("linear", "half_pixel", "floor", &[8], &[2.0]);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[8]);
        assert_close(&vals(&y), &[1.0, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 4.0], 1e-6);
        let a = resize_attrs("linear", "align_corners", "floor", &[7], &[1.75]);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[7]);
        assert_close(&vals(&y), &[1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0], 1e-6);
    }

    #[test]
    fn bilinear_resizes_both_axes() {
        let x = f32t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let a = resize_attrs("linear", "half_pixel", "floor", &[3, 4], &[1.5, 2.0]);
        let y = run1(OpKind::Resize, &a, &[&x], DType::F32, &[3, 4]);
        let want = [1.0, 1.25, 1.75, 2.0, 2.0, 2.25, 2.75, 3.0, 3.0, 3.25, 3.75, 4.0];
        assert_close(&vals(&y), &want, 1e-6);
    }

    #[test]
    fn nearest_modes_break_ties_as_named() {
        // half_pixel at scale 0.5 maps outputs to 0.5 and 2.5: exact ties.
        let cases = [
            ("round_prefer_floor", [1.0, 3.0]),
            ("round_prefer_ceil", [2.0, 4.0]),
            ("floor", [1.0, 3.0]),
            ("ceil", [2.0, 4.0]),
        ];
        for (mode, want) in cases {
            let a = resize_attrs("nearest", "half_pixel", mode, &[2], &[0.5]);
            let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[2]);
            assert_eq!(vals(&y), want, "{mode}");
        }
        let a = resize_attrs("nearest", "asymmetric", "floor", &[8], &[2.0]);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[8]);
        assert_eq!(vals(&y), vec![1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]);
        let a = resize_attrs("nearest", "tf_half_pixel_for_nn", "round_prefer_floor", &[2], &[0.5]);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[2]);
        assert_eq!(vals(&y), vec![2.0, 4.0]);
    }

    #[test]
    fn cubic_with_and_without_exclude_outside() {
        let a = resize_attrs("cubic", "half_pixel", "floor", &[8], &[2.0]);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[8]);
        let want = [
            0.894_531_25,
            1.191_406_3,
            1.667_968_8,
            2.296_875,
            2.703_125,
            3.332_031_3,
            3.808_593_8,
            4.105_468_8,
        ];
        assert_close(&vals(&y), &want, 1e-6);
        let mut a = a;
        a.set("exclude_outside", Attr::Int(1));
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[8]);
        let want = [
            0.863_636_4,
            1.173_144_9,
            1.645_283,
            2.296_875,
            2.703_125,
            3.354_717,
            3.826_855,
            4.136_364,
        ];
        assert_close(&vals(&y), &want, 1e-6);
    }

    fn crop_attrs(sizes: &[i64], scales: &[f32], roi: &[f32], fill: f32) -> Attrs {
        let mut a = resize_attrs("linear", "tf_crop_and_resize", "floor", sizes, scales);
        a.set("roi", Attr::Floats(roi.to_vec()));
        a.set("extrapolation_value", Attr::Float(fill));
        a
    }

    #[test]
    fn tf_crop_and_resize_samples_the_roi() {
        // ONNX test_resize_tf_crop_and_resize: 4x4 (1..16), roi rows 0.4..0.6, cols 0.6..0.8.
        let x = f32t(&[4, 4], &(1..=16).map(|v| v as f32).collect::<Vec<_>>());
        let a = crop_attrs(&[3, 3], &[0.75, 0.75], &[0.4, 0.6, 0.6, 0.8], 0.0);
        let y = run1(OpKind::Resize, &a, &[&x], DType::F32, &[3, 3]);
        let want = [7.6, 7.9, 8.2, 8.8, 9.1, 9.4, 10.0, 10.3, 10.6];
        assert_close(&vals(&y), &want, 1e-5);
        // One output samples the middle of the roi: (0.25 + 0.75) / 2 · 3 = 1.5.
        let a = crop_attrs(&[1], &[0.25], &[0.25, 0.75], 0.0);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[1]);
        assert_close(&vals(&y), &[2.5], 1e-6);
    }

    #[test]
    fn tf_crop_and_resize_extrapolates_outside_the_input() {
        // roi -0.5..1.5 over 4 elements: x = -1.5, 0, 1.5, 3, 4.5.
        let a = crop_attrs(&[5], &[1.25], &[-0.5, 1.5], 10.0);
        let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[5]);
        assert_eq!(vals(&y), vec![10.0, 1.0, 2.5, 4.0, 10.0]);
        // A row outside in one axis is the fill value whatever the other axis does.
        let x = f32t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let a = crop_attrs(&[2, 2], &[1.0, 1.0], &[0.0, 0.0, 2.0, 1.0], -1.0);
        let y = run1(OpKind::Resize, &a, &[&x], DType::F32, &[2, 2]);
        assert_eq!(vals(&y), vec![1.0, 2.0, -1.0, -1.0]);
        // Without a roi of 2·rank entries the kernel refuses.
        let a = crop_attrs(&[5], &[1.25], &[0.0], 10.0);
        let outs = [TensorType::new(DType::F32, [5])];
        let err = try_run(OpKind::Resize, &a, &[&row4()], &outs).unwrap_err();
        assert!(err.to_string().contains("roi has 1 entries, expected 2"), "{err}");
    }

    fn aa_attrs(mode: &str, sizes: &[i64], scales: &[f32]) -> Attrs {
        let mut a = resize_attrs(mode, "half_pixel", "floor", sizes, scales);
        a.set("antialias", Attr::Int(1));
        a
    }

    fn powers() -> crate::tensor::Tensor {
        f32t(&[8], &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0])
    }

    #[test]
    fn antialias_widens_linear_and_cubic_when_downscaling() {
        // Values from the ONNX reference (onnx.reference.ops.op_resize).
        let a = aa_attrs("linear", &[3], &[0.375]);
        let y = run1(OpKind::Resize, &a, &[&powers()], DType::F32, &[3]);
        assert_close(&vals(&y), &[2.465_116_3, 15.0, 77.767_44], 1e-5);
        let mut a = aa_attrs("cubic", &[4], &[0.5]);
        a.set("cubic_coeff_a", Attr::Float(-0.5));
        let y = run1(OpKind::Resize, &a, &[&powers()], DType::F32, &[4]);
        assert_close(&vals(&y), &[1.351_562_5, 5.320_312_5, 22.804_688, 94.718_75], 1e-5);
        a.set("exclude_outside", Attr::Int(1));
        let y = run1(OpKind::Resize, &a, &[&powers()], DType::F32, &[4]);
        assert_close(&vals(&y), &[1.376_569, 5.270_27, 24.023_166, 92.351_44], 1e-5);
    }

    #[test]
    fn antialias_changes_nothing_when_upscaling() {
        for mode in ["linear", "cubic"] {
            let plain = resize_attrs(mode, "half_pixel", "floor", &[8], &[2.0]);
            let want = run1(OpKind::Resize, &plain, &[&row4()], DType::F32, &[8]);
            let a = aa_attrs(mode, &[8], &[2.0]);
            let y = run1(OpKind::Resize, &a, &[&row4()], DType::F32, &[8]);
            assert_close(&vals(&y), &vals(&want), 1e-6);
        }
    }

    #[test]
    fn antialias_refuses_nearest_and_absurd_scales() {
        let outs = [TensorType::new(DType::F32, [2])];
        let a = aa_attrs("nearest", &[2], &[0.5]);
        let err = try_run(OpKind::Resize, &a, &[&row4()], &outs).unwrap_err();
        assert!(err.to_string().contains("antialias with mode = \"nearest\""), "{err}");
        // 2 outputs from 4 inputs at scale 1e-9 would need ~2e9 taps each.
        let a = aa_attrs("linear", &[2], &[1e-9]);
        let err = try_run(OpKind::Resize, &a, &[&row4()], &outs).unwrap_err();
        assert!(err.to_string().contains("the scale is far from out / in"), "{err}");
    }
}
