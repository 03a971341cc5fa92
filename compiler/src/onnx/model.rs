//! The graph-level importer: opset check, graph inputs, initializers, the node walk and the
//! graph outputs.
//!
//! Names are resolved in ONNX scope order: graph inputs and node outputs (in `env`), then
//! initializers, which are converted to `const` nodes on first use (an initializer that is
//! also listed as a graph input is a constant, as ONNX IR ≥ 4 says). Nodes must come in
//! topological order. Per-node work (operands, attributes, emitting IR) is in [`super::cx`]
//! and the op importers; this file only dispatches and binds names.

use super::attrs::NodeAttrs;
use super::cx::NodeCx;
use super::error::{ImportError, NodeLoc};
use super::ops;
use super::tensor::{dtype_from_onnx, tensor_from_proto_as};
use super::{ImportOptions, MAX_OPSET, MIN_OPSET};
use asplit_ir::{Graph, Tensor, TensorType, ValueId};
use onnx_protobuf::{
    tensor_shape_proto::dimension::Value as Dim, type_proto::Value as TypeValue, GraphProto,
    ModelProto, NodeProto, TensorProto, ValueInfoProto,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest single constant the importer materializes (ConstantOfShape, Dropout masks…).
pub(crate) const MAX_CONST_BYTES: u128 = 2 << 30;
/// Largest total of such constants over one import.
pub(crate) const MAX_TOTAL_CONST_BYTES: u128 = 8 << 30;

/// Import state shared by all nodes of one model.
pub(crate) struct Importer<'m> {
    /// The graph being built.
    pub(crate) graph: Graph,
    /// The model's ai.onnx opset.
    pub(crate) opset: i64,
    /// Where external data lives.
    pub(crate) base_dir: Option<PathBuf>,
    /// Names bound so far (graph inputs, node outputs, used initializers).
    env: HashMap<&'m str, ValueId>,
    /// Initializers, converted on first use.
    initializers: HashMap<&'m str, &'m TensorProto>,
    /// Names some node or graph output reads.
    used: HashSet<&'m str>,
    /// Bytes of constants materialized by op importers so far.
    pub(crate) materialized: u128,
    /// Run-time values of graph inputs, known at import ([`super::import_file_with_values`]).
    pub(crate) known: HashMap<ValueId, Arc<Tensor>>,
}

/// Imports a parsed model.
pub(crate) fn import_model(
    model: &ModelProto,
    base_dir: Option<&Path>,
    opts: &ImportOptions,
    known: &[(String, Tensor)],
) -> Result<Graph, ImportError> {
    let g = model.graph.as_ref().ok_or(ImportError::NoGraph)?;
    let opset = ai_onnx_opset(model)?;
    if g.output.is_empty() {
        return Err(ImportError::NoOutputs);
    }
    let name = if g.name.is_empty() { "main".to_string() } else { g.name.clone() };
    let mut imp = Importer {
        graph: Graph::new(name),
        opset,
        base_dir: base_dir.map(Path::to_path_buf),
        env: HashMap::new(),
        initializers: g.initializer.iter().map(|t| (t.name.as_str(), t)).collect(),
        used: used_names(g),
        materialized: 0,
        known: HashMap::new(),
    };
    imp.bind_inputs(g, opts)?;
    imp.bind_known(known)?;
    for (index, node) in g.node.iter().enumerate() {
        imp.import_node(index, node)?;
    }
    imp.bind_outputs(g)?;
    Ok(imp.graph)
}

fn supported_opsets() -> String {
    format!("{MIN_OPSET}..={MAX_OPSET}")
}

/// The version of the default domain the model imports, checked against the range.
fn ai_onnx_opset(model: &ModelProto) -> Result<i64, ImportError> {
    let version = model
        .opset_import
        .iter()
        .filter(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        .map(|o| o.version)
        .max()
        .ok_or_else(|| ImportError::NoOpset { supported: supported_opsets() })?;
    if !(MIN_OPSET..=MAX_OPSET).contains(&version) {
        return Err(ImportError::Opset { version, supported: supported_opsets() });
    }
    Ok(version)
}

fn used_names(g: &GraphProto) -> HashSet<&str> {
    let reads = g.node.iter().flat_map(|n| n.input.iter());
    reads.chain(g.output.iter().map(|o| &o.name)).map(String::as_str).collect()
}

impl<'m> Importer<'m> {
    /// Adds the graph inputs that are not initializers, with their (bound) static types.
    fn bind_inputs(&mut self, g: &'m GraphProto, opts: &ImportOptions) -> Result<(), ImportError> {
        let real: Vec<&ValueInfoProto> =
            g.input.iter().filter(|i| !self.initializers.contains_key(i.name.as_str())).collect();
        for (name, _) in &opts.input_shapes {
            if !real.iter().any(|i| &i.name == name) {
                let inputs: Vec<String> = real.iter().map(|i| format!("`{}`", i.name)).collect();
                let inputs = if inputs.is_empty() { "none".into() } else { inputs.join(", ") };
                return Err(ImportError::InputShapeUnknown { name: name.clone(), inputs });
            }
        }
        for vi in real {
            let binding =
                opts.input_shapes.iter().rev().find(|(n, _)| n == &vi.name).map(|(_, s)| s);
            let ty = input_type(vi, binding.map(Vec::as_slice))?;
            if self.env.contains_key(vi.name.as_str()) {
                let message = "is declared more than once".to_string();
                return Err(ImportError::InputType { name: vi.name.clone(), message });
            }
            let v = self.graph.add_input(Some(vi.name.clone()), ty);
            self.env.insert(&vi.name, v);
        }
        Ok(())
    }

    /// Records the known run-time values of graph inputs, checking names and types.
    fn bind_known(&mut self, known: &[(String, Tensor)]) -> Result<(), ImportError> {
        for (name, t) in known {
            let err = |message: String| ImportError::KnownValue { name: name.clone(), message };
            let v = self
                .graph
                .inputs
                .iter()
                .copied()
                .find(|&v| self.graph.values[v].name.as_deref() == Some(name.as_str()))
                .ok_or_else(|| err("the model has no graph input of that name".into()))?;
            let want = self.graph.ty(v);
            if &t.ty() != want {
                return Err(err(format!("the input is {want}, the value is {}", t.ty())));
            }
            self.known.insert(v, Arc::new(t.clone()));
        }
        Ok(())
    }

    /// The value a name denotes, converting an initializer on first use.
    pub(crate) fn lookup(&mut self, name: &'m str) -> Result<Option<ValueId>, ImportError> {
        if let Some(&v) = self.env.get(name) {
            return Ok(Some(v));
        }
        let Some(t) = self.initializers.get(name).copied() else { return Ok(None) };
        let tensor =
            tensor_from_proto_as(t, self.base_dir.as_deref(), &format!("initializer `{name}`"))?;
        let v = self.graph.add_const(tensor);
        self.env.insert(name, v);
        Ok(Some(v))
    }

    /// True when a later node or a graph output reads `name`.
    pub(crate) fn is_used(&self, name: &str) -> bool {
        self.used.contains(name)
    }

    fn import_node(&mut self, index: usize, node: &'m NodeProto) -> Result<(), ImportError> {
        let loc =
            NodeLoc { index, name: node.name.clone(), op: node.op_type.clone(), opset: self.opset };
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(ImportError::UnsupportedDomain { node: loc, domain: node.domain.clone() });
        }
        let Some(import) = ops::lookup(&node.op_type) else {
            let supported = ops::SUPPORTED_OPS.join(", ");
            return Err(ImportError::UnsupportedOp { node: loc, supported });
        };
        let mut inputs = Vec::with_capacity(node.input.len());
        for name in &node.input {
            if name.is_empty() {
                inputs.push(None);
                continue;
            }
            match self.lookup(name)? {
                Some(v) => inputs.push(Some(v)),
                None => return Err(ImportError::UndefinedInput { node: loc, input: name.clone() }),
            }
        }
        let attrs = NodeAttrs::new(&node.attribute, loc.clone());
        let results = {
            let mut cx = NodeCx::new(self, node, loc.clone(), attrs, inputs);
            import(&mut cx)?
        };
        self.bind_node_outputs(node, &loc, &results)
    }

    fn bind_node_outputs(
        &mut self,
        node: &'m NodeProto,
        loc: &NodeLoc,
        results: &[ValueId],
    ) -> Result<(), ImportError> {
        for (i, name) in node.output.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            let Some(&v) = results.get(i) else {
                if self.is_used(name) {
                    let what = format!("using output #{i} (`{name}`)");
                    return Err(ImportError::Unsupported { node: loc.clone(), what });
                }
                continue;
            };
            if self.env.contains_key(name.as_str()) || self.initializers.contains_key(name.as_str())
            {
                return Err(ImportError::InvalidNode {
                    node: loc.clone(),
                    message: format!("output `{name}` is already defined (ONNX names are SSA)"),
                });
            }
            self.env.insert(name, v);
        }
        Ok(())
    }

    /// Resolves the graph outputs, checks declared types, and names them.
    fn bind_outputs(&mut self, g: &'m GraphProto) -> Result<(), ImportError> {
        for vi in &g.output {
            let out_err = |message: String| ImportError::Output { name: vi.name.clone(), message };
            let v = self.lookup(&vi.name)?.ok_or_else(|| {
                out_err("is not computed by any node, nor a graph input or initializer".into())
            })?;
            check_declared_output(vi, &self.graph.values[v].ty)?;
            if self.graph.values[v].name.is_none() {
                self.graph.values[v].name = Some(vi.name.clone());
            }
            self.graph.outputs.push(v);
        }
        Ok(())
    }
}

/// A declared dimension: a value, a named symbol, or nothing.
enum DeclDim {
    Fixed(usize),
    Symbol(String),
    Unknown,
}

/// The declared tensor type of a value info: dtype code and dims (`None`: unknown rank).
fn declared(vi: &ValueInfoProto) -> Result<(i32, Option<Vec<DeclDim>>), String> {
    let Some(tv) = vi.type_.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err("has no type".into());
    };
    let TypeValue::TensorType(tt) = tv else {
        return Err(
            "is not a tensor (sequences, maps, optionals and sparse tensors are not supported)"
                .into(),
        );
    };
    let dims = tt.shape.as_ref().map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(Dim::DimValue(v)) => {
                    usize::try_from(*v).map_or(DeclDim::Unknown, DeclDim::Fixed)
                }
                Some(Dim::DimParam(p)) if !p.is_empty() => DeclDim::Symbol(p.clone()),
                _ => DeclDim::Unknown,
            })
            .collect()
    });
    Ok((tt.elem_type, dims))
}

/// The static type of a graph input, using `binding` (from `--input-shape`) if given.
fn input_type(vi: &ValueInfoProto, binding: Option<&[usize]>) -> Result<TensorType, ImportError> {
    let name = &vi.name;
    let (code, dims) =
        declared(vi).map_err(|message| ImportError::InputType { name: name.clone(), message })?;
    let dtype = dtype_from_onnx(code).map_err(|dtype| ImportError::UnsupportedDtype {
        what: format!("graph input `{name}`"),
        dtype,
    })?;
    let shape = match binding {
        Some(b) => bound_shape(name, dims.as_deref(), b)?,
        None => static_shape(name, dims.as_deref())?,
    };
    Ok(TensorType::new(dtype, shape))
}

fn bound_shape(
    name: &str,
    dims: Option<&[DeclDim]>,
    b: &[usize],
) -> Result<Vec<usize>, ImportError> {
    let mismatch = |message: String| ImportError::InputShapeMismatch { name: name.into(), message };
    if let Some(dims) = dims {
        if dims.len() != b.len() {
            return Err(mismatch(format!(
                "the model declares rank {} ({}), the binding has rank {}",
                dims.len(),
                describe(dims),
                b.len()
            )));
        }
        for (i, (d, &got)) in dims.iter().zip(b).enumerate() {
            if let DeclDim::Fixed(want) = d {
                if *want != got {
                    return Err(mismatch(format!(
                        "dimension {i} is fixed to {want} in the model ({}), the binding says {got}",
                        describe(dims)
                    )));
                }
            }
        }
    }
    Ok(b.to_vec())
}

fn static_shape(name: &str, dims: Option<&[DeclDim]>) -> Result<Vec<usize>, ImportError> {
    let Some(dims) = dims else {
        return Err(ImportError::SymbolicDim {
            input: name.into(),
            dim: "?".into(),
            what: "unknown: the input's rank is not declared".into(),
            example: "1x3x224x224".into(),
        });
    };
    let mut shape = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        let what = match d {
            DeclDim::Fixed(v) => {
                shape.push(*v);
                continue;
            }
            DeclDim::Symbol(p) => format!("symbolic (`{p}`)"),
            DeclDim::Unknown => "unknown".to_string(),
        };
        let example: Vec<String> = dims
            .iter()
            .map(|d| if let DeclDim::Fixed(v) = d { v.to_string() } else { "1".into() })
            .collect();
        return Err(ImportError::SymbolicDim {
            input: name.into(),
            dim: i.to_string(),
            what,
            example: example.join("x"),
        });
    }
    Ok(shape)
}

/// `[N,3,224,224]`.
fn describe(dims: &[DeclDim]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| match d {
            DeclDim::Fixed(v) => v.to_string(),
            DeclDim::Symbol(p) => p.clone(),
            DeclDim::Unknown => "?".into(),
        })
        .collect();
    format!("[{}]", parts.join(","))
}

/// Checks a graph output's declared type (where declared) against the inferred one.
fn check_declared_output(vi: &ValueInfoProto, inferred: &TensorType) -> Result<(), ImportError> {
    let out_err = |message: String| ImportError::Output { name: vi.name.clone(), message };
    // An output without a (tensor) type declares nothing to check.
    let Ok((code, dims)) = declared(vi) else { return Ok(()) };
    if code != 0 {
        let dtype = dtype_from_onnx(code).map_err(|dtype| ImportError::UnsupportedDtype {
            what: format!("graph output `{}`", vi.name),
            dtype,
        })?;
        if dtype != inferred.dtype {
            return Err(out_err(format!(
                "declared with element type {dtype}, but the model computes {inferred}"
            )));
        }
    }
    let Some(dims) = dims else { return Ok(()) };
    let fits = dims.len() == inferred.rank()
        && dims
            .iter()
            .zip(&inferred.shape)
            .all(|(d, &s)| !matches!(d, DeclDim::Fixed(v) if *v != s));
    if !fits {
        return Err(out_err(format!(
            "declared with shape {}, but the model computes {inferred}",
            describe(&dims)
        )));
    }
    Ok(())
}
