//! Solutions of the Auto-Split search and the one cost model every solution is priced with.
//!
//! The planner's numbers live in a [`CostModel`]: plain per-layer arrays (weight, bias and
//! output element counts, edge latency per (weight bits, activation bits), float edge and
//! cloud latency, normalised weight and activation distortion per bit-width), the values that
//! can cross a cut, the graph inputs, and the constraints (bandwidth, RTT, edge memory,
//! `--input-bits`, distortion budget). [`CostModel::evaluate`] prices one [`Assignment`] (a
//! predecessor-closed set of edge layers and their bits) with the formulas of docs/plan.md:
//!
//! - edge memory = ⌈Σ s_w·b_w / 8⌉ + 4·Σ bias + max(raw input frame, max_i ⌈s_a·b_a / 8⌉);
//! - bytes on the wire T = Σ crossing ⌈elems·b / 8⌉ + Σ raw inputs the cloud reads
//!   ⌈elems·input_bits / 8⌉, plus a frame header estimate when anything is sent;
//! - latency = Σ edge layers + (T + header)·8 / bandwidth + RTT (when anything is sent) +
//!   Σ cloud layers (f32);
//! - distortion = Σ edge layers D_w(b_w) + D_a(b_a) (raw inputs count as exact).
//!
//! The search (search.rs), the baselines and the exhaustive test enumerator all call this one
//! function, so they cannot disagree on a price. This file does not search, allocate bits or
//! read a graph (search.rs builds the model from a graph, calibration and device profiles).

use super::layers::Crossing;
use asplit_ir::graph::ValueId;
use std::collections::BTreeSet;
use thiserror::Error;

/// The bit-width that stands for f32 (float edge layers and float tensors on the wire).
pub const FLOAT_BITS: u8 = 32;

/// Frame header bytes (estimate of the wire format of DESIGN.md §10): magic 4, version 2,
/// model fingerprint 16, request id 8, tensor count 4, CRC-32C 4.
pub const FRAME_HEADER_BYTES: u64 = 38;

/// Per-tensor header bytes besides the shape: bits 1, scheme 1, scale 4, zero point 4, rank 4,
/// payload length 8 (a per-tensor scale and zero point).
pub const TENSOR_HEADER_BYTES: u64 = 22;

/// Bytes per shape dimension in a tensor header.
pub const DIM_HEADER_BYTES: u64 = 8;

/// Header bytes of one tensor of rank `rank`.
pub fn tensor_header_bytes(rank: usize) -> u64 {
    TENSOR_HEADER_BYTES + DIM_HEADER_BYTES * rank as u64
}

/// Bytes of `elems` codes of `bits` bits, packed densely.
pub fn packed_bytes(elems: u64, bits: u8) -> u64 {
    (elems.saturating_mul(u64::from(bits))).div_ceil(8)
}

/// What the planner may not do, or could not find.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PlanError {
    /// No auto-split solution fits the constraints.
    #[error("no split fits the constraints: {0}")]
    NoSolution(String),
    /// `--split LAYER` names a layer that does not exist.
    #[error(
        "--split {layer}: the model has {count} layers (0 = cloud-only … {count} = edge-only)"
    )]
    SplitOutOfRange {
        /// The requested split.
        layer: usize,
        /// Number of layers.
        count: usize,
    },
    /// `--bits N` outside the edge bit-widths.
    #[error("--bits {0}: the edge bit-widths are 2..=8 (or f32)")]
    Bits(u8),
    /// A configuration value that cannot be used (zero bandwidth, empty budget list, …).
    #[error("invalid planner setting: {0}")]
    Config(String),
    /// The calibration tables do not match the layers.
    #[error("calibration has {got} {what} tables for {want} layers")]
    Calibration {
        /// Which tables.
        what: &'static str,
        /// Tables present.
        got: usize,
        /// Layers.
        want: usize,
    },
    /// The solution cannot be turned into a split specification.
    #[error("cannot build the split specification: {0}")]
    Spec(String),
}

/// Where to split, as the user asked (`--split`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitChoice {
    /// Search.
    Auto,
    /// Everything on the cloud (split 0).
    CloudOnly,
    /// Everything on the edge (split N).
    EdgeOnly,
    /// Layers `0..n` on the edge.
    Layer(usize),
}

/// Which bits, as the user asked (`--bits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitsChoice {
    /// Search.
    Auto,
    /// Every edge weight and activation at this many bits.
    Uniform(u8),
    /// Float edge, f32 on the wire.
    F32,
}

/// How a solution came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SolutionKind {
    /// Found by the search.
    AutoSplit,
    /// Baseline: the raw input sent at `--input-bits`, f32 cloud.
    CloudOnly,
    /// Baseline: every layer on the edge at 8-bit weights and activations.
    EdgeOnlyU8,
    /// Baseline: float split chosen as if the graph were a chain, costed with every crossing
    /// tensor (f32 on the wire).
    Neurosurgeon,
    /// Baseline: float min-cut split (f32 on the wire).
    Qdmp,
    /// `--split` / `--bits` override.
    Forced,
}

impl SolutionKind {
    /// The name in plan.json and the table.
    pub fn name(self) -> &'static str {
        match self {
            SolutionKind::AutoSplit => "auto-split",
            SolutionKind::CloudOnly => "cloud-only",
            SolutionKind::EdgeOnlyU8 => "edge-only-u8",
            SolutionKind::Neurosurgeon => "neurosurgeon",
            SolutionKind::Qdmp => "qdmp",
            SolutionKind::Forced => "forced",
        }
    }

    /// A baseline (not a search result).
    pub fn is_baseline(self) -> bool {
        !matches!(self, SolutionKind::AutoSplit | SolutionKind::Forced)
    }
}

/// Predicted latency of a solution, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    /// Edge layers.
    pub edge: f64,
    /// Sending every crossing tensor (payload + header) plus the RTT.
    pub transmit: f64,
    /// Cloud layers (f32).
    pub cloud: f64,
    /// Sum of the three.
    pub total: f64,
}

/// One priced (split, bits) choice.
#[derive(Clone, Debug, PartialEq)]
pub struct Solution {
    /// Search result, baseline or override.
    pub kind: SolutionKind,
    /// The first cloud layer (layers `0..split` are on the edge for a linear cut; for a
    /// min-cut, `edge_layers` is the truth and `split` its first gap).
    pub split: usize,
    /// Edge layers, ascending.
    pub edge_layers: Vec<usize>,
    /// The values and raw inputs sent to the cloud.
    pub crossing: Crossing,
    /// Per layer: weight bits on the edge (32 = f32); `None` on the cloud or without weights.
    pub weight_bits: Vec<Option<u8>>,
    /// Per layer: activation (output) bits on the edge (32 = f32); `None` on the cloud. A
    /// crossing value travels at its producer's activation bits.
    pub act_bits: Vec<Option<u8>>,
    /// Predicted latency.
    pub latency: Latency,
    /// Edge memory (resident weights and biases + peak activation buffer), bytes.
    pub edge_memory_bytes: u64,
    /// Payload bytes on the wire (crossing tensors + raw inputs), without headers.
    pub transmit_bytes: u64,
    /// Header bytes on the wire (frame + per tensor); 0 when nothing is sent.
    pub header_bytes: u64,
    /// Σ over edge layers of D_w + D_a (normalised MSE, docs/plan.md).
    pub distortion: f64,
    /// Measured top-1 accuracy (or agreement) in percent (0–100), filled in by `--validate`.
    pub accuracy: Option<f64>,
    /// Not dominated in (total latency, distortion) among the auto-split solutions.
    pub pareto: bool,
    /// Fits the edge memory (and, for auto-split solutions, sends at most T_0).
    pub feasible: bool,
    /// Distortion within `--max-distortion` (true without a budget).
    pub within_budget: bool,
    /// Which rule produced the bits: `lambda(a=B)`, `uniform`, `exact`, `float`, `u8`.
    pub method: String,
    /// Bits per element of the raw inputs the cloud reads (`--input-bits`; 32 = f32).
    pub input_bits: u8,
}

/// The result of planning.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The constraints the plan was made under.
    pub constraints: Constraints,
    /// Every solution: auto-split and forced ones first (chosen first of all), baselines last.
    pub solutions: Vec<Solution>,
    /// Index of the chosen solution in `solutions`.
    pub chosen: usize,
    /// Things the user should know (synthetic calibration, approximate search, a baseline
    /// that beats the chosen solution, …).
    pub warnings: Vec<String>,
    /// Calibration facts: samples used and whether they were synthetic.
    pub calibration: (usize, bool),
}

/// The constraints and settings a plan was made under (plan.json `constraints`).
#[derive(Clone, Debug, PartialEq)]
pub struct Constraints {
    /// Uplink bandwidth, bit/s.
    pub bandwidth_bps: f64,
    /// Round-trip time added to every transmission, s.
    pub rtt_s: f64,
    /// Edge memory budget, bytes.
    pub edge_memory_bytes: u64,
    /// Bits per element of the raw input (8 for a camera frame, 32 for f32).
    pub input_bits: u8,
    /// Average activation bits tried by the λ-sweep.
    pub act_budgets: Vec<f64>,
    /// Distortion budget, if any.
    pub max_distortion: Option<f64>,
    /// T_0: bytes of the raw input at `input_bits` (the cloud-only payload).
    pub t0_bytes: u64,
    /// Edge bit-widths searched.
    pub bits: Vec<u8>,
    /// Edge device profile name.
    pub edge_profile: String,
    /// Cloud device profile name.
    pub cloud_profile: String,
}

/// Cost facts of one layer.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerCost {
    /// Weight elements s_w (quantized at the weight bits).
    pub weight_elems: u64,
    /// Bias elements (kept at 32 bits on the edge).
    pub bias_elems: u64,
    /// Output elements s_a (quantized at the activation bits).
    pub output_elems: u64,
    /// Edge seconds at `[weight bits][activation bits]` (indices 0..=8; rows and columns
    /// for bit-widths outside the searched set are unused).
    pub edge_q: [[f64; 9]; 9],
    /// Edge seconds in f32.
    pub edge_f32: f64,
    /// Cloud seconds (f32).
    pub cloud: f64,
    /// Normalised weight distortion at bits 0..=8 (0 without weights).
    pub dw: [f64; 9],
    /// Normalised activation distortion at bits 0..=8.
    pub da: [f64; 9],
}

impl LayerCost {
    /// Edge seconds at the given bits (`FLOAT_BITS` in either means an f32 layer).
    pub fn edge_seconds(&self, wbits: Option<u8>, abits: u8, min_bits: u8) -> f64 {
        let w = wbits.unwrap_or(min_bits);
        if w >= FLOAT_BITS || abits >= FLOAT_BITS {
            return self.edge_f32;
        }
        self.edge_q
            .get(usize::from(w))
            .and_then(|row| row.get(usize::from(abits)))
            .copied()
            .unwrap_or(self.edge_f32)
    }

    /// Weight distortion at `bits` (0 for f32).
    pub fn weight_distortion(&self, bits: u8) -> f64 {
        self.dw.get(usize::from(bits)).copied().unwrap_or(0.0)
    }

    /// Activation distortion at `bits` (0 for f32).
    pub fn act_distortion(&self, bits: u8) -> f64 {
        self.da.get(usize::from(bits)).copied().unwrap_or(0.0)
    }

    /// True when the layer has weights to quantize.
    pub fn has_weights(&self) -> bool {
        self.weight_elems > 0
    }
}

/// A value a layer produces that may cross a cut.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueCost {
    /// The IR value.
    pub id: ValueId,
    /// Producing layer.
    pub producer: usize,
    /// Later layers reading it.
    pub readers: Vec<usize>,
    /// A graph output.
    pub is_output: bool,
    /// Elements.
    pub elems: u64,
    /// Rank (for the header estimate).
    pub rank: usize,
    /// Bits per element when the value is not quantizable (not f32): it travels raw.
    pub raw_bits: Option<u8>,
}

/// A graph input.
#[derive(Clone, Debug, PartialEq)]
pub struct InputCost {
    /// Layers reading it.
    pub readers: Vec<usize>,
    /// Elements.
    pub elems: u64,
    /// Rank.
    pub rank: usize,
    /// Bits per element when the input is not f32 (sent as is, not at `input_bits`).
    pub raw_bits: Option<u8>,
}

/// Everything a solution is priced with.
#[derive(Clone, Debug, PartialEq)]
pub struct CostModel {
    /// Per layer, in topological order.
    pub layers: Vec<LayerCost>,
    /// Predecessor layers of each layer (ascending).
    pub preds: Vec<Vec<usize>>,
    /// Values produced by layers and read by a later layer or a graph output.
    pub values: Vec<ValueCost>,
    /// Graph inputs.
    pub inputs: Vec<InputCost>,
    /// Edge bit-widths searched, ascending (𝔹).
    pub bits: Vec<u8>,
    /// Uplink bandwidth, bit/s.
    pub bandwidth_bps: f64,
    /// Round-trip time, s.
    pub rtt_s: f64,
    /// Edge memory budget, bytes.
    pub edge_memory_bytes: u64,
    /// Raw input bits per element.
    pub input_bits: u8,
    /// Distortion budget.
    pub max_distortion: Option<f64>,
}

/// A predecessor-closed set of edge layers and their bits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Assignment {
    /// Per layer: on the edge.
    pub on_edge: Vec<bool>,
    /// Per layer: weight bits (`None` on the cloud or without weights).
    pub wbits: Vec<Option<u8>>,
    /// Per layer: activation bits (`None` on the cloud).
    pub abits: Vec<Option<u8>>,
}

impl Assignment {
    /// Everything on the cloud.
    pub fn cloud_only(n: usize) -> Assignment {
        Assignment { on_edge: vec![false; n], wbits: vec![None; n], abits: vec![None; n] }
    }

    /// `on_edge` with every edge layer at `bits` (weights only where there are weights).
    pub fn uniform(model: &CostModel, on_edge: &[bool], bits: u8) -> Assignment {
        let abits = on_edge.iter().map(|&e| e.then_some(bits)).collect();
        let wbits = on_edge
            .iter()
            .zip(&model.layers)
            .map(|(&e, l)| (e && l.has_weights()).then_some(bits))
            .collect();
        Assignment { on_edge: on_edge.to_vec(), wbits, abits }
    }
}

/// What a linear or arbitrary cut sends, as indices into the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CutCrossing {
    /// Indices into [`CostModel::values`].
    pub values: Vec<usize>,
    /// Indices into [`CostModel::inputs`].
    pub inputs: Vec<usize>,
}

/// The priced facts of one assignment.
#[derive(Clone, Debug, PartialEq)]
pub struct Priced {
    /// Latency.
    pub latency: Latency,
    /// Edge memory, bytes.
    pub edge_memory_bytes: u64,
    /// Payload bytes.
    pub transmit_bytes: u64,
    /// Header bytes.
    pub header_bytes: u64,
    /// Distortion.
    pub distortion: f64,
    /// What crosses.
    pub crossing: CutCrossing,
}

impl CostModel {
    /// Number of layers N.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// True without layers.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The smallest searched bit-width.
    pub fn min_bits(&self) -> u8 {
        self.bits.first().copied().unwrap_or(2)
    }

    /// Values and raw inputs crossing the cut `on_edge` (same rule as
    /// `LayerGraph::crossing_of`: a value produced on the edge crosses when a cloud layer
    /// reads it, or when it is a graph output and not every layer is on the edge).
    pub fn crossing(&self, on_edge: &[bool]) -> CutCrossing {
        let edge = |l: usize| on_edge.get(l).copied().unwrap_or(false);
        let all_edge = (0..self.len()).all(edge);
        let values = (0..self.values.len())
            .filter(|&i| {
                let v = &self.values[i];
                edge(v.producer)
                    && (v.readers.iter().any(|&r| !edge(r)) || (v.is_output && !all_edge))
            })
            .collect();
        let inputs = (0..self.inputs.len())
            .filter(|&i| self.inputs[i].readers.iter().any(|&r| !edge(r)))
            .collect();
        CutCrossing { values, inputs }
    }

    /// T_0: payload bytes of the raw input at `input_bits`.
    pub fn t0_bytes(&self) -> u64 {
        self.inputs.iter().map(|i| self.input_bytes(i)).sum()
    }

    /// Bytes of one raw input: `input_bits` per element, or its own width when not f32.
    pub fn input_bytes(&self, i: &InputCost) -> u64 {
        packed_bytes(i.elems, i.raw_bits.unwrap_or(self.input_bits))
    }

    /// Bytes of value `i` sent at `bits` (its own width when not quantizable).
    pub fn value_bytes(&self, i: usize, bits: u8) -> u64 {
        let v = &self.values[i];
        packed_bytes(v.elems, v.raw_bits.unwrap_or(bits))
    }

    /// Bytes of the raw input frame held on the edge.
    pub fn input_buffer_bytes(&self) -> u64 {
        self.t0_bytes()
    }

    /// True when every edge layer's predecessors are on the edge.
    pub fn is_closed(&self, on_edge: &[bool]) -> bool {
        (0..self.len()).all(|l| {
            !on_edge.get(l).copied().unwrap_or(false)
                || self.preds[l].iter().all(|&p| on_edge.get(p).copied().unwrap_or(false))
        })
    }

    /// Payload bytes of a crossing when the value of layer `l` travels at `bits(l)`.
    pub fn payload_bytes(&self, c: &CutCrossing, bits: impl Fn(usize) -> u8) -> u64 {
        let vals: u64 =
            c.values.iter().map(|&i| self.value_bytes(i, bits(self.values[i].producer))).sum();
        let raw: u64 = c.inputs.iter().map(|&i| self.input_bytes(&self.inputs[i])).sum();
        vals + raw
    }

    /// Header bytes of a crossing (0 when nothing is sent).
    pub fn header_bytes(&self, c: &CutCrossing) -> u64 {
        if c.values.is_empty() && c.inputs.is_empty() {
            return 0;
        }
        let vals: u64 = c.values.iter().map(|&i| tensor_header_bytes(self.values[i].rank)).sum();
        let raw: u64 = c.inputs.iter().map(|&i| tensor_header_bytes(self.inputs[i].rank)).sum();
        FRAME_HEADER_BYTES + vals + raw
    }

    /// Seconds to send `bytes` (payload + header) and wait one RTT; 0 for nothing.
    pub fn transmit_seconds(&self, bytes: u64) -> f64 {
        if bytes == 0 {
            return 0.0;
        }
        bytes as f64 * 8.0 / self.bandwidth_bps + self.rtt_s
    }

    /// Weight bytes (resident weights + 32-bit biases) of the edge layers.
    pub fn weight_bytes(&self, a: &Assignment) -> u64 {
        let mut bits = 0u64;
        let mut bias = 0u64;
        for (l, layer) in self.layers.iter().enumerate() {
            if !a.on_edge[l] {
                continue;
            }
            bits += layer.weight_elems * u64::from(a.wbits[l].unwrap_or(0));
            bias += layer.bias_elems * 4;
        }
        bits.div_ceil(8) + bias
    }

    /// Peak activation buffer: the raw input frame or the largest edge layer output.
    pub fn act_peak_bytes(&self, a: &Assignment) -> u64 {
        let outs = (0..self.len())
            .filter(|&l| a.on_edge[l])
            .map(|l| packed_bytes(self.layers[l].output_elems, a.abits[l].unwrap_or(FLOAT_BITS)))
            .max()
            .unwrap_or(0);
        outs.max(self.input_buffer_bytes())
    }

    /// Prices an assignment. The caller guarantees it is predecessor-closed and that every
    /// edge layer has activation bits.
    pub fn evaluate(&self, a: &Assignment) -> Priced {
        let crossing = self.crossing(&a.on_edge);
        let min_bits = self.min_bits();
        let mut edge = 0.0;
        let mut cloud = 0.0;
        let mut distortion = 0.0;
        for (l, layer) in self.layers.iter().enumerate() {
            if a.on_edge[l] {
                let ab = a.abits[l].unwrap_or(FLOAT_BITS);
                edge += layer.edge_seconds(a.wbits[l], ab, min_bits);
                distortion += a.wbits[l].map_or(0.0, |b| layer.weight_distortion(b));
                distortion += layer.act_distortion(ab);
            } else {
                cloud += layer.cloud;
            }
        }
        let transmit_bytes = self.payload_bytes(&crossing, |l| a.abits[l].unwrap_or(FLOAT_BITS));
        let header_bytes = self.header_bytes(&crossing);
        let transmit = self.transmit_seconds(transmit_bytes + header_bytes);
        Priced {
            latency: Latency { edge, transmit, cloud, total: edge + transmit + cloud },
            edge_memory_bytes: self.weight_bytes(a) + self.act_peak_bytes(a),
            transmit_bytes,
            header_bytes,
            distortion,
            crossing,
        }
    }

    /// True when the priced assignment fits the edge memory and (for auto-split) sends
    /// fewer bytes than the raw input, T < T_0 (AUTOSPLIT.md §2.2: the reference code rejects
    /// a split whose transmitted tensors are not smaller than the image). Cloud-only, which
    /// sends exactly T_0, is the `cloud-only` baseline, not an auto-split solution.
    pub fn fits(&self, p: &Priced) -> bool {
        p.edge_memory_bytes <= self.edge_memory_bytes && p.transmit_bytes < self.t0_bytes()
    }

    /// True when the distortion is within the budget (always without one).
    pub fn within_budget(&self, distortion: f64) -> bool {
        self.max_distortion.is_none_or(|e| distortion <= e)
    }

    /// Turns a priced assignment into a solution.
    pub fn solution(&self, kind: SolutionKind, a: &Assignment, method: &str) -> Solution {
        let p = self.evaluate(a);
        let edge_layers: Vec<usize> = (0..self.len()).filter(|&l| a.on_edge[l]).collect();
        let split = (0..self.len()).find(|&l| !a.on_edge[l]).unwrap_or(self.len());
        let feasible = if kind.is_baseline() {
            p.edge_memory_bytes <= self.edge_memory_bytes
        } else {
            self.fits(&p)
        };
        let crossing = Crossing {
            values: p.crossing.values.iter().map(|&i| self.values[i].id).collect(),
            inputs: p.crossing.inputs.clone(),
        };
        Solution {
            kind,
            split,
            edge_layers,
            crossing,
            weight_bits: a.wbits.clone(),
            act_bits: a.abits.clone(),
            latency: p.latency,
            edge_memory_bytes: p.edge_memory_bytes,
            transmit_bytes: p.transmit_bytes,
            header_bytes: p.header_bytes,
            distortion: p.distortion,
            accuracy: None,
            pareto: false,
            feasible,
            within_budget: self.within_budget(p.distortion),
            method: method.to_string(),
            input_bits: self.input_bits,
        }
    }
}

/// Marks the auto-split solutions that no other auto-split solution dominates in (total
/// latency, distortion); infeasible ones are never on the front.
pub fn mark_pareto(solutions: &mut [Solution]) {
    let front: Vec<bool> = solutions
        .iter()
        .map(|s| {
            s.kind == SolutionKind::AutoSplit
                && s.feasible
                && !solutions.iter().any(|o| {
                    o.kind == SolutionKind::AutoSplit
                        && o.feasible
                        && o.latency.total <= s.latency.total
                        && o.distortion <= s.distortion
                        && (o.latency.total < s.latency.total || o.distortion < s.distortion)
                })
        })
        .collect();
    for (s, p) in solutions.iter_mut().zip(front) {
        s.pareto = p;
    }
}

/// The index of the lowest-total feasible solution of `kind` that passes `keep` (ties: less
/// distortion, then the earlier one).
pub fn best_of(
    solutions: &[Solution],
    kind: SolutionKind,
    keep: impl Fn(&Solution) -> bool,
) -> Option<usize> {
    best_where(solutions, |s| s.kind == kind && keep(s))
}

/// The index of the lowest-total feasible solution that passes `keep` (ties: less
/// distortion, then the earlier one).
fn best_where(solutions: &[Solution], keep: impl Fn(&Solution) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, s) in solutions.iter().enumerate() {
        if !s.feasible || !keep(s) {
            continue;
        }
        let better = best.is_none_or(|b| {
            let o = &solutions[b];
            (s.latency.total, s.distortion) < (o.latency.total, o.distortion)
        });
        if better {
            best = Some(i);
        }
    }
    best
}

/// The chosen solution: the lowest predicted total among the feasible solutions within the
/// distortion budget and, when accuracy was measured, within `min_accuracy` — auto-split
/// solutions and the baselines alike, so the chosen total is never above a usable baseline's
/// (at a high bandwidth that is the cloud-only baseline). Ties go to less distortion, then to
/// the earlier solution (auto-split ones are listed first). Forced solutions are not chosen
/// here.
pub fn choose(solutions: &[Solution], min_accuracy: Option<f64>) -> Option<usize> {
    best_where(solutions, |s| {
        s.kind != SolutionKind::Forced
            && s.within_budget
            && min_accuracy.is_none_or(|m| s.accuracy.is_some_and(|a| a >= m))
    })
}

/// Distinct (edge set, bits) of the solutions, to drop duplicates the search finds twice.
pub fn dedup_key(s: &Solution) -> (Vec<usize>, Vec<Option<u8>>, Vec<Option<u8>>) {
    (s.edge_layers.clone(), s.weight_bits.clone(), s.act_bits.clone())
}

/// Removes later duplicates (same kind, edge set and bits), keeping the first.
pub fn dedup(solutions: &mut Vec<Solution>) {
    let mut seen = BTreeSet::new();
    solutions.retain(|s| seen.insert((s.kind.name(), dedup_key(s))));
}

impl Plan {
    /// Chooses again after accuracies were measured (`--validate`, `--max-accuracy-drop`):
    /// the lowest-total feasible auto-split solution within the distortion budget whose
    /// accuracy is at least `min_accuracy`, moved to the front (`chosen` = 0). Returns false,
    /// leaving the plan as it was, when no solution qualifies or the plan is forced.
    pub fn rechoose(&mut self, min_accuracy: f64) -> bool {
        if self.solutions.first().is_some_and(|s| s.kind == SolutionKind::Forced) {
            return false;
        }
        let Some(i) = choose(&self.solutions, Some(min_accuracy)) else { return false };
        let s = self.solutions.remove(i);
        self.solutions.insert(0, s);
        self.chosen = 0;
        true
    }
}
