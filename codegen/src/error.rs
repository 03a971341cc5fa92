//! Errors of code generation: an op or dtype without a generator, an inconsistent node, an
//! LLVM failure (builder, verifier, target, object emission).
//!
//! Every error names what it is about (op, node, dtype, path) so the driver can render it as
//! a one-line diagnostic; none of them is a panic. This file defines the types only.

use asplit_ir::{DType, OpKind};
use miette::Diagnostic;
use thiserror::Error;

/// Code generation errors.
#[derive(Debug, Error, Diagnostic)]
pub enum CodegenError {
    /// The op has no generator, or this use of it (dtype, attribute value) is not handled.
    #[error("codegen: `{op}` ({node}): {what} is not supported")]
    #[diagnostic(code(asplitc::codegen::unsupported))]
    Unsupported {
        /// The op.
        op: OpKind,
        /// The node (its name or id).
        node: String,
        /// What is unsupported ("no generator", "dtype f16", …).
        what: String,
    },
    /// The node is inconsistent with its op's rules (a verified graph never gives this).
    #[error("codegen: `{op}` ({node}): {msg}")]
    #[diagnostic(code(asplitc::codegen::invalid))]
    Invalid {
        /// The op.
        op: OpKind,
        /// The node.
        node: String,
        /// What is wrong.
        msg: String,
    },
    /// A dtype that has no in-memory LLVM representation here.
    #[error("codegen: dtype {0} has no LLVM representation")]
    #[diagnostic(code(asplitc::codegen::dtype))]
    DType(DType),
    /// The graph as a whole cannot be compiled (unbound value, size overflow, …).
    #[error("codegen: {0}")]
    #[diagnostic(code(asplitc::codegen::graph))]
    Graph(String),
    /// Building LLVM IR failed.
    #[error("LLVM builder: {0}")]
    #[diagnostic(code(asplitc::codegen::builder))]
    Builder(#[from] inkwell::builder::BuilderError),
    /// LLVM rejected something (verifier, target lookup, pass pipeline, object emission).
    #[error("LLVM: {0}")]
    #[diagnostic(code(asplitc::codegen::llvm))]
    Llvm(String),
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    #[diagnostic(code(asplitc::codegen::io))]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl CodegenError {
    /// An LLVM error from its message (inkwell returns `LLVMString`s).
    pub fn llvm(msg: impl std::fmt::Display) -> Self {
        CodegenError::Llvm(msg.to_string().trim_end().to_string())
    }
}
