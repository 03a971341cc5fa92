//! `fold-batchnorm`: folds inference `batch_norm` — and any other per-channel affine map by
//! constants (`mul`, `add`, `sub`, `div`) — into the constant weights and bias of the compute
//! op in front of it, or lowers a batch_norm to `mul` + `add` when it cannot be folded.
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
//! The same maths folds `mul(y, k)` (`s = k`, `t = 0`), `add(y, k)` (`s = 1`, `t = k`),
//! `sub(y, k)` and `div(y, k)` (k without zeros) when `k` is a constant that varies only
//! along the producer's channel axis (a scalar, `[C, 1, 1]`, `[1, C, 1, 1]`, `[N]`, …) and
//! does not enlarge `y` (Caffe-style `Scale` layers: conv → mul → add → relu becomes one
//! conv). Chains fold one after the other, in graph order.
//!
//! Folds into `conv` (weights [M, C/g, k…]; not when it already has a `skip` operand),
//! `conv_transpose` (weights [C, M/g, k…]), `gemm` (channel = the result's axis 1; `b`
//! scaled per column, `c` becomes `beta·c·s + t` with `beta = 1`: an [N] vector when `c` is
//! absent, a scalar, [N] or [1, N], otherwise the full [M, N] matrix) and `matmul` with 2-d
//! weights (channel = the result's last axis; `b` [K, N] scaled per column, the bias becomes
//! `bias·s + t` in the same way). Folding needs: the weights (and any bias) constant, no fused
//! activation yet, and the producer's result used only by the folded node.
//!
//! Otherwise, when scale/bias/mean/var are constants, `batch_norm(x)` becomes
//! `add(mul(x, s'), t')` with `s'`, `t'` of shape [C, 1, …] (so DenseNet's BN after a
//! concat disappears too); a batch_norm with
//! non-constant parameters is left as it is, and so is an unfoldable `mul`/`add`/….
//! Nodes left unused (the old weights, the batch_norm parameters) are erased.
//! Statistics: `folded` (batch_norms), `folded-elementwise` (mul/add/sub/div), `lowered`,
//! `kept`, `erased`. It does not fuse activations (see `fuse`).

use crate::options::PassOptions;
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::{can_replace, erase_dead, remove_nodes, replace_all_uses, use_counts};
use asplit_ir::activation::Activation;
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::graph::{Graph, NodeId, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::shape::broadcasts_to;
use asplit_ir::tensor::{Tensor, TensorData};
use asplit_ir::types::DType;
use std::collections::{HashMap, HashSet};

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "fold-batchnorm",
    summary: "Fold inference batch_norm and per-channel constant mul/add/sub/div into the constant weights and bias of the conv/conv_transpose/gemm/matmul before them, else lower batch_norm to mul + add.",
    options: &[],
    build,
};

/// Largest bias (in elements) this pass writes when it has to expand a gemm `c` or matmul
/// `bias` to the full result shape; beyond it the node is not folded.
pub const MAX_EXPANDED_BIAS: usize = 1 << 22;

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
        cx.stat("folded-elementwise", counts.folded_elementwise as i64);
        cx.stat("lowered", counts.lowered as i64);
        cx.stat("kept", counts.kept as i64);
        cx.stat("erased", counts.erased as i64);
        Ok(Changed::from_bool(counts.folded + counts.folded_elementwise + counts.lowered > 0))
    }
}

/// What [`fold_batchnorm`] did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// batch_norms folded into the producer's weights.
    pub folded: usize,
    /// Per-channel `mul`/`add`/`sub`/`div` by constants folded into the producer's weights.
    pub folded_elementwise: usize,
    /// Lowered to mul + add.
    pub lowered: usize,
    /// batch_norms left alone (parameters not constant).
    pub kept: usize,
    /// Nodes left unused (old weights, batch_norm parameters) and erased.
    pub erased: usize,
}

/// Folds or lowers every `batch_norm` of `g`, and folds the per-channel elementwise ops
/// that can be (see the module doc).
pub fn fold_batchnorm(g: &mut Graph) -> Result<Counts, PassError> {
    let mut counts = Counts::default();
    let mut dead = HashSet::new();
    let mut uses = use_counts(g);
    let candidates: Vec<NodeId> = g
        .live_nodes()
        .filter(|(_, n)| {
            matches!(
                n.op,
                OpKind::BatchNorm | OpKind::Mul | OpKind::Add | OpKind::Sub | OpKind::Div
            )
        })
        .map(|(id, _)| id)
        .collect();
    for n in candidates {
        let Some(&y) = g.nodes[n].outputs.first() else { continue };
        if g.nodes[n].op != OpKind::BatchNorm {
            if let Some((x, affine)) = elementwise_affine(g, n) {
                if can_replace(g, y, x) && try_fold(g, x, &affine, &uses)? {
                    forward(g, &mut uses, y, x);
                    counts.folded_elementwise += 1;
                    dead.insert(n);
                }
            }
            continue;
        }
        let (Some(affine), Some(&x)) = (affine_of(g, n), g.nodes[n].inputs.first()) else {
            counts.kept += 1;
            continue;
        };
        if can_replace(g, y, x) && try_fold(g, x, &affine, &uses)? {
            forward(g, &mut uses, y, x);
            counts.folded += 1;
        } else if let Some(z) = lower(g, x, &affine)? {
            // `z` is fresh (no graph input or output, no name): it may always replace `y`.
            replace_all_uses(g, y, z);
            let k = uses.remove(&y).unwrap_or(0);
            uses.insert(z, k);
            counts.lowered += 1;
        } else {
            counts.kept += 1;
            continue;
        }
        dead.insert(n);
    }
    remove_nodes(g, &dead);
    if counts.folded + counts.folded_elementwise + counts.lowered > 0 {
        g.toposort().map_err(|_| PassError::failed("fold-batchnorm left a cycle"))?;
        counts.erased = erase_dead(g);
    }
    Ok(counts)
}

/// Redirects the uses of `y` (the folded node's result) to `x` (the producer's result,
/// whose only use was the folded node) and keeps `uses` in step.
fn forward(g: &mut Graph, uses: &mut HashMap<ValueId, usize>, y: ValueId, x: ValueId) {
    replace_all_uses(g, y, x);
    let k = uses.remove(&y).unwrap_or(0);
    uses.insert(x, k);
}

/// Per-channel `y = x·s + t` along result axis `axis`.
struct Affine {
    s: Vec<f64>,
    t: Vec<f64>,
    axis: usize,
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
    (channels == Some(c)).then_some(Affine { s, t, axis: 1 })
}

/// The axis of a compute op's result that its weights' output channels run along.
fn channel_axis(op: OpKind, rank: usize) -> Option<usize> {
    match op {
        OpKind::Conv | OpKind::ConvTranspose | OpKind::Gemm => Some(1),
        OpKind::MatMul => rank.checked_sub(1),
        _ => None,
    }
}

/// For `mul`/`add`/`sub`/`div` node `n` of a compute op's result and a per-channel
/// constant: the compute result and the affine map the node applies to it.
fn elementwise_affine(g: &Graph, n: NodeId) -> Option<(ValueId, Affine)> {
    let node = &g.nodes[n];
    let (&a, &b) = (node.inputs.first()?, node.inputs.get(1)?);
    let commutes = matches!(node.op, OpKind::Mul | OpKind::Add);
    let (x, k) = match (g.const_value(a), g.const_value(b)) {
        (None, Some(k)) => (a, k),
        (Some(k), None) if commutes => (b, k),
        _ => return None,
    };
    let ty = g.ty(x);
    if g.ty(*node.outputs.first()?) != ty || !ty.dtype.is_float() || k.dtype() != ty.dtype {
        return None;
    }
    let axis = channel_axis(g.nodes[g.producer(x)?].op, ty.shape.len())?;
    let v = channel_values(k, &ty.shape, axis)?;
    let c = v.len();
    let (s, t) = match node.op {
        OpKind::Mul => (v, vec![0.0; c]),
        OpKind::Add => (vec![1.0; c], v),
        OpKind::Sub => (vec![1.0; c], v.iter().map(|k| -k).collect()),
        _ if v.iter().all(|&k| k != 0.0 && (1.0 / k).is_finite()) => {
            (v.iter().map(|k| 1.0 / k).collect(), vec![0.0; c])
        }
        _ => return None,
    };
    Some((x, Affine { s, t, axis }))
}

/// The values of constant `k` along `axis` of `shape` (one per channel, a scalar repeated),
/// when `k` broadcasts to `shape` and is 1 along every other axis.
fn channel_values(k: &Tensor, shape: &[usize], axis: usize) -> Option<Vec<f64>> {
    let (ks, r) = (k.shape(), shape.len());
    let c = *shape.get(axis)?;
    if !broadcasts_to(ks, shape) {
        return None;
    }
    let other_axes_one = ks.iter().enumerate().all(|(i, &d)| d == 1 || i + r - ks.len() == axis);
    let v = k.data().to_f64_vec();
    match v.len() {
        1 => Some(vec![v[0]; c]),
        n if n == c && other_axes_one => Some(v),
        _ => None,
    }
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
fn try_fold(
    g: &mut Graph,
    x: ValueId,
    a: &Affine,
    uses: &HashMap<ValueId, usize>,
) -> Result<bool, PassError> {
    let Some(p) = g.producer(x) else { return Ok(false) };
    let node = &g.nodes[p];
    if uses.get(&x) != Some(&1) || g.outputs.contains(&x) {
        return Ok(false);
    }
    let plain = Activation::from_attrs(&node.attrs).map(|a| a == Activation::None).unwrap_or(false);
    // A conv's `skip` is added before anything after it: it would need scaling too.
    if !plain || (node.op == OpKind::Conv && node.inputs.len() > 3) {
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
    let out = g.ty(x).shape.clone();
    if channel_axis(node.op, out.len()) != Some(a.axis) || out.get(a.axis) != Some(&c) {
        return Ok(false);
    }
    let folded = match node.op {
        OpKind::Conv => scale_rows(&w, a, c),
        OpKind::ConvTranspose => {
            let group = usize::try_from(node.attrs.int("group").unwrap_or(1)).unwrap_or(0);
            scale_conv_transpose(&w, a, group, c)
        }
        OpKind::Gemm if node.attrs.int("trans_b") == Ok(1) => scale_rows(&w, a, c),
        OpKind::Gemm | OpKind::MatMul => scale_columns(&w, a, c),
        _ => None,
    };
    let Some(new_w) = folded else { return Ok(false) };
    let beta = if node.op == OpKind::Gemm {
        f64::from(node.attrs.float("beta").unwrap_or(1.0))
    } else {
        1.0
    };
    let is_linear = matches!(node.op, OpKind::Gemm | OpKind::MatMul);
    let Some((b_shape, new_b)) = new_bias(bias.as_deref(), a, beta, is_linear, &out) else {
        return Ok(false);
    };
    let dtype = w.dtype();
    let wv = const_of(g, w.shape().to_vec(), new_w, dtype)?;
    // No bias before and a zero shift (a plain scale): none after either.
    let bv = if bias.is_none() && new_b.iter().all(|&v| v == 0.0) {
        None
    } else {
        Some(const_of(g, b_shape, new_b, dtype)?)
    };
    let node = &mut g.nodes[p];
    node.inputs[1] = wv;
    match (bv, node.inputs.len() > 2) {
        (Some(bv), true) => node.inputs[2] = bv,
        (Some(bv), false) => node.inputs.push(bv),
        (None, _) => {}
    }
    if node.op == OpKind::Gemm {
        node.attrs.set("beta", Attr::Float(1.0));
    }
    Ok(true)
}

/// The folded bias `beta·b·s + t` (`b` absent = 0) and its shape: one value per channel
/// when `b` is, otherwise (gemm/matmul only) `b` expanded to the result shape `out` and
/// scaled along the channel axis (the last one). `None` when `b` cannot be rewritten.
fn new_bias(
    b: Option<&Tensor>,
    a: &Affine,
    beta: f64,
    is_linear: bool,
    out: &[usize],
) -> Option<(Vec<usize>, Vec<f64>)> {
    let c = a.s.len();
    let per_channel = |v: Vec<f64>| -> (Vec<usize>, Vec<f64>) {
        let nb = v.iter().zip(&a.s).zip(&a.t).map(|((b, s), t)| beta * b * s + t).collect();
        (vec![c], nb)
    };
    let Some(b) = b else { return Some(per_channel(vec![0.0; c])) };
    if !is_linear {
        // conv / conv_transpose: `b` is [M] (their shape rules check it).
        return (b.shape() == [c]).then(|| per_channel(b.data().to_f64_vec()));
    }
    if let Some(v) = channel_values(b, out, a.axis) {
        return Some(per_channel(v));
    }
    if a.axis + 1 != out.len() {
        return None;
    }
    let full = expand(b, out)?;
    let nb = full.iter().enumerate().map(|(i, v)| beta * v * a.s[i % c] + a.t[i % c]).collect();
    Some((out.to_vec(), nb))
}

/// The values of `t` broadcast to `shape` (numpy rules), row-major; `None` when it does not
/// broadcast or the result would exceed [`MAX_EXPANDED_BIAS`] elements.
fn expand(t: &Tensor, shape: &[usize]) -> Option<Vec<f64>> {
    let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))?;
    if !broadcasts_to(t.shape(), shape) || numel > MAX_EXPANDED_BIAS {
        return None;
    }
    let v = t.data().to_f64_vec();
    let pad = shape.len() - t.shape().len();
    let src: Vec<usize> = [vec![1; pad], t.shape().to_vec()].concat();
    let mut out = Vec::with_capacity(numel);
    for i in 0..numel {
        let (mut rest, mut at, mut stride) = (i, 0usize, 1usize);
        for (&d, &s) in shape.iter().zip(&src).rev() {
            let idx = rest % d.max(1);
            rest /= d.max(1);
            if s != 1 {
                at += idx * stride;
            }
            stride *= s;
        }
        out.push(*v.get(at)?);
    }
    Some(out)
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
    let m = g.add_node(OpKind::Add, Attrs::new(), vec![g.nodes[mul].outputs[0], t])?;
    Ok(Some(g.nodes[m].outputs[0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], v: &[f64]) -> Tensor {
        Tensor::new(shape.to_vec(), TensorData::F64(v.to_vec())).expect("sized")
    }

    #[test]
    fn channel_values_accept_only_per_channel_constants() {
        let out = [1, 3, 2, 2];
        assert_eq!(channel_values(&t(&[], &[2.0]), &out, 1), Some(vec![2.0; 3]));
        let v = [1.0, 2.0, 3.0];
        assert_eq!(channel_values(&t(&[3, 1, 1], &v), &out, 1), Some(v.to_vec()));
        assert_eq!(channel_values(&t(&[1, 3, 1, 1], &v), &out, 1), Some(v.to_vec()));
        // Varies along the wrong axis, enlarges the result, or is a full tensor.
        assert_eq!(channel_values(&t(&[1, 1, 1, 2], &[1.0, 2.0]), &out, 1), None);
        assert_eq!(channel_values(&t(&[1, 1, 3, 1, 1], &v), &out, 1), None);
        assert_eq!(channel_values(&t(&[3, 2, 1], &[1.0; 6]), &out, 1), None);
    }

    #[test]
    fn expand_broadcasts_like_numpy() {
        assert_eq!(expand(&t(&[2, 1], &[1.0, 2.0]), &[2, 3]), Some(vec![1., 1., 1., 2., 2., 2.]));
        assert_eq!(expand(&t(&[3], &[1.0, 2.0, 3.0]), &[2, 3]), Some(vec![1., 2., 3., 1., 2., 3.]));
        assert_eq!(expand(&t(&[2], &[1.0, 2.0]), &[2, 3]), None);
    }

    #[test]
    fn a_full_gemm_c_is_scaled_per_column() {
        let a = Affine { s: vec![2.0, 3.0], t: vec![1.0, -1.0], axis: 1 };
        let c = t(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let (shape, v) = new_bias(Some(&c), &a, 0.5, true, &[2, 2]).expect("rewritable");
        assert_eq!(shape, [2, 2]);
        assert_eq!(v, [0.5 * 2.0 + 1.0, 3.0 - 1.0, 1.5 * 2.0 + 1.0, 2.0 * 3.0 - 1.0]);
        // A per-column c stays a vector; a conv bias of another shape is refused.
        let (shape, _) =
            new_bias(Some(&t(&[1, 2], &[1.0, 2.0])), &a, 1.0, true, &[2, 2]).expect("rewritable");
        assert_eq!(shape, [2]);
        assert!(new_bias(Some(&c), &a, 1.0, false, &[1, 2, 2, 2]).is_none());
    }
}
