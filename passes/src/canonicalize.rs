//! `canonicalize`: local simplifications that never make the graph bigger, applied until
//! nothing changes, followed by erasing the nodes they leave unused.
//!
//! ```text
//! before:  %a = identity(%x) : f32[1,4]
//!          %b = reshape(%a) {shape = [2, 2]} : f32[2,2]
//!          %c = reshape(%b) {shape = [4]} : f32[4]
//!          %d = transpose(%c) {perm = [0]} : f32[4]
//!          return %d "y"
//! after:   %c = reshape(%x) {shape = [4]} : f32[4]
//!          return %c "y"
//! ```
//! Rules (each counted under its statistic name):
//! - `identity`: `identity(x)` → `x` (ONNX Identity and Dropout import as `identity`);
//! - `noop-reshape`, `noop-expand`, `noop-cast`: to the operand's own shape or dtype → `x`;
//! - `noop-transpose`: a transpose by the identity permutation → `x`;
//! - `noop-pad`: a pad with all pads zero (any mode) → `x`;
//! - `single-operand`: `concat`, `sum`, `max`, `min` of one operand → `x`;
//! - `noop-split`: a split into one part → `x`;
//! - `noop-slice`: a slice with unit steps whose result has the operand's shape → `x`;
//! - `reshape-chain`: `reshape(reshape(x))` → `reshape(x)`;
//! - `transpose-chain`: `transpose(transpose(x, p), q)` → `transpose(x, p∘q)`;
//! - `erased`: nodes left without users.
//!
//! A forwarding rule is skipped when the node's result is a graph output that the operand
//! cannot stand in for (a graph input or another output), so the graph's interface and
//! output names never change. It does not fold constants (see `fold-constants`).

use crate::options::PassOptions;
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::{can_replace, erase_dead, remove_nodes, replace_all_uses};
use asplit_ir::attr::Attr;
use asplit_ir::graph::{Graph, NodeId, ValueId};
use asplit_ir::ops::OpKind;
use std::collections::HashSet;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "canonicalize",
    summary: "Remove identities and no-op reshapes/transposes/pads/casts; merge reshape and transpose chains.",
    options: &[],
    build,
};

fn build(_: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(Canonicalize))
}

/// The `canonicalize` pass.
#[derive(Debug, Default)]
pub struct Canonicalize;

/// Bound on sweeps over the graph; each sweep that changes something removes or shrinks a
/// node, so the fixpoint comes far sooner on any real graph.
const MAX_SWEEPS: usize = 64;

impl Pass for Canonicalize {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let mut changed = false;
        for _ in 0..MAX_SWEEPS {
            let swept = sweep(g, cx);
            changed |= swept;
            if !swept {
                break;
            }
        }
        let erased = erase_dead(g);
        cx.stat("erased", erased as i64);
        Ok(Changed::from_bool(changed || erased > 0))
    }
}

/// One pass over the live nodes; true when a rule fired.
fn sweep(g: &mut Graph, cx: &mut PassCx) -> bool {
    let mut removed = HashSet::new();
    let mut changed = false;
    for n in g.order.clone() {
        if let Some((rule, to)) = forward(g, n) {
            let from = g.nodes[n].outputs[0];
            if can_replace(g, from, to) {
                replace_all_uses(g, from, to);
                removed.insert(n);
                cx.stat(rule, 1);
                changed = true;
            }
        } else if let Some(rule) = merge_chain(g, n) {
            cx.stat(rule, 1);
            changed = true;
        }
    }
    remove_nodes(g, &removed);
    changed
}

/// The value `n`'s single result equals, when `n` is a no-op, with the rule's name.
fn forward(g: &Graph, n: NodeId) -> Option<(&'static str, ValueId)> {
    let node = &g.nodes[n];
    let [out] = node.outputs.as_slice() else { return None };
    let x = *node.inputs.first()?;
    let same_type = g.ty(x) == g.ty(*out);
    let rule = match node.op {
        OpKind::Identity => "identity",
        OpKind::Reshape if same_type => "noop-reshape",
        OpKind::Expand if same_type => "noop-expand",
        OpKind::Cast if same_type => "noop-cast",
        OpKind::Transpose if same_type && is_identity_perm(node.attrs.ints("perm").ok()?) => {
            "noop-transpose"
        }
        OpKind::Pad if same_type && node.attrs.ints("pads").ok()?.iter().all(|&p| p == 0) => {
            "noop-pad"
        }
        OpKind::Split if same_type => "noop-split",
        OpKind::Slice if same_type && node.attrs.ints("steps").ok()?.iter().all(|&s| s == 1) => {
            "noop-slice"
        }
        OpKind::Concat | OpKind::Sum | OpKind::Max | OpKind::Min
            if node.inputs.len() == 1 && same_type =>
        {
            "single-operand"
        }
        _ => return None,
    };
    Some((rule, x))
}

fn is_identity_perm(perm: &[i64]) -> bool {
    let rank = perm.len() as i64;
    perm.iter().enumerate().all(|(i, &p)| p == i as i64 || p + rank == i as i64)
}

/// Rewrites `reshape(reshape(x))` and `transpose(transpose(x))` into one node reading `x`
/// (the inner node stays for its other users, or is erased later).
fn merge_chain(g: &mut Graph, n: NodeId) -> Option<&'static str> {
    let op = g.nodes[n].op;
    if !matches!(op, OpKind::Reshape | OpKind::Transpose) {
        return None;
    }
    let inner = g.producer(*g.nodes[n].inputs.first()?)?;
    if g.nodes[inner].op != op {
        return None;
    }
    let x = *g.nodes[inner].inputs.first()?;
    if op == OpKind::Reshape {
        g.nodes[n].inputs[0] = x;
        return Some("reshape-chain");
    }
    let rank = g.ty(x).rank();
    let p = normalized_perm(g.nodes[inner].attrs.ints("perm").ok()?, rank)?;
    let q = normalized_perm(g.nodes[n].attrs.ints("perm").ok()?, rank)?;
    // Result dim i is inner dim q[i], which is x dim p[q[i]].
    let composed: Option<Vec<i64>> = q.iter().map(|&qi| p.get(qi).map(|&v| v as i64)).collect();
    let node = &mut g.nodes[n];
    node.attrs.set("perm", Attr::Ints(composed?));
    node.inputs[0] = x;
    Some("transpose-chain")
}

/// A permutation with negative entries resolved, if it is valid for `rank`.
fn normalized_perm(perm: &[i64], rank: usize) -> Option<Vec<usize>> {
    if perm.len() != rank {
        return None;
    }
    let out: Option<Vec<usize>> = perm
        .iter()
        .map(|&p| {
            let p = if p < 0 { p + rank as i64 } else { p };
            usize::try_from(p).ok().filter(|&p| p < rank)
        })
        .collect();
    let out = out?;
    let distinct: HashSet<usize> = out.iter().copied().collect();
    (distinct.len() == rank).then_some(out)
}
