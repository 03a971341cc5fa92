//! Small graph-editing helpers shared by the passes: use counts, replacing every use of a
//! value, removing nodes, and erasing dead ones.
//!
//! They keep the graph's invariants that the verifier checks (results point back to their
//! node, `order` lists live nodes) and keep graph-output names stable: a value that replaces
//! a named graph output inherits its name, and a replacement that would rename or merge
//! named outputs is refused ([`can_replace`]). They do not reorder nodes.

use asplit_ir::graph::{Graph, NodeId, ValueDef, ValueId};
use std::collections::{HashMap, HashSet};

/// How many times each value is read by live nodes or listed as a graph output.
pub fn use_counts(g: &Graph) -> HashMap<ValueId, usize> {
    let mut uses = HashMap::new();
    for (_, node) in g.live_nodes() {
        for &v in &node.inputs {
            *uses.entry(v).or_insert(0) += 1;
        }
    }
    for &v in &g.outputs {
        *uses.entry(v).or_insert(0) += 1;
    }
    uses
}

/// Whether every use of `from` may be redirected to `to` without changing the graph's
/// interface: if `from` is a graph output, `to` must be neither a graph input nor another
/// graph output (it would be renamed, or two outputs merged). Names of other values are
/// not part of the interface and do not matter.
pub fn can_replace(g: &Graph, from: ValueId, to: ValueId) -> bool {
    if from == to {
        return false;
    }
    if !g.outputs.contains(&from) {
        return true;
    }
    let to_is_input = matches!(g.values[to].def, ValueDef::Input(_));
    !to_is_input && !g.outputs.contains(&to)
}

/// Redirects every use of `from` (node operands and graph outputs) to `to`. When `from` is
/// a graph output, `to` takes over its name. Callers check [`can_replace`] first.
pub fn replace_all_uses(g: &mut Graph, from: ValueId, to: ValueId) {
    let live: Vec<NodeId> = g.order.clone();
    for n in live {
        for v in &mut g.nodes[n].inputs {
            if *v == from {
                *v = to;
            }
        }
    }
    let mut is_output = false;
    for v in &mut g.outputs {
        if *v == from {
            *v = to;
            is_output = true;
        }
    }
    if is_output {
        g.values[to].name = g.values[from].name.clone();
    }
}

/// Removes the nodes in `dead` from `order` (they stay in the arena, unreferenced).
pub fn remove_nodes(g: &mut Graph, dead: &HashSet<NodeId>) {
    if !dead.is_empty() {
        g.order.retain(|n| !dead.contains(n));
    }
}

/// Erases every live node none of whose results is used (transitively); graph outputs are
/// kept. Returns how many nodes were erased.
pub fn erase_dead(g: &mut Graph) -> usize {
    let mut needed: HashSet<ValueId> = g.outputs.iter().copied().collect();
    let mut dead = HashSet::new();
    for &n in g.order.iter().rev() {
        let node = &g.nodes[n];
        if node.outputs.iter().any(|v| needed.contains(v)) {
            needed.extend(node.inputs.iter().copied());
        } else {
            dead.insert(n);
        }
    }
    remove_nodes(g, &dead);
    dead.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::parse::parse;

    #[test]
    fn replacing_an_output_moves_its_name() {
        let mut g = parse(
            "graph @g(%x: f32[2] \"x\") {\n  %a = relu(%x) : f32[2]\n  %b = identity(%a) : f32[2]\n  return %b \"y\"\n}\n",
        )
        .unwrap();
        let b = g.outputs[0];
        let a = g.nodes[g.order[0]].outputs[0];
        let x = g.inputs[0];
        assert!(can_replace(&g, b, a));
        assert!(!can_replace(&g, b, x), "would rename the input");
        assert!(!can_replace(&g, b, b));
        assert!(can_replace(&g, a, x), "a is not an output");
        // An intermediate's stale name does not block the rewrite and is overwritten.
        g.values[a].name = Some("stale".into());
        replace_all_uses(&mut g, b, a);
        assert_eq!(erase_dead(&mut g), 1);
        assert_eq!(
            g.to_string(),
            "graph @g(%0: f32[2] \"x\") {\n  %1 = relu(%0) : f32[2]\n  return %1 \"y\"\n}\n"
        );
    }
}
