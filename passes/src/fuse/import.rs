//! From the IR to the e-graph: one term per *root* value (see [`super::lang`]), sharing
//! leaves. It records, per root, the class and the original term, so the rebuild can skip
//! roots whose best term did not change. It does not modify the graph.

use super::lang::{add_activation, num, FuseGraph, FuseLang, Leaf, Side, Types};
use crate::rewrite::use_counts;
use asplit_ir::activation::{Activation, ACTIVATION, ACTIVATION_PARAMS};
use asplit_ir::attr::Attrs;
use asplit_ir::graph::{Graph, NodeData, ValueId};
use asplit_ir::ops::OpKind;
use egg::{Id, RecExpr};
use std::collections::HashMap;
use std::sync::Arc;

/// A value whose term is extracted and rebuilt.
#[derive(Clone, Debug)]
pub struct Root {
    /// The value.
    pub value: ValueId,
    /// Its e-class.
    pub class: Id,
    /// Its term before rewriting.
    pub original: RecExpr<FuseLang>,
}

/// The e-graph of `g` and its roots, in graph order.
pub fn import(g: &Graph) -> (FuseGraph, Vec<Root>) {
    let mut side = Side::of_graph(g);
    let uses = use_counts(g);
    let fusible: Vec<bool> = g.live_nodes().map(|(_, n)| is_fusible(n)).collect();
    let mut fusible_value: HashMap<ValueId, bool> = HashMap::new();
    for ((_, n), &f) in g.live_nodes().zip(&fusible) {
        for &v in &n.outputs {
            fusible_value.insert(v, f);
        }
    }
    // A fusible value read once by a fusible node (and not a graph output) is internal.
    let mut internal: HashMap<ValueId, bool> = HashMap::new();
    for ((_, n), &f) in g.live_nodes().zip(&fusible) {
        for &v in &n.inputs {
            let single = uses.get(&v) == Some(&1) && !g.outputs.contains(&v);
            if f && single && fusible_value.get(&v) == Some(&true) {
                internal.insert(v, true);
            }
        }
    }
    // Attribute keys first (the analysis shares the side tables once built).
    let mut keys: HashMap<ValueId, Leaf> = HashMap::new();
    for ((_, n), &f) in g.live_nodes().zip(&fusible) {
        if f && has_key(n.op) {
            let mut attrs = n.attrs.clone();
            attrs_without_activation(&mut attrs);
            keys.insert(n.outputs[0], side.key(n.op, attrs));
        }
    }
    let mut eg = FuseGraph::new(Types { side: Arc::new(side) });
    let mut class: HashMap<ValueId, Id> = HashMap::new();
    let mut roots = Vec::new();
    for ((_, n), &f) in g.live_nodes().zip(&fusible) {
        if !f {
            continue;
        }
        let y = n.outputs[0];
        let operand = |eg: &mut FuseGraph, v: ValueId| match (internal.get(&v), class.get(&v)) {
            (Some(true), Some(&id)) => id,
            _ => eg.add(FuseLang::Leaf(Leaf::Value(v.as_u32()))),
        };
        let id = add_node(&mut eg, n, keys.get(&y).copied(), operand);
        eg.set_analysis_data(id, Some(g.ty(y).clone()));
        class.insert(y, id);
        if internal.get(&y) != Some(&true) {
            roots.push(Root { value: y, class: id, original: RecExpr::default() });
        }
    }
    eg.rebuild();
    for r in &mut roots {
        r.class = eg.find(r.class);
        r.original = eg.id_to_expr(r.class);
    }
    (eg, roots)
}

fn has_key(op: OpKind) -> bool {
    matches!(
        op,
        OpKind::Conv
            | OpKind::ConvTranspose
            | OpKind::Gemm
            | OpKind::MaxPool
            | OpKind::AvgPool
            | OpKind::Pad
    )
}

/// Removes the attributes that the terms carry as `act-*` children.
pub fn attrs_without_activation(attrs: &mut Attrs) {
    let mut out = Attrs::new();
    for (k, v) in attrs.iter() {
        if k != ACTIVATION && k != ACTIVATION_PARAMS {
            out.set(k, v.clone());
        }
    }
    *attrs = out;
}

/// Nodes the language covers (one result, valid activations); a two-operand `sum` is read
/// as `add` (and written back as one if its term changes).
fn is_fusible(n: &NodeData) -> bool {
    let one = n.outputs.len() == 1 && n.inputs.len() >= n.op.def().min_operands().max(1);
    let act_ok = Activation::from_attrs(&n.attrs).is_ok();
    one && act_ok
        && match n.op {
            OpKind::Conv | OpKind::ConvTranspose | OpKind::Gemm | OpKind::MatMul => true,
            OpKind::Pad | OpKind::AvgPool | OpKind::Affine => true,
            OpKind::MaxPool => n.attrs.int("indices").unwrap_or(0) == 0,
            OpKind::Add | OpKind::Mul | OpKind::Div | OpKind::Erf => true,
            // ONNX Sum of two (ResNet's residual) is an add.
            OpKind::Sum => n.inputs.len() == 2,
            op => Activation::from_unary(op, &n.attrs).is_some(),
        }
}

/// Adds the term of one fusible node whose operands map to classes through `operand`.
fn add_node(
    eg: &mut FuseGraph,
    n: &NodeData,
    key: Option<Leaf>,
    mut operand: impl FnMut(&mut FuseGraph, ValueId) -> Id,
) -> Id {
    let mut ops: Vec<Id> = n.inputs.iter().map(|&v| operand(eg, v)).collect();
    let key = || eg_key(key);
    let act = Activation::from_attrs(&n.attrs).unwrap_or(Activation::None);
    match n.op {
        OpKind::Conv | OpKind::ConvTranspose | OpKind::Gemm | OpKind::MatMul => {
            let bias = match (ops.get(2), ops.get(3)) {
                (Some(&b), Some(&skip)) => eg.add(FuseLang::WithSkip([b, skip])),
                (Some(&b), None) => b,
                _ => eg.add(FuseLang::NoBias),
            };
            ops.resize(2, bias);
            let a = add_activation(eg, act);
            let [x, w] = [ops[0], ops[1]];
            match n.op {
                OpKind::Conv => {
                    let k = eg.add(key());
                    eg.add(FuseLang::Conv([k, x, w, bias, a]))
                }
                OpKind::ConvTranspose => {
                    let k = eg.add(key());
                    eg.add(FuseLang::ConvTranspose([k, x, w, bias, a]))
                }
                OpKind::Gemm => {
                    let k = eg.add(key());
                    eg.add(FuseLang::Gemm([k, x, w, bias, a]))
                }
                _ => eg.add(FuseLang::MatMul([x, w, bias, a])),
            }
        }
        OpKind::MaxPool | OpKind::AvgPool | OpKind::Pad => {
            let k = eg.add(key());
            let node = match n.op {
                OpKind::MaxPool => FuseLang::MaxPool([k, ops[0]]),
                OpKind::AvgPool => FuseLang::AvgPool([k, ops[0]]),
                _ => FuseLang::Pad([k, ops[0]]),
            };
            eg.add(node)
        }
        OpKind::Affine => {
            let a = add_activation(eg, act);
            eg.add(FuseLang::Affine([ops[0], ops[1], ops[2], a]))
        }
        OpKind::Add | OpKind::Sum => eg.add(FuseLang::Add([ops[0], ops[1]])),
        OpKind::Mul => eg.add(FuseLang::Mul([ops[0], ops[1]])),
        OpKind::Div => eg.add(FuseLang::Div([ops[0], ops[1]])),
        OpKind::Erf => eg.add(FuseLang::Erf(ops[0])),
        op => {
            let x = ops[0];
            match Activation::from_unary(op, &n.attrs) {
                Some(Activation::LeakyRelu { alpha }) => {
                    let a = eg.add(num(alpha));
                    eg.add(FuseLang::LeakyRelu([a, x]))
                }
                Some(Activation::Clip { min, max }) => {
                    let lo = eg.add(num(min));
                    let hi = eg.add(num(max));
                    eg.add(FuseLang::Clip([lo, hi, x]))
                }
                Some(Activation::Sigmoid) => eg.add(FuseLang::Sigmoid(x)),
                Some(Activation::HardSwish) => eg.add(FuseLang::HardSwish(x)),
                Some(Activation::Gelu { tanh: false }) => eg.add(FuseLang::Gelu(x)),
                Some(Activation::Gelu { tanh: true }) => eg.add(FuseLang::GeluTanh(x)),
                _ => eg.add(FuseLang::Relu(x)),
            }
        }
    }
}

fn eg_key(key: Option<Leaf>) -> FuseLang {
    FuseLang::Leaf(key.unwrap_or(Leaf::Key(u32::MAX)))
}
