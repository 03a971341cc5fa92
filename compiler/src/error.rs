//! The driver's error type: everything `asplitc` can report to a user, as one enum.
//!
//! Library errors (import, parse, shape, interpreter) are wrapped, keeping their miette
//! diagnostics; this file adds the driver's own cases (files, flags, bindings). Rendering
//! happens only in [`crate::cli`].

use crate::onnx::ImportError;
use miette::Diagnostic;
use std::path::PathBuf;
use thiserror::Error;

/// Everything the driver can fail with.
#[derive(Debug, Error, Diagnostic)]
pub enum DriverError {
    /// Importing the ONNX model failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Import(#[from] ImportError),

    /// Exporting ONNX (`--emit onnx`) failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Export(#[from] crate::onnx::export::ExportError),

    /// Parsing an `.air` file failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Parse(#[from] asplit_ir::parse::ParseError),

    /// A file could not be read or written.
    #[error("cannot {action} `{path}`: {error}")]
    #[diagnostic(code(asplitc::io))]
    Io {
        /// "read", "write", "create directory".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error (shown in the message, so not chained as a source).
        error: std::io::Error,
    },

    /// A tensor file is malformed or of an unsupported format.
    #[error("tensor file `{path}`: {message}")]
    #[diagnostic(
        code(asplitc::tensor_file),
        help("tensor files are .npy (NumPy) or .pb (a serialized ONNX TensorProto)")
    )]
    TensorFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },

    /// Input tensors do not match the model's inputs.
    #[error("{message}")]
    #[diagnostic(code(asplitc::input_binding), help("{inputs}"))]
    InputBinding {
        /// What does not match.
        message: String,
        /// The model's inputs, for the help line.
        inputs: String,
    },

    /// A command-line value is malformed.
    #[error("invalid value for {flag}: {message}")]
    #[diagnostic(code(asplitc::flag))]
    Flag {
        /// The flag.
        flag: &'static str,
        /// What is wrong.
        message: String,
    },

    /// A `--calibration` / `--validate` sample folder is malformed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Samples(#[from] crate::samples::SamplesError),

    /// The interpreter failed.
    #[error("the reference interpreter failed: {0}")]
    #[diagnostic(code(asplitc::interp))]
    Run(#[from] asplit_ir::interp::RunError),

    /// A `--passes` pipeline string is malformed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pipeline(#[from] asplit_passes::PipelineError),

    /// A pass failed, or the IR does not verify after one.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pass(#[from] asplit_passes::PassError),

    /// A device profile could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Profile(#[from] asplit_passes::plan::profile::ProfileError),

    /// Calibration or the split search failed.
    #[error("planning failed: {message}")]
    #[diagnostic(
        code(asplitc::plan),
        help(
            "the planning flags are listed by `asplitc plan --help`; the method is in docs/plan.md"
        )
    )]
    Plan {
        /// What went wrong.
        message: String,
    },

    /// Code generation failed (unsupported op or dtype, LLVM error).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Codegen(#[from] asplit_codegen::CodegenError),

    /// Linking a compiled program failed.
    #[error("cannot link the program: {message}")]
    #[diagnostic(
        code(asplitc::link),
        help("asplitc links with the system C compiler (`$CC`, else `cc`); install gcc or clang")
    )]
    Link {
        /// What went wrong.
        message: String,
    },

    /// The IR does not verify.
    #[error("the IR does not verify:\n{}", .0.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n"))]
    #[diagnostic(code(asplitc::verify))]
    Verify(Vec<asplit_ir::verify::Violation>),
}

impl DriverError {
    /// Builds an [`DriverError::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        DriverError::Io { action, path: path.into(), error }
    }
}
