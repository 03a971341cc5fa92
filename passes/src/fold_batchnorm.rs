//! `fold-batchnorm`: folds inference `batch_norm` into the constant weights and bias of the
//! compute op in front of it, or lowers it to `mul` + `add` when it cannot be folded.
//!
//! With `s = scale / sqrt(var + ε)` and `t = bias − mean·s` (per channel, computed in f64),
//! `batch_norm(op(x, W, b))` is `op(x, W·s, b·s + t)` where `W·s` scales every weight of
//! output channel `c` by `s[c]`:
//!
//! ```text
//! before:  %y = conv(%x, %w, %b) {…} : f32[1,8,4,4]
//!          %z = batch_norm(%y, %scale, %bias, %mean, %var) {epsilon = 1e-5} : f32[1,8,4,4]
//! after:   %y = conv(%x, %w', %b') {…} : f32[1,8,4,4]
//! ```
//! Folds into `conv` (weights [M, C/g, k…]), `conv_transpose` (weights [C, M/g, k…]),
//! `gemm` (channel = the result's axis 1; `b` scaled per column, `c` becomes
//! `beta·c·s + t` with `beta = 1`) and 2-d `matmul` (`b` [K, N] scaled per column, the
//! shift becomes its `bias` operand). Folding needs: the weights (and any bias) constant, no
//! fused activation yet, the producer's result used only by this batch_norm, and a bias
//! shape this pass can rewrite (absent, a scalar, [N] or [1, N] for gemm/matmul).
//!
//! Otherwise, when scale/bias/mean/var are constants, `batch_norm(x)` becomes
//! `add(mul(x, s'), t')` with `s'`, `t'` of shape [C, 1, …] (so DenseNet's BN after a
//! concat disappears too); a batch_norm with non-constant parameters is left as it is.
//! Nodes left unused (the old weights, the batch_norm parameters) are erased.
//! Statistics: `folded`, `lowered`, `kept`, `erased`. It does not fuse activations (see
//! `fuse`).

use crate::options::PassOptions;
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::{can_replace, erase_dead, remove_nodes, replace_all_uses, use_counts};
use asplit_ir::activation::Activation;
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::graph::{Graph, NodeId, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::tensor::{Tensor, TensorData};
use asplit_ir::types::DType;
use std::collections::HashSet;

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-batchnorm",
    summary: "Fold inference batch_norm into the constant weights and bias of the conv/conv_transpose/gemm/matmul before it, else lower it to mul + add.",
    options: &[],
    build,
};

fn build(_: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(FoldBatchnorm))
}

/// The `fold-batchnorm` pass.
#[derive(Debug, Default)]
pub struct FoldBatchnorm;

impl Pass for FoldBatchnorm {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let counts = fold_batchnorm(g)?;
        cx.stat("folded", counts.folded as i64);
        cx.stat("lowered", counts.lowered as i64);
        cx.stat("kept", counts.kept as i64);
        cx.stat("erased", counts.erased as i64);
        Ok(Changed::from_bool(counts.folded + counts.lowered > 0))
    }
}

/// What [`fold_batchnorm`] did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Folded into the producer's weights.
    pub folded: usize,
    /// Lowered to mul + add.
    pub lowered: usize,
    /// Left alone (parameters not constant).
    pub kept: usize,
    /// Nodes left unused (old weights, batch_norm parameters) and erased.
    pub erased: usize,
}

/// Folds or lowers every `batch_norm` of `g` (see the module doc).
pub fn fold_batchnorm(g: &mut Graph) -> Result<Counts, PassError> {
    let mut counts = Counts::default();
    let mut dead = HashSet::new();
    let bns: Vec<NodeId> =
        g.live_nodes().filter(|(_, n)| n.op == OpKind::BatchNorm).map(|(id, _)| id).collect();
    for bn in bns {
        let Some(affine) = affine_of(g, bn) else {
            counts.kept += 1;
            continue;
        };
        let (Some(&y), Some(&x)) = (g.nodes[bn].outputs.first(), g.nodes[bn].inputs.first()) else {
            counts.kept += 1;
            continue;
        };
        if can_replace(g, y, x) && try_fold(g, x, &affine)? {
            replace_all_uses(g, y, x);
            counts.folded += 1;
        } else if let Some(z) = lower(g, x, &affine)? {
            // `z` is fresh (no graph input or output, no name): it may always replace `y`.
            replace_all_uses(g, y, z);
            counts.lowered += 1;
        } else {
            counts.kept += 1;
            continue;
        }
        dead.insert(bn);
    }
    remove_nodes(g, &dead);
    if counts.folded + counts.lowered > 0 {
        g.toposort().map_err(|_| PassError::failed("fold-batchnorm left a cycle"))?;
        counts.erased = erase_dead(g);
    }
    Ok(counts)
}

/// Per-channel `y = x·s + t` of one batch_norm.
struct Affine {
    s: Vec<f64>,
    t: Vec<f64>,
}

/// `s` and `t` when scale, bias, mean and var are constants of one shape [C].
fn affine_of(g: &Graph, bn: NodeId) -> Option<Affine> {
    let node = &g.nodes[bn];
    let eps = f64::from(node.attrs.float("epsilon").ok()?);
    let param = |i: usize| -> Option<Vec<f64>> {
        let t = g.const_value(*node.inputs.get(i)?)?;
        (t.shape().len() == 1 && t.dtype().is_float()).then(|| t.data().to_f64_vec())
    };
    let (scale, bias, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let c = scale.len();
    if [bias.len(), mean.len(), var.len()] != [c, c, c] {
        return None;
    }
    let s: Vec<f64> = scale.iter().zip(&var).map(|(sc, v)| sc / (v + eps).sqrt()).collect();
    let t = bias.iter().zip(&mean).zip(&s).map(|((b, m), s)| b - m * s).collect();
    let channels = g.ty(*node.inputs.first()?).shape.get(1).copied();
    (channels == Some(c)).then_some(Affine { s, t })
}

/// A constant tensor of `dtype` from f64 values.
fn const_of(
    g: &mut Graph,
    shape: Vec<usize>,
    v: Vec<f64>,
    dtype: DType,
) -> Result<ValueId, PassError> {
    let t = Tensor::new(shape, TensorData::F64(v))
        .map_err(|e| PassError::failed(format!("fold-batchnorm: {e}")))?;
    Ok(g.add_const(t.cast(dtype)))
}

/// Folds into the producer of `x` when allowed; true when it did.
fn try_fold(g: &mut Graph, x: ValueId, a: &Affine) -> Result<bool, PassError> {
    let Some(p) = g.producer(x) else { return Ok(false) };
    let node = &g.nodes[p];
    let uses = use_counts(g);
    if uses.get(&x) != Some(&1) || g.outputs.contains(&x) {
        return Ok(false);
    }
    let plain = Activation::from_attrs(&node.attrs).map(|a| a == Activation::None).unwrap_or(false);
    if !plain {
        return Ok(false);
    }
    let Some(w) = node.inputs.get(1).and_then(|&w| g.const_value(w)).cloned() else {
        return Ok(false);
    };
    if !w.dtype().is_float() {
        return Ok(false);
    }
    let bias = match node.inputs.get(2) {
        None => None,
        Some(&b) => match g.const_value(b) {
            Some(t) => Some(t.clone()),
            None => return Ok(false),
        },
    };
    let c = a.s.len();
    let folded = match node.op {
        OpKind::Conv => scale_rows(&w, a, c),
        OpKind::ConvTranspose => {
            let group = usize::try_from(node.attrs.int("group").unwrap_or(1)).unwrap_or(0);
            scale_conv_transpose(&w, a, group, c)
        }
        OpKind::Gemm if node.attrs.int("trans_b") == Ok(1) => scale_rows(&w, a, c),
        OpKind::Gemm => scale_columns(&w, a, c),
        OpKind::MatMul if node.inputs.first().map(|&v| g.ty(v).shape.len()) == Some(2) => {
            scale_columns(&w, a, c)
        }
        _ => None,
    };
    let Some(new_w) = folded else { return Ok(false) };
    let is_linear = matches!(node.op, OpKind::Gemm | OpKind::MatMul);
    let beta = if node.op == OpKind::Gemm {
        f64::from(node.attrs.float("beta").unwrap_or(1.0))
    } else {
        1.0
    };
    let old_b: Vec<f64> = match &bias {
        None => vec![0.0; c],
        Some(t) if t.numel() == 1 && is_linear => vec![t.data().to_f64_vec()[0] * beta; c],
        Some(t) if t.numel() == c && (t.shape() == [c] || t.shape() == [1, c]) => {
            t.data().to_f64_vec().into_iter().map(|v| v * beta).collect()
        }
        Some(_) => return Ok(false),
    };
    let new_b: Vec<f64> = old_b.iter().zip(&a.s).zip(&a.t).map(|((b, s), t)| b * s + t).collect();
    let dtype = w.dtype();
    let wv = const_of(g, w.shape().to_vec(), new_w, dtype)?;
    let bv = const_of(g, vec![c], new_b, dtype)?;
    let node = &mut g.nodes[p];
    node.inputs[1] = wv;
    if node.inputs.len() > 2 {
        node.inputs[2] = bv;
    } else {
        node.inputs.push(bv);
    }
    if node.op == OpKind::Gemm {
        node.attrs.set("beta", Attr::Float(1.0));
    }
    Ok(true)
}

/// Weights whose leading axis is the output channel ([M, …]), scaled per row.
fn scale_rows(w: &Tensor, a: &Affine, c: usize) -> Option<Vec<f64>> {
    if w.shape().first() != Some(&c) || c == 0 {
        return None;
    }
    let inner = w.numel() / c;
    let v = w.data().to_f64_vec();
    Some(v.iter().enumerate().map(|(i, x)| x * a.s[i / inner.max(1)]).collect())
}

/// Weights [K, N] scaled per column.
fn scale_columns(w: &Tensor, a: &Affine, c: usize) -> Option<Vec<f64>> {
    if w.shape().len() != 2 || w.shape()[1] != c {
        return None;
    }
    let v = w.data().to_f64_vec();
    Some(v.iter().enumerate().map(|(i, x)| x * a.s[i % c]).collect())
}

/// ConvTranspose weights [C, M/g, k…]: entry (ci, j) feeds output channel
/// `(ci / (C/g))·(M/g) + j`.
fn scale_conv_transpose(w: &Tensor, a: &Affine, group: usize, m: usize) -> Option<Vec<f64>> {
    let sh = w.shape();
    if sh.len() < 3 || group == 0 || !sh[0].is_multiple_of(group) || sh[1] * group != m {
        return None;
    }
    let (cin, mg) = (sh[0], sh[1]);
    let inner: usize = sh[2..].iter().product();
    let per_group = cin / group;
    let v = w.data().to_f64_vec();
    let out = v
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let j = (i / inner.max(1)) % mg;
            let ci = i / (inner.max(1) * mg);
            x * a.s[(ci / per_group) * mg + j]
        })
        .collect();
    Some(out)
}

/// `add(mul(x, s'), t')` with `s'`, `t'` of shape [C, 1, …]; `None` for rank < 2 or
/// non-float `x`.
fn lower(g: &mut Graph, x: ValueId, a: &Affine) -> Result<Option<ValueId>, PassError> {
    let ty = g.ty(x).clone();
    if ty.shape.len() < 2 || !ty.dtype.is_float() {
        return Ok(None);
    }
    let mut shape = vec![a.s.len()];
    shape.resize(ty.shape.len() - 1, 1);
    let s = const_of(g, shape.clone(), a.s.clone(), ty.dtype)?;
    let t = const_of(g, shape, a.t.clone(), ty.dtype)?;
    let mul = g.add_node(OpKind::Mul, Attrs::new(), vec![x, s])?;
    let m = g.nodes[mul].outputs[0];
    let add = g.add_node(OpKind::Add, Attrs::new(), vec![m, t])?;
    Ok(Some(g.nodes[add].outputs[0]))
}
