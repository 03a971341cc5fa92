//! The per-layer latency model: a roofline over a [`DeviceProfile`].
//!
//! For one fused layer at a weight precision and an activation precision:
//! - compute time = MACs / (peak(p) × efficiency(kind)), where p is the wider of the two
//!   precisions and kind is conv, depthwise (a conv whose group equals its input channels)
//!   or gemm (gemm and matmul);
//! - memory time = (weights at the weight precision + bias at 32 bits + the head's
//!   activation inputs and outputs at the activation precision) / bandwidth, plus the
//!   element traffic of the ops merged into the layer at the activation precision /
//!   (bandwidth × efficiency.elementwise);
//! - layer time = max(compute, memory) + the profile's per-layer overhead, unless the profile
//!   lists a measured time for the layer's name, which is then the layer time.
//!
//! This file prices single layers only; summing partitions, transmission and the objective
//! belong to the split search.

use super::layers::Layer;
use super::profile::{DeviceProfile, Precision};
use asplit_ir::graph::{Graph, NodeId};
use asplit_ir::ops::OpKind;

/// Which efficiency a layer's MACs run at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// Dense or grouped conv / conv_transpose.
    Conv,
    /// A conv whose group equals its input channels (and is above 1).
    Depthwise,
    /// Gemm or matmul.
    Gemm,
    /// No compute head: only memory-bound ops.
    Elementwise,
}

/// What bounds a layer's predicted time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Bound {
    /// MACs dominate.
    Compute,
    /// Bytes moved dominate.
    Memory,
    /// The profile's measured time was used.
    Measured,
}

/// The parts of one layer's predicted time, in seconds.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct LayerCost {
    /// MACs / (peak × efficiency).
    pub compute_s: f64,
    /// Bytes moved / bandwidth.
    pub memory_s: f64,
    /// The layer time: max(compute, memory) + overhead, or the measured time.
    pub total_s: f64,
    /// Which term decided `total_s`.
    pub bound: Bound,
    /// The kind whose efficiency the MACs ran at.
    pub kind: LayerKind,
}

/// Predicted seconds for `layer` on device `p` with weights at `weights` and activations at
/// `acts`.
pub fn layer_seconds(
    p: &DeviceProfile,
    g: &Graph,
    layer: &Layer,
    weights: Precision,
    acts: Precision,
) -> f64 {
    layer_cost(p, g, layer, weights, acts).total_s
}

/// [`layer_seconds`] with its compute and memory terms.
pub fn layer_cost(
    p: &DeviceProfile,
    g: &Graph,
    layer: &Layer,
    weights: Precision,
    acts: Precision,
) -> LayerCost {
    let kind = layer_kind(g, layer);
    let compute_s = compute_seconds(p, layer, kind, weights.wider(acts));
    let memory_s = memory_seconds(p, g, layer, weights, acts);
    if let Some(&measured) = p.measured_s.get(&layer.name) {
        return LayerCost { compute_s, memory_s, total_s: measured, bound: Bound::Measured, kind };
    }
    let bound = if compute_s >= memory_s { Bound::Compute } else { Bound::Memory };
    let total_s = compute_s.max(memory_s) + p.layer_overhead_s;
    LayerCost { compute_s, memory_s, total_s, bound, kind }
}

/// The kind of the layer's head op.
pub fn layer_kind(g: &Graph, layer: &Layer) -> LayerKind {
    let Some(h) = layer.head else { return LayerKind::Elementwise };
    match g.nodes[h].op {
        OpKind::Conv | OpKind::ConvTranspose if is_depthwise(g, h) => LayerKind::Depthwise,
        OpKind::Conv | OpKind::ConvTranspose => LayerKind::Conv,
        OpKind::Gemm | OpKind::MatMul => LayerKind::Gemm,
        _ => LayerKind::Elementwise,
    }
}

/// A conv with group > 1 equal to its input's channel count (dimension 1 of NC[spatial]).
fn is_depthwise(g: &Graph, h: NodeId) -> bool {
    let node = &g.nodes[h];
    let group = node.attrs.int("group").unwrap_or(1);
    let channels = node.inputs.first().and_then(|&x| g.ty(x).shape.get(1).copied());
    group > 1 && channels.is_some_and(|c| i64::try_from(c).is_ok_and(|c| c == group))
}

fn compute_seconds(p: &DeviceProfile, layer: &Layer, kind: LayerKind, prec: Precision) -> f64 {
    let eff = match kind {
        LayerKind::Conv => p.efficiency.conv,
        LayerKind::Depthwise => p.efficiency.depthwise,
        LayerKind::Gemm => p.efficiency.gemm,
        LayerKind::Elementwise => return 0.0,
    };
    layer.macs as f64 / (p.peak_macs_per_s.effective(prec) * eff)
}

fn memory_seconds(
    p: &DeviceProfile,
    g: &Graph,
    layer: &Layer,
    weights: Precision,
    acts: Precision,
) -> f64 {
    let bytes = |elems: u64, prec: Precision| elems as f64 * f64::from(prec.bits()) / 8.0;
    let head_bytes = match layer.head {
        Some(h) => {
            bytes(layer.weight_elems, weights)
                + layer.bias_elems as f64 * 4.0
                + bytes(head_activation_elems(g, h), acts)
        }
        None => 0.0,
    };
    let elementwise_bytes = bytes(layer.elementwise_elems, acts);
    head_bytes / p.memory_bytes_per_s
        + elementwise_bytes / (p.memory_bytes_per_s * p.efficiency.elementwise)
}

/// Elements of the head's non-constant operands (its activation inputs, a skip included)
/// and of its outputs.
fn head_activation_elems(g: &Graph, h: NodeId) -> u64 {
    let node = &g.nodes[h];
    let inputs: usize =
        node.inputs.iter().filter(|&&v| g.const_value(v).is_none()).map(|&v| g.ty(v).numel()).sum();
    let outputs: usize = node.outputs.iter().map(|&v| g.ty(v).numel()).sum();
    (inputs + outputs) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::layers::LayerGraph;
    use crate::plan::profile::{resolve_profile, Efficiency, PeakMacs};
    use asplit_ir::parse::parse;
    use std::collections::BTreeMap;

    /// A device with round numbers: f32 1e9 MAC/s, int8 4e9, 1e9 B/s, 1 µs per layer.
    fn device() -> DeviceProfile {
        DeviceProfile {
            name: "test".into(),
            description: String::new(),
            memory_bytes_per_s: 1e9,
            layer_overhead_s: 1e-6,
            peak_macs_per_s: PeakMacs {
                f32: 1e9,
                f16: None,
                int8: Some(4e9),
                int4: None,
                int2: None,
            },
            efficiency: Efficiency { conv: 0.5, depthwise: 0.1, gemm: 0.25, elementwise: 0.5 },
            measured_s: BTreeMap::new(),
        }
    }

    fn build(src: &str) -> (Graph, LayerGraph) {
        let g = parse(src).unwrap();
        let l = LayerGraph::build(&g).unwrap();
        (g, l)
    }

    /// A 256×1024 by 1024×1024 matmul: 2^28 MACs on 2^20 weights.
    const BIG_MATMUL: &str = r#"
graph @mm(%x: f32[256, 1024]) {
  %w = const {value = tensor<f32[1024, 1024]: random(seed = 1)>} : f32[1024, 1024]
  %y = matmul(%x, %w) : f32[256, 1024]
  return %y
}
"#;

    /// A matrix-vector product: 2^22 MACs on 2^22 weights.
    const GEMV: &str = r#"
graph @mv(%x: f32[1, 2048]) {
  %w = const {value = tensor<f32[2048, 2048]: random(seed = 1)>} : f32[2048, 2048]
  %y = matmul(%x, %w) : f32[1, 2048]
  %r = relu(%y) : f32[1, 2048]
  return %r
}
"#;

    const CONVS: &str = r#"
graph @convs(%x: f32[1, 8, 16, 16]) {
  %wd = const {value = tensor<f32[8, 1, 3, 3]: random(seed = 1)>} : f32[8, 1, 3, 3]
  %wg = const {value = tensor<f32[8, 4, 3, 3]: random(seed = 2)>} : f32[8, 4, 3, 3]
  %d = conv(%x, %wd) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], group = 8} : f32[1, 8, 16, 16]
  %c = conv(%d, %wg) {strides = [1, 1], dilations = [1, 1], pads = [1, 1, 1, 1], group = 2} : f32[1, 8, 16, 16]
  return %c
}
"#;

    #[test]
    fn a_large_matmul_is_compute_bound() {
        let (g, l) = build(BIG_MATMUL);
        let p = device();
        let c = layer_cost(&p, &g, &l.layers[0], Precision::F32, Precision::F32);
        assert_eq!(c.kind, LayerKind::Gemm);
        assert_eq!(c.bound, Bound::Compute);
        let macs = 256.0 * 1024.0 * 1024.0;
        assert_eq!(c.compute_s, macs / (1e9 * 0.25));
        // 2^20 weights + 2^18 inputs + 2^18 outputs, 4 bytes each.
        let bytes = 4.0 * (1048576.0 + 262144.0 + 262144.0);
        assert_eq!(c.memory_s, bytes / 1e9);
        assert_eq!(c.total_s, c.compute_s + 1e-6);
        // At int8 both operands run on int8 units: 4× the f32 peak.
        let q = layer_cost(&p, &g, &l.layers[0], Precision::Int(8), Precision::Int(8));
        assert_eq!(q.compute_s, macs / (4e9 * 0.25));
        // An 8-bit weight with f32 activations multiplies at f32.
        let mixed = layer_cost(&p, &g, &l.layers[0], Precision::Int(8), Precision::F32);
        assert_eq!(mixed.compute_s, c.compute_s);
    }

    #[test]
    fn a_matrix_vector_product_is_memory_bound() {
        let (g, l) = build(GEMV);
        let mut p = device();
        p.peak_macs_per_s.f32 = 1e12;
        let c = layer_cost(&p, &g, &l.layers[0], Precision::F32, Precision::F32);
        assert_eq!(c.bound, Bound::Memory);
        // Head: 2^22 weights + 2048 in + 2048 out at 4 bytes; the merged relu reads and
        // writes 2048 elements each at 4 bytes, at half the bandwidth.
        let head = 4.0 * (4194304.0 + 2048.0 + 2048.0) / 1e9;
        let relu = 4.0 * 4096.0 / (1e9 * 0.5);
        assert!((c.memory_s - (head + relu)).abs() < 1e-15, "{c:?}");
        assert_eq!(c.total_s, c.memory_s + 1e-6);
        // Weights at 4 bits: the weight bytes drop eightfold.
        let q = layer_cost(&p, &g, &l.layers[0], Precision::Int(4), Precision::F32);
        let head4 = (4194304.0 * 0.5 + 4.0 * 4096.0) / 1e9;
        assert!((q.memory_s - (head4 + relu)).abs() < 1e-15, "{q:?}");
    }

    #[test]
    fn depthwise_efficiency_is_picked_for_group_equal_to_channels() {
        let (g, l) = build(CONVS);
        let mut p = device();
        p.memory_bytes_per_s = 1e15;
        let dw = layer_cost(&p, &g, &l.layers[0], Precision::F32, Precision::F32);
        assert_eq!(dw.kind, LayerKind::Depthwise);
        assert_eq!(l.layers[0].macs, 8 * 256 * 9);
        assert_eq!(dw.compute_s, (8.0 * 256.0 * 9.0) / (1e9 * 0.1));
        let grouped = layer_cost(&p, &g, &l.layers[1], Precision::F32, Precision::F32);
        assert_eq!(grouped.kind, LayerKind::Conv, "group 2 of 8 channels is not depthwise");
        assert_eq!(grouped.compute_s, (8.0 * 256.0 * 4.0 * 9.0) / (1e9 * 0.5));
    }

    #[test]
    fn measured_times_override_the_model() {
        let (g, l) = build(CONVS);
        let mut p = device();
        let name = l.layers[1].name.clone();
        p.measured_s.insert(name, 0.25);
        for prec in [Precision::F32, Precision::Int(2)] {
            let c = layer_cost(&p, &g, &l.layers[1], prec, prec);
            assert_eq!((c.total_s, c.bound), (0.25, Bound::Measured));
        }
        let other = layer_cost(&p, &g, &l.layers[0], Precision::F32, Precision::F32);
        assert_ne!(other.bound, Bound::Measured);
    }

    #[test]
    fn time_never_grows_as_bits_shrink() {
        let precisions = [
            Precision::F32,
            Precision::F16,
            Precision::Int(8),
            Precision::Int(7),
            Precision::Int(6),
            Precision::Int(5),
            Precision::Int(4),
            Precision::Int(3),
            Precision::Int(2),
        ];
        let mut profiles: Vec<DeviceProfile> = ["rpi4", "npu-edge", "server-cpu", "gpu-cloud"]
            .map(|n| resolve_profile(n).unwrap())
            .into();
        profiles.push(device());
        for src in [BIG_MATMUL, GEMV, CONVS] {
            let (g, l) = build(src);
            for p in &profiles {
                for layer in &l.layers {
                    let t = |w: Precision, a: Precision| layer_seconds(p, &g, layer, w, a);
                    for pair in precisions.windows(2) {
                        let (wide, narrow) = (pair[0], pair[1]);
                        for other in precisions {
                            assert!(t(narrow, other) <= t(wide, other), "{} w {narrow}", p.name);
                            assert!(t(other, narrow) <= t(other, wide), "{} a {narrow}", p.name);
                        }
                    }
                    assert!(
                        t(Precision::Int(2), Precision::Int(2)) < t(Precision::F32, Precision::F32)
                    );
                }
            }
        }
    }

    #[test]
    fn a_layer_without_compute_is_memory_only() {
        let (g, l) = build(
            r#"
graph @g(%x: f32[4, 1000]) {
  %w = const {value = tensor<f32[1000, 10]: random(seed = 1)>} : f32[1000, 10]
  %r = relu(%x) : f32[4, 1000]
  %y = matmul(%r, %w) : f32[4, 10]
  return %y
}
"#,
        );
        let p = device();
        let c = layer_cost(&p, &g, &l.layers[0], Precision::F32, Precision::Int(8));
        assert_eq!((c.kind, c.compute_s), (LayerKind::Elementwise, 0.0));
        // relu reads and writes 4000 elements, one byte each at int8, at half the bandwidth.
        assert_eq!(c.memory_s, 8000.0 / (1e9 * 0.5));
    }
}
