//! The rewrite rules of `fuse`, as a table of data: a kebab-case name, a left-hand
//! pattern, a right-hand pattern and a named side condition ([`Cond`]).
//!
//! Policy: every rule is directional and never makes the graph worse under the cost model
//! of [`super::cost`] (one node fewer, or a pad folded into the next op); there is no
//! blanket commutativity (an `add` with the compute op on its right has its own rule).
//! Families:
//! - `<op>-<act>`: a compute op (`conv`, `conv-transpose`, `gemm`, `matmul`) or an `affine`
//!   without activation, followed by
//!   `relu`, `leaky_relu`, `clip`, `sigmoid`, `hard_swish` or `gelu`, takes it as its
//!   `activation`;
//! - `<op>-bias` / `<op>-bias-left`: `add` of a compute op without activation and a bias
//!   becomes the op's bias (conv: a constant that is the same along every axis but the
//!   channel one, added to any existing constant bias; gemm: no `c` yet and `beta = 1`;
//!   matmul: no bias yet; for gemm and matmul the bias may be any tensor of known type),
//!   when the sum has the op's own shape; `conv-transpose-bias[-left]` as for conv;
//! - elementwise chains by constants (constants as the right operand, as exporters and
//!   `fold-batchnorm` write them): `mul-mul-const` `(x·a)·b → x·(a·b)`, `add-add-const`
//!   `(x+a)+b → x+(a+b)`, `add-mul-const` `(x+a)·b → x·b + a·b` (not cheaper by itself, it
//!   lets a mul/add chain collapse), all when `a` and `b` are constants and `x` is not; the
//!   combined constants are `const-mul` / `const-add` terms computed at rebuild;
//!   `mul-add-affine` `x·s + t → affine(x, s, t)` when `s`, `t` are constants of the
//!   result's float dtype and `x` has the result's type (nothing broadcasts `x` larger);
//! - `conv-skip` / `conv-skip-left`: `add` of a conv without activation and a non-constant
//!   tensor of the conv's own type (a residual) becomes the conv's `skip` operand, so
//!   `relu(conv(x) + shortcut)` is one layer after `conv-relu`;
//! - `gelu-erf-*`: the exporters' spelling of exact gelu, `0.5·x·(1 + erf(x/√2))`, in three
//!   association orders (`x/√2` or `x·(1/√2)`), becomes `(gelu ?x)` when every constant is
//!   a scalar or splat float constant within 1e-6 of √2 (1/√2 as a multiplier), 1 and 0.5,
//!   and the result has `x`'s type; both occurrences of `x` are the same e-class (egg
//!   binds one variable once). The `<op>-gelu` rules then fuse it;
//! - `pad-conv`, `pad-max-pool`, `pad-avg-pool`: a constant pad of the spatial axes in
//!   front of the op is folded into its `pads` (zero for conv and avg_pool, −∞ for
//!   max_pool; pools only with `ceil_mode = 0`).
//!
//! Each rule has a `start => goal` test at the bottom of this file.

use super::lang::{is_constant, leaf_of, FuseGraph, FuseLang, Leaf, Types};
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
    /// `?s` has exactly the result's type, is not a constant, and `?b` holds no skip yet.
    Skip,
    /// `?c` is a value of the result's dtype that broadcasts to the result's shape, and
    /// the gemm attributes `?g` have `beta = 1`.
    GemmBias,
    /// `?c` is a value of the result's dtype that broadcasts to the result's shape.
    MatMulBias,
    /// The constants of an erf-spelled gelu: `?s` (when bound) is √2, `?r` (when bound)
    /// 1/√2, `?one` 1 and `?half` 0.5 (scalar or splat float constants, within 1e-6), and
    /// the result has exactly `?x`'s type.
    GeluErf,
    /// `?a` and `?b` are constants (values or `const-*` terms) and `?x` is not.
    ConstPair,
    /// `?s` and `?t` are constants of the result's dtype, `?x` is not and has exactly the
    /// result's type (so `?s` and `?t` broadcast to it without enlarging it), float.
    Affine,
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
        "conv-transpose-relu",
        "(relu (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b act-relu)",
        Cond::Always,
    ),
    rule(
        "conv-transpose-leaky-relu",
        "(leaky_relu ?alpha (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b (act-leaky ?alpha))",
        Cond::Always,
    ),
    rule(
        "conv-transpose-clip",
        "(clip ?lo ?hi (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b (act-clip ?lo ?hi))",
        Cond::Always,
    ),
    rule(
        "conv-transpose-sigmoid",
        "(sigmoid (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b act-sigmoid)",
        Cond::Always,
    ),
    rule(
        "conv-transpose-hard-swish",
        "(hard_swish (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b act-hard-swish)",
        Cond::Always,
    ),
    rule(
        "conv-transpose-gelu",
        "(gelu (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b act-gelu)",
        Cond::Always,
    ),
    rule(
        "conv-transpose-gelu-tanh",
        "(gelu_tanh (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w ?b act-gelu-tanh)",
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
        "conv-transpose-bias",
        "(add (conv_transpose ?g ?x ?w ?b act-none) ?c)",
        "(conv_transpose ?g ?x ?w (bias-add ?b ?c) act-none)",
        Cond::ChannelConst,
    ),
    rule(
        "conv-transpose-bias-left",
        "(add ?c (conv_transpose ?g ?x ?w ?b act-none))",
        "(conv_transpose ?g ?x ?w (bias-add ?b ?c) act-none)",
        Cond::ChannelConst,
    ),
    rule(
        "conv-skip",
        "(add (conv ?g ?x ?w ?b act-none) ?s)",
        "(conv ?g ?x ?w (with-skip ?b ?s) act-none)",
        Cond::Skip,
    ),
    rule(
        "conv-skip-left",
        "(add ?s (conv ?g ?x ?w ?b act-none))",
        "(conv ?g ?x ?w (with-skip ?b ?s) act-none)",
        Cond::Skip,
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
        "gelu-erf-div",
        "(mul (mul ?x (add (erf (div ?x ?s)) ?one)) ?half)",
        "(gelu ?x)",
        Cond::GeluErf,
    ),
    rule(
        "gelu-erf-mul",
        "(mul ?x (mul ?half (add ?one (erf (mul ?x ?r)))))",
        "(gelu ?x)",
        Cond::GeluErf,
    ),
    rule(
        "gelu-erf-half-first",
        "(mul (mul ?x ?half) (add ?one (erf (div ?x ?s))))",
        "(gelu ?x)",
        Cond::GeluErf,
    ),
    rule("mul-mul-const", "(mul (mul ?x ?a) ?b)", "(mul ?x (const-mul ?a ?b))", Cond::ConstPair),
    rule("add-add-const", "(add (add ?x ?a) ?b)", "(add ?x (const-add ?a ?b))", Cond::ConstPair),
    rule(
        "add-mul-const",
        "(mul (add ?x ?a) ?b)",
        "(add (mul ?x ?b) (const-mul ?a ?b))",
        Cond::ConstPair,
    ),
    rule("mul-add-affine", "(add (mul ?x ?s) ?t)", "(affine ?x ?s ?t act-none)", Cond::Affine),
    rule(
        "affine-relu",
        "(relu (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t act-relu)",
        Cond::Always,
    ),
    rule(
        "affine-leaky-relu",
        "(leaky_relu ?alpha (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t (act-leaky ?alpha))",
        Cond::Always,
    ),
    rule(
        "affine-clip",
        "(clip ?lo ?hi (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t (act-clip ?lo ?hi))",
        Cond::Always,
    ),
    rule(
        "affine-sigmoid",
        "(sigmoid (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t act-sigmoid)",
        Cond::Always,
    ),
    rule(
        "affine-hard-swish",
        "(hard_swish (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t act-hard-swish)",
        Cond::Always,
    ),
    rule(
        "affine-gelu",
        "(gelu (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t act-gelu)",
        Cond::Always,
    ),
    rule(
        "affine-gelu-tanh",
        "(gelu_tanh (affine ?x ?s ?t act-none))",
        "(affine ?x ?s ?t act-gelu-tanh)",
        Cond::Always,
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

/// The class bound to `?name`.
fn bound_id(s: &Subst, name: &str) -> Option<Id> {
    s.get(var(name)?).copied()
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
        Cond::Skip => {
            let out = out?;
            let sk = *s.get(var("?s")?)?;
            let b = *s.get(var("?b")?)?;
            let constant =
                matches!(leaf_of(eg, sk), Some(Leaf::Value(v)) if side.constant(v).is_some());
            let has_skip = eg[b].nodes.iter().any(|n| matches!(n, FuseLang::WithSkip(_)));
            eg[sk].data.as_ref() == Some(out) && !constant && !has_skip
        }
        Cond::GemmBias | Cond::MatMulBias => {
            let out = out?;
            let ct = eg[*s.get(var("?c")?)?].data.as_ref()?;
            let beta_ok = cond == Cond::MatMulBias || {
                let Leaf::Key(k) = bound(eg, s, "?g")? else { return Some(false) };
                side.attrs(k)?.1.float("beta").ok()? == 1.0
            };
            beta_ok && ct.dtype == out.dtype && broadcasts_to(&ct.shape, &out.shape)
        }
        Cond::GeluErf => {
            let out = out?;
            let x = eg[*s.get(var("?x")?)?].data.as_ref()?;
            let near = |name: &str, want: f64| match var(name).and_then(|v| s.get(v)) {
                None => Some(true),
                Some(&id) => splat_near(eg, id, want),
            };
            let sqrt2 = std::f64::consts::SQRT_2;
            x == out
                && out.dtype.is_float()
                && near("?s", sqrt2)?
                && near("?r", 1.0 / sqrt2)?
                && near("?one", 1.0)?
                && near("?half", 0.5)?
        }
        Cond::ConstPair => {
            let c = |n: &str| bound_id(s, n).map(|id| is_constant(eg, id));
            c("?a")? && c("?b")? && !c("?x")?
        }
        Cond::Affine => {
            let out = out?;
            let x = bound_id(s, "?x")?;
            let (sc, sh) = (bound_id(s, "?s")?, bound_id(s, "?t")?);
            let dtype_ok = |id: Id| eg[id].data.as_ref().map(|t| t.dtype) == Some(out.dtype);
            eg[x].data.as_ref() == Some(out)
                && out.dtype.is_float()
                && !is_constant(eg, x)
                && is_constant(eg, sc)
                && is_constant(eg, sh)
                && dtype_ok(sc)
                && dtype_ok(sh)
        }
        Cond::ZeroPad => pad_ok(eg, s, 0.0)?,
        Cond::MaxPoolPad => pad_ok(eg, s, f32::NEG_INFINITY)? && pool_ok(eg, s, OpKind::MaxPool)?,
        Cond::AvgPoolPad => pad_ok(eg, s, 0.0)? && pool_ok(eg, s, OpKind::AvgPool)?,
    })
}

/// Class `id` is a value leaf holding a non-empty float constant whose every element is
/// within 1e-6 of `want`.
fn splat_near(eg: &FuseGraph, id: Id, want: f64) -> Option<bool> {
    let Some(Leaf::Value(v)) = leaf_of(eg, id) else { return Some(false) };
    let t = eg.analysis.side.constant(v)?;
    let vals = t.data().to_f64_vec();
    let close = vals.iter().all(|x| (x - want).abs() <= 1e-6);
    Some(t.dtype().is_float() && !vals.is_empty() && close)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuse::lang::Side;
    use asplit_ir::attr::{Attr, Attrs};
    use asplit_ir::graph::Graph;
    use asplit_ir::tensor::Tensor;
    use asplit_ir::types::{DType, TensorType};
    use egg::{RecExpr, Runner};
    use std::sync::Arc;

    fn f32s(shape: &[usize]) -> TensorType {
        TensorType::new(DType::F32, shape.to_vec())
    }

    fn splat(shape: &[usize], v: f64) -> Tensor {
        Tensor::splat(&f32s(shape), v)
    }

    fn ints(v: &[i64]) -> Attr {
        Attr::Ints(v.to_vec())
    }

    /// Values v0…v16 and keys k0…k7 the cases below name.
    fn side() -> Side {
        let mut g = Graph::new("rules");
        g.add_input(None, f32s(&[1, 2, 5, 5])); // v0: conv input
        g.add_const(splat(&[3, 2, 3, 3], 0.5)); // v1: conv weights
        g.add_const(splat(&[1, 3, 1, 1], 2.0)); // v2: per-channel constant
        g.add_input(None, f32s(&[2, 4])); // v3: gemm/matmul input
        g.add_const(splat(&[4, 3], 0.25)); // v4: gemm/matmul weights
        g.add_const(splat(&[3], 1.0)); // v5: row bias
        g.add_const(splat(&[3], 3.0)); // v6: conv bias
        g.add_const(splat(&[1, 1, 1, 3], 3.0)); // v7: varies along the last axis
        g.add_input(None, f32s(&[1, 3, 3, 3])); // v8: a residual of the conv's type
        g.add_input(None, f32s(&[2, 3])); // v9: the x of a gelu
        g.add_const(splat(&[], std::f64::consts::SQRT_2)); // v10: √2
        g.add_const(splat(&[], 1.0)); // v11: 1
        g.add_const(splat(&[1], 0.5)); // v12: 0.5
        g.add_const(splat(&[], std::f64::consts::FRAC_1_SQRT_2)); // v13: 1/√2
        g.add_const(splat(&[], 2.0)); // v14: a wrong constant
        g.add_const(splat(&[2, 2, 3], 0.5)); // v15: 0.5 that enlarges the result
        g.add_const(splat(&[2, 3, 3, 3], 0.5)); // v16: conv_transpose weights
        let mut side = Side::of_graph(&g);
        let conv = Attrs::new()
            .with("strides", ints(&[1, 1]))
            .with("pads", ints(&[0, 0, 0, 0]))
            .with("dilations", ints(&[1, 1]))
            .with("group", Attr::Int(1));
        side.key(OpKind::Conv, conv); // k0
        side.key(OpKind::Gemm, OpKind::Gemm.def().with_defaults(Attrs::new())); // k1
        let pad = |v: f32| {
            Attrs::new()
                .with("pads", ints(&[0, 0, 1, 1, 0, 0, 1, 1]))
                .with("mode", Attr::Str("constant".into()))
                .with("value", Attr::Float(v))
        };
        side.key(OpKind::Pad, pad(0.0)); // k2
        let pool = Attrs::new()
            .with("kernel_shape", ints(&[2, 2]))
            .with("strides", ints(&[1, 1]))
            .with("pads", ints(&[0, 0, 0, 0]))
            .with("dilations", ints(&[1, 1]));
        side.key(OpKind::MaxPool, OpKind::MaxPool.def().with_defaults(pool.clone())); // k3
        side.key(OpKind::AvgPool, OpKind::AvgPool.def().with_defaults(pool)); // k4
        side.key(OpKind::Pad, pad(f32::NEG_INFINITY)); // k5
        let beta = OpKind::Gemm.def().with_defaults(Attrs::new().with("beta", Attr::Float(0.5)));
        side.key(OpKind::Gemm, beta); // k6
        let ct = Attrs::new()
            .with("strides", ints(&[1, 1]))
            .with("pads", ints(&[0, 0, 0, 0]))
            .with("dilations", ints(&[1, 1]))
            .with("output_padding", ints(&[0, 0]));
        side.key(OpKind::ConvTranspose, OpKind::ConvTranspose.def().with_defaults(ct)); // k7
        side
    }

    const CONV: &[usize] = &[1, 3, 3, 3];
    const LIN: &[usize] = &[2, 3];
    const POOL: &[usize] = &[1, 2, 6, 6];
    const CT: &[usize] = &[1, 3, 7, 7];

    /// Runs rule `name` alone from `start` (whose class has type `root`); true when `goal`
    /// ends up in the same class.
    fn proves(name: &str, start: &str, goal: &str, root: &[usize]) -> bool {
        let def = lookup(name).unwrap_or_else(|| panic!("no rule {name}"));
        let rw = rewrites(std::slice::from_ref(def)).expect("rule parses");
        let start: RecExpr<FuseLang> = start.parse().expect("start parses");
        let goal: RecExpr<FuseLang> = goal.parse().expect("goal parses");
        let mut eg = FuseGraph::new(Types { side: Arc::new(side()) });
        let s = eg.add_expr(&start);
        eg.set_analysis_data(s, Some(f32s(root)));
        let runner = Runner::default().with_egraph(eg).with_iter_limit(4).run(&rw);
        let eg = runner.egraph;
        eg.lookup_expr(&goal).map(|g| eg.find(g)) == Some(eg.find(s))
    }

    /// `rule, start => goal, type of start`, one per rule of the table.
    const CASES: &[(&str, &str, &str, &[usize])] = &[
        ("conv-relu", "(relu (conv k0 v0 v1 v6 act-none))", "(conv k0 v0 v1 v6 act-relu)", CONV),
        (
            "conv-leaky-relu",
            "(leaky_relu n3e4ccccd (conv k0 v0 v1 v6 act-none))",
            "(conv k0 v0 v1 v6 (act-leaky n3e4ccccd))",
            CONV,
        ),
        (
            "conv-clip",
            "(clip n0 n40c00000 (conv k0 v0 v1 v6 act-none))",
            "(conv k0 v0 v1 v6 (act-clip n0 n40c00000))",
            CONV,
        ),
        (
            "conv-sigmoid",
            "(sigmoid (conv k0 v0 v1 v6 act-none))",
            "(conv k0 v0 v1 v6 act-sigmoid)",
            CONV,
        ),
        (
            "conv-hard-swish",
            "(hard_swish (conv k0 v0 v1 v6 act-none))",
            "(conv k0 v0 v1 v6 act-hard-swish)",
            CONV,
        ),
        ("conv-gelu", "(gelu (conv k0 v0 v1 v6 act-none))", "(conv k0 v0 v1 v6 act-gelu)", CONV),
        (
            "conv-gelu-tanh",
            "(gelu_tanh (conv k0 v0 v1 v6 act-none))",
            "(conv k0 v0 v1 v6 act-gelu-tanh)",
            CONV,
        ),
        (
            "conv-transpose-relu",
            "(relu (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 act-relu)",
            CT,
        ),
        (
            "conv-transpose-leaky-relu",
            "(leaky_relu n3e4ccccd (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 (act-leaky n3e4ccccd))",
            CT,
        ),
        (
            "conv-transpose-clip",
            "(clip n0 n40c00000 (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 (act-clip n0 n40c00000))",
            CT,
        ),
        (
            "conv-transpose-sigmoid",
            "(sigmoid (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 act-sigmoid)",
            CT,
        ),
        (
            "conv-transpose-hard-swish",
            "(hard_swish (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 act-hard-swish)",
            CT,
        ),
        (
            "conv-transpose-gelu",
            "(gelu (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 act-gelu)",
            CT,
        ),
        (
            "conv-transpose-gelu-tanh",
            "(gelu_tanh (conv_transpose k7 v0 v16 v6 act-none))",
            "(conv_transpose k7 v0 v16 v6 act-gelu-tanh)",
            CT,
        ),
        ("gemm-relu", "(relu (gemm k1 v3 v4 v5 act-none))", "(gemm k1 v3 v4 v5 act-relu)", LIN),
        (
            "gemm-leaky-relu",
            "(leaky_relu n3e4ccccd (gemm k1 v3 v4 v5 act-none))",
            "(gemm k1 v3 v4 v5 (act-leaky n3e4ccccd))",
            LIN,
        ),
        (
            "gemm-clip",
            "(clip n0 n40c00000 (gemm k1 v3 v4 v5 act-none))",
            "(gemm k1 v3 v4 v5 (act-clip n0 n40c00000))",
            LIN,
        ),
        (
            "gemm-sigmoid",
            "(sigmoid (gemm k1 v3 v4 v5 act-none))",
            "(gemm k1 v3 v4 v5 act-sigmoid)",
            LIN,
        ),
        (
            "gemm-hard-swish",
            "(hard_swish (gemm k1 v3 v4 v5 act-none))",
            "(gemm k1 v3 v4 v5 act-hard-swish)",
            LIN,
        ),
        ("gemm-gelu", "(gelu (gemm k1 v3 v4 v5 act-none))", "(gemm k1 v3 v4 v5 act-gelu)", LIN),
        (
            "gemm-gelu-tanh",
            "(gelu_tanh (gemm k1 v3 v4 v5 act-none))",
            "(gemm k1 v3 v4 v5 act-gelu-tanh)",
            LIN,
        ),
        (
            "matmul-relu",
            "(relu (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias act-relu)",
            LIN,
        ),
        (
            "matmul-leaky-relu",
            "(leaky_relu n3e4ccccd (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias (act-leaky n3e4ccccd))",
            LIN,
        ),
        (
            "matmul-clip",
            "(clip n0 n40c00000 (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias (act-clip n0 n40c00000))",
            LIN,
        ),
        (
            "matmul-sigmoid",
            "(sigmoid (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias act-sigmoid)",
            LIN,
        ),
        (
            "matmul-hard-swish",
            "(hard_swish (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias act-hard-swish)",
            LIN,
        ),
        (
            "matmul-gelu",
            "(gelu (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias act-gelu)",
            LIN,
        ),
        (
            "matmul-gelu-tanh",
            "(gelu_tanh (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 nobias act-gelu-tanh)",
            LIN,
        ),
        (
            "conv-bias",
            "(add (conv k0 v0 v1 v6 act-none) v2)",
            "(conv k0 v0 v1 (bias-add v6 v2) act-none)",
            CONV,
        ),
        (
            "conv-bias-left",
            "(add v2 (conv k0 v0 v1 nobias act-none))",
            "(conv k0 v0 v1 (bias-add nobias v2) act-none)",
            CONV,
        ),
        (
            "conv-skip",
            "(add (conv k0 v0 v1 v6 act-none) v8)",
            "(conv k0 v0 v1 (with-skip v6 v8) act-none)",
            CONV,
        ),
        (
            "conv-skip-left",
            "(add v8 (conv k0 v0 v1 nobias act-none))",
            "(conv k0 v0 v1 (with-skip nobias v8) act-none)",
            CONV,
        ),
        (
            "gemm-bias",
            "(add (gemm k1 v3 v4 nobias act-none) v5)",
            "(gemm k1 v3 v4 v5 act-none)",
            LIN,
        ),
        (
            "gemm-bias-left",
            "(add v5 (gemm k1 v3 v4 nobias act-none))",
            "(gemm k1 v3 v4 v5 act-none)",
            LIN,
        ),
        (
            "matmul-bias",
            "(add (matmul v3 v4 nobias act-none) v5)",
            "(matmul v3 v4 v5 act-none)",
            LIN,
        ),
        (
            "matmul-bias-left",
            "(add v5 (matmul v3 v4 nobias act-none))",
            "(matmul v3 v4 v5 act-none)",
            LIN,
        ),
        (
            "conv-transpose-bias",
            "(add (conv_transpose k7 v0 v16 v6 act-none) v2)",
            "(conv_transpose k7 v0 v16 (bias-add v6 v2) act-none)",
            CT,
        ),
        (
            "conv-transpose-bias-left",
            "(add v2 (conv_transpose k7 v0 v16 nobias act-none))",
            "(conv_transpose k7 v0 v16 (bias-add nobias v2) act-none)",
            CT,
        ),
        ("mul-mul-const", "(mul (mul v8 v2) v6)", "(mul v8 (const-mul v2 v6))", CONV),
        ("add-add-const", "(add (add v8 v2) v6)", "(add v8 (const-add v2 v6))", CONV),
        ("add-mul-const", "(mul (add v8 v2) v6)", "(add (mul v8 v6) (const-mul v2 v6))", CONV),
        ("mul-add-affine", "(add (mul v8 v2) v6)", "(affine v8 v2 v6 act-none)", CONV),
        ("affine-relu", "(relu (affine v8 v2 v6 act-none))", "(affine v8 v2 v6 act-relu)", CONV),
        (
            "affine-leaky-relu",
            "(leaky_relu n3e4ccccd (affine v8 v2 v6 act-none))",
            "(affine v8 v2 v6 (act-leaky n3e4ccccd))",
            CONV,
        ),
        (
            "affine-clip",
            "(clip n0 n40c00000 (affine v8 v2 v6 act-none))",
            "(affine v8 v2 v6 (act-clip n0 n40c00000))",
            CONV,
        ),
        (
            "affine-sigmoid",
            "(sigmoid (affine v8 v2 v6 act-none))",
            "(affine v8 v2 v6 act-sigmoid)",
            CONV,
        ),
        (
            "affine-hard-swish",
            "(hard_swish (affine v8 v2 v6 act-none))",
            "(affine v8 v2 v6 act-hard-swish)",
            CONV,
        ),
        ("affine-gelu", "(gelu (affine v8 v2 v6 act-none))", "(affine v8 v2 v6 act-gelu)", CONV),
        (
            "affine-gelu-tanh",
            "(gelu_tanh (affine v8 v2 v6 act-none))",
            "(affine v8 v2 v6 act-gelu-tanh)",
            CONV,
        ),
        (
            "pad-conv",
            "(conv k0 (pad k2 v0) v1 v6 act-relu)",
            "(conv (fold-pad k0 k2) v0 v1 v6 act-relu)",
            CONV,
        ),
        ("gelu-erf-div", "(mul (mul v9 (add (erf (div v9 v10)) v11)) v12)", "(gelu v9)", LIN),
        ("gelu-erf-mul", "(mul v9 (mul v12 (add v11 (erf (mul v9 v13)))))", "(gelu v9)", LIN),
        (
            "gelu-erf-half-first",
            "(mul (mul v9 v12) (add v11 (erf (div v9 v10))))",
            "(gelu v9)",
            LIN,
        ),
        ("pad-max-pool", "(max_pool k3 (pad k5 v0))", "(max_pool (fold-pad k3 k5) v0)", POOL),
        ("pad-avg-pool", "(avg_pool k4 (pad k2 v0))", "(avg_pool (fold-pad k4 k2) v0)", POOL),
    ];

    #[test]
    fn every_rule_rewrites_its_start_to_its_goal() {
        for def in RULES {
            let case = CASES.iter().find(|c| c.0 == def.name);
            let (name, start, goal, root) =
                case.unwrap_or_else(|| panic!("{} has no test", def.name));
            assert!(proves(name, start, goal, root), "{name}: {start} => {goal}");
        }
    }

    /// Side conditions that must stop a rule.
    #[test]
    fn side_conditions_block_unsound_rewrites() {
        let blocked: &[(&str, &str, &str, &[usize])] = &[
            // A constant that varies along the last axis is not a channel bias.
            (
                "conv-bias",
                "(add (conv k0 v0 v1 nobias act-none) v7)",
                "(conv k0 v0 v1 (bias-add nobias v7) act-none)",
                CONV,
            ),
            // The activation must come after the bias, not before.
            (
                "conv-bias",
                "(add (conv k0 v0 v1 nobias act-relu) v2)",
                "(conv k0 v0 v1 (bias-add nobias v2) act-relu)",
                CONV,
            ),
            // A second activation does not replace the first.
            (
                "conv-relu",
                "(relu (conv k0 v0 v1 nobias act-sigmoid))",
                "(conv k0 v0 v1 nobias act-relu)",
                CONV,
            ),
            // A skip must have the conv's type, and there is only one.
            (
                "conv-skip",
                "(add (conv k0 v0 v1 nobias act-none) v7)",
                "(conv k0 v0 v1 (with-skip nobias v7) act-none)",
                CONV,
            ),
            (
                "conv-skip",
                "(add (conv k0 v0 v1 (with-skip nobias v8) act-none) v8)",
                "(conv k0 v0 v1 (with-skip (with-skip nobias v8) v8) act-none)",
                CONV,
            ),
            // gemm with beta ≠ 1 scales c.
            (
                "gemm-bias",
                "(add (gemm k6 v3 v4 nobias act-none) v5)",
                "(gemm k6 v3 v4 v5 act-none)",
                LIN,
            ),
            // A bias that would enlarge the result.
            (
                "matmul-bias",
                "(add (matmul v3 v4 nobias act-none) v0)",
                "(matmul v3 v4 v0 act-none)",
                LIN,
            ),
            // A conv_transpose bias must be per channel.
            (
                "conv-transpose-bias",
                "(add (conv_transpose k7 v0 v16 nobias act-none) v7)",
                "(conv_transpose k7 v0 v16 (bias-add nobias v7) act-none)",
                CT,
            ),
            // Elementwise chains: only constants combine, an affine needs constant scale and
            // shift and must not enlarge x, and a chain with an activation in between stays.
            ("mul-mul-const", "(mul (mul v8 v2) v8)", "(mul v8 (const-mul v2 v8))", CONV),
            ("add-add-const", "(add (add v8 v8) v6)", "(add v8 (const-add v8 v6))", CONV),
            ("add-mul-const", "(mul (add v8 v2) v8)", "(add (mul v8 v8) (const-mul v2 v8))", CONV),
            ("mul-add-affine", "(add (mul v8 v2) v8)", "(affine v8 v2 v8 act-none)", CONV),
            (
                "mul-add-affine",
                "(add (mul v9 v15) v5)",
                "(affine v9 v15 v5 act-none)",
                [2, 2, 3].as_slice(),
            ),
            (
                "affine-relu",
                "(relu (affine v8 v2 v6 act-sigmoid))",
                "(affine v8 v2 v6 act-relu)",
                CONV,
            ),
            // A −∞ pad in front of a conv, and a zero pad in front of a max_pool.
            (
                "pad-conv",
                "(conv k0 (pad k5 v0) v1 v6 act-none)",
                "(conv (fold-pad k0 k5) v0 v1 v6 act-none)",
                CONV,
            ),
            ("pad-max-pool", "(max_pool k3 (pad k2 v0))", "(max_pool (fold-pad k3 k2) v0)", POOL),
            // gelu spelled with erf: a wrong constant (2 for √2, for 1, for 0.5, √2 as a
            // multiplier), two different x, and a 0.5 that enlarges the result.
            ("gelu-erf-div", "(mul (mul v9 (add (erf (div v9 v14)) v11)) v12)", "(gelu v9)", LIN),
            ("gelu-erf-div", "(mul (mul v9 (add (erf (div v9 v10)) v14)) v12)", "(gelu v9)", LIN),
            ("gelu-erf-div", "(mul (mul v9 (add (erf (div v9 v10)) v11)) v14)", "(gelu v9)", LIN),
            ("gelu-erf-mul", "(mul v9 (mul v12 (add v11 (erf (mul v9 v10)))))", "(gelu v9)", LIN),
            (
                "gelu-erf-half-first",
                "(mul (mul v9 v12) (add v11 (erf (div v5 v10))))",
                "(gelu v9)",
                LIN,
            ),
            (
                "gelu-erf-half-first",
                "(mul (mul v9 v15) (add v11 (erf (div v9 v10))))",
                "(gelu v9)",
                [2, 2, 3].as_slice(),
            ),
        ];
        for (name, start, goal, root) in blocked {
            assert!(!proves(name, start, goal, root), "{name} fired on {start}");
        }
    }

    #[test]
    fn rule_names_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for r in RULES {
            assert!(seen.insert(r.name), "{} twice", r.name);
            assert!(r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'), "{}", r.name);
        }
    }
}
