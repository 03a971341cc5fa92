//! The layer view of a fused graph: what the Auto-Split planner splits and allocates bits to.
//!
//! A *layer* is one compute op (conv, conv_transpose, gemm, matmul, with the epilogue the
//! `fuse` pass gave it) plus the non-compute ops that follow it: every other node joins the
//! layer of its latest-produced operand (AUTOSPLIT.md §2.1, "merged into the preceding compute
//! layer"). A node none of whose operands is produced by a node (it reads only graph inputs
//! and constants) starts a layer of its own. Because a node joins the *latest* layer among its
//! operands', every dataflow edge goes from a layer to itself or to a later one, so layers in
//! index order are a topological order and "layers `0..n` on the edge" is always a valid
//! partition: split `n` puts layers `0..n` on the edge and `n..` on the cloud (`n = 0` is
//! cloud-only, `n = len` edge-only).
//!
//! Per layer this records what the cost model and the bit allocation need: weight and bias
//! element counts, the layer's output values (the tensors that leave it: read by a later
//! layer or a graph output) and their element count, MACs, and element traffic of its ops.
//! This file computes no cost and chooses no bits.

use asplit_ir::graph::{Graph, NodeId, ValueId};
use asplit_ir::ops::OpKind;
use std::collections::{BTreeSet, HashMap};
use thiserror::Error;

/// A graph the planner cannot take.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LayerError {
    /// `order` is not topological (an operand is produced by a later node).
    #[error("node {node} reads a value produced later: the graph is not in topological order")]
    NotTopological {
        /// The reading node.
        node: String,
    },
    /// The graph has no nodes besides constants.
    #[error("the graph has no computation to split")]
    Empty,
}

/// One fused layer.
#[derive(Clone, Debug)]
pub struct Layer {
    /// Position in [`LayerGraph::layers`].
    pub index: usize,
    /// Display name: the head node's source name, else `<op>_<index>`.
    pub name: String,
    /// The compute op heading the layer, if any (a layer of only elementwise/movement ops
    /// has none).
    pub head: Option<NodeId>,
    /// The layer's nodes in graph order (constants excluded; the head first when present).
    pub nodes: Vec<NodeId>,
    /// Constant weight operands of the head (conv/conv_transpose `w`, gemm/matmul constant
    /// `b`; a constant `a` of gemm/matmul too). Quantized at the layer's weight bits.
    pub weights: Vec<ValueId>,
    /// Elements of `weights` (s_i^w).
    pub weight_elems: u64,
    /// Elements of the head's constant bias / `c` operands, kept at 32 bits on the edge.
    pub bias_elems: u64,
    /// Values produced in this layer and read by a later layer or a graph output, in order
    /// of definition. Quantized at the layer's activation bits on the edge.
    pub outputs: Vec<ValueId>,
    /// Elements of `outputs` (s_i^a).
    pub output_elems: u64,
    /// Multiply-accumulates of the head (0 without one).
    pub macs: u64,
    /// Elements read and written by the layer's non-head ops (the memory-bound part).
    pub elementwise_elems: u64,
    /// Earlier layers whose outputs this layer reads, ascending.
    pub preds: Vec<usize>,
    /// Graph inputs this layer reads (indices into `Graph::inputs`).
    pub reads_inputs: Vec<usize>,
}

/// The layers of a graph and the value-level facts the split search needs.
#[derive(Clone, Debug)]
pub struct LayerGraph {
    /// Layers in topological order.
    pub layers: Vec<Layer>,
    /// The layer of every non-constant live node.
    pub layer_of: HashMap<NodeId, usize>,
    /// For every value produced by a layer: the producing layer and the layers that read it
    /// (ascending, without the producer), and whether it is a graph output.
    pub uses: HashMap<ValueId, ValueUses>,
    /// For every graph input: the layers reading it.
    pub input_readers: Vec<Vec<usize>>,
    /// Elements of all graph inputs together.
    pub input_elems: u64,
}

/// Producer and readers of one value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueUses {
    /// Producing layer.
    pub producer: usize,
    /// Later layers reading it.
    pub readers: Vec<usize>,
    /// A graph output.
    pub is_output: bool,
}

/// What crosses a cut.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Crossing {
    /// Values produced on the edge and read on the cloud (or graph outputs produced on the
    /// edge while the cloud finishes), in definition order.
    pub values: Vec<ValueId>,
    /// Graph inputs (indices) that the cloud reads directly; they travel raw.
    pub inputs: Vec<usize>,
}

/// Conv, conv_transpose, gemm and matmul head layers.
pub fn is_compute(op: OpKind) -> bool {
    matches!(op, OpKind::Conv | OpKind::ConvTranspose | OpKind::Gemm | OpKind::MatMul)
}

impl LayerGraph {
    /// Groups the live nodes of `g` (in `g.order`) into layers.
    pub fn build(g: &Graph) -> Result<LayerGraph, LayerError> {
        let mut b = Builder::default();
        for (n, node) in g.live_nodes() {
            if node.op == OpKind::Const {
                continue;
            }
            b.place(g, n)?;
        }
        if b.layers.is_empty() {
            return Err(LayerError::Empty);
        }
        Ok(b.finish(g))
    }

    /// Number of layers (N).
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True when there are no layers (never, for a built graph).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// What crosses the linear cut `n` (layers `0..n` on the edge). Cut 0 sends the graph
    /// inputs; cut N sends nothing (the edge writes the outputs).
    pub fn crossing(&self, n: usize) -> Crossing {
        self.crossing_of(|l| l < n)
    }

    /// What crosses an arbitrary cut given by `on_edge(layer)`. The caller guarantees the
    /// cut is closed under predecessors (no cloud layer feeds an edge layer).
    pub fn crossing_of(&self, on_edge: impl Fn(usize) -> bool) -> Crossing {
        let all_edge = (0..self.len()).all(&on_edge);
        let mut values: Vec<ValueId> = self
            .uses
            .iter()
            .filter(|(_, u)| on_edge(u.producer))
            .filter(|(_, u)| u.readers.iter().any(|&r| !on_edge(r)) || (u.is_output && !all_edge))
            .map(|(&v, _)| v)
            .collect();
        values.sort();
        let inputs = (0..self.input_readers.len())
            .filter(|&i| self.input_readers[i].iter().any(|&r| !on_edge(r)))
            .collect();
        Crossing { values, inputs }
    }
}

#[derive(Default)]
struct Builder {
    layers: Vec<Layer>,
    layer_of: HashMap<NodeId, usize>,
}

impl Builder {
    /// Puts node `n` into a new layer (compute op, or no produced operand) or into the
    /// latest layer among its operands' producers.
    fn place(&mut self, g: &Graph, n: NodeId) -> Result<(), LayerError> {
        let node = &g.nodes[n];
        let mut latest: Option<usize> = None;
        for &v in &node.inputs {
            let Some(p) = g.producer(v) else { continue };
            if g.nodes[p].op == OpKind::Const {
                continue;
            }
            let l = *self.layer_of.get(&p).ok_or_else(|| LayerError::NotTopological {
                node: node.name.clone().unwrap_or_else(|| node.op.to_string()),
            })?;
            latest = Some(latest.map_or(l, |m: usize| m.max(l)));
        }
        let layer = match latest {
            Some(l) if !is_compute(node.op) => l,
            _ => self.new_layer(g, n),
        };
        if self.layers[layer].nodes.last() != Some(&n) {
            self.layers[layer].nodes.push(n);
        }
        self.layer_of.insert(n, layer);
        Ok(())
    }

    fn new_layer(&mut self, g: &Graph, n: NodeId) -> usize {
        let index = self.layers.len();
        let node = &g.nodes[n];
        let head = is_compute(node.op).then_some(n);
        let name = node.name.clone().unwrap_or_else(|| format!("{}_{index}", node.op));
        self.layers.push(Layer {
            index,
            name,
            head,
            nodes: vec![n],
            weights: Vec::new(),
            weight_elems: 0,
            bias_elems: 0,
            outputs: Vec::new(),
            output_elems: 0,
            macs: 0,
            elementwise_elems: 0,
            preds: Vec::new(),
            reads_inputs: Vec::new(),
        });
        index
    }

    fn finish(mut self, g: &Graph) -> LayerGraph {
        let uses = value_uses(g, &self.layer_of);
        let mut input_readers = vec![BTreeSet::new(); g.inputs.len()];
        for layer in &mut self.layers {
            fill_layer(g, layer, &self.layer_of, &uses, &mut input_readers);
        }
        let input_elems = g.inputs.iter().map(|&v| g.ty(v).numel() as u64).sum();
        LayerGraph {
            layers: self.layers,
            layer_of: self.layer_of,
            uses,
            input_readers: input_readers.into_iter().map(|s| s.into_iter().collect()).collect(),
            input_elems,
        }
    }
}

/// Producer layer, reader layers and output flag of every value a layer produces.
fn value_uses(g: &Graph, layer_of: &HashMap<NodeId, usize>) -> HashMap<ValueId, ValueUses> {
    let mut uses: HashMap<ValueId, ValueUses> = HashMap::new();
    for (n, node) in g.live_nodes() {
        let Some(&l) = layer_of.get(&n) else { continue };
        for &v in &node.outputs {
            uses.insert(v, ValueUses { producer: l, readers: Vec::new(), is_output: false });
        }
    }
    for (n, node) in g.live_nodes() {
        let Some(&l) = layer_of.get(&n) else { continue };
        for v in &node.inputs {
            if let Some(u) = uses.get_mut(v) {
                if u.producer != l && !u.readers.contains(&l) {
                    u.readers.push(l);
                }
            }
        }
    }
    for v in &g.outputs {
        if let Some(u) = uses.get_mut(v) {
            u.is_output = true;
        }
    }
    for u in uses.values_mut() {
        u.readers.sort_unstable();
    }
    uses
}

/// Fills the per-layer facts of `layer` once every node is placed.
fn fill_layer(
    g: &Graph,
    layer: &mut Layer,
    layer_of: &HashMap<NodeId, usize>,
    uses: &HashMap<ValueId, ValueUses>,
    input_readers: &mut [BTreeSet<usize>],
) {
    let mut preds = BTreeSet::new();
    for &n in &layer.nodes {
        let node = &g.nodes[n];
        for &v in &node.inputs {
            match g.producer(v) {
                Some(p) => {
                    if let Some(&l) = layer_of.get(&p).filter(|&&l| l != layer.index) {
                        preds.insert(l);
                    }
                }
                None => {
                    if let Some(i) = g.inputs.iter().position(|&x| x == v) {
                        input_readers[i].insert(layer.index);
                        if !layer.reads_inputs.contains(&i) {
                            layer.reads_inputs.push(i);
                        }
                    }
                }
            }
        }
        for &v in &node.outputs {
            if uses.get(&v).is_some_and(|u| !u.readers.is_empty() || u.is_output) {
                layer.outputs.push(v);
                layer.output_elems += g.ty(v).numel() as u64;
            }
        }
        if Some(n) != layer.head {
            layer.elementwise_elems += node_traffic(g, n);
        }
    }
    layer.preds = preds.into_iter().collect();
    if let Some(h) = layer.head {
        head_facts(g, h, layer);
    }
}

/// Elements read (non-constant operands) and written by node `n`.
fn node_traffic(g: &Graph, n: NodeId) -> u64 {
    let node = &g.nodes[n];
    let read: usize =
        node.inputs.iter().filter(|&&v| g.const_value(v).is_none()).map(|&v| g.ty(v).numel()).sum();
    let written: usize = node.outputs.iter().map(|&v| g.ty(v).numel()).sum();
    (read + written) as u64
}

/// Weights, biases and MACs of the compute op `h`.
fn head_facts(g: &Graph, h: NodeId, layer: &mut Layer) {
    let node = &g.nodes[h];
    let numel = |v: ValueId| g.ty(v).numel() as u64;
    let (weight_slots, bias_slots): (&[usize], &[usize]) = match node.op {
        OpKind::Conv | OpKind::ConvTranspose => (&[1], &[2]),
        OpKind::Gemm | OpKind::MatMul => (&[0, 1], &[2]),
        _ => (&[], &[]),
    };
    for &i in weight_slots {
        if let Some(&v) = node.inputs.get(i).filter(|&&v| g.const_value(v).is_some()) {
            layer.weights.push(v);
            layer.weight_elems += numel(v);
        }
    }
    for &i in bias_slots {
        if let Some(&v) = node.inputs.get(i).filter(|&&v| g.const_value(v).is_some()) {
            layer.bias_elems += numel(v);
        }
    }
    layer.macs = head_macs(g, h);
}

/// Multiply-accumulates of one compute op, from its static types.
pub fn head_macs(g: &Graph, h: NodeId) -> u64 {
    let node = &g.nodes[h];
    let shape = |i: usize| node.inputs.get(i).map(|&v| g.ty(v).shape.clone()).unwrap_or_default();
    let out = node.outputs.first().map(|&v| g.ty(v).shape.clone()).unwrap_or_default();
    let prod = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
    match node.op {
        // Each output element sums over IC/group · kernel elements: w is [OC, IC/g, k...].
        OpKind::Conv => prod(&out) * shape(1).get(1..).map_or(0, prod),
        // Each input element scatters into OC/g · kernel outputs: w is [IC, OC/g, k...].
        OpKind::ConvTranspose => prod(&shape(0)) * shape(1).get(1..).map_or(0, prod),
        OpKind::Gemm => {
            let a = shape(0);
            let trans_a = node.attrs.int("trans_a").unwrap_or(0) != 0;
            let k = if trans_a { a.first() } else { a.get(1) };
            prod(&out) * k.copied().unwrap_or(0) as u64
        }
        OpKind::MatMul => prod(&out) * shape(0).last().copied().unwrap_or(0) as u64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::parse::parse;

    const RESIDUAL: &str = r#"
graph @residual(%x: f32[1, 4, 8, 8]) {
  %w1 = const {value = tensor<f32[4, 4, 3, 3]: random(seed = 1)>} : f32[4, 4, 3, 3]
  %w2 = const {value = tensor<f32[4, 4, 3, 3]: random(seed = 2)>} : f32[4, 4, 3, 3]
  %fc = const {value = tensor<f32[4, 10]: random(seed = 3)>} : f32[4, 10]
  %c1 = conv(%x, %w1) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1, 4, 8, 8]
  %p = max_pool(%c1) {kernel_shape = [2, 2], strides = [2, 2], pads = [0, 0, 0, 0], dilations = [1, 1]} : f32[1, 4, 4, 4]
  %c2 = conv(%p, %w2) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1]} : f32[1, 4, 4, 4]
  %s = add(%c2, %p) : f32[1, 4, 4, 4]
  %g = reduce_mean(%s) {axes = [2, 3]} : f32[1, 4, 1, 1]
  %f = reshape(%g) {shape = [1, 4]} : f32[1, 4]
  %y = matmul(%f, %fc) : f32[1, 10]
  return %y
}
"#;

    fn layers(src: &str) -> (Graph, LayerGraph) {
        let g = parse(src).unwrap();
        let l = LayerGraph::build(&g).unwrap();
        (g, l)
    }

    #[test]
    fn non_compute_ops_join_the_latest_layer() {
        let (g, l) = layers(RESIDUAL);
        let ops: Vec<Vec<String>> = l
            .layers
            .iter()
            .map(|la| la.nodes.iter().map(|&n| g.nodes[n].op.to_string()).collect())
            .collect();
        assert_eq!(
            ops,
            vec![
                vec!["conv", "max_pool"],
                vec!["conv", "add", "reduce_mean", "reshape"],
                vec!["matmul"],
            ]
        );
        assert_eq!(l.layers[1].preds, vec![0]);
        assert_eq!(l.layers[2].preds, vec![1]);
        assert_eq!(l.layers[0].reads_inputs, vec![0]);
    }

    #[test]
    fn weights_outputs_and_macs() {
        let (_, l) = layers(RESIDUAL);
        let l0 = &l.layers[0];
        assert_eq!((l0.weight_elems, l0.bias_elems), (144, 0));
        assert_eq!(l0.output_elems, 64, "only the pooled tensor leaves layer 0");
        assert_eq!(l0.macs, 4 * 64 * 4 * 9);
        assert_eq!(l.layers[2].macs, 40);
        assert_eq!(l.layers[2].weight_elems, 40);
        assert_eq!(l.input_elems, 256);
    }

    #[test]
    fn crossing_counts_skip_connections() {
        let (g, l) = layers(RESIDUAL);
        assert_eq!(l.crossing(0), Crossing { values: vec![], inputs: vec![0] });
        let c1 = l.crossing(1);
        assert_eq!(c1.values.len(), 1, "the pooled tensor feeds both the conv and the add");
        assert_eq!(g.ty(c1.values[0]).shape, vec![1, 4, 4, 4]);
        assert_eq!(l.crossing(3), Crossing::default(), "edge-only sends nothing");
        let c2 = l.crossing(2);
        assert_eq!(g.ty(c2.values[0]).shape, vec![1, 4]);
    }

    #[test]
    fn a_layer_without_compute_starts_at_the_input() {
        let (g, l) = layers(
            r#"
graph @g(%x: f32[2, 3]) {
  %w = const {value = tensor<f32[3, 4]: random(seed = 1)>} : f32[3, 4]
  %r = relu(%x) : f32[2, 3]
  %y = matmul(%r, %w) : f32[2, 4]
  return %y
}
"#,
        );
        assert_eq!(l.len(), 2);
        assert_eq!(l.layers[0].head, None);
        assert_eq!(g.nodes[l.layers[0].nodes[0]].op, OpKind::Relu);
        assert_eq!(l.layers[1].macs, 24);
    }

    #[test]
    fn graph_output_on_the_edge_crosses_unless_edge_only() {
        let (_, l) = layers(
            r#"
graph @g(%x: f32[2, 3]) {
  %w = const {value = tensor<f32[3, 4]: random(seed = 1)>} : f32[3, 4]
  %r = relu(%x) : f32[2, 3]
  %y = matmul(%r, %w) : f32[2, 4]
  return %r, %y
}
"#,
        );
        assert_eq!(l.crossing(1).values.len(), 1);
        assert!(l.crossing(2).values.is_empty());
    }
}
