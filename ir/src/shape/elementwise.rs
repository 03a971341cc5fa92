//! Shape rules of the broadcasting elementwise ops: arithmetic (`add`…`div`, variadic
//! `max`/`min`/`sum`), `pow`, comparisons, `where` and the fused `affine`, plus the numpy
//! broadcasting helpers other families reuse.
//!
//! Broadcasting is numpy's multidirectional rule: shapes are aligned from the right, and
//! each result dimension is the common size, where a size of 1 stretches. Dtype rules are
//! ONNX's: arithmetic operands share one numeric dtype, `pow` keeps `a`'s dtype, comparisons
//! give bool, `where` takes a bool condition. Nothing here computes values.

use super::{ShapeCx, ShapeError, ShapeResult};
use crate::ops::OpKind;
use crate::types::{DType, TensorType};

/// Numpy multidirectional broadcast of two shapes; `None` when some aligned pair of
/// dimensions differs and neither is 1.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = dim_from_right(a, rank - 1 - i);
        let db = dim_from_right(b, rank - 1 - i);
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// True when `from` broadcasts unidirectionally to `to` (numpy: `to` is the result of
/// broadcasting `from` with `to`, so only `from` stretches).
pub fn broadcasts_to(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from.iter().rev().zip(to.iter().rev()).all(|(&f, &t)| f == t || f == 1)
}

/// Dimension `k` counted from the right (0 = last), 1 when the shape is shorter.
fn dim_from_right(s: &[usize], k: usize) -> usize {
    if k < s.len() {
        s.get(s.len() - 1 - k).copied().unwrap_or(1)
    } else {
        1
    }
}

/// Broadcasts the operands at `idx` together, naming the first one that does not fit.
fn broadcast_operands(cx: &ShapeCx, idx: &[usize]) -> Result<Vec<usize>, ShapeError> {
    let mut acc: Vec<usize> = Vec::new();
    for (k, &i) in idx.iter().enumerate() {
        let t = cx.input(i)?;
        acc = match broadcast_shapes(&acc, &t.shape) {
            Some(s) => s,
            None => {
                let with = match idx.first() {
                    Some(&first) if k == 1 => format!("operand {}", cx.operand_name(first)),
                    _ => "the broadcast of the operands before it".to_string(),
                };
                return Err(cx.err(format!(
                    "operand {} with shape {:?} does not broadcast with {with} (shape {acc:?}): \
                     aligned from the right, each pair of dimensions must be equal or 1",
                    cx.operand_name(i),
                    t.shape
                )));
            }
        };
    }
    Ok(acc)
}

/// `add`, `sub`, `mul`, `div`, `max`, `min`, `sum`: operands share one numeric dtype; the
/// result has the broadcast shape.
pub fn broadcast(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let n = cx.inputs.len();
    for i in 0..n {
        cx.expect_numeric(i)?;
        cx.expect_same_dtype(i, 0)?;
    }
    let all: Vec<usize> = (0..n).collect();
    let shape = broadcast_operands(cx, &all)?;
    cx.one(TensorType::new(cx.input(0)?.dtype, shape))
}

/// `affine`: float `x`; `scale` and `shift` of `x`'s dtype that broadcast to `x` without
/// enlarging it; a valid fused activation. The result has `x`'s type.
pub fn affine(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_float(0)?;
    let x = cx.input(0)?;
    for i in [1, 2] {
        cx.expect_same_dtype(i, 0)?;
        let t = cx.input(i)?;
        if !broadcasts_to(&t.shape, &x.shape) {
            return Err(cx.err(format!(
                "operand {} with shape {:?} does not broadcast to `x` (shape {:?}) without \
                 enlarging it",
                cx.operand_name(i),
                t.shape,
                x.shape
            )));
        }
    }
    crate::activation::Activation::from_attrs(cx.attrs).map_err(|e| cx.err(e))?;
    cx.one(x.clone())
}

/// `pow`: numeric operands (they may differ); the result has `a`'s dtype.
pub fn pow(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_numeric(0)?;
    cx.expect_numeric(1)?;
    let shape = broadcast_operands(cx, &[0, 1])?;
    cx.one(TensorType::new(cx.input(0)?.dtype, shape))
}

/// `equal`, `less`, `greater`: operands share a numeric dtype (or bool, for `equal` only);
/// bool result.
pub fn compare(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    cx.expect_same_dtype(1, 0)?;
    if !(cx.op == OpKind::Equal && cx.input(0)?.dtype == DType::Bool) {
        cx.expect_numeric(0)?;
    }
    let shape = broadcast_operands(cx, &[0, 1])?;
    cx.one(TensorType::new(DType::Bool, shape))
}

/// `where(cond, a, b)`: `cond` is bool, `a` and `b` share a dtype; all three broadcast.
pub fn where_(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let cond = cx.input(0)?;
    if cond.dtype != DType::Bool {
        return Err(cx.err(format!("operand `cond` is {}, expected bool", cond.dtype)));
    }
    cx.expect_same_dtype(2, 1)?;
    let shape = broadcast_operands(cx, &[0, 1, 2])?;
    cx.one(TensorType::new(cx.input(1)?.dtype, shape))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::attr::Attrs;

    #[test]
    fn broadcast_helpers() {
        assert_eq!(broadcast_shapes(&[2, 1, 4], &[3, 1]), Some(vec![2, 3, 4]));
        assert_eq!(broadcast_shapes(&[], &[5]), Some(vec![5]));
        assert_eq!(broadcast_shapes(&[0], &[1]), Some(vec![0]));
        assert_eq!(broadcast_shapes(&[2, 3], &[4]), None);
        assert!(broadcasts_to(&[3, 1], &[2, 3, 4]));
        assert!(!broadcasts_to(&[2, 3, 4], &[3, 4]));
        assert!(!broadcasts_to(&[3], &[3, 1]));
    }

    #[test]
    fn binary_broadcasting() {
        let out = run(OpKind::Add, &[f(&[8, 1, 6, 1]), f(&[7, 1, 5])], Attrs::new()).unwrap();
        assert_eq!(out, vec![f(&[8, 7, 6, 5])]);
        let i = t(DType::I64, &[]);
        assert_eq!(shape_of(OpKind::Div, &[i.clone(), t(DType::I64, &[3])], Attrs::new()), [3]);
        expect_err(
            OpKind::Mul,
            &[f(&[2, 3]), f(&[4])],
            Attrs::new(),
            &["mul: operand `b` with shape [4] does not broadcast with operand `a` (shape [2, 3])"],
        );
        expect_err(
            OpKind::Sub,
            &[f(&[2]), t(DType::F16, &[2])],
            Attrs::new(),
            &["operand `b` is f16 but operand `a` is f32"],
        );
        let b = t(DType::Bool, &[2]);
        expect_err(OpKind::Add, &[b.clone(), b], Attrs::new(), &["operand `a` is bool"]);
        let q = t(DType::I4, &[2]);
        expect_err(OpKind::Add, &[q.clone(), q], Attrs::new(), &["`a` is i4", "coded types"]);
        let u = t(DType::U64, &[2]);
        assert_eq!(shape_of(OpKind::Mul, &[u.clone(), u], Attrs::new()), [2]);
    }

    #[test]
    fn variadic_broadcasting() {
        let ins = [f(&[3, 1]), f(&[4]), f(&[2, 1, 1])];
        assert_eq!(shape_of(OpKind::Sum, &ins, Attrs::new()), vec![2, 3, 4]);
        assert_eq!(shape_of(OpKind::Max, &[f(&[5])], Attrs::new()), vec![5]);
        let ins = [f(&[3, 1]), f(&[4]), f(&[2])];
        expect_err(
            OpKind::Min,
            &ins,
            Attrs::new(),
            &["operand `x#2` with shape [2]", "operands before it (shape [3, 4])"],
        );
        expect_err(OpKind::Sum, &[], Attrs::new(), &["takes at least 1 operand(s), found 0"]);
    }

    #[test]
    fn pow_keeps_base_dtype() {
        let out = run(OpKind::Pow, &[f(&[2, 3]), t(DType::I64, &[1])], Attrs::new()).unwrap();
        assert_eq!(out, vec![f(&[2, 3])]);
        let out = run(OpKind::Pow, &[t(DType::I32, &[3]), f(&[])], Attrs::new()).unwrap();
        assert_eq!(out, vec![t(DType::I32, &[3])]);
        expect_err(OpKind::Pow, &[f(&[3]), f(&[2])], Attrs::new(), &["`b` with shape [2]"]);
        expect_err(OpKind::Pow, &[f(&[3]), t(DType::Bool, &[3])], Attrs::new(), &["`b` is bool"]);
    }

    #[test]
    fn comparisons_give_bool() {
        let out = run(OpKind::Less, &[f(&[2, 1]), f(&[3])], Attrs::new()).unwrap();
        assert_eq!(out, vec![t(DType::Bool, &[2, 3])]);
        let b = t(DType::Bool, &[4]);
        let out = run(OpKind::Equal, &[b.clone(), b.clone()], Attrs::new()).unwrap();
        assert_eq!(out, vec![b.clone()]);
        expect_err(
            OpKind::Greater,
            &[b.clone(), b],
            Attrs::new(),
            &["greater: operand `a` is bool"],
        );
        expect_err(
            OpKind::Equal,
            &[t(DType::I64, &[2]), t(DType::I32, &[2])],
            Attrs::new(),
            &["operand `b` is i32 but operand `a` is i64"],
        );
        let f8 = t(DType::F8E5M2, &[2]);
        expect_err(OpKind::Equal, &[f8.clone(), f8], Attrs::new(), &["`a` is f8e5m2"]);
    }

    #[test]
    fn affine_rule() {
        let act = |name: &str| Attrs::new().with("activation", crate::Attr::Str(name.into()));
        let out = run(OpKind::Affine, &[f(&[1, 3, 2, 2]), f(&[3, 1, 1]), f(&[])], act("relu"));
        assert_eq!(out.unwrap(), vec![f(&[1, 3, 2, 2])]);
        let x = f(&[1, 3, 2, 2]);
        expect_err(
            OpKind::Affine,
            &[x.clone(), f(&[2, 3, 1, 1]), f(&[])],
            Attrs::new(),
            &["operand `scale` with shape [2, 3, 1, 1] does not broadcast to `x`"],
        );
        expect_err(
            OpKind::Affine,
            &[x.clone(), f(&[3, 1, 1]), t(DType::F64, &[])],
            Attrs::new(),
            &["`shift` is f64"],
        );
        expect_err(OpKind::Affine, &[x.clone(), f(&[]), f(&[])], act("swish"), &["\"swish\""]);
        let i = t(DType::I32, &[2]);
        expect_err(OpKind::Affine, &[i.clone(), i.clone(), i], Attrs::new(), &["`x` is i32"]);
    }

    #[test]
    fn where_rule() {
        let c = t(DType::Bool, &[2, 1]);
        let out = run(OpKind::Where, &[c.clone(), f(&[3]), f(&[])], Attrs::new()).unwrap();
        assert_eq!(out, vec![f(&[2, 3])]);
        expect_err(
            OpKind::Where,
            &[f(&[2]), f(&[2]), f(&[2])],
            Attrs::new(),
            &["where: operand `cond` is f32, expected bool"],
        );
        expect_err(
            OpKind::Where,
            &[c.clone(), t(DType::I64, &[1]), f(&[1])],
            Attrs::new(),
            &["operand `b` is f32 but operand `a` is i64"],
        );
        expect_err(OpKind::Where, &[c, f(&[3]), f(&[4])], Attrs::new(), &["`b` with shape [4]"]);
    }
}
