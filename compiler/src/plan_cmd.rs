//! Planning in the driver: `asplitc plan MODEL` and the planning step of `asplitc MODEL -o OUT`.
//!
//! Loads the model, runs the default pipeline (fused layers), reads or synthesises the
//! calibration samples, calibrates, resolves the device profiles and runs the Auto-Split
//! search (`asplit_passes::plan`); with `--validate`, measures each solution's accuracy with
//! the interpreter ([`crate::validate`]) and re-chooses under `--max-accuracy-drop`. Writes
//! plan.json and prints the solution table. It does not emit binaries or Split-phase IR.

use crate::driver::{load_model, run_passes, PassRequest};
use crate::error::DriverError;
use crate::plan_flags::PlanSettings;
use crate::samples::{read_samples, SampleSet};
use asplit_ir::Graph;
use asplit_passes::plan::calibrate::{calibrate, synthetic_samples, Calibration, DistortionTable};
use asplit_passes::plan::layers::LayerGraph;
use asplit_passes::plan::profile::resolve_profile;
use asplit_passes::plan::report::{layer_names, plan_json, render_table};
use asplit_passes::plan::search::{plan, PlanConfig};
use asplit_passes::plan::solution::Plan;
use asplit_passes::plan::solution::{BitsChoice, SplitChoice};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seed of the synthetic calibration samples (fixed: plans are reproducible).
pub const SYNTHETIC_SEED: u64 = 0x5eed;

/// `asplitc plan MODEL [flags]`.
#[derive(Debug)]
pub struct PlanRequest {
    /// The model file.
    pub model: PathBuf,
    /// `--input-shape` bindings.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// The pipeline run before planning (the default pipeline unless `--passes`).
    pub passes: PassRequest,
    /// Planning settings.
    pub settings: PlanSettings,
    /// Where plan.json goes.
    pub json_out: PathBuf,
}

/// A plan and what it was made from.
#[derive(Debug)]
pub struct Planned {
    /// The layers of the planned graph.
    pub layers: LayerGraph,
    /// Calibration results.
    pub calibration: Calibration,
    /// The solutions.
    pub plan: Plan,
    /// What `--validate` measured, when given.
    pub validation: Option<Validation>,
    /// How long calibration and the search took.
    pub timing: Timing,
}

/// Wall time of the planning steps.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    /// Calibration (zero when none was needed).
    pub calibration: std::time::Duration,
    /// Split search and bit allocation (validation excluded).
    pub search: std::time::Duration,
}

/// The float model's score on the validation folder.
#[derive(Clone, Debug, PartialEq)]
pub struct Validation {
    /// Items (samples × batch) scored.
    pub items: usize,
    /// `top1-accuracy` (with labels.npy) or `top1-agreement` (with the float model).
    pub metric: &'static str,
    /// The float model's score, percent (100 for agreement).
    pub reference: f64,
}

/// Runs `asplitc plan`: prints the table to stdout, writes plan.json.
pub fn plan_command(req: &PlanRequest) -> Result<(), DriverError> {
    let mut g = load_model(&req.model, &req.input_shapes)?;
    run_passes(&mut g, &req.passes)?;
    let planned = make_plan(&g, &req.settings)?;
    write_plan_json(&g, &planned, &req.json_out)?;
    print!("{}", render_table(&planned.plan, &layer_names(&planned.layers)));
    println!("plan written to {}", req.json_out.display());
    eprintln!("{}", timing_line(&planned));
    Ok(())
}

/// "calibrated on 8 synthetic sample(s) in 5.1 s; planned 54 layers in 0.02 s".
fn timing_line(p: &Planned) -> String {
    let c = &p.calibration;
    let secs = p.timing.calibration.as_secs_f64();
    let what = match (c.samples, c.synthetic) {
        (0, _) => "no calibration needed (float edge-only)".to_string(),
        (n, true) => format!("calibrated on {n} synthetic sample(s) in {secs:.1} s"),
        (n, false) => format!("calibrated on {n} sample(s) in {secs:.1} s"),
    };
    let search = p.timing.search.as_secs_f64();
    format!("{what}; planned {} layers in {search:.2} s", p.layers.len())
}

/// Plans a graph that has been through the default pipeline.
pub fn make_plan(g: &Graph, s: &PlanSettings) -> Result<Planned, DriverError> {
    let layers = LayerGraph::build(g).map_err(plan_error)?;
    let started = Instant::now();
    let calibration = if needs_calibration(s) {
        let (samples, synthetic) = calibration_samples(g, s)?;
        let mut calibration = run_calibration(g, &layers, &samples)?;
        calibration.synthetic = synthetic;
        calibration
    } else {
        float_calibration(&layers)
    };
    let calibrated = started.elapsed();
    let config = PlanConfig {
        bandwidth_bps: s.bandwidth_bps,
        rtt_s: s.rtt_s,
        edge_memory_bytes: s.edge_memory_bytes,
        input_bits: s.input_bits,
        act_budgets: s.act_budgets.clone(),
        max_distortion: s.max_distortion,
        edge: resolve_profile(&s.edge)?,
        cloud: resolve_profile(&s.cloud)?,
        split: s.split,
        bits: s.bits,
    };
    let started = Instant::now();
    let plan = plan(g, &layers, &calibration, &config).map_err(plan_error)?;
    let timing = Timing { calibration: calibrated, search: started.elapsed() };
    let mut planned = Planned { layers, calibration, plan, validation: None, timing };
    if let Some(dir) = &s.validate {
        let set = read_samples(g, dir)?;
        crate::validate::validate_plan(g, &mut planned, &set, s.max_accuracy_drop)?;
    }
    Ok(planned)
}

/// A float edge-only plan (`--split edge-only --bits f32`, the whole model as one native
/// program) quantizes nothing and sends nothing, so it needs no ranges or distortion tables;
/// everything else does.
fn needs_calibration(s: &PlanSettings) -> bool {
    !(s.split == SplitChoice::EdgeOnly && s.bits == BitsChoice::F32 && s.validate.is_none())
}

/// The calibration of a plan that quantizes nothing: no samples, zero distortion tables.
fn float_calibration(layers: &LayerGraph) -> Calibration {
    Calibration {
        samples: 0,
        synthetic: false,
        ranges: Default::default(),
        act: vec![DistortionTable::zero(); layers.len()],
        weight: vec![DistortionTable::zero(); layers.len()],
    }
}

/// The calibration samples: the folder's, or seeded synthetic ones.
fn calibration_samples(
    g: &Graph,
    s: &PlanSettings,
) -> Result<(Vec<Vec<asplit_ir::Tensor>>, bool), DriverError> {
    match &s.calibration {
        Some(dir) => {
            let SampleSet { samples, .. } = read_samples(g, dir)?;
            Ok((samples, false))
        }
        None => Ok((synthetic_samples(g, s.synthetic_samples, SYNTHETIC_SEED), true)),
    }
}

/// Calibrates with a progress bar on a terminal (nothing when stderr is not one).
fn run_calibration(
    g: &Graph,
    layers: &LayerGraph,
    samples: &[Vec<asplit_ir::Tensor>],
) -> Result<Calibration, DriverError> {
    let bar = progress_bar((2 * samples.len()) as u64, "calibrating");
    let mut progress = |done: usize, _total: usize| bar.set_position(done as u64);
    let cal = calibrate(g, layers, samples, &mut progress).map_err(plan_error)?;
    bar.finish_and_clear();
    Ok(cal)
}

/// A progress bar drawn on stderr when it is a terminal, hidden otherwise.
pub fn progress_bar(len: u64, message: &'static str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Writes plan.json.
pub fn write_plan_json(g: &Graph, p: &Planned, path: &Path) -> Result<(), DriverError> {
    let mut json = plan_json(&p.plan, g, &p.layers);
    if let (Some(v), Some(obj)) = (&p.validation, json.as_object_mut()) {
        obj.insert(
            "validation".into(),
            serde_json::json!({ "items": v.items, "metric": v.metric, "reference": v.reference }),
        );
    }
    let text = serde_json::to_string_pretty(&json).map_err(|e| DriverError::Flag {
        flag: "plan.json",
        message: format!("cannot serialise the plan: {e}"),
    })?;
    std::fs::write(path, text + "\n").map_err(|e| DriverError::io("write", path, e))
}

/// Wraps a planner-side error.
pub fn plan_error(e: impl std::fmt::Display) -> DriverError {
    DriverError::Plan { message: e.to_string() }
}
