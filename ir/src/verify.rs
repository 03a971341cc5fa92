//! The verifier: checks a graph's structural and type invariants and reports every
//! violation, not just the first.
//!
//! It checks operand and result counts and attribute names and kinds against the op table,
//! that every operand is defined before use (so `order` is topological), that result types
//! match the shape rule, and that graph inputs and outputs are well formed. It does not
//! check numeric contents (a constant may hold NaN) and never changes the graph.

use crate::graph::{Graph, NodeId, ValueDef, ValueId};
use std::collections::HashSet;
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
            if node.attrs.get(d.name).is_none() {
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
