//! The ONNX backend: an IR [`Graph`] out as a standard ONNX `ModelProto` (`--emit onnx`).
//!
//! [`export_graph`] writes any graph the default pipeline produces, Split-phase graphs
//! included, at one ai.onnx opset ([`MIN_OPSET`]..=[`MAX_OPSET`], [`DEFAULT_OPSET`]
//! recommended): fused layers are unfolded again (`conv` → Conv (+ Add of the skip) (+ the
//! activation), `affine` → Mul + Add (+ activation)), the other ops go back to their ONNX op
//! with attributes, parameters the IR keeps as attributes become constant inputs, and
//! constants become initializers. The boundary ops of the Split phase become ONNX
//! quantization (see `boundary.rs`): `quantize` → QuantizeLinear (+ Clip to the b-bit range),
//! `dequantize` → DequantizeLinear, weight codes → 8- or 16-bit integer initializers; ONNX has
//! no bit packing, so `pack`/`send`/`recv`/`unpack` pass the codes through unchanged. A layer
//! whose weight is dequantized adds its bias with a separate Add (ONNX Runtime would quantize
//! a Conv/Gemm bias input to int32 and change the numbers).
//! [`export_partitions`] writes the edge and cloud programs of a plan as two models cut at
//! the codes: the edge model returns the quantize codes (named `boundary_<slot>`, as the
//! partitions name their payloads), the cloud model takes them, so `cloud(edge(x))` chains
//! by name in any ONNX runtime; [`write_partitions`] writes them as `OUT/edge.onnx` and
//! `OUT/cloud.onnx`.
//!
//! Every op or attribute value ONNX cannot express is an [`ExportError`] naming the node and
//! what is unsupported; nothing here panics on a verified graph. Not here: importing
//! ([`super`]), running models, choosing the split.

mod boundary;
mod ops;
mod proto;

use asplit_ir::graph::{Graph, NodeId, Phase, ValueDef, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::tensor::Tensor;
use asplit_ir::types::DType;
use asplit_passes::partition::Partitions;
use miette::Diagnostic;
use onnx_protobuf::{GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Oldest ai.onnx opset the exporter writes: 21 brings int4/uint4 and int16 Q/DQ, per-axis
/// QuantizeLinear with an explicit zero point type, Gelu (20) and AveragePool dilations (19).
pub const MIN_OPSET: i64 = 21;
/// Newest ai.onnx opset the exporter writes (no op it emits changed meaning up to here).
pub const MAX_OPSET: i64 = 23;
/// The opset `--emit onnx` uses.
pub const DEFAULT_OPSET: i64 = 21;
/// ONNX IR version written into the model (ONNX 1.16+, the one that goes with opset 21).
pub const IR_VERSION: i64 = 10;

/// Something the exporter cannot write as ONNX.
#[derive(Debug, Error, Diagnostic, Clone, PartialEq)]
pub enum ExportError {
    /// The opset asked for is outside what the exporter writes.
    #[error("cannot export at ai.onnx opset {opset}: the exporter writes opsets {MIN_OPSET} to {MAX_OPSET}")]
    #[diagnostic(code(onnx_export::opset))]
    Opset {
        /// The opset asked for.
        opset: i64,
    },
    /// An op, or one of its attribute values, that has no ONNX equivalent.
    #[error("{node}: {what} cannot be expressed in ONNX")]
    #[diagnostic(code(onnx_export::unsupported))]
    Unsupported {
        /// The node: `conv node %12` or `model output 0`.
        node: String,
        /// What is unsupported.
        what: String,
    },
    /// A node whose attributes or operands do not fit its op (a graph that does not verify).
    #[error("{node}: {message}")]
    #[diagnostic(code(onnx_export::invalid), help("verify the graph (asplitc opt --passes '')"))]
    Invalid {
        /// The node.
        node: String,
        /// What is wrong.
        message: String,
    },
    /// The partitions do not fit together (a payload without its quantize or unpack).
    #[error("partitions: {0}")]
    #[diagnostic(code(onnx_export::partition))]
    Partition(String),
    /// The protobuf encoder failed.
    #[error("cannot serialize the ONNX model: {0}")]
    #[diagnostic(code(onnx_export::serialize))]
    Serialize(String),
    /// A model file could not be written.
    #[error("cannot write `{path}`: {message}")]
    #[diagnostic(code(onnx_export::io))]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
}

/// Writes `g` as an ONNX model at ai.onnx `opset`.
///
/// A Split-phase graph exports whole: the codes go through QuantizeLinear → DequantizeLinear
/// where the IR packs, sends and unpacks them. A graph whose outputs are packed bytes or whose
/// inputs are unpacked (a partition) needs [`export_partitions`].
pub fn export_graph(g: &Graph, opset: i64) -> Result<ModelProto, ExportError> {
    export(g, opset, &Cut::default())
}

/// Serializes a model to protobuf bytes (the content of a `.onnx` file).
/// Protobuf messages are limited to 2 GiB; larger ONNX models need external data files, which
/// the exporter does not write.
pub fn to_bytes(m: &ModelProto) -> Result<Vec<u8>, ExportError> {
    let size = m.compute_size();
    if size > i32::MAX as u64 {
        return Err(ExportError::Unsupported {
            node: "the model".into(),
            what: format!(
                "a {size}-byte model (protobuf holds at most 2 GiB; external data is not written)"
            ),
        });
    }
    m.write_to_bytes().map_err(|e| ExportError::Serialize(e.to_string()))
}

/// Writes the edge and cloud partitions as two ONNX models cut at the quantization codes:
/// the edge model's outputs are the codes of every quantized slot (u8/i8 tensors of the
/// logical shape, `pack` dropped) or the f32 tensor of a raw slot; the cloud model's inputs
/// are those same tensors under the same names (`unpack` dropped), followed by
/// DequantizeLinear. An edge-only plan has no cloud model.
pub fn export_partitions(
    p: &Partitions,
    opset: i64,
) -> Result<(ModelProto, Option<ModelProto>), ExportError> {
    let edge = export(&p.edge, opset, &Cut { outputs: true, inputs: false })?;
    let cloud = match &p.cloud {
        Some(c) => Some(export(c, opset, &Cut { outputs: false, inputs: true })?),
        None => None,
    };
    Ok((edge, cloud))
}

/// Writes the partitions of a plan as `dir/edge.onnx` and, when there is a cloud partition,
/// `dir/cloud.onnx` (a stale `dir/cloud.onnx` of an earlier compilation is removed otherwise);
/// returns the files written.
pub fn write_partitions(p: &Partitions, dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let (edge, cloud) = export_partitions(p, DEFAULT_OPSET)?;
    let mut written = vec![write_model(&edge, &dir.join("edge.onnx"))?];
    let cloud_path = dir.join("cloud.onnx");
    match cloud {
        Some(c) => written.push(write_model(&c, &cloud_path)?),
        None if cloud_path.exists() => std::fs::remove_file(&cloud_path)
            .map_err(|e| ExportError::Io { path: cloud_path.clone(), message: e.to_string() })?,
        None => {}
    }
    Ok(written)
}

fn write_model(m: &ModelProto, path: &Path) -> Result<PathBuf, ExportError> {
    std::fs::write(path, to_bytes(m)?)
        .map_err(|e| ExportError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(path.to_path_buf())
}

/// Where a partition is cut at the codes.
#[derive(Copy, Clone, Debug, Default)]
struct Cut {
    /// Graph outputs that are packed bytes leave as the codes they pack.
    outputs: bool,
    /// Graph inputs read by `unpack` arrive as the codes it unpacks.
    inputs: bool,
}

fn export(g: &Graph, opset: i64, cut: &Cut) -> Result<ModelProto, ExportError> {
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(ExportError::Opset { opset });
    }
    if g.phase == Phase::Planned {
        return Err(ExportError::Unsupported {
            node: format!("graph @{}", g.name),
            what: "a Planned graph, whose quantization is still annotations (run \
                   insert-boundary first: the Split phase exports)"
                .into(),
        });
    }
    let mut x = Exporter::new(g, opset);
    x.bind_inputs(cut)?;
    for (n, node) in g.live_nodes() {
        if node.op != OpKind::Const {
            x.node(n)?;
        }
    }
    x.bind_outputs(cut)?;
    Ok(x.finish())
}

/// What an IR value is in the ONNX graph.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    /// The ONNX tensor name.
    name: String,
    /// Its element type (the IR's, except for codes).
    dtype: DType,
    /// Its shape.
    shape: Vec<usize>,
    /// Set when the tensor holds quantization codes (the IR's i32 codes or packed bytes).
    codes: Option<Codes>,
}

/// Quantization codes held in an integer tensor.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Codes {
    /// Bits per code.
    bits: u8,
    /// Signed (symmetric) codes.
    signed: bool,
}

impl Codes {
    /// The ONNX element type holding these codes: 8 bits when they fit, else 16.
    fn dtype(self) -> DType {
        match (self.bits <= 8, self.signed) {
            (true, true) => DType::I8,
            (true, false) => DType::U8,
            (false, true) => DType::I16,
            (false, false) => DType::U16,
        }
    }
}

/// The export of one graph in progress.
struct Exporter<'g> {
    g: &'g Graph,
    opset: i64,
    out: GraphProto,
    /// IR value → ONNX tensor.
    entries: HashMap<ValueId, Entry>,
    /// Every ONNX name taken so far.
    taken: HashSet<String>,
    /// Names reserved for graph outputs (their source names), by value.
    reserved: HashMap<ValueId, String>,
    /// Constants already written as initializers, by value.
    consts: HashMap<ValueId, String>,
    /// Weight codes already written as narrow initializers, by value.
    code_consts: HashMap<ValueId, String>,
    /// Next fresh-name counter.
    fresh: usize,
}

impl<'g> Exporter<'g> {
    fn new(g: &'g Graph, opset: i64) -> Self {
        let mut out = GraphProto::new();
        out.name = if g.name.is_empty() { "main".into() } else { g.name.clone() };
        Exporter {
            g,
            opset,
            out,
            entries: HashMap::new(),
            taken: HashSet::new(),
            reserved: HashMap::new(),
            consts: HashMap::new(),
            code_consts: HashMap::new(),
            fresh: 0,
        }
    }

    fn finish(self) -> ModelProto {
        let mut m = ModelProto::new();
        m.ir_version = IR_VERSION;
        m.producer_name = "asplitc".into();
        m.producer_version = env!("CARGO_PKG_VERSION").into();
        let mut o = OperatorSetIdProto::new();
        o.domain = String::new();
        o.version = self.opset;
        m.opset_import.push(o);
        m.graph = Some(self.out).into();
        m
    }

    /// Claims `want` if it is free, else `want_<k>` for the first free k.
    fn claim(&mut self, want: &str) -> String {
        let mut name = want.to_string();
        let mut k = 1;
        while self.taken.contains(&name) {
            name = format!("{want}_{k}");
            k += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// A fresh intermediate name (`t<k>`).
    fn fresh_name(&mut self, hint: &str) -> String {
        self.fresh += 1;
        let want = format!("{hint}{}", self.fresh);
        self.claim(&want)
    }

    /// `op node %v` for messages: the node's first result, its source name if any.
    fn describe(&self, n: NodeId) -> String {
        let node = &self.g.nodes[n];
        let first = node.outputs.first().map(|v| v.to_string()).unwrap_or_default();
        match &node.name {
            Some(name) => format!("{} node {first} (`{name}`)", node.op),
            None => format!("{} node {first}", node.op),
        }
    }

    fn unsupported(&self, n: NodeId, what: impl Into<String>) -> ExportError {
        ExportError::Unsupported { node: self.describe(n), what: what.into() }
    }

    fn invalid(&self, n: NodeId, message: impl std::fmt::Display) -> ExportError {
        ExportError::Invalid { node: self.describe(n), message: message.to_string() }
    }

    /// Graph inputs (source names kept) and the names reserved for graph outputs.
    fn bind_inputs(&mut self, cut: &Cut) -> Result<(), ExportError> {
        let g = self.g;
        let unpacked = if cut.inputs { boundary::unpacked_inputs(g)? } else { HashMap::new() };
        for (i, &v) in g.inputs.iter().enumerate() {
            let want = g.values[v].name.clone().unwrap_or_else(|| format!("input_{i}"));
            let name = self.claim(&want);
            let ty = g.ty(v);
            let entry = match unpacked.get(&v) {
                Some(&(codes, ref shape)) => {
                    Entry { name, dtype: codes.dtype(), shape: shape.clone(), codes: Some(codes) }
                }
                None => Entry { name, dtype: ty.dtype, shape: ty.shape.clone(), codes: None },
            };
            self.out.input.push(proto::value_info(&entry.name, entry.dtype, &entry.shape));
            self.entries.insert(v, entry);
        }
        for &v in &g.outputs {
            let Some(name) = g.values[v].name.clone() else { continue };
            let direct = matches!(g.values[v].def, ValueDef::Node(n, _)
                if !matches!(g.nodes[n].op, OpKind::Const | OpKind::Pack | OpKind::Send
                    | OpKind::Recv | OpKind::Unpack));
            if direct && !self.reserved.contains_key(&v) && !self.taken.contains(&name) {
                self.taken.insert(name.clone());
                self.reserved.insert(v, name);
            }
        }
        Ok(())
    }

    /// Graph outputs, each under its source name (`output_<i>` without one); an output that
    /// is a graph input, a constant, a repeated value or a pass-through gets an Identity.
    fn bind_outputs(&mut self, cut: &Cut) -> Result<(), ExportError> {
        let g = self.g;
        let mut done: HashSet<ValueId> = HashSet::new();
        for (i, &v) in g.outputs.iter().enumerate() {
            let entry = self.output_entry(v, i)?;
            if entry.codes.is_some() && !cut.outputs {
                return Err(ExportError::Unsupported {
                    node: format!("model output {i} ({v})"),
                    what: "an output of quantization codes or packed bytes (ONNX has no bit \
                           packing; export the partitions with export_partitions, which cuts \
                           at the codes)"
                        .into(),
                });
            }
            let direct = self.reserved.get(&v) == Some(&entry.name) && done.insert(v);
            let name = if direct {
                entry.name.clone()
            } else {
                let want = g.values[v].name.clone().unwrap_or_else(|| format!("output_{i}"));
                let name = self.claim(&want);
                self.push(proto::node("Identity", &[&entry.name], &[&name]));
                name
            };
            self.out.output.push(proto::value_info(&name, entry.dtype, &entry.shape));
        }
        Ok(())
    }

    fn output_entry(&mut self, v: ValueId, i: usize) -> Result<Entry, ExportError> {
        self.known_entry(v)?.ok_or_else(|| ExportError::Invalid {
            node: format!("model output {i}"),
            message: format!("{v} is not defined before the outputs"),
        })
    }

    /// The entry of `v` if it is already exported or a constant (made an initializer now).
    fn known_entry(&mut self, v: ValueId) -> Result<Option<Entry>, ExportError> {
        if let Some(e) = self.entries.get(&v) {
            return Ok(Some(e.clone()));
        }
        let Some(t) = self.g.const_value(v) else { return Ok(None) };
        let name = self.initializer(v, t)?;
        let ty = self.g.ty(v);
        Ok(Some(Entry { name, dtype: ty.dtype, shape: ty.shape.clone(), codes: None }))
    }

    /// The ONNX tensor of operand `v` of node `n`: a constant becomes an initializer on first
    /// use. Codes are refused here (only the boundary ops read them).
    fn operand(&mut self, n: NodeId, v: ValueId) -> Result<String, ExportError> {
        let e = self.operand_entry(n, v)?;
        if e.codes.is_some() {
            return Err(self.unsupported(
                n,
                format!(
                    "reading quantization codes ({v}) in a `{}` (only dequantize, pack, send, \
                     recv and unpack read codes)",
                    self.g.nodes[n].op
                ),
            ));
        }
        Ok(e.name)
    }

    /// Like [`Exporter::operand`], codes allowed.
    fn operand_entry(&mut self, n: NodeId, v: ValueId) -> Result<Entry, ExportError> {
        if let Some(e) = self.known_entry(v)? {
            return Ok(e);
        }
        if self.is_elided_const(v) {
            return Err(self.unsupported(
                n,
                format!("constant {v} whose contents were elided (print with --print-constants)"),
            ));
        }
        Err(self.invalid(n, format!("operand {v} is not defined before its use")))
    }

    fn is_elided_const(&self, v: ValueId) -> bool {
        self.g.producer(v).is_some_and(|p| self.g.nodes[p].op == OpKind::Const)
    }

    /// The initializer holding constant `v` (written on first use).
    fn initializer(&mut self, v: ValueId, t: &Tensor) -> Result<String, ExportError> {
        if let Some(name) = self.consts.get(&v) {
            return Ok(name.clone());
        }
        check_dtype(self.opset, t.dtype())
            .map_err(|what| ExportError::Unsupported { node: format!("constant {v}"), what })?;
        let name = self.fresh_name("c");
        self.out.initializer.push(asplit_runtime::proto::tensor_to_proto(t, &name));
        self.consts.insert(v, name.clone());
        Ok(name)
    }

    /// A new initializer holding `t` (parameters the IR keeps as attributes).
    fn constant(&mut self, hint: &str, t: &Tensor) -> String {
        let name = self.fresh_name(hint);
        self.out.initializer.push(asplit_runtime::proto::tensor_to_proto(t, &name));
        name
    }

    /// An i64 vector initializer.
    fn i64s(&mut self, hint: &str, v: &[i64]) -> Result<String, ExportError> {
        let t = Tensor::from_i64([v.len()], v.to_vec())
            .map_err(|e| ExportError::Serialize(e.to_string()))?;
        Ok(self.constant(hint, &t))
    }

    /// A scalar initializer of dtype `d` holding `x` (converted like ONNX Cast).
    fn scalar(&mut self, hint: &str, d: DType, x: f32) -> Result<String, ExportError> {
        let t = Tensor::from_f32(Vec::<usize>::new(), vec![x])
            .map_err(|e| ExportError::Serialize(e.to_string()))?
            .cast(d);
        Ok(self.constant(hint, &t))
    }

    fn push(&mut self, n: NodeProto) {
        self.out.node.push(n);
    }

    /// The ONNX name of IR result `v` (its reserved output name, or a fresh one), recorded
    /// with the IR type.
    fn result(&mut self, v: ValueId) -> String {
        let name = match self.reserved.get(&v) {
            Some(name) => name.clone(),
            None => self.fresh_name("t"),
        };
        let ty = self.g.ty(v);
        let entry =
            Entry { name: name.clone(), dtype: ty.dtype, shape: ty.shape.clone(), codes: None };
        self.entries.insert(v, entry);
        name
    }

    /// Exports one non-constant node.
    fn node(&mut self, n: NodeId) -> Result<(), ExportError> {
        let op = self.g.nodes[n].op;
        match op {
            OpKind::Quantize
            | OpKind::Dequantize
            | OpKind::Pack
            | OpKind::Unpack
            | OpKind::Send
            | OpKind::Recv => boundary::node(self, n),
            _ => ops::node(self, n),
        }
    }
}

/// `Err` names a dtype the opset cannot hold.
fn check_dtype(opset: i64, d: DType) -> Result<(), String> {
    let since = match d {
        DType::I2 | DType::U2 => 25,
        DType::F8E8M0 => 24,
        DType::F4E2M1 => 23,
        _ => return Ok(()),
    };
    if opset < since {
        return Err(format!(
            "element type {d} (needs ai.onnx opset {since}, exporting at {opset})"
        ));
    }
    Ok(())
}
