//! Shape rules of the linear-algebra ops: `conv`, `conv_transpose`, `gemm`, `matmul`.
//!
//! Convolutions are N-d in NC[spatial] layout with ONNX's formulas; `strides`, `dilations`
//! (one entry per spatial axis) and `pads` (begins ++ ends) must be fully resolved (the
//! importer turns `auto_pad` and `output_shape` into explicit pads and `output_padding`).
//! Arithmetic on dimensions is done in `i128` on values bounded by the size limit, so it
//! cannot overflow. Nothing here computes values.

use super::{broadcast_shapes, broadcasts_to, ShapeCx, ShapeError, ShapeResult};
use crate::ops::EXACT_BOUND_MAX;
use crate::types::{DType, TensorType};

/// The resolved window attributes of a convolution or pooling op, one entry per spatial
/// axis (`pads` holds begins then ends).
pub(crate) struct Window {
    pub strides: Vec<i128>,
    pub dilations: Vec<i128>,
    pub pads: Vec<i128>,
}

impl Window {
    /// Reads and range-checks `strides` (≥ 1), `dilations` (≥ 1) and `pads` (≥ 0) for
    /// `spatial` spatial axes.
    pub fn read(cx: &ShapeCx, spatial: usize) -> Result<Window, ShapeError> {
        let why = format!("one per spatial axis, of which there are {spatial}");
        let strides = positive_list(cx, "strides", spatial, &why)?;
        let dilations = positive_list(cx, "dilations", spatial, &why)?;
        let pads = cx.ints("pads")?;
        let why = format!("begins ++ ends for {spatial} spatial axes");
        cx.expect_len("pads", pads, 2 * spatial, &why)?;
        if let Some(p) = pads.iter().find(|&&p| p < 0) {
            return Err(cx.err(format!(
                "attribute `pads` = {pads:?} has a negative entry {p} (pads must be ≥ 0)"
            )));
        }
        let pads = pads.iter().map(|&p| i128::from(p)).collect();
        Ok(Window { strides, dilations, pads })
    }

    /// (begin, end) padding of spatial axis `i`.
    pub fn pad(&self, i: usize) -> (i128, i128) {
        let n = self.strides.len();
        let at = |k: usize| self.pads.get(k).copied().unwrap_or(0);
        (at(i), at(i + n))
    }

    /// Stride of spatial axis `i`.
    pub fn stride(&self, i: usize) -> i128 {
        self.strides.get(i).copied().unwrap_or(1)
    }

    /// Dilation of spatial axis `i`.
    pub fn dilation(&self, i: usize) -> i128 {
        self.dilations.get(i).copied().unwrap_or(1)
    }
}

/// Reads list attribute `name` with `len` entries, each ≥ 1.
pub(crate) fn positive_list(
    cx: &ShapeCx,
    name: &str,
    len: usize,
    why: &str,
) -> Result<Vec<i128>, ShapeError> {
    let v = cx.ints(name)?;
    cx.expect_len(name, v, len, why)?;
    if let Some(bad) = v.iter().find(|&&s| s < 1) {
        return Err(cx.err(format!(
            "attribute `{name}` = {v:?} has an entry {bad}, expected every entry ≥ 1"
        )));
    }
    Ok(v.iter().map(|&s| i128::from(s)).collect())
}

/// Reads attribute `group` (≥ 1).
fn group(cx: &ShapeCx) -> Result<usize, ShapeError> {
    let g = cx.int("group")?;
    match usize::try_from(g) {
        Ok(g) if g >= 1 && g as u64 <= super::MAX_ELEMENTS => Ok(g),
        _ => Err(cx.err(format!("attribute `group` must be ≥ 1, found {g}"))),
    }
}

/// Splits a `[N, C, spatial…]`-like shape into its two leading dims and the rest.
fn split2<'s>(
    cx: &ShapeCx,
    operand: usize,
    s: &'s [usize],
) -> Result<(usize, usize, &'s [usize]), ShapeError> {
    match s {
        [a, b, rest @ ..] => Ok((*a, *b, rest)),
        _ => Err(cx.err(format!(
            "operand {} has shape {s:?}, expected at least 2 dimensions",
            cx.operand_name(operand)
        ))),
    }
}

/// Common operand checks of both convolutions: float dtypes that agree, `x` of rank ≥ 3
/// and `w` of the same rank with non-empty kernel axes.
fn conv_operands<'a>(cx: &ShapeCx<'a>) -> Result<(&'a TensorType, &'a TensorType), ShapeError> {
    cx.check_operands()?;
    cx.expect_float(0)?;
    cx.expect_same_dtype(1, 0)?;
    if cx.opt_input(2).is_some() {
        cx.expect_same_dtype(2, 0)?;
    }
    cx.expect_min_rank(0, 3, "N, C and at least one spatial axis")?;
    let (x, w) = (cx.input(0)?, cx.input(1)?);
    if w.rank() != x.rank() {
        return Err(cx.err(format!(
            "operand `w` has shape {:?} (rank {}), expected rank {} like `x` {:?}",
            w.shape,
            w.rank(),
            x.rank(),
            x.shape
        )));
    }
    if let Some(k) = w.shape.iter().skip(2).position(|&k| k == 0) {
        return Err(cx.err(format!(
            "operand `w` has shape {:?} with an empty kernel along spatial axis {k}",
            w.shape
        )));
    }
    Ok((x, w))
}

/// Checks the optional bias operand against the output channel count.
fn check_bias(cx: &ShapeCx, m: usize) -> Result<(), ShapeError> {
    match cx.opt_input(2) {
        Some(b) if b.shape != [m] => Err(cx.err(format!(
            "operand `b` has shape {:?}, expected [{m}] (one entry per output channel)",
            b.shape
        ))),
        _ => Ok(()),
    }
}

/// Checks the fused `activation` / `activation_params` pair ([`crate::activation`]).
fn check_activation(cx: &ShapeCx) -> Result<(), ShapeError> {
    crate::activation::Activation::from_attrs(cx.attrs).map(|_| ()).map_err(|e| cx.err(e))
}

/// conv's and gemm's `exact_bound` when present (absent: the ordinary op): in
/// 1..=[`EXACT_BOUND_MAX`], on f32 operands, with no operand after the two factors (conv's
/// `b` and `skip`, gemm's `c`) and no activation (the exact sum of integer products is
/// rescaled by a separate op).
fn check_exact(cx: &ShapeCx, x: &TensorType) -> Result<(), ShapeError> {
    if cx.attrs.get("exact_bound").is_none() {
        return Ok(());
    }
    let bound = cx.attrs.int("exact_bound")?;
    if !(1..=EXACT_BOUND_MAX).contains(&bound) {
        return Err(
            cx.err(format!("attribute `exact_bound` = {bound} is outside 1..={EXACT_BOUND_MAX}"))
        );
    }
    let op = cx.op.mnemonic();
    if x.dtype != DType::F32 {
        return Err(cx.err(format!("an exact {op} takes f32 operands, not {}", x.dtype)));
    }
    if cx.opt_input(2).is_some() || cx.opt_input(3).is_some() {
        return Err(cx.err(format!(
            "an exact {op} takes no operand after its two factors (rescale the exact sum first)"
        )));
    }
    let act = crate::activation::Activation::from_attrs(cx.attrs).map_err(|e| cx.err(e))?;
    if act != crate::activation::Activation::None {
        return Err(
            cx.err(format!("an exact {op} takes no activation (rescale the exact sum first)"))
        );
    }
    Ok(())
}

/// `conv`: `x` [N, C, D…], `w` [M, C/group, K…], optional `b` [M] and `skip` (broadcast to
/// the result) → [N, M, O…] with
/// O = floor((D + pad_begin + pad_end − dilation·(K−1) − 1) / stride) + 1.
pub fn conv(cx: &ShapeCx) -> ShapeResult {
    let (x, w) = conv_operands(cx)?;
    let (n, c, dims) = split2(cx, 0, &x.shape)?;
    let (m, cg, kernel) = split2(cx, 1, &w.shape)?;
    let g = group(cx)?;
    if c % g != 0 {
        return Err(cx.err(format!(
            "operand `x` has {c} channels, which attribute `group` = {g} does not divide"
        )));
    }
    if cg != c / g {
        return Err(cx.err(format!(
            "operand `w` has {cg} input channels per group, `x` has {c} channels with group \
             {g} (expected {})",
            c / g
        )));
    }
    if m % g != 0 {
        return Err(cx.err(format!(
            "operand `w` has {m} output channels, which attribute `group` = {g} does not divide"
        )));
    }
    check_bias(cx, m)?;
    check_activation(cx)?;
    check_exact(cx, x)?;
    let win = Window::read(cx, dims.len())?;
    let mut out = vec![n, m];
    for (i, (&d, &k)) in dims.iter().zip(kernel).enumerate() {
        let (pb, pe) = win.pad(i);
        let eff = win.dilation(i) * (k as i128 - 1) + 1;
        let padded = d as i128 + pb + pe;
        if padded < eff {
            return Err(cx.err(format!(
                "spatial axis {i}: the input has size {d}, padded to {padded}, smaller than the \
                 dilated kernel {eff} (kernel {k}, dilation {})",
                win.dilation(i)
            )));
        }
        let o = (padded - eff) / win.stride(i) + 1;
        out.push(cx.dim(&format!("output size along spatial axis {i}"), o)?);
    }
    if let Some(skip) = cx.opt_input(3) {
        cx.expect_same_dtype(3, 0)?;
        if !broadcasts_to(&skip.shape, &out) {
            return Err(cx.err(format!(
                "operand `skip` has shape {:?}, which does not broadcast to the result {out:?}",
                skip.shape
            )));
        }
    }
    cx.one(TensorType::new(x.dtype, out))
}

/// `conv_transpose`: `x` [N, C, D…], `w` [C, M/group, K…], optional `b` [M] → [N, M, O…]
/// with O = stride·(D−1) + output_padding + dilation·(K−1) + 1 − pad_begin − pad_end.
pub fn conv_transpose(cx: &ShapeCx) -> ShapeResult {
    let (x, w) = conv_operands(cx)?;
    let (n, c, dims) = split2(cx, 0, &x.shape)?;
    let (wc, mg, kernel) = split2(cx, 1, &w.shape)?;
    let g = group(cx)?;
    if wc != c {
        return Err(cx.err(format!(
            "operand `w` has {wc} input channels (dimension 0), `x` has {c} channels"
        )));
    }
    if c % g != 0 {
        return Err(cx.err(format!(
            "operand `x` has {c} channels, which attribute `group` = {g} does not divide"
        )));
    }
    let m = cx.dim("the output channel count", mg as i128 * g as i128)?;
    check_bias(cx, m)?;
    check_activation(cx)?;
    let win = Window::read(cx, dims.len())?;
    let op = cx.ints("output_padding")?;
    let why = format!("one per spatial axis, of which there are {}", dims.len());
    cx.expect_len("output_padding", op, dims.len(), &why)?;
    if let Some(p) = op.iter().find(|&&p| p < 0) {
        return Err(cx.err(format!(
            "attribute `output_padding` = {op:?} has a negative entry {p} (must be ≥ 0)"
        )));
    }
    let mut out = vec![n, m];
    for (i, ((&d, &k), &opad)) in dims.iter().zip(kernel).zip(op).enumerate() {
        let (pb, pe) = win.pad(i);
        let eff = win.dilation(i) * (k as i128 - 1) + 1;
        let o = win.stride(i) * (d as i128 - 1) + i128::from(opad) + eff - pb - pe;
        out.push(cx.dim(&format!("output size along spatial axis {i}"), o)?);
    }
    cx.one(TensorType::new(x.dtype, out))
}

/// `gemm`: `a` [M, K] (or [K, M] with trans_a), `b` [K, N] (or [N, K] with trans_b), optional
/// `c` unidirectionally broadcastable to [M, N] → [M, N]; one numeric dtype throughout.
pub fn gemm(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_numeric(0)?;
    cx.expect_same_dtype(1, 0)?;
    cx.expect_rank(0, 2)?;
    cx.expect_rank(1, 2)?;
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    let (ta, tb) = (cx.flag("trans_a")?, cx.flag("trans_b")?);
    let (a0, a1, _) = split2(cx, 0, &a.shape)?;
    let (b0, b1, _) = split2(cx, 1, &b.shape)?;
    let (m, ka) = if ta { (a1, a0) } else { (a0, a1) };
    let (kb, n) = if tb { (b1, b0) } else { (b0, b1) };
    if ka != kb {
        return Err(cx.err(format!(
            "inner dimensions differ: operand `a` {:?} (trans_a {}) gives K = {ka}, operand \
             `b` {:?} (trans_b {}) gives K = {kb}",
            a.shape, ta as u8, b.shape, tb as u8
        )));
    }
    if let Some(c) = cx.opt_input(2) {
        cx.expect_same_dtype(2, 0)?;
        if !broadcasts_to(&c.shape, &[m, n]) {
            return Err(cx.err(format!(
                "operand `c` has shape {:?}, which does not broadcast to [{m}, {n}]",
                c.shape
            )));
        }
    }
    check_activation(cx)?;
    check_exact(cx, a)?;
    if cx.attrs.get("exact_bound").is_some() && cx.float("alpha")? != 1.0 {
        return Err(cx.err("an exact gemm takes alpha = 1 (rescale the exact sum instead)"));
    }
    cx.one(TensorType::new(a.dtype, vec![m, n]))
}

/// `matmul`: numpy semantics. A 1-d `a` is promoted to [1, K] and a 1-d `b` to [K, 1]
/// (the added axis is removed from the result); batch dimensions broadcast. The optional
/// `bias` must broadcast to the result without changing its shape.
pub fn matmul(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_numeric(0)?;
    cx.expect_same_dtype(1, 0)?;
    cx.expect_min_rank(0, 1, "matmul operands are at least 1-d")?;
    cx.expect_min_rank(1, 1, "matmul operands are at least 1-d")?;
    let (a, b) = (cx.input(0)?, cx.input(1)?);
    let (a_batch, m, ka) = match a.shape.as_slice() {
        [k] => (&[][..], None, *k),
        [batch @ .., m, k] => (batch, Some(*m), *k),
        [] => return Err(cx.err("operand `a` is a scalar")),
    };
    let (b_batch, kb, n) = match b.shape.as_slice() {
        [k] => (&[][..], *k, None),
        [batch @ .., k, n] => (batch, *k, Some(*n)),
        [] => return Err(cx.err("operand `b` is a scalar")),
    };
    if ka != kb {
        return Err(cx.err(format!(
            "inner dimensions differ: operand `a` {:?} has K = {ka}, operand `b` {:?} has K = \
             {kb}",
            a.shape, b.shape
        )));
    }
    let Some(mut out) = broadcast_shapes(a_batch, b_batch) else {
        return Err(cx.err(format!(
            "batch dimensions {a_batch:?} of operand `a` {:?} and {b_batch:?} of operand `b` \
             {:?} do not broadcast",
            a.shape, b.shape
        )));
    };
    out.extend(m);
    out.extend(n);
    if let Some(bias) = cx.opt_input(2) {
        cx.expect_same_dtype(2, 0)?;
        if !broadcasts_to(&bias.shape, &out) {
            return Err(cx.err(format!(
                "operand `bias` has shape {:?}, which does not broadcast to the result {out:?}",
                bias.shape
            )));
        }
    }
    check_activation(cx)?;
    cx.one(TensorType::new(a.dtype, out))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::types::DType;

    fn conv_attrs(strides: &[i64], pads: &[i64], dil: &[i64], group: i64) -> Attrs {
        Attrs::new()
            .with("strides", ints(strides))
            .with("pads", ints(pads))
            .with("dilations", ints(dil))
            .with("group", Attr::Int(group))
    }

    #[test]
    fn resnet_stem_conv() {
        let x = f(&[1, 3, 224, 224]);
        let w = f(&[64, 3, 7, 7]);
        let b = f(&[64]);
        let a = conv_attrs(&[2, 2], &[3, 3, 3, 3], &[1, 1], 1);
        assert_eq!(shape_of(OpKind::Conv, &[x, w, b], a), vec![1, 64, 112, 112]);
    }

    #[test]
    fn exact_conv_takes_a_bound_and_no_epilogue() {
        let a = |bound: i64| {
            conv_attrs(&[1, 1], &[0; 4], &[1, 1], 1).with("exact_bound", Attr::Int(bound))
        };
        let (x, w) = (f(&[1, 4, 5, 5]), f(&[2, 4, 1, 1]));
        assert_eq!(shape_of(OpKind::Conv, &[x.clone(), w.clone()], a(255)), vec![1, 2, 5, 5]);
        expect_err(OpKind::Conv, &[x.clone(), w.clone()], a(0), &["exact_bound", "outside"]);
        expect_err(OpKind::Conv, &[x.clone(), w.clone(), f(&[2])], a(255), &["no operand after"]);
        let relu = a(255).with("activation", Attr::Str("relu".into()));
        expect_err(OpKind::Conv, &[x, w], relu, &["no activation"]);
        let (x, w) = (t(DType::F64, &[1, 4, 5, 5]), t(DType::F64, &[2, 4, 1, 1]));
        expect_err(OpKind::Conv, &[x, w], a(255), &["f32 operands"]);
        // gemm: the same, and alpha = 1.
        let g = |alpha: f32| {
            Attrs::new().with("exact_bound", Attr::Int(255)).with("alpha", Attr::Float(alpha))
        };
        let (a2, b2) = (f(&[3, 8]), f(&[8, 5]));
        assert_eq!(shape_of(OpKind::Gemm, &[a2.clone(), b2.clone()], g(1.0)), vec![3, 5]);
        expect_err(OpKind::Gemm, &[a2.clone(), b2.clone()], g(0.5), &["alpha = 1"]);
        expect_err(OpKind::Gemm, &[a2, b2, f(&[5])], g(1.0), &["no operand after"]);
    }

    #[test]
    fn conv_grouped_dilated_asymmetric_1d_3d() {
        // Depthwise 3x3, dilation 2, asymmetric pads: (10 + 1 + 2 - 5) / 1 + 1 = 9.
        let a = conv_attrs(&[1, 2], &[1, 0, 2, 0], &[2, 2], 32);
        let out = shape_of(OpKind::Conv, &[f(&[2, 32, 10, 11]), f(&[32, 1, 3, 3])], a);
        // Axis 1: (11 + 0 + 0 - 5) / 2 + 1 = 4.
        assert_eq!(out, vec![2, 32, 9, 4]);
        let a = conv_attrs(&[3], &[0, 0], &[1], 1);
        assert_eq!(shape_of(OpKind::Conv, &[f(&[1, 2, 10]), f(&[4, 2, 2])], a), [1, 4, 3]);
        let a = conv_attrs(&[1, 1, 1], &[1, 1, 1, 1, 1, 1], &[1, 1, 1], 1);
        let out = shape_of(OpKind::Conv, &[f(&[1, 1, 4, 5, 6]), f(&[2, 1, 3, 3, 3])], a);
        assert_eq!(out, vec![1, 2, 4, 5, 6]);
        // group defaults to 1 when absent.
        let a = Attrs::new()
            .with("strides", ints(&[1]))
            .with("pads", ints(&[0, 0]))
            .with("dilations", ints(&[1]));
        assert_eq!(shape_of(OpKind::Conv, &[f(&[1, 2, 5]), f(&[3, 2, 5])], a), [1, 3, 1]);
    }

    #[test]
    fn conv_errors() {
        let a = || conv_attrs(&[1, 1], &[0, 0, 0, 0], &[1, 1], 1);
        expect_err(
            OpKind::Conv,
            &[f(&[1, 4, 5, 5]), f(&[8, 3, 3, 3])],
            a(),
            &["conv: operand `w` has 3 input channels per group, `x` has 4 channels with group 1"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 4, 5, 5]), f(&[6, 2, 3, 3])],
            conv_attrs(&[1, 1], &[0, 0, 0, 0], &[1, 1], 4),
            &["`w` has 2 input channels per group", "with group 4 (expected 1)"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 4, 5, 5]), f(&[6, 2, 3, 3])],
            conv_attrs(&[1, 1], &[0, 0, 0, 0], &[1, 1], 2).with("group", Attr::Int(4)),
            &["input channels per group"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 4, 5, 5]), f(&[6, 1, 3, 3])],
            conv_attrs(&[1, 1], &[0, 0, 0, 0], &[1, 1], 4),
            &["`w` has 6 output channels, which attribute `group` = 4 does not divide"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3])],
            conv_attrs(&[1, 1], &[0, 0, 0, 0], &[1, 1], 0),
            &["attribute `group` must be ≥ 1, found 0"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3]), f(&[4])],
            a(),
            &["operand `b` has shape [4], expected [8]"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 2, 5]), f(&[8, 3, 3, 3])],
            a(),
            &["spatial axis 0: the input has size 2, padded to 2, smaller than the dilated kernel 3"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3])],
            conv_attrs(&[1], &[0, 0, 0, 0], &[1, 1], 1),
            &["attribute `strides` = [1] has 1 entries, expected 2"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3])],
            conv_attrs(&[1, 0], &[0, 0, 0, 0], &[1, 1], 1),
            &["attribute `strides` = [1, 0] has an entry 0"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3])],
            conv_attrs(&[1, 1], &[0, -1, 0, 0], &[1, 1], 1),
            &["`pads` = [0, -1, 0, 0] has a negative entry -1"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3])],
            a(),
            &["operand `w` has shape [8, 3, 3] (rank 3), expected rank 4"],
        );
        expect_err(
            OpKind::Conv,
            &[t(DType::I64, &[1, 3, 5, 5]), t(DType::I64, &[8, 3, 3, 3])],
            a(),
            &["operand `x` is i64, expected a float dtype"],
        );
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), t(DType::F16, &[8, 3, 3, 3])],
            a(),
            &["operand `w` is f16 but operand `x` is f32"],
        );
        expect_err(OpKind::Conv, &[f(&[1, 3, 5, 5])], a(), &["takes 2 to 4 operand(s), found 1"]);
        let huge = conv_attrs(&[1, 1], &[0, 0, i64::MAX, i64::MAX], &[1, 1], 1);
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3])],
            huge,
            &["over the limit of 2^40"],
        );
        let dil = conv_attrs(&[1, 1], &[0, 0, 0, 0], &[i64::MAX, 1], 1);
        expect_err(
            OpKind::Conv,
            &[f(&[1, 3, 5, 5]), f(&[8, 3, 3, 3])],
            dil,
            &["smaller than the dilated kernel"],
        );
    }

    fn ct_attrs(strides: &[i64], pads: &[i64], outpad: &[i64], group: i64) -> Attrs {
        let n = strides.len();
        conv_attrs(strides, pads, &vec![1; n], group).with("output_padding", ints(outpad))
    }

    #[test]
    fn conv_transpose_shapes() {
        // ONNX test_convtranspose: [1,1,3,3] * [1,2,3,3] → [1,2,5,5].
        let a = ct_attrs(&[1, 1], &[0, 0, 0, 0], &[0, 0], 1);
        assert_eq!(
            shape_of(OpKind::ConvTranspose, &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3])], a),
            [1, 2, 5, 5]
        );
        // ONNX test_convtranspose_pads: strides [3,2], pads [1,2,1,2] → [1,2,7,3].
        let a = ct_attrs(&[3, 2], &[1, 2, 1, 2], &[0, 0], 1);
        assert_eq!(
            shape_of(OpKind::ConvTranspose, &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3])], a),
            [1, 2, 7, 3]
        );
        // output_shape [10, 8] expressed as output_padding [1, 1].
        let a = ct_attrs(&[3, 2], &[0, 0, 0, 0], &[1, 1], 1);
        assert_eq!(
            shape_of(OpKind::ConvTranspose, &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3])], a),
            [1, 2, 10, 8]
        );
        // Dilation 2: (3-1) + 2*(3-1) + 1 = 7.
        let a = ct_attrs(&[1, 1], &[0, 0, 0, 0], &[0, 0], 1).with("dilations", ints(&[2, 2]));
        assert_eq!(
            shape_of(OpKind::ConvTranspose, &[f(&[1, 1, 3, 3]), f(&[1, 1, 2, 2])], a),
            [1, 1, 5, 5]
        );
        // Groups: w [C=4, M/g=3] with group 2 gives 6 output channels, bias [6].
        let a = ct_attrs(&[2], &[0, 0], &[0], 2);
        let ins = [f(&[1, 4, 5]), f(&[4, 3, 3]), f(&[6])];
        assert_eq!(shape_of(OpKind::ConvTranspose, &ins, a), [1, 6, 11]);
    }

    #[test]
    fn conv_transpose_errors() {
        let a = || ct_attrs(&[1, 1], &[0, 0, 0, 0], &[0, 0], 1);
        expect_err(
            OpKind::ConvTranspose,
            &[f(&[1, 2, 3, 3]), f(&[3, 2, 3, 3])],
            a(),
            &["conv_transpose: operand `w` has 3 input channels (dimension 0), `x` has 2"],
        );
        expect_err(
            OpKind::ConvTranspose,
            &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3]), f(&[1])],
            a(),
            &["operand `b` has shape [1], expected [2]"],
        );
        expect_err(
            OpKind::ConvTranspose,
            &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3])],
            ct_attrs(&[1, 1], &[0, 0, 0, 0], &[0], 1),
            &["attribute `output_padding` = [0] has 1 entries, expected 2"],
        );
        expect_err(
            OpKind::ConvTranspose,
            &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3])],
            ct_attrs(&[1, 1], &[0, 0, 0, 0], &[0, -1], 1),
            &["`output_padding` = [0, -1] has a negative entry -1"],
        );
        expect_err(
            OpKind::ConvTranspose,
            &[f(&[1, 1, 3, 3]), f(&[1, 2, 3, 3])],
            ct_attrs(&[1, 1], &[3, 0, 3, 0], &[0, 0], 1),
            &["output size along spatial axis 0 would be -1, which is negative"],
        );
        expect_err(
            OpKind::ConvTranspose,
            &[f(&[1, 3, 3, 3]), f(&[3, 2, 3, 3])],
            ct_attrs(&[1, 1], &[0, 0, 0, 0], &[0, 0], 2),
            &["`x` has 3 channels, which attribute `group` = 2 does not divide"],
        );
    }

    fn gemm_attrs(ta: i64, tb: i64) -> Attrs {
        Attrs::new().with("trans_a", Attr::Int(ta)).with("trans_b", Attr::Int(tb))
    }

    #[test]
    fn gemm_shapes() {
        let ins = [f(&[2, 3]), f(&[3, 4]), f(&[4])];
        assert_eq!(shape_of(OpKind::Gemm, &ins, Attrs::new()), vec![2, 4]);
        let ins = [f(&[3, 2]), f(&[4, 3]), f(&[2, 1])];
        assert_eq!(shape_of(OpKind::Gemm, &ins, gemm_attrs(1, 1)), vec![2, 4]);
        let ins = [f(&[1, 9216]), f(&[4096, 9216]), f(&[])];
        assert_eq!(shape_of(OpKind::Gemm, &ins, gemm_attrs(0, 1)), vec![1, 4096]);
        let ins = [f(&[1, 9216]), f(&[4096, 9216])];
        assert_eq!(shape_of(OpKind::Gemm, &ins, gemm_attrs(0, 1)), vec![1, 4096]);
    }

    #[test]
    fn gemm_errors() {
        expect_err(
            OpKind::Gemm,
            &[f(&[2, 3]), f(&[4, 3])],
            Attrs::new(),
            &["gemm: inner dimensions differ: operand `a` [2, 3] (trans_a 0) gives K = 3, \
               operand `b` [4, 3] (trans_b 0) gives K = 4"],
        );
        expect_err(
            OpKind::Gemm,
            &[f(&[2, 3]), f(&[3, 4]), f(&[3, 4])],
            Attrs::new(),
            &["operand `c` has shape [3, 4], which does not broadcast to [2, 4]"],
        );
        expect_err(
            OpKind::Gemm,
            &[f(&[2, 3, 1]), f(&[3, 4])],
            Attrs::new(),
            &["operand `a` has shape [2, 3, 1] (rank 3), expected rank 2"],
        );
        expect_err(
            OpKind::Gemm,
            &[f(&[2, 3]), f(&[3, 4])],
            gemm_attrs(2, 0),
            &["attribute `trans_a` must be 0 or 1, found 2"],
        );
        expect_err(
            OpKind::Gemm,
            &[f(&[2, 3]), f(&[3, 4]), t(DType::F64, &[4])],
            Attrs::new(),
            &["operand `c` is f64 but operand `a` is f32"],
        );
    }

    #[test]
    fn matmul_shapes() {
        let mm = |a: &[usize], b: &[usize]| shape_of(OpKind::MatMul, &[f(a), f(b)], Attrs::new());
        assert_eq!(mm(&[2, 3], &[3, 4]), vec![2, 4]);
        assert_eq!(mm(&[3], &[3]), Vec::<usize>::new());
        assert_eq!(mm(&[3], &[2, 3, 4]), vec![2, 4]);
        assert_eq!(mm(&[2, 5, 3], &[3]), vec![2, 5]);
        assert_eq!(mm(&[2, 1, 5, 3], &[4, 3, 6]), vec![2, 4, 5, 6]);
        assert_eq!(mm(&[1, 12, 8, 64], &[1, 12, 64, 8]), vec![1, 12, 8, 8]);
        assert_eq!(mm(&[4, 8, 16], &[16, 32]), vec![4, 8, 32]);
    }

    #[test]
    fn matmul_errors() {
        expect_err(
            OpKind::MatMul,
            &[f(&[2, 3]), f(&[4, 5])],
            Attrs::new(),
            &["matmul: inner dimensions differ: operand `a` [2, 3] has K = 3, operand `b` [4, 5] \
               has K = 4"],
        );
        expect_err(
            OpKind::MatMul,
            &[f(&[2, 5, 3]), f(&[3, 3, 6])],
            Attrs::new(),
            &["batch dimensions [2] of operand `a` [2, 5, 3] and [3] of operand `b` [3, 3, 6]"],
        );
        expect_err(
            OpKind::MatMul,
            &[f(&[]), f(&[3])],
            Attrs::new(),
            &["operand `a` has shape [] (rank 0), expected rank ≥ 1"],
        );
        expect_err(
            OpKind::MatMul,
            &[t(DType::Bool, &[2, 2]), t(DType::Bool, &[2, 2])],
            Attrs::new(),
            &["operand `a` is bool"],
        );
    }
}
