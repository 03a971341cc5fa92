//! The verifier: checks a graph's structural and type invariants and reports every
//! violation, not just the first.
//!
//! It checks operand and result counts and attribute names and kinds against the op table,
//! that every operand is defined before use (so `order` is topological), that result types
//! match the shape rule, and that graph inputs and outputs are well formed. It does not
//! check numeric contents (a constant may hold NaN) and never changes the graph.
//!
//! Planned and Split graphs (see [`crate::graph::Phase`]) are also checked for their
//! planning invariants ([`check_plan`]): every live node is placed; an edge node never
//! reads a cloud value; quantization annotations sit on f32 edge values and are valid for
//! their shape (`QuantParams::validate`); in the Split phase, a cloud node reads an edge
//! value only as `recv` of a `send` (constants excepted: each program embeds the constants
//! it reads), send slots are distinct and match their recv, no annotation is left (the
//! quantization is explicit ops), and the cloud produces every graph output whenever it
//! runs anything. A graph that is not planned carries no annotations and no send/recv.

use crate::graph::{Graph, NodeId, Phase, Placement, ValueDef, ValueId};
use crate::ops::{AttrDefault, OpKind};
use crate::types::DType;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// One violated invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Position of the offending node in `order`, if a node is at fault.
    pub position: Option<usize>,
    /// Human-readable location: `node 12 (conv "Conv_3")` or `graph`.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Checks every invariant; `Ok` when there is no violation.
pub fn verify(g: &Graph) -> Result<(), Vec<Violation>> {
    let mut v = Verifier { g, out: Vec::new(), defined: HashSet::new() };
    v.check_inputs();
    for (pos, &n) in g.order.iter().enumerate() {
        v.check_node(pos, n);
    }
    v.check_outputs();
    check_plan(&mut v);
    if v.out.is_empty() {
        Ok(())
    } else {
        Err(v.out)
    }
}

struct Verifier<'g> {
    g: &'g Graph,
    out: Vec<Violation>,
    defined: HashSet<ValueId>,
}

impl Verifier<'_> {
    fn graph_err(&mut self, message: String) {
        self.out.push(Violation { position: None, location: "graph".into(), message });
    }

    fn node_err(&mut self, pos: usize, n: NodeId, message: String) {
        let node = &self.g.nodes[n];
        let location = match &node.name {
            Some(name) => format!("node {pos} ({} \"{name}\")", node.op),
            None => format!("node {pos} ({})", node.op),
        };
        self.out.push(Violation { position: Some(pos), location, message });
    }

    fn check_inputs(&mut self) {
        for (i, &v) in self.g.inputs.iter().enumerate() {
            if self.g.values.get(v).map(|d| d.def) != Some(ValueDef::Input(i)) {
                self.graph_err(format!("input {i} is not defined as graph input {i}"));
            }
            if !self.defined.insert(v) {
                self.graph_err(format!("input {i} is listed twice"));
            }
        }
    }

    fn check_outputs(&mut self) {
        if self.g.outputs.is_empty() {
            self.graph_err("the graph has no outputs".into());
        }
        for (i, v) in self.g.outputs.iter().enumerate() {
            if !self.defined.contains(v) {
                self.graph_err(format!("output {i} is not defined by an input or a live node"));
            }
        }
    }

    fn check_node(&mut self, pos: usize, n: NodeId) {
        let g = self.g;
        let node = &g.nodes[n];
        let def = node.op.def();
        let count = node.inputs.len();
        if count < def.min_operands() || def.max_operands().is_some_and(|m| count > m) {
            let want = match def.max_operands() {
                None => format!("at least {}", def.min_operands()),
                Some(m) if m == def.min_operands() => format!("{m}"),
                Some(m) => format!("{} to {m}", def.min_operands()),
            };
            self.node_err(pos, n, format!("takes {want} operands, has {count}"));
        }
        for (i, v) in node.inputs.iter().enumerate() {
            if !self.defined.contains(v) {
                self.node_err(pos, n, format!("operand {i} is used before it is defined"));
            }
        }
        self.check_attrs(pos, n);
        let expected = def.num_results(&node.attrs);
        if node.outputs.len() != expected {
            self.node_err(
                pos,
                n,
                format!("has {} results, the op gives {expected}", node.outputs.len()),
            );
        }
        for (i, &v) in node.outputs.iter().enumerate() {
            if g.values.get(v).map(|d| d.def) != Some(ValueDef::Node(n, i)) {
                self.node_err(pos, n, format!("result {i} does not point back to this node"));
            }
            if !self.defined.insert(v) {
                self.node_err(pos, n, format!("result {i} is defined twice"));
            }
        }
        self.check_types(pos, n);
    }

    fn check_attrs(&mut self, pos: usize, n: NodeId) {
        let node = &self.g.nodes[n];
        let def = node.op.def();
        for (name, value) in node.attrs.iter() {
            match def.attr(name) {
                None => self.node_err(pos, n, format!("unknown attribute `{name}`")),
                Some(d) if d.kind != value.kind() => self.node_err(
                    pos,
                    n,
                    format!("attribute `{name}` should be {}, found {}", d.kind, value.kind()),
                ),
                Some(_) => {}
            }
        }
        for d in def.attrs {
            if node.attrs.get(d.name).is_none() && d.default != AttrDefault::Absent {
                self.node_err(pos, n, format!("missing attribute `{}`", d.name));
            }
        }
    }

    fn check_types(&mut self, pos: usize, n: NodeId) {
        let g = self.g;
        let node = &g.nodes[n];
        if node.inputs.iter().any(|&v| g.values.get(v).is_none()) {
            return;
        }
        let tys: Vec<_> = node.inputs.iter().map(|&v| g.values[v].ty.clone()).collect();
        let cx = crate::shape::ShapeCx { op: node.op, inputs: &tys, attrs: &node.attrs };
        match (node.op.def().shape)(&cx) {
            Err(e) => self.node_err(pos, n, format!("shape rule failed: {e}")),
            Ok(want) => {
                for (i, (&v, w)) in node.outputs.iter().zip(&want).enumerate() {
                    let have = &g.values[v].ty;
                    if have != w {
                        self.node_err(
                            pos,
                            n,
                            format!("result {i} has type {have}, the shape rule gives {w}"),
                        );
                    }
                }
            }
        }
    }
}

/// The planning invariants of the module doc.
fn check_plan(v: &mut Verifier) {
    let g = v.g;
    if g.phase == Phase::Dataflow {
        let placed = g.order.iter().any(|n| g.placement.contains_key(n));
        let quantized = g.quant.keys().any(|x| v.defined.contains(x));
        if placed || quantized {
            v.graph_err(
                "placement or quantization annotations on a graph without `phase(planned)` or \
                 `phase(split)`"
                    .into(),
            );
        }
    }
    for (pos, &n) in g.order.iter().enumerate() {
        if g.nodes.get(n).is_some() {
            v.check_node_plan(pos, n);
        }
    }
    if g.phase != Phase::Dataflow {
        v.check_quant();
    }
    if g.phase == Phase::Split {
        v.check_slots();
        v.check_split_outputs();
    }
}

impl Verifier<'_> {
    /// True when `x` is produced by a `const` node (readable from either side).
    fn is_const(&self, x: ValueId) -> bool {
        self.g
            .producer(x)
            .is_some_and(|p| self.g.nodes.get(p).is_some_and(|d| d.op == OpKind::Const))
    }

    fn check_node_plan(&mut self, pos: usize, n: NodeId) {
        let g = self.g;
        let node = &g.nodes[n];
        let boundary = matches!(node.op, OpKind::Send | OpKind::Recv);
        if boundary && g.phase != Phase::Split {
            self.node_err(pos, n, format!("`{}` appears only in a `phase(split)` graph", node.op));
        }
        if g.phase == Phase::Dataflow {
            return;
        }
        let Some(&place) = g.placement.get(&n) else {
            self.node_err(pos, n, "has no placement (`@edge` or `@cloud`)".into());
            return;
        };
        match (node.op, place) {
            (OpKind::Send, Placement::Cloud) => {
                self.node_err(pos, n, "`send` runs on the edge".into())
            }
            (OpKind::Recv, Placement::Edge) => {
                self.node_err(pos, n, "`recv` runs on the cloud".into())
            }
            _ => {}
        }
        for (i, &x) in node.inputs.iter().enumerate() {
            if self.is_const(x) || g.values.get(x).is_none() {
                continue;
            }
            match (place, g.value_placement(x)) {
                (Placement::Edge, Some(Placement::Cloud)) => self.node_err(
                    pos,
                    n,
                    format!("runs on the edge but operand {i} is produced on the cloud"),
                ),
                (Placement::Cloud, Some(Placement::Edge)) if g.phase == Phase::Split => {
                    let from_send = g.producer(x).is_some_and(|p| g.nodes[p].op == OpKind::Send);
                    if !(node.op == OpKind::Recv && from_send) {
                        self.node_err(
                            pos,
                            n,
                            format!(
                                "runs on the cloud but reads operand {i}, an edge value, directly \
                                 (only `recv` of a `send` crosses the boundary)"
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Where a value is defined, for messages: its producer's position, or the graph.
    fn value_err(&mut self, x: ValueId, positions: &HashMap<NodeId, usize>, message: String) {
        match self.g.producer(x).and_then(|p| positions.get(&p).map(|&pos| (p, pos))) {
            Some((p, pos)) => self.node_err(pos, p, message),
            None => self.graph_err(message),
        }
    }

    /// Quantization annotations: f32 edge values, parameters valid for the shape; none left
    /// in the Split phase.
    fn check_quant(&mut self) {
        let g = self.g;
        let positions: HashMap<NodeId, usize> =
            g.order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut annotated: Vec<ValueId> =
            g.quant.keys().copied().filter(|x| self.defined.contains(x)).collect();
        annotated.sort();
        for x in annotated {
            let (ty, p) = (&g.values[x].ty, &g.quant[&x]);
            let what = match g.values[x].def {
                ValueDef::Input(i) => format!("graph input {i}"),
                ValueDef::Node(_, r) => format!("result {r}"),
            };
            if g.phase == Phase::Split {
                let m = format!("{what} keeps a quantization annotation in the Split phase (insert-boundary makes it explicit ops)");
                self.value_err(x, &positions, m);
                continue;
            }
            if ty.dtype != DType::F32 {
                self.value_err(
                    x,
                    &positions,
                    format!("{what} is {ty}; only f32 values are quantized"),
                );
            }
            if g.value_placement(x) != Some(Placement::Edge) {
                self.value_err(x, &positions, format!("{what} is quantized but not on the edge"));
            }
            if let Err(e) = p.validate(&ty.shape) {
                self.value_err(x, &positions, format!("{what}: bad quantization for {ty}: {e}"));
            }
        }
    }

    /// Send slots are distinct; each recv reads a send with its own slot.
    fn check_slots(&mut self) {
        let g = self.g;
        let mut seen: HashMap<i64, usize> = HashMap::new();
        for (pos, &n) in g.order.iter().enumerate() {
            let Some(node) = g.nodes.get(n) else { continue };
            let slot = node.attrs.int("slot").ok();
            match node.op {
                OpKind::Send => {
                    if let Some(s) = slot {
                        if let Some(first) = seen.insert(s, pos) {
                            self.node_err(
                                pos,
                                n,
                                format!("slot {s} is already sent by node {first}"),
                            );
                        }
                    }
                }
                OpKind::Recv => {
                    let send = node.inputs.first().and_then(|&x| g.producer(x));
                    let send_slot = send
                        .filter(|&p| g.nodes[p].op == OpKind::Send)
                        .map(|p| g.nodes[p].attrs.int("slot").ok());
                    match send_slot {
                        None => {
                            self.node_err(pos, n, "`recv` must read the result of a `send`".into())
                        }
                        Some(s) if s != slot => self.node_err(
                            pos,
                            n,
                            format!("`recv` slot {slot:?} differs from its `send`'s slot {s:?}"),
                        ),
                        Some(_) => {}
                    }
                }
                _ => {}
            }
        }
    }

    /// When the cloud runs anything, it returns every graph output.
    fn check_split_outputs(&mut self) {
        let g = self.g;
        let cloud_runs = g.order.iter().any(|n| {
            g.placement.get(n) == Some(&Placement::Cloud)
                && g.nodes.get(*n).is_some_and(|d| d.op != OpKind::Const)
        });
        if !cloud_runs {
            return;
        }
        for (i, &x) in g.outputs.iter().enumerate() {
            if g.values.get(x).is_some()
                && !self.is_const(x)
                && g.value_placement(x) == Some(Placement::Edge)
            {
                self.graph_err(format!(
                    "output {i} is an edge value, but the cloud returns the outputs: it must cross \
                     the boundary"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;
    use crate::types::{DType, TensorType};

    fn f32s(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape.to_vec())
    }

    #[test]
    fn a_good_graph_verifies() {
        let mut g = Graph::new("ok");
        let x = g.add_input(Some("x".into()), f32s(&[2, 3]));
        let n = g.add_node(OpKind::Relu, Attrs::new(), vec![x]).unwrap();
        g.outputs = vec![g.nodes[n].outputs[0]];
        assert_eq!(verify(&g), Ok(()));
    }

    #[test]
    fn every_violation_is_reported() {
        let mut g = Graph::new("bad");
        let x = g.add_input(None, f32s(&[2, 3]));
        // Wrong result type, an unknown attribute, and a missing one.
        let attrs = Attrs::new().with("bogus", Attr::Int(1));
        let relu = g.add_node_typed(OpKind::Relu, attrs, vec![x], vec![f32s(&[3, 2])]);
        let softmax = g.add_node_typed(OpKind::Softmax, Attrs::new(), vec![x], vec![f32s(&[2, 3])]);
        // Too many operands.
        let y = g.nodes[relu].outputs[0];
        let add = g.add_node_typed(OpKind::Add, Attrs::new(), vec![x, y, x], vec![f32s(&[2, 3])]);
        // Use before definition: move `add` before `relu`.
        g.order = vec![add, relu, softmax];
        g.outputs = vec![g.nodes[softmax].outputs[0]];
        let v = verify(&g).unwrap_err();
        let text: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(has("node 0 (add): takes 2 operands, has 3"), "{text:?}");
        assert!(has("node 0 (add): operand 1 is used before it is defined"), "{text:?}");
        assert!(has("node 1 (relu): unknown attribute `bogus`"), "{text:?}");
        assert!(
            has("node 1 (relu): result 0 has type f32[3,2], the shape rule gives f32[2,3]"),
            "{text:?}"
        );
        assert!(has("node 2 (softmax): missing attribute `axis`"), "{text:?}");
        assert!(v.len() >= 5);
    }

    #[test]
    fn graph_level_violations() {
        let mut g = Graph::new("empty");
        let x = g.add_input(None, f32s(&[1]));
        g.inputs.push(x);
        let v = verify(&g).unwrap_err();
        let text: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        assert!(text.iter().any(|t| t == "graph: the graph has no outputs"), "{text:?}");
        assert!(
            text.iter().any(|t| t.contains("input 1 is not defined as graph input 1")),
            "{text:?}"
        );
    }
}
