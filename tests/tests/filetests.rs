//! Filetests: `.air` in, `.air` out, for every pass.
//!
//! Each `tests/filetests/<pass>/<case>.air` starts with `; RUN: <pipeline>` and a one-line
//! intent comment. The runner parses the file, runs the pipeline with verification after
//! every pass, and snapshots (insta, one snapshot per file, beside the cases in
//! `snapshots/`) the pipeline, the pass statistics, a unified before/after diff and the
//! output. It also checks that the output reparses to the same text, and — when every
//! constant has contents — interprets the graph before and after on seeded-random inputs
//! and requires the outputs to agree (rtol 1e-4, atol 1e-6; integer and bool outputs
//! exactly). Bless changed snapshots with `INSTA_UPDATE=always` or `cargo insta review`.
//!
//! Lowering a Planned graph (`insert-boundary`) changes the numbers by design: there the
//! reference is not the float graph but the Planned graph evaluated with the planned
//! quantization applied by `asplit_ir::quant` itself ([`planned_reference`]: every
//! quantized value replaced by its fake-quantized self wherever the plan says it is read
//! quantized), so the allowed difference from the float graph is exactly the quantization
//! error of the plan's steps, and the lowered graph must match that reference with the same
//! rtol/atol as every other pass. The snapshot also records the largest deviation from the
//! float graph next to the largest half-step `scale / 2` of the plan.

use asplit_ir::graph::{Graph, Phase, Placement, ValueId};
use asplit_ir::interp;
use asplit_ir::ops::OpKind;
use asplit_ir::print::{print, PrintOptions};
use asplit_ir::tensor::{seeded_uniform, Tensor};
use asplit_passes::{parse_pipeline, ManagerOptions, PassManager};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-6;
/// Random input sets per case.
const SEEDS: [u64; 2] = [1, 2];

#[test]
fn filetests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("filetests");
    let cases = collect(&root);
    assert!(!cases.is_empty(), "no filetests under {}", root.display());
    let mut failures = Vec::new();
    for case in &cases {
        let result = std::panic::catch_unwind(|| check_case(case));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(message)) => failures.push(format!("{}: {message}", case.display())),
            Err(_) => {
                failures.push(format!("{}: snapshot mismatch or panic (see above)", case.display()))
            }
        }
    }
    eprintln!("filetests: {} cases, {} failed", cases.len(), failures.len());
    assert!(failures.is_empty(), "failing filetests:\n{}", failures.join("\n"));
}

/// Every `.air` file under `root`, sorted.
fn collect(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "air") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn check_case(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let pipeline_text = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("; RUN:"))
        .map(str::trim)
        .ok_or("the first line must be `; RUN: <pipeline>`")?;
    let pipeline = parse_pipeline(pipeline_text).map_err(|e| e.to_string())?;
    let before = asplit_ir::parse::parse_named(&path.display().to_string(), &text)
        .map_err(|e| e.to_string())?;
    asplit_ir::verify::verify(&before).map_err(|v| format!("input does not verify: {v:?}"))?;
    let opts = ManagerOptions { verify_each: true, ..ManagerOptions::default() };
    let manager = PassManager::new(&pipeline, opts).map_err(|e| e.to_string())?;
    let mut after = before.clone();
    let report = manager.run(&mut after, &mut std::io::sink()).map_err(|e| e.to_string())?;

    let p = PrintOptions::default();
    let (before_text, after_text) = (print(&before, &p), print(&after, &p));
    let reparsed = asplit_ir::parse::parse(&after_text).map_err(|e| format!("output: {e}"))?;
    if print(&reparsed, &p) != after_text {
        return Err("the output does not round-trip through the parser".into());
    }
    let differential = differential(&before, &after)?;

    let mut snap = format!("; RUN: {pipeline}\n");
    for rec in &report.passes {
        let stats: Vec<String> = rec.stats.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let changed = if rec.changed.changed() { "changed" } else { "unchanged" };
        snap.push_str(&format!("; {} ({changed}): {}\n", rec.info.name, stats.join(", ")));
    }
    snap.push_str(&format!("; interpreter: {differential}\n\n"));
    if before_text == after_text {
        snap.push_str("(no change)\n");
    } else {
        let diff = similar::TextDiff::from_lines(&before_text, &after_text);
        snap.push_str(&diff.unified_diff().context_radius(2).header("before", "after").to_string());
    }
    snap.push_str("\n=== output\n");
    snap.push_str(&after_text);

    let dir = path.parent().ok_or("no parent directory")?;
    let name = path.file_stem().and_then(|s| s.to_str()).ok_or("bad file name")?;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name.to_string(), snap));
    Ok(())
}

/// Interprets `before` and `after` on seeded-random inputs and compares; returns a line for
/// the snapshot. Skipped (and said so) when a constant's contents were elided.
fn differential(before: &Graph, after: &Graph) -> Result<String, String> {
    if has_elided_constants(before) {
        return Ok("skipped (elided constants)".into());
    }
    let lowered = before.phase == Phase::Planned && after.phase == Phase::Split;
    let mut float_dev = 0.0f64;
    for seed in SEEDS {
        let inputs = random_inputs(before, seed)?;
        let float = interp::run(before, &inputs).map_err(|e| format!("before: {e}"))?;
        let got = interp::run(after, &inputs).map_err(|e| format!("after: {e}"))?;
        let want = if lowered { planned_reference(before, &inputs)? } else { float.clone() };
        compare(&want, &got).map_err(|e| format!("seed {seed}: {e}"))?;
        float_dev = float_dev.max(max_deviation(&float, &got));
    }
    if lowered {
        let half_step =
            before.quant.values().flat_map(|p| p.scale.iter()).fold(0.0f32, |m, &s| m.max(s / 2.0));
        return Ok(format!(
            "outputs equal the planned quantization's on {} seeded inputs; max |float − split| = \
             {float_dev:.4} (largest half-step {half_step:.4})",
            SEEDS.len()
        ));
    }
    Ok(format!("outputs agree on {} seeded inputs", SEEDS.len()))
}

fn max_deviation(a: &[Tensor], b: &[Tensor]) -> f64 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.data().to_f64_vec().into_iter().zip(y.data().to_f64_vec()))
        .fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// The Planned graph `g` run with its quantization applied in place: a quantized constant
/// is read fake-quantized by edge nodes (the cloud keeps the float weight); a quantized
/// node result is read fake-quantized by everyone; a quantized graph input only by the
/// cloud (the annotation says how it is sent); graph outputs are fake-quantized when the
/// cloud returns them (it runs something), raw when the edge does (edge-only).
fn planned_reference(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, String> {
    let mut env: HashMap<ValueId, Tensor> =
        g.inputs.iter().copied().zip(inputs.iter().cloned()).collect();
    let cloud_runs = g
        .live_nodes()
        .any(|(n, d)| d.op != OpKind::Const && g.placement.get(&n) == Some(&Placement::Cloud));
    let view =
        |env: &HashMap<ValueId, Tensor>, v: ValueId, at: Placement| -> Result<Tensor, String> {
            let t = env.get(&v).ok_or(format!("{v} is read before it is computed"))?;
            let is_const = g.const_value(v).is_some();
            let quantized_here = match g.producer(v) {
                None => at == Placement::Cloud,
                Some(_) if is_const => at == Placement::Edge,
                Some(_) => true,
            };
            match g.quant.get(&v).filter(|_| quantized_here) {
                Some(p) => {
                    let x = t.as_f32().ok_or(format!("{v} is quantized but not f32"))?;
                    Tensor::from_f32(t.shape().to_vec(), p.fake_quantize(x, t.shape()))
                        .map_err(|e| e.to_string())
                }
                None => Ok(t.clone()),
            }
        };
    for (n, node) in g.live_nodes() {
        let at = *g.placement.get(&n).ok_or(format!("node {n} has no placement"))?;
        let args = node.inputs.iter().map(|&v| view(&env, v, at)).collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&Tensor> = args.iter().collect();
        let tys: Vec<_> = node.outputs.iter().map(|&v| g.ty(v).clone()).collect();
        let results = interp::eval_node(node.op, &node.attrs, &refs, &tys)
            .map_err(|e| format!("reference: {e}"))?;
        env.extend(node.outputs.iter().copied().zip(results));
    }
    let at = if cloud_runs { Placement::Cloud } else { Placement::Edge };
    g.outputs
        .iter()
        .map(|&v| match g.producer(v) {
            Some(_) if !cloud_runs => env.get(&v).cloned().ok_or(format!("{v} never computed")),
            _ => view(&env, v, at),
        })
        .collect()
}

fn has_elided_constants(g: &Graph) -> bool {
    g.live_nodes().any(|(_, n)| {
        n.attrs.iter().any(|(_, a)| matches!(a, asplit_ir::attr::Attr::Elided { .. }))
    })
}

fn random_inputs(g: &Graph, seed: u64) -> Result<Vec<Tensor>, String> {
    g.inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ty = g.ty(v);
            let vals = seeded_uniform(seed * 1000 + i as u64, ty.numel(), -2.0, 2.0);
            let t = Tensor::from_f32(ty.shape.clone(), vals).map_err(|e| e.to_string())?;
            Ok(t.cast(ty.dtype))
        })
        .collect()
}

fn compare(want: &[Tensor], got: &[Tensor]) -> Result<(), String> {
    if want.len() != got.len() {
        return Err(format!("{} outputs before, {} after", want.len(), got.len()));
    }
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        if w.ty() != g.ty() {
            return Err(format!("output {i}: {} before, {} after", w.ty(), g.ty()));
        }
        let exact = !w.dtype().is_any_float();
        for (j, (a, b)) in w.data().to_f64_vec().iter().zip(g.data().to_f64_vec()).enumerate() {
            let same = a == &b || (a.is_nan() && b.is_nan());
            if !same && (exact || (a - b).abs() > ATOL + RTOL * a.abs()) {
                return Err(format!("output {i}[{j}]: {a} before, {b} after"));
            }
        }
    }
    Ok(())
}
