//! Calibration: runs the reference interpreter over sample inputs and measures, per layer,
//! how much each edge bit-width b ∈ {2,…,8} distorts the layer's weights and its outputs.
//!
//! Two passes over the samples (so that no sample's tensors are kept):
//!
//! 1. ranges — min/max of every f32 graph input and every f32 layer output
//!    ([`Layer::outputs`]) over all samples (non-finite elements ignored);
//! 2. activation tables — each layer output is fake-quantized asymmetrically per tensor with
//!    the pass-1 range ([`act_params`]: unsigned codes with a zero point, which is 0 when the
//!    range is ≥ 0, e.g. after Relu) at every b, and the squared error is summed over the
//!    layer's outputs and all samples, as is Σx².
//!
//! Weight tables are computed once, exactly, from the constants: symmetric per output
//! channel ([`weight_params`]). A [`DistortionTable`] stores the MSE per b and the power
//! (mean x²); [`DistortionTable::at`] is the noise-to-signal ratio mse(b)/power the planner
//! sums over edge layers.
//!
//! Only f32 values are quantizable. A layer output of another dtype (an i64 shape tensor, a
//! bool mask, …) gets no range and contributes nothing to its layer's table; a layer without
//! any f32 output (or without weights) gets [`DistortionTable::zero`]. [`act_params`] on such
//! a value is an error ([`CalibrateError::NoRange`]; [`act_params_checked`] says
//! [`CalibrateError::NotQuantizable`]).
//!
//! Samples run in parallel (one interpreter run per thread); per-sample sums are added in
//! sample order, so the tables do not depend on the thread count.
//!
//! Without user samples the driver calls [`synthetic_samples`] and must warn that the plan
//! was calibrated on synthetic data ([`Calibration::synthetic`]). This file chooses no bits
//! and does not rewrite the graph.

use super::layers::{Layer, LayerGraph};
use asplit_ir::graph::{Graph, NodeId, ValueId};
use asplit_ir::interp::{run_observed, RunError};
use asplit_ir::ops::OpKind;
use asplit_ir::quant::{squared_error, QuantError, QuantParams, EDGE_BITS};
use asplit_ir::tensor::seeded_uniform;
use asplit_ir::{DType, Tensor, TensorData};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use thiserror::Error;

/// Number of edge bit-widths (2..=8).
const NBITS: usize = EDGE_BITS.len();

/// Range of the synthetic f32 inputs: a camera image with pixel values in [0, 1] normalised
/// with the ImageNet mean and standard deviation spans [(0 − 0.485)/0.229, (1 − 0.406)/0.225].
pub const SYNTHETIC_F32_RANGE: (f32, f32) = (-2.1179, 2.6400);

/// Synthetic integer inputs (token ids) are drawn from `0..SYNTHETIC_INT_END`.
pub const SYNTHETIC_INT_END: f32 = 100.0;

/// Samples [`synthetic_samples`] makes when no calibration folder is given.
pub const DEFAULT_SYNTHETIC_SAMPLES: usize = 8;

/// Why calibration failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum CalibrateError {
    /// No samples were given.
    #[error("calibration needs at least one sample, none were given")]
    NoSamples,
    /// The interpreter failed on a sample.
    #[error("calibration sample {sample}: {source}")]
    Run {
        /// Index of the sample.
        sample: usize,
        /// What failed.
        source: RunError,
    },
    /// A sample was not run although no earlier sample failed (a worker thread ended early).
    #[error("calibration sample {0} was not run")]
    NotRun(usize),
    /// Quantization parameters could not be built.
    #[error(transparent)]
    Quant(#[from] QuantError),
    /// The value is not f32, so it is never quantized.
    #[error("value {value} is {dtype}, only f32 values are quantized")]
    NotQuantizable {
        /// The value (`%n`).
        value: String,
        /// Its dtype.
        dtype: DType,
    },
    /// The value has no calibrated range (not a graph input nor a layer output).
    #[error("value {0} has no calibrated range (only graph inputs and layer outputs have one)")]
    NoRange(String),
    /// A weight that is not a constant f32 operand of a compute node.
    #[error("{value} is not a constant f32 weight operand of a conv, conv_transpose, gemm or matmul node ({why})")]
    NotAWeight {
        /// The value.
        value: String,
        /// What is wrong.
        why: String,
    },
}

/// Distortion of one layer's weights or outputs at every edge bit-width.
#[derive(Clone, Debug, PartialEq)]
pub struct DistortionTable {
    /// Mean squared quantization error for b = 2..=8 (index b − 2).
    pub mse: [f64; 7],
    /// Mean x² of the float tensors (the signal power).
    pub power: f64,
    /// Elements the table covers (per sample, for activations).
    pub elems: u64,
}

impl DistortionTable {
    /// The table of nothing: distortion 0 at every bit-width.
    pub fn zero() -> Self {
        DistortionTable { mse: [0.0; NBITS], power: 0.0, elems: 0 }
    }

    /// Normalised distortion at `bits`: mse(b)/power (noise-to-signal ratio); 0 when the
    /// power is 0. Bit-widths above 8 are treated as lossless (0) and below 2 as unusable
    /// (infinite).
    pub fn at(&self, bits: u8) -> f64 {
        if bits > 8 {
            return 0.0;
        }
        if bits < 2 {
            return f64::INFINITY;
        }
        if self.power <= 0.0 {
            return 0.0;
        }
        self.mse[bits as usize - 2] / self.power
    }
}

/// What calibration measured.
#[derive(Clone, Debug)]
pub struct Calibration {
    /// Number of samples run.
    pub samples: usize,
    /// True when the samples were synthetic ([`synthetic_samples`]): the plan must warn.
    pub synthetic: bool,
    /// (min, max) of every f32 graph input and every f32 layer output.
    pub ranges: HashMap<ValueId, (f32, f32)>,
    /// Per layer: distortion of its outputs.
    pub act: Vec<DistortionTable>,
    /// Per layer: distortion of its weights ([`DistortionTable::zero`] when it has none).
    pub weight: Vec<DistortionTable>,
}

/// True for values calibration and the planner quantize (f32).
pub fn quantizable(g: &Graph, v: ValueId) -> bool {
    g.ty(v).dtype == DType::F32
}

/// Calibrates `g` (its layers given by `layers`) on `samples` (one tensor per graph input
/// each). `progress(done, total)` is called after each interpreter run; there are two runs
/// per sample, so `total = 2 × samples`. The flag [`Calibration::synthetic`] is false: the
/// caller sets it when it passes [`synthetic_samples`].
pub fn calibrate(
    g: &Graph,
    layers: &LayerGraph,
    samples: &[Vec<Tensor>],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Calibration, CalibrateError> {
    if samples.is_empty() {
        return Err(CalibrateError::NoSamples);
    }
    let tracked = tracked_values(g, layers);
    let per_sample = per_sample(samples, 0, progress, |i, sample| {
        let mut ranges: HashMap<ValueId, (f32, f32)> = HashMap::new();
        observe(g, i, sample, |v, t| {
            if let (true, Some(x)) = (tracked.contains_key(&v), t.as_f32()) {
                widen(ranges.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY)), x);
            }
        })?;
        Ok(ranges)
    })?;
    let mut ranges: HashMap<ValueId, (f32, f32)> = HashMap::new();
    for (v, (lo, hi)) in per_sample.into_iter().flatten() {
        let r = ranges.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY));
        *r = (r.0.min(lo), r.1.max(hi));
    }
    let ranges: HashMap<ValueId, (f32, f32)> = ranges
        .into_iter()
        .map(|(v, (lo, hi))| (v, if lo <= hi { (lo, hi) } else { (0.0, 0.0) }))
        .collect();
    let act = activation_tables(g, layers, samples, &tracked, &ranges, progress)?;
    let weight =
        layers.layers.iter().map(|l| layer_weight_table(g, l)).collect::<Result<_, _>>()?;
    Ok(Calibration { samples: samples.len(), synthetic: false, ranges, act, weight })
}

/// Every f32 graph input (→ `None`) and f32 layer output (→ its layer).
fn tracked_values(g: &Graph, layers: &LayerGraph) -> HashMap<ValueId, Option<usize>> {
    let inputs = g.inputs.iter().map(|&v| (v, None));
    let outputs =
        layers.layers.iter().flat_map(|l| l.outputs.iter().map(move |&v| (v, Some(l.index))));
    inputs.chain(outputs).filter(|&(v, _)| quantizable(g, v)).collect()
}

/// Runs sample `i`, calling `f` on every computed value.
fn observe(
    g: &Graph,
    i: usize,
    sample: &[Tensor],
    f: impl FnMut(ValueId, &Tensor),
) -> Result<(), CalibrateError> {
    run_observed(g, sample, f)
        .map(|_| ())
        .map_err(|source| CalibrateError::Run { sample: i, source })
}

/// Widens `(lo, hi)` to the finite elements of `x`.
fn widen(range: &mut (f32, f32), x: &[f32]) {
    for &e in x.iter().filter(|e| e.is_finite()) {
        range.0 = range.0.min(e);
        range.1 = range.1.max(e);
    }
}

/// Squared-error and power sums of one layer's outputs.
#[derive(Clone, Default)]
struct Accum {
    err: [f64; NBITS],
    power: f64,
    count: u64,
}

/// Pass 2: per layer, the activation table from the pass-1 ranges.
fn activation_tables(
    g: &Graph,
    layers: &LayerGraph,
    samples: &[Vec<Tensor>],
    tracked: &HashMap<ValueId, Option<usize>>,
    ranges: &HashMap<ValueId, (f32, f32)>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<DistortionTable>, CalibrateError> {
    let mut params: HashMap<ValueId, Vec<QuantParams>> = HashMap::new();
    for (&v, &(lo, hi)) in ranges {
        if matches!(tracked.get(&v), Some(Some(_))) {
            let p = EDGE_BITS.iter().map(|&b| QuantParams::asymmetric(b, lo, hi));
            params.insert(v, p.collect::<Result<_, _>>()?);
        }
    }
    let per_sample = per_sample(samples, samples.len(), progress, |i, sample| {
        let mut acc = vec![Accum::default(); layers.len()];
        observe(g, i, sample, |v, t| {
            if let (Some(Some(layer)), Some(p), Some(x)) =
                (tracked.get(&v), params.get(&v), t.as_f32())
            {
                accumulate(&mut acc[*layer], x, p);
            }
        })?;
        Ok(acc)
    })?;
    // Summed in sample order, so the result does not depend on the thread count.
    let mut acc = vec![Accum::default(); layers.len()];
    for sample in per_sample {
        for (a, s) in acc.iter_mut().zip(sample) {
            a.add(&s);
        }
    }
    let elems = |l: &Layer| {
        l.outputs.iter().filter(|&&v| quantizable(g, v)).map(|&v| g.ty(v).numel() as u64).sum()
    };
    Ok(acc.iter().zip(&layers.layers).map(|(a, l)| table(a, elems(l))).collect())
}

impl Accum {
    fn add(&mut self, other: &Accum) {
        for (e, o) in self.err.iter_mut().zip(&other.err) {
            *e += o;
        }
        self.power += other.power;
        self.count += other.count;
    }
}

/// Runs `f` on every sample, on up to `available_parallelism` threads, and returns the
/// results in sample order. `progress(offset + done, 2 × samples)` is called on this thread
/// as samples finish. On failure, no new sample is started and the error of the
/// lowest-numbered failing sample is returned.
fn per_sample<T: Send>(
    samples: &[Vec<Tensor>],
    offset: usize,
    progress: &mut dyn FnMut(usize, usize),
    f: impl Fn(usize, &[Tensor]) -> Result<T, CalibrateError> + Sync,
) -> Result<Vec<T>, CalibrateError> {
    let n = samples.len();
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut results: Vec<Option<Result<T, CalibrateError>>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..threads {
            let (tx, next, stop, f) = (tx.clone(), &next, &stop, &f);
            // Every index taken is run: the samples before a failing one all finish.
            scope.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break;
                }
                let r = f(i, &samples[i]);
                if r.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send((i, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (done, (i, r)) in rx.iter().enumerate() {
            results[i] = Some(r);
            progress(offset + done + 1, 2 * n);
        }
    });
    let mut out = Vec::with_capacity(n);
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(r) => out.push(r?),
            None => return Err(CalibrateError::NotRun(i)),
        }
    }
    Ok(out)
}

/// Adds one tensor's squared errors at every bit-width (`p` in [`EDGE_BITS`] order).
fn accumulate(acc: &mut Accum, x: &[f32], p: &[QuantParams]) {
    for (err, p) in acc.err.iter_mut().zip(p) {
        *err += x
            .iter()
            .map(|&e| {
                let d = e as f64 - p.dequantize_one(p.quantize_one(e, 0), 0) as f64;
                d * d
            })
            .sum::<f64>();
    }
    acc.power += x.iter().map(|&e| e as f64 * e as f64).sum::<f64>();
    acc.count += x.len() as u64;
}

/// Means of the sums; the zero table when nothing was summed.
fn table(a: &Accum, elems: u64) -> DistortionTable {
    if a.count == 0 {
        return DistortionTable::zero();
    }
    let n = a.count as f64;
    DistortionTable { mse: a.err.map(|e| e / n), power: a.power / n, elems }
}

/// The weight table of one layer: every weight at every bit-width, per output channel.
fn layer_weight_table(g: &Graph, layer: &Layer) -> Result<DistortionTable, CalibrateError> {
    let (Some(head), false) = (layer.head, layer.weights.is_empty()) else {
        return Ok(DistortionTable::zero());
    };
    let mut acc = Accum::default();
    for &w in &layer.weights {
        let t = f32_const(g, w)?;
        let x = t.as_f32().unwrap_or_default();
        for (err, &b) in acc.err.iter_mut().zip(&EDGE_BITS) {
            let p = weight_params(g, head, w, b)?;
            *err += squared_error(x, &p.fake_quantize(x, t.shape())).0;
        }
        acc.power += x.iter().map(|&e| e as f64 * e as f64).sum::<f64>();
        acc.count += x.len() as u64;
    }
    Ok(table(&acc, acc.count))
}

fn f32_const(g: &Graph, w: ValueId) -> Result<&Tensor, CalibrateError> {
    let not = |why: &str| CalibrateError::NotAWeight { value: w.to_string(), why: why.into() };
    let t = g.const_value(w).ok_or_else(|| not("not a constant"))?;
    if t.dtype() != DType::F32 {
        return Err(not(&format!("its dtype is {}", t.dtype())));
    }
    Ok(t.as_ref())
}

/// Symmetric per-output-channel parameters for weight `w` of compute node `node`: axis 0
/// for conv (`[OC, IC/g, k…]`), 1 for conv_transpose (`[IC, OC/g, k…]`), the output-column
/// axis for a constant gemm/matmul `b` (1, or 0 with `trans_b`; the last axis for matmul)
/// and the output-row axis for a constant `a` (0, or 1 with `trans_a`; the second-to-last
/// for matmul). A rank-1 matmul operand has no such axis and gets one scale.
pub fn weight_params(
    g: &Graph,
    node: NodeId,
    w: ValueId,
    bits: u8,
) -> Result<QuantParams, CalibrateError> {
    let t = f32_const(g, w)?;
    let axis = channel_axis(g, node, w, t.shape().len())?;
    let x = t.as_f32().unwrap_or_default();
    let absmax = match axis {
        Some(a) => channel_absmax(x, t.shape(), a),
        None => vec![x.iter().filter(|e| e.is_finite()).fold(0f32, |m, e| m.max(e.abs()))],
    };
    let p = QuantParams::symmetric_per_channel(bits, &absmax, axis)?;
    p.validate(t.shape())?;
    Ok(p)
}

/// The output-channel axis of weight `w` in node `node` (see [`weight_params`]).
fn channel_axis(
    g: &Graph,
    node: NodeId,
    w: ValueId,
    rank: usize,
) -> Result<Option<usize>, CalibrateError> {
    let not = |why: String| CalibrateError::NotAWeight { value: w.to_string(), why };
    let n = g.nodes.get(node).ok_or_else(|| not(format!("no node {node}")))?;
    let slot = n.inputs.iter().position(|&v| v == w);
    let flag = |name: &str| n.attrs.int(name).unwrap_or(0) != 0;
    let axis = match (n.op, slot) {
        (OpKind::Conv, Some(1)) => Some(0),
        (OpKind::ConvTranspose, Some(1)) => Some(1),
        (OpKind::Gemm, Some(1)) => Some(if flag("trans_b") { 0 } else { 1 }),
        (OpKind::Gemm, Some(0)) => Some(if flag("trans_a") { 1 } else { 0 }),
        (OpKind::MatMul, Some(1)) => (rank >= 2).then(|| rank - 1),
        (OpKind::MatMul, Some(0)) => (rank >= 2).then(|| rank - 2),
        (op, Some(s)) => return Err(not(format!("operand {s} of `{op}` is not a weight"))),
        (op, None) => return Err(not(format!("not an operand of the `{op}` node"))),
    };
    match axis {
        Some(a) if a >= rank => Err(not(format!("rank {rank} has no channel axis {a}"))),
        _ => Ok(axis),
    }
}

/// Largest finite |x| per channel along `axis` of a row-major tensor.
fn channel_absmax(x: &[f32], shape: &[usize], axis: usize) -> Vec<f32> {
    let channels = shape.get(axis).copied().unwrap_or(1).max(1);
    let inner = shape.get(axis + 1..).map_or(1, |s| s.iter().product::<usize>()).max(1);
    let mut m = vec![0f32; channels];
    for (i, e) in x.iter().enumerate().filter(|(_, e)| e.is_finite()) {
        let c = (i / inner) % channels;
        m[c] = m[c].max(e.abs());
    }
    m
}

/// Asymmetric per-tensor parameters for value `v` at `bits`, from its calibrated range.
pub fn act_params(cal: &Calibration, v: ValueId, bits: u8) -> Result<QuantParams, CalibrateError> {
    let &(lo, hi) = cal.ranges.get(&v).ok_or_else(|| CalibrateError::NoRange(v.to_string()))?;
    Ok(QuantParams::asymmetric(bits, lo, hi)?)
}

/// Like [`act_params`], but names a non-f32 value as not quantizable rather than as lacking
/// a range.
pub fn act_params_checked(
    g: &Graph,
    cal: &Calibration,
    v: ValueId,
    bits: u8,
) -> Result<QuantParams, CalibrateError> {
    if !quantizable(g, v) {
        return Err(CalibrateError::NotQuantizable { value: v.to_string(), dtype: g.ty(v).dtype });
    }
    act_params(cal, v, bits)
}

/// `count` seeded synthetic samples, the documented default when no calibration folder is
/// given: float inputs uniform in [`SYNTHETIC_F32_RANGE`] (a camera image normalised for
/// ImageNet), integer inputs (token ids) uniform in `0..100`, bool inputs uniform.
/// Calibration on them is only a placeholder: the plan must warn.
pub fn synthetic_samples(g: &Graph, count: usize, seed: u64) -> Vec<Vec<Tensor>> {
    (0..count)
        .map(|s| {
            g.inputs
                .iter()
                .enumerate()
                .map(|(i, &v)| synthetic_tensor(g, v, mix(seed, s as u64, i as u64)))
                .collect()
        })
        .collect()
}

fn mix(seed: u64, sample: u64, input: u64) -> u64 {
    seed ^ sample.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ input.wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
}

fn synthetic_tensor(g: &Graph, v: ValueId, seed: u64) -> Tensor {
    let ty = g.ty(v);
    let n = ty.numel();
    let d = ty.dtype;
    let values: Vec<f64> = if d.is_float() {
        let (lo, hi) = SYNTHETIC_F32_RANGE;
        seeded_uniform(seed, n, lo, hi).into_iter().map(f64::from).collect()
    } else {
        let end = if d == DType::Bool { 2.0 } else { SYNTHETIC_INT_END };
        seeded_uniform(seed, n, 0.0, end).into_iter().map(|x| x.floor() as f64).collect()
    };
    let data = TensorData::F64(values).cast(d);
    Tensor::new(ty.shape.clone(), data).unwrap_or_else(|_| Tensor::splat(ty, 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::parse::parse;
    use asplit_ir::quant::quantization_mse;

    fn setup(src: &str) -> (Graph, LayerGraph) {
        let g = parse(src).unwrap();
        let l = LayerGraph::build(&g).unwrap();
        (g, l)
    }

    fn f32_sample(shape: &[usize], seed: u64, lo: f32, hi: f32) -> Vec<Tensor> {
        let n = shape.iter().product();
        vec![Tensor::from_f32(shape.to_vec(), seeded_uniform(seed, n, lo, hi)).unwrap()]
    }

    const MLP: &str = r#"
graph @mlp(%x: f32[2, 3]) {
  %w1 = const {value = tensor<f32[3, 4]: random(seed = 1)>} : f32[3, 4]
  %w2 = const {value = tensor<f32[4, 5]: random(seed = 2)>} : f32[4, 5]
  %h = gemm(%x, %w1) {activation = "relu"} : f32[2, 4]
  %s = sigmoid(%h) : f32[2, 4]
  %y = matmul(%s, %w2) : f32[2, 5]
  return %y
}
"#;

    #[test]
    fn ranges_cover_inputs_and_layer_outputs_over_all_samples() {
        let (g, l) = setup(MLP);
        let fixed = |v: [f32; 6]| vec![Tensor::from_f32([2, 3], v.to_vec()).unwrap()];
        let samples = vec![
            fixed([-1.0, 0.25, 0.0, f32::NAN, 0.5, -0.75]),
            fixed([-0.5, 3.0, 0.1, 0.2, f32::INFINITY, 0.0]),
        ];
        let cal = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap();
        let mut want: HashMap<ValueId, (f32, f32)> = HashMap::new();
        for s in &samples {
            run_observed(&g, s, |v, t| {
                let tracked =
                    g.inputs.contains(&v) || l.layers.iter().any(|la| la.outputs.contains(&v));
                if tracked {
                    widen(
                        want.entry(v).or_insert((f32::INFINITY, f32::NEG_INFINITY)),
                        t.as_f32().unwrap(),
                    );
                }
            })
            .unwrap();
        }
        assert_eq!(cal.ranges, want);
        assert_eq!(cal.ranges.len(), 3, "x, the sigmoid leaving layer 0, y");
        let x = cal.ranges[&g.inputs[0]];
        assert_eq!(x, (-1.0, 3.0), "both samples count, non-finite elements do not");
        assert_eq!(cal.samples, 2);
        assert!(!cal.synthetic);
    }

    #[test]
    fn distortion_decreases_with_bits() {
        let (g, l) = setup(MLP);
        let samples = synthetic_samples(&g, 4, 7);
        let cal = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap();
        for t in cal.act.iter().chain(&cal.weight) {
            let d: Vec<f64> = EDGE_BITS.iter().map(|&b| t.at(b)).collect();
            assert!(d.windows(2).all(|w| w[1] < w[0]), "{d:?}");
            assert!(d[6] > 0.0);
        }
    }

    #[test]
    fn progress_counts_both_passes() {
        let (g, l) = setup(MLP);
        let mut seen = vec![];
        calibrate(&g, &l, &synthetic_samples(&g, 3, 1), &mut |d, t| seen.push((d, t))).unwrap();
        assert_eq!(seen, (1..=6).map(|d| (d, 6)).collect::<Vec<_>>());
    }

    #[test]
    fn activation_table_matches_a_direct_computation() {
        let (g, l) = setup(MLP);
        let samples = synthetic_samples(&g, 2, 3);
        let cal = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap();
        let v = l.layers[0].outputs[0];
        let mut xs = vec![];
        for s in &samples {
            run_observed(&g, s, |u, t| {
                if u == v {
                    xs.extend_from_slice(t.as_f32().unwrap());
                }
            })
            .unwrap();
        }
        for &b in &EDGE_BITS {
            let p = act_params(&cal, v, b).unwrap();
            let want = quantization_mse(&xs, &[xs.len()], &p);
            let got = cal.act[0].mse[b as usize - 2];
            assert!((got - want).abs() <= 1e-12 * want.max(1e-30), "b={b}: {got} vs {want}");
        }
        let power = xs.iter().map(|&x| x as f64 * x as f64).sum::<f64>() / xs.len() as f64;
        assert!((cal.act[0].power - power).abs() < 1e-12);
        assert_eq!(cal.act[0].elems, 8);
    }

    #[test]
    fn weight_mse_is_exact_per_output_channel() {
        let (g, l) = setup(MLP);
        let cal = calibrate(&g, &l, &synthetic_samples(&g, 1, 0), &mut |_, _| {}).unwrap();
        let w = l.layers[0].weights[0];
        let x = g.const_value(w).unwrap().as_f32().unwrap().to_vec();
        for &b in &EDGE_BITS {
            // gemm b [K=3, N=4]: one scale per output column n, over x[k*4 + n].
            let qmax = ((1i32 << (b - 1)) - 1) as f32;
            let mut err = 0.0;
            for n in 0..4 {
                let col: Vec<f32> = (0..3).map(|k| x[k * 4 + n]).collect();
                let s = col.iter().fold(0f32, |m, e| m.max(e.abs())) / qmax;
                for &e in &col {
                    let q = (e / s).round_ties_even().clamp(-qmax, qmax);
                    err += (e as f64 - (q * s) as f64).powi(2);
                }
            }
            let want = err / 12.0;
            let got = cal.weight[0].mse[b as usize - 2];
            assert!((got - want).abs() <= 1e-12 * want, "b={b}: {got} vs {want}");
        }
        assert_eq!(cal.weight[0].elems, 12);
    }

    #[test]
    fn weight_axes_follow_the_output_channels() {
        let (g, _) = setup(
            r#"
graph @g(%x: f32[1, 2, 4, 4], %a: f32[3, 5]) {
  %w = const {value = tensor<f32[6, 2, 3, 3]: random(seed = 1)>} : f32[6, 2, 3, 3]
  %t = const {value = tensor<f32[6, 2, 2, 2]: random(seed = 2)>} : f32[6, 2, 2, 2]
  %b = const {value = tensor<f32[7, 5]: random(seed = 3)>} : f32[7, 5]
  %c = conv(%x, %w) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1]} : f32[1, 6, 4, 4]
  %d = conv_transpose(%c, %t) {strides = [1, 1], dilations = [1, 1], pads = [0, 0, 0, 0], output_padding = [0, 0]} : f32[1, 2, 5, 5]
  %e = gemm(%a, %b) {trans_b = 1} : f32[3, 7]
  return %d, %e
}
"#,
        );
        let node = |op: OpKind| g.live_nodes().find(|(_, n)| n.op == op).unwrap().0;
        let w = |n: NodeId| g.nodes[n].inputs[1];
        let (c, t, e) = (node(OpKind::Conv), node(OpKind::ConvTranspose), node(OpKind::Gemm));
        let p = weight_params(&g, c, w(c), 4).unwrap();
        assert_eq!((p.axis, p.scale.len()), (Some(0), 6));
        let p = weight_params(&g, t, w(t), 4).unwrap();
        assert_eq!((p.axis, p.scale.len()), (Some(1), 2));
        let p = weight_params(&g, e, w(e), 4).unwrap();
        assert_eq!((p.axis, p.scale.len()), (Some(0), 7));
        assert!(matches!(
            weight_params(&g, c, g.inputs[0], 4),
            Err(CalibrateError::NotAWeight { .. })
        ));
        assert!(matches!(weight_params(&g, c, w(t), 4), Err(CalibrateError::NotAWeight { .. })));
    }

    #[test]
    fn relu_outputs_get_zero_point_zero() {
        let (g, l) = setup(
            r#"
graph @g(%x: f32[1, 2, 4, 4]) {
  %w = const {value = tensor<f32[3, 2, 3, 3]: random(seed = 1)>} : f32[3, 2, 3, 3]
  %w2 = const {value = tensor<f32[3, 3, 1, 1]: random(seed = 2)>} : f32[3, 3, 1, 1]
  %c = conv(%x, %w) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1, 3, 4, 4]
  %d = conv(%c, %w2) {strides = [1, 1], dilations = [1, 1], pads = [0, 0, 0, 0]} : f32[1, 3, 4, 4]
  return %d
}
"#,
        );
        let cal = calibrate(&g, &l, &synthetic_samples(&g, 2, 5), &mut |_, _| {}).unwrap();
        let relu = l.layers[0].outputs[0];
        assert!(cal.ranges[&relu].0 >= 0.0);
        for &b in &EDGE_BITS {
            assert_eq!(act_params(&cal, relu, b).unwrap().zero_point, vec![0]);
        }
        let (lo, _) = cal.ranges[&g.inputs[0]];
        assert!(lo < 0.0);
        assert!(act_params(&cal, g.inputs[0], 8).unwrap().zero_point[0] > 0);
    }

    #[test]
    fn weightless_and_non_f32_layers_get_zero_tables() {
        let (g, l) = setup(
            r#"
graph @g(%x: f32[2, 3]) {
  %w = const {value = tensor<f32[3, 3]: random(seed = 1)>} : f32[3, 3]
  %r = relu(%x) : f32[2, 3]
  %m = matmul(%r, %w) : f32[2, 3]
  %i = cast(%m) {to = i64} : i64[2, 3]
  return %r, %i
}
"#,
        );
        assert_eq!(l.len(), 2);
        let cal = calibrate(&g, &l, &synthetic_samples(&g, 2, 9), &mut |_, _| {}).unwrap();
        assert_eq!(cal.weight[0], DistortionTable::zero(), "relu layer has no weights");
        assert!(cal.act[0].at(4) > 0.0);
        assert_eq!(cal.act[1], DistortionTable::zero(), "the only output is i64");
        assert!(cal.weight[1].at(4) > 0.0);
        let i = *l.layers[1].outputs.last().unwrap();
        assert!(!cal.ranges.contains_key(&i));
        assert!(matches!(
            act_params_checked(&g, &cal, i, 8),
            Err(CalibrateError::NotQuantizable { .. })
        ));
        assert!(matches!(act_params(&cal, i, 8), Err(CalibrateError::NoRange(_))));
        assert_eq!(DistortionTable::zero().at(2), 0.0);
    }

    #[test]
    fn synthetic_samples_are_seeded_and_typed() {
        let (g, _) = setup(
            r#"
graph @g(%x: f32[2, 8], %ids: i64[2, 8]) {
  %c = cast(%ids) {to = f32} : f32[2, 8]
  %y = add(%x, %c) : f32[2, 8]
  return %y
}
"#,
        );
        let a = synthetic_samples(&g, 3, 42);
        assert_eq!(a, synthetic_samples(&g, 3, 42));
        assert_ne!(a[0], a[1]);
        assert_ne!(a, synthetic_samples(&g, 3, 43));
        let (lo, hi) = SYNTHETIC_F32_RANGE;
        assert!(a[0][0].as_f32().unwrap().iter().all(|&x| (lo..hi).contains(&x)));
        let ids = a[0][1].data().to_i64_vec();
        assert_eq!(a[0][1].dtype(), DType::I64);
        assert!(ids.iter().all(|&i| (0..100).contains(&i)), "{ids:?}");
        assert!(ids.iter().any(|&i| i != ids[0]));
    }

    #[test]
    fn errors_name_the_sample() {
        let (g, l) = setup(MLP);
        assert_eq!(calibrate(&g, &l, &[], &mut |_, _| {}).unwrap_err(), CalibrateError::NoSamples);
        let mut samples = synthetic_samples(&g, 2, 1);
        samples[1] = f32_sample(&[3, 3], 1, 0.0, 1.0);
        let err = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap_err();
        assert!(matches!(err, CalibrateError::Run { sample: 1, .. }), "{err}");
        let mut samples = synthetic_samples(&g, 6, 1);
        samples[4] = f32_sample(&[3, 3], 1, 0.0, 1.0);
        samples[2] = f32_sample(&[1, 3], 1, 0.0, 1.0);
        let err = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap_err();
        assert!(matches!(err, CalibrateError::Run { sample: 2, .. }), "the lowest: {err}");
    }

    #[test]
    fn results_do_not_depend_on_scheduling() {
        let (g, l) = setup(MLP);
        let samples = synthetic_samples(&g, 9, 4);
        let a = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap();
        let b = calibrate(&g, &l, &samples, &mut |_, _| {}).unwrap();
        assert_eq!((&a.act, &a.ranges), (&b.act, &b.ranges));
        let one_by_one: Vec<Calibration> = samples
            .iter()
            .map(|s| calibrate(&g, &l, std::slice::from_ref(s), &mut |_, _| {}).unwrap())
            .collect();
        let lo = one_by_one.iter().map(|c| c.ranges[&g.inputs[0]].0).fold(f32::INFINITY, f32::min);
        assert_eq!(a.ranges[&g.inputs[0]].0, lo);
    }
}
