//! Resize and Upsample → `resize` with explicit output `sizes` and per-axis `scales`.
//!
//! From opset 11, Resize takes `roi`, `scales` and `sizes` inputs (exactly one of scales and
//! sizes non-empty); from 18 also `axes`, `keep_aspect_ratio_policy` and `antialias`. Given
//! scales, the output size is `floor(in · scale)`; given sizes, the transform scale is
//! `out / in`, or one common scale under `not_larger`/`not_smaller` (output
//! `round_half_up(scale · in)`). Under `tf_crop_and_resize` the `roi` input (starts ++
//! ends of the listed axes) must be constant and becomes the full-rank `roi` attribute (0
//! and 1 on the other axes); other modes ignore it. `antialias` is kept for linear and
//! cubic and dropped for nearest, which it does not affect. Upsample (opsets 7–9) and
//! Resize-10 use the old semantics: `asymmetric` coordinates, nearest rounding down when
//! upsampling and up when downsampling (ONNX Runtime's behaviour for those versions).

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::elementwise::flag;
use super::ints;
use asplit_ir::{Attr, Attrs, OpKind, ValueId};

/// The resolved parameters of one resize.
struct Plan {
    sizes: Vec<usize>,
    scales: Vec<f32>,
    mode: String,
    coordinate_mode: String,
    nearest_mode: String,
    cubic_coeff_a: f32,
    exclude_outside: i64,
    roi: Vec<f32>,
    extrapolation_value: f32,
    antialias: i64,
}

fn emit(cx: &mut NodeCx, x: ValueId, p: Plan) -> Result<Vec<ValueId>, ImportError> {
    let attrs = Attrs::new()
        .with("sizes", ints(p.sizes))
        .with("scales", Attr::Floats(p.scales))
        .with("mode", Attr::Str(p.mode))
        .with("coordinate_transformation_mode", Attr::Str(p.coordinate_mode))
        .with("nearest_mode", Attr::Str(p.nearest_mode))
        .with("cubic_coeff_a", Attr::Float(p.cubic_coeff_a))
        .with("exclude_outside", Attr::Int(p.exclude_outside))
        .with("roi", Attr::Floats(p.roi))
        .with("extrapolation_value", Attr::Float(p.extrapolation_value))
        .with("antialias", Attr::Int(p.antialias));
    Ok(vec![cx.emit(OpKind::Resize, attrs, vec![x])?])
}

/// Importer: Resize.
pub(crate) fn import_resize(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "X")?;
    let shape = cx.ty(x).shape.clone();
    if cx.opset() < 11 {
        let scales = cx
            .const_floats(1, "scales")?
            .ok_or_else(|| cx.invalid("required input #1 (`scales`) is missing"))?;
        return legacy(cx, x, &shape, &scales);
    }
    let coordinate_mode = cx.attrs.choice(
        "coordinate_transformation_mode",
        "half_pixel",
        asplit_ir::shape::RESIZE_COORDINATE_MODES,
    )?;
    let axes = match cx.attrs.ints("axes")? {
        Some(a) => cx.input_axes("axes", a, shape.len())?,
        None => (0..shape.len()).collect(),
    };
    let policy = cx.attrs.choice(
        "keep_aspect_ratio_policy",
        "stretch",
        &["stretch", "not_larger", "not_smaller"],
    )?;
    let scales = cx.const_floats(2, "scales")?.filter(|s| !s.is_empty());
    let sizes = cx.const_ints(3, "sizes")?.filter(|s| !s.is_empty());
    let (sizes, scales) = match (scales, sizes) {
        (Some(_), Some(_)) => return Err(cx.invalid("gives both `scales` and `sizes`")),
        (None, None) => return Err(cx.invalid("gives neither `scales` nor `sizes`")),
        (Some(s), None) => from_scales(cx, &shape, &axes, &s)?,
        (None, Some(z)) => from_sizes(cx, &shape, &axes, &z, &policy)?,
    };
    let roi = match coordinate_mode.as_str() {
        "tf_crop_and_resize" => full_roi(cx, shape.len(), &axes)?,
        _ => Vec::new(),
    };
    let mode = cx.attrs.choice("mode", "nearest", &["nearest", "linear", "cubic"])?;
    let antialias = if mode == "nearest" { 0 } else { flag(cx, "antialias")? };
    let plan = Plan {
        sizes,
        scales,
        mode,
        coordinate_mode,
        nearest_mode: cx.attrs.choice(
            "nearest_mode",
            "round_prefer_floor",
            &["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"],
        )?,
        cubic_coeff_a: cx.attrs.float_or("cubic_coeff_a", -0.75)?,
        exclude_outside: flag(cx, "exclude_outside")?,
        roi,
        extrapolation_value: cx.attrs.float_or("extrapolation_value", 0.0)?,
        antialias,
    };
    emit(cx, x, plan)
}

/// The constant `roi` input (starts ++ ends of `axes`) as starts ++ ends of every axis.
fn full_roi(cx: &NodeCx, rank: usize, axes: &[usize]) -> Result<Vec<f32>, ImportError> {
    let roi = cx.const_floats(1, "roi")?.unwrap_or_default();
    if roi.len() != 2 * axes.len() {
        return Err(cx.invalid(format!(
            "coordinate_transformation_mode `tf_crop_and_resize` needs `roi` with {} entries \
             (starts and ends of {} axes), found {roi:?}",
            2 * axes.len(),
            axes.len()
        )));
    }
    let mut full: Vec<f32> = [vec![0.0; rank], vec![1.0; rank]].concat();
    for (i, &a) in axes.iter().enumerate() {
        full[a] = roi[i];
        full[rank + a] = roi[axes.len() + i];
    }
    Ok(full)
}

/// Output sizes `floor(in · scale)` on `axes` (other axes keep size and scale 1).
fn from_scales(
    cx: &NodeCx,
    shape: &[usize],
    axes: &[usize],
    scales: &[f32],
) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    if scales.len() != axes.len() || scales.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
        return Err(cx.invalid(format!(
            "scales {scales:?} should be {} positive finite factors",
            axes.len()
        )));
    }
    let mut sizes = shape.to_vec();
    let mut full = vec![1.0f32; shape.len()];
    for (&a, &s) in axes.iter().zip(scales) {
        full[a] = s;
        sizes[a] = (shape[a] as f64 * f64::from(s)).floor() as usize;
    }
    Ok((sizes, full))
}

/// Transform scales `out / in` on `axes`, or one common scale under a keep-aspect policy.
fn from_sizes(
    cx: &NodeCx,
    shape: &[usize],
    axes: &[usize],
    sizes: &[i64],
    policy: &str,
) -> Result<(Vec<usize>, Vec<f32>), ImportError> {
    if sizes.len() != axes.len() || sizes.iter().any(|&s| s < 0) {
        return Err(
            cx.invalid(format!("sizes {sizes:?} should be {} non-negative sizes", axes.len()))
        );
    }
    let mut out = shape.to_vec();
    let mut full = vec![1.0f32; shape.len()];
    let ratios: Vec<f64> =
        axes.iter().zip(sizes).map(|(&a, &s)| s as f64 / shape[a] as f64).collect();
    let common = match policy {
        "not_larger" => ratios.iter().copied().reduce(f64::min),
        "not_smaller" => ratios.iter().copied().reduce(f64::max),
        _ => None,
    };
    for (i, (&a, &s)) in axes.iter().zip(sizes).enumerate() {
        match common {
            Some(c) => {
                full[a] = c as f32;
                out[a] = (c * shape[a] as f64 + 0.5).floor() as usize;
            }
            None => {
                full[a] = ratios[i] as f32;
                out[a] = s as usize;
            }
        }
    }
    Ok((out, full))
}

/// Resize-10 / Upsample semantics.
fn legacy(
    cx: &mut NodeCx,
    x: ValueId,
    shape: &[usize],
    scales: &[f32],
) -> Result<Vec<ValueId>, ImportError> {
    let mode = cx.attrs.choice("mode", "nearest", &["nearest", "linear"])?;
    let axes: Vec<usize> = (0..shape.len()).collect();
    let (sizes, scales) = from_scales(cx, shape, &axes, scales)?;
    let up = scales.iter().all(|&s| s >= 1.0);
    let down = scales.iter().all(|&s| s <= 1.0);
    let nearest_mode = match (mode.as_str(), up, down) {
        ("nearest", true, _) | ("linear", _, _) => "floor",
        ("nearest", false, true) => "ceil",
        _ => {
            return Err(cx.unsupported(format!(
                "nearest resizing that enlarges some axes and shrinks others (scales {scales:?})"
            )))
        }
    };
    let plan = Plan {
        sizes,
        scales,
        mode,
        coordinate_mode: "asymmetric".into(),
        nearest_mode: nearest_mode.into(),
        cubic_coeff_a: -0.75,
        exclude_outside: 0,
        roi: Vec::new(),
        extrapolation_value: 0.0,
        antialias: 0,
    };
    emit(cx, x, plan)
}

/// Importer: Upsample (opsets 7–9; scales attribute before 9, input from 9).
pub(crate) fn import_upsample(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    if cx.opset() >= 10 {
        return Err(cx.unsupported("Upsample after opset 9 (it is deprecated; use Resize)"));
    }
    if cx.opset() < 7 {
        return Err(cx.unsupported("Upsample-1 (experimental, with height_scale/width_scale)"));
    }
    let x = cx.input(0, "X")?;
    let shape = cx.ty(x).shape.clone();
    let scales = if cx.opset() < 9 {
        cx.attrs
            .floats("scales")?
            .map(<[f32]>::to_vec)
            .ok_or_else(|| cx.attr_err("scales", "required attribute is missing"))?
    } else {
        cx.const_floats(1, "scales")?
            .ok_or_else(|| cx.invalid("required input #1 (`scales`) is missing"))?
    };
    legacy(cx, x, &shape, &scales)
}
