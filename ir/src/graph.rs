//! The dataflow graph: values and nodes in arenas, with graph inputs and outputs.
//!
//! Values are SSA: each is defined once, by a graph input or by one result of a node.
//! Nodes are kept in `order`, which is a topological order whenever the graph verifies
//! (the builder appends, so a graph built front to back is ordered by construction; passes
//! that insert nodes out of order call [`Graph::toposort`]). Removed nodes stay in the
//! arena but leave `order`; printing renumbers densely, so ids never show in the text.
//!
//! After planning (DESIGN.md §3) a graph carries side data: its [`Phase`], a [`Placement`]
//! (edge or cloud) per live node, and [`QuantParams`] per edge value that the edge
//! quantizes. They live in maps beside the arenas, empty before planning, so nothing that
//! does not plan sees them. Graph inputs are on the edge (the edge device holds the
//! model's inputs); a value is where its producing node is.

use crate::attr::Attrs;
use crate::ops::OpKind;
use crate::quant::QuantParams;
use crate::shape::{ShapeCx, ShapeError};
use crate::tensor::Tensor;
use crate::types::TensorType;
use cranelift_entity::{entity_impl, PrimaryMap};
use std::collections::HashMap;
use std::sync::Arc;

/// A value (an SSA tensor).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(u32);
entity_impl!(ValueId, "%");

/// A node (one op application).
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);
entity_impl!(NodeId, "node");

/// Where a value comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ValueDef {
    /// The i-th graph input.
    Input(usize),
    /// Result `index` of a node.
    Node(NodeId, usize),
}

/// Side data of a value.
#[derive(Clone, Debug)]
pub struct ValueData {
    /// Static type.
    pub ty: TensorType,
    /// Definition.
    pub def: ValueDef,
    /// Source name (ONNX tensor name), if any. Printed only for graph inputs and outputs.
    pub name: Option<String>,
}

/// Side data of a node.
#[derive(Clone, Debug)]
pub struct NodeData {
    /// The op.
    pub op: OpKind,
    /// Static parameters.
    pub attrs: Attrs,
    /// Operands.
    pub inputs: Vec<ValueId>,
    /// Results.
    pub outputs: Vec<ValueId>,
    /// Source name (ONNX node name), for diagnostics; not printed.
    pub name: Option<String>,
}

/// Where a node runs once the graph is planned.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Placement {
    /// On the edge device (quantized).
    Edge,
    /// On the cloud server (float).
    Cloud,
}

impl Placement {
    /// The spelling in `.air` text (after `@`) and plan.json.
    pub fn name(self) -> &'static str {
        match self {
            Placement::Edge => "edge",
            Placement::Cloud => "cloud",
        }
    }

    /// Parses [`Placement::name`].
    pub fn from_name(s: &str) -> Option<Placement> {
        match s {
            "edge" => Some(Placement::Edge),
            "cloud" => Some(Placement::Cloud),
            _ => None,
        }
    }
}

/// How far a graph has gone through planning (DESIGN.md §1). Earlier phases (imported,
/// canonical, fused) are all [`Phase::Dataflow`] here: they differ in which ops appear,
/// not in side data.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Not planned: no placements, no quantization annotations.
    #[default]
    Dataflow,
    /// Every node placed, edge values annotated with their quantization.
    Planned,
    /// Quantization and the boundary are explicit ops (`insert-boundary` ran).
    Split,
}

impl Phase {
    /// The spelling in `.air` text (`phase(planned)`); `None` for [`Phase::Dataflow`],
    /// which prints nothing.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Phase::Dataflow => None,
            Phase::Planned => Some("planned"),
            Phase::Split => Some("split"),
        }
    }

    /// Parses [`Phase::name`].
    pub fn from_name(s: &str) -> Option<Phase> {
        match s {
            "planned" => Some(Phase::Planned),
            "split" => Some(Phase::Split),
            _ => None,
        }
    }
}

/// A dataflow graph.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Graph name (printed after `graph @`).
    pub name: String,
    /// Value arena.
    pub values: PrimaryMap<ValueId, ValueData>,
    /// Node arena (including removed nodes).
    pub nodes: PrimaryMap<NodeId, NodeData>,
    /// Live nodes, in topological order when the graph verifies.
    pub order: Vec<NodeId>,
    /// Graph inputs, in binding order.
    pub inputs: Vec<ValueId>,
    /// Graph outputs, in order (a value may appear more than once).
    pub outputs: Vec<ValueId>,
    /// Planning phase ([`Phase::Dataflow`] until a plan is annotated).
    pub phase: Phase,
    /// Placement of each live node (empty before planning; entries of removed nodes are
    /// ignored).
    pub placement: HashMap<NodeId, Placement>,
    /// Quantization of edge values (graph inputs or node results) in the Planned phase.
    pub quant: HashMap<ValueId, QuantParams>,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Self {
        Graph { name: name.into(), ..Graph::default() }
    }

    /// Appends a graph input.
    pub fn add_input(&mut self, name: Option<String>, ty: TensorType) -> ValueId {
        let def = ValueDef::Input(self.inputs.len());
        let v = self.values.push(ValueData { ty, def, name });
        self.inputs.push(v);
        v
    }

    /// Appends a node whose result types are given (the parser's path; the verifier checks
    /// them). Returns the node.
    pub fn add_node_typed(
        &mut self,
        op: OpKind,
        attrs: Attrs,
        inputs: Vec<ValueId>,
        out_types: Vec<TensorType>,
    ) -> NodeId {
        let node = self.nodes.next_key();
        let outputs = out_types
            .into_iter()
            .enumerate()
            .map(|(i, ty)| {
                self.values.push(ValueData { ty, def: ValueDef::Node(node, i), name: None })
            })
            .collect();
        let n = self.nodes.push(NodeData { op, attrs, inputs, outputs, name: None });
        self.order.push(n);
        n
    }

    /// Appends a node, computing its result types with the op's shape rule.
    pub fn add_node(
        &mut self,
        op: OpKind,
        attrs: Attrs,
        inputs: Vec<ValueId>,
    ) -> Result<NodeId, ShapeError> {
        let tys: Vec<TensorType> = inputs.iter().map(|&v| self.values[v].ty.clone()).collect();
        let out = (op.def().shape)(&ShapeCx { op, inputs: &tys, attrs: &attrs })?;
        Ok(self.add_node_typed(op, attrs, inputs, out))
    }

    /// Appends a `const` node holding `t`; returns its value.
    pub fn add_const(&mut self, t: Tensor) -> ValueId {
        let ty = t.ty();
        let attrs = Attrs::new().with("value", crate::attr::Attr::Tensor(Arc::new(t)));
        let n = self.add_node_typed(OpKind::Const, attrs, vec![], vec![ty]);
        self.nodes[n].outputs[0]
    }

    /// The type of a value.
    pub fn ty(&self, v: ValueId) -> &TensorType {
        &self.values[v].ty
    }

    /// The node defining `v`, if it is not a graph input.
    pub fn producer(&self, v: ValueId) -> Option<NodeId> {
        match self.values[v].def {
            ValueDef::Node(n, _) => Some(n),
            ValueDef::Input(_) => None,
        }
    }

    /// The tensor of `v` if it is defined by a `const` node.
    pub fn const_value(&self, v: ValueId) -> Option<&Arc<Tensor>> {
        let n = self.producer(v)?;
        let node = &self.nodes[n];
        (node.op == OpKind::Const).then(|| node.attrs.tensor("value").ok()).flatten()
    }

    /// Where value `v` lives: graph inputs on the edge, a node result where its node is
    /// placed (`None` when that node has no placement).
    pub fn value_placement(&self, v: ValueId) -> Option<Placement> {
        match self.producer(v) {
            None => Some(Placement::Edge),
            Some(n) => self.placement.get(&n).copied(),
        }
    }

    /// Live nodes in `order`.
    pub fn live_nodes(&self) -> impl Iterator<Item = (NodeId, &NodeData)> + '_ {
        self.order.iter().map(move |&n| (n, &self.nodes[n]))
    }

    /// Reorders `order` topologically, stable with respect to the current order (Kahn's
    /// algorithm taking the earliest ready node first). Fails on a cycle, returning the
    /// nodes left over.
    pub fn toposort(&mut self) -> Result<(), Vec<NodeId>> {
        use std::collections::{BTreeSet, HashMap};
        let pos: HashMap<NodeId, usize> =
            self.order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut indeg = vec![0usize; self.order.len()];
        let mut users: Vec<Vec<usize>> = vec![Vec::new(); self.order.len()];
        for (i, &n) in self.order.iter().enumerate() {
            for &v in &self.nodes[n].inputs {
                if let Some(p) = self.producer(v).and_then(|p| pos.get(&p)) {
                    indeg[i] += 1;
                    users[*p].push(i);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..indeg.len()).filter(|&i| indeg[i] == 0).collect();
        let mut out = Vec::with_capacity(self.order.len());
        while let Some(i) = ready.pop_first() {
            out.push(self.order[i]);
            for &u in &users[i] {
                indeg[u] -= 1;
                if indeg[u] == 0 {
                    ready.insert(u);
                }
            }
        }
        if out.len() != self.order.len() {
            let left = (0..indeg.len()).filter(|&i| indeg[i] > 0).map(|i| self.order[i]).collect();
            return Err(left);
        }
        self.order = out;
        Ok(())
    }
}
