//! `fuse`: forms the graph's *layers* with an e-graph (egg). A compute op (`conv`,
//! `conv_transpose`, `gemm`, `matmul`) takes the bias `add` and the activation after it into
//! itself, and a constant `pad` folds into the `conv` / `max_pool` / `avg_pool` after it:
//!
//! ```text
//! before:  %p = pad(%x) {mode = "constant", pads = [0, 0, 1, 1, 0, 0, 1, 1], value = 0.0}
//!          %c = conv(%p, %w) {pads = [0, 0, 0, 0], …}
//!          %a = add(%c, %bias)           ; %bias: f32[1,8,1,1] constant
//!          %r = relu(%a)
//! after:   %r = conv(%x, %w, %b') {activation = "relu", pads = [1, 1, 1, 1], …}
//! ```
//! A residual `add` (or two-operand `sum`) of a conv and a tensor of its own type becomes
//! the conv's `skip` operand, so ResNet's `relu(conv(x) + shortcut)` is one layer.
//! The fused form is described in docs/ir.md ("Fused layers"). Steps: [`import`] turns
//! the graph into one term per root value ([`lang`]), egg's `Runner` applies the rule
//! table ([`rules`]) under explicit iteration, node and time limits (the pass options),
//! the cheapest term of each root is extracted ([`cost`]), and [`rebuild`] writes the roots
//! whose term changed back as IR, redirecting their uses; nodes left unused are erased.
//!
//! Statistics: `stop-reason` (egg's `StopReason`: `saturated`, `iteration-limit`, …),
//! `iterations`, `egraph-nodes` (summed over rounds, see [`MAX_ROUNDS`]), `roots-rewritten`,
//! `layers` (compute nodes after the pass), and one counter per rule that fired
//! (`rule.conv-relu`, …; applications in the e-graph, which may exceed what the extracted
//! graph keeps). Hitting a limit is not an error: the
//! best term found so far is used. The erf spelling of gelu is recognised (`gelu-erf-*`)
//! and fused in a second round ([`MAX_ROUNDS`]). Elementwise chains by constants (e.g. the
//! `mul` + `add` left by lowering DenseNet's batch_norm after a concat, then a Scale layer's
//! `mul` + `add`, then `relu`) collapse into one `affine` node with the activation:
//!
//! ```text
//! before:  %m1 = mul(%cat, %s1)   %a1 = add(%m1, %t1)   %m2 = mul(%a1, %s2)
//!          %a2 = add(%m2, %t2)    %r = relu(%a2)
//! after:   %r = affine(%cat, %s1·s2, %t1·s2 + t2) {activation = "relu"}
//! ```
//! (the combined constants are computed when the graph is rebuilt). Per-channel constants
//! right after a compute op are folded into its weights by `fold-batchnorm` before this.

pub mod cost;
pub mod import;
pub mod lang;
pub mod rebuild;
pub mod rules;

use crate::options::{OptKind, OptionDef, PassOptions};
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::{can_replace, erase_dead, replace_all_uses};
use asplit_ir::graph::Graph;
use asplit_ir::ops::OpKind;
use egg::{Extractor, Runner, StopReason};
use std::collections::HashMap;
use std::time::Duration;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fuse",
    summary:
        "Fuse bias, activation and padding into conv/conv_transpose/gemm/matmul/pool layers, and elementwise chains by constants into one affine, with an e-graph (egg).",
    options: &[
        OptionDef {
            name: "iter-limit",
            kind: OptKind::Uint,
            default: "16",
            doc: "Maximum egg iterations.",
        },
        OptionDef {
            name: "node-limit",
            kind: OptKind::Uint,
            default: "200000",
            doc: "Maximum e-nodes in the e-graph.",
        },
        OptionDef {
            name: "time-limit-ms",
            kind: OptKind::Uint,
            default: "10000",
            doc: "Maximum time spent in egg, in milliseconds.",
        },
    ],
    build,
};

/// The limits of one run.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Iterations.
    pub iters: usize,
    /// E-nodes.
    pub nodes: usize,
    /// Time.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { iters: 16, nodes: 200_000, time: Duration::from_secs(10) }
    }
}

fn build(opts: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    let size = |name: &'static str| {
        usize::try_from(opts.uint(name)).map_err(|_| PassError::BadOption {
            pass: "fuse",
            option: name,
            message: "too large".into(),
        })
    };
    let limits = Limits {
        iters: size("iter-limit")?,
        nodes: size("node-limit")?,
        time: Duration::from_millis(opts.uint("time-limit-ms")),
    };
    if limits.iters == 0 || limits.nodes == 0 {
        return Err(PassError::BadOption {
            pass: "fuse",
            option: if limits.iters == 0 { "iter-limit" } else { "node-limit" },
            message: "must be at least 1".into(),
        });
    }
    Ok(Box::new(Fuse { limits }))
}

/// The `fuse` pass.
#[derive(Debug, Default)]
pub struct Fuse {
    /// Runner limits.
    pub limits: Limits,
}

impl Pass for Fuse {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        fuse(g, self.limits, cx)
    }
}

/// The spelling of a stop reason in statistics.
pub fn stop_reason_name(r: &StopReason) -> String {
    match r {
        StopReason::Saturated => "saturated".into(),
        StopReason::IterationLimit(n) => format!("iteration-limit ({n})"),
        StopReason::NodeLimit(n) => format!("node-limit ({n})"),
        StopReason::TimeLimit(s) => format!("time-limit ({s}s)"),
        StopReason::Other(s) => format!("other ({s})"),
    }
}

/// Rounds of import, saturation and rebuild at most. Recognising an erf-spelled gelu
/// turns its `x` (read by the `div` and the `mul`) into a value with a single user, which
/// only the next round can fuse into its producer; so another round runs when a round
/// saturated (hit no limit), rewrote something and applied a `gelu-erf-*` rule.
pub const MAX_ROUNDS: usize = 3;

/// Runs the fusion on `g` (see the module doc), in rounds (see [`MAX_ROUNDS`]).
pub fn fuse(g: &mut Graph, limits: Limits, cx: &mut PassCx) -> Result<Changed, PassError> {
    let mut rewritten = 0;
    for _ in 0..MAX_ROUNDS {
        let (n, again) = fuse_round(g, limits, cx)?;
        rewritten += n;
        if n == 0 || !again {
            break;
        }
    }
    cx.stat("roots-rewritten", rewritten);
    let layers = g
        .live_nodes()
        .filter(|(_, n)| {
            matches!(n.op, OpKind::Conv | OpKind::ConvTranspose | OpKind::Gemm | OpKind::MatMul)
        })
        .count();
    cx.stat("layers", layers as i64);
    Ok(Changed::from_bool(rewritten > 0))
}

/// One round: import, saturate, extract, rebuild; returns the number of roots rewritten
/// and whether another round may fuse more.
fn fuse_round(g: &mut Graph, limits: Limits, cx: &mut PassCx) -> Result<(i64, bool), PassError> {
    let rewrites = rules::rewrites(rules::RULES).map_err(PassError::failed)?;
    let (egraph, roots) = import::import(g);
    let runner = Runner::default()
        .with_egraph(egraph)
        .with_iter_limit(limits.iters)
        .with_node_limit(limits.nodes)
        .with_time_limit(limits.time)
        .run(&rewrites);
    let saturated = matches!(runner.stop_reason, Some(StopReason::Saturated));
    let gelu_erf = runner.iterations.iter().any(|it| {
        it.applied.iter().any(|(rule, &n)| n > 0 && rule.as_str().starts_with("gelu-erf-"))
    });
    let reason = runner.stop_reason.as_ref().map(stop_reason_name);
    cx.note("stop-reason", reason.unwrap_or_else(|| "none".into()));
    cx.stat("iterations", runner.iterations.len() as i64);
    cx.stat("egraph-nodes", runner.egraph.total_number_of_nodes() as i64);
    for it in &runner.iterations {
        for (rule, n) in &it.applied {
            cx.stat(&format!("rule.{rule}"), *n as i64);
        }
    }
    let side = runner.egraph.analysis.side.clone();
    let extractor = Extractor::new(&runner.egraph, cost::FuseCost);
    let mut rewritten = 0;
    let mut replaced = HashMap::new();
    for root in &roots {
        let (_, best) = extractor.find_best(root.class);
        if best.to_string() == root.original.to_string() {
            continue;
        }
        let new = rebuild::emit(g, &side, &best, &replaced)?;
        if g.ty(new) != g.ty(root.value) {
            return Err(PassError::failed(format!(
                "fuse: the fused term of {} has type {}, not {}",
                root.value,
                g.ty(new),
                g.ty(root.value)
            )));
        }
        if !can_replace(g, root.value, new) {
            continue;
        }
        replace_all_uses(g, root.value, new);
        replaced.insert(root.value, new);
        rewritten += 1;
    }
    if rewritten > 0 {
        // New nodes were appended: restore topological order before erasing (erase_dead
        // walks `order` backwards).
        g.toposort().map_err(|_| PassError::failed("fuse left a cycle"))?;
        erase_dead(g);
    }
    Ok((rewritten, saturated && gelu_erf))
}
