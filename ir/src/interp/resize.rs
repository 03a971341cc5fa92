//! Resize: nearest (every nearest_mode), N-d linear and cubic interpolation, with the
//! coordinate transforms half_pixel, half_pixel_symmetric, pytorch_half_pixel,
//! align_corners, asymmetric and tf_half_pixel_for_nn. tf_crop_and_resize and antialiasing
//! are not supported.
//!
//! Interpolation is separable, so the kernel resizes one axis at a time (axes whose size
//! and scale are unchanged are skipped), in f64, as the ONNX reference does. For each
//! output coordinate the source coordinate `x` is mapped back with the transform; the
//! window is the `n` input indices nearest to `x` (n = 2 for nearest and linear, 4 for
//! cubic, ties to the left), clamped to the edge; the weights come from the mode's kernel
//! (exclude_outside zeroes those of indices outside the input and renormalises).
//! f32 and f64 (f16 through f32).

use super::common::{
    elems, expect_shape, input, invalid, make, numel, real_dtype, to_sizes, unsupported, KResult,
    Real,
};
use super::{EvalCx, InterpError};

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

impl Kernel {
    /// Number of taps.
    fn taps(self) -> usize {
        match self {
            Kernel::Nearest(_) | Kernel::Linear => 2,
            Kernel::Cubic { .. } => 4,
        }
    }

    /// Weights of the taps for `ratio ∈ (0, 1]`, the distance of the source coordinate from
    /// the tap left of it (1 when it falls on an index).
    fn weights(self, ratio: f64) -> Vec<f64> {
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
            Kernel::Linear => vec![1.0 - r, r],
            Kernel::Cubic { a } => {
                let far = |t: f64| ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
                let near = |t: f64| ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
                vec![far(r + 1.0), near(r), near(1.0 - r), far(2.0 - r)]
            }
        }
    }
}

/// Parameters shared by every axis.
struct Plan {
    kernel: Kernel,
    transform: String,
    exclude_outside: bool,
}

/// Maps output coordinate `y` of an axis back to the input (ONNX coordinate transforms).
fn source_coord(plan: &Plan, y: f64, scale: f64, in_len: usize, out_len: usize) -> Option<f64> {
    let in_f = in_len as f64;
    let out_w = scale * in_f;
    Some(match plan.transform.as_str() {
        "half_pixel" => (y + 0.5) / scale - 0.5,
        "half_pixel_symmetric" => {
            let adjustment = out_len as f64 / out_w;
            let offset = in_f / 2.0 * (1.0 - adjustment);
            offset + (y + 0.5) / scale - 0.5
        }
        "pytorch_half_pixel" if out_w == 1.0 => -0.5,
        "pytorch_half_pixel" => (y + 0.5) / scale - 0.5,
        "align_corners" if out_w == 1.0 => 0.0,
        "align_corners" => y * (in_f - 1.0) / (out_w - 1.0),
        "asymmetric" => y / scale,
        "tf_half_pixel_for_nn" => (y + 0.5) / scale,
        _ => return None,
    })
}

/// For every output coordinate of one axis: (input index, weight) pairs.
fn axis_taps(
    plan: &Plan,
    in_len: usize,
    out_len: usize,
    scale: f64,
) -> Option<Vec<Vec<(usize, f64)>>> {
    let n = plan.kernel.taps() as i64;
    let pad = (n + 1) / 2;
    let mut all = Vec::with_capacity(out_len);
    for y in 0..out_len {
        let x = source_coord(plan, y as f64, scale, in_len, out_len)?;
        let ratio = if x == x.floor() { 1.0 } else { x - x.floor() };
        let mut w = plan.kernel.weights(ratio);
        let xp = x + pad as f64;
        let p = xp.floor();
        let frac = xp - p;
        let offset = if n % 2 == 0 {
            if frac == 0.0 {
                -(n / 2)
            } else {
                -(n / 2) + 1
            }
        } else if frac <= 0.5 {
            -((n - 1) / 2)
        } else {
            -((n - 1) / 2) + 1
        };
        let start = p as i64 + offset - pad;
        let idx: Vec<i64> = (0..n).map(|j| start + j).collect();
        if plan.exclude_outside {
            for (wj, &i) in w.iter_mut().zip(&idx) {
                if i < 0 || i >= in_len as i64 {
                    *wj = 0.0;
                }
            }
            let sum: f64 = w.iter().sum();
            let sum = if sum == 0.0 { 1.0 } else { sum };
            w.iter_mut().for_each(|v| *v /= sum);
        }
        let last = in_len as i64 - 1;
        all.push(
            idx.iter().zip(w).map(|(&i, wj)| (i.clamp(0, last.max(0)) as usize, wj)).collect(),
        );
    }
    Some(all)
}

/// Resizes axis `axis` of `data` (shape `shape`) with the given taps.
fn apply_axis(data: &[f64], shape: &[usize], axis: usize, taps: &[Vec<(usize, f64)>]) -> Vec<f64> {
    let (outer, in_len, inner) = (numel(&shape[..axis]), shape[axis], numel(&shape[axis + 1..]));
    let out_len = taps.len();
    let mut y = vec![0.0f64; outer * out_len * inner];
    if inner == 0 || in_len == 0 {
        return y;
    }
    for (src, dst) in data.chunks(in_len * inner).zip(y.chunks_mut(out_len * inner)) {
        for (row, tap) in dst.chunks_mut(inner).zip(taps) {
            for &(i, w) in tap {
                if w == 0.0 {
                    continue;
                }
                let s = &src[i * inner..(i + 1) * inner];
                row.iter_mut().zip(s).for_each(|(d, &v)| *d += w * v);
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
    const KNOWN: [&str; 6] = [
        "half_pixel",
        "half_pixel_symmetric",
        "pytorch_half_pixel",
        "align_corners",
        "asymmetric",
        "tf_half_pixel_for_nn",
    ];
    if !KNOWN.contains(&transform.as_str()) {
        return Err(unsupported(cx, format!("coordinate_transformation_mode = \"{transform}\"")));
    }
    let exclude_outside = a.int("exclude_outside")? != 0;
    Ok(Plan { kernel, transform, exclude_outside })
}

/// Resize.
pub fn resize(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), resize_t)
}

fn resize_t<T: Real>(cx: &EvalCx) -> KResult {
    let xt = input(cx, 0)?;
    let x = elems::<T>(cx, 0)?;
    let plan = plan(cx)?;
    let sizes = to_sizes(cx, "sizes", cx.attrs.ints("sizes")?)?;
    let scales = cx.attrs.floats("scales")?;
    let r = xt.shape().len();
    if sizes.len() != r || scales.len() != r {
        return Err(invalid(cx, format!("sizes and scales need {r} entries")));
    }
    expect_shape(cx, 0, &sizes)?;
    let mut shape = xt.shape().to_vec();
    let mut data: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    for axis in 0..r {
        let scale = scales[axis] as f64;
        let (in_len, out_len) = (shape[axis], sizes[axis]);
        if (scale - 1.0).abs() <= 1e-9 * scale.abs().max(1.0) && in_len == out_len {
            continue;
        }
        let taps = axis_taps(&plan, in_len, out_len, scale).ok_or_else(|| {
            let mode = &plan.transform;
            unsupported(cx, format!("coordinate_transformation_mode = \"{mode}\""))
        })?;
        data = apply_axis(&data, &shape, axis, &taps);
        shape[axis] = out_len;
    }
    let y: Vec<T> = data.into_iter().map(T::from_f64).collect();
    Ok(vec![make(cx, shape, T::wrap(y))?])
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

    #[test]
    fn tf_crop_and_resize_is_unsupported() {
        let a = resize_attrs("linear", "tf_crop_and_resize", "floor", &[8], &[2.0]);
        let outs = [TensorType::new(DType::F32, [8])];
        let err = try_run(OpKind::Resize, &a, &[&row4()], &outs).unwrap_err();
        assert!(err.to_string().contains("tf_crop_and_resize"), "{err}");
    }
}
