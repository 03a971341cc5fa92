//! `exact-conv`: turns an edge convolution or gemm of quantized operands into an exact
//! integer one and a rescale, so that every implementation computes the same bits and the
//! edge program's codes equal the interpreter's (DESIGN.md §8).
//!
//! ```text
//! before (phase(split)):
//!   %q  = quantize(%a) {bits = 8, scheme = "asym", scale = [0.05], zero_point = [0], ...} : i32[...] @edge
//!   %d  = dequantize(%q) {... same ...} : f32[...] @edge
//!   %wd = dequantize(%wq) {axis = 0, scale = [s0, s1, ...], scheme = "sym", ...} : f32[M,...] @edge
//!   %c  = conv(%d, %wd, %b) {activation = "relu", ...} : f32[1,M,H,W] @edge
//! after:
//!   %xi = dequantize(%q) {scale = [1.0], zero_point = [0], ...} : f32[...] @edge    ; q − zp
//!   %wi = dequantize(%wq) {axis = 0, scale = [1.0, 1.0, ...], ...} : f32[M,...] @edge
//!   %e  = conv(%xi, %wi) {exact_bound = 255, ...} : f32[1,M,H,W] @edge              ; exact Σ
//!   %s  = const {value = [0.05·s0, 0.05·s1, ...]} : f32[1,M,1,1] @edge
//!   %sb = const {value = %b as [1,M,1,1] (zeros without a bias)} : f32[1,M,1,1] @edge
//!   %c2 = affine(%e, %s, %sb) {activation = "relu"} : f32[1,M,H,W] @edge
//! ```
//!
//! A convolution of fake-quantized values sums f32 products whose rounding depends on the
//! summation order, so a blocked FMA kernel and the interpreter disagree in the last place,
//! which now and then moves a value across a rounding boundary of the next quantization and
//! changes a code (then the next layer's, and so on). The integer form has one answer:
//! `conv`/`gemm` with `exact_bound` sum integer products exactly (the interpreter in f64, the
//! generated code in exact f32 chunks and i32), and the rescale is one `mul` and one `add`
//! per element in both. A conv's residual `skip` becomes `add` after the affine, then the
//! activation as its own op. A gemm's `alpha` joins the scale and `beta·c` the shift; a
//! `reshape` between the dequantize and a gemm (a flatten) moves to the codes.
//!
//! Only edge nodes are rewritten, and only when `x` is `dequantize(%codes)` with one scale
//! and zero point, `w` is `dequantize(const codes)` (per tensor, or per output channel), a
//! bias is a constant with one value per output channel, and the sums stay within what the
//! generated code sums exactly (every product ≤ 2^24, every sum < 2^31); others stay f32 and
//! are counted. The first edge layer usually reads the raw f32 model input and stays f32.
//! `matmul` is not rewritten. Graphs not in the Split phase are left as they are.
//! Statistics: `exact` (nodes rewritten), `kept-f32` (edge convs and gemms left).

use crate::options::PassOptions;
use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo};
use crate::rewrite::{erase_dead, replace_all_uses};
use asplit_ir::activation::Activation;
use asplit_ir::attr::{Attr, Attrs};
use asplit_ir::graph::{Graph, NodeId, Phase, Placement, ValueId};
use asplit_ir::ops::{exact_chunk, OpKind, EXACT_BOUND_MAX};
use asplit_ir::quant::QuantParams;
use asplit_ir::shape::quant::{params_from_attrs, params_to_attrs};
use asplit_ir::tensor::{Tensor, TensorData};

/// Registry entry.
pub const INFO: PassInfo = PassInfo {
    name: "exact-conv",
    summary: "Rewrite edge convs/gemms of quantized operands as exact integer ones plus a rescale.",
    options: &[],
    build,
};

fn build(_: &PassOptions) -> Result<Box<dyn Pass>, PassError> {
    Ok(Box::new(ExactConv))
}

/// The `exact-conv` pass.
#[derive(Debug, Default)]
pub struct ExactConv;

impl Pass for ExactConv {
    fn info(&self) -> &'static PassInfo {
        &INFO
    }

    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError> {
        let n = exact_conv(g)?;
        cx.stat("exact", n.exact as i64);
        cx.stat("kept-f32", n.kept as i64);
        Ok(Changed::from_bool(n.exact > 0))
    }
}

/// How many edge convs were rewritten and kept.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExactStats {
    /// Rewritten.
    pub exact: usize,
    /// Left in f32.
    pub kept: usize,
}

/// Runs the rewrite on `g` (no-op unless `g` is in the Split phase).
pub fn exact_conv(g: &mut Graph) -> Result<ExactStats, PassError> {
    let mut stats = ExactStats::default();
    if g.phase != Phase::Split {
        return Ok(stats);
    }
    let convs: Vec<NodeId> = g
        .live_nodes()
        .filter(|(n, node)| {
            matches!(node.op, OpKind::Conv | OpKind::Gemm)
                && g.placement.get(n) == Some(&Placement::Edge)
                && node.attrs.get("exact_bound").is_none()
        })
        .map(|(n, _)| n)
        .collect();
    let mut order = Vec::new();
    let mut inserted: std::collections::HashMap<NodeId, Vec<NodeId>> = Default::default();
    for n in convs {
        let Some(plan) = Plan::of(g, n) else {
            stats.kept += 1;
            continue;
        };
        let start = g.order.len();
        let y = plan.emit(g, n).map_err(|e| PassError::Failed { message: e })?;
        let new: Vec<NodeId> = g.order.drain(start..).collect();
        for &m in &new {
            g.placement.insert(m, Placement::Edge);
        }
        inserted.insert(n, new);
        replace_all_uses(g, g.nodes[n].outputs[0], y);
        stats.exact += 1;
    }
    for &n in &g.order {
        order.push(n);
        if let Some(new) = inserted.remove(&n) {
            order.extend(new);
        }
    }
    g.order = order;
    erase_dead(g);
    Ok(stats)
}

/// What one rewrite needs, read off the graph.
struct Plan {
    /// The activation codes (`x`'s dequantize operand) and their parameters, and the
    /// attributes of a `reshape` between the dequantize and the node (gemm after a flatten).
    x_codes: ValueId,
    x_params: QuantParams,
    x_reshape: Option<Attrs>,
    /// The weight codes (a const) and their parameters.
    w_codes: ValueId,
    w_params: QuantParams,
    /// `max |q − zp|` of the activation codes.
    bound: i64,
    /// The weight axis of the output channels (conv: 0; gemm: 0 with `trans_b`, else 1).
    w_axis: usize,
    /// Per output channel: the factor of the exact sum (gemm's alpha included) and the bias
    /// (conv's `b`; gemm's `beta·c`), if any.
    alpha: f32,
    bias: Option<Vec<f32>>,
    skip: Option<ValueId>,
    act: Activation,
}

impl Plan {
    /// The rewrite of conv or gemm `n`, or `None` when it does not qualify.
    fn of(g: &Graph, n: NodeId) -> Option<Plan> {
        let node = &g.nodes[n];
        let m = *g.ty(*node.outputs.first()?).shape.get(1)?;
        let gemm = node.op == OpKind::Gemm;
        let w_axis = usize::from(gemm && node.attrs.int("trans_b").ok()? == 0);
        let x = *node.inputs.first()?;
        let (x, x_reshape) = match g.producer(x).map(|p| &g.nodes[p]) {
            Some(r) if r.op == OpKind::Reshape && gemm => (r.inputs[0], Some(r.attrs.clone())),
            _ => (x, None),
        };
        let (x_codes, x_params) = dequantized(g, x)?;
        let (w_codes, w_params) = dequantized(g, *node.inputs.get(1)?)?;
        g.const_value(w_codes)?;
        if x_params.scale.len() != 1 || x_params.zero_point.len() != 1 {
            return None;
        }
        let zp = x_params.zero_point[0] as i64;
        let bound = (x_params.qmin() as i64 - zp).abs().max((x_params.qmax() as i64 - zp).abs());
        let w = g.const_value(w_codes)?;
        let TensorData::I32(codes) = w.data() else { return None };
        let w_shape = w.shape();
        // `q − zp` of every weight, exactly (the unit-scale dequantize the rewrite emits).
        let w_max =
            unit(&w_params).dequantize(codes, w_shape).iter().fold(0f32, |m, v| m.max(v.abs()));
        if w_params.axis.is_some_and(|a| a != w_axis) {
            return None;
        }
        let per_output = if gemm {
            *w_shape.get(1 - w_axis)?
        } else {
            w_shape.iter().skip(1).product::<usize>()
        };
        if !(1..=EXACT_BOUND_MAX).contains(&bound) {
            return None;
        }
        exact_chunk(bound as u64, w_max as u64, per_output as u64)?;
        let (alpha, beta) = if gemm {
            (node.attrs.float("alpha").ok()?, node.attrs.float("beta").ok()?)
        } else {
            (1.0, 1.0)
        };
        let bias = match node.inputs.get(2) {
            Some(&b) => {
                let t = g.const_value(b)?;
                // One value per output channel: conv's [M]; gemm's c as [N] or [1, N].
                if t.shape().last() != Some(&m) || t.numel() != m {
                    return None;
                }
                Some(t.as_f32()?.iter().map(|&c| beta * c).collect::<Vec<f32>>())
            }
            None => None,
        };
        let act = Activation::from_attrs(&node.attrs).ok()?;
        (act == Activation::None || act.as_unary().is_some()).then_some(())?;
        Some(Plan {
            x_codes,
            x_params,
            x_reshape,
            w_codes,
            w_params,
            bound,
            w_axis,
            alpha,
            bias,
            skip: node.inputs.get(3).copied(),
            act,
        })
    }

    /// Appends the exact conv or gemm and its rescale (to the end of `order`); returns the
    /// value that replaces the node's result.
    fn emit(&self, g: &mut Graph, n: NodeId) -> Result<ValueId, String> {
        let node = g.nodes[n].clone();
        let out_ty = g.ty(node.outputs[0]).clone();
        let m = out_ty.shape.get(1).copied().ok_or("conv result without channels")?;
        let codes = match &self.x_reshape {
            Some(attrs) => add1(g, OpKind::Reshape, attrs.clone(), self.x_codes)?,
            None => self.x_codes,
        };
        let xi = add1(g, OpKind::Dequantize, params_to_attrs(&unit(&self.x_params)), codes)?;
        let wi = add1(g, OpKind::Dequantize, params_to_attrs(&unit(&self.w_params)), self.w_codes)?;
        let mut attrs = node.attrs.clone();
        attrs.set("activation", Attr::Str("none".into()));
        attrs.set("activation_params", Attr::Floats(Vec::new()));
        attrs.set("exact_bound", Attr::Int(self.bound));
        if node.op == OpKind::Gemm {
            attrs.set("alpha", Attr::Float(1.0));
        }
        let e = g.add_node(node.op, attrs, vec![xi, wi]).map_err(|e| e.to_string())?;
        let e = g.nodes[e].outputs[0];
        let channel_shape: Vec<usize> =
            (0..out_ty.shape.len()).map(|a| if a == 1 { m } else { 1 }).collect();
        let sx = self.x_params.scale[0];
        let scale: Vec<f32> = (0..m)
            .map(|c| self.alpha * sx * channel_scale(&self.w_params, self.w_axis, c))
            .collect();
        let s = g.add_const(tensor(&channel_shape, scale)?);
        let shift = self.bias.clone().unwrap_or_else(|| vec![0.0; m]);
        let inputs = vec![e, s, g.add_const(tensor(&channel_shape, shift)?)];
        let fused_act = if self.skip.is_none() { self.act } else { Activation::None };
        let affine_attrs = Attrs::new()
            .with("activation", Attr::Str(fused_act.name().into()))
            .with("activation_params", Attr::Floats(fused_act.params()));
        let a = g.add_node(OpKind::Affine, affine_attrs, inputs).map_err(|e| e.to_string())?;
        let mut y = g.nodes[a].outputs[0];
        if let Some(skip) = self.skip {
            let s =
                g.add_node(OpKind::Add, Attrs::new(), vec![y, skip]).map_err(|e| e.to_string())?;
            y = g.nodes[s].outputs[0];
            if let Some((op, attrs)) = self.act.as_unary() {
                let r = g.add_node(op, attrs, vec![y]).map_err(|e| e.to_string())?;
                y = g.nodes[r].outputs[0];
            }
        }
        if g.ty(y) != &out_ty {
            return Err(format!("rewrite gives {}, the conv gave {out_ty}", g.ty(y)));
        }
        Ok(y)
    }
}

/// `(codes, params)` when `v` is the result of a `dequantize` of i32 codes with valid,
/// attribute-given parameters.
fn dequantized(g: &Graph, v: ValueId) -> Option<(ValueId, QuantParams)> {
    let p = g.producer(v)?;
    let node = &g.nodes[p];
    if node.op != OpKind::Dequantize {
        return None;
    }
    let codes = *node.inputs.first()?;
    let params = params_from_attrs(&node.attrs).ok()?;
    params.validate(&g.ty(codes).shape).ok()?;
    Some((codes, params))
}

/// `p` with every scale 1: its dequantize gives `q − zp`, exactly.
fn unit(p: &QuantParams) -> QuantParams {
    QuantParams { scale: vec![1.0; p.scale.len()], ..p.clone() }
}

/// The weight scale of output channel `c` (per channel along `axis`, or per tensor).
fn channel_scale(p: &QuantParams, axis: usize, c: usize) -> f32 {
    match p.axis {
        Some(a) if a == axis => p.scale.get(c).copied().unwrap_or(1.0),
        _ => p.scale.first().copied().unwrap_or(1.0),
    }
}

fn tensor(shape: &[usize], v: Vec<f32>) -> Result<Tensor, String> {
    Tensor::new(shape.to_vec(), TensorData::F32(v)).map_err(|e| e.to_string())
}

fn add1(g: &mut Graph, op: OpKind, attrs: Attrs, x: ValueId) -> Result<ValueId, String> {
    let n = g.add_node(op, attrs, vec![x]).map_err(|e| e.to_string())?;
    Ok(g.nodes[n].outputs[0])
}
