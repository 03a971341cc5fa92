//! Shape rules: result types of every op from operand types and attributes.
//!
//! Each function here is named in the op table ([`crate::ops::OPS`]); the importer calls
//! them to type new nodes and the verifier calls them to check existing ones. They never
//! look at tensor contents: everything data-dependent is an attribute in this IR.

use crate::attr::{AttrError, Attrs};
use crate::ops::OpKind;
use crate::types::TensorType;
use thiserror::Error;

/// What a shape rule sees.
pub struct ShapeCx<'a> {
    /// The op being typed.
    pub op: OpKind,
    /// Operand types, in order.
    pub inputs: &'a [TensorType],
    /// The node's attributes.
    pub attrs: &'a Attrs,
}

/// A shape rule's complaint.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShapeError {
    /// An attribute is missing or of the wrong kind.
    #[error(transparent)]
    Attr(#[from] AttrError),
    /// Operand types or attributes are inconsistent; the message says how.
    #[error("{0}")]
    Invalid(String),
}

macro_rules! pending {
    ($($name:ident),*) => {$(
        /// Shape rule (not yet written).
        pub fn $name(cx: &ShapeCx) -> Result<Vec<TensorType>, ShapeError> {
            Err(ShapeError::Invalid(format!("no shape rule for `{}` yet", cx.op)))
        }
    )*};
}
pending!(
    constant,
    same_as_first,
    conv,
    conv_transpose,
    gemm,
    matmul,
    broadcast,
    pow,
    compare,
    where_,
    concat,
    split,
    slice,
    gather,
    reshape,
    transpose,
    expand,
    pad,
    resize,
    pool,
    reduce,
    cast,
    quantize_linear,
    dequantize_linear
);
