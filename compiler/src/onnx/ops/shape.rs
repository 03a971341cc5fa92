//! Shape-changing ops that become `reshape`, `transpose`, `expand` or constants: Reshape,
//! Flatten, Squeeze, Unsqueeze, Transpose, Expand, Shape, ConstantOfShape, Constant.
//!
//! Reshape's `0` (copy the input dim, unless `allowzero`) and `-1` (inferred) are resolved
//! here, so the IR's `reshape.shape` is the exact output shape; Flatten, Squeeze and
//! Unsqueeze are reshapes; Expand's shape is broadcast against the input into the output
//! shape. Shape and ConstantOfShape produce constants directly. Axes come from attributes
//! before opset 13 and from constant inputs after.

use super::super::cx::NodeCx;
use super::super::error::ImportError;
use super::super::tensor::{numel, tensor_from_proto_as};
use super::{ints, product};
use asplit_ir::{Attr, Attrs, OpKind, Tensor, TensorType, ValueId};

fn reshape_to(cx: &mut NodeCx, x: ValueId, shape: Vec<usize>) -> Result<Vec<ValueId>, ImportError> {
    Ok(vec![cx.emit(OpKind::Reshape, Attrs::new().with("shape", ints(shape)), vec![x])?])
}

/// Importer: Reshape.
pub(crate) fn import_reshape(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let spec = cx
        .const_ints(1, "shape")?
        .ok_or_else(|| cx.invalid("required input #1 (`shape`) is missing"))?;
    let allowzero = cx.attrs.int_or("allowzero", 0)? != 0;
    let shape = resolve_reshape(cx, &cx.ty(x).shape, &spec, allowzero)?;
    reshape_to(cx, x, shape)
}

/// Resolves ONNX Reshape's `0` and `-1` entries against the input shape.
fn resolve_reshape(
    cx: &NodeCx,
    input: &[usize],
    spec: &[i64],
    allowzero: bool,
) -> Result<Vec<usize>, ImportError> {
    let bad = |why: String| cx.invalid(format!("cannot reshape {input:?} to {spec:?}: {why}"));
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        out.push(match d {
            -1 if infer.is_some() => return Err(bad("more than one -1".into())),
            -1 => {
                infer = Some(i);
                1
            }
            0 if !allowzero => *input.get(i).ok_or_else(|| {
                bad(format!("entry {i} is 0 (copy), but the input has rank {}", input.len()))
            })?,
            d if d < 0 => return Err(bad(format!("entry {i} is negative"))),
            d => usize::try_from(d).map_err(|_| bad(format!("entry {i} is too large")))?,
        });
    }
    if let Some(i) = infer {
        if allowzero && out.contains(&0) {
            return Err(bad("-1 together with 0 under allowzero".into()));
        }
        let total = numel(input).ok_or_else(|| bad("the input size overflows".into()))?;
        let known = numel(&out).ok_or_else(|| bad("the output size overflows".into()))?;
        if known == 0 || total % known != 0 {
            return Err(bad(format!("{total} elements cannot be split into blocks of {known}")));
        }
        out[i] = total / known;
    }
    Ok(out)
}

/// Importer: Flatten.
pub(crate) fn import_flatten(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "input")?;
    let shape = cx.ty(x).shape.clone();
    let axis = cx.attrs.int_or("axis", 1)?;
    // Flatten's axis ranges over [-r, r] (negative counts from r; r keeps everything in the
    // first dimension).
    let r = shape.len() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if !(0..=r).contains(&a) {
        return Err(cx.attr_err("axis", format!("axis {axis} is out of range for rank {r}")));
    }
    let axis = a as usize;
    let rows = product(cx, &shape[..axis])?;
    let cols = product(cx, &shape[axis..])?;
    reshape_to(cx, x, vec![rows, cols])
}

/// Axes from the `axes` attribute (opset < 13) or the constant `axes` input (≥ 13).
fn axes_param(cx: &NodeCx) -> Result<Option<Vec<i64>>, ImportError> {
    if cx.opset() < 13 {
        Ok(cx.attrs.ints("axes")?.map(<[i64]>::to_vec))
    } else {
        cx.const_ints(1, "axes")
    }
}

/// Importer: Squeeze.
pub(crate) fn import_squeeze(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let shape = cx.ty(x).shape.clone();
    let out: Vec<usize> = match axes_param(cx)? {
        None => shape.iter().copied().filter(|&d| d != 1).collect(),
        Some(axes) => {
            let axes = cx.input_axes("axes", &axes, shape.len())?;
            if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
                return Err(
                    cx.invalid(format!("cannot squeeze axis {a} of {shape:?}: its size is not 1"))
                );
            }
            shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
        }
    };
    reshape_to(cx, x, out)
}

/// Importer: Unsqueeze.
pub(crate) fn import_unsqueeze(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let shape = cx.ty(x).shape.clone();
    let axes = axes_param(cx)?.ok_or_else(|| {
        if cx.opset() < 13 {
            cx.attr_err("axes", "required attribute is missing")
        } else {
            cx.invalid("required input #1 (`axes`) is missing")
        }
    })?;
    let rank = shape.len() + axes.len();
    let axes = cx.input_axes("axes", &axes, rank)?;
    let mut rest = shape.iter();
    let out = (0..rank)
        .map(|i| if axes.contains(&i) { 1 } else { rest.next().copied().unwrap_or(1) })
        .collect();
    reshape_to(cx, x, out)
}

/// Importer: Transpose (default perm reverses the axes).
pub(crate) fn import_transpose(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let rank = cx.ty(x).rank();
    let perm = match cx.attrs.ints("perm")? {
        Some(p) => {
            let mut seen: Vec<i64> = p.to_vec();
            seen.sort_unstable();
            if seen != (0..rank as i64).collect::<Vec<_>>() {
                return Err(cx.attr_err("perm", format!("{p:?} is not a permutation of 0..{rank}")));
            }
            p.to_vec()
        }
        None => (0..rank as i64).rev().collect(),
    };
    Ok(vec![cx.emit(OpKind::Transpose, Attrs::new().with("perm", Attr::Ints(perm)), vec![x])?])
}

/// Importer: Expand (the output shape is the broadcast of input and `shape`).
pub(crate) fn import_expand(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "input")?;
    let spec = cx
        .const_ints(1, "shape")?
        .ok_or_else(|| cx.invalid("required input #1 (`shape`) is missing"))?;
    let input = cx.ty(x).shape.clone();
    let out = broadcast(&input, &spec).ok_or_else(|| {
        cx.invalid(format!("cannot expand {input:?} to {spec:?}: the shapes do not broadcast"))
    })?;
    Ok(vec![cx.emit(OpKind::Expand, Attrs::new().with("shape", ints(out)), vec![x])?])
}

/// Numpy broadcast of two shapes, `None` when incompatible.
fn broadcast(a: &[usize], b: &[i64]) -> Option<Vec<usize>> {
    let b: Vec<usize> = b.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>()?;
    let r = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| if i + s.len() < r { 1 } else { s[i + s.len() - r] };
    (0..r)
        .map(|i| match (dim(a, i), dim(&b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// Importer: Shape (start/end from opset 15) → an i64 constant.
pub(crate) fn import_shape(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let x = cx.input(0, "data")?;
    let shape = cx.ty(x).shape.clone();
    let r = shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(cx.attrs.int_or("start", 0)?);
    let end = clamp(cx.attrs.int_or("end", r)?);
    let dims: Vec<i64> =
        shape.get(start..end.max(start)).unwrap_or(&[]).iter().map(|&d| d as i64).collect();
    let t = Tensor::from_i64([dims.len()], dims).map_err(|e| cx.invalid(e.to_string()))?;
    Ok(vec![cx.add_const(t)])
}

/// Importer: ConstantOfShape (`value` defaults to f32 0).
pub(crate) fn import_constant_of_shape(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    let dims = cx
        .const_ints(0, "input")?
        .ok_or_else(|| cx.invalid("required input #0 (`input`) is missing"))?;
    let shape = dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| cx.invalid(format!("shape {dims:?} has a negative dimension")))?;
    let value = match cx.attrs.tensor("value")? {
        Some(p) => {
            let what = format!("attribute `value` of {}", cx.loc);
            tensor_from_proto_as(p, cx.base_dir(), &what)?
        }
        None => Tensor::from_f32([1], vec![0.0]).map_err(|e| cx.invalid(e.to_string()))?,
    };
    if value.numel() != 1 {
        return Err(cx.attr_err("value", format!("should hold one element, found {}", value.ty())));
    }
    let ty = TensorType::new(value.dtype(), shape);
    cx.reserve_const(&ty, "the ConstantOfShape result")?;
    let t = splat_like(&value, &ty).map_err(|e| cx.invalid(e))?;
    Ok(vec![cx.add_const(t)])
}

/// A tensor of type `ty` whose every element is the (single) element of `one`, bit-exact.
pub(crate) fn splat_like(one: &Tensor, ty: &TensorType) -> Result<Tensor, String> {
    let n = numel(&ty.shape).ok_or("the element count overflows")?;
    if one.numel() != 1 {
        return Err(format!("a splat needs one element, found {}", one.numel()));
    }
    Tensor::new(ty.shape.clone(), one.data().repeated(n)).map_err(|e| e.to_string())
}

/// Importer: Constant.
pub(crate) fn import_constant(cx: &mut NodeCx) -> Result<Vec<ValueId>, ImportError> {
    const FORMS: &[&str] = &[
        "value",
        "value_float",
        "value_floats",
        "value_int",
        "value_ints",
        "value_string",
        "value_strings",
        "sparse_value",
    ];
    let given: Vec<&str> = FORMS.iter().copied().filter(|f| cx.attrs.has(f)).collect();
    let [form] = given.as_slice() else {
        return Err(cx.invalid(format!(
            "needs exactly one of the attributes {}, found {}",
            FORMS.join(", "),
            if given.is_empty() { "none".to_string() } else { given.join(", ") }
        )));
    };
    let bad = |e: asplit_ir::tensor::TensorError| cx.invalid(e.to_string());
    let t = match *form {
        "value" => {
            let p =
                cx.attrs.tensor("value")?.ok_or_else(|| cx.attr_err("value", "holds no tensor"))?;
            tensor_from_proto_as(p, cx.base_dir(), &format!("attribute `value` of {}", cx.loc))?
        }
        "value_float" => {
            let v = cx.attrs.float("value_float")?.unwrap_or_default();
            Tensor::from_f32([], vec![v]).map_err(bad)?
        }
        "value_floats" => {
            let v = cx.attrs.floats("value_floats")?.unwrap_or_default().to_vec();
            Tensor::from_f32([v.len()], v).map_err(bad)?
        }
        "value_int" => Tensor::from_i64([], vec![cx.attrs.int("value_int")?.unwrap_or_default()])
            .map_err(bad)?,
        "value_ints" => {
            let v = cx.attrs.ints("value_ints")?.unwrap_or_default().to_vec();
            Tensor::from_i64([v.len()], v).map_err(bad)?
        }
        "sparse_value" => return Err(cx.unsupported("a sparse tensor (`sparse_value`)")),
        other => {
            return Err(ImportError::UnsupportedDtype {
                what: format!("attribute `{other}` of {}", cx.loc),
                dtype: "STRING".into(),
            })
        }
    };
    Ok(vec![cx.add_const(t)])
}
