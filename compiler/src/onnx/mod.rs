//! The ONNX frontend: a serialized `ModelProto` in, an IR [`Graph`] out.
//!
//! [`import_file`] / [`import_bytes`] parse the protobuf, check the opset (ai.onnx
//! [`MIN_OPSET`]..=[`MAX_OPSET`]), bind graph inputs (symbolic dimensions need an
//! `--input-shape` binding, [`ImportOptions`]), then walk the nodes in order, handing each to
//! its op importer (the registry in [`ops`], one function per ONNX op). Initializers become
//! `const` nodes on first use; nodes whose operands are all constant and whose results are
//! small or integer-valued are evaluated on the spot (shape subgraphs fold away), and
//! parameters the IR wants as attributes must be constant by then. Result types come from
//! the IR's shape rules; declared output types are checked against them.
//!
//! The reverse direction, an IR graph out as ONNX (`--emit onnx`), is [`export`].
//!
//! Not here: the text form, passes, and anything about running the graph. Every failure is
//! an [`ImportError`]; no input makes the importer panic or allocate without bound.

mod attrs;
mod cx;
pub mod error;
pub mod export;
mod model;
mod ops;
pub mod tensor;

pub use error::{ImportError, NodeLoc};
pub use ops::SUPPORTED_OPS;

use asplit_ir::{Graph, Tensor};
use onnx_protobuf::{Message, ModelProto};
use std::path::Path;

/// Oldest ai.onnx opset the importer accepts. Opset 6 is the one before numpy broadcasting
/// (legacy `broadcast`/`axis` attributes, handled by the elementwise importers); the ONNX
/// backend's pytorch-converted and pytorch-operator models use it.
pub const MIN_OPSET: i64 = 6;
/// Newest ai.onnx opset the importer accepts (the newest the ONNX 1.23 node tests use).
pub const MAX_OPSET: i64 = 28;

/// Import options.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Static shapes for graph inputs, by name (`--input-shape name=1x3x224x224`). Needed
    /// for inputs with symbolic or unknown dimensions; must agree with fixed dimensions.
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// Reads and imports an ONNX model file; external data is resolved next to it.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Graph, ImportError> {
    import_file_with_values(path, opts, &[])
}

/// Like [`import_file`], knowing the run-time values of some graph inputs (by name).
///
/// A known value stands in for its input wherever a node needs a static parameter (the ONNX
/// backend node tests pass Reshape's `shape`, Slice's `starts`, Resize's `scales`… as graph
/// inputs), and integer/bool computations on it fold at import. The input stays a graph
/// input, and must be fed that same value at run time. Each value must have the input's
/// (bound) type.
pub fn import_file_with_values(
    path: &Path,
    opts: &ImportOptions,
    known: &[(String, Tensor)],
) -> Result<Graph, ImportError> {
    let bytes =
        std::fs::read(path).map_err(|error| ImportError::Io { path: path.to_path_buf(), error })?;
    let base = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
    import_bytes_with_values(&bytes, base, opts, known)
}

/// Imports a serialized ONNX model; `base_dir` is where external data files live (`None`:
/// a model with external data is an error).
pub fn import_bytes(
    bytes: &[u8],
    base_dir: Option<&Path>,
    opts: &ImportOptions,
) -> Result<Graph, ImportError> {
    import_bytes_with_values(bytes, base_dir, opts, &[])
}

/// [`import_bytes`] with known input values, as in [`import_file_with_values`].
pub fn import_bytes_with_values(
    bytes: &[u8],
    base_dir: Option<&Path>,
    opts: &ImportOptions,
    known: &[(String, Tensor)],
) -> Result<Graph, ImportError> {
    if bytes.is_empty() {
        return Err(ImportError::Empty);
    }
    let model = ModelProto::parse_from_bytes(bytes)
        .map_err(|e| ImportError::Parse { what: "model", message: e.to_string() })?;
    model::import_model(&model, base_dir, opts, known)
}
