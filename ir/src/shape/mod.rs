//! Shape rules: result types of every op from operand types and attributes.
//!
//! Each rule is named in the op table ([`crate::ops::OPS`]); the importer calls them to type
//! new nodes and the verifier calls them to check existing ones, so the interpreter kernels
//! may trust both the result types and the attribute values a rule accepted. A rule checks
//! everything it relies on (operand count, dtypes, ranks, attribute ranges) and reports the
//! first inconsistency as [`ShapeError::Invalid`] naming the operand or attribute with the
//! expected and found values. Rules never panic and never overflow: dimension arithmetic is
//! checked (or done in `i128` on bounded inputs) and any tensor over [`MAX_ELEMENTS`]
//! elements is rejected. Axis attributes may be negative (counted from the end).
//!
//! Rules never look at tensor contents: everything data-dependent is an attribute in this
//! IR. Absent attributes fall back to the op table's default, so hand-built attribute maps
//! need not spell out every default.
//!
//! Families: [`elementwise`] (broadcasting ops), [`linalg`] (conv, gemm, matmul),
//! [`movement`] (concat, split, slice, gather, reshape, transpose, expand, pad, resize),
//! [`reduce`] (pooling and reductions), [`quant`] (quantize/dequantize); constants, casts
//! and the shape-preserving ops live here.

pub mod elementwise;
pub mod linalg;
pub mod movement;
pub mod quant;
pub mod reduce;

pub use elementwise::{affine, broadcast, broadcast_shapes, broadcasts_to, compare, pow, where_};
pub use linalg::{conv, conv_transpose, gemm, matmul};
pub use movement::{
    concat, expand, gather, pad, reshape, resize, slice, split, transpose, RESIZE_COORDINATE_MODES,
};
pub use quant::{dequantize_linear, quantize_linear};
pub use reduce::{pool, reduce};

use crate::attr::{Attr, AttrError, Attrs};
use crate::ops::{AttrDefault, OpKind};
use crate::types::{DType, TensorType};
use std::fmt;
use thiserror::Error;

/// Largest element count (and largest single dimension) a shape rule accepts: 2^40.
pub const MAX_ELEMENTS: u64 = 1 << 40;

/// What a shape rule sees.
pub struct ShapeCx<'a> {
    /// The op being typed.
    pub op: OpKind,
    /// Operand types, in order.
    pub inputs: &'a [TensorType],
    /// The node's attributes.
    pub attrs: &'a Attrs,
}

/// A shape rule's complaint.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// An attribute is missing or of the wrong kind.
    #[error(transparent)]
    Attr(#[from] AttrError),
    /// Operand types or attributes are inconsistent; the message says how.
    #[error("{0}")]
    Invalid(String),
}

/// Result of a shape rule.
pub type ShapeResult = Result<Vec<TensorType>, ShapeError>;

/// Normalizes a possibly negative axis against `rank`: `-rank..rank` maps to `0..rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if axis < 0 { axis.checked_add(r)? } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// The accepted axis values for `rank`, for messages.
fn axis_range(rank: usize) -> String {
    if rank == 0 {
        "none: the operand is a scalar".to_string()
    } else {
        format!("{}..={}", -(rank as i64), rank as i64 - 1)
    }
}

/// Element count of `shape`, or `None` when it overflows `u64`.
pub fn checked_numel(shape: &[usize]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
}

impl<'a> ShapeCx<'a> {
    /// An [`ShapeError::Invalid`] prefixed with the op's mnemonic.
    pub fn err(&self, msg: impl fmt::Display) -> ShapeError {
        ShapeError::Invalid(format!("{}: {msg}", self.op))
    }

    /// The name of operand `i` as the op table spells it (`x`, or `x#2` for the third
    /// operand of a variadic op).
    pub fn operand_name(&self, i: usize) -> String {
        let def = self.op.def();
        let names = def.operands;
        match names.get(i) {
            Some(n) if !(def.variadic && i + 1 >= names.len()) => format!("`{n}`"),
            _ => match names.last() {
                Some(last) if def.variadic => {
                    format!("`{last}#{}`", i + 1 - names.len())
                }
                _ => format!("#{i}"),
            },
        }
    }

    /// Checks the operand count against the op table and that every operand's size is
    /// within [`MAX_ELEMENTS`]. Every rule calls this first.
    pub fn check_operands(&self) -> Result<(), ShapeError> {
        let def = self.op.def();
        let n = self.inputs.len();
        let min = def.min_operands();
        let too_many = def.max_operands().is_some_and(|m| n > m);
        if n < min || too_many {
            let want = match def.max_operands() {
                None => format!("at least {min}"),
                Some(m) if m == min => format!("{m}"),
                Some(m) => format!("{min} to {m}"),
            };
            return Err(self.err(format!("takes {want} operand(s), found {n}")));
        }
        for (i, t) in self.inputs.iter().enumerate() {
            self.check_size(&format!("operand {}", self.operand_name(i)), &t.shape)?;
        }
        Ok(())
    }

    /// Operand `i`, or an error naming it when absent.
    pub fn input(&self, i: usize) -> Result<&'a TensorType, ShapeError> {
        let inputs: &'a [TensorType] = self.inputs;
        inputs.get(i).ok_or_else(|| self.err(format!("missing operand {}", self.operand_name(i))))
    }

    /// Operand `i` if present (optional operands).
    pub fn opt_input(&self, i: usize) -> Option<&'a TensorType> {
        let inputs: &'a [TensorType] = self.inputs;
        inputs.get(i)
    }

    /// Rejects shapes with a dimension or element count over [`MAX_ELEMENTS`].
    pub fn check_size(&self, what: &str, shape: &[usize]) -> Result<(), ShapeError> {
        let numel = checked_numel(shape);
        let dim_too_big = shape.iter().any(|&d| d as u64 > MAX_ELEMENTS);
        match numel {
            Some(n) if n <= MAX_ELEMENTS && !dim_too_big => Ok(()),
            _ => Err(self.err(format!(
                "{what} has shape {shape:?}, over the limit of 2^40 elements per tensor"
            ))),
        }
    }

    /// Converts a computed dimension to `usize`, rejecting negatives and absurd sizes.
    pub fn dim(&self, what: &str, v: i128) -> Result<usize, ShapeError> {
        if v < 0 {
            return Err(self.err(format!("{what} would be {v}, which is negative")));
        }
        match usize::try_from(v) {
            Ok(d) if d as u64 <= MAX_ELEMENTS => Ok(d),
            _ => Err(self.err(format!("{what} would be {v}, over the limit of 2^40"))),
        }
    }

    /// One result, after checking its size.
    pub fn one(&self, ty: TensorType) -> ShapeResult {
        self.check_size("the result", &ty.shape)?;
        Ok(vec![ty])
    }

    fn default_of(&self, name: &str) -> Option<AttrDefault> {
        self.op.def().attr(name).map(|d| d.default)
    }

    fn missing(&self, name: &str) -> ShapeError {
        ShapeError::Attr(AttrError::Missing(name.to_string()))
    }

    /// Integer attribute, or its table default when absent.
    pub fn int(&self, name: &str) -> Result<i64, ShapeError> {
        if self.attrs.get(name).is_some() {
            return Ok(self.attrs.int(name)?);
        }
        match self.default_of(name) {
            Some(AttrDefault::Int(v)) => Ok(v),
            _ => Err(self.missing(name)),
        }
    }

    /// Integer attribute that must be 0 or 1.
    pub fn flag(&self, name: &str) -> Result<bool, ShapeError> {
        match self.int(name)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(self.err(format!("attribute `{name}` must be 0 or 1, found {v}"))),
        }
    }

    /// Integer-list attribute, or its table default when absent.
    pub fn ints(&self, name: &str) -> Result<&'a [i64], ShapeError> {
        let attrs: &'a Attrs = self.attrs;
        if attrs.get(name).is_some() {
            return Ok(attrs.ints(name)?);
        }
        match self.default_of(name) {
            Some(AttrDefault::EmptyInts) => Ok(&[]),
            _ => Err(self.missing(name)),
        }
    }

    /// Float-list attribute, or its table default (an empty list) when absent.
    pub fn floats(&self, name: &str) -> Result<&'a [f32], ShapeError> {
        let attrs: &'a Attrs = self.attrs;
        if attrs.get(name).is_some() {
            return Ok(attrs.floats(name)?);
        }
        match self.default_of(name) {
            Some(AttrDefault::EmptyFloats) => Ok(&[]),
            _ => Err(self.missing(name)),
        }
    }

    /// Float attribute, or its table default when absent.
    pub fn float(&self, name: &str) -> Result<f32, ShapeError> {
        if self.attrs.get(name).is_some() {
            return Ok(self.attrs.float(name)?);
        }
        match self.default_of(name) {
            Some(AttrDefault::Float(v)) => Ok(v),
            _ => Err(self.missing(name)),
        }
    }

    /// String attribute, or its table default when absent.
    pub fn str(&self, name: &str) -> Result<&'a str, ShapeError> {
        let attrs: &'a Attrs = self.attrs;
        if attrs.get(name).is_some() {
            return Ok(attrs.str(name)?);
        }
        match self.default_of(name) {
            Some(AttrDefault::Str(v)) => Ok(v),
            _ => Err(self.missing(name)),
        }
    }

    /// String attribute that must be one of `allowed`.
    pub fn choice(&self, name: &str, allowed: &[&str]) -> Result<&'a str, ShapeError> {
        let v = self.str(name)?;
        if allowed.contains(&v) {
            Ok(v)
        } else {
            Err(self.err(format!(
                "attribute `{name}` = \"{v}\" is not supported (expected one of: {})",
                allowed.join(", ")
            )))
        }
    }

    /// Dtype attribute.
    pub fn dtype(&self, name: &str) -> Result<DType, ShapeError> {
        Ok(self.attrs.dtype(name)?)
    }

    /// Normalizes axis attribute `name` (value `axis`) against `rank`.
    pub fn axis(&self, name: &str, axis: i64, rank: usize) -> Result<usize, ShapeError> {
        normalize_axis(axis, rank).ok_or_else(|| {
            self.err(format!(
                "attribute `{name}` = {axis} is out of range for rank {rank} (expected {})",
                axis_range(rank)
            ))
        })
    }

    /// Normalizes the integer attribute `name` as an axis of a rank-`rank` tensor.
    pub fn axis_attr(&self, name: &str, rank: usize) -> Result<usize, ShapeError> {
        let a = self.int(name)?;
        self.axis(name, a, rank)
    }

    /// Normalizes a list attribute of distinct axes (`name`) against `rank`.
    pub fn axes(&self, name: &str, axes: &[i64], rank: usize) -> Result<Vec<usize>, ShapeError> {
        let mut out: Vec<usize> = Vec::with_capacity(axes.len().min(rank));
        for &a in axes {
            let Some(n) = normalize_axis(a, rank) else {
                return Err(self.err(format!(
                    "attribute `{name}` = {axes:?}: entry {a} is out of range for rank {rank} \
                     (expected {})",
                    axis_range(rank)
                )));
            };
            if out.contains(&n) {
                return Err(self.err(format!(
                    "attribute `{name}` = {axes:?} names axis {n} twice (axes must be distinct)"
                )));
            }
            out.push(n);
        }
        Ok(out)
    }

    /// Checks that list attribute `name` has `len` entries.
    pub fn expect_len<T: fmt::Debug>(
        &self,
        name: &str,
        v: &[T],
        len: usize,
        why: &str,
    ) -> Result<(), ShapeError> {
        if v.len() == len {
            Ok(())
        } else {
            Err(self.err(format!(
                "attribute `{name}` = {v:?} has {} entries, expected {len} ({why})",
                v.len()
            )))
        }
    }

    /// Checks that operand `i` has a floating-point dtype.
    pub fn expect_float(&self, i: usize) -> Result<(), ShapeError> {
        let t = self.input(i)?;
        if t.dtype.is_float() {
            Ok(())
        } else {
            Err(self.err(format!(
                "operand {} is {}, expected a float dtype (f32, f64, f16, bf16)",
                self.operand_name(i),
                t.dtype
            )))
        }
    }

    /// Checks that operand `i` has a dtype arithmetic works on: a float (f32, f64, f16,
    /// bf16) or an 8- to 64-bit integer — not bool, not a coded type (`i4`, `f8e4m3fn`…,
    /// which only move, cast and (de)quantize).
    pub fn expect_numeric(&self, i: usize) -> Result<(), ShapeError> {
        let t = self.input(i)?;
        if t.dtype.is_float() || t.dtype.is_int() {
            return Ok(());
        }
        let why = if t.dtype == DType::Bool {
            ""
        } else {
            " (coded types only move, cast and (de)quantize)"
        };
        Err(self.err(format!(
            "operand {} is {}, expected a numeric dtype{why}",
            self.operand_name(i),
            t.dtype
        )))
    }

    /// Checks that operand `i` has the same dtype as operand `j`.
    pub fn expect_same_dtype(&self, i: usize, j: usize) -> Result<(), ShapeError> {
        let (a, b) = (self.input(i)?, self.input(j)?);
        if a.dtype == b.dtype {
            Ok(())
        } else {
            Err(self.err(format!(
                "operand {} is {} but operand {} is {} (they must have the same dtype)",
                self.operand_name(i),
                a.dtype,
                self.operand_name(j),
                b.dtype
            )))
        }
    }

    /// Checks that operand `i` has rank `rank`.
    pub fn expect_rank(&self, i: usize, rank: usize) -> Result<(), ShapeError> {
        let t = self.input(i)?;
        if t.rank() == rank {
            Ok(())
        } else {
            Err(self.err(format!(
                "operand {} has shape {:?} (rank {}), expected rank {rank}",
                self.operand_name(i),
                t.shape,
                t.rank()
            )))
        }
    }

    /// Checks that operand `i` has rank at least `rank`; `what` says what the axes mean.
    pub fn expect_min_rank(&self, i: usize, rank: usize, what: &str) -> Result<(), ShapeError> {
        let t = self.input(i)?;
        if t.rank() >= rank {
            Ok(())
        } else {
            Err(self.err(format!(
                "operand {} has shape {:?} (rank {}), expected rank ≥ {rank} ({what})",
                self.operand_name(i),
                t.shape,
                t.rank()
            )))
        }
    }
}

/// `const`: the type of its `value` tensor (or, when the contents were elided, the type
/// recorded with the hash).
pub fn constant(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let ty = match cx.attrs.get("value") {
        Some(Attr::Tensor(t)) => t.ty(),
        Some(Attr::Elided { ty, .. }) => ty.clone(),
        Some(_) => {
            cx.attrs.tensor("value")?;
            return Err(cx.err("attribute `value` is not a tensor"));
        }
        None => return Err(cx.missing("value")),
    };
    cx.one(ty)
}

/// `cast`: the operand's shape with dtype `to`; `saturate` is 0 or 1, `round_mode` is up,
/// down or nearest.
pub fn cast(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    let to = cx.dtype("to")?;
    cx.flag("saturate")?;
    cx.choice("round_mode", &["up", "down", "nearest"])?;
    cx.one(TensorType::new(to, x.shape.clone()))
}

/// Unary and normalisation ops: the result has the first operand's type. The op-specific
/// checks (dtype classes, softmax axis, batch_norm parameter shapes, layer_norm
/// broadcasting, lrn size, gelu approximation) are chosen by `cx.op`.
pub fn same_as_first(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    match cx.op {
        OpKind::Identity => {}
        OpKind::Relu | OpKind::Clip | OpKind::Erf => cx.expect_numeric(0)?,
        OpKind::Softmax | OpKind::LogSoftmax => {
            cx.expect_float(0)?;
            cx.axis_attr("axis", x.rank())?;
        }
        OpKind::BatchNorm => batch_norm_checks(cx, x)?,
        OpKind::LayerNorm => layer_norm_checks(cx, x)?,
        OpKind::Lrn => {
            cx.expect_float(0)?;
            cx.expect_min_rank(0, 2, "N, C, spatial…")?;
            let size = cx.int("size")?;
            if size < 1 {
                return Err(cx.err(format!("attribute `size` must be ≥ 1, found {size}")));
            }
        }
        OpKind::Gelu => {
            cx.expect_float(0)?;
            cx.choice("approximate", &["none", "tanh"])?;
        }
        _ => cx.expect_float(0)?,
    }
    cx.one(x.clone())
}

fn batch_norm_checks(cx: &ShapeCx, x: &TensorType) -> Result<(), ShapeError> {
    cx.expect_float(0)?;
    cx.expect_min_rank(0, 2, "N, C, spatial…")?;
    let c = x.shape.get(1).copied().unwrap_or(0);
    for i in 1..cx.inputs.len() {
        cx.expect_same_dtype(i, 0)?;
        let p = cx.input(i)?;
        if p.shape != [c] {
            return Err(cx.err(format!(
                "operand {} has shape {:?}, expected [{c}] (1-d, one entry per channel of \
                 `x` {:?})",
                cx.operand_name(i),
                p.shape,
                x.shape
            )));
        }
    }
    Ok(())
}

fn layer_norm_checks(cx: &ShapeCx, x: &TensorType) -> Result<(), ShapeError> {
    cx.expect_float(0)?;
    let axis = cx.axis_attr("axis", x.rank())?;
    let normalized = x.shape.get(axis..).unwrap_or(&[]);
    for i in 1..cx.inputs.len() {
        cx.expect_same_dtype(i, 0)?;
        let p = cx.input(i)?;
        if !broadcasts_to(&p.shape, normalized) {
            return Err(cx.err(format!(
                "operand {} has shape {:?}, which does not broadcast to the normalized shape \
                 {normalized:?} (axes {axis}.. of `x` {:?})",
                cx.operand_name(i),
                p.shape,
                x.shape
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for the shape-rule tests of every family.
    use super::*;

    /// Shorthand for a tensor type.
    pub fn t(dtype: DType, shape: &[usize]) -> TensorType {
        TensorType::new(dtype, shape.to_vec())
    }

    /// f32 tensor type.
    pub fn f(shape: &[usize]) -> TensorType {
        t(DType::F32, shape)
    }

    /// Runs the op table's shape rule for `op`.
    pub fn run(op: OpKind, inputs: &[TensorType], attrs: Attrs) -> ShapeResult {
        (op.def().shape)(&ShapeCx { op, inputs, attrs: &attrs })
    }

    /// Runs and expects exactly one result, returning its shape.
    pub fn shape_of(op: OpKind, inputs: &[TensorType], attrs: Attrs) -> Vec<usize> {
        let out = run(op, inputs, attrs).expect("shape rule failed");
        assert_eq!(out.len(), 1, "expected one result, got {out:?}");
        out.into_iter().next().map(|t| t.shape).unwrap_or_default()
    }

    /// Runs and expects an `Invalid` error containing every fragment of `want`.
    pub fn expect_err(op: OpKind, inputs: &[TensorType], attrs: Attrs, want: &[&str]) {
        match run(op, inputs, attrs) {
            Ok(out) => panic!("expected an error mentioning {want:?}, got {out:?}"),
            Err(e) => {
                let msg = e.to_string();
                for w in want {
                    assert!(msg.contains(w), "error `{msg}` does not mention `{w}`");
                }
            }
        }
    }

    /// `Attr::Ints`.
    pub fn ints(v: &[i64]) -> Attr {
        Attr::Ints(v.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;
    use crate::tensor::Tensor;
    use std::sync::Arc;

    #[test]
    fn axis_normalization() {
        assert_eq!(normalize_axis(-1, 4), Some(3));
        assert_eq!(normalize_axis(-4, 4), Some(0));
        assert_eq!(normalize_axis(3, 4), Some(3));
        assert_eq!(normalize_axis(4, 4), None);
        assert_eq!(normalize_axis(-5, 4), None);
        assert_eq!(normalize_axis(i64::MIN, 4), None);
        assert_eq!(normalize_axis(0, 0), None);
    }

    #[test]
    fn constant_types() {
        let v = Tensor::from_i64([2, 2], vec![1, 2, 3, 4]).unwrap();
        let attrs = Attrs::new().with("value", Attr::Tensor(Arc::new(v)));
        assert_eq!(run(OpKind::Const, &[], attrs).unwrap(), vec![t(DType::I64, &[2, 2])]);
        let elided = Attr::Elided { ty: f(&[3, 5]), hash: 7 };
        let attrs = Attrs::new().with("value", elided);
        assert_eq!(run(OpKind::Const, &[], attrs).unwrap(), vec![f(&[3, 5])]);
    }

    #[test]
    fn constant_errors() {
        let e = run(OpKind::Const, &[], Attrs::new()).unwrap_err();
        assert_eq!(e, ShapeError::Attr(AttrError::Missing("value".into())));
        let attrs = Attrs::new().with("value", Attr::Int(3));
        let e = run(OpKind::Const, &[], attrs).unwrap_err();
        assert!(e.to_string().contains("`value` should be tensor, found int"), "{e}");
        let huge = Attr::Elided { ty: f(&[1 << 30, 1 << 20]), hash: 0 };
        expect_err(OpKind::Const, &[], Attrs::new().with("value", huge), &["2^40"]);
        let t = Tensor::from_f32([1], vec![1.0]).unwrap();
        let attrs = Attrs::new().with("value", Attr::Tensor(Arc::new(t)));
        expect_err(OpKind::Const, &[f(&[1])], attrs, &["takes 0 operand(s), found 1"]);
    }

    #[test]
    fn cast_rule() {
        let attrs = Attrs::new().with("to", Attr::DType(DType::I8));
        assert_eq!(run(OpKind::Cast, &[f(&[2, 3])], attrs).unwrap(), vec![t(DType::I8, &[2, 3])]);
        let e = run(OpKind::Cast, &[f(&[2])], Attrs::new()).unwrap_err();
        assert_eq!(e.to_string(), "missing attribute `to`");
        let attrs = Attrs::new().with("to", Attr::DType(DType::I8));
        expect_err(OpKind::Cast, &[], attrs, &["cast: takes 1 operand(s), found 0"]);
    }

    #[test]
    fn unary_keeps_type_and_checks_dtype() {
        let x = t(DType::F16, &[2, 3]);
        assert_eq!(shape_of(OpKind::Sigmoid, std::slice::from_ref(&x), Attrs::new()), vec![2, 3]);
        assert_eq!(run(OpKind::Exp, std::slice::from_ref(&x), Attrs::new()).unwrap(), vec![x]);
        let i = t(DType::I32, &[4]);
        assert_eq!(
            run(OpKind::Relu, std::slice::from_ref(&i), Attrs::new()).unwrap(),
            vec![i.clone()]
        );
        expect_err(OpKind::Sqrt, &[i], Attrs::new(), &["sqrt: operand `x` is i32", "float"]);
        let b = t(DType::Bool, &[4]);
        expect_err(OpKind::Relu, std::slice::from_ref(&b), Attrs::new(), &["`x` is bool"]);
        assert_eq!(shape_of(OpKind::Identity, &[b], Attrs::new()), vec![4]);
    }

    #[test]
    fn absurd_operands_are_rejected() {
        let x = f(&[1 << 21, 1 << 21]);
        expect_err(OpKind::Relu, &[x], Attrs::new(), &["operand `x`", "2^40"]);
        let x = f(&[0, usize::MAX]);
        expect_err(OpKind::Relu, &[x], Attrs::new(), &["2^40"]);
    }

    #[test]
    fn softmax_axis() {
        let x = f(&[2, 3, 4]);
        let a = |v| Attrs::new().with("axis", Attr::Int(v));
        assert_eq!(shape_of(OpKind::Softmax, std::slice::from_ref(&x), a(-1)), vec![2, 3, 4]);
        assert_eq!(shape_of(OpKind::LogSoftmax, std::slice::from_ref(&x), a(2)), vec![2, 3, 4]);
        expect_err(
            OpKind::Softmax,
            &[x],
            a(3),
            &["softmax: attribute `axis` = 3 is out of range for rank 3 (expected -3..=2)"],
        );
    }

    #[test]
    fn batch_norm_parameters() {
        let x = f(&[1, 8, 4, 4]);
        let p = f(&[8]);
        let ins = [x.clone(), p.clone(), p.clone(), p.clone(), p.clone()];
        assert_eq!(shape_of(OpKind::BatchNorm, &ins, Attrs::new()), vec![1, 8, 4, 4]);
        let ins = [x.clone(), p.clone(), p.clone(), f(&[4]), p.clone()];
        expect_err(
            OpKind::BatchNorm,
            &ins,
            Attrs::new(),
            &["operand `mean` has shape [4], expected [8]"],
        );
        let ins = [x.clone(), p.clone(), f(&[8, 1]), p.clone(), p.clone()];
        expect_err(OpKind::BatchNorm, &ins, Attrs::new(), &["`bias` has shape [8, 1]"]);
        let ins = [x.clone(), p.clone(), p.clone(), p.clone(), t(DType::F64, &[8])];
        expect_err(OpKind::BatchNorm, &ins, Attrs::new(), &["`var` is f64 but operand `x`"]);
        let ins = [x, p.clone(), p.clone(), p];
        expect_err(OpKind::BatchNorm, &ins, Attrs::new(), &["takes 5 operand(s), found 4"]);
        let ins = [f(&[8]), f(&[8]), f(&[8]), f(&[8]), f(&[8])];
        expect_err(OpKind::BatchNorm, &ins, Attrs::new(), &["rank ≥ 2"]);
    }

    #[test]
    fn layer_norm_parameters() {
        let x = f(&[2, 5, 16]);
        let a = |v| Attrs::new().with("axis", Attr::Int(v));
        assert_eq!(shape_of(OpKind::LayerNorm, &[x.clone(), f(&[16])], a(-1)), vec![2, 5, 16]);
        let ins = [x.clone(), f(&[5, 16]), f(&[16])];
        assert_eq!(shape_of(OpKind::LayerNorm, &ins, a(1)), vec![2, 5, 16]);
        assert_eq!(shape_of(OpKind::LayerNorm, &[x.clone(), f(&[16])], Attrs::new()), [2, 5, 16]);
        expect_err(
            OpKind::LayerNorm,
            &[x.clone(), f(&[5])],
            a(-1),
            &["operand `scale` has shape [5]", "normalized shape [16]"],
        );
        expect_err(OpKind::LayerNorm, &[x, f(&[16])], a(-4), &["`axis` = -4 is out of range"]);
    }

    #[test]
    fn lrn_and_gelu_attributes() {
        let x = f(&[1, 6, 3, 3]);
        let size = |v| Attrs::new().with("size", Attr::Int(v));
        assert_eq!(shape_of(OpKind::Lrn, std::slice::from_ref(&x), size(5)), vec![1, 6, 3, 3]);
        expect_err(
            OpKind::Lrn,
            std::slice::from_ref(&x),
            size(0),
            &["`size` must be ≥ 1, found 0"],
        );
        let approx = |s: &str| Attrs::new().with("approximate", Attr::Str(s.into()));
        assert_eq!(
            shape_of(OpKind::Gelu, std::slice::from_ref(&x), approx("tanh")),
            vec![1, 6, 3, 3]
        );
        assert_eq!(
            shape_of(OpKind::Gelu, std::slice::from_ref(&x), Attrs::new()),
            vec![1, 6, 3, 3]
        );
        expect_err(OpKind::Gelu, &[x], approx("erf"), &["`approximate` = \"erf\""]);
    }

    #[test]
    fn variadic_operand_names() {
        let cx = ShapeCx { op: OpKind::Concat, inputs: &[], attrs: &Attrs::new() };
        assert_eq!(cx.operand_name(0), "`x#0`");
        assert_eq!(cx.operand_name(2), "`x#2`");
        let cx = ShapeCx { op: OpKind::Conv, inputs: &[], attrs: &Attrs::new() };
        assert_eq!(cx.operand_name(1), "`w`");
        assert_eq!(cx.operand_name(5), "#5");
    }
}
