//! The importer's error type: every way an ONNX model can fail to import, as one enum.
//!
//! Each variant has a stable miette code (`onnx::parse`, `onnx::unsupported_op`, …) and a
//! message that says where the problem is: node errors carry a [`NodeLoc`] (the node's name,
//! or its index when unnamed, its op type and the model's opset); tensor errors name the
//! tensor (`initializer `w``, `attribute `value` of Constant node `c``). Rendering happens
//! in the CLI; nothing here prints.

use asplit_ir::shape::ShapeError;
use miette::Diagnostic;
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// Where a node-level error happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLoc {
    /// Position of the node in the ONNX graph's node list.
    pub index: usize,
    /// The node's name (may be empty).
    pub name: String,
    /// The node's op type.
    pub op: String,
    /// The model's ai.onnx opset.
    pub opset: i64,
}

impl fmt::Display for NodeLoc {
    /// `Conv node `conv1` (opset 13)`, or `Conv node #4 (unnamed, opset 13)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.is_empty() {
            write!(f, "{} node #{} (unnamed, opset {})", self.op, self.index, self.opset)
        } else {
            write!(f, "{} node `{}` (opset {})", self.op, self.name, self.opset)
        }
    }
}

/// Everything that can go wrong while importing an ONNX model.
#[derive(Debug, Error, Diagnostic)]
pub enum ImportError {
    /// The model (or a tensor file) could not be read.
    #[error("cannot read `{path}`: {error}")]
    #[diagnostic(code(onnx::io))]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, so not chained as a source).
        error: std::io::Error,
    },

    /// The model file is empty.
    #[error("the model is empty (0 bytes)")]
    #[diagnostic(code(onnx::parse), help("an ONNX model is a serialized ModelProto"))]
    Empty,

    /// The bytes are not a serialized ModelProto (or TensorProto), or are truncated.
    #[error("not a valid ONNX {what}: {message}")]
    #[diagnostic(
        code(onnx::parse),
        help("the file is not a serialized ONNX protobuf message, or it is truncated")
    )]
    Parse {
        /// "model" or "tensor".
        what: &'static str,
        /// The protobuf decoder's complaint.
        message: String,
    },

    /// The model has no graph.
    #[error("the model has no graph")]
    #[diagnostic(code(onnx::no_graph))]
    NoGraph,

    /// The model imports no version of the default (ai.onnx) domain.
    #[error("the model does not import the ai.onnx opset")]
    #[diagnostic(code(onnx::opset), help("supported ai.onnx opsets are {supported}"))]
    NoOpset {
        /// The supported range, `7..=28`.
        supported: String,
    },

    /// The graph declares no outputs (nothing to compute).
    #[error("the model's graph has no outputs")]
    #[diagnostic(code(onnx::no_outputs), help("a truncated model file can look like this"))]
    NoOutputs,

    /// The model's ai.onnx opset is outside the supported range.
    #[error("ai.onnx opset {version} is not supported")]
    #[diagnostic(
        code(onnx::opset),
        help("supported ai.onnx opsets are {supported}; convert the model with onnx.version_converter")
    )]
    Opset {
        /// The model's opset.
        version: i64,
        /// The supported range, `7..=28`.
        supported: String,
    },

    /// A node's op type is not one the importer handles.
    #[error("{node}: op `{op}` is not supported", op = node.op)]
    #[diagnostic(code(onnx::unsupported_op), help("supported ops: {supported}"))]
    UnsupportedOp {
        /// The node.
        node: NodeLoc,
        /// The supported op types, comma-separated.
        supported: String,
    },

    /// A node belongs to a domain other than ai.onnx.
    #[error("{node}: domain `{domain}` is not supported")]
    #[diagnostic(
        code(onnx::unsupported_domain),
        help("only the default ai.onnx domain (\"\" or \"ai.onnx\") is supported")
    )]
    UnsupportedDomain {
        /// The node.
        node: NodeLoc,
        /// Its domain.
        domain: String,
    },

    /// A node reads a name that nothing defines.
    #[error("{node}: input `{input}` is not a graph input, an initializer or an output of an earlier node")]
    #[diagnostic(
        code(onnx::undefined_input),
        help("ONNX graphs must list nodes in topological order and define every name they read")
    )]
    UndefinedInput {
        /// The node.
        node: NodeLoc,
        /// The undefined name.
        input: String,
    },

    /// An attribute is missing, of the wrong type, or has a bad value.
    #[error("{node}: attribute `{attr}`: {message}")]
    #[diagnostic(code(onnx::attribute))]
    Attribute {
        /// The node.
        node: NodeLoc,
        /// The attribute.
        attr: String,
        /// What is wrong.
        message: String,
    },

    /// A node uses a feature the importer (or the IR) does not support.
    #[error("{node}: {what} is not supported")]
    #[diagnostic(code(onnx::unsupported))]
    Unsupported {
        /// The node.
        node: NodeLoc,
        /// The unsupported feature.
        what: String,
    },

    /// A parameter the IR needs as an attribute is computed at run time.
    #[error("input `{role}` of {node} must be a constant (computed at runtime here)")]
    #[diagnostic(
        code(onnx::not_constant),
        help("asplitc needs static parameters: this input must come from an initializer, a Constant, or a subgraph that folds to a constant (e.g. Shape of a statically shaped tensor)")
    )]
    NotConstant {
        /// The node.
        node: NodeLoc,
        /// The ONNX name of the input (`shape`, `starts`, …).
        role: String,
    },

    /// The node's operand types are inconsistent (reported by the IR's shape rule).
    #[error("{node}: inconsistent shapes: {error}")]
    #[diagnostic(code(onnx::shape))]
    Shape {
        /// The node.
        node: NodeLoc,
        /// The shape rule's complaint (shown in the message, so not chained as a source).
        error: ShapeError,
    },

    /// The node is malformed (input count, input values, output names…).
    #[error("{node}: {message}")]
    #[diagnostic(code(onnx::invalid_node))]
    InvalidNode {
        /// The node.
        node: NodeLoc,
        /// What is wrong.
        message: String,
    },

    /// A graph input has a symbolic (or unknown) dimension and no `--input-shape` binding.
    #[error("graph input `{input}`: dimension {dim} is {what}")]
    #[diagnostic(
        code(onnx::symbolic_dim),
        help("give the input a static shape with --input-shape {input}={example}")
    )]
    SymbolicDim {
        /// The input.
        input: String,
        /// The dimension's index (or "?" when the rank is unknown).
        dim: String,
        /// "symbolic (`N`)", "unknown", "of unknown rank".
        what: String,
        /// An example binding (the declared shape with 1 for unknown dims).
        example: String,
    },

    /// `--input-shape` names something that is not a graph input.
    #[error("--input-shape names `{name}`, which is not a graph input of the model")]
    #[diagnostic(code(onnx::input_shape), help("graph inputs: {inputs}"))]
    InputShapeUnknown {
        /// The name given.
        name: String,
        /// The model's graph inputs.
        inputs: String,
    },

    /// `--input-shape` disagrees with the input's declared shape.
    #[error("--input-shape {name}: {message}")]
    #[diagnostic(code(onnx::input_shape))]
    InputShapeMismatch {
        /// The input.
        name: String,
        /// What disagrees.
        message: String,
    },

    /// A known input value names no graph input, or has the wrong type.
    #[error("known value for `{name}`: {message}")]
    #[diagnostic(code(onnx::known_value))]
    KnownValue {
        /// The input.
        name: String,
        /// What is wrong.
        message: String,
    },

    /// A graph input is not a tensor, or has no type.
    #[error("graph input `{name}`: {message}")]
    #[diagnostic(code(onnx::input_type))]
    InputType {
        /// The input.
        name: String,
        /// What is wrong.
        message: String,
    },

    /// A graph output is undefined, or its declared type disagrees with the inferred one.
    #[error("graph output `{name}`: {message}")]
    #[diagnostic(code(onnx::output))]
    Output {
        /// The output.
        name: String,
        /// What is wrong.
        message: String,
    },

    /// An element type the IR does not have.
    #[error("{what}: element type {dtype} is not supported")]
    #[diagnostic(
        code(onnx::unsupported_dtype),
        help(
            "supported element types: the floats (float, double, float16, bfloat16, the float8 \
             and float4 types), the integers of 2 to 64 bits, signed or not, and bool"
        )
    )]
    UnsupportedDtype {
        /// The tensor, input or attribute.
        what: String,
        /// The ONNX element type.
        dtype: String,
    },

    /// A tensor's payload is inconsistent with its declared shape and type.
    #[error("{what}: {message}")]
    #[diagnostic(code(onnx::tensor_data))]
    TensorData {
        /// The tensor.
        what: String,
        /// What is wrong.
        message: String,
    },

    /// A tensor's external data cannot be used.
    #[error("{what}: external data: {message}")]
    #[diagnostic(
        code(onnx::external_data),
        help("external data files are resolved relative to the model's directory and must stay inside it")
    )]
    ExternalData {
        /// The tensor.
        what: String,
        /// What is wrong.
        message: String,
    },

    /// Materializing a constant would exceed the importer's memory limit.
    #[error("{what} would need {bytes} bytes, more than the importer's limit of {limit} bytes")]
    #[diagnostic(code(onnx::too_large))]
    TooLarge {
        /// The constant.
        what: String,
        /// Bytes needed.
        bytes: u128,
        /// The limit.
        limit: u64,
    },
}
