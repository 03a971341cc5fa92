//! The planner end to end on a small residual CNN: graph → layers → (hand-made) calibration →
//! built-in profiles → plan → plan.json and the table.
//!
//! The calibration here is written by hand (distortion falling 4× per bit) so the test does
//! not depend on running the interpreter; calibrate.rs has its own tests.

use asplit_ir::parse::parse;
use asplit_passes::insert_boundary::{annotate, insert_boundary};
use asplit_passes::plan::calibrate::{calibrate, synthetic_samples, Calibration, DistortionTable};
use asplit_passes::plan::layers::LayerGraph;
use asplit_passes::plan::profile::resolve_profile;
use asplit_passes::plan::report::{layer_names, plan_json, render_table};
use asplit_passes::plan::search::{plan, split_spec, PlanConfig, ACT_BUDGETS};
use asplit_passes::plan::solution::{BitsChoice, SolutionKind, SplitChoice};
use std::collections::HashMap;

const CNN: &str = r#"
graph @cnn(%x: f32[1, 3, 32, 32]) {
  %w1 = const {value = tensor<f32[16, 3, 3, 3]: random(seed = 1)>} : f32[16, 3, 3, 3]
  %w2 = const {value = tensor<f32[32, 16, 3, 3]: random(seed = 2)>} : f32[32, 16, 3, 3]
  %w3 = const {value = tensor<f32[32, 32, 3, 3]: random(seed = 3)>} : f32[32, 32, 3, 3]
  %fc = const {value = tensor<f32[32, 10]: random(seed = 4)>} : f32[32, 10]
  %c1 = conv(%x, %w1) {strides = [2, 2], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1, 16, 16, 16]
  %c2 = conv(%c1, %w2) {strides = [2, 2], dilations = [1, 1], pads = [1, 1, 1, 1], activation = "relu"} : f32[1, 32, 8, 8]
  %c3 = conv(%c2, %w3) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1]} : f32[1, 32, 8, 8]
  %s = add(%c3, %c2) : f32[1, 32, 8, 8]
  %g = reduce_mean(%s) {axes = [2, 3]} : f32[1, 32, 1, 1]
  %f = reshape(%g) {shape = [1, 32]} : f32[1, 32]
  %y = matmul(%f, %fc) : f32[1, 10]
  return %y
}
"#;

fn table(scale: f64) -> DistortionTable {
    let mut mse = [0.0; 7];
    for (i, m) in mse.iter_mut().enumerate() {
        *m = scale * 4f64.powi(-(i as i32 + 2));
    }
    DistortionTable { mse, power: 1.0, elems: 1 }
}

fn setup() -> (asplit_ir::graph::Graph, LayerGraph, Calibration) {
    let g = parse(CNN).unwrap();
    let layers = LayerGraph::build(&g).unwrap();
    let cal = Calibration {
        samples: 4,
        synthetic: true,
        ranges: HashMap::new(),
        act: (0..layers.len()).map(|i| table(0.5 + i as f64)).collect(),
        weight: layers
            .layers
            .iter()
            .map(|l| if l.weight_elems > 0 { table(0.3) } else { DistortionTable::zero() })
            .collect(),
    };
    (g, layers, cal)
}

fn config(bandwidth_bps: f64) -> PlanConfig {
    PlanConfig {
        bandwidth_bps,
        rtt_s: 0.01,
        edge_memory_bytes: 64 * 1024,
        input_bits: 8,
        act_budgets: ACT_BUDGETS.to_vec(),
        max_distortion: Some(0.5),
        edge: resolve_profile("rpi4").unwrap(),
        cloud: resolve_profile("gpu-cloud").unwrap(),
        split: SplitChoice::Auto,
        bits: BitsChoice::Auto,
    }
}

#[test]
fn plan_json_has_the_required_fields() {
    let (g, layers, cal) = setup();
    let p = plan(&g, &layers, &cal, &config(3e6)).unwrap();
    let j = plan_json(&p, &g, &layers);
    assert_eq!(j["chosen"], 0);
    for k in ["bandwidth_bps", "rtt_s", "edge_memory_bytes", "input_bits", "t0_bytes"] {
        assert!(j["constraints"].get(k).is_some(), "constraints.{k}");
    }
    assert_eq!(j["constraints"]["t0_bytes"], 3 * 32 * 32);
    assert_eq!(j["calibration"]["synthetic"], true);
    assert!(j["warnings"][0].as_str().unwrap().contains("synthetic"));
    assert_eq!(j["layers"].as_array().unwrap().len(), layers.len());
    let sols = j["solutions"].as_array().unwrap();
    let kinds: Vec<&str> = sols.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    for k in ["auto-split", "cloud-only", "edge-only-u8", "neurosurgeon", "qdmp"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    for s in sols {
        for k in ["edge", "transmit", "cloud", "total"] {
            assert!(s["latency_ms"][k].is_number(), "latency_ms.{k}");
        }
        for k in ["edge_memory_bytes", "transmit_bytes", "distortion", "pareto", "accuracy"] {
            assert!(s.get(k).is_some(), "{k}");
        }
        assert!(s["split"]["layer"].is_u64());
        assert!(s["split"]["crossing"].is_array());
        assert!(s["bits"]["weights"].is_object() && s["bits"]["activations"].is_object());
    }
    // The chosen solution's crossing names and bits agree with the solution itself.
    let c = &p.solutions[0];
    assert_eq!(sols[0]["split"]["crossing"].as_array().unwrap().len(), c.crossing.values.len());
    let acts = sols[0]["bits"]["activations"].as_object().unwrap();
    let edge_outputs: usize = c.edge_layers.iter().map(|&l| layers.layers[l].outputs.len()).sum();
    assert_eq!(acts.len(), edge_outputs);
    let back: serde_json::Value = serde_json::from_str(&j.to_string()).unwrap();
    assert_eq!(back["solutions"].as_array().map(Vec::len), Some(sols.len()));
}

#[test]
fn table_lists_chosen_first_and_baselines() {
    let (g, layers, cal) = setup();
    let p = plan(&g, &layers, &cal, &config(1e6)).unwrap();
    let t = render_table(&p, &layer_names(&layers));
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines[0].contains("kind") && lines[0].contains("total ms"));
    assert!(lines[1].starts_with('*'), "{t}");
    for k in ["cloud-only", "edge-only-u8", "neurosurgeon", "qdmp"] {
        assert!(t.contains(k), "{k} missing:\n{t}");
    }
    let pos = |k: &str| t.find(k).unwrap();
    assert!(pos("cloud-only") > lines[1].len(), "baselines come after the chosen row");
}

#[test]
fn bandwidth_moves_the_split_towards_the_cloud() {
    // At a very high bandwidth cloud-only wins; at a very low one the edge does more.
    let (g, layers, cal) = setup();
    let mut cfg = config(1e11);
    cfg.rtt_s = 0.0;
    let fast = plan(&g, &layers, &cal, &cfg).unwrap();
    cfg.bandwidth_bps = 1e4;
    let slow = plan(&g, &layers, &cal, &cfg).unwrap();
    let (f, s) = (&fast.solutions[0], &slow.solutions[0]);
    assert!(
        f.edge_layers.len() <= s.edge_layers.len(),
        "fast {:?} slow {:?}",
        f.edge_layers,
        s.edge_layers
    );
    assert!(s.transmit_bytes < slow.constraints.t0_bytes);
    let cloud = fast.solutions.iter().find(|x| x.kind == SolutionKind::CloudOnly).unwrap();
    assert!(f.latency.total <= cloud.latency.total);
}

#[test]
fn split_spec_runs_through_insert_boundary_with_the_predicted_wire_bytes() {
    // Real calibration (synthetic samples), then every solution kind of the plan is annotated,
    // lowered by insert-boundary and run by the interpreter; the pass's payload bytes must be
    // the planner's transmit_bytes.
    let (g, layers, _) = setup();
    let samples = synthetic_samples(&g, 3, 7);
    let mut cal = calibrate(&g, &layers, &samples, &mut |_, _| {}).unwrap();
    cal.synthetic = true;
    let p = plan(&g, &layers, &cal, &config(3e6)).unwrap();
    let float = asplit_ir::interp::run(&g, &samples[0]).unwrap();
    let mut checked = 0;
    for sol in &p.solutions {
        let spec = split_spec(sol, &g, &layers, &cal).unwrap();
        let edge_nodes: usize = sol.edge_layers.iter().map(|&l| layers.layers[l].nodes.len()).sum();
        assert_eq!(spec.edge_nodes.len(), edge_nodes);
        for &l in &sol.edge_layers {
            for v in layers.layers[l].outputs.iter().filter(|_| sol.method != "float") {
                assert_eq!(
                    spec.activations[v].bits,
                    sol.act_bits[l].unwrap(),
                    "{}",
                    sol.kind.name()
                );
            }
        }
        let mut split = g.clone();
        annotate(&mut split, &spec).unwrap();
        let stats = insert_boundary(&mut split).unwrap();
        assert_eq!(
            stats.wire_bytes as u64,
            sol.transmit_bytes,
            "{} {}",
            sol.kind.name(),
            sol.method
        );
        let out = asplit_ir::interp::run(&split, &samples[0]).unwrap();
        assert_eq!(out[0].shape(), float[0].shape());
        checked += 1;
    }
    assert!(checked >= 9, "{checked}");
}
