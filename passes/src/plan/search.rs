//! The Auto-Split search: candidate splits, bits per candidate, the baselines, the plan.
//!
//! [`build_model`] turns a fused graph, its layers, the calibration and the two device
//! profiles into the [`CostModel`] every solution is priced with (solution.rs). [`plan_model`]
//! then works on the model alone:
//!
//! 1. candidate cuts: every linear split n ∈ 0..=N plus the neurosurgeon and qdmp cuts,
//!    kept when the edge part fits the memory at the lowest bit-width and sends at most T_0
//!    bytes at the lowest bit-width (`T_n < T_0`, AUTOSPLIT §2.2);
//! 2. per cut, the paper's bits: for every transmitted bit-width b_tx (all crossing values
//!    at b_tx, kept when T_n(b_tx) < T_0) and every activation budget, the activation λ-sweep
//!    over the other edge layers, `maximize_act_bits`, then the weight λ-sweep with the memory
//!    left (bits.rs); plus uniform b for every b ∈ 𝔹;
//! 3. with a distortion budget (`--max-distortion`), per cut also the exact optimum: a
//!    dynamic program over the edge layers with Pareto-pruned labels (activation peak, weight
//!    bits, payload bytes, distortion, latency), exact unless a label cap or the work limit is
//!    hit (then a warning says so);
//! 4. baselines (cloud-only, edge-only-u8, neurosurgeon, qdmp) priced by the same model;
//! 5. Pareto flags and the choice: the lowest total among feasible auto-split solutions within
//!    the distortion budget (ties: less distortion).
//!
//! The chosen solution is never worse than a feasible baseline: cloud-only is the auto cut
//! n = 0 with nothing quantized; edge-only-u8 is the uniform-8 assignment of cut N; the
//! neurosurgeon and qdmp cuts are candidates with every bit-width, whose integer latency the
//! built-in profiles make no slower than f32. If a profile breaks that, the plan warns.
//!
//! [`split_spec`] turns a solution into the input of `insert-boundary` (quantization
//! parameters from the calibration). This file neither measures (calibrate.rs, latency.rs)
//! nor renders (report.rs).

use super::bits::{lambda_sweep, lambda_sweep_or_min, maximize_act_bits, Item};
use super::calibrate::{act_params, quantizable, weight_params, Calibration};
use super::latency::layer_seconds;
use super::layers::LayerGraph;
use super::mincut::{min_cut, CutGraph, CutInput, CutValue};
use super::profile::{DeviceProfile, Precision};
use super::solution::{
    choose, dedup, mark_pareto, packed_bytes, tensor_header_bytes, Assignment, BitsChoice,
    Constraints, CostModel, InputCost, LayerCost, Plan, PlanError, Solution, SolutionKind,
    SplitChoice, ValueCost, FLOAT_BITS, FRAME_HEADER_BYTES,
};
use crate::insert_boundary::SplitSpec;
use asplit_ir::graph::Graph;
use asplit_ir::quant::EDGE_BITS;
use asplit_ir::types::DType;

/// Default average activation bits tried by the λ-sweep.
pub const ACT_BUDGETS: [f64; 4] = [2.0, 4.0, 6.0, 8.0];

/// Most Pareto labels the exact search keeps per layer before giving up on a cut.
pub const LABEL_CAP: usize = 20_000;

/// Most label extensions the exact search spends on one plan.
pub const WORK_LIMIT: u64 = 1_000_000_000;

/// Planner settings (`asplitc plan` flags).
#[derive(Clone, Debug)]
pub struct PlanConfig {
    /// Uplink bandwidth, bit/s (`--bandwidth 3Mbps` = 3·10⁶).
    pub bandwidth_bps: f64,
    /// Round-trip time, s.
    pub rtt_s: f64,
    /// Edge memory budget, bytes.
    pub edge_memory_bytes: u64,
    /// Bits per raw input element (8 for a camera frame, 32 for f32).
    pub input_bits: u8,
    /// Average activation bits for the λ-sweep (default [`ACT_BUDGETS`]).
    pub act_budgets: Vec<f64>,
    /// Distortion budget.
    pub max_distortion: Option<f64>,
    /// Edge device.
    pub edge: DeviceProfile,
    /// Cloud device.
    pub cloud: DeviceProfile,
    /// `--split`.
    pub split: SplitChoice,
    /// `--bits`.
    pub bits: BitsChoice,
}

/// What [`plan_model`] needs besides the model.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchOptions {
    /// Average activation bits for the λ-sweep.
    pub act_budgets: Vec<f64>,
    /// `--split`.
    pub split: SplitChoice,
    /// `--bits`.
    pub bits: BitsChoice,
    /// Edge profile name (reported).
    pub edge_profile: String,
    /// Cloud profile name (reported).
    pub cloud_profile: String,
}

/// Plans `g` (after the default pipeline) with layers `layers` and calibration `cal`.
pub fn plan(
    g: &Graph,
    layers: &LayerGraph,
    cal: &Calibration,
    cfg: &PlanConfig,
) -> Result<Plan, PlanError> {
    let model = build_model(g, layers, cal, cfg)?;
    let opts = SearchOptions {
        act_budgets: cfg.act_budgets.clone(),
        split: cfg.split,
        bits: cfg.bits,
        edge_profile: cfg.edge.name.clone(),
        cloud_profile: cfg.cloud.name.clone(),
    };
    let mut plan = plan_model(&model, &opts)?;
    plan.calibration = (cal.samples, cal.synthetic);
    if cal.synthetic {
        plan.warnings.insert(
            0,
            format!(
                "calibrated on {} synthetic samples (no --calibration): distortion estimates \
                 may not reflect real inputs",
                cal.samples
            ),
        );
    }
    Ok(plan)
}

/// Checks the settings a model is built from.
fn check_config(cfg: &PlanConfig) -> Result<(), PlanError> {
    if !(cfg.bandwidth_bps.is_finite() && cfg.bandwidth_bps > 0.0) {
        return Err(PlanError::Config(format!("bandwidth {} bit/s", cfg.bandwidth_bps)));
    }
    if !(cfg.rtt_s.is_finite() && cfg.rtt_s >= 0.0) {
        return Err(PlanError::Config(format!("rtt {} s", cfg.rtt_s)));
    }
    if !(1..=32).contains(&cfg.input_bits) {
        return Err(PlanError::Config(format!("--input-bits {} (1..=32)", cfg.input_bits)));
    }
    if let Some(e) = cfg.max_distortion.filter(|e| !(e.is_finite() && *e >= 0.0)) {
        return Err(PlanError::Config(format!("--max-distortion {e}")));
    }
    Ok(())
}

/// Builds the cost model: latency tables from the profiles, distortion from the calibration.
pub fn build_model(
    g: &Graph,
    layers: &LayerGraph,
    cal: &Calibration,
    cfg: &PlanConfig,
) -> Result<CostModel, PlanError> {
    check_config(cfg)?;
    let n = layers.len();
    for (what, got) in [("activation", cal.act.len()), ("weight", cal.weight.len())] {
        if got != n {
            return Err(PlanError::Calibration { what, got, want: n });
        }
    }
    let mut costs = Vec::with_capacity(n);
    for (i, layer) in layers.layers.iter().enumerate() {
        let mut edge_q = [[0.0; 9]; 9];
        for &w in &EDGE_BITS {
            for &a in &EDGE_BITS {
                edge_q[usize::from(w)][usize::from(a)] =
                    layer_seconds(&cfg.edge, g, layer, Precision::Int(w), Precision::Int(a));
            }
        }
        let f32s = |p: &DeviceProfile| layer_seconds(p, g, layer, Precision::F32, Precision::F32);
        let mut dw = [0.0; 9];
        let mut da = [0.0; 9];
        for &b in &EDGE_BITS {
            dw[usize::from(b)] = if layer.weight_elems > 0 { cal.weight[i].at(b) } else { 0.0 };
            da[usize::from(b)] = cal.act[i].at(b);
        }
        costs.push(LayerCost {
            weight_elems: layer.weight_elems,
            bias_elems: layer.bias_elems,
            output_elems: layer.output_elems,
            edge_q,
            edge_f32: f32s(&cfg.edge),
            cloud: f32s(&cfg.cloud),
            dw,
            da,
        });
    }
    let raw_bits =
        |d: DType| (d != DType::F32).then(|| u8::try_from(d.size_bytes() * 8).unwrap_or(u8::MAX));
    let mut values: Vec<ValueCost> = layers
        .uses
        .iter()
        .filter(|(_, u)| !u.readers.is_empty() || u.is_output)
        .map(|(&id, u)| ValueCost {
            id,
            producer: u.producer,
            readers: u.readers.clone(),
            is_output: u.is_output,
            elems: g.ty(id).numel() as u64,
            rank: g.ty(id).shape.len(),
            raw_bits: raw_bits(g.ty(id).dtype),
        })
        .collect();
    values.sort_by_key(|v| v.id);
    let inputs = g
        .inputs
        .iter()
        .zip(&layers.input_readers)
        .map(|(&v, readers)| InputCost {
            readers: readers.clone(),
            elems: g.ty(v).numel() as u64,
            rank: g.ty(v).shape.len(),
            raw_bits: raw_bits(g.ty(v).dtype),
        })
        .collect();
    Ok(CostModel {
        layers: costs,
        preds: layers.layers.iter().map(|l| l.preds.clone()).collect(),
        values,
        inputs,
        bits: EDGE_BITS.to_vec(),
        bandwidth_bps: cfg.bandwidth_bps,
        rtt_s: cfg.rtt_s,
        edge_memory_bytes: cfg.edge_memory_bytes,
        input_bits: cfg.input_bits,
        max_distortion: cfg.max_distortion,
    })
}

/// The search's output before choosing.
#[derive(Clone, Debug, Default)]
pub struct SearchResult {
    /// Feasible auto-split solutions (deduplicated).
    pub solutions: Vec<Solution>,
    /// Notes on approximations.
    pub warnings: Vec<String>,
    /// True when the exact search ran on every candidate cut without hitting a limit.
    pub exact: bool,
}

/// The cut with layers `0..n` on the edge.
pub fn linear_cut(model: &CostModel, n: usize) -> Vec<bool> {
    (0..model.len()).map(|l| l < n).collect()
}

/// True when `on_edge` fits the memory and sends at most T_0 at the lowest bit-width (the
/// candidate filter; both only grow with the bits, so no assignment of a rejected cut fits).
pub fn is_candidate(model: &CostModel, on_edge: &[bool]) -> bool {
    let p = model.evaluate(&Assignment::uniform(model, on_edge, model.min_bits()));
    model.fits(&p)
}

/// Candidate cuts: linear splits 0..=N, then `extra` cuts not already listed, filtered.
pub fn candidate_cuts(model: &CostModel, extra: &[Vec<bool>]) -> Vec<Vec<bool>> {
    let mut cuts: Vec<Vec<bool>> = (0..=model.len()).map(|n| linear_cut(model, n)).collect();
    for c in extra {
        if !cuts.contains(c) && model.is_closed(c) {
            cuts.push(c.clone());
        }
    }
    cuts.retain(|c| is_candidate(model, c));
    cuts
}

/// Layers producing a value that crosses `on_edge`.
fn tx_layers(model: &CostModel, on_edge: &[bool]) -> Vec<bool> {
    let mut tx = vec![false; model.len()];
    for &i in &model.crossing(on_edge).values {
        tx[model.values[i].producer] = true;
    }
    tx
}

/// The paper's allocation for one cut, transmitted bits `b_tx` and activation budget `avg`
/// (average bits over the edge layers' outputs); `None` when the weights cannot fit.
pub fn lambda_assignment(
    model: &CostModel,
    on_edge: &[bool],
    b_tx: u8,
    avg: f64,
) -> Option<Assignment> {
    let n = model.len();
    let tx = tx_layers(model, on_edge);
    let mut abits: Vec<Option<u8>> = vec![None; n];
    let free: Vec<usize> = (0..n).filter(|&l| on_edge[l] && !tx[l]).collect();
    let total: u64 = (0..n).filter(|&l| on_edge[l]).map(|l| model.layers[l].output_elems).sum();
    let fixed: u64 = (0..n).filter(|&l| tx[l]).map(|l| model.layers[l].output_elems).sum();
    for l in (0..n).filter(|&l| tx[l]) {
        abits[l] = Some(b_tx);
    }
    let items: Vec<Item> = free
        .iter()
        .map(|&l| Item { size: model.layers[l].output_elems, dist: model.layers[l].da })
        .collect();
    let budget = avg * total as f64 - f64::from(b_tx) * fixed as f64;
    let alloc = lambda_sweep_or_min(&items, &model.bits, budget);
    for (&l, &b) in free.iter().zip(&alloc.bits) {
        abits[l] = Some(b);
    }
    let mut a = Assignment { on_edge: on_edge.to_vec(), wbits: vec![None; n], abits };
    let peak = model.act_peak_bytes(&a);
    let elems: Vec<u64> = model.layers.iter().map(|l| l.output_elems).collect();
    maximize_act_bits(&elems, &mut a.abits, &tx, &model.bits, peak);
    weight_assignment(model, &mut a, peak).then_some(a)
}

/// Fills the weight bits of `a` by the weight λ-sweep with the memory left after the biases
/// and the activation peak; false when even the lowest bits do not fit.
fn weight_assignment(model: &CostModel, a: &mut Assignment, peak: u64) -> bool {
    let with_w: Vec<usize> =
        (0..model.len()).filter(|&l| a.on_edge[l] && model.layers[l].has_weights()).collect();
    let bias: u64 =
        (0..model.len()).filter(|&l| a.on_edge[l]).map(|l| model.layers[l].bias_elems * 4).sum();
    let Some(avail) = model.edge_memory_bytes.checked_sub(bias + peak) else { return false };
    let items: Vec<Item> = with_w
        .iter()
        .map(|&l| Item { size: model.layers[l].weight_elems, dist: model.layers[l].dw })
        .collect();
    let Some(alloc) = lambda_sweep(&items, &model.bits, avail as f64 * 8.0) else { return false };
    for (&l, &b) in with_w.iter().zip(&alloc.bits) {
        a.wbits[l] = Some(b);
    }
    true
}

/// One choice of bits for one edge layer, with its additive effects.
#[derive(Clone, Copy, Debug)]
struct Choice {
    wbits: Option<u8>,
    abits: u8,
    peak: u64,
    wsum: u64,
    tx: u64,
    dist: f64,
    lat: f64,
}

/// A partial assignment of the exact search.
#[derive(Clone, Copy, Debug)]
struct Label {
    peak: u64,
    wsum: u64,
    tx: u64,
    dist: f64,
    lat: f64,
    parent: usize,
    choice: usize,
}

impl Label {
    fn dominates(&self, o: &Label) -> bool {
        self.peak <= o.peak
            && self.wsum <= o.wsum
            && self.tx <= o.tx
            && self.dist <= o.dist
            && self.lat <= o.lat
    }
}

/// The choices of layer `l`, without dominated ones.
fn layer_choices(model: &CostModel, l: usize, crossing_values: &[usize]) -> Vec<Choice> {
    let layer = &model.layers[l];
    let wopts: Vec<Option<u8>> = if layer.has_weights() {
        model.bits.iter().map(|&b| Some(b)).collect()
    } else {
        vec![None]
    };
    let mut out: Vec<Choice> = Vec::new();
    for &w in &wopts {
        for &a in &model.bits {
            let tx: u64 = crossing_values
                .iter()
                .filter(|&&i| model.values[i].producer == l)
                .map(|&i| model.value_bytes(i, a))
                .sum();
            out.push(Choice {
                wbits: w,
                abits: a,
                peak: packed_bytes(layer.output_elems, a),
                wsum: layer.weight_elems * u64::from(w.unwrap_or(0)),
                tx,
                dist: w.map_or(0.0, |b| layer.weight_distortion(b)) + layer.act_distortion(a),
                lat: layer.edge_seconds(w, a, model.min_bits())
                    + tx as f64 * 8.0 / model.bandwidth_bps,
            });
        }
    }
    let dominated = |c: &Choice, o: &Choice| {
        let le = o.peak <= c.peak
            && o.wsum <= c.wsum
            && o.tx <= c.tx
            && o.dist <= c.dist
            && o.lat <= c.lat;
        let eq =
            (o.peak, o.wsum, o.tx) == (c.peak, c.wsum, c.tx) && o.dist == c.dist && o.lat == c.lat;
        le && (!eq || (o.wbits, o.abits) < (c.wbits, c.abits))
    };
    let keep: Vec<bool> = out.iter().map(|c| !out.iter().any(|o| dominated(c, o))).collect();
    out.into_iter().zip(keep).filter(|(_, k)| *k).map(|(c, _)| c).collect()
}

/// Why the exact search stopped on a cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExactStop {
    /// More Pareto labels than [`LABEL_CAP`].
    LabelCap,
    /// The plan's [`WORK_LIMIT`] is spent.
    WorkLimit,
}

/// The exact least-latency assignment of one cut under memory, T < T_0 and the distortion
/// budget (ties: less distortion), among those whose total is at most `incumbent` (pass
/// `f64::INFINITY` for no bound); `Ok(None)` when none exists.
pub fn exact_assignment(
    model: &CostModel,
    on_edge: &[bool],
    incumbent: f64,
    work: &mut u64,
) -> Result<Option<Assignment>, ExactStop> {
    let n = model.len();
    let edge: Vec<usize> = (0..n).filter(|&l| on_edge[l]).collect();
    let crossing = model.crossing(on_edge);
    let budget = model.max_distortion.unwrap_or(f64::INFINITY);
    let bias: u64 = edge.iter().map(|&l| model.layers[l].bias_elems * 4).sum();
    let raw_tx: u64 = crossing.inputs.iter().map(|&i| model.input_bytes(&model.inputs[i])).sum();
    let t0 = model.t0_bytes();
    let choices: Vec<Vec<Choice>> =
        edge.iter().map(|&l| layer_choices(model, l, &crossing.values)).collect();
    // Lower bounds of what the layers after position k still add.
    let mut rest_w = vec![0u64; edge.len() + 1];
    let mut rest_tx = vec![0u64; edge.len() + 1];
    let mut rest_d = vec![0f64; edge.len() + 1];
    let mut rest_lat = vec![0f64; edge.len() + 1];
    for k in (0..edge.len()).rev() {
        let cs = &choices[k];
        rest_w[k] = rest_w[k + 1] + cs.iter().map(|c| c.wsum).min().unwrap_or(0);
        rest_tx[k] = rest_tx[k + 1] + cs.iter().map(|c| c.tx).min().unwrap_or(0);
        rest_d[k] = rest_d[k + 1] + cs.iter().map(|c| c.dist).fold(f64::INFINITY, f64::min);
        rest_lat[k] = rest_lat[k + 1] + cs.iter().map(|c| c.lat).fold(f64::INFINITY, f64::min);
    }
    // What the cut adds to every label's latency: the cloud layers, the raw inputs, the
    // headers and the RTT. A label that cannot beat `incumbent` even with the fastest
    // remaining choices is dropped (the slack keeps ties, which may have less distortion).
    let header = model.header_bytes(&crossing);
    let cloud: f64 = (0..n).filter(|&l| !on_edge[l]).map(|l| model.layers[l].cloud).sum();
    let fixed = cloud + if header > 0 { model.transmit_seconds(raw_tx + header) } else { 0.0 };
    let bound = incumbent + incumbent.abs() * 1e-12;
    let start = Label {
        peak: model.input_buffer_bytes(),
        wsum: 0,
        tx: 0,
        dist: 0.0,
        lat: 0.0,
        parent: 0,
        choice: 0,
    };
    let mut stages: Vec<Vec<Label>> = vec![vec![start]];
    for k in 0..edge.len() {
        let prev = &stages[k];
        let mut next: Vec<Label> = Vec::new();
        for (pi, p) in prev.iter().enumerate() {
            for (ci, c) in choices[k].iter().enumerate() {
                *work += 1;
                let lab = Label {
                    peak: p.peak.max(c.peak),
                    wsum: p.wsum + c.wsum,
                    tx: p.tx + c.tx,
                    dist: p.dist + c.dist,
                    lat: p.lat + c.lat,
                    parent: pi,
                    choice: ci,
                };
                let mem = (lab.wsum + rest_w[k + 1]).div_ceil(8) + bias + lab.peak;
                if mem <= model.edge_memory_bytes
                    && raw_tx + lab.tx + rest_tx[k + 1] < t0
                    && lab.dist + rest_d[k + 1] <= budget
                    && lab.lat + rest_lat[k + 1] + fixed <= bound
                {
                    next.push(lab);
                }
            }
        }
        let kept = pareto_labels(next, work).ok_or(ExactStop::WorkLimit)?;
        if kept.len() > LABEL_CAP {
            return Err(ExactStop::LabelCap);
        }
        stages.push(kept);
    }
    let last = stages.last().map_or(&[][..], |v| v.as_slice());
    let best = last
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| {
            (a.lat, a.dist).partial_cmp(&(b.lat, b.dist)).unwrap_or(std::cmp::Ordering::Equal)
        })
        .map(|(i, _)| i);
    let Some(mut at) = best else { return Ok(None) };
    let mut a =
        Assignment { on_edge: on_edge.to_vec(), wbits: vec![None; n], abits: vec![None; n] };
    for k in (0..edge.len()).rev() {
        let lab = stages[k + 1][at];
        let c = choices[k][lab.choice];
        a.wbits[edge[k]] = c.wbits;
        a.abits[edge[k]] = Some(c.abits);
        at = lab.parent;
    }
    Ok(Some(a))
}

/// The labels no other label dominates (equal labels: the first is kept); `None` once
/// `work` (extensions and comparisons) exceeds [`WORK_LIMIT`].
fn pareto_labels(mut labels: Vec<Label>, work: &mut u64) -> Option<Vec<Label>> {
    labels.sort_by(|a, b| {
        (a.lat, a.dist, a.wsum, a.peak, a.tx)
            .partial_cmp(&(b.lat, b.dist, b.wsum, b.peak, b.tx))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut kept: Vec<Label> = Vec::new();
    for l in labels {
        let scanned = kept.iter().position(|k| k.dominates(&l));
        *work += scanned.map_or(kept.len(), |i| i + 1) as u64 + 1;
        if *work > WORK_LIMIT {
            return None;
        }
        if scanned.is_none() {
            kept.push(l);
        }
    }
    Some(kept)
}

/// Every auto-split solution of the candidate cuts.
pub fn search(model: &CostModel, act_budgets: &[f64], cuts: &[Vec<bool>]) -> SearchResult {
    let mut out = SearchResult { exact: model.max_distortion.is_some(), ..Default::default() };
    let t0 = model.t0_bytes();
    for cut in cuts {
        for &b in &model.bits {
            push_auto(model, &mut out.solutions, &Assignment::uniform(model, cut, b), "uniform");
        }
        let crossing = model.crossing(cut);
        let tx_bits: Vec<u8> =
            if crossing.values.is_empty() { vec![model.min_bits()] } else { model.bits.clone() };
        for &b_tx in &tx_bits {
            if model.payload_bytes(&crossing, |_| b_tx) >= t0 {
                continue;
            }
            for &avg in act_budgets {
                if let Some(a) = lambda_assignment(model, cut, b_tx, avg) {
                    push_auto(model, &mut out.solutions, &a, &format!("lambda(a={avg})"));
                }
            }
        }
    }
    if model.max_distortion.is_some() {
        exact_pass(model, cuts, &mut out);
    }
    dedup(&mut out.solutions);
    out
}

/// The exact search over every cut, bounded by the best total found so far (the paper's and
/// the uniform solutions first, then each exact optimum).
fn exact_pass(model: &CostModel, cuts: &[Vec<bool>], out: &mut SearchResult) {
    let mut incumbent = out
        .solutions
        .iter()
        .filter(|s| s.within_budget)
        .map(|s| s.latency.total)
        .fold(f64::INFINITY, f64::min);
    let mut work = 0u64;
    for cut in cuts {
        match exact_assignment(model, cut, incumbent, &mut work) {
            Ok(Some(a)) => {
                let s = model.solution(SolutionKind::AutoSplit, &a, "exact");
                if s.feasible {
                    if s.within_budget {
                        incumbent = incumbent.min(s.latency.total);
                    }
                    out.solutions.push(s);
                }
            }
            Ok(None) => {}
            Err(stop) => {
                out.exact = false;
                out.warnings.push(format!(
                    "exact bit search stopped at a cut with {} edge layers ({stop:?}): from \
                     there on the bits are the λ-sweep's and may not be optimal",
                    cut.iter().filter(|&&e| e).count()
                ));
                return;
            }
        }
    }
}

/// Prices `a` and keeps it when feasible.
fn push_auto(model: &CostModel, out: &mut Vec<Solution>, a: &Assignment, method: &str) {
    let s = model.solution(SolutionKind::AutoSplit, a, method);
    if s.feasible {
        out.push(s);
    }
}

/// Every edge layer at f32.
fn float_assignment(model: &CostModel, on_edge: &[bool]) -> Assignment {
    Assignment::uniform(model, on_edge, FLOAT_BITS)
}

/// Transmission seconds of a value or input of `bytes` payload and rank `rank`, without the
/// frame constant.
fn tensor_seconds(model: &CostModel, bytes: u64, rank: usize) -> f64 {
    (bytes + tensor_header_bytes(rank)) as f64 * 8.0 / model.bandwidth_bps
}

/// The float cut problem (f32 edge, f32 on the wire) for the qdmp baseline.
pub fn float_cut_graph(model: &CostModel) -> CutGraph {
    CutGraph {
        edge_s: model.layers.iter().map(|l| l.edge_f32).collect(),
        cloud_s: model.layers.iter().map(|l| l.cloud).collect(),
        preds: model.preds.clone(),
        values: (0..model.values.len())
            .map(|i| {
                let v = &model.values[i];
                CutValue {
                    producer: v.producer,
                    readers: v.readers.clone(),
                    is_output: v.is_output,
                    seconds: tensor_seconds(model, model.value_bytes(i, FLOAT_BITS), v.rank),
                }
            })
            .collect(),
        inputs: model
            .inputs
            .iter()
            .map(|i| CutInput {
                readers: i.readers.clone(),
                seconds: tensor_seconds(model, model.input_bytes(i), i.rank),
            })
            .collect(),
        frame_s: FRAME_HEADER_BYTES as f64 * 8.0 / model.bandwidth_bps + model.rtt_s,
    }
}

/// Neurosurgeon's split: the float linear split that is best when only the last edge
/// layer's outputs are sent (the graph seen as a chain).
pub fn neurosurgeon_split(model: &CostModel) -> usize {
    let n = model.len();
    let mut best = (f64::INFINITY, 0usize);
    for split in 0..=n {
        let edge: f64 = model.layers[..split].iter().map(|l| l.edge_f32).sum();
        let cloud: f64 = model.layers[split..].iter().map(|l| l.cloud).sum();
        let sent: u64 = if split == 0 {
            model.t0_bytes()
                + model.inputs.iter().map(|i| tensor_header_bytes(i.rank)).sum::<u64>()
                + FRAME_HEADER_BYTES
        } else if split == n {
            0
        } else {
            let last: Vec<usize> = (0..model.values.len())
                .filter(|&i| model.values[i].producer == split - 1)
                .collect();
            last.iter()
                .map(|&i| {
                    model.value_bytes(i, FLOAT_BITS) + tensor_header_bytes(model.values[i].rank)
                })
                .sum::<u64>()
                + FRAME_HEADER_BYTES
        };
        let total = edge + model.transmit_seconds(sent) + cloud;
        if total < best.0 {
            best = (total, split);
        }
    }
    best.1
}

/// The baselines, priced by the model.
pub fn baselines(model: &CostModel) -> Vec<Solution> {
    let n = model.len();
    let mut out = vec![model.solution(SolutionKind::CloudOnly, &Assignment::cloud_only(n), "raw")];
    let all = vec![true; n];
    out.push(model.solution(SolutionKind::EdgeOnlyU8, &Assignment::uniform(model, &all, 8), "u8"));
    let ns = linear_cut(model, neurosurgeon_split(model));
    out.push(model.solution(SolutionKind::Neurosurgeon, &float_assignment(model, &ns), "float"));
    let q = min_cut(&float_cut_graph(model)).on_edge;
    out.push(model.solution(SolutionKind::Qdmp, &float_assignment(model, &q), "float"));
    out
}

/// The whole plan on a cost model.
pub fn plan_model(model: &CostModel, opts: &SearchOptions) -> Result<Plan, PlanError> {
    if model.is_empty() {
        return Err(PlanError::NoSolution("the model has no layers".into()));
    }
    if opts.act_budgets.iter().any(|b| !(b.is_finite() && *b > 0.0)) || opts.act_budgets.is_empty()
    {
        return Err(PlanError::Config(format!("activation budgets {:?}", opts.act_budgets)));
    }
    let base = baselines(model);
    let extra: Vec<Vec<bool>> = base.iter().map(|s| edge_mask(model, &s.edge_layers)).collect();
    let mut warnings = Vec::new();
    let (mut solutions, chosen_kind) = match (opts.split, opts.bits) {
        (SplitChoice::Auto, BitsChoice::Auto) => {
            let r = search(model, &opts.act_budgets, &candidate_cuts(model, &extra));
            warnings.extend(r.warnings);
            (r.solutions, SolutionKind::AutoSplit)
        }
        (split, bits) => (forced(model, opts, split, bits)?, SolutionKind::Forced),
    };
    mark_pareto(&mut solutions);
    let searched = solutions.len();
    solutions.extend(base);
    let chosen = match chosen_kind {
        SolutionKind::AutoSplit => choose(&solutions, None).ok_or_else(|| {
            PlanError::NoSolution(no_solution_reason(model, &solutions[..searched]))
        })?,
        _ => solutions.iter().position(|s| s.kind == SolutionKind::Forced).unwrap_or(0),
    };
    // The chosen solution first (it may be a baseline, e.g. cloud-only at a high bandwidth),
    // then the other search results by total latency, then the remaining baselines.
    let best = solutions.remove(chosen);
    let split_at = if chosen < searched { searched - 1 } else { searched };
    let mut rest = solutions.split_off(split_at);
    solutions.sort_by(|a, b| {
        (a.latency.total, a.distortion)
            .partial_cmp(&(b.latency.total, b.distortion))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    solutions.insert(0, best);
    solutions.append(&mut rest);
    if solutions[0].kind.is_baseline() {
        warnings.push(format!(
            "the {} baseline is the fastest solution within the constraints: no split beats it",
            solutions[0].kind.name()
        ));
    }
    Ok(Plan {
        constraints: Constraints {
            bandwidth_bps: model.bandwidth_bps,
            rtt_s: model.rtt_s,
            edge_memory_bytes: model.edge_memory_bytes,
            input_bits: model.input_bits,
            act_budgets: opts.act_budgets.clone(),
            max_distortion: model.max_distortion,
            t0_bytes: model.t0_bytes(),
            bits: model.bits.clone(),
            edge_profile: opts.edge_profile.clone(),
            cloud_profile: opts.cloud_profile.clone(),
        },
        solutions,
        chosen: 0,
        warnings,
        calibration: (0, false),
    })
}

/// Why nothing was chosen.
fn no_solution_reason(model: &CostModel, solutions: &[Solution]) -> String {
    if solutions.is_empty() {
        format!(
            "no split fits {} bytes of edge memory while sending at most T_0 = {} bytes",
            model.edge_memory_bytes,
            model.t0_bytes()
        )
    } else {
        format!(
            "{} feasible solutions, none within --max-distortion {}",
            solutions.len(),
            model.max_distortion.unwrap_or(f64::INFINITY)
        )
    }
}

/// A per-layer mask from a list of edge layers.
fn edge_mask(model: &CostModel, edge_layers: &[usize]) -> Vec<bool> {
    let mut m = vec![false; model.len()];
    for &l in edge_layers {
        if let Some(x) = m.get_mut(l) {
            *x = true;
        }
    }
    m
}

/// The `--split` / `--bits` override: one forced solution (plus, with `--bits auto`, the
/// search's solutions at that split, for comparison).
fn forced(
    model: &CostModel,
    opts: &SearchOptions,
    split: SplitChoice,
    bits: BitsChoice,
) -> Result<Vec<Solution>, PlanError> {
    let n = model.len();
    if let BitsChoice::Uniform(b) = bits {
        if !model.bits.contains(&b) {
            return Err(PlanError::Bits(b));
        }
    }
    let cuts: Vec<Vec<bool>> = match split {
        SplitChoice::CloudOnly => vec![linear_cut(model, 0)],
        SplitChoice::EdgeOnly => vec![linear_cut(model, n)],
        SplitChoice::Layer(k) if k <= n => vec![linear_cut(model, k)],
        SplitChoice::Layer(k) => return Err(PlanError::SplitOutOfRange { layer: k, count: n }),
        SplitChoice::Auto => candidate_cuts(model, &[]),
    };
    let mut out: Vec<Solution> = match bits {
        BitsChoice::Auto => search(model, &opts.act_budgets, &cuts).solutions,
        BitsChoice::Uniform(b) => cuts
            .iter()
            .map(|c| {
                model.solution(
                    SolutionKind::AutoSplit,
                    &Assignment::uniform(model, c, b),
                    "uniform",
                )
            })
            .collect(),
        BitsChoice::F32 => cuts
            .iter()
            .map(|c| model.solution(SolutionKind::AutoSplit, &float_assignment(model, c), "float"))
            .collect(),
    };
    let pick = choose(&out, None)
        .or_else(|| super::solution::best_of(&out, SolutionKind::AutoSplit, |_| true))
        .or_else(|| (!out.is_empty()).then_some(0));
    let pick = match pick {
        Some(p) => p,
        None => {
            let cut = cuts.first().cloned().unwrap_or_else(|| linear_cut(model, 0));
            out.push(model.solution(
                SolutionKind::AutoSplit,
                &Assignment::uniform(model, &cut, 8),
                "uniform",
            ));
            out.len() - 1
        }
    };
    let mut f = out[pick].clone();
    f.kind = SolutionKind::Forced;
    f.feasible = f.edge_memory_bytes <= model.edge_memory_bytes;
    out.insert(0, f);
    Ok(out)
}

/// The `insert-boundary` input for `sol`: its edge nodes, per-channel symmetric parameters of
/// every f32 weight of an edge layer at its weight bits, asymmetric per-tensor parameters of
/// every f32 output of an edge layer at its activation bits (a crossing value's are its wire
/// bits), and the raw inputs the cloud reads (quantized at the solution's input bits from the
/// calibrated range when below 32 and the input is f32, else sent as is). Float edge layers
/// (32 bits) get no parameters.
pub fn split_spec(
    sol: &Solution,
    g: &Graph,
    layers: &LayerGraph,
    cal: &Calibration,
) -> Result<SplitSpec, PlanError> {
    let err = |e: super::calibrate::CalibrateError| PlanError::Spec(e.to_string());
    let mut spec = SplitSpec::default();
    for &l in &sol.edge_layers {
        let layer = layers
            .layers
            .get(l)
            .ok_or_else(|| PlanError::Spec(format!("layer {l} is not in the model")))?;
        spec.edge_nodes.extend(layer.nodes.iter().copied());
        let wbits = sol.weight_bits.get(l).copied().flatten().filter(|&b| b < FLOAT_BITS);
        if let (Some(b), Some(head)) = (wbits, layer.head) {
            for &w in layer.weights.iter().filter(|&&w| quantizable(g, w)) {
                spec.weights.insert(w, weight_params(g, head, w, b).map_err(err)?);
            }
        }
        let abits = sol.act_bits.get(l).copied().flatten().filter(|&b| b < FLOAT_BITS);
        if let Some(b) = abits {
            for &v in layer.outputs.iter().filter(|&&v| quantizable(g, v)) {
                spec.activations.insert(v, act_params(cal, v, b).map_err(err)?);
            }
        }
    }
    for &i in &sol.crossing.inputs {
        let v = *g
            .inputs
            .get(i)
            .ok_or_else(|| PlanError::Spec(format!("graph input {i} does not exist")))?;
        let q = if sol.input_bits < FLOAT_BITS && quantizable(g, v) {
            Some(act_params(cal, v, sol.input_bits).map_err(err)?)
        } else {
            None
        };
        spec.raw_inputs.push((i, q));
    }
    Ok(spec)
}
