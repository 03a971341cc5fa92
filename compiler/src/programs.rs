//! The programs of a plan: the chosen solution's Split-phase IR cut into the edge and the
//! cloud graph (`asplit_passes::partition`), each compiled into its executable, OUT/edge and
//! OUT/cloud, with a description that lets them talk (DESIGN.md §10, docs/wire.md).
//!
//! Both programs carry one fingerprint, a hash of the whole Split IR and both targets, so an
//! edge and a cloud of different compilations refuse each other. The description's wire
//! tensors come from the partition's slots, the same list insert-boundary built, so the edge's
//! frames and the cloud's expectations cannot disagree. An edge-only plan writes OUT/edge
//! alone (and removes a stale OUT/cloud). This file neither plans nor generates kernels.

use crate::error::DriverError;
use crate::native::{compile_native, weight_bytes, NativeOptions, NativeReport};
use crate::plan_cmd::Planned;
use asplit_codegen::ProgramRole;
use asplit_ir::quant::{QuantParams, Scheme};
use asplit_ir::Graph;
use asplit_passes::insert_boundary::BoundarySlot;
use asplit_passes::partition::{partition, slot_name, Partitions};
use asplit_passes::plan::solution::Solution;
use asplit_runtime::meta::{fnv1a_128, BoundaryTensor, Encoding, QScheme, Role, TensorInfo};
use std::path::Path;

/// What to emit for each program.
#[derive(Clone, Debug)]
pub struct ProgramsRequest {
    /// Link the executables.
    pub emit_bin: bool,
    /// Write OUT/<program>.ll.
    pub emit_llvm: bool,
    /// Write OUT/<program>.o.
    pub emit_obj: bool,
}

/// What was built.
#[derive(Debug, Default)]
pub struct ProgramsReport {
    /// OUT/edge.
    pub edge: NativeReport,
    /// OUT/cloud, when the plan has a cloud part.
    pub cloud: Option<NativeReport>,
    /// Payload bytes of one request.
    pub boundary_bytes: u64,
}

/// The chosen solution, its Split IR and that IR's partitions.
#[derive(Debug)]
pub struct Chosen<'p> {
    /// The solution.
    pub solution: &'p Solution,
    /// Its Split-phase IR.
    pub split: Graph,
    /// The edge and cloud graphs cut from it.
    pub parts: Partitions,
}

/// The chosen solution's Split IR and partitions.
pub fn chosen_partitions<'p>(g: &Graph, planned: &'p Planned) -> Result<Chosen<'p>, DriverError> {
    let chosen =
        planned.plan.solutions.get(planned.plan.chosen).ok_or_else(|| DriverError::Plan {
            message: "the plan has no chosen solution".into(),
        })?;
    let split = crate::validate::split_graph(g, planned, chosen)?;
    let parts = partition(&split).map_err(|e| DriverError::Plan {
        message: format!("partitioning the chosen solution: {e}"),
    })?;
    Ok(Chosen { solution: chosen, split, parts })
}

/// Compiles the chosen solution of `planned` into OUT/edge (and OUT/cloud).
pub fn build_programs(
    g: &Graph,
    planned: &Planned,
    chosen: &Chosen<'_>,
    out: &Path,
    req: &ProgramsRequest,
) -> Result<ProgramsReport, DriverError> {
    let Chosen { solution: chosen, split, parts } = chosen;
    let fingerprint = fnv1a_128(split.to_string().as_bytes());
    let model_outputs = tensors(g, &g.outputs, "output");
    let boundary: Vec<BoundaryTensor> = parts.slots.iter().map(boundary_tensor).collect();
    let description = describe(planned, chosen);
    let edge_weight_bytes = weight_bytes(&parts.edge);
    let role = |role| ProgramRole {
        role,
        fingerprint,
        model_outputs: model_outputs.clone(),
        boundary: boundary.clone(),
        split: description.clone(),
        edge_weight_bytes,
    };
    let native = |name: &str, role| NativeOptions {
        name: name.into(),
        target: Default::default(),
        emit_bin: req.emit_bin,
        emit_llvm: req.emit_llvm,
        emit_obj: req.emit_obj,
        progress: true,
        program: Some(role),
    };
    let mut report = ProgramsReport {
        boundary_bytes: boundary.iter().map(|b| b.payload_bytes).sum(),
        ..Default::default()
    };
    report.edge = compile_native(&parts.edge, out, &native("edge", role(Role::Edge)))?;
    match &parts.cloud {
        Some(cloud) => {
            report.cloud = Some(compile_native(cloud, out, &native("cloud", role(Role::Cloud)))?)
        }
        None => remove_stale(&out.join("cloud"))?,
    }
    Ok(report)
}

/// Removes OUT/cloud left by an earlier compilation (it would refuse the new edge anyway).
fn remove_stale(path: &Path) -> Result<(), DriverError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DriverError::io("remove", path, e)),
    }
}

fn tensors(g: &Graph, values: &[asplit_ir::ValueId], kind: &str) -> Vec<TensorInfo> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| TensorInfo {
            name: g.values[v].name.clone().unwrap_or_else(|| format!("{kind}_{i}")),
            ty: g.ty(v).clone(),
        })
        .collect()
}

/// The wire description of one slot.
fn boundary_tensor(s: &BoundarySlot) -> BoundaryTensor {
    BoundaryTensor {
        name: slot_name(s.slot),
        shape: s.shape.clone(),
        encoding: match &s.quant {
            Some(p) => quant_encoding(p),
            None => Encoding::Raw(asplit_ir::DType::F32),
        },
        payload_bytes: s.payload_bytes as u64,
    }
}

fn quant_encoding(p: &QuantParams) -> Encoding {
    Encoding::Quant {
        bits: p.bits,
        scheme: match p.scheme {
            Scheme::Asymmetric => QScheme::Asym,
            Scheme::Symmetric => QScheme::Sym,
        },
        axis: p.axis,
        scales: p.scale.clone(),
        zero_points: p.zero_point.clone(),
    }
}

/// One line for `--info`: kind, layers on each side, bits, bytes per request.
fn describe(planned: &Planned, s: &Solution) -> String {
    let layers = &planned.layers.layers;
    let bits = |v: &[Option<u8>]| {
        let mut b: Vec<u8> = v.iter().flatten().copied().collect();
        b.sort_unstable();
        b.dedup();
        match b.as_slice() {
            [] => "-".to_string(),
            [one] => one.to_string(),
            many => many.iter().map(|x| x.to_string()).collect::<Vec<_>>().join("/"),
        }
    };
    let cut = match layers.get(s.split) {
        Some(l) if !s.edge_layers.is_empty() => {
            format!(", first cloud layer {} `{}`", s.split, l.name)
        }
        _ => String::new(),
    };
    format!(
        "{}: {} of {} layers on the edge{cut}; edge weight bits {}, activation bits {}; {} payload bytes per request",
        s.kind.name(),
        s.edge_layers.len(),
        layers.len(),
        bits(&s.weight_bits),
        bits(&s.act_bits),
        s.transmit_bytes,
    )
}
