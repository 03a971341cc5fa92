//! Generated reference models (MobileNetV2, a BERT-base encoder block) and graph facts the
//! pass tests check (layers, unfused activations).
//!
//! The models come from `examples/models/make_models.py` (seeded weights, ONNX Runtime's
//! outputs saved beside them), written once into `target/models` and reused while the
//! script is unchanged. Nothing here judges pass or fail.

use crate::{python, workspace_root};
use asplit_ir::ops::OpKind;
use asplit_ir::Graph;
use std::path::PathBuf;
use std::process::Command;

/// Directory holding `NAME.onnx`, `NAME_input_<i>.npy`, `NAME_expected_<i>.npy`.
pub fn generated_models() -> Result<PathBuf, String> {
    let script = workspace_root().join("examples/models/make_models.py");
    let dir = workspace_root().join("target/models");
    let text = std::fs::read(&script).map_err(|e| format!("{}: {e}", script.display()))?;
    let stamp = format!("{:016x}\n", fnv(&text));
    if std::fs::read_to_string(dir.join("STAMP")).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(dir);
    }
    let status = Command::new(python())
        .arg(&script)
        .arg(&dir)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", script.display()));
    }
    std::fs::write(dir.join("STAMP"), stamp).map_err(|e| e.to_string())?;
    Ok(dir)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// `NAME_<kind>_<i>.npy` files in order (`kind` is `input` or `expected`).
pub fn numbered_npy(dir: &std::path::Path, name: &str, kind: &str) -> Vec<PathBuf> {
    (0..).map(|i| dir.join(format!("{name}_{kind}_{i}.npy"))).take_while(|p| p.is_file()).collect()
}

/// Conv, gemm and matmul: the compute ops that head a layer.
pub fn is_compute(op: OpKind) -> bool {
    matches!(op, OpKind::Conv | OpKind::ConvTranspose | OpKind::Gemm | OpKind::MatMul)
}

/// Activations the fuse pass folds into a preceding compute op.
pub fn is_fusible_activation(op: OpKind) -> bool {
    matches!(
        op,
        OpKind::Relu
            | OpKind::LeakyRelu
            | OpKind::Clip
            | OpKind::Sigmoid
            | OpKind::HardSwish
            | OpKind::Gelu
    )
}

/// Number of layers: live compute ops (each with its fused epilogue).
pub fn layer_count(g: &Graph) -> usize {
    g.live_nodes().filter(|(_, n)| is_compute(n.op)).count()
}

/// Fusible activations that still read the result of a compute op or of an `affine` (the
/// fused elementwise op, which takes an activation too but is not a layer of its own):
/// `relu after conv`.
pub fn unfused_activations(g: &Graph) -> Vec<String> {
    g.live_nodes()
        .filter(|(_, n)| is_fusible_activation(n.op))
        .filter_map(|(_, n)| {
            let p = g.producer(*n.inputs.first()?)?;
            let op = g.nodes[p].op;
            (is_compute(op) || op == OpKind::Affine).then(|| format!("{} after {op}", n.op))
        })
        .collect()
}

/// Elementwise chains by constants that `fuse` should have collapsed into one `affine`: a
/// `mul`/`add` with a constant operand reading the single-use result of another such
/// `mul`/`add` or of an `affine` without activation (`add after mul`).
pub fn unfused_chains(g: &Graph) -> Vec<String> {
    let mut uses = std::collections::HashMap::new();
    for (_, n) in g.live_nodes() {
        for &v in &n.inputs {
            *uses.entry(v).or_insert(0usize) += 1;
        }
    }
    let by_const = |n: &asplit_ir::graph::NodeData| {
        matches!(n.op, OpKind::Mul | OpKind::Add)
            && n.inputs.iter().any(|&v| g.const_value(v).is_some())
    };
    g.live_nodes()
        .filter(|(_, n)| by_const(n))
        .filter_map(|(_, n)| {
            let x = *n.inputs.iter().find(|&&v| g.const_value(v).is_none())?;
            let p = &g.nodes[g.producer(x)?];
            let plain_affine =
                p.op == OpKind::Affine && p.attrs.str("activation").is_ok_and(|a| a == "none");
            let chained = (by_const(p) || plain_affine) && uses.get(&x) == Some(&1);
            (chained && !g.outputs.contains(&x)).then(|| format!("{} after {}", n.op, p.op))
        })
        .collect()
}

/// Live nodes of these ops.
pub fn count_ops(g: &Graph, ops: &[OpKind]) -> usize {
    g.live_nodes().filter(|(_, n)| ops.contains(&n.op)).count()
}
