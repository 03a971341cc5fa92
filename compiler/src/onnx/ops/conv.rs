//! Conv and ConvTranspose: `auto_pad`, `output_shape` and defaults resolved into the IR's
//! explicit `strides`, `pads` (begins ++ ends), `dilations`, `group` and `output_padding`.
//!
//! ConvTranspose with `output_shape` (or SAME auto_pad, whose output is `in · stride`) takes
//! `total = stride·(in-1) + output_padding + (k-1)·dilation + 1 - out`; a positive total is
//! split into pads as the ONNX spec says (SAME_UPPER: the smaller half first), a negative
//! one (output larger than the natural size) extends the end through `output_padding`.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::{
    explicit_pads, ints, kernel_shape, narrow, resolve_pads, spatial_attr, spatial_dims,
    spatial_rank,
};
use asplit_ir::{Attr, Attrs, OpKind, ValueId};

/// Operands and spatial attributes common to Conv and ConvTranspose.
struct ConvParts {
    inputs: Vec<ValueId>,
    input: Vec<i64>,
    kernel: Vec<i64>,
    strides: Vec<i64>,
    dilations: Vec<i64>,
    group: i64,
}

fn conv_parts(cx: &NodeCx) -> Result<ConvParts, ImportError> {
    let x = cx.input(0, "X")?;
    let w = cx.input(1, "W")?;
    let n = spatial_rank(cx, x)?;
    let wt = cx.ty(w);
    if wt.rank() != n + 2 {
        return Err(cx.invalid(format!(
            "weight `W` should have rank {} like X ({}), found {wt}",
            n + 2,
            cx.ty(x)
        )));
    }
    let from_weight = spatial_dims(&wt.shape);
    let kernel = kernel_shape(cx, n, Some(&from_weight))?;
    let group = cx.attrs.int_or("group", 1)?;
    if group < 1 {
        return Err(cx.attr_err("group", format!("should be positive, found {group}")));
    }
    let mut inputs = vec![x, w];
    inputs.extend(cx.opt_input(2));
    Ok(ConvParts {
        input: spatial_dims(&cx.ty(x).shape),
        inputs,
        kernel,
        strides: spatial_attr(cx, "strides", n, 1)?,
        dilations: spatial_attr(cx, "dilations", n, 1)?,
        group,
    })
}

/// Importer: Conv.
pub(crate) fn import_conv(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let p = conv_parts(cx)?;
    let pads = resolve_pads(cx, &p.input, &p.kernel, &p.strides, &p.dilations)?;
    let attrs = Attrs::new()
        .with("strides", Attr::Ints(p.strides))
        .with("pads", Attr::Ints(pads))
        .with("dilations", Attr::Ints(p.dilations))
        .with("group", Attr::Int(p.group));
    Ok(vec![cx.emit(OpKind::Conv, attrs, p.inputs)?])
}

/// Importer: ConvTranspose.
pub(crate) fn import_conv_transpose(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let p = conv_parts(cx)?;
    let n = p.input.len();
    let mut output_padding = match cx.attrs.ints("output_padding")? {
        None => vec![0; n],
        Some(v) if v.len() == n && v.iter().all(|&x| x >= 0) => v.to_vec(),
        Some(v) => {
            return Err(
                cx.attr_err("output_padding", format!("{v:?} should be {n} non-negative sizes"))
            )
        }
    };
    let auto =
        cx.attrs.choice("auto_pad", "NOTSET", &["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])?;
    let target = output_shape(cx, n)?.or_else(|| {
        auto.starts_with("SAME")
            .then(|| p.input.iter().zip(&p.strides).map(|(i, s)| i.saturating_mul(*s)).collect())
    });
    let pads = match target {
        Some(out) => {
            let mut begins = Vec::with_capacity(n);
            let mut ends = Vec::with_capacity(n);
            for i in 0..n {
                let (x, k, st, d) = (
                    p.input[i] as i128,
                    p.kernel[i] as i128,
                    p.strides[i] as i128,
                    p.dilations[i] as i128,
                );
                let natural = st * (x - 1) + output_padding[i] as i128 + (k - 1) * d + 1;
                let total = natural - out[i] as i128;
                if total < 0 {
                    output_padding[i] =
                        narrow(cx, output_padding[i] as i128 - total, "output_shape")?;
                    begins.push(0);
                    ends.push(0);
                    continue;
                }
                let small = total / 2;
                let (b, e) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                begins.push(narrow(cx, b, "output_shape")?);
                ends.push(narrow(cx, e, "output_shape")?);
            }
            begins.extend(ends);
            begins
        }
        None if auto == "VALID" => vec![0; 2 * n],
        None => explicit_pads(cx, n)?,
    };
    let attrs = Attrs::new()
        .with("strides", Attr::Ints(p.strides))
        .with("pads", Attr::Ints(pads))
        .with("dilations", Attr::Ints(p.dilations))
        .with("group", Attr::Int(p.group))
        .with("output_padding", ints(output_padding));
    Ok(vec![cx.emit(OpKind::ConvTranspose, attrs, p.inputs)?])
}

/// The spatial `output_shape` attribute (a full N,C,… shape is accepted too).
fn output_shape(cx: &NodeCx, n: usize) -> Result<Option<Vec<i64>>, ImportError> {
    let Some(v) = cx.attrs.ints("output_shape")? else { return Ok(None) };
    let spatial = match v.len() {
        l if l == n => v,
        l if l == n + 2 => &v[2..],
        _ => return Err(cx.attr_err("output_shape", format!("{v:?} should have {n} entries"))),
    };
    if spatial.iter().any(|&d| d < 1) {
        return Err(cx.attr_err("output_shape", format!("{v:?} should be positive")));
    }
    Ok(Some(spatial.to_vec()))
}
