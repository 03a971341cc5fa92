//! From extracted terms back to the IR: emits the nodes of a root's best term and
//! evaluates the deferred arithmetic (`fold-pad`, `bias-add`, and `const-mul` / `const-add`
//! with the interpreter's `mul` / `add` kernels into new constants). New nodes are appended; the
//! caller redirects the root's uses and restores topological order. It does not decide
//! what to extract.

use super::lang::{FuseLang, Leaf, Side};
use crate::pass::PassError;
use asplit_ir::activation::Activation;
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::graph::{Graph, ValueId};
use asplit_ir::interp::eval_node;
use asplit_ir::ops::OpKind;
use asplit_ir::shape::broadcast_shapes;
use asplit_ir::tensor::{Tensor, TensorData};
use asplit_ir::types::{DType, TensorType};
use egg::{Id, RecExpr};
use std::collections::HashMap;

/// What a sub-term stands for.
#[derive(Clone, Debug)]
enum Part {
    /// An IR value.
    Value(ValueId),
    /// An op's attributes (from a key, possibly with folded pads).
    Geom(OpKind, Attrs),
    /// A float parameter.
    Num(f32),
    /// An activation.
    Act(Activation),
    /// No bias operand.
    NoBias,
    /// A per-channel constant to add to a bias (which may be absent).
    BiasAdd(Option<ValueId>, ValueId),
    /// A bias (any of the bias parts) and a conv's `skip` operand.
    WithSkip(Box<Part>, ValueId),
}

fn err(msg: impl Into<String>) -> PassError {
    PassError::failed(format!("fuse: {}", msg.into()))
}

/// Emits the nodes of `expr` into `g`; returns the value of its root. A leaf naming a
/// value in `replaced` (a root already rebuilt) reads its replacement.
pub fn emit(
    g: &mut Graph,
    side: &Side,
    expr: &RecExpr<FuseLang>,
    replaced: &HashMap<ValueId, ValueId>,
) -> Result<ValueId, PassError> {
    let mut parts: Vec<Part> = Vec::with_capacity(expr.len());
    for node in expr.iter() {
        let mut part = emit_node(g, side, node, &parts)?;
        if let (FuseLang::Leaf(Leaf::Value(_)), Part::Value(v)) = (node, &part) {
            if let Some(&r) = replaced.get(v) {
                part = Part::Value(r);
            }
        }
        parts.push(part);
    }
    match parts.pop() {
        Some(Part::Value(v)) => Ok(v),
        other => Err(err(format!("the extracted root is not a value: {other:?}"))),
    }
}

fn get(parts: &[Part], id: Id) -> Result<&Part, PassError> {
    parts.get(usize::from(id)).ok_or_else(|| err("dangling child in an extracted term"))
}

fn value(parts: &[Part], id: Id) -> Result<ValueId, PassError> {
    match get(parts, id)? {
        Part::Value(v) => Ok(*v),
        other => Err(err(format!("expected a value, found {other:?}"))),
    }
}

fn number(parts: &[Part], id: Id) -> Result<f32, PassError> {
    match get(parts, id)? {
        Part::Num(v) => Ok(*v),
        other => Err(err(format!("expected a number, found {other:?}"))),
    }
}

fn geom(parts: &[Part], id: Id) -> Result<(OpKind, Attrs), PassError> {
    match get(parts, id)? {
        Part::Geom(op, a) => Ok((*op, a.clone())),
        other => Err(err(format!("expected attributes, found {other:?}"))),
    }
}

fn act(parts: &[Part], id: Id) -> Result<Activation, PassError> {
    match get(parts, id)? {
        Part::Act(a) => Ok(*a),
        other => Err(err(format!("expected an activation, found {other:?}"))),
    }
}

fn node(g: &mut Graph, op: OpKind, attrs: Attrs, inputs: Vec<ValueId>) -> Result<Part, PassError> {
    let n = g.add_node(op, op.def().with_defaults(attrs), inputs)?;
    Ok(Part::Value(g.nodes[n].outputs[0]))
}

fn unary(g: &mut Graph, a: Activation, x: ValueId) -> Result<Part, PassError> {
    let (op, attrs) = a.as_unary().ok_or_else(|| err("`none` is not a unary op"))?;
    node(g, op, attrs, vec![x])
}

fn emit_node(g: &mut Graph, side: &Side, n: &FuseLang, parts: &[Part]) -> Result<Part, PassError> {
    use FuseLang as L;
    let v = |id: Id| value(parts, id);
    Ok(match n {
        L::Leaf(Leaf::Value(i)) => {
            Part::Value(super::lang::value_of(g, *i).ok_or_else(|| err(format!("no value v{i}")))?)
        }
        L::Leaf(Leaf::Key(k)) => {
            let (op, attrs) = side.attrs(*k).ok_or_else(|| err(format!("no key k{k}")))?;
            Part::Geom(*op, attrs.clone())
        }
        L::Leaf(Leaf::Num(b)) => Part::Num(f32::from_bits(*b)),
        L::ActNone => Part::Act(Activation::None),
        L::ActRelu => Part::Act(Activation::Relu),
        L::ActLeaky(a) => Part::Act(Activation::LeakyRelu { alpha: number(parts, *a)? }),
        L::ActClip([lo, hi]) => {
            Part::Act(Activation::Clip { min: number(parts, *lo)?, max: number(parts, *hi)? })
        }
        L::ActSigmoid => Part::Act(Activation::Sigmoid),
        L::ActHardSwish => Part::Act(Activation::HardSwish),
        L::ActGelu => Part::Act(Activation::Gelu { tanh: false }),
        L::ActGeluTanh => Part::Act(Activation::Gelu { tanh: true }),
        L::NoBias => Part::NoBias,
        L::BiasAdd([b, c]) => {
            let b = match get(parts, *b)? {
                Part::NoBias => None,
                Part::Value(b) => Some(*b),
                other => return Err(err(format!("expected a bias, found {other:?}"))),
            };
            Part::BiasAdd(b, v(*c)?)
        }
        L::WithSkip([b, sk]) => Part::WithSkip(Box::new(get(parts, *b)?.clone()), v(*sk)?),
        L::FoldPad([gm, p]) => fold_pad(geom(parts, *gm)?, geom(parts, *p)?)?,
        L::Relu(x) => unary(g, Activation::Relu, v(*x)?)?,
        L::LeakyRelu([a, x]) => {
            unary(g, Activation::LeakyRelu { alpha: number(parts, *a)? }, v(*x)?)?
        }
        L::Clip([lo, hi, x]) => {
            let a = Activation::Clip { min: number(parts, *lo)?, max: number(parts, *hi)? };
            unary(g, a, v(*x)?)?
        }
        L::Sigmoid(x) => unary(g, Activation::Sigmoid, v(*x)?)?,
        L::HardSwish(x) => unary(g, Activation::HardSwish, v(*x)?)?,
        L::Gelu(x) => unary(g, Activation::Gelu { tanh: false }, v(*x)?)?,
        L::GeluTanh(x) => unary(g, Activation::Gelu { tanh: true }, v(*x)?)?,
        L::ConstMul([a, b]) => const_op(g, OpKind::Mul, v(*a)?, v(*b)?)?,
        L::ConstAdd([a, b]) => const_op(g, OpKind::Add, v(*a)?, v(*b)?)?,
        L::Affine([x, s, t, a]) => {
            let mut attrs = Attrs::new();
            act(parts, *a)?.write(&mut attrs);
            node(g, OpKind::Affine, attrs, vec![v(*x)?, v(*s)?, v(*t)?])?
        }
        L::Add([a, b]) => node(g, OpKind::Add, Attrs::new(), vec![v(*a)?, v(*b)?])?,
        L::Mul([a, b]) => node(g, OpKind::Mul, Attrs::new(), vec![v(*a)?, v(*b)?])?,
        L::Div([a, b]) => node(g, OpKind::Div, Attrs::new(), vec![v(*a)?, v(*b)?])?,
        L::Erf(x) => node(g, OpKind::Erf, Attrs::new(), vec![v(*x)?])?,
        L::Pad([k, x]) | L::MaxPool([k, x]) | L::AvgPool([k, x]) => {
            let (op, attrs) = geom(parts, *k)?;
            node(g, op, attrs, vec![v(*x)?])?
        }
        L::Conv([k, x, w, b, a]) | L::ConvTranspose([k, x, w, b, a]) | L::Gemm([k, x, w, b, a]) => {
            let (op, mut attrs) = geom(parts, *k)?;
            let m = out_channels(g, op, &attrs, v(*w)?);
            act(parts, *a)?.write(&mut attrs);
            let (x, w) = (v(*x)?, v(*w)?);
            let mut inputs = vec![x, w];
            inputs.extend(bias(g, op, m, get(parts, *b)?)?);
            node(g, op, attrs, inputs)?
        }
        L::MatMul([x, w, b, a]) => {
            let mut attrs = Attrs::new();
            act(parts, *a)?.write(&mut attrs);
            let (x, w) = (v(*x)?, v(*w)?);
            let mut inputs = vec![x, w];
            inputs.extend(bias(g, OpKind::MatMul, None, get(parts, *b)?)?);
            node(g, OpKind::MatMul, attrs, inputs)?
        }
    })
}

/// The output channel count of a conv (`w` [M, …]) or conv_transpose (`w` [C, M/group, …]);
/// `None` for other ops or a malformed `w`.
fn out_channels(g: &Graph, op: OpKind, attrs: &Attrs, w: ValueId) -> Option<usize> {
    let sh = &g.ty(w).shape;
    match op {
        OpKind::Conv => sh.first().copied(),
        OpKind::ConvTranspose => {
            let group = usize::try_from(attrs.int("group").unwrap_or(1)).ok()?;
            sh.get(1)?.checked_mul(group)
        }
        _ => None,
    }
}

/// The operands after `x` and `w` of a compute node with `m` output channels (convolutions):
/// its bias (evaluating a `bias-add`) and, for a conv with a `with-skip`, the skip (with a
/// zero bias written when there was none).
fn bias(g: &mut Graph, op: OpKind, m: Option<usize>, b: &Part) -> Result<Vec<ValueId>, PassError> {
    let is_conv = matches!(op, OpKind::Conv | OpKind::ConvTranspose);
    let m = || m.ok_or_else(|| err(format!("`{op}`: unknown output channel count")));
    match b {
        Part::NoBias => Ok(vec![]),
        Part::Value(b) => Ok(vec![*b]),
        Part::BiasAdd(b, c) if is_conv => Ok(vec![bias_add(g, m()?, *b, *c)?]),
        Part::WithSkip(inner, skip) if op == OpKind::Conv => {
            let b = match bias(g, op, Some(m()?), inner)?.as_slice() {
                [] => zero_bias(g, m()?, g.ty(*skip).dtype)?,
                [b] => *b,
                _ => return Err(err("a conv with two skips")),
            };
            Ok(vec![b, *skip])
        }
        other => Err(err(format!("`{op}` cannot take the bias {other:?}"))),
    }
}

/// A zero bias of `m` channels.
fn zero_bias(g: &mut Graph, m: usize, dtype: DType) -> Result<ValueId, PassError> {
    let t = Tensor::new(vec![m], TensorData::F64(vec![0.0; m])).map_err(|e| err(e.to_string()))?;
    Ok(g.add_const(t.cast(dtype)))
}

/// The new constant `a ∘ b` (`op` is `mul` or `add`, broadcasting) of constants `a`, `b`,
/// computed with the interpreter's kernel in their dtype.
fn const_op(g: &mut Graph, op: OpKind, a: ValueId, b: ValueId) -> Result<Part, PassError> {
    let (ta, tb) = match (g.const_value(a), g.const_value(b)) {
        (Some(ta), Some(tb)) => (ta.clone(), tb.clone()),
        _ => return Err(err(format!("`{op}` of non-constants in a const-* term"))),
    };
    let shape = broadcast_shapes(ta.shape(), tb.shape()).ok_or_else(|| {
        err(format!("constants {:?} and {:?} do not broadcast", ta.shape(), tb.shape()))
    })?;
    let ty = TensorType::new(ta.dtype(), shape);
    let mut out =
        eval_node(op, &Attrs::new(), &[&ta, &tb], &[ty]).map_err(|e| err(e.to_string()))?;
    match (out.pop(), out.is_empty()) {
        (Some(t), true) => Ok(Part::Value(g.add_const(t))),
        _ => Err(err(format!("`{op}` of two constants gave other than one result"))),
    }
}

/// The constant bias `b + c` (`b` absent = zero) of a convolution with `m` output channels.
fn bias_add(g: &mut Graph, m: usize, b: Option<ValueId>, c: ValueId) -> Result<ValueId, PassError> {
    let c = g.const_value(c).ok_or_else(|| err("bias-add of a non-constant"))?.clone();
    let cv = c.data().to_f64_vec();
    let base: Vec<f64> = match b {
        Some(b) => {
            let t = g.const_value(b).ok_or_else(|| err("bias-add to a non-constant"))?;
            t.data().to_f64_vec()
        }
        None => vec![0.0; m],
    };
    if base.len() != m || (cv.len() != m && cv.len() != 1) {
        let (nb, nc) = (base.len(), cv.len());
        return Err(err(format!("bias-add of {nb} and {nc} values to {m} channels")));
    }
    let at = |i: usize| if cv.len() == 1 { cv[0] } else { cv[i] };
    let sum: Vec<f64> = base.iter().enumerate().map(|(i, x)| x + at(i)).collect();
    let t = Tensor::new(vec![m], TensorData::F64(sum)).map_err(|e| err(e.to_string()))?;
    Ok(g.add_const(t.cast(c.dtype())))
}

/// The geometry `op` with the spatial pads of `pad` added; an avg_pool then counts the
/// padding (`count_include_pad = 1`).
fn fold_pad(
    (op, mut attrs): (OpKind, Attrs),
    (pop, pattrs): (OpKind, Attrs),
) -> Result<Part, PassError> {
    let pads = attrs.ints("pads").map_err(|e| err(e.to_string()))?.to_vec();
    let pp = pattrs.ints("pads").map_err(|e| err(e.to_string()))?;
    let sp = pads.len() / 2;
    let r = pp.len() / 2;
    if pop != OpKind::Pad || r != sp + 2 {
        return Err(err(format!("cannot fold a {r}-d pad into `{op}` with {sp} spatial axes")));
    }
    let mut out = pads.clone();
    for i in 0..sp {
        out[i] = pads[i] + pp[2 + i];
        out[sp + i] = pads[sp + i] + pp[r + 2 + i];
    }
    attrs.set("pads", Attr::Ints(out));
    if op == OpKind::AvgPool {
        attrs.set("count_include_pad", Attr::Int(1));
    }
    Ok(Part::Geom(op, attrs))
}
