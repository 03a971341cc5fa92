//! MobileNetV2 and a BERT-base encoder block (generated from seeds by
//! `examples/models/make_models.py`): the reference interpreter agrees with ONNX Runtime,
//! and the default pass pipeline keeps the outputs (rtol 1e-4 with an absolute floor of
//! 1e-4 × the output's largest magnitude), removes every batch_norm
//! and identity, and fuses every activation that follows a compute op (in the BERT block,
//! the exporter's erf spelling of gelu too: no `erf` is left). Node and layer
//! counts are printed (`--nocapture`).

use asplit_ir::ops::OpKind;
use asplit_ir::Tensor;
use asplit_passes::{parse_pipeline, ManagerOptions, PassManager, DEFAULT_PIPELINE};
use asplit_tests::compare;
use asplit_tests::models::{
    count_ops, generated_models, layer_count, numbered_npy, unfused_activations,
};
use asplitc::onnx::{import_file, ImportOptions};
use asplitc::tensor_io::read_tensor;

/// Checks `name` (see the module doc); returns its graph after the default pipeline.
fn check_model(name: &str) -> asplit_ir::graph::Graph {
    let dir = generated_models().expect("models can be generated (python3 with onnx, onnxruntime)");
    let read = |p: &std::path::PathBuf| read_tensor(p).expect("readable tensor");
    let inputs: Vec<Tensor> = numbered_npy(&dir, name, "input").iter().map(read).collect();
    let expected: Vec<Tensor> = numbered_npy(&dir, name, "expected").iter().map(read).collect();
    assert!(!expected.is_empty(), "{name}: ONNX Runtime's outputs are missing");

    let mut g =
        import_file(&dir.join(format!("{name}.onnx")), &ImportOptions::default()).expect("imports");
    let before = asplit_ir::interp::run(&g, &inputs).expect("interprets");
    for (i, (ours, ort)) in before.iter().zip(&expected).enumerate() {
        compare(ort, ours, 1e-3, 1e-4)
            .unwrap_or_else(|e| panic!("{name} output {i} vs ONNX Runtime: {e}"));
    }

    let (nodes0, layers0) = (g.order.len(), layer_count(&g));
    let pipeline = parse_pipeline(DEFAULT_PIPELINE).expect("default pipeline parses");
    let opts = ManagerOptions { verify_each: true, ..ManagerOptions::default() };
    PassManager::new(&pipeline, opts)
        .expect("passes build")
        .run(&mut g, &mut std::io::sink())
        .expect("pipeline runs");
    let after = asplit_ir::interp::run(&g, &inputs).expect("interprets after the pipeline");
    for (i, (a, b)) in after.iter().zip(&before).enumerate() {
        // rtol 1e-4, with an absolute floor of 1e-4 × the output's largest magnitude: folding
        // batch norms reorders f32 arithmetic, so logits near zero move by a few ulps of the
        // large ones (MobileNetV2: at most 5.3e-5 on logits of ±10; the unfused interpreter
        // and ONNX Runtime differ by as much).
        let scale = b.data().to_f64_vec().iter().fold(0.0f64, |m, x| m.max(x.abs()));
        compare(b, a, 1e-4, 1e-4 * scale)
            .unwrap_or_else(|e| panic!("{name} output {i} changed by the pipeline: {e}"));
    }
    eprintln!(
        "{name}: nodes {nodes0} -> {}, layers {layers0} -> {}",
        g.order.len(),
        layer_count(&g)
    );
    assert_eq!(
        count_ops(&g, &[OpKind::BatchNorm, OpKind::Identity]),
        0,
        "{name}: batch_norm or identity left"
    );
    let unfused = unfused_activations(&g);
    assert!(unfused.is_empty(), "{name}: unfused activations: {unfused:?}");
    g
}

#[test]
fn mobilenetv2() {
    let _ = check_model("mobilenetv2");
}

#[test]
fn bert_block() {
    // The exporter spells gelu with erf; `fuse` recognises it and fuses it into the matmul.
    let g = check_model("bert_block");
    assert_eq!(count_ops(&g, &[OpKind::Erf]), 0, "bert_block: an erf is left");
}
