//! The e-graph language of `fuse`: the fusible subset of the IR, and the side tables that
//! give its leaves meaning.
//!
//! Terms (children in brackets are e-classes):
//! - compute: `(conv ?geom ?x ?w ?b ?act)`, `(conv_transpose ?geom ?x ?w ?b ?act)`,
//!   `(gemm ?geom ?x ?w ?c ?act)`, `(matmul ?x ?w ?bias ?act)`; `?geom` is a key (`k3`)
//!   naming the node's other attributes, `?b` is a value or `nobias`;
//! - pooling and padding: `(max_pool ?geom ?x)`, `(avg_pool ?geom ?x)`, `(pad ?attrs ?x)`;
//! - elementwise: `(add ?a ?b)`, `(relu ?x)`, `(leaky_relu ?alpha ?x)`,
//!   `(clip ?min ?max ?x)`, `(sigmoid ?x)`, `(hard_swish ?x)`, `(gelu ?x)`, `(gelu_tanh ?x)`,
//!   and `(mul ?a ?b)`, `(div ?a ?b)`, `(erf ?x)` (only so that the exporters' spelling of
//!   gelu, `0.5·x·(1 + erf(x/√2))`, can be recognised, and for elementwise chains by
//!   constants), `(affine ?x ?scale ?shift ?act)` (the IR's `affine`);
//! - activation descriptors (the `activation` attribute): `act-none`, `act-relu`,
//!   `(act-leaky ?alpha)`, `(act-clip ?min ?max)`, `act-sigmoid`, `act-hard-swish`,
//!   `act-gelu`, `act-gelu-tanh`;
//! - deferred arithmetic, evaluated when the graph is rebuilt: `(fold-pad ?geom ?pad)` (the
//!   geometry with the pad's spatial pads added) and `(bias-add ?b ?c)` (a per-channel
//!   constant added to a bias); `(with-skip ?b ?s)` in a conv's bias slot is its bias `?b`
//!   plus the residual `?s` (the `skip` operand); `(const-mul ?a ?b)` and `(const-add ?a ?b)`
//!   are the product and sum of two constants (broadcasting), computed into a new constant;
//! - leaves: `v12` (IR value 12, computed outside the term), `k3` (attribute set 3 of the
//!   side table), `n3f800000` (an f32 given by its bits).
//!
//! Every value with one user that is itself fusible becomes a child term; any other value
//! (several users, a graph output, produced or consumed by an op outside the subset) is a
//! leaf, so each term is a tree and extraction is exact. This file does not rewrite.

use asplit_ir::activation::Activation;
use asplit_ir::attr::Attrs;
use asplit_ir::graph::{Graph, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::shape::broadcast_shapes;
use asplit_ir::tensor::Tensor;
use asplit_ir::types::TensorType;
use egg::{Analysis, DidMerge, EGraph, Id};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A leaf of the language.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leaf {
    /// An IR value (the arena index).
    Value(u32),
    /// An attribute set of [`Side::keys`].
    Key(u32),
    /// An f32 parameter, by its bits.
    Num(u32),
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leaf::Value(v) => write!(f, "v{v}"),
            Leaf::Key(k) => write!(f, "k{k}"),
            Leaf::Num(b) => write!(f, "n{b:x}"),
        }
    }
}

impl FromStr for Leaf {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a leaf");
        let (head, rest) = s.split_at(s.chars().next().map(char::len_utf8).ok_or_else(bad)?);
        match head {
            "v" => rest.parse().map(Leaf::Value).map_err(|_| bad()),
            "k" => rest.parse().map(Leaf::Key).map_err(|_| bad()),
            "n" => u32::from_str_radix(rest, 16).map(Leaf::Num).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

pub use language::FuseLang;

mod language {
    #![allow(missing_docs)]
    use super::Leaf;
    use egg::{define_language, Id};

    define_language! {
    /// The fusible subset (see the module doc).
    pub enum FuseLang {
        "conv" = Conv([Id; 5]),
        "conv_transpose" = ConvTranspose([Id; 5]),
        "affine" = Affine([Id; 4]),
        "gemm" = Gemm([Id; 5]),
        "matmul" = MatMul([Id; 4]),
        "max_pool" = MaxPool([Id; 2]),
        "avg_pool" = AvgPool([Id; 2]),
        "pad" = Pad([Id; 2]),
        "add" = Add([Id; 2]),
        "relu" = Relu(Id),
        "leaky_relu" = LeakyRelu([Id; 2]),
        "clip" = Clip([Id; 3]),
        "sigmoid" = Sigmoid(Id),
        "hard_swish" = HardSwish(Id),
        "gelu" = Gelu(Id),
        "gelu_tanh" = GeluTanh(Id),
        "mul" = Mul([Id; 2]),
        "div" = Div([Id; 2]),
        "erf" = Erf(Id),
        "act-none" = ActNone,
        "act-relu" = ActRelu,
        "act-leaky" = ActLeaky(Id),
        "act-clip" = ActClip([Id; 2]),
        "act-sigmoid" = ActSigmoid,
        "act-hard-swish" = ActHardSwish,
        "act-gelu" = ActGelu,
        "act-gelu-tanh" = ActGeluTanh,
        "nobias" = NoBias,
        "fold-pad" = FoldPad([Id; 2]),
        "bias-add" = BiasAdd([Id; 2]),
        "with-skip" = WithSkip([Id; 2]),
        "const-mul" = ConstMul([Id; 2]),
        "const-add" = ConstAdd([Id; 2]),
        Leaf(Leaf),
    }
    }
}

/// What the leaves stand for: value types and constants, and attribute sets.
#[derive(Clone, Debug, Default)]
pub struct Side {
    /// Type of every value of the graph, by arena index.
    pub types: Vec<TensorType>,
    /// Constant contents, by arena index (`None` for non-constants).
    pub consts: Vec<Option<Arc<Tensor>>>,
    /// Attribute sets named by `k<i>` leaves: the op they belong to and its attributes
    /// (without `activation`/`activation_params`, which are terms).
    pub keys: Vec<(OpKind, Attrs)>,
}

impl Side {
    /// Types and constants of every value of `g`; no keys yet.
    pub fn of_graph(g: &Graph) -> Side {
        let mut consts = vec![None; g.values.len()];
        for (_, node) in g.live_nodes() {
            if node.op == OpKind::Const {
                if let (Some(&v), Ok(t)) = (node.outputs.first(), node.attrs.tensor("value")) {
                    consts[v.as_u32() as usize] = Some(t.clone());
                }
            }
        }
        let types = g.values.values().map(|d| d.ty.clone()).collect();
        Side { types, consts, keys: Vec::new() }
    }

    /// Registers an attribute set; returns its leaf.
    pub fn key(&mut self, op: OpKind, attrs: Attrs) -> Leaf {
        self.keys.push((op, attrs));
        Leaf::Key(self.keys.len() as u32 - 1)
    }

    /// The type of value leaf `v`.
    pub fn ty(&self, v: u32) -> Option<&TensorType> {
        self.types.get(v as usize)
    }

    /// The constant behind value leaf `v`.
    pub fn constant(&self, v: u32) -> Option<&Arc<Tensor>> {
        self.consts.get(v as usize).and_then(Option::as_ref)
    }

    /// The attribute set behind key `k`.
    pub fn attrs(&self, k: u32) -> Option<&(OpKind, Attrs)> {
        self.keys.get(k as usize)
    }
}

/// The e-class analysis: the IR type of a class, when known (leaves and every class made
/// from an IR value; rewrites union new terms into those classes; a new `add`, `mul`,
/// `div`, `const-mul` or `const-add` gets the broadcast of its operands' types).
#[derive(Clone, Debug, Default)]
pub struct Types {
    /// The side tables.
    pub side: Arc<Side>,
}

impl Analysis<FuseLang> for Types {
    type Data = Option<TensorType>;

    fn make(egraph: &mut EGraph<FuseLang, Self>, enode: &FuseLang, _id: Id) -> Self::Data {
        match enode {
            FuseLang::Leaf(Leaf::Value(v)) => egraph.analysis.side.ty(*v).cloned(),
            FuseLang::Add([a, b])
            | FuseLang::Mul([a, b])
            | FuseLang::Div([a, b])
            | FuseLang::ConstMul([a, b])
            | FuseLang::ConstAdd([a, b]) => {
                let (ta, tb) = (egraph[*a].data.as_ref()?, egraph[*b].data.as_ref()?);
                let shape = broadcast_shapes(&ta.shape, &tb.shape)?;
                (ta.dtype == tb.dtype).then(|| TensorType::new(ta.dtype, shape))
            }
            _ => None,
        }
    }

    fn merge(&mut self, to: &mut Self::Data, from: Self::Data) -> DidMerge {
        match (to.is_none(), from) {
            (true, Some(f)) => {
                *to = Some(f);
                DidMerge(true, false)
            }
            (true, None) => DidMerge(false, false),
            (false, f) => DidMerge(false, f.is_none()),
        }
    }
}

/// The graph's e-graph.
pub type FuseGraph = EGraph<FuseLang, Types>;

/// The leaf of class `id`, if it holds one.
pub fn leaf_of(egraph: &FuseGraph, id: Id) -> Option<Leaf> {
    egraph[id].nodes.iter().find_map(|n| match n {
        FuseLang::Leaf(l) => Some(*l),
        _ => None,
    })
}

/// An f32 parameter leaf.
pub fn num(v: f32) -> FuseLang {
    FuseLang::Leaf(Leaf::Num(v.to_bits()))
}

/// Adds the activation descriptor of `act` to the e-graph.
pub fn add_activation(egraph: &mut FuseGraph, act: Activation) -> Id {
    match act {
        Activation::None => egraph.add(FuseLang::ActNone),
        Activation::Relu => egraph.add(FuseLang::ActRelu),
        Activation::LeakyRelu { alpha } => {
            let a = egraph.add(num(alpha));
            egraph.add(FuseLang::ActLeaky(a))
        }
        Activation::Clip { min, max } => {
            let lo = egraph.add(num(min));
            let hi = egraph.add(num(max));
            egraph.add(FuseLang::ActClip([lo, hi]))
        }
        Activation::Sigmoid => egraph.add(FuseLang::ActSigmoid),
        Activation::HardSwish => egraph.add(FuseLang::ActHardSwish),
        Activation::Gelu { tanh: false } => egraph.add(FuseLang::ActGelu),
        Activation::Gelu { tanh: true } => egraph.add(FuseLang::ActGeluTanh),
    }
}

/// Class `id` is a constant: a value leaf backed by a `const`, or a `const-mul` /
/// `const-add` (whose operands are constants by construction).
pub fn is_constant(egraph: &FuseGraph, id: Id) -> bool {
    egraph[id].nodes.iter().any(|n| match n {
        FuseLang::Leaf(Leaf::Value(v)) => egraph.analysis.side.constant(*v).is_some(),
        FuseLang::ConstMul(_) | FuseLang::ConstAdd(_) => true,
        _ => false,
    })
}

/// The value id a value leaf names in `g`, if it exists.
pub fn value_of(g: &Graph, v: u32) -> Option<ValueId> {
    let id = ValueId::from_u32(v);
    g.values.get(id).map(|_| id)
}
