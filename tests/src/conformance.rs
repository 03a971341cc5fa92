//! The ONNX backend conformance run: discovers test cases, runs each through the importer
//! and the reference interpreter, and reads the known-failure lists. Compiled runs are in
//! [`compiled`], the rendering of `docs/conformance.md` in [`doc`].
//!
//! A case is *skipped* only when its model uses an ONNX op outside asplitc's supported list
//! (or feeds non-tensor values, which asplitc does not model); everything else must pass,
//! unless it is listed with a reason in `tests/conformance/known_failures.txt`. The policy
//! (which outcomes fail the test) lives in `tests/tests/conformance.rs` and
//! `tests/tests/conformance_compiled.rs`, not here.

pub mod compiled;
pub mod doc;

use crate::{compare, onnx_data_dir};
use asplit_ir::Tensor;
use asplitc::onnx::{import_file, import_file_with_values, ImportError, ImportOptions};
use asplitc::tensor_io::read_tensor;
use onnx_protobuf::{Message, ModelProto};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default tolerances (the issue's); a case's `data.json` may override them.
pub const RTOL: f64 = 1e-3;
/// Default absolute tolerance.
pub const ATOL: f64 = 1e-5;

/// A group of test cases.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Suite {
    /// Per-operator node tests.
    Node,
    /// Models converted from PyTorch modules.
    PytorchConverted,
    /// Models of single PyTorch operators.
    PytorchOperator,
    /// Small hand-made models.
    Simple,
    /// The 9 "light" real models (weights replaced by constants).
    Light,
}

impl Suite {
    /// All suites in report order.
    pub const ALL: [Suite; 5] =
        [Suite::Node, Suite::PytorchConverted, Suite::PytorchOperator, Suite::Simple, Suite::Light];

    /// Directory / display name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Node => "node",
            Suite::PytorchConverted => "pytorch-converted",
            Suite::PytorchOperator => "pytorch-operator",
            Suite::Simple => "simple",
            Suite::Light => "light",
        }
    }
}

/// Where a case's inputs come from.
#[derive(Clone, Debug)]
pub enum Inputs {
    /// `input_<j>.pb` files.
    Files(Vec<PathBuf>),
    /// The light-model convention: each input is `arange(n).reshape(shape) / n` in f32.
    Arange,
}

/// One data set of a case: inputs and expected outputs.
#[derive(Clone, Debug)]
pub struct DataSet {
    /// Inputs.
    pub inputs: Inputs,
    /// Expected output files, in graph-output order.
    pub outputs: Vec<PathBuf>,
}

/// One conformance case.
#[derive(Clone, Debug)]
pub struct Case {
    /// Its suite.
    pub suite: Suite,
    /// Test name (`test_conv_with_strides_padding`, `resnet50`…).
    pub name: String,
    /// The model file.
    pub model: PathBuf,
    /// Data sets.
    pub sets: Vec<DataSet>,
    /// Tolerances.
    pub rtol: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// A reason the generator gave for not running it (non-tensor values).
    pub generator_skip: Option<String>,
}

impl Case {
    /// `suite/name`, the key used in known_failures.txt.
    pub fn key(&self) -> String {
        format!("{}/{}", self.suite.name(), self.name)
    }
}

/// What happened to a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All outputs matched.
    Pass,
    /// Something failed; the reason.
    Fail(String),
    /// Not run; the reason.
    Skip(String),
}

/// A case with its outcome.
#[derive(Clone, Debug)]
pub struct Report {
    /// The case.
    pub case: Case,
    /// ONNX op types its model uses.
    pub ops: BTreeSet<String>,
    /// Outcome.
    pub outcome: Outcome,
    /// Some graph inputs were bound at compile time (they feed static parameters).
    pub bound_inputs: bool,
    /// Wall time.
    pub time: Duration,
}

/// Finds every case of `suite`; `node_dir` is where the node tests were generated.
pub fn discover(suite: Suite, node_dir: &Path) -> Result<Vec<Case>, String> {
    let root = match suite {
        Suite::Node => node_dir.to_path_buf(),
        s => onnx_data_dir()?.join(s.name()),
    };
    if suite == Suite::Light {
        return discover_light(&root);
    }
    let mut cases = Vec::new();
    for dir in sorted_entries(&root)? {
        if !dir.join("model.onnx").is_file() {
            continue;
        }
        cases.push(case_from_dir(suite, &dir)?);
    }
    Ok(cases)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    v.sort();
    Ok(v)
}

fn numbered(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    (0..).map(|i| dir.join(format!("{prefix}_{i}.pb"))).take_while(|p| p.is_file()).collect()
}

fn case_from_dir(suite: Suite, dir: &Path) -> Result<Case, String> {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    let mut sets = Vec::new();
    for d in sorted_entries(dir)? {
        let is_set =
            d.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("test_data_set_"));
        if is_set && d.is_dir() {
            sets.push(DataSet {
                inputs: Inputs::Files(numbered(&d, "input")),
                outputs: numbered(&d, "output"),
            });
        }
    }
    let (rtol, atol) = tolerances(dir);
    let generator_skip =
        std::fs::read_to_string(dir.join("SKIP")).ok().map(|s| s.trim().to_string());
    Ok(Case { suite, name, model: dir.join("model.onnx"), sets, rtol, atol, generator_skip })
}

/// `data.json` `rtol`/`atol` if present, else the defaults.
fn tolerances(dir: &Path) -> (f64, f64) {
    let text = std::fs::read_to_string(dir.join("data.json")).unwrap_or_default();
    let field = |key: &str| -> Option<f64> {
        let i = text.find(&format!("\"{key}\""))?;
        let rest = text[i..].split_once(':')?.1;
        let end = rest.find([',', '}']).unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    };
    (field("rtol").unwrap_or(RTOL), field("atol").unwrap_or(ATOL))
}

fn discover_light(root: &Path) -> Result<Vec<Case>, String> {
    let mut cases = Vec::new();
    for p in sorted_entries(root)? {
        let file = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(stem) = file.strip_suffix(".onnx") else { continue };
        let name = stem.strip_prefix("light_").unwrap_or(stem).to_string();
        let outputs = numbered(root, &format!("{stem}_output"));
        let sets = vec![DataSet { inputs: Inputs::Arange, outputs }];
        cases.push(Case {
            suite: Suite::Light,
            name,
            model: p.clone(),
            sets,
            rtol: RTOL,
            atol: ATOL,
            generator_skip: None,
        });
    }
    Ok(cases)
}

/// The ONNX op types a model uses (empty when it cannot be read).
pub fn model_ops(path: &Path) -> BTreeSet<String> {
    let Ok(bytes) = std::fs::read(path) else { return BTreeSet::new() };
    let Ok(m) = ModelProto::parse_from_bytes(&bytes) else { return BTreeSet::new() };
    m.graph.node.iter().map(|n| n.op_type.clone()).collect()
}

/// Runs one case; a panic anywhere is a failure that names the panic.
pub fn run_case(case: &Case) -> Report {
    let start = Instant::now();
    let ops = model_ops(&case.model);
    let (outcome, bound_inputs) = match skip_reason(case, &ops) {
        Some(r) => (Outcome::Skip(r), false),
        None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_sets(case)))
            .unwrap_or_else(|p| (Outcome::Fail(format!("PANIC: {}", panic_text(&p))), false)),
    };
    Report { case: case.clone(), ops, outcome, bound_inputs, time: start.elapsed() }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// Why a case is not run (non-tensor values, or an op outside the supported list), if so.
pub fn skip_reason(case: &Case, ops: &BTreeSet<String>) -> Option<String> {
    if let Some(r) = &case.generator_skip {
        return Some(format!("non-tensor value ({r})"));
    }
    let outside: Vec<&str> = ops
        .iter()
        .filter(|op| !asplitc::onnx::SUPPORTED_OPS.contains(&op.as_str()))
        .map(String::as_str)
        .collect();
    (!outside.is_empty()).then(|| format!("op outside the supported list: {}", outside.join(", ")))
}

fn run_sets(case: &Case) -> (Outcome, bool) {
    let plain = import_file(&case.model, &ImportOptions::default());
    if let Err(ImportError::NotConstant { .. }) = &plain {
        return (run_sets_bound(case), true);
    }
    let g = match plain {
        Ok(g) => g,
        Err(e) => return (Outcome::Fail(format!("import: {}", one_line(&e.to_string()))), false),
    };
    if let Err(v) = asplit_ir::verify::verify(&g) {
        return (Outcome::Fail(format!("verify: {}", v[0])), false);
    }
    for (i, set) in case.sets.iter().enumerate() {
        let inputs = match load_inputs(&g, set) {
            Ok(x) => x,
            Err(e) => return (Outcome::Fail(format!("data set {i}: {}", one_line(&e))), false),
        };
        if let Err(e) = check_set(&g, &inputs, set, case.rtol, case.atol) {
            return (Outcome::Fail(format!("data set {i}: {}", one_line(&e))), false);
        }
    }
    (Outcome::Pass, false)
}

/// The model computes a static parameter (Reshape's shape, Resize's scales…) from a graph
/// input. asplitc compiles static graphs, so such a case is imported once per data set with
/// the data set's input values bound at compile time (`import_file_with_values`), then run
/// on those same values.
fn run_sets_bound(case: &Case) -> Outcome {
    for (i, set) in case.sets.iter().enumerate() {
        let r = (|| {
            let (g, tensors) = import_bound(case, set)?;
            asplit_ir::verify::verify(&g).map_err(|v| format!("verify: {}", v[0]))?;
            check_set(&g, &tensors, set, case.rtol, case.atol)
        })();
        if let Err(e) = r {
            return Outcome::Fail(format!("data set {i}: {}", one_line(&e)));
        }
    }
    Outcome::Pass
}

/// The case's graph imported with `set`'s input values bound at compile time, and those
/// values.
fn import_bound(case: &Case, set: &DataSet) -> Result<(asplit_ir::Graph, Vec<Tensor>), String> {
    let Inputs::Files(files) = &set.inputs else {
        return Err("generated inputs cannot be bound".to_string());
    };
    let tensors = files
        .iter()
        .map(|p| read_tensor(p).map_err(|e| format!("input: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let known: Vec<(String, Tensor)> =
        graph_input_names(&case.model).into_iter().zip(tensors.iter().cloned()).collect();
    let g = import_file_with_values(&case.model, &ImportOptions::default(), &known)
        .map_err(|e| format!("import (inputs bound): {e}"))?;
    Ok((g, tensors))
}

/// Names of the model's graph inputs that are not initializers, in order.
fn graph_input_names(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let Ok(m) = ModelProto::parse_from_bytes(&bytes) else { return Vec::new() };
    let inits: BTreeSet<&str> = m.graph.initializer.iter().map(|t| t.name.as_str()).collect();
    m.graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .map(|i| i.name.clone())
        .collect()
}

fn one_line(s: &str) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() > 300 {
        format!("{}…", s.chars().take(300).collect::<String>())
    } else {
        s
    }
}

/// The input tensors of a data set: read from its files, or the light models' arange.
pub fn load_inputs(g: &asplit_ir::Graph, set: &DataSet) -> Result<Vec<Tensor>, String> {
    match &set.inputs {
        Inputs::Files(files) => {
            files.iter().map(|p| read_tensor(p).map_err(|e| format!("input: {e}"))).collect()
        }
        Inputs::Arange => Ok(g.inputs.iter().map(|&v| arange_input(g.ty(v))).collect()),
    }
}

fn check_set(
    g: &asplit_ir::Graph,
    inputs: &[Tensor],
    set: &DataSet,
    rtol: f64,
    atol: f64,
) -> Result<(), String> {
    let outs = asplit_ir::interp::run(g, inputs).map_err(|e| format!("run: {e}"))?;
    if outs.len() != set.outputs.len() {
        return Err(format!("{} outputs, {} expected", outs.len(), set.outputs.len()));
    }
    for (i, (out, path)) in outs.iter().zip(&set.outputs).enumerate() {
        let reference = read_tensor(path).map_err(|e| format!("expected output: {e}"))?;
        compare(&reference, out, rtol, atol).map_err(|e| format!("output {i}: {e}"))?;
    }
    Ok(())
}

/// The ONNX backend runner's light-model input: `arange(n).reshape(shape) / n`.
pub fn arange_input(ty: &asplit_ir::TensorType) -> Tensor {
    let n = ty.numel();
    let v: Vec<f32> = (0..n).map(|i| (i as f64 / n as f64) as f32).collect();
    Tensor::from_f32(ty.shape.clone(), v).expect("numel matches shape").cast(ty.dtype)
}

/// Runs cases on `workers` threads; results in input order.
pub fn run_all(cases: &[Case], workers: usize) -> Vec<Report> {
    par_map(cases, workers, run_case)
}

/// `f` over `cases` on `workers` threads; results in input order. A panic in `f` propagates.
pub fn par_map<T: Send>(cases: &[Case], workers: usize, f: impl Fn(&Case) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..cases.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let r = f(case);
                if let Ok(mut guard) = results.lock() {
                    guard[i] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

/// The cases of the suites named in `ASPLIT_CONFORMANCE_SUITES` (comma-separated), or of
/// every suite when it is unset; the flag is true when only a subset was asked for.
pub fn selected_cases() -> Result<(Vec<Case>, bool), String> {
    let only = std::env::var("ASPLIT_CONFORMANCE_SUITES").ok();
    let node_dir = crate::node_tests_dir()?;
    let mut cases = Vec::new();
    for s in Suite::ALL {
        if only.as_deref().is_none_or(|o| o.split(',').any(|x| x == s.name())) {
            cases.extend(discover(s, &node_dir)?);
        }
    }
    Ok((cases, only.is_some()))
}

/// Known failures: `suite/name` → reason, from `tests/conformance/known_failures.txt`.
pub fn known_failures(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('#') {
            Some((k, r)) => (k.trim().to_string(), r.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}
