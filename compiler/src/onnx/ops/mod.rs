//! The op importer registry: one function per ONNX op type, grouped by family.
//!
//! [`registry!`] declares the table once; [`SUPPORTED_OPS`] (used for diagnostics, the
//! conformance report and `--help` texts) and [`lookup`] come from it. An importer reads its
//! node through [`NodeCx`] and returns the IR values bound to the node's outputs, in order;
//! outputs it does not return must be unused (the caller checks). Helpers shared by several
//! families (spatial attributes, auto_pad) live here.

mod activation;
mod conv;
mod elementwise;
mod movement;
mod norm;
mod pool;
mod quant;
mod reduce;
mod resize;
mod shape;

use super::cx::NodeCx;
use super::error::ImportError;
use asplit_ir::{Attr, ValueId};

/// An op importer.
pub(crate) type ImportFn = fn(&mut NodeCx) -> Result<Vec<ValueId>, ImportError>;

macro_rules! registry {
    ($($name:literal => $f:path),* $(,)?) => {
        /// The registry: ONNX op type → importer.
        static REGISTRY: &[(&str, ImportFn)] = &[$(($name, $f)),*];
        /// Every ONNX op type (ai.onnx domain) the importer handles, in alphabetical order.
        pub static SUPPORTED_OPS: &[&str] = &[$($name),*];
    };
}

registry! {
    "Add" => elementwise::import_add,
    "AveragePool" => pool::import_average_pool,
    "BatchNormalization" => norm::import_batch_norm,
    "Cast" => movement::import_cast,
    "Clip" => activation::import_clip,
    "Concat" => movement::import_concat,
    "Constant" => shape::import_constant,
    "ConstantOfShape" => shape::import_constant_of_shape,
    "Conv" => conv::import_conv,
    "ConvTranspose" => conv::import_conv_transpose,
    "DequantizeLinear" => quant::import_dequantize_linear,
    "Div" => elementwise::import_div,
    "Dropout" => movement::import_dropout,
    "Equal" => elementwise::import_equal,
    "Erf" => activation::import_erf,
    "Exp" => activation::import_exp,
    "Expand" => shape::import_expand,
    "Flatten" => shape::import_flatten,
    "Gather" => movement::import_gather,
    "Gelu" => activation::import_gelu,
    "Gemm" => elementwise::import_gemm,
    "GlobalAveragePool" => pool::import_global_average_pool,
    "GlobalMaxPool" => pool::import_global_max_pool,
    "Greater" => elementwise::import_greater,
    "HardSigmoid" => activation::import_hard_sigmoid,
    "HardSwish" => activation::import_hard_swish,
    "Identity" => movement::import_identity,
    "LRN" => norm::import_lrn,
    "LayerNormalization" => norm::import_layer_norm,
    "LeakyRelu" => activation::import_leaky_relu,
    "Less" => elementwise::import_less,
    "Log" => activation::import_log,
    "LogSoftmax" => activation::import_log_softmax,
    "MatMul" => elementwise::import_matmul,
    "Max" => elementwise::import_max,
    "MaxPool" => pool::import_max_pool,
    "Min" => elementwise::import_min,
    "Mul" => elementwise::import_mul,
    "Pad" => movement::import_pad,
    "Pow" => elementwise::import_pow,
    "QuantizeLinear" => quant::import_quantize_linear,
    "ReduceMax" => reduce::import_reduce_max,
    "ReduceMean" => reduce::import_reduce_mean,
    "ReduceSum" => reduce::import_reduce_sum,
    "Relu" => activation::import_relu,
    "Reshape" => shape::import_reshape,
    "Resize" => resize::import_resize,
    "Shape" => shape::import_shape,
    "Sigmoid" => activation::import_sigmoid,
    "Slice" => movement::import_slice,
    "Softmax" => activation::import_softmax,
    "Split" => movement::import_split,
    "Sqrt" => activation::import_sqrt,
    "Squeeze" => shape::import_squeeze,
    "Sub" => elementwise::import_sub,
    "Sum" => elementwise::import_sum,
    "Tanh" => activation::import_tanh,
    "Transpose" => shape::import_transpose,
    "Unsqueeze" => shape::import_unsqueeze,
    "Upsample" => resize::import_upsample,
    "Where" => elementwise::import_where,
}

/// The importer of an ONNX op type.
pub(crate) fn lookup(op_type: &str) -> Option<ImportFn> {
    REGISTRY.iter().find(|(name, _)| *name == op_type).map(|(_, f)| *f)
}

/// An `Attr::Ints` from anything iterable as i64.
pub(crate) fn ints<I: IntoIterator<Item = T>, T: TryInto<i64>>(v: I) -> Attr {
    Attr::Ints(v.into_iter().map(|x| x.try_into().unwrap_or(i64::MAX)).collect())
}

/// A per-spatial-axis `ints` attribute (`strides`, `dilations`): `n` positive entries,
/// all `default` when absent.
pub(crate) fn spatial_attr(
    cx: &NodeCx,
    name: &str,
    n: usize,
    default: i64,
) -> Result<Vec<i64>, ImportError> {
    let Some(v) = cx.attrs.ints(name)? else { return Ok(vec![default; n]) };
    if v.len() != n {
        return Err(cx.attr_err(
            name,
            format!("has {} entries, expected {n} (one per spatial axis)", v.len()),
        ));
    }
    if v.iter().any(|&x| x < 1) {
        return Err(cx.attr_err(name, format!("{v:?} must be positive")));
    }
    Ok(v.to_vec())
}

/// The spatial dims of a rank-(n+2) NC… operand, as i64.
pub(crate) fn spatial_dims(shape: &[usize]) -> Vec<i64> {
    shape.iter().skip(2).map(|&d| d as i64).collect()
}

/// Explicit pads (begins ++ ends) for Conv and pooling from `auto_pad` and `pads`.
///
/// `SAME_UPPER`/`SAME_LOWER` pad so the output is `ceil(in / stride)`, the odd unit going at
/// the end (upper) or the beginning (lower); `VALID` pads nothing; `NOTSET` uses `pads`.
pub(crate) fn resolve_pads(
    cx: &NodeCx,
    input: &[i64],
    kernel: &[i64],
    strides: &[i64],
    dilations: &[i64],
) -> Result<Vec<i64>, ImportError> {
    let n = input.len();
    let auto =
        cx.attrs.choice("auto_pad", "NOTSET", &["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])?;
    match auto.as_str() {
        "VALID" => Ok(vec![0; 2 * n]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut begins = Vec::with_capacity(n);
            let mut ends = Vec::with_capacity(n);
            for i in 0..n {
                let (x, k, s, d) =
                    (input[i] as i128, kernel[i] as i128, strides[i] as i128, dilations[i] as i128);
                let out = (x + s - 1) / s;
                let total = ((out - 1) * s + (k - 1) * d + 1 - x).max(0);
                let small = total / 2;
                let (b, e) = if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                };
                begins.push(narrow(cx, b, "auto_pad")?);
                ends.push(narrow(cx, e, "auto_pad")?);
            }
            begins.extend(ends);
            Ok(begins)
        }
        _ => explicit_pads(cx, n),
    }
}

/// The product of `dims` (an element count); overflow is an error.
pub(crate) fn product(cx: &NodeCx, dims: &[usize]) -> Result<usize, ImportError> {
    super::tensor::numel(dims)
        .ok_or_else(|| cx.invalid(format!("the element count of {dims:?} overflows")))
}

/// An i128 intermediate back to i64; overflow is an error blamed on attribute `attr`.
pub(crate) fn narrow(cx: &NodeCx, v: i128, attr: &str) -> Result<i64, ImportError> {
    i64::try_from(v).map_err(|_| cx.attr_err(attr, format!("leads to a size that overflows ({v})")))
}

/// The `pads` attribute (2·n non-negative entries), zeros when absent.
pub(crate) fn explicit_pads(cx: &NodeCx, n: usize) -> Result<Vec<i64>, ImportError> {
    let Some(p) = cx.attrs.ints("pads")? else { return Ok(vec![0; 2 * n]) };
    if p.len() != 2 * n {
        return Err(cx.attr_err(
            "pads",
            format!(
                "has {} entries, expected {} (begins and ends of {n} spatial axes)",
                p.len(),
                2 * n
            ),
        ));
    }
    if p.iter().any(|&x| x < 0) {
        return Err(cx.attr_err("pads", format!("{p:?} must not be negative")));
    }
    Ok(p.to_vec())
}

/// The kernel's spatial shape: `kernel_shape` if given (checked against `from_weight` when
/// that is known), else `from_weight`.
pub(crate) fn kernel_shape(
    cx: &NodeCx,
    n: usize,
    from_weight: Option<&[i64]>,
) -> Result<Vec<i64>, ImportError> {
    match (cx.attrs.ints("kernel_shape")?, from_weight) {
        (Some(k), w) => {
            if k.len() != n || k.iter().any(|&x| x < 1) {
                return Err(
                    cx.attr_err("kernel_shape", format!("{k:?} should be {n} positive sizes"))
                );
            }
            if let Some(w) = w.filter(|w| *w != k) {
                return Err(cx.attr_err(
                    "kernel_shape",
                    format!("{k:?} disagrees with the weight's spatial shape {w:?}"),
                ));
            }
            Ok(k.to_vec())
        }
        (None, Some(w)) => Ok(w.to_vec()),
        (None, None) => Err(cx.attr_err("kernel_shape", "required attribute is missing")),
    }
}

/// Checks that operand `x` has rank ≥ 3 (N, C, spatial…); returns the spatial rank.
pub(crate) fn spatial_rank(cx: &NodeCx, x: ValueId) -> Result<usize, ImportError> {
    let r = cx.ty(x).rank();
    if r < 3 {
        return Err(cx.invalid(format!(
            "input `X` should have rank ≥ 3 (N, C, spatial…), found {}",
            cx.ty(x)
        )));
    }
    Ok(r - 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_sorted_unique_and_complete() {
        let mut sorted = SUPPORTED_OPS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, SUPPORTED_OPS, "keep the registry sorted and free of duplicates");
        for op in SUPPORTED_OPS {
            assert!(lookup(op).is_some());
        }
        assert!(lookup("NoSuchOp").is_none());
    }
}
