//! The reference interpreter: runs any IR graph on host tensors.
//!
//! It is the oracle of differential tests, the engine of calibration and `asplitc run`.
//! Simple and obviously correct beats clever: kernels are plain loops, except Conv, Gemm
//! and MatMul, which go through im2col and the `matrixmultiply` GEMM.

pub mod kernel;

use crate::attr::{AttrError, Attrs};
use crate::ops::OpKind;
use crate::tensor::Tensor;
use crate::types::TensorType;
use thiserror::Error;

/// What a kernel sees.
pub struct EvalCx<'a> {
    /// The op being run.
    pub op: OpKind,
    /// Operand values, in order.
    pub inputs: &'a [&'a Tensor],
    /// The node's attributes.
    pub attrs: &'a Attrs,
    /// Result types, as the shape rules computed them.
    pub outputs: &'a [TensorType],
}

/// Interpreter errors.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InterpError {
    /// An attribute is missing or of the wrong kind.
    #[error(transparent)]
    Attr(#[from] AttrError),
    /// The kernel does not handle this dtype or attribute value.
    #[error("`{op}`: {what} is not supported by the interpreter")]
    Unsupported {
        /// The op.
        op: OpKind,
        /// What is unsupported.
        what: String,
    },
    /// Operand values are inconsistent.
    #[error("`{op}`: {msg}")]
    Invalid {
        /// The op.
        op: OpKind,
        /// What is wrong.
        msg: String,
    },
}
