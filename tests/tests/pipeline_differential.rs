//! Differential test of the default pipeline: every conformance model (ONNX backend test
//! data, all suites) is imported, interpreted, optimized with
//! [`asplit_passes::DEFAULT_PIPELINE`] (verifying after every pass), interpreted again on the
//! same inputs, and the outputs must agree within rtol 1e-4 (atol 1e-5, the conformance
//! atol; integer outputs exactly). Prints node counts before/after per light model.
//!
//! Cases the conformance test skips (ops outside the supported list, non-tensor values),
//! models with inputs bound at import, and models the interpreter cannot run before the
//! pipeline are not compared here (the conformance test covers them); they are counted.
//! `ASPLIT_CONFORMANCE_SUITES=light,simple` runs a subset.

use asplit_ir::Graph;
use asplit_passes::{parse_pipeline, ManagerOptions, PassManager, DEFAULT_PIPELINE};
use asplit_tests::compare;
use asplit_tests::conformance::{
    load_inputs, model_ops, par_map, selected_cases, skip_reason, Case, Suite,
};
use asplitc::onnx::{import_file, ImportOptions};

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-5;

enum Outcome {
    Same { nodes_before: usize, nodes_after: usize },
    NotCompared,
    Differs(String),
}

#[test]
fn default_pipeline_keeps_interpreter_outputs() {
    let (cases, _) = selected_cases().expect("test data is present");
    let outcomes = par_map(&cases, 2, |case| {
        std::panic::catch_unwind(|| check(case))
            .unwrap_or_else(|_| Outcome::Differs("panicked".into()))
    });
    let (mut same, mut skipped, mut differ) = (0, 0, Vec::new());
    for (case, outcome) in cases.iter().zip(&outcomes) {
        match outcome {
            Outcome::Same { nodes_before, nodes_after } => {
                same += 1;
                if case.suite == Suite::Light {
                    eprintln!("{}: {nodes_before} → {nodes_after} nodes", case.key());
                }
            }
            Outcome::NotCompared => skipped += 1,
            Outcome::Differs(why) => differ.push(format!("{}: {why}", case.key())),
        }
    }
    eprintln!(
        "default pipeline `{DEFAULT_PIPELINE}`: {same} models agree, {} differ, {skipped} not compared",
        differ.len()
    );
    assert!(same > 0, "no model was compared");
    assert!(differ.is_empty(), "the default pipeline changed outputs:\n{}", differ.join("\n"));
}

fn check(case: &Case) -> Outcome {
    if skip_reason(case, &model_ops(&case.model)).is_some() {
        return Outcome::NotCompared;
    }
    let Ok(g) = import_file(&case.model, &ImportOptions::default()) else {
        return Outcome::NotCompared;
    };
    let Some(set) = case.sets.first() else { return Outcome::NotCompared };
    let Ok(inputs) = load_inputs(&g, set) else { return Outcome::NotCompared };
    let Ok(want) = asplit_ir::interp::run(&g, &inputs) else { return Outcome::NotCompared };
    let nodes_before = g.order.len();
    let mut after = g.clone();
    if let Err(e) = optimize(&mut after) {
        return Outcome::Differs(e);
    }
    let got = match asplit_ir::interp::run(&after, &inputs) {
        Ok(o) => o,
        Err(e) => return Outcome::Differs(format!("after the pipeline: {e}")),
    };
    if want.len() != got.len() {
        return Outcome::Differs(format!("{} outputs before, {} after", want.len(), got.len()));
    }
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        if let Err(e) = compare(w, o, RTOL, ATOL) {
            return Outcome::Differs(format!("output {i}: {e}"));
        }
    }
    Outcome::Same { nodes_before, nodes_after: after.order.len() }
}

fn optimize(g: &mut Graph) -> Result<(), String> {
    let pipeline = parse_pipeline(DEFAULT_PIPELINE).map_err(|e| e.to_string())?;
    let opts = ManagerOptions { verify_each: true, ..ManagerOptions::default() };
    let pm = PassManager::new(&pipeline, opts).map_err(|e| e.to_string())?;
    pm.run(g, &mut std::io::sink()).map(|_| ()).map_err(|e| e.to_string())
}
