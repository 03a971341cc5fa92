//! Differential test of `fold-batchnorm` and `fuse` on the 9 light models: the interpreter
//! output before and after `canonicalize,fold-constants,dce,fold-batchnorm,fuse` agrees
//! within rtol 1e-4, no batch_norm or identity is left, no fusible activation still
//! reads a conv/conv_transpose/gemm/matmul/affine result, and no chain of elementwise ops by
//! constants is left (DenseNet's BN-after-concat + Scale + relu is one `affine`). Node and
//! layer counts are printed (`--nocapture`).
//! It does not check speed.

use asplit_ir::ops::OpKind;
use asplit_ir::{Graph, Tensor};
use asplit_passes::{parse_pipeline, ManagerOptions, PassManager};
use asplit_tests::conformance::arange_input;
use asplit_tests::models::{layer_count as layers, unfused_activations as unfused, unfused_chains};
use asplit_tests::{compare, onnx_data_dir};
use asplitc::onnx::{import_file, ImportOptions};

const PIPELINE: &str = "canonicalize,fold-constants,dce,fold-batchnorm,fuse";

/// Live nodes other than `const`.
fn ops(g: &Graph) -> usize {
    g.live_nodes().filter(|(_, n)| n.op != OpKind::Const).count()
}

#[test]
fn light_models_keep_their_outputs_after_fusion() {
    let dir = onnx_data_dir().expect("ONNX test data").join("light");
    let mut models: Vec<_> = std::fs::read_dir(&dir)
        .expect("light models are installed")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    models.sort();
    assert_eq!(models.len(), 9, "the 9 light models");
    let pipeline = parse_pipeline(PIPELINE).expect("pipeline parses");
    let opts = ManagerOptions { verify_each: true, ..ManagerOptions::default() };
    let pm = PassManager::new(&pipeline, opts).expect("passes build");
    let mut failures = Vec::new();
    for path in &models {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let mut g = import_file(path, &ImportOptions::default()).expect("imports");
        let inputs: Vec<Tensor> = g.inputs.iter().map(|&v| arange_input(g.ty(v))).collect();
        let before = asplit_ir::interp::run(&g, &inputs).expect("runs before");
        let (n0, o0, l0) = (g.order.len(), ops(&g), layers(&g));
        let report = pm.run(&mut g, &mut std::io::sink()).expect("pipeline runs");
        let after = asplit_ir::interp::run(&g, &inputs).expect("runs after");
        let fuse_stats = report.passes.last().map(|r| r.stats.clone()).unwrap_or_default();
        eprintln!(
            "{name}: nodes {n0} -> {}, non-const {o0} -> {}, layers {l0} -> {}, fuse stop reason {}",
            g.order.len(),
            ops(&g),
            layers(&g),
            fuse_stats.get("stop-reason").map(|s| s.to_string()).unwrap_or_default()
        );
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            if let Err(e) = compare(b, a, 1e-4, 0.0) {
                failures.push(format!("{name}: output {i}: {e}"));
            }
        }
        let left: Vec<_> = g
            .live_nodes()
            .filter(|(_, n)| matches!(n.op, OpKind::BatchNorm | OpKind::Identity))
            .map(|(_, n)| n.op.to_string())
            .collect();
        if !left.is_empty() {
            failures.push(format!("{name}: left {left:?}"));
        }
        let act = unfused(&g);
        if !act.is_empty() {
            failures.push(format!("{name}: unfused {act:?}"));
        }
        let chains = unfused_chains(&g);
        if !chains.is_empty() {
            failures.push(format!("{name}: elementwise chains left {chains:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
