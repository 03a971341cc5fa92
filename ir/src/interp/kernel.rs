//! The kernel entry points the op table ([`crate::ops::OPS`]) names, re-exported from the
//! per-family modules. Every kernel has the signature of [`crate::ops::EvalFn`]: it reads
//! its operands and attributes from an [`super::EvalCx`] and returns the result tensors.
//! This file holds no logic.

pub use super::boundary::{dequantize, pack, quantize, transfer, unpack};
pub use super::elementwise::{binary, cast, unary, variadic, where_};
pub use super::epilogue::{affine, conv, conv_transpose, gemm, matmul};
pub use super::movement::{
    concat, constant, expand, gather, pad, reshape, slice, split, transpose,
};
pub use super::norm::{batch_norm, layer_norm, lrn};
pub use super::pool::{avg_pool, max_pool};
pub use super::quant::{dequantize_linear, quantize_linear};
pub use super::reduce::reduce;
pub use super::resize::resize;
pub use super::softmax::softmax;
