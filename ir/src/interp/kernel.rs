//! Kernel entry points named by the op table (placeholders until the interpreter lands).

use super::{EvalCx, InterpError};
use crate::tensor::Tensor;

macro_rules! pending {
    ($($name:ident),*) => {$(
        /// Kernel (not yet written).
        pub fn $name(cx: &EvalCx) -> Result<Vec<Tensor>, InterpError> {
            Err(InterpError::Unsupported { op: cx.op, what: "this op".into() })
        }
    )*};
}
pending!(
    constant,
    unary,
    conv,
    conv_transpose,
    gemm,
    matmul,
    batch_norm,
    layer_norm,
    lrn,
    softmax,
    binary,
    variadic,
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
    max_pool,
    avg_pool,
    reduce,
    cast,
    quantize_linear,
    dequantize_linear
);
