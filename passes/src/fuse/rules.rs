//! The rewrite rules of `fuse`, as a table of data: a kebab-case name, a left-hand
//! pattern, a right-hand pattern and a named side condition ([`Cond`]).
//!
//! Policy: every rule is directional and never makes the graph worse under the cost model
//! of [`super::cost`] (one node fewer, or a pad folded into the next op); there is no
//! blanket commutativity (an `add` with the compute op on its right has its own rule).
//! Families:
//! - `<op>-<act>`: a compute op (`conv`, `gemm`, `matmul`) without activation, followed by
//!   `relu`, `leaky_relu`, `clip`, `sigmoid`, `hard_swish` or `gelu`, takes it as its
//!   `activation`;
//! - `<op>-bias` / `<op>-bias-left`: `add` of a compute op without activation and a bias
//!   becomes the op's bias (conv: a constant that is the same along every axis but the
//!   channel one, added to any existing constant bias; gemm: no `c` yet and `beta = 1`;
//!   matmul: no bias yet), when the sum has the op's own shape;
//! - `pad-conv`, `pad-max-pool`, `pad-avg-pool`: a constant pad of the spatial axes in
//!   front of the op is folded into its `pads` (zero for conv and avg_pool, −∞ for
//!   max_pool; pools only with `ceil_mode = 0`).
//!
//! Each rule has a `start => goal` test at the bottom of this file.

use super::lang::{leaf_of, FuseGraph, FuseLang, Leaf, Types};
use asplit_ir::ops::OpKind;
use asplit_ir::shape::broadcasts_to;
use egg::{Id, Pattern, Rewrite, Subst, Var};

/// A side condition, checked when a left-hand side matches.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// No condition.
    Always,
    /// `?c` is a constant that varies only along the channel axis of the result, and `?b`
    /// is `nobias` or a constant.
    ChannelConst,
    /// `?c` is a value of the result's dtype that broadcasts to the result's shape, and
    /// the gemm attributes `?g` have `beta = 1`.
    GemmBias,
    /// `?c` is a value of the result's dtype that broadcasts to the result's shape.
    MatMulBias,
    /// `?p` is a constant-zero pad of spatial axes only, with non-negative pads.
    ZeroPad,
    /// `?p` is a constant −∞ pad of spatial axes only; `?g` is a max_pool with
    /// `ceil_mode = 0` and no indices.
    MaxPoolPad,
    /// `?p` is a constant-zero pad of spatial axes only; `?g` is an avg_pool with
    /// `ceil_mode = 0` and either no pads or `count_include_pad = 1`.
    AvgPoolPad,
}

/// One rule as data.
#[derive(Copy, Clone, Debug)]
pub struct RuleDef {
    /// kebab-case name (also the statistic counting its applications).
    pub name: &'static str,
    /// Left-hand pattern.
    pub lhs: &'static str,
    /// Right-hand pattern.
    pub rhs: &'static str,
    /// Side condition.
    pub cond: Cond,
}

const fn rule(name: &'static str, lhs: &'static str, rhs: &'static str, cond: Cond) -> RuleDef {
    RuleDef { name, lhs, rhs, cond }
}

/// Every rule of `fuse`.
pub static RULES: &[RuleDef] = &[
    rule(
        "conv-relu",
        "(relu (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b act-relu)",
        Cond::Always,
    ),
    rule(
        "conv-leaky-relu",
        "(leaky_relu ?alpha (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b (act-leaky ?alpha))",
        Cond::Always,
    ),
    rule(
        "conv-clip",
        "(clip ?lo ?hi (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b (act-clip ?lo ?hi))",
        Cond::Always,
    ),
    rule(
        "conv-sigmoid",
        "(sigmoid (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b act-sigmoid)",
        Cond::Always,
    ),
    rule(
        "conv-hard-swish",
        "(hard_swish (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b act-hard-swish)",
        Cond::Always,
    ),
    rule(
        "conv-gelu",
        "(gelu (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b act-gelu)",
        Cond::Always,
    ),
    rule(
        "conv-gelu-tanh",
        "(gelu_tanh (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w ?b act-gelu-tanh)",
        Cond::Always,
    ),
    rule(
        "gemm-relu",
        "(relu (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b act-relu)",
        Cond::Always,
    ),
    rule(
        "gemm-leaky-relu",
        "(leaky_relu ?alpha (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b (act-leaky ?alpha))",
        Cond::Always,
    ),
    rule(
        "gemm-clip",
        "(clip ?lo ?hi (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b (act-clip ?lo ?hi))",
        Cond::Always,
    ),
    rule(
        "gemm-sigmoid",
        "(sigmoid (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b act-sigmoid)",
        Cond::Always,
    ),
    rule(
        "gemm-hard-swish",
        "(hard_swish (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b act-hard-swish)",
        Cond::Always,
    ),
    rule(
        "gemm-gelu",
        "(gelu (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b act-gelu)",
        Cond::Always,
    ),
    rule(
        "gemm-gelu-tanh",
        "(gelu_tanh (gemm ?g ?x ?w ?b act-none))",
        "(gemm ?g ?x ?w ?b act-gelu-tanh)",
        Cond::Always,
    ),
    rule(
        "matmul-relu",
        "(relu (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b act-relu)",
        Cond::Always,
    ),
    rule(
        "matmul-leaky-relu",
        "(leaky_relu ?alpha (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b (act-leaky ?alpha))",
        Cond::Always,
    ),
    rule(
        "matmul-clip",
        "(clip ?lo ?hi (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b (act-clip ?lo ?hi))",
        Cond::Always,
    ),
    rule(
        "matmul-sigmoid",
        "(sigmoid (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b act-sigmoid)",
        Cond::Always,
    ),
    rule(
        "matmul-hard-swish",
        "(hard_swish (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b act-hard-swish)",
        Cond::Always,
    ),
    rule(
        "matmul-gelu",
        "(gelu (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b act-gelu)",
        Cond::Always,
    ),
    rule(
        "matmul-gelu-tanh",
        "(gelu_tanh (matmul ?x ?w ?b act-none))",
        "(matmul ?x ?w ?b act-gelu-tanh)",
        Cond::Always,
    ),
    rule(
        "conv-bias",
        "(add (conv ?g ?x ?w ?b act-none) ?c)",
        "(conv ?g ?x ?w (bias-add ?b ?c) act-none)",
        Cond::ChannelConst,
    ),
    rule(
        "conv-bias-left",
        "(add ?c (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w (bias-add ?b ?c) act-none)",
        Cond::ChannelConst,
    ),
    rule(
        "gemm-bias",
        "(add (gemm ?g ?x ?w nobias act-none) ?c)",
        "(gemm ?g ?x ?w ?c act-none)",
        Cond::GemmBias,
    ),
    rule(
        "gemm-bias-left",
        "(add ?c (gemm ?g ?x ?w nobias act-none))",
        "(gemm ?g ?x ?w ?c act-none)",
        Cond::GemmBias,
    ),
    rule(
        "matmul-bias",
        "(add (matmul ?x ?w nobias act-none) ?c)",
        "(matmul ?x ?w ?c act-none)",
        Cond::MatMulBias,
    ),
    rule(
        "matmul-bias-left",
        "(add ?c (matmul ?x ?w nobias act-none))",
        "(matmul ?x ?w ?c act-none)",
        Cond::MatMulBias,
    ),
    rule(
        "pad-conv",
        "(conv ?g (pad ?p ?x) ?w ?b ?a)",
        "(conv (fold-pad ?g ?p) ?x ?w ?b ?a)",
        Cond::ZeroPad,
    ),
    rule(
        "pad-max-pool",
        "(max_pool ?g (pad ?p ?x))",
        "(max_pool (fold-pad ?g ?p) ?x)",
        Cond::MaxPoolPad,
    ),
    rule(
        "pad-avg-pool",
        "(avg_pool ?g (pad ?p ?x))",
        "(avg_pool (fold-pad ?g ?p) ?x)",
        Cond::AvgPoolPad,
    ),
];

/// A rule of the table by name.
pub fn lookup(name: &str) -> Option<&'static RuleDef> {
    RULES.iter().find(|r| r.name == name)
}

/// Builds the egg rewrites of `defs`; fails on a malformed pattern (a bug in the table).
pub fn rewrites(defs: &[RuleDef]) -> Result<Vec<Rewrite<FuseLang, Types>>, String> {
    defs.iter().map(rewrite).collect()
}

fn rewrite(def: &RuleDef) -> Result<Rewrite<FuseLang, Types>, String> {
    let bad = |e: String| format!("rule `{}`: {e}", def.name);
    let lhs: Pattern<FuseLang> = def.lhs.parse().map_err(|e| bad(format!("{e}")))?;
    let rhs: Pattern<FuseLang> = def.rhs.parse().map_err(|e| bad(format!("{e}")))?;
    let cond = def.cond;
    if cond == Cond::Always {
        return Rewrite::new(def.name, lhs, rhs);
    }
    let applier = egg::ConditionalApplier {
        condition: move |eg: &mut FuseGraph, root: Id, s: &Subst| check(cond, eg, root, s),
        applier: rhs,
    };
    Rewrite::new(def.name, lhs, applier)
}

fn var(name: &str) -> Option<Var> {
    name.parse().ok()
}

/// The leaf bound to `?name`.
fn bound(eg: &FuseGraph, s: &Subst, name: &str) -> Option<Leaf> {
    s.get(var(name)?).and_then(|&id| leaf_of(eg, id))
}

/// Checks a side condition.
pub fn check(cond: Cond, eg: &FuseGraph, root: Id, s: &Subst) -> bool {
    check_opt(cond, eg, root, s).unwrap_or(false)
}

fn check_opt(cond: Cond, eg: &FuseGraph, root: Id, s: &Subst) -> Option<bool> {
    let side = &eg.analysis.side;
    let out = eg[root].data.as_ref();
    Some(match cond {
        Cond::Always => true,
        Cond::ChannelConst => {
            let out = out?;
            let Leaf::Value(c) = bound(eg, s, "?c")? else { return Some(false) };
            let t = side.constant(c)?;
            let b_ok = match s.get(var("?b")?).map(|&id| &eg[id].nodes) {
                Some(nodes) => nodes.iter().any(|n| match n {
                    FuseLang::NoBias => true,
                    FuseLang::Leaf(Leaf::Value(b)) => side.constant(*b).is_some(),
                    _ => false,
                }),
                None => false,
            };
            let sh = t.shape();
            let r = out.shape.len();
            let per_channel = sh.len() <= r
                && sh.iter().enumerate().all(|(i, &d)| d == 1 || i + r - sh.len() == 1);
            b_ok && per_channel && t.dtype() == out.dtype && broadcasts_to(sh, &out.shape) && r >= 2
        }
        Cond::GemmBias | Cond::MatMulBias => {
            let out = out?;
            let Leaf::Value(c) = bound(eg, s, "?c")? else { return Some(false) };
            let ct = side.ty(c)?;
            let beta_ok = cond == Cond::MatMulBias || {
                let Leaf::Key(k) = bound(eg, s, "?g")? else { return Some(false) };
                side.attrs(k)?.1.float("beta").ok()? == 1.0
            };
            beta_ok && ct.dtype == out.dtype && broadcasts_to(&ct.shape, &out.shape)
        }
        Cond::ZeroPad => pad_ok(eg, s, 0.0)?,
        Cond::MaxPoolPad => pad_ok(eg, s, f32::NEG_INFINITY)? && pool_ok(eg, s, OpKind::MaxPool)?,
        Cond::AvgPoolPad => pad_ok(eg, s, 0.0)? && pool_ok(eg, s, OpKind::AvgPool)?,
    })
}

/// `?p` is a constant pad with `value`, of spatial axes only, with non-negative pads.
fn pad_ok(eg: &FuseGraph, s: &Subst, value: f32) -> Option<bool> {
    let Leaf::Key(k) = bound(eg, s, "?p")? else { return Some(false) };
    let (op, attrs) = eg.analysis.side.attrs(k)?;
    let pads = attrs.ints("pads").ok()?;
    let r = pads.len() / 2;
    let spatial_only = r >= 3 && pads[0] == 0 && pads[1] == 0 && pads[r] == 0 && pads[r + 1] == 0;
    Some(
        *op == OpKind::Pad
            && attrs.str("mode").ok()? == "constant"
            && attrs.float("value").ok()? == value
            && pads.iter().all(|&p| p >= 0)
            && spatial_only,
    )
}

/// `?g` is a pool of kind `op` that a pad may fold into.
fn pool_ok(eg: &FuseGraph, s: &Subst, op: OpKind) -> Option<bool> {
    let Leaf::Key(k) = bound(eg, s, "?g")? else { return Some(false) };
    let (kind, attrs) = eg.analysis.side.attrs(k)?;
    let int = |n: &str| attrs.int(n).ok();
    let ok = *kind == op
        && int("ceil_mode")? == 0
        && match op {
            OpKind::MaxPool => int("indices")? == 0,
            _ => int("count_include_pad")? == 1 || attrs.ints("pads").ok()?.iter().all(|&p| p == 0),
        };
    Some(ok)
}
