//! Fidelity of the split programs (issue 6): the compiled edge produces the boundary codes
//! the interpreter computes for the same Split-phase IR, and compiled edge + compiled cloud
//! give the interpreter's outputs.
//!
//! For each model and plan (the one chosen at 3 Mbps; a forced split in the middle of the
//! network at `--bits 4` and at `--bits 8`), the chosen solution's Split IR is partitioned
//! (`asplit_passes::partition`) and both partitions are compiled with the same code
//! generator as the executables (in-process JIT: `asplit_codegen::testing`), then compared
//! with the interpreter run of the same partitions:
//! - boundary codes: at least 99.9% equal, none more than one step apart;
//! - model outputs of compiled edge → compiled cloud vs the interpreter's Split IR: within
//!   rtol 1e-3 (atol 1e-5, the conformance default); and the compiled cloud alone, fed the
//!   interpreter's payloads, within the same tolerance (so a code that flips at a rounding
//!   boundary is told apart from a cloud that computes differently);
//! - top-1 of the float model vs the split programs, reported (not asserted: quantization may
//!   legitimately change it; the planner bounds the distortion).
//!
//! By default the digits CNN and two light models run (CI); `ASPLIT_FIDELITY=all` runs every
//! light model (minutes each: LLVM compiles ResNet-50/VGG-19 in tens of seconds), and
//! `ASPLIT_FIDELITY=a.onnx,b.onnx` the models given. The
//! executables and their transport are tested end to end in compiler/tests/split_e2e.rs.

use asplit_codegen::testing::run_jit_many;
use asplit_ir::quant::unpack;
use asplit_ir::{interp, Graph, Tensor};
use asplit_passes::partition::Partitions;
use asplit_tests::{compare, onnx_data_dir, workspace_root};
use asplitc::driver::{load_model, run_passes, PassRequest};
use asplitc::plan_flags::PlanFlags;
use std::path::PathBuf;

struct Model {
    name: String,
    path: PathBuf,
    calibration: Option<PathBuf>,
    inputs: Vec<Vec<Tensor>>,
}

fn digits() -> Model {
    let root = workspace_root().join("examples/digits");
    let images = asplitc::tensor_io::read_tensor(&root.join("validation/images.npy"))
        .expect("digits validation images");
    let n = 16;
    let per = images.shape()[1..].iter().product::<usize>();
    let data = images.as_f32().expect("f32 images");
    let mut shape = images.shape().to_vec();
    shape[0] = 1;
    let inputs = (0..n)
        .map(|i| {
            vec![Tensor::from_f32(shape.clone(), data[i * per..(i + 1) * per].to_vec())
                .expect("one image")]
        })
        .collect();
    Model {
        name: "digits_cnn".into(),
        path: root.join("digits_cnn.onnx"),
        calibration: Some(root.join("calibration")),
        inputs,
    }
}

fn light(name: &str) -> Model {
    let dir = onnx_data_dir().expect("ONNX backend test data");
    let path = dir.join(format!("light/light_{name}.onnx"));
    Model { name: name.into(), path, calibration: None, inputs: Vec::new() }
}

fn models() -> Vec<Model> {
    let choice = std::env::var("ASPLIT_FIDELITY").unwrap_or_default();
    if choice.ends_with(".onnx") {
        return choice
            .split(',')
            .map(|p| Model {
                name: p.to_string(),
                path: p.into(),
                calibration: None,
                inputs: Vec::new(),
            })
            .collect();
    }
    let all = choice == "all";
    let light_names: &[&str] = if all {
        &[
            "bvlc_alexnet",
            "densenet121",
            "inception_v1",
            "inception_v2",
            "resnet50",
            "shufflenet",
            "squeezenet",
            "vgg19",
            "zfnet512",
        ]
    } else {
        &["squeezenet", "shufflenet"]
    };
    std::iter::once(digits()).chain(light_names.iter().map(|n| light(n))).collect()
}

/// Codes of every quantized slot, from the edge partition's outputs.
fn slot_codes(p: &Partitions, edge_out: &[Tensor]) -> Vec<Option<Vec<i32>>> {
    p.slots
        .iter()
        .zip(edge_out)
        .map(|(s, t)| {
            let q = s.quant.as_ref()?;
            let asplit_ir::TensorData::U8(bytes) = t.data() else {
                panic!("slot {}: the payload is {}, not u8", s.slot, t.dtype())
            };
            let n = s.shape.iter().product();
            let signed = q.scheme == asplit_ir::quant::Scheme::Symmetric;
            Some(unpack(bytes, q.bits, n, signed).expect("payload unpacks"))
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    codes: usize,
    equal: usize,
    max_step: i64,
    top1_same: usize,
    runs: usize,
    output_errors: Vec<String>,
}

fn check_plan(m: &Model, g: &Graph, args: &[String], tally: &mut Tally) -> Result<String, String> {
    let mut flags =
        PlanFlags::from_args(args.iter().map(String::as_str)).map_err(|e| e.to_string())?;
    flags.calibration = m.calibration.clone();
    let settings = flags.settings().map_err(|e| e.to_string())?;
    let planned = asplitc::plan_cmd::make_plan(g, &settings).map_err(|e| e.to_string())?;
    let asplitc::programs::Chosen { solution: chosen, split, parts } =
        asplitc::programs::chosen_partitions(g, &planned).map_err(|e| e.to_string())?;
    let inputs = if m.inputs.is_empty() {
        vec![asplit_codegen::testing::seeded_inputs(g, 11)]
    } else {
        m.inputs.clone()
    };
    let edge_jit = run_jit_many(&parts.edge, &inputs).map_err(|e| format!("edge JIT: {e}"))?;
    let cloud_jit = match &parts.cloud {
        Some(c) => run_jit_many(c, &edge_jit).map_err(|e| format!("cloud JIT: {e}"))?,
        None => edge_jit.clone(),
    };
    for (i, x) in inputs.iter().enumerate() {
        let edge_ref = interp::run(&parts.edge, x).map_err(|e| format!("edge interp: {e}"))?;
        for (a, b) in slot_codes(&parts, &edge_ref).iter().zip(slot_codes(&parts, &edge_jit[i])) {
            let (Some(a), Some(b)) = (a, b) else { continue };
            tally.codes += a.len();
            tally.equal += a.iter().zip(&b).filter(|(x, y)| x == y).count();
            let step = a.iter().zip(&b).map(|(x, y)| (*x as i64 - *y as i64).abs()).max();
            tally.max_step = tally.max_step.max(step.unwrap_or(0));
        }
        let want = interp::run(&split, x).map_err(|e| format!("split interp: {e}"))?;
        for (k, (w, got)) in want.iter().zip(&cloud_jit[i]).enumerate() {
            if let Err(e) = compare(w, got, 1e-3, 1e-5) {
                tally.output_errors.push(format!("input {i}, output {k}: {e}"));
            }
        }
        if let Some(c) = &parts.cloud {
            // The cloud alone, on the interpreter's own payloads: codegen vs interpreter.
            let alone = run_jit_many(c, std::slice::from_ref(&edge_ref))
                .map_err(|e| format!("cloud JIT: {e}"))?;
            for (k, (w, got)) in want.iter().zip(&alone[0]).enumerate() {
                compare(w, got, 1e-3, 1e-5)
                    .map_err(|e| format!("cloud on the interpreter's codes, output {k}: {e}"))?;
            }
        }
        let float = interp::run(g, x).map_err(|e| format!("float interp: {e}"))?;
        tally.runs += 1;
        tally.top1_same += usize::from(argmax(&float[0]) == argmax(&cloud_jit[i][0]));
    }
    Ok(format!(
        "{} ({} of {} layers on the edge, {} slots, {} B)",
        chosen.kind.name(),
        chosen.edge_layers.len(),
        planned.layers.layers.len(),
        parts.slots.len(),
        chosen.transmit_bytes
    ))
}

fn argmax(t: &Tensor) -> usize {
    let v = t.data().to_f64_vec();
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

#[test]
fn compiled_split_programs_match_the_interpreter() {
    let mut failures = Vec::new();
    for m in models() {
        if !m.path.exists() {
            failures.push(format!("{}: model {} missing", m.name, m.path.display()));
            continue;
        }
        let mut g = load_model(&m.path, &[]).expect("model imports");
        run_passes(&mut g, &PassRequest::new(asplit_passes::DEFAULT_PIPELINE)).expect("pipeline");
        let layers = asplit_passes::plan::layers::LayerGraph::build(&g).expect("layers");
        let mid = (layers.layers.len() / 2).max(1).to_string();
        let plans: Vec<Vec<String>> = vec![
            vec!["--bandwidth".into(), "3Mbps".into()],
            vec!["--split".into(), mid.clone(), "--bits".into(), "4".into()],
            vec!["--split".into(), mid, "--bits".into(), "8".into()],
        ];
        for args in plans {
            let mut t = Tally::default();
            match check_plan(&m, &g, &args, &mut t) {
                Ok(what) => {
                    eprintln!(
                        "{} {}: {what}: codes {}/{} equal ({:.4}%), max step {}, top-1 same as float {}/{}",
                        m.name,
                        args.join(" "),
                        t.equal,
                        t.codes,
                        100.0 * t.equal as f64 / t.codes.max(1) as f64,
                        t.max_step,
                        t.top1_same,
                        t.runs
                    );
                    for e in &t.output_errors {
                        failures.push(format!("{} {}: {e}", m.name, args.join(" ")));
                    }
                    if t.codes > 0 && (t.equal as f64) < 0.999 * t.codes as f64 || t.max_step > 1 {
                        failures.push(format!(
                            "{} {}: {} of {} codes differ (max step {})",
                            m.name,
                            args.join(" "),
                            t.codes - t.equal,
                            t.codes,
                            t.max_step
                        ));
                    }
                }
                Err(e) => {
                    eprintln!("{} {}: FAILED: {e}", m.name, args.join(" "));
                    failures.push(format!("{} {}: {e}", m.name, args.join(" ")));
                }
            }
        }
    }
    assert!(failures.is_empty(), "split fidelity failures:\n{}", failures.join("\n"));
}
