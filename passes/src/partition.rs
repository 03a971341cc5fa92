//! Cuts a Split-phase graph into the two programs asplitc emits (DESIGN.md §1, §10): the
//! edge graph and the cloud graph, plain Dataflow-phase graphs that codegen compiles.
//!
//! ```text
//! split graph:                                   edge graph:
//!   %x: input @edge                                %x: input
//!   %c = conv(%x, %w) @edge                        %c = conv(%x, %w)
//!   %q = quantize(%c) @edge                        %q = quantize(%c)
//!   %p = pack(%q) @edge                            %p = pack(%q)
//!   %s = send(%p) {slot = 0} @edge                 return %p "boundary_0"
//!   %r = recv(%s) {slot = 0} @cloud              cloud graph:
//!   %u = unpack(%r) @cloud                         %r: input "boundary_0"
//!   %d = dequantize(%u) @cloud                     %u = unpack(%r)
//!   %y = gemm(%d, %w2) @cloud                      %d = dequantize(%u)
//!   return %y "logits"                             %y = gemm(%d, %w2); return %y "logits"
//! ```
//!
//! The edge graph takes every model input and returns the sent payloads in slot order (or the
//! model outputs when nothing is sent: an edge-only plan). The cloud graph takes one input per
//! slot (named `boundary_<slot>`, typed as the payload) and returns the model outputs; there is
//! no cloud graph when nothing is sent. `send`/`recv` disappear: they are the transport.
//! A constant read on both sides is copied into both graphs. The slots come from
//! [`boundary_slots`], so the wire description and the graphs cannot disagree. This file
//! neither chooses the split nor quantizes anything (insert-boundary did).

use crate::insert_boundary::{boundary_slots, BoundaryError, BoundarySlot};
use asplit_ir::graph::{Graph, NodeId, Phase, Placement, ValueId};
use asplit_ir::ops::OpKind;
use std::collections::HashMap;
use thiserror::Error;

/// The two programs of a Split graph.
#[derive(Clone, Debug)]
pub struct Partitions {
    /// Model inputs → sent payloads (slot order), or → model outputs when nothing is sent.
    pub edge: Graph,
    /// Payloads (slot order) → model outputs; `None` for an edge-only plan.
    pub cloud: Option<Graph>,
    /// The wire tensors, in slot order.
    pub slots: Vec<BoundarySlot>,
}

/// A graph that cannot be partitioned.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PartitionError {
    /// Not in the Split phase.
    #[error("partitioning needs a `phase(split)` graph (run insert-boundary first)")]
    NotSplit,
    /// The boundary chains are malformed.
    #[error(transparent)]
    Boundary(#[from] BoundaryError),
    /// A node reads a value its side does not have.
    #[error("{reader} reads {value}, which is not available on the {side} (only constants and `recv` results cross)")]
    Crossing {
        /// `edge` or `cloud`.
        side: &'static str,
        /// The reader: `node N` or `model output`.
        reader: String,
        /// The value read.
        value: ValueId,
    },
    /// A live node without placement.
    #[error("node {0} has no placement")]
    Unplaced(NodeId),
    /// An edge-only plan whose output is computed on the cloud.
    #[error("model output {0} is computed on the cloud but nothing is sent to it")]
    OutputOnCloud(ValueId),
}

/// Name of slot `s`'s payload in both partitions.
pub fn slot_name(s: usize) -> String {
    format!("boundary_{s}")
}

/// Cuts `g` (Split phase, verified) into its edge and cloud graphs.
pub fn partition(g: &Graph) -> Result<Partitions, PartitionError> {
    if g.phase != Phase::Split {
        return Err(PartitionError::NotSplit);
    }
    let slots = boundary_slots(g)?;
    let edge = edge_graph(g, &slots)?;
    let cloud = if slots.is_empty() { None } else { Some(cloud_graph(g, &slots)?) };
    Ok(Partitions { edge, cloud, slots })
}

/// A partition being built: the new graph and the old → new value map.
struct Builder<'g> {
    src: &'g Graph,
    dst: Graph,
    map: HashMap<ValueId, ValueId>,
    side: Placement,
}

impl<'g> Builder<'g> {
    fn new(src: &'g Graph, side: Placement) -> Self {
        let mut dst = Graph::new(src.name.clone());
        dst.phase = Phase::Dataflow;
        Builder { src, dst, map: HashMap::new(), side }
    }

    fn side_name(&self) -> &'static str {
        self.side.name()
    }

    /// The new value of `v`, copying a constant from the other side on first use.
    fn value(
        &mut self,
        v: ValueId,
        reader: &dyn Fn() -> String,
    ) -> Result<ValueId, PartitionError> {
        if let Some(&m) = self.map.get(&v) {
            return Ok(m);
        }
        match self.src.const_value(v) {
            Some(t) => {
                let c = self.dst.add_const((**t).clone());
                self.map.insert(v, c);
                Ok(c)
            }
            None => {
                Err(PartitionError::Crossing { side: self.side_name(), reader: reader(), value: v })
            }
        }
    }

    /// Copies node `n` (operands already available) into the partition.
    fn copy_node(&mut self, n: NodeId) -> Result<(), PartitionError> {
        let node = &self.src.nodes[n];
        let inputs = node
            .inputs
            .iter()
            .map(|&v| self.value(v, &|| format!("{} node {n}", node.op)))
            .collect::<Result<Vec<_>, _>>()?;
        let tys = node.outputs.iter().map(|&v| self.src.ty(v).clone()).collect();
        let m = self.dst.add_node_typed(node.op, node.attrs.clone(), inputs, tys);
        self.dst.nodes[m].name = node.name.clone();
        let outs = self.dst.nodes[m].outputs.clone();
        for (&old, new) in node.outputs.iter().zip(outs) {
            self.map.insert(old, new);
        }
        Ok(())
    }

    /// Copies every node placed on this side except `skip`'s ops, in order. Constants are
    /// copied lazily by [`Builder::value`], so an unused one is not duplicated.
    fn copy_side(&mut self, skip: OpKind) -> Result<(), PartitionError> {
        for &n in &self.src.order {
            let node = &self.src.nodes[n];
            if node.op == OpKind::Const || node.op == skip {
                continue;
            }
            match self.src.placement.get(&n) {
                Some(&p) if p == self.side => self.copy_node(n)?,
                Some(_) => {}
                None => return Err(PartitionError::Unplaced(n)),
            }
        }
        Ok(())
    }

    /// Makes `v` (an old value) an output named `name`.
    fn output(&mut self, v: ValueId, name: Option<String>) -> Result<(), PartitionError> {
        let m = self.value(v, &|| "model output".to_string())?;
        self.dst.values[m].name = name;
        self.dst.outputs.push(m);
        Ok(())
    }
}

fn edge_graph(g: &Graph, slots: &[BoundarySlot]) -> Result<Graph, PartitionError> {
    let mut b = Builder::new(g, Placement::Edge);
    for &v in &g.inputs {
        let m = b.dst.add_input(g.values[v].name.clone(), g.ty(v).clone());
        b.map.insert(v, m);
    }
    b.copy_side(OpKind::Send)?;
    if slots.is_empty() {
        for &v in &g.outputs {
            if g.value_placement(v) == Some(Placement::Cloud) {
                return Err(PartitionError::OutputOnCloud(v));
            }
            b.output(v, g.values[v].name.clone())?;
        }
    } else {
        for s in slots {
            let sent = g.nodes[s.send].inputs[0];
            b.output(sent, Some(slot_name(s.slot)))?;
        }
    }
    Ok(b.dst)
}

fn cloud_graph(g: &Graph, slots: &[BoundarySlot]) -> Result<Graph, PartitionError> {
    let mut b = Builder::new(g, Placement::Cloud);
    for s in slots {
        let r = g.nodes[s.recv].outputs[0];
        let m = b.dst.add_input(Some(slot_name(s.slot)), g.ty(r).clone());
        b.map.insert(r, m);
    }
    b.copy_side(OpKind::Recv)?;
    for &v in &g.outputs {
        b.output(v, g.values[v].name.clone())?;
    }
    Ok(b.dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insert_boundary::{annotate, insert_boundary, SplitSpec};
    use asplit_ir::interp;
    use asplit_ir::parse::parse;
    use asplit_ir::quant::QuantParams;
    use asplit_ir::tensor::{seeded_uniform, Tensor};
    use asplit_ir::verify::verify;

    /// conv → pool → conv (+ skip from the pool, a constant also read later) → mean → matmul.
    const NET: &str = r#"
graph @net(%x: f32[1,3,8,8] "x") {
  %w1 = const {value = tensor<f32[6,3,3,3]: random(seed = 1)>} : f32[6,3,3,3]
  %c1 = conv(%x, %w1) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1,6,8,8]
  %p = max_pool(%c1) {kernel_shape = [2, 2], strides = [2, 2], pads = [0, 0, 0, 0], dilations = [1, 1]} : f32[1,6,4,4]
  %w2 = const {value = tensor<f32[6,6,3,3]: random(seed = 2)>} : f32[6,6,3,3]
  %b2 = const {value = tensor<f32[6]: splat(0.1)>} : f32[6]
  %c2 = conv(%p, %w2, %b2, %p) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1,6,4,4]
  %g = reduce_mean(%c2) {axes = [2, 3], keepdims = 0} : f32[1,6]
  %g2 = add(%g, %b2) : f32[1,6]
  %fc = const {value = tensor<f32[6,5]: random(seed = 3)>} : f32[6,5]
  %y = matmul(%g2, %fc) : f32[1,5]
  return %y "y"
}
"#;

    /// The Split graph with the first `n` compute nodes on the edge, every edge result
    /// quantized at 4 bits over [-1, 4] (clipping is fine: the test compares programs, not
    /// accuracy), and the input sent raw when nothing runs on the edge.
    fn split(n: usize, quantize_input: bool) -> (Graph, Vec<Tensor>) {
        let mut g = parse(NET).expect("NET parses");
        let nodes: Vec<NodeId> =
            g.live_nodes().filter(|(_, d)| d.op != OpKind::Const).map(|(n, _)| n).collect();
        let mut spec =
            SplitSpec { edge_nodes: nodes[..n].iter().copied().collect(), ..Default::default() };
        for &e in &nodes[..n] {
            for &v in &g.nodes[e].outputs {
                spec.activations.insert(v, QuantParams::asymmetric(4, -1.0, 4.0).unwrap());
            }
        }
        if n == 0 {
            let p = quantize_input.then(|| QuantParams::asymmetric(8, -1.0, 1.0).unwrap());
            spec.raw_inputs.push((0, p));
        }
        annotate(&mut g, &spec).expect("annotates");
        insert_boundary(&mut g).expect("lowers");
        verify(&g).expect("Split graph verifies");
        let ty = g.ty(g.inputs[0]).clone();
        let x = Tensor::from_f32(ty.shape.clone(), seeded_uniform(7, ty.numel(), -1.0, 1.0));
        (g, vec![x.expect("sizes match")])
    }

    /// Runs edge then cloud, like the two programs do.
    fn run_parts(p: &Partitions, x: &[Tensor]) -> Vec<Tensor> {
        let sent = interp::run(&p.edge, x).expect("edge runs");
        match &p.cloud {
            Some(c) => interp::run(c, &sent).expect("cloud runs"),
            None => sent,
        }
    }

    #[test]
    fn edge_then_cloud_computes_exactly_what_the_split_graph_computes() {
        for (n, qin) in
            [(0, false), (0, true), (1, false), (2, false), (3, false), (5, false), (6, false)]
        {
            let (g, x) = split(n, qin);
            let p = partition(&g).unwrap_or_else(|e| panic!("n = {n}: {e}"));
            verify(&p.edge).unwrap_or_else(|e| panic!("edge of n = {n}: {e:?}\n{}", p.edge));
            if let Some(c) = &p.cloud {
                verify(c).unwrap_or_else(|e| panic!("cloud of n = {n}: {e:?}\n{c}"));
                assert_eq!(c.inputs.len(), p.slots.len());
            }
            let want = interp::run(&g, &x).expect("split graph runs");
            assert_eq!(run_parts(&p, &x), want, "n = {n}, quantized input {qin}");
        }
    }

    #[test]
    fn slots_name_the_payloads_and_edge_only_has_no_cloud() {
        let (g, _) = split(2, false);
        let p = partition(&g).expect("partitions");
        assert!(!p.slots.is_empty());
        let names: Vec<_> = p.edge.outputs.iter().map(|&v| p.edge.values[v].name.clone()).collect();
        assert_eq!(names[0].as_deref(), Some("boundary_0"));
        let cloud = p.cloud.expect("a cloud");
        assert_eq!(cloud.values[cloud.inputs[0]].name.as_deref(), Some("boundary_0"));
        assert_eq!(cloud.values[cloud.outputs[0]].name.as_deref(), Some("y"));
        // The constant %b2 is read on both sides when the split is after %c2's conv.
        let (g, _) = split(6, false);
        let p = partition(&g).expect("partitions");
        assert!(p.cloud.is_none() && p.slots.is_empty());
        assert_eq!(p.edge.values[p.edge.outputs[0]].name.as_deref(), Some("y"));
    }

    #[test]
    fn a_graph_that_is_not_split_is_refused() {
        let g = parse(NET).expect("NET parses");
        assert_eq!(partition(&g).unwrap_err(), PartitionError::NotSplit);
    }
}
