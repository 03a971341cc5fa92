//! The plan as plan.json and as a terminal table (schema and columns in docs/plan.md).
//!
//! `plan_json` writes every solution with its split (layer index, edge layers, the names of
//! the crossing values and raw inputs), its bits per value (weights and activations), latency
//! in milliseconds, edge memory and bytes on the wire, distortion, accuracy (or null) and
//! flags; plus the constraints, the calibration facts, the warnings and the layer list.
//! `render_table` prints the chosen solution first, then the other Pareto solutions, then the
//! baselines. This file computes nothing: it only formats a [`Plan`].

use super::layers::LayerGraph;
use super::solution::{
    Plan, Solution, SolutionKind, DIM_HEADER_BYTES, FLOAT_BITS, FRAME_HEADER_BYTES,
    TENSOR_HEADER_BYTES,
};
use asplit_ir::graph::{Graph, ValueDef, ValueId};
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// plan.json schema version.
pub const PLAN_VERSION: u32 = 1;

/// A value's display name: its source name, else its producing node's name (with `#k` for
/// the k-th result, k > 0), else `%id`.
pub fn value_name(g: &Graph, v: ValueId) -> String {
    let data = &g.values[v];
    if let Some(n) = &data.name {
        return n.clone();
    }
    if let ValueDef::Node(node, k) = data.def {
        if let Some(n) = &g.nodes[node].name {
            return if k == 0 { n.clone() } else { format!("{n}#{k}") };
        }
    }
    v.to_string()
}

/// Layer names in index order.
pub fn layer_names(layers: &LayerGraph) -> Vec<String> {
    layers.layers.iter().map(|l| l.name.clone()).collect()
}

/// Bits as JSON: a number, or "f32".
fn bits_json(b: u8) -> Value {
    if b >= FLOAT_BITS {
        json!("f32")
    } else {
        json!(b)
    }
}

/// The per-value bits of a solution: weights and activations of every edge layer.
fn solution_bits(s: &Solution, g: &Graph, layers: &LayerGraph) -> Value {
    let mut weights = Map::new();
    let mut acts = Map::new();
    let mut per_layer = Vec::new();
    for &l in &s.edge_layers {
        let Some(layer) = layers.layers.get(l) else { continue };
        let wb = s.weight_bits.get(l).copied().flatten();
        let ab = s.act_bits.get(l).copied().flatten();
        if let Some(b) = wb {
            for &w in &layer.weights {
                weights.insert(value_name(g, w), bits_json(b));
            }
        }
        if let Some(b) = ab {
            for &v in &layer.outputs {
                acts.insert(value_name(g, v), bits_json(b));
            }
        }
        per_layer.push(json!({
            "layer": l,
            "weights": wb.map(bits_json),
            "activations": ab.map(bits_json),
        }));
    }
    json!({ "weights": weights, "activations": acts, "layers": per_layer })
}

/// One solution as JSON.
fn solution_json(s: &Solution, g: &Graph, layers: &LayerGraph) -> Value {
    let n = layers.len();
    let linear = s.edge_layers.iter().copied().eq(0..s.split);
    let crossing: Vec<String> = s.crossing.values.iter().map(|&v| value_name(g, v)).collect();
    let raw: Vec<String> = s
        .crossing
        .inputs
        .iter()
        .filter_map(|&i| g.inputs.get(i).map(|&v| value_name(g, v)))
        .collect();
    let ms = |x: f64| x * 1e3;
    json!({
        "kind": s.kind.name(),
        "method": s.method,
        "split": {
            "layer": s.split,
            "name": layers.layers.get(s.split).map(|l| l.name.clone()),
            "linear": linear,
            "edge_layers": s.edge_layers,
            "crossing": crossing,
            "raw_inputs": raw,
            "cloud_only": s.edge_layers.is_empty(),
            "edge_only": s.edge_layers.len() == n,
        },
        "bits": solution_bits(s, g, layers),
        "latency_ms": {
            "edge": ms(s.latency.edge),
            "transmit": ms(s.latency.transmit),
            "cloud": ms(s.latency.cloud),
            "total": ms(s.latency.total),
        },
        "edge_memory_bytes": s.edge_memory_bytes,
        "transmit_bytes": s.transmit_bytes,
        "header_bytes": s.header_bytes,
        "distortion": s.distortion,
        "accuracy": s.accuracy,
        "pareto": s.pareto,
        "feasible": s.feasible,
        "within_budget": s.within_budget,
    })
}

/// The per-layer facts.
fn layers_json(g: &Graph, layers: &LayerGraph) -> Value {
    let list: Vec<Value> = layers
        .layers
        .iter()
        .map(|l| {
            let op = l.nodes.first().map(|&n| g.nodes[n].op.to_string());
            json!({
                "index": l.index,
                "name": l.name,
                "op": op,
                "weight_elems": l.weight_elems,
                "bias_elems": l.bias_elems,
                "output_elems": l.output_elems,
                "macs": l.macs,
                "preds": l.preds,
                "outputs": l.outputs.iter().map(|&v| value_name(g, v)).collect::<Vec<_>>(),
            })
        })
        .collect();
    Value::Array(list)
}

/// plan.json.
pub fn plan_json(plan: &Plan, g: &Graph, layers: &LayerGraph) -> Value {
    let c = &plan.constraints;
    json!({
        "version": PLAN_VERSION,
        "model": g.name,
        "chosen": plan.chosen,
        "constraints": {
            "bandwidth_bps": c.bandwidth_bps,
            "rtt_s": c.rtt_s,
            "edge_memory_bytes": c.edge_memory_bytes,
            "input_bits": c.input_bits,
            "t0_bytes": c.t0_bytes,
            "max_distortion": c.max_distortion,
            "act_budgets": c.act_budgets,
            "edge_bits": c.bits,
            "edge_profile": c.edge_profile,
            "cloud_profile": c.cloud_profile,
            "header_estimate": {
                "frame_bytes": FRAME_HEADER_BYTES,
                "tensor_bytes": TENSOR_HEADER_BYTES,
                "dim_bytes": DIM_HEADER_BYTES,
            },
        },
        "calibration": { "samples": plan.calibration.0, "synthetic": plan.calibration.1 },
        "warnings": plan.warnings,
        "layers": layers_json(g, layers),
        "solutions": plan.solutions.iter().map(|s| solution_json(s, g, layers)).collect::<Vec<_>>(),
    })
}

/// "w5.2 a6.0 tx4": mean weight and activation bits of the edge layers and the transmitted
/// bits; "f32" for a float edge; "-" for nothing on the edge.
pub fn bits_summary(s: &Solution) -> String {
    if s.edge_layers.is_empty() {
        return "-".into();
    }
    let mean = |v: &[Option<u8>]| {
        let xs: Vec<f64> = s
            .edge_layers
            .iter()
            .filter_map(|&l| v.get(l).copied().flatten())
            .map(f64::from)
            .collect();
        (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
    };
    let (w, a) = (mean(&s.weight_bits), mean(&s.act_bits));
    if a.is_some_and(|a| a >= f64::from(FLOAT_BITS)) {
        return "f32".into();
    }
    let mut out = String::new();
    if let Some(w) = w {
        let _ = write!(out, "w{w:.1} ");
    }
    if let Some(a) = a {
        let _ = write!(out, "a{a:.1}");
    }
    out
}

/// The split column: index and the last edge layer's name.
fn split_cell(s: &Solution, names: &[String]) -> String {
    let n = names.len();
    let linear = s.edge_layers.iter().copied().eq(0..s.split);
    match s.edge_layers.last() {
        None => "0 (cloud)".into(),
        Some(_) if s.edge_layers.len() == n => format!("{n} (edge)"),
        Some(&last) => {
            let name = names.get(last).map_or("?", |x| x.as_str());
            let mark = if linear { "" } else { "~" };
            format!("{mark}{} after {name}", s.split)
        }
    }
}

fn bytes_cell(b: u64) -> String {
    if b >= 10 * 1024 * 1024 {
        format!("{:.1}MiB", b as f64 / (1024.0 * 1024.0))
    } else if b >= 10 * 1024 {
        format!("{:.1}KiB", b as f64 / 1024.0)
    } else {
        format!("{b}B")
    }
}

/// The solution table: chosen first (`*`), other Pareto solutions (`P`; `p` when over the
/// distortion budget), then baselines (`!` marks one that does not fit the edge memory).
/// `names` are the layer names.
pub fn render_table(plan: &Plan, names: &[String]) -> String {
    let header = [
        "",
        "kind",
        "split",
        "bits",
        "edge ms",
        "tx ms",
        "cloud ms",
        "total ms",
        "edge mem",
        "sent",
        "distortion",
        "accuracy",
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut shown = 0usize;
    let mut hidden = 0usize;
    for (i, s) in plan.solutions.iter().enumerate() {
        let mark = if i == plan.chosen {
            "*"
        } else if s.kind.is_baseline() {
            if s.feasible {
                ""
            } else {
                "!"
            }
        } else if s.pareto && s.within_budget {
            "P"
        } else if s.pareto {
            "p"
        } else {
            hidden += 1;
            continue;
        };
        shown += 1;
        rows.push(vec![
            mark.into(),
            s.kind.name().into(),
            split_cell(s, names),
            bits_summary(s),
            format!("{:.2}", s.latency.edge * 1e3),
            format!("{:.2}", s.latency.transmit * 1e3),
            format!("{:.2}", s.latency.cloud * 1e3),
            format!("{:.2}", s.latency.total * 1e3),
            bytes_cell(s.edge_memory_bytes),
            bytes_cell(s.transmit_bytes + s.header_bytes),
            format!("{:.3e}", s.distortion),
            s.accuracy.map_or("-".into(), |a| format!("{a:.2}%")),
        ]);
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, &w))| if i >= 4 { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>(), &mut out);
    for r in &rows {
        line(r, &mut out);
    }
    let auto = plan.solutions.iter().filter(|s| s.kind == SolutionKind::AutoSplit).count();
    let _ = writeln!(
        out,
        "{shown} shown, {hidden} more of {auto} auto-split solutions in plan.json; \
         * chosen, P Pareto, p Pareto over the distortion budget, ! does not fit the edge memory"
    );
    for w in &plan.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
