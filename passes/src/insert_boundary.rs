//! `insert-boundary`: turns a Planned graph into the Split phase (DESIGN.md §1, §8): the
//! planned quantization becomes explicit ops and every tensor crossing from the edge to the
//! cloud goes through `quantize → pack → send │ recv → unpack → dequantize`.
//!
//! ```text
//! before (phase(planned)):
//!   %w = const {...} : f32[8,3,3,3] quant<i4:0, {...}> @edge
//!   %c = conv(%x, %w) {...} : f32[1,8,16,16] quant<u4, 0.05:0> @edge
//!   %y = conv(%c, %w2) {...} : f32[1,8,16,16] @cloud
//! after (phase(split)):
//!   %wq = const {value = tensor<i32[8,3,3,3]: ...>} : i32[8,3,3,3] @edge
//!   %wd = dequantize(%wq) {axis = 0, bits = 4, scheme = "sym", ...} : f32[8,3,3,3] @edge
//!   %c = conv(%x, %wd) {...} : f32[1,8,16,16] @edge
//!   %q = quantize(%c) {bits = 4, scheme = "asym", scale = [0.05], ...} : i32[1,8,16,16] @edge
//!   %p = pack(%q) {bits = 4} : u8[1024] @edge
//!   %s = send(%p) {slot = 0} : u8[1024] @edge
//!   %r = recv(%s) {slot = 0} : u8[1024] @cloud
//!   %u = unpack(%r) {bits = 4, shape = [1, 8, 16, 16], signed = 0} : i32[1,8,16,16] @cloud
//!   %d = dequantize(%u) {...} : f32[1,8,16,16] @cloud
//!   %y = conv(%d, %w2) {...} : f32[1,8,16,16] @cloud
//! ```
//!
//! - an edge weight with `quant` becomes constant i32 codes (computed now with
//!   `asplit_ir::quant`) and a `dequantize`; edge readers read the dequantized weight (a cloud
//!   reader of the same constant keeps the float one);
//! - an edge activation with `quant` is fake-quantized for its edge readers: `quantize →
//!   dequantize`, with exactly the codes the edge program computes;
//! - every crossing value (an edge value read by a cloud node, or a graph output produced on
//!   the edge while the cloud runs) gets a slot, in definition order (graph inputs first): with
//!   `quant` the chain above (the `quantize` is shared with the fake quantization, so the sent
//!   codes are the ones the edge used), without it a raw `send`/`recv` of the f32 tensor;
//! - a graph input's `quant` only says how it is sent: edge readers read it unchanged.
//!
//! New nodes are placed right after the value they quantize, so the order stays topological
//! and readable; annotations are consumed (no `quant` is left) and the phase becomes Split.
//! An unplanned graph is an error (the pass needs `phase(planned)`: run the planner, or
//! `annotate`, first); a graph already in the Split phase is left as it is (Changed::No).
//! Statistics: `weights-quantized`, `weight-bytes` (packed codes), `activations-quantized`,
//! `slots`, `raw-slots`, `wire-bytes` (payload bytes of one frame, headers excluded).
//!
//! [`SplitSpec`] and [`annotate`] (the Planned phase: placement and quantization from a
//! planner solution) and [`boundary_slots`] (the wire description the edge and cloud programs
//! are cut along) live here too. This file chooses no split and no bits.

use crate::options::PassOptions;
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::graph::{Graph, NodeId, Phase, Placement, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::quant::{packed_len, QuantParams, Scheme};
use asplit_ir::shape::quant::{params_from_attrs, params_to_attrs};
use asplit_ir::shape::ShapeError;
use asplit_ir::tensor::{Tensor, TensorData};
use asplit_ir::types::DType;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "insert-boundary",
    summary: "Planned → Split: quantize edge weights and activations, quantize → pack → send │ recv → unpack → dequantize at the cut.",
    options: &[],
    build,
};

fn build(_: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(InsertBoundary))
}

/// The `insert-boundary` pass.
#[derive(Debug, Default)]
pub struct InsertBoundary;

impl Pass for InsertBoundary {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        if g.phase == Phase::Split {
            return Ok(Changed::No);
        }
        let stats = insert_boundary(g).map_err(|e| PassError::failed(e.to_string()))?;
        cx.stat("weights-quantized", stats.weights_quantized as i64);
        cx.stat("weight-bytes", stats.weight_bytes as i64);
        cx.stat("activations-quantized", stats.activations_quantized as i64);
        cx.stat("slots", stats.slots as i64);
        cx.stat("raw-slots", stats.raw_slots as i64);
        cx.stat("wire-bytes", stats.wire_bytes as i64);
        Ok(Changed::Yes)
    }
}

/// A planner solution in the terms of the graph: what runs on the edge and how the edge
/// quantizes (the input of [`annotate`]).
#[derive(Clone, Debug, Default)]
pub struct SplitSpec {
    /// Non-constant nodes that run on the edge (closed under predecessors); every other live
    /// node runs on the cloud. Constants follow their readers.
    pub edge_nodes: HashSet<NodeId>,
    /// Constant weights of edge layers and their (per-channel symmetric) parameters.
    pub weights: HashMap<ValueId, QuantParams>,
    /// Edge layer outputs, including every crossing value (its bits are the transmitted
    /// bits); a crossing value left out is sent as raw f32.
    pub activations: HashMap<ValueId, QuantParams>,
    /// Graph inputs (indices) the cloud reads: sent raw (`None`) or quantized.
    pub raw_inputs: Vec<(usize, Option<QuantParams>)>,
}

/// A spec that does not fit the graph, or a graph the pass cannot lower.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum BoundaryError {
    /// The graph is in the wrong phase.
    #[error("{0}")]
    Phase(String),
    /// The spec names a node or value that does not fit.
    #[error("split spec: {0}")]
    Spec(String),
    /// A quantized weight whose contents are not available.
    #[error("weight {0} has elided contents (printed as a hash): it cannot be quantized")]
    Elided(String),
    /// A new node was rejected by its shape rule.
    #[error("insert-boundary: {0}")]
    Shape(#[from] ShapeError),
}

/// What [`insert_boundary`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BoundaryStats {
    /// Weights replaced by codes + dequantize.
    pub weights_quantized: usize,
    /// Bytes of those codes, packed at their bits.
    pub weight_bytes: usize,
    /// Edge activations fake-quantized or quantized for sending.
    pub activations_quantized: usize,
    /// Tensors crossing the boundary.
    pub slots: usize,
    /// Of which sent as raw f32.
    pub raw_slots: usize,
    /// Payload bytes of one frame.
    pub wire_bytes: usize,
}

/// Name of a value for messages: `%<arena index>` plus its source name.
fn describe(g: &Graph, v: ValueId) -> String {
    match g.values.get(v).and_then(|d| d.name.as_deref()) {
        Some(name) => format!("{v} (\"{name}\")"),
        None => v.to_string(),
    }
}

fn spec_err(msg: String) -> BoundaryError {
    BoundaryError::Spec(msg)
}

/// The Planned phase: places every live node (edge nodes from `spec`, constants on the edge
/// when an edge node reads them, everything else on the cloud) and records the
/// quantization of weights, edge activations and quantized inputs. Checks that the edge is
/// closed under predecessors and that every parameter set is valid for its value.
pub fn annotate(g: &mut Graph, spec: &SplitSpec) -> Result<(), BoundaryError> {
    if g.phase != Phase::Dataflow {
        return Err(BoundaryError::Phase(format!(
            "annotate: the graph is already {} (annotate an unplanned graph)",
            g.phase.name().unwrap_or("planned")
        )));
    }
    let live: HashSet<NodeId> = g.order.iter().copied().collect();
    if let Some(n) = spec.edge_nodes.iter().find(|n| !live.contains(n)) {
        return Err(spec_err(format!("edge node {n} is not a live node of the graph")));
    }
    let mut placement = HashMap::new();
    for (n, node) in g.live_nodes() {
        let edge = spec.edge_nodes.contains(&n) && node.op != OpKind::Const;
        placement.insert(n, if edge { Placement::Edge } else { Placement::Cloud });
    }
    for (n, node) in g.live_nodes() {
        if placement[&n] != Placement::Edge {
            continue;
        }
        for &v in &node.inputs {
            let Some(p) = g.producer(v) else { continue };
            if g.nodes[p].op == OpKind::Const {
                placement.insert(p, Placement::Edge);
            } else if placement.get(&p) != Some(&Placement::Edge) {
                return Err(spec_err(format!(
                    "edge node {n} ({}) reads {}, produced on the cloud: the edge must be closed \
                     under predecessors",
                    node.op,
                    describe(g, v)
                )));
            }
        }
    }
    let mut quant = HashMap::new();
    for (&w, p) in &spec.weights {
        check_weight(g, &placement, w)?;
        quant.insert(w, checked(g, w, p)?);
    }
    for (&v, p) in &spec.activations {
        let produced_on_edge = g.producer(v).is_some_and(|n| {
            placement.get(&n) == Some(&Placement::Edge) && g.nodes[n].op != OpKind::Const
        });
        if !produced_on_edge {
            return Err(spec_err(format!(
                "activation {} is not produced by an edge node",
                describe(g, v)
            )));
        }
        quant.insert(v, checked(g, v, p)?);
    }
    for (i, p) in &spec.raw_inputs {
        let Some(&v) = g.inputs.get(*i) else {
            return Err(spec_err(format!(
                "raw input {i}: the graph has {} input(s)",
                g.inputs.len()
            )));
        };
        if let Some(p) = p {
            quant.insert(v, checked(g, v, p)?);
        }
    }
    g.placement = placement;
    g.quant = quant;
    g.phase = Phase::Planned;
    Ok(())
}

/// A weight must be a constant read by an edge node.
fn check_weight(
    g: &Graph,
    placement: &HashMap<NodeId, Placement>,
    w: ValueId,
) -> Result<(), BoundaryError> {
    let is_const = g.producer(w).is_some_and(|n| g.nodes[n].op == OpKind::Const);
    let edge_reader = g
        .live_nodes()
        .any(|(n, node)| placement.get(&n) == Some(&Placement::Edge) && node.inputs.contains(&w));
    if is_const && edge_reader {
        Ok(())
    } else {
        Err(spec_err(format!("weight {} is not a constant read by an edge node", describe(g, w))))
    }
}

/// `p`, after checking it suits `v` (an f32 value of a valid shape).
fn checked(g: &Graph, v: ValueId, p: &QuantParams) -> Result<QuantParams, BoundaryError> {
    let Some(data) = g.values.get(v) else {
        return Err(spec_err(format!("value {v} is not in the graph")));
    };
    if data.ty.dtype != DType::F32 {
        return Err(spec_err(format!(
            "{} is {}; only f32 values are quantized",
            describe(g, v),
            data.ty
        )));
    }
    p.validate(&data.ty.shape).map_err(|e| spec_err(format!("{}: {e}", describe(g, v))))?;
    Ok(p.clone())
}

/// Lowers a Planned graph to the Split phase (see the module doc); returns what it did.
pub fn insert_boundary(g: &mut Graph) -> Result<BoundaryStats, BoundaryError> {
    if g.phase != Phase::Planned {
        return Err(BoundaryError::Phase(format!(
            "insert-boundary needs a Planned graph (`phase(planned)`), this one is {}: plan it \
             first (the planner annotates placement and bits; `annotate` with a SplitSpec)",
            g.phase.name().unwrap_or("not planned")
        )));
    }
    let mut lw = Lowering::new(g);
    lw.weights()?;
    lw.activations_and_slots()?;
    let Lowering { stats, after, original_len, .. } = lw;
    reorder(g, original_len, &after);
    g.quant.clear();
    g.phase = Phase::Split;
    Ok(stats)
}

/// Where new nodes go: right after an existing node, or before everything (`None`: they
/// quantize a graph input).
type Anchor = Option<NodeId>;

struct Lowering<'g> {
    g: &'g mut Graph,
    /// The live nodes before the pass (the only ones rewired).
    original: Vec<NodeId>,
    original_len: usize,
    after: HashMap<Anchor, Vec<NodeId>>,
    stats: BoundaryStats,
}

impl<'g> Lowering<'g> {
    fn new(g: &'g mut Graph) -> Self {
        let original = g.order.clone();
        let original_len = original.len();
        Lowering {
            g,
            original,
            original_len,
            after: HashMap::new(),
            stats: BoundaryStats::default(),
        }
    }

    fn placed(&self, n: NodeId) -> Option<Placement> {
        self.g.placement.get(&n).copied()
    }

    /// Appends a node placed at `place`, to be ordered after `anchor`; returns its result.
    fn add(
        &mut self,
        anchor: Anchor,
        place: Placement,
        op: OpKind,
        attrs: Attrs,
        input: ValueId,
    ) -> Result<ValueId, BoundaryError> {
        let n = self.g.add_node(op, attrs, vec![input])?;
        self.g.placement.insert(n, place);
        self.after.entry(anchor).or_default().push(n);
        Ok(self.g.nodes[n].outputs[0])
    }

    /// Rewires operand `from` to `to` in the original nodes placed at `place`.
    fn rewire(&mut self, from: ValueId, to: ValueId, place: Placement) {
        for i in 0..self.original.len() {
            let n = self.original[i];
            if self.placed(n) != Some(place) {
                continue;
            }
            for v in self.g.nodes[n].inputs.iter_mut().filter(|v| **v == from) {
                *v = to;
            }
        }
    }

    fn readers(&self, v: ValueId, place: Placement) -> bool {
        self.original.iter().any(|&n| {
            self.placed(n) == Some(place)
                && self.g.nodes[n].op != OpKind::Const
                && self.g.nodes[n].inputs.contains(&v)
        })
    }

    /// Edge weights → constant codes + `dequantize` for their edge readers.
    fn weights(&mut self) -> Result<(), BoundaryError> {
        let mut weights: Vec<(ValueId, QuantParams)> = self
            .g
            .quant
            .iter()
            .filter(|(v, _)| {
                self.g.producer(**v).is_some_and(|n| self.g.nodes[n].op == OpKind::Const)
            })
            .map(|(v, p)| (*v, p.clone()))
            .collect();
        weights.sort_by_key(|(v, _)| *v);
        for (w, p) in weights {
            let anchor = self.g.producer(w);
            let tensor = self.g.const_value(w).cloned();
            let Some(values) = tensor.as_ref().and_then(|t| t.as_f32()) else {
                return Err(BoundaryError::Elided(describe(self.g, w)));
            };
            let shape = self.g.ty(w).shape.clone();
            let codes = p.quantize(values, &shape);
            let codes = Tensor::new(shape, TensorData::I32(codes))
                .map_err(|e| spec_err(format!("{}: {e}", describe(self.g, w))))?;
            self.stats.weight_bytes += packed_len(codes.numel(), p.bits);
            let ty = codes.ty();
            let value = Attrs::new().with("value", Attr::Tensor(std::sync::Arc::new(codes)));
            let cn = self.g.add_node_typed(OpKind::Const, value, vec![], vec![ty]);
            let c = self.g.nodes[cn].outputs[0];
            self.g.placement.insert(cn, Placement::Edge);
            self.after.entry(anchor).or_default().push(cn);
            let d =
                self.add(anchor, Placement::Edge, OpKind::Dequantize, params_to_attrs(&p), c)?;
            self.rewire(w, d, Placement::Edge);
            self.stats.weights_quantized += 1;
        }
        Ok(())
    }

    /// Whether anything but constants runs on the cloud.
    fn cloud_runs(&self) -> bool {
        self.original.iter().any(|&n| {
            self.placed(n) == Some(Placement::Cloud) && self.g.nodes[n].op != OpKind::Const
        })
    }

    /// Edge values in definition order: graph inputs, then node results.
    fn edge_values(&self) -> Vec<ValueId> {
        let mut out = self.g.inputs.clone();
        for &n in &self.original {
            let node = &self.g.nodes[n];
            if self.placed(n) == Some(Placement::Edge) && node.op != OpKind::Const {
                out.extend(node.outputs.iter().copied());
            }
        }
        out
    }

    /// Fake quantization of edge activations and the boundary of every crossing value.
    fn activations_and_slots(&mut self) -> Result<(), BoundaryError> {
        let cloud_runs = self.cloud_runs();
        let mut slot = 0i64;
        for v in self.edge_values() {
            let anchor = self.g.producer(v);
            let is_input = anchor.is_none();
            let crosses =
                self.readers(v, Placement::Cloud) || (cloud_runs && self.g.outputs.contains(&v));
            let edge_readers = !is_input && self.readers(v, Placement::Edge);
            let p = self.g.quant.get(&v).cloned();
            let q = match &p {
                Some(p) if crosses || edge_readers => {
                    self.stats.activations_quantized += 1;
                    let attrs = params_to_attrs(p);
                    Some(self.add(anchor, Placement::Edge, OpKind::Quantize, attrs, v)?)
                }
                _ => None,
            };
            if let (Some(p), Some(q), true) = (&p, q, edge_readers) {
                let d =
                    self.add(anchor, Placement::Edge, OpKind::Dequantize, params_to_attrs(p), q)?;
                self.rewire(v, d, Placement::Edge);
            }
            if !crosses {
                continue;
            }
            let received = match (&p, q) {
                (Some(p), Some(q)) => self.quantized_slot(anchor, p, q, slot)?,
                _ => self.raw_slot(anchor, v, slot)?,
            };
            self.rewire(v, received, Placement::Cloud);
            if cloud_runs && self.g.outputs.contains(&v) {
                self.move_output(v, received);
            }
            slot += 1;
            self.stats.slots += 1;
        }
        Ok(())
    }

    /// Graph output `v` becomes `to`, which takes over its name (a graph input keeps its
    /// own).
    fn move_output(&mut self, v: ValueId, to: ValueId) {
        for o in self.g.outputs.iter_mut().filter(|o| **o == v) {
            *o = to;
        }
        let name = match self.g.producer(v) {
            Some(_) => self.g.values[v].name.take(),
            None => self.g.values[v].name.clone(),
        };
        self.g.values[to].name = name;
    }

    /// `pack → send │ recv → unpack → dequantize` of codes `q`; returns the cloud's value.
    fn quantized_slot(
        &mut self,
        anchor: Anchor,
        p: &QuantParams,
        q: ValueId,
        slot: i64,
    ) -> Result<ValueId, BoundaryError> {
        let shape = self.g.ty(q).shape.clone();
        let bits = Attr::Int(p.bits as i64);
        let packed = self.add(
            anchor,
            Placement::Edge,
            OpKind::Pack,
            Attrs::new().with("bits", bits.clone()),
            q,
        )?;
        let r = self.transfer(anchor, packed, slot)?;
        let unpack = Attrs::new()
            .with("bits", bits)
            .with("shape", Attr::Ints(shape.iter().map(|&d| d as i64).collect()))
            .with("signed", Attr::Int(i64::from(p.scheme == Scheme::Symmetric)));
        let u = self.add(anchor, Placement::Cloud, OpKind::Unpack, unpack, r)?;
        self.stats.wire_bytes += self.g.ty(packed).numel();
        self.add(anchor, Placement::Cloud, OpKind::Dequantize, params_to_attrs(p), u)
    }

    /// `send │ recv` of the tensor itself.
    fn raw_slot(
        &mut self,
        anchor: Anchor,
        v: ValueId,
        slot: i64,
    ) -> Result<ValueId, BoundaryError> {
        self.stats.raw_slots += 1;
        self.stats.wire_bytes += self.g.ty(v).size_bytes();
        self.transfer(anchor, v, slot)
    }

    /// `send` on the edge, `recv` on the cloud.
    fn transfer(
        &mut self,
        anchor: Anchor,
        v: ValueId,
        slot: i64,
    ) -> Result<ValueId, BoundaryError> {
        let attrs = Attrs::new().with("slot", Attr::Int(slot));
        let s = self.add(anchor, Placement::Edge, OpKind::Send, attrs.clone(), v)?;
        self.add(anchor, Placement::Cloud, OpKind::Recv, attrs, s)
    }
}

/// Rebuilds `order`: the first `original_len` nodes with each one's new nodes right after
/// it (those quantizing graph inputs first); constants nobody reads any more are dropped.
fn reorder(g: &mut Graph, original_len: usize, after: &HashMap<Anchor, Vec<NodeId>>) {
    let original: Vec<NodeId> = g.order[..original_len].to_vec();
    let mut order: Vec<NodeId> = after.get(&None).cloned().unwrap_or_default();
    for n in original {
        order.push(n);
        order.extend(after.get(&Some(n)).into_iter().flatten().copied());
    }
    let used: HashSet<ValueId> = order
        .iter()
        .flat_map(|&n| g.nodes[n].inputs.iter().copied())
        .chain(g.outputs.iter().copied())
        .collect();
    order.retain(|&n| {
        let node = &g.nodes[n];
        node.op != OpKind::Const || node.outputs.iter().any(|v| used.contains(v))
    });
    g.order = order;
}

/// One tensor of the boundary frame, as the edge and cloud programs see it.
#[derive(Clone, Debug, PartialEq)]
pub struct BoundarySlot {
    /// Position in the frame.
    pub slot: usize,
    /// The `send` node (edge).
    pub send: NodeId,
    /// The `recv` node (cloud).
    pub recv: NodeId,
    /// The f32 edge value being sent (the `quantize` operand, or the raw tensor).
    pub value: ValueId,
    /// Shape of that value.
    pub shape: Vec<usize>,
    /// Quantization (`None`: raw f32).
    pub quant: Option<QuantParams>,
    /// Payload bytes on the wire.
    pub payload_bytes: usize,
}

/// The slots of a Split graph in slot order, read from its `send` chains.
pub fn boundary_slots(g: &Graph) -> Result<Vec<BoundarySlot>, BoundaryError> {
    let mut recv_of: HashMap<ValueId, NodeId> = HashMap::new();
    for (n, node) in g.live_nodes().filter(|(_, d)| d.op == OpKind::Recv) {
        if let Some(&s) = node.inputs.first() {
            recv_of.insert(s, n);
        }
    }
    let mut slots = Vec::new();
    for (n, node) in g.live_nodes().filter(|(_, d)| d.op == OpKind::Send) {
        let bad = |m: &str| BoundaryError::Phase(format!("send node {n}: {m}"));
        let slot = node.attrs.int("slot").ok().and_then(|s| usize::try_from(s).ok());
        let slot = slot.ok_or_else(|| bad("no valid `slot`"))?;
        let (&sent, &out) =
            node.inputs.first().zip(node.outputs.first()).ok_or_else(|| bad("no operand"))?;
        let recv = *recv_of.get(&out).ok_or_else(|| bad("no `recv` reads it"))?;
        let payload_bytes = g.ty(sent).size_bytes();
        let (value, quant) = match quantized_source(g, sent) {
            Some((v, p)) => (v, Some(p)),
            None => (sent, None),
        };
        let shape = g.ty(value).shape.clone();
        slots.push(BoundarySlot { slot, send: n, recv, value, shape, quant, payload_bytes });
    }
    slots.sort_by_key(|s| s.slot);
    Ok(slots)
}

/// For packed bytes `pack(quantize(v))`: `v` and the quantize's parameters.
fn quantized_source(g: &Graph, sent: ValueId) -> Option<(ValueId, QuantParams)> {
    let pack = g.producer(sent).filter(|&p| g.nodes[p].op == OpKind::Pack)?;
    let q = *g.nodes[pack].inputs.first()?;
    let quantize = g.producer(q).filter(|&p| g.nodes[p].op == OpKind::Quantize)?;
    let node = &g.nodes[quantize];
    Some((*node.inputs.first()?, params_from_attrs(&node.attrs).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::interp;
    use asplit_ir::parse::parse;
    use asplit_ir::tensor::seeded_uniform;
    use asplit_ir::verify::verify;

    /// conv → pool → conv (+ skip from the pool) → mean → matmul; 5 compute/movement nodes.
    const NET: &str = r#"
graph @net(%x: f32[1,3,8,8] "x") {
  %w1 = const {value = tensor<f32[6,3,3,3]: random(seed = 1)>} : f32[6,3,3,3]
  %c1 = conv(%x, %w1) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1,6,8,8]
  %p = max_pool(%c1) {kernel_shape = [2, 2], strides = [2, 2], pads = [0, 0, 0, 0], dilations = [1, 1]} : f32[1,6,4,4]
  %w2 = const {value = tensor<f32[6,6,3,3]: random(seed = 2)>} : f32[6,6,3,3]
  %b2 = const {value = tensor<f32[6]: splat(0.1)>} : f32[6]
  %c2 = conv(%p, %w2, %b2, %p) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1,6,4,4]
  %g = reduce_mean(%c2) {axes = [2, 3], keepdims = 0} : f32[1,6]
  %fc = const {value = tensor<f32[6,5]: random(seed = 3)>} : f32[6,5]
  %y = matmul(%g, %fc) : f32[1,5]
  return %y "y"
}
"#;

    fn net() -> Graph {
        parse(NET).expect("NET parses")
    }

    fn input(g: &Graph, seed: u64) -> Vec<Tensor> {
        let ty = g.ty(g.inputs[0]);
        let x = seeded_uniform(seed, ty.numel(), -1.0, 1.0);
        vec![Tensor::from_f32(ty.shape.clone(), x).expect("sizes match")]
    }

    /// The node producing the value named by the `i`-th non-constant node of `g`.
    fn compute_nodes(g: &Graph) -> Vec<NodeId> {
        g.live_nodes().filter(|(_, d)| d.op != OpKind::Const).map(|(n, _)| n).collect()
    }

    /// Ranges of every value over the inputs the tests run (the calibration set), so that
    /// no test input is clipped.
    fn ranges(g: &Graph) -> HashMap<ValueId, (f32, f32)> {
        let mut r: HashMap<ValueId, (f32, f32)> = HashMap::new();
        for seed in [1, 2, 3, 4, 5] {
            interp::run_observed(g, &input(g, seed), |v, t| {
                if let Some(x) = t.as_f32() {
                    let e = r.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY));
                    for &a in x {
                        *e = (e.0.min(a), e.1.max(a));
                    }
                }
            })
            .expect("NET runs");
        }
        r
    }

    /// Edge = the first `n` compute nodes; every edge weight and edge result quantized at
    /// `bits` (weights symmetric per output channel, activations asymmetric per tensor).
    fn spec(g: &Graph, n: usize, bits: u8, input_bits: Option<u8>) -> SplitSpec {
        let nodes = compute_nodes(g);
        let ranges = ranges(g);
        let mut s =
            SplitSpec { edge_nodes: nodes[..n].iter().copied().collect(), ..Default::default() };
        for &e in &nodes[..n] {
            let node = &g.nodes[e];
            for &v in &node.inputs {
                let Some(t) = g.const_value(v) else { continue };
                if g.ty(v).rank() < 2 {
                    continue;
                }
                let vals = t.as_f32().expect("f32 weights");
                let axis = if node.op == OpKind::MatMul { 1 } else { 0 };
                let shape = &g.ty(v).shape;
                let absmax: Vec<f32> = (0..shape[axis])
                    .map(|c| {
                        let inner: usize = shape[axis + 1..].iter().product();
                        vals.iter()
                            .enumerate()
                            .filter(|(i, _)| (i / inner) % shape[axis] == c)
                            .fold(0.0f32, |m, (_, x)| m.max(x.abs()))
                    })
                    .collect();
                let p = QuantParams::symmetric_per_channel(bits, &absmax, Some(axis)).unwrap();
                s.weights.insert(v, p);
            }
            for &v in &node.outputs {
                let (lo, hi) = ranges[&v];
                s.activations.insert(v, QuantParams::asymmetric(bits, lo, hi).unwrap());
            }
        }
        if n == 0 {
            let p = input_bits.map(|b| QuantParams::asymmetric(b, -1.0, 1.0).unwrap());
            s.raw_inputs.push((0, p));
        }
        s
    }

    fn lowered(n: usize, bits: u8) -> (Graph, Graph, BoundaryStats) {
        let g = net();
        let mut split = g.clone();
        annotate(&mut split, &spec(&g, n, bits, Some(bits))).expect("annotates");
        verify(&split).expect("the Planned graph verifies");
        let stats = insert_boundary(&mut split).expect("lowers");
        verify(&split)
            .unwrap_or_else(|v| panic!("the Split graph does not verify: {v:?}\n{split}"));
        (g, split, stats)
    }

    fn max_rel_error(a: &[Tensor], b: &[Tensor]) -> f64 {
        let (x, y) = (a[0].data().to_f64_vec(), b[0].data().to_f64_vec());
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        x.iter().zip(&y).fold(0.0f64, |m, (p, q)| m.max((p - q).abs())) / scale
    }

    #[test]
    fn sixteen_bits_everywhere_is_within_1e3_of_float() {
        for n in 0..=5 {
            let (g, split, _) = lowered(n, 16);
            for seed in [1, 2, 3] {
                let x = input(&g, seed);
                let want = interp::run(&g, &x).unwrap();
                let got = interp::run(&split, &x).unwrap();
                let err = max_rel_error(&want, &got);
                assert!(err <= 1e-3, "split after {n} nodes, seed {seed}: relative error {err}");
            }
        }
    }

    #[test]
    fn low_bits_change_the_output_and_more_bits_change_it_less() {
        let g = net();
        let x = input(&g, 4);
        let want = interp::run(&g, &x).unwrap();
        let err = |bits| max_rel_error(&want, &interp::run(&lowered(3, bits).1, &x).unwrap());
        let (e2, e4, e8) = (err(2), err(4), err(8));
        assert!(e2 > e8 && e4 > e8 && e8 > 0.0, "2: {e2}, 4: {e4}, 8: {e8}");
    }

    #[test]
    fn the_skip_connection_crosses_as_its_own_slot() {
        // Edge = conv + max_pool: the pooled map feeds the cloud conv twice (x and skip), one slot.
        let (g, split, stats) = lowered(2, 4);
        assert_eq!((stats.slots, stats.raw_slots), (1, 0));
        let slots = boundary_slots(&split).unwrap();
        assert_eq!(slots.len(), 1);
        let pooled = g.nodes[compute_nodes(&g)[1]].outputs[0];
        assert_eq!(slots[0].shape, g.ty(pooled).shape);
        let p = slots[0].quant.as_ref().expect("sent quantized");
        assert_eq!((p.bits, p.scheme), (4, Scheme::Asymmetric));
        assert_eq!(slots[0].payload_bytes, packed_len(96, 4));
        assert_eq!(stats.wire_bytes, 48);
        assert_eq!(stats.weights_quantized, 1);
        assert_eq!(split.phase, Phase::Split);
        assert!(split.quant.is_empty());
    }

    #[test]
    fn sent_codes_are_the_codes_of_the_edge_value() {
        let (_, split, _) = lowered(3, 5);
        let slots = boundary_slots(&split).unwrap();
        let mut seen: HashMap<ValueId, Tensor> = HashMap::new();
        interp::run_observed(&split, &input(&split, 5), |v, t| {
            seen.insert(v, t.clone());
        })
        .unwrap();
        for s in &slots {
            let p = s.quant.as_ref().unwrap();
            let x = seen[&s.value].as_f32().unwrap().to_vec();
            let recv_out = split.nodes[s.recv].outputs[0];
            let bytes = match seen[&recv_out].data() {
                TensorData::U8(b) => b.clone(),
                d => panic!("recv gives {}", d.dtype()),
            };
            let want = asplit_ir::quant::pack(&p.quantize(&x, &s.shape), p.bits);
            assert_eq!(bytes, want, "slot {}", s.slot);
        }
    }

    #[test]
    fn cloud_only_sends_the_input_and_edge_only_sends_nothing() {
        let (_, cloud, stats) = lowered(0, 8);
        assert_eq!((stats.slots, stats.weights_quantized), (1, 0));
        assert_eq!(stats.wire_bytes, 192, "3·8·8 codes of 8 bits");
        assert!(cloud.live_nodes().all(|(n, d)| {
            matches!(d.op, OpKind::Quantize | OpKind::Pack | OpKind::Send)
                == (cloud.placement[&n] == Placement::Edge)
        }));
        let (_, _, stats) = lowered(5, 4);
        assert_eq!((stats.slots, stats.wire_bytes), (0, 0));
        assert_eq!(stats.weights_quantized, 3);
    }

    #[test]
    fn annotate_rejects_specs_that_do_not_fit() {
        let g = net();
        let nodes = compute_nodes(&g);
        // The pool on the edge without the conv feeding it.
        let s = SplitSpec { edge_nodes: [nodes[1]].into_iter().collect(), ..Default::default() };
        let err = annotate(&mut g.clone(), &s).unwrap_err();
        assert!(err.to_string().contains("closed under predecessors"), "{err}");
        // An activation of a cloud node.
        let mut s = spec(&g, 1, 4, None);
        let cloud_value = g.nodes[nodes[2]].outputs[0];
        s.activations.insert(cloud_value, QuantParams::asymmetric(4, 0.0, 1.0).unwrap());
        let err = annotate(&mut g.clone(), &s).unwrap_err();
        assert!(err.to_string().contains("is not produced by an edge node"), "{err}");
        // Per-channel parameters of the wrong count.
        let mut s = spec(&g, 1, 4, None);
        let w = *s.weights.keys().next().unwrap();
        s.weights.insert(w, QuantParams::symmetric_per_channel(4, &[1.0; 2], Some(0)).unwrap());
        let err = annotate(&mut g.clone(), &s).unwrap_err();
        assert!(err.to_string().contains("2 scale(s)"), "{err}");
        // Twice.
        let mut once = g.clone();
        annotate(&mut once, &spec(&g, 1, 4, None)).unwrap();
        assert!(matches!(annotate(&mut once, &spec(&g, 1, 4, None)), Err(BoundaryError::Phase(_))));
    }

    #[test]
    fn constants_follow_their_readers() {
        let g = net();
        let mut planned = g.clone();
        annotate(&mut planned, &spec(&g, 1, 4, None)).unwrap();
        let place_of = |name_seed: usize| {
            let (n, _) =
                g.live_nodes().filter(|(_, d)| d.op == OpKind::Const).nth(name_seed).unwrap();
            planned.placement[&n]
        };
        assert_eq!(place_of(0), Placement::Edge, "w1 feeds the edge conv");
        assert_eq!(place_of(1), Placement::Cloud, "w2 feeds a cloud conv");
    }

    #[test]
    fn the_pass_needs_a_planned_graph_and_is_idempotent() {
        let mut g = net();
        let err = insert_boundary(&mut g).unwrap_err();
        assert!(err.to_string().contains("needs a Planned graph"), "{err}");
        let mut cx = PassCx::new();
        assert!(InsertBoundary.run(&mut g, &mut cx).is_err());
        let (_, mut split, _) = lowered(2, 4);
        let before = split.to_string();
        assert_eq!(InsertBoundary.run(&mut split, &mut cx).unwrap(), Changed::No);
        assert_eq!(split.to_string(), before);
    }

    #[test]
    fn elided_weights_are_an_error() {
        let text = "graph @g(%x: f32[1,20]) phase(planned) {\n  %w = const {value = tensor<f32[20,20]: hash(0x1)>} : f32[20,20] quant<i4:1, {SCALES}> @edge\n  %y = matmul(%x, %w) : f32[1,20] @edge\n  return %y\n}\n";
        let scales = vec!["0.1"; 20].join(", ");
        let mut g = parse(&text.replace("SCALES", &scales)).unwrap();
        let err = insert_boundary(&mut g).unwrap_err();
        assert!(matches!(err, BoundaryError::Elided(_)), "{err}");
    }
}
