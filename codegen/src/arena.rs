//! The scratch-arena planner: where every value of a graph lives while `forward` runs.
//!
//! Graph inputs live in the caller's input buffers, a value computed as a graph output in
//! the caller's output buffer, everything else at an offset in one scratch arena. Two
//! scratch values share bytes only when their lifetimes — from the position of the node that
//! defines them to the position of their last reader — do not overlap (a kernel's operands
//! and results never share bytes: its pointers are `noalias`). `reshape` and `identity`
//! results alias their operand (same bytes, no kernel) unless they are graph outputs, and so
//! does the `dequantize` of a fused fake quantization (`lower::boundary::aliases_fake_quant`:
//! its `quantize` stores the dequantized values); an alias extends its root's lifetime. A
//! `dequantize` result no one reads (`lower::boundary::unread_dequantize`: the weight layers
//! decode its packed codes themselves) takes no bytes. Placement is greedy first-fit, largest
//! value first, at 64-byte alignment. Constants live in the kernels that read them (not
//! here); an output that is a graph input, a constant, or a repeat of another output is
//! copied at the end.
//!
//! This file plans only; `forward` emits the calls and copies.

use asplit_ir::{Graph, NodeId, OpKind, ValueDef, ValueId};
use std::collections::HashMap;

/// Alignment of every scratch offset, in bytes.
pub const ALIGN: u64 = 64;

/// Where a value lives during `forward`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Loc {
    /// The i-th input buffer.
    Input(usize),
    /// The j-th output buffer.
    Output(usize),
    /// At this byte offset in the scratch arena.
    Scratch(u64),
    /// A constant (embedded by the kernels that read it).
    Const,
}

/// The plan of one graph.
#[derive(Clone, Debug, Default)]
pub struct ArenaPlan {
    /// Location of every value that is read or written by `forward`.
    pub locs: HashMap<ValueId, Loc>,
    /// Nodes whose result aliases their operand (no kernel is called for them).
    pub aliases: Vec<NodeId>,
    /// Outputs filled by a copy at the end: (value, output index).
    pub copies: Vec<(ValueId, usize)>,
    /// Bytes of scratch needed.
    pub size: u64,
    /// Largest total size of scratch values live at one node (a lower bound of `size`).
    pub peak_live: u64,
    /// Sum of the sizes of all scratch values (what no reuse would need).
    pub total: u64,
}

/// True when node `n`'s result can share its operand's bytes.
fn is_alias(g: &Graph, n: NodeId, outputs: &[ValueId]) -> bool {
    let node = &g.nodes[n];
    (matches!(node.op, OpKind::Reshape | OpKind::Identity)
        || crate::lower::boundary::aliases_fake_quant(g, n))
        && node.inputs.len() == 1
        && node.outputs.len() == 1
        && g.const_value(node.inputs[0]).is_none()
        && !outputs.contains(&node.outputs[0])
}

struct Item {
    value: ValueId,
    size: u64,
    def: usize,
    last: usize,
}

/// Plans the arena of `g` (whose `order` is topological).
pub fn plan(g: &Graph) -> ArenaPlan {
    let mut p = ArenaPlan::default();
    for (i, &v) in g.inputs.iter().enumerate() {
        p.locs.insert(v, Loc::Input(i));
    }
    // Root of each alias chain, and output locations.
    let mut root: HashMap<ValueId, ValueId> = HashMap::new();
    for (j, &v) in g.outputs.iter().enumerate() {
        let computed =
            matches!(g.values[v].def, ValueDef::Node(n, _) if g.nodes[n].op != OpKind::Const);
        if computed && !p.locs.contains_key(&v) {
            p.locs.insert(v, Loc::Output(j));
        } else {
            p.copies.push((v, j));
        }
    }
    let mut items: HashMap<ValueId, Item> = HashMap::new();
    for (pos, &n) in g.order.iter().enumerate() {
        let node = &g.nodes[n];
        if node.op == OpKind::Const {
            p.locs.insert(node.outputs[0], Loc::Const);
            continue;
        }
        for v in &node.inputs {
            let r = *root.get(v).unwrap_or(v);
            if let Some(it) = items.get_mut(&r) {
                it.last = it.last.max(pos);
            }
        }
        if is_alias(g, n, &g.outputs) {
            let src = node.inputs[0];
            let r = *root.get(&src).unwrap_or(&src);
            root.insert(node.outputs[0], r);
            p.aliases.push(n);
            continue;
        }
        for &v in &node.outputs {
            if !p.locs.contains_key(&v) {
                let size = if crate::lower::boundary::unread_dequantize(g, v) {
                    0
                } else {
                    g.values[v].ty.size_bytes() as u64
                };
                items.insert(v, Item { value: v, size, def: pos, last: pos });
            }
        }
    }
    let mut list: Vec<Item> = items.into_values().collect();
    list.sort_by(|a, b| b.size.cmp(&a.size).then(a.def.cmp(&b.def)).then(a.value.cmp(&b.value)));
    p.total = list.iter().map(|i| i.size).sum();
    p.peak_live = peak_live(&list, g.order.len());
    let mut placed: Vec<(u64, &Item)> = Vec::with_capacity(list.len());
    for it in &list {
        let off = first_fit(&placed, it);
        p.size = p.size.max(off + it.size);
        p.locs.insert(it.value, Loc::Scratch(off));
        placed.push((off, it));
    }
    for (v, r) in root {
        if let Some(&l) = p.locs.get(&r) {
            p.locs.insert(v, l);
        }
    }
    p
}

fn overlaps(a: &Item, b: &Item) -> bool {
    a.def <= b.last && b.def <= a.last
}

fn round_up(x: u64) -> u64 {
    x.div_ceil(ALIGN) * ALIGN
}

/// Lowest aligned offset where `it` fits among the placed items live at the same time.
fn first_fit(placed: &[(u64, &Item)], it: &Item) -> u64 {
    if it.size == 0 {
        return 0;
    }
    let mut busy: Vec<(u64, u64)> = placed
        .iter()
        .filter(|(_, o)| o.size > 0 && overlaps(o, it))
        .map(|&(off, o)| (off, off + o.size))
        .collect();
    busy.sort_unstable();
    let mut off = 0;
    for (start, end) in busy {
        if off + it.size <= start {
            break;
        }
        off = off.max(round_up(end));
    }
    off
}

fn peak_live(items: &[Item], positions: usize) -> u64 {
    let mut delta = vec![0i128; positions + 1];
    for it in items {
        delta[it.def] += i128::from(it.size);
        delta[it.last + 1] -= i128::from(it.size);
    }
    let mut live = 0i128;
    let mut peak = 0i128;
    for d in delta {
        live += d;
        peak = peak.max(live);
    }
    peak as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::{Attr, Attrs, DType, TensorType};

    fn chain(len: usize, n: usize) -> (Graph, Vec<ValueId>) {
        let mut g = Graph::new("chain");
        let ty = TensorType::new(DType::F32, [n]);
        let mut v = g.add_input(Some("x".into()), ty.clone());
        let mut vals = vec![v];
        for _ in 0..len {
            let node = g.add_node_typed(OpKind::Relu, Attrs::new(), vec![v], vec![ty.clone()]);
            v = g.nodes[node].outputs[0];
            vals.push(v);
        }
        g.outputs.push(v);
        (g, vals)
    }

    fn scratch(p: &ArenaPlan, v: ValueId) -> u64 {
        match p.locs[&v] {
            Loc::Scratch(o) => o,
            other => panic!("{v} is at {other:?}"),
        }
    }

    #[test]
    fn a_chain_needs_two_buffers_not_one_per_value() {
        let (g, vals) = chain(6, 100);
        let p = plan(&g);
        assert_eq!(p.locs[&vals[0]], Loc::Input(0));
        assert_eq!(p.locs[&vals[6]], Loc::Output(0));
        // 5 intermediates of 400 bytes, alternating between two 64-aligned slots.
        assert_eq!(p.total, 2000);
        assert_eq!(p.peak_live, 800);
        assert_eq!(p.size, 448 + 400);
        for w in vals[1..6].windows(2) {
            assert_ne!(scratch(&p, w[0]), scratch(&p, w[1]), "operand and result share bytes");
        }
    }

    #[test]
    fn overlapping_lifetimes_never_share_bytes() {
        // x -> a, b (both live until the add) -> sum; a third value after the add reuses.
        let mut g = Graph::new("g");
        let ty = TensorType::new(DType::F32, [16]);
        let x = g.add_input(None, ty.clone());
        let a = g.add_node_typed(OpKind::Relu, Attrs::new(), vec![x], vec![ty.clone()]);
        let a = g.nodes[a].outputs[0];
        let b = g.add_node_typed(OpKind::Exp, Attrs::new(), vec![x], vec![ty.clone()]);
        let b = g.nodes[b].outputs[0];
        let s = g.add_node_typed(OpKind::Add, Attrs::new(), vec![a, b], vec![ty.clone()]);
        let s = g.nodes[s].outputs[0];
        let c = g.add_node_typed(OpKind::Exp, Attrs::new(), vec![s], vec![ty.clone()]);
        let c = g.nodes[c].outputs[0];
        g.outputs.push(c);
        let p = plan(&g);
        let (oa, ob, os) = (scratch(&p, a), scratch(&p, b), scratch(&p, s));
        assert_ne!(oa, ob);
        assert_ne!(os, oa);
        assert_ne!(os, ob);
        assert!(p.size >= p.peak_live && p.size <= p.total + 2 * ALIGN);
    }

    #[test]
    fn reshape_aliases_and_extends_its_root() {
        let mut g = Graph::new("g");
        let ty = TensorType::new(DType::F32, [2, 8]);
        let flat = TensorType::new(DType::F32, [16]);
        let x = g.add_input(None, ty.clone());
        let a = g.add_node_typed(OpKind::Relu, Attrs::new(), vec![x], vec![ty.clone()]);
        let a = g.nodes[a].outputs[0];
        let attrs = Attrs::new().with("shape", Attr::Ints(vec![16]));
        let r = g.add_node_typed(OpKind::Reshape, attrs, vec![a], vec![flat.clone()]);
        let r = g.nodes[r].outputs[0];
        let b = g.add_node_typed(OpKind::Exp, Attrs::new(), vec![x], vec![ty.clone()]);
        let b = g.nodes[b].outputs[0];
        let bf = g.add_node_typed(
            OpKind::Reshape,
            Attrs::new().with("shape", Attr::Ints(vec![16])),
            vec![b],
            vec![flat.clone()],
        );
        let bf = g.nodes[bf].outputs[0];
        let s = g.add_node_typed(OpKind::Add, Attrs::new(), vec![r, bf], vec![flat]);
        g.outputs.push(g.nodes[s].outputs[0]);
        let p = plan(&g);
        assert_eq!(p.aliases.len(), 2);
        assert_eq!(p.locs[&r], p.locs[&a]);
        // `a` is read (through r) by the add, after `b` is defined: they must not share.
        assert_ne!(scratch(&p, a), scratch(&p, b));
    }

    #[test]
    fn outputs_that_are_inputs_or_repeats_are_copies() {
        let (mut g, vals) = chain(1, 4);
        g.outputs.push(vals[1]);
        g.outputs.push(vals[0]);
        let p = plan(&g);
        assert_eq!(p.locs[&vals[1]], Loc::Output(0));
        assert_eq!(p.copies, vec![(vals[1], 1), (vals[0], 2)]);
        assert_eq!(p.size, 0);
    }
}
