//! Broadcasting arithmetic and comparisons (Add, Sub, Mul, Div, Pow, Equal, Less, Greater,
//! Sum, Max, Min, Where) and the matrix products (MatMul, Gemm).
//!
//! All of these use numpy broadcasting from opset 7 on, which the IR ops implement; opset 6's
//! `broadcast`/`axis` attributes are turned into numpy broadcasting by reshaping B.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::ints;
use asplit_ir::{Attr, Attrs, OpKind, ValueId};

fn binary(cx: &mut NodeCx, op: OpKind) -> Result<Vec<ValueId>, ImportError> {
    let a = cx.input(0, "A")?;
    let b = cx.input(1, "B")?;
    let b = legacy_broadcast(cx, a, b)?;
    Ok(vec![cx.emit(op, Attrs::new(), vec![a, b])?])
}

/// Opset-6 broadcasting (`broadcast=1`, optional `axis`): B's dims line up with A's from
/// `axis` on. Reshaping B with trailing 1s turns that into numpy broadcasting; without
/// `axis` it already is (trailing alignment).
fn legacy_broadcast(cx: &mut NodeCx, a: ValueId, b: ValueId) -> Result<ValueId, ImportError> {
    if cx.opset() >= 7 || cx.attrs.int_or("broadcast", 0)? == 0 {
        return Ok(b);
    }
    let Some(axis) = cx.attrs.int("axis")? else { return Ok(b) };
    let (ra, b_shape) = (cx.ty(a).rank(), cx.ty(b).shape.clone());
    let axis = cx.attr_axis("axis", axis, ra)?;
    let trailing = ra.checked_sub(axis + b_shape.len()).ok_or_else(|| {
        cx.attr_err(
            "axis",
            format!("B ({}) does not fit into A ({}) from axis {axis}", cx.ty(b), cx.ty(a)),
        )
    })?;
    if trailing == 0 {
        return Ok(b);
    }
    let shape: Vec<usize> =
        b_shape.iter().copied().chain(std::iter::repeat_n(1, trailing)).collect();
    cx.emit(OpKind::Reshape, Attrs::new().with("shape", ints(shape)), vec![b])
}

macro_rules! binary_ops {
    ($($fn:ident => $op:ident),* $(,)?) => {$(
        /// Importer (broadcasting binary op).
        pub(crate) fn $fn(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
            binary(cx, OpKind::$op)
        }
    )*};
}
binary_ops!(
    import_add => Add,
    import_sub => Sub,
    import_mul => Mul,
    import_div => Div,
    import_pow => Pow,
    import_equal => Equal,
    import_less => Less,
    import_greater => Greater,
);

fn variadic(cx: &mut NodeCx, op: OpKind) -> Result<Vec<ValueId>, ImportError> {
    let xs = cx.all_inputs("data_0")?;
    Ok(vec![cx.emit(op, Attrs::new(), xs)?])
}

/// Importer: Sum (variadic, broadcasting).
pub(crate) fn import_sum(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    variadic(cx, OpKind::Sum)
}

/// Importer: Max (variadic, broadcasting).
pub(crate) fn import_max(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    variadic(cx, OpKind::Max)
}

/// Importer: Min (variadic, broadcasting).
pub(crate) fn import_min(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    variadic(cx, OpKind::Min)
}

/// Importer: Where.
pub(crate) fn import_where(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let c = cx.input(0, "condition")?;
    let x = cx.input(1, "X")?;
    let y = cx.input(2, "Y")?;
    Ok(vec![cx.emit(OpKind::Where, Attrs::new(), vec![c, x, y])?])
}

/// Importer: MatMul.
pub(crate) fn import_matmul(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let a = cx.input(0, "A")?;
    let b = cx.input(1, "B")?;
    Ok(vec![cx.emit(OpKind::MatMul, Attrs::new(), vec![a, b])?])
}

/// Importer: Gemm (C optional from opset 11; earlier it is required by the spec but
/// accepted as absent here).
pub(crate) fn import_gemm(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let a = cx.input(0, "A")?;
    let b = cx.input(1, "B")?;
    let mut inputs = vec![a, b];
    inputs.extend(cx.opt_input(2));
    let attrs = Attrs::new()
        .with("alpha", Attr::Float(cx.attrs.float_or("alpha", 1.0)?))
        .with("beta", Attr::Float(cx.attrs.float_or("beta", 1.0)?))
        .with("trans_a", Attr::Int(flag(cx, "transA")?))
        .with("trans_b", Attr::Int(flag(cx, "transB")?));
    Ok(vec![cx.emit(OpKind::Gemm, attrs, inputs)?])
}

/// A 0/1 int attribute (default 0).
pub(crate) fn flag(cx: &NodeCx, name: &str) -> Result<i64, ImportError> {
    flag_or(cx, name, 0)
}

/// A 0/1 int attribute with a default.
pub(crate) fn flag_or(cx: &NodeCx, name: &str, default: i64) -> Result<i64, ImportError> {
    match cx.attrs.int_or(name, default)? {
        v @ (0 | 1) => Ok(v),
        v => Err(cx.attr_err(name, format!("should be 0 or 1, found {v}"))),
    }
}
