//! `fold-constants`: evaluates every node whose operands are all constants with the
//! reference interpreter and replaces it by `const` nodes holding the results; repeated in
//! graph order, so whole constant subgraphs (shape arithmetic included) fold in one run.
//! Constants left without users are erased.
//!
//! ```text
//! before:  %a = const {value = tensor<f32[2]: [1.0, 2.0]>} : f32[2]
//!          %b = mul(%a, %a) : f32[2]
//!          %c = add(%x, %b) : f32[2]
//! after:   %b = const {value = tensor<f32[2]: [1.0, 4.0]>} : f32[2]
//!          %c = add(%x, %b) : f32[2]
//! ```
//! A node is left alone when its results hold more than `max-elements` elements in total
//! (folding would grow the model), when an operand's contents were elided (`hash(…)`), or
//! when the interpreter cannot evaluate it (the error then surfaces when the model runs,
//! as it would have without folding). Statistics: `folded`, `too-large`, `eval-failed`,
//! `erased`.

use crate::options::{OptKind, OptionDef, PassOptions};
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::{can_replace, erase_dead, replace_all_uses};
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::graph::{Graph, NodeId};
use asplit_ir::interp::eval_node;
use asplit_ir::ops::OpKind;
use asplit_ir::tensor::Tensor;
use asplit_ir::types::TensorType;
use std::sync::Arc;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-constants",
    summary: "Evaluate nodes whose operands are all constants and replace them by constants.",
    options: &[OptionDef {
        name: "max-elements",
        kind: OptKind::Uint,
        default: "4194304",
        doc: "Largest total result size (elements) a folded node may have.",
    }],
    build,
};

fn build(opts: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(FoldConstants {
        max_elements: usize::try_from(opts.uint("max-elements")).unwrap_or(usize::MAX),
    }))
}

/// The `fold-constants` pass.
#[derive(Debug)]
pub struct FoldConstants {
    /// Largest total result size folded.
    pub max_elements: usize,
}

impl Pass for FoldConstants {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let mut changed = false;
        let order = g.order.clone();
        let mut multi = false;
        for n in order {
            let Some(operands) = constant_operands(g, n) else { continue };
            let node = &g.nodes[n];
            let tys: Vec<TensorType> = node.outputs.iter().map(|&v| g.ty(v).clone()).collect();
            let size = tys.iter().fold(0usize, |s, t| s.saturating_add(t.numel()));
            if size > self.max_elements {
                cx.stat("too-large", 1);
                continue;
            }
            let refs: Vec<&Tensor> = operands.iter().map(|t| t.as_ref()).collect();
            let Ok(results) = eval_node(node.op, &node.attrs, &refs, &tys) else {
                cx.stat("eval-failed", 1);
                continue;
            };
            multi |= results.len() > 1;
            changed |= replace_by_constants(g, n, results);
            cx.stat("folded", 1);
        }
        if multi {
            g.toposort().map_err(|_| PassError::failed("folding constants made a cycle"))?;
        }
        let erased = erase_dead(g);
        cx.stat("erased", erased as i64);
        Ok(Changed::from_bool(changed || erased > 0))
    }
}

/// The operand tensors of `n` when it is not a `const` and all its operands are constants
/// with contents.
fn constant_operands(g: &Graph, n: NodeId) -> Option<Vec<Arc<Tensor>>> {
    let node = &g.nodes[n];
    if node.op == OpKind::Const {
        return None;
    }
    node.inputs.iter().map(|&v| g.const_value(v).cloned()).collect()
}

/// Turns `n` into a `const` (one result) or adds one `const` per result and redirects the
/// uses (several results; `order` is then re-sorted by the caller). Returns true.
fn replace_by_constants(g: &mut Graph, n: NodeId, results: Vec<Tensor>) -> bool {
    if let [t] = results.as_slice() {
        let node = &mut g.nodes[n];
        node.op = OpKind::Const;
        node.inputs.clear();
        node.attrs = Attrs::new().with("value", Attr::Tensor(Arc::new(t.clone())));
        return true;
    }
    let outputs = g.nodes[n].outputs.clone();
    for (v, t) in outputs.into_iter().zip(results) {
        let c = g.add_const(t);
        if can_replace(g, v, c) {
            replace_all_uses(g, v, c);
        }
    }
    true
}
