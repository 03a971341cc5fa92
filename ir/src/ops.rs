//! The op table: every IR op declared once, as data.
//!
//! An [`OpDef`] gives an op's mnemonic (its `.air` spelling), operand names, how many trailing
//! operands are optional, whether the last one repeats, its attributes with their kinds and
//! defaults, a one-line doc, the shape rule and the interpreter kernel. The printer, parser,
//! verifier, interpreter and `docs/ops.md` all read this table; nothing else lists ops.
//!
//! The IR is a normalised subset of ONNX: parameters that ONNX passes as constant inputs
//! (Reshape's shape, Slice's starts, Pad's pads, Resize's sizes…) are attributes here, fully
//! resolved by the importer (no `0`/`-1` in reshape shapes, non-negative axes). Several ONNX
//! ops map onto one IR op (Flatten/Squeeze/Unsqueeze → `reshape`, Dropout → `identity`,
//! GlobalAveragePool → `reduce_mean`); Shape and ConstantOfShape fold into `const` at import.

use crate::attr::{Attr, AttrKind, Attrs};
use crate::interp::{kernel, EvalCx, InterpError};
use crate::shape::{self, ShapeCx, ShapeError};
use crate::tensor::Tensor;
use crate::types::TensorType;
use std::fmt;

/// Computes result types from operand types and attributes.
pub type ShapeFn = fn(&ShapeCx) -> Result<Vec<TensorType>, ShapeError>;
/// Computes result tensors from operand tensors; the result types are already known.
pub type EvalFn = fn(&EvalCx) -> Result<Vec<Tensor>, InterpError>;

/// Default of an attribute the parser fills in when the text omits it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum AttrDefault {
    /// The attribute must be written.
    Required,
    /// The attribute may be left out and then is absent (not filled in): its absence is a
    /// meaning of its own (conv's `exact_bound`: an ordinary f32 convolution).
    Absent,
    /// An integer default.
    Int(i64),
    /// A float default.
    Float(f32),
    /// A string default.
    Str(&'static str),
    /// An empty list.
    EmptyInts,
    /// An empty float list.
    EmptyFloats,
}

impl AttrDefault {
    /// The default as a value, if there is one.
    pub fn value(self) -> Option<Attr> {
        match self {
            AttrDefault::Required | AttrDefault::Absent => None,
            AttrDefault::Int(v) => Some(Attr::Int(v)),
            AttrDefault::Float(v) => Some(Attr::Float(v)),
            AttrDefault::Str(v) => Some(Attr::Str(v.to_string())),
            AttrDefault::EmptyInts => Some(Attr::Ints(Vec::new())),
            AttrDefault::EmptyFloats => Some(Attr::Floats(Vec::new())),
        }
    }
}

/// One declared attribute.
#[derive(Copy, Clone, Debug)]
pub struct AttrDef {
    /// Name, snake_case.
    pub name: &'static str,
    /// Kind of value.
    pub kind: AttrKind,
    /// Default filled in by the parser and importer.
    pub default: AttrDefault,
}

/// How many results an op has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Results {
    /// Exactly one.
    One,
    /// One per entry of the `split` attribute.
    PerSplit,
    /// One, plus a second when the int attribute `flag` is 1 (`max_pool`'s indices).
    OneOrTwo {
        /// The attribute that asks for the second result.
        flag: &'static str,
    },
}

/// The declaration of one op.
#[derive(Debug)]
pub struct OpDef {
    /// The op.
    pub kind: OpKind,
    /// `.air` spelling.
    pub mnemonic: &'static str,
    /// Operand names, in order.
    pub operands: &'static [&'static str],
    /// How many trailing operands may be omitted.
    pub optional: usize,
    /// The last operand repeats (one or more).
    pub variadic: bool,
    /// Result count.
    pub results: Results,
    /// Attributes, all of which are present on a verified node.
    pub attrs: &'static [AttrDef],
    /// One-line description.
    pub doc: &'static str,
    /// Shape rule.
    pub shape: ShapeFn,
    /// Interpreter kernel.
    pub eval: EvalFn,
}

impl OpDef {
    /// Smallest operand count accepted.
    pub fn min_operands(&self) -> usize {
        self.operands.len() - self.optional
    }

    /// Largest operand count accepted (`None` when variadic).
    pub fn max_operands(&self) -> Option<usize> {
        (!self.variadic).then_some(self.operands.len())
    }

    /// Number of results for a node with these attributes.
    pub fn num_results(&self, attrs: &Attrs) -> usize {
        match self.results {
            Results::One => 1,
            Results::PerSplit => attrs.ints("split").map(|s| s.len()).unwrap_or(0),
            Results::OneOrTwo { flag } => {
                let default = self.attr(flag).and_then(|d| d.default.value());
                let on = match attrs.get(flag).or(default.as_ref()) {
                    Some(Attr::Int(v)) => *v == 1,
                    _ => false,
                };
                1 + usize::from(on)
            }
        }
    }

    /// The declaration of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&AttrDef> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// `attrs` with every absent attribute that has a default set to it (required ones
    /// stay absent), as the parser and importer fill them.
    pub fn with_defaults(&self, mut attrs: Attrs) -> Attrs {
        for d in self.attrs {
            if attrs.get(d.name).is_none() {
                if let Some(v) = d.default.value() {
                    attrs.set(d.name, v);
                }
            }
        }
        attrs
    }
}

macro_rules! op_kinds {
    ($($variant:ident),* $(,)?) => {
        /// Every IR op. `OPS[k as usize].kind == k` (checked by a test).
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum OpKind { $($variant),* }

        impl OpKind {
            /// Every op, in table order.
            pub const ALL: &'static [OpKind] = &[$(OpKind::$variant),*];
        }
    };
}

op_kinds!(
    Const,
    Identity,
    Conv,
    ConvTranspose,
    Gemm,
    MatMul,
    BatchNorm,
    Affine,
    LayerNorm,
    Lrn,
    Relu,
    LeakyRelu,
    Clip,
    Sigmoid,
    Tanh,
    HardSigmoid,
    HardSwish,
    Erf,
    Gelu,
    Exp,
    Log,
    Sqrt,
    Softmax,
    LogSoftmax,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Max,
    Min,
    Sum,
    Equal,
    Less,
    Greater,
    Where,
    Concat,
    Split,
    Slice,
    Gather,
    Reshape,
    Transpose,
    Expand,
    Pad,
    Resize,
    MaxPool,
    AvgPool,
    ReduceMean,
    ReduceSum,
    ReduceMax,
    Cast,
    QuantizeLinear,
    DequantizeLinear,
    Quantize,
    Dequantize,
    Pack,
    Unpack,
    Send,
    Recv,
);

impl OpKind {
    /// The op's declaration.
    pub fn def(self) -> &'static OpDef {
        &OPS[self as usize]
    }

    /// The `.air` spelling.
    pub fn mnemonic(self) -> &'static str {
        self.def().mnemonic
    }

    /// Looks an op up by mnemonic.
    pub fn from_mnemonic(s: &str) -> Option<OpKind> {
        OPS.iter().find(|d| d.mnemonic == s).map(|d| d.kind)
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mnemonic())
    }
}

const fn a(name: &'static str, kind: AttrKind) -> AttrDef {
    AttrDef { name, kind, default: AttrDefault::Required }
}
const fn ad(name: &'static str, kind: AttrKind, default: AttrDefault) -> AttrDef {
    AttrDef { name, kind, default }
}

use AttrDefault as D;
use AttrKind as K;

/// Largest `exact_bound` of `conv` and `gemm`: integers up to 2^24 are exact in f32.
pub const EXACT_BOUND_MAX: i64 = 1 << 24;

/// THE rule for what an exact `conv`/`gemm` may sum, shared by the `exact-conv` pass (which
/// only makes what fits) and the code generator (which refuses what does not): every output
/// sums `per_output` products of `|x| ≤ bound` and `|w| ≤ w_max`. Each product must be exact in
/// f32 (≤ 2^24) and each whole sum fit i32 (< 2^31). Returns the number of products whose
/// partial sums stay exact in f32 (`2^24 / (bound · w_max)`, at least 1), or `None`.
pub fn exact_chunk(bound: u64, w_max: u64, per_output: u64) -> Option<u64> {
    let product = bound.max(1).saturating_mul(w_max.max(1));
    let fits = product <= EXACT_BOUND_MAX as u64 && product.saturating_mul(per_output) < 1 << 31;
    fits.then(|| (EXACT_BOUND_MAX as u64 / product).max(1))
}

const CONV_ATTRS: &[AttrDef] = &[
    a("strides", K::Ints),
    a("pads", K::Ints),
    a("dilations", K::Ints),
    ad("group", K::Int, D::Int(1)),
    ad("activation", K::Str, D::Str("none")),
    ad("activation_params", K::Floats, D::EmptyFloats),
    ad("exact_bound", K::Int, D::Absent),
];
const MAX_POOL_ATTRS: &[AttrDef] = &[
    a("kernel_shape", K::Ints),
    a("strides", K::Ints),
    a("pads", K::Ints),
    a("dilations", K::Ints),
    ad("ceil_mode", K::Int, D::Int(0)),
    ad("indices", K::Int, D::Int(0)),
    ad("storage_order", K::Int, D::Int(0)),
];
const AVG_POOL_ATTRS: &[AttrDef] = &[
    a("kernel_shape", K::Ints),
    a("strides", K::Ints),
    a("pads", K::Ints),
    a("dilations", K::Ints),
    ad("ceil_mode", K::Int, D::Int(0)),
    ad("count_include_pad", K::Int, D::Int(0)),
];
const REDUCE_ATTRS: &[AttrDef] = &[a("axes", K::Ints), ad("keepdims", K::Int, D::Int(1))];
const AXIS: &[AttrDef] = &[a("axis", K::Int)];
const QUANT_ATTRS: &[AttrDef] =
    &[ad("axis", K::Int, D::Int(1)), ad("block_size", K::Int, D::Int(0))];
/// `quantize` / `dequantize`: the parameters of an `ir::quant::QuantParams` (axis -1: per
/// tensor).
const BOUNDARY_QUANT_ATTRS: &[AttrDef] = &[
    a("bits", K::Int),
    a("scheme", K::Str),
    a("scale", K::Floats),
    a("zero_point", K::Ints),
    ad("axis", K::Int, D::Int(-1)),
];

macro_rules! op {
    ($kind:ident, $mn:literal, [$($operand:literal),*], opt $opt:literal, $doc:literal,
     attrs $attrs:expr, shape $shape:path, eval $eval:path $(, $flag:ident)*) => {
        OpDef {
            kind: OpKind::$kind,
            mnemonic: $mn,
            operands: &[$($operand),*],
            optional: $opt,
            variadic: op!(@variadic $($flag)*),
            results: op!(@results $($flag)*),
            attrs: $attrs,
            doc: $doc,
            shape: $shape,
            eval: $eval,
        }
    };
    (@variadic variadic) => { true };
    (@variadic per_split) => { false };
    (@variadic indices) => { false };
    (@variadic) => { false };
    (@results per_split) => { Results::PerSplit };
    (@results indices) => { Results::OneOrTwo { flag: "indices" } };
    (@results variadic) => { Results::One };
    (@results) => { Results::One };
}

macro_rules! unary {
    ($kind:ident, $mn:literal, $doc:literal) => {
        op!($kind, $mn, ["x"], opt 0, $doc, attrs &[], shape shape::same_as_first,
            eval kernel::unary)
    };
}
macro_rules! binary {
    ($kind:ident, $mn:literal, $doc:literal, $shape:path) => {
        op!($kind, $mn, ["a", "b"], opt 0, $doc, attrs &[], shape $shape, eval kernel::binary)
    };
}

/// The op table, indexed by `OpKind as usize`.
pub static OPS: &[OpDef] = &[
    op!(Const, "const", [], opt 0, "A constant tensor.",
        attrs &[a("value", K::Tensor)], shape shape::constant, eval kernel::constant),
    unary!(Identity, "identity", "Returns its operand (ONNX Identity, and Dropout at inference)."),
    op!(Conv, "conv", ["x", "w", "b", "skip"], opt 2,
        "N-d convolution, NC[spatial] layout, grouped and dilated; pads = begins ++ ends; + b per channel, + skip (a fused residual add, broadcast to the result), then the fused activation (see ir.md).",
        attrs CONV_ATTRS, shape shape::conv, eval kernel::conv),
    op!(ConvTranspose, "conv_transpose", ["x", "w", "b"], opt 1,
        "Transposed convolution; pads = begins ++ ends, output_padding added at the end; + b per channel, then the fused activation (see ir.md).",
        attrs &[a("strides", K::Ints), a("pads", K::Ints), a("dilations", K::Ints),
                ad("group", K::Int, D::Int(1)), a("output_padding", K::Ints),
                ad("activation", K::Str, D::Str("none")),
                ad("activation_params", K::Floats, D::EmptyFloats)],
        shape shape::conv_transpose, eval kernel::conv_transpose),
    op!(Gemm, "gemm", ["a", "b", "c"], opt 1,
        "alpha·op(a)·op(b) + beta·c on 2-d operands; c broadcasts; then the fused activation.",
        attrs &[ad("alpha", K::Float, D::Float(1.0)), ad("beta", K::Float, D::Float(1.0)),
                ad("trans_a", K::Int, D::Int(0)), ad("trans_b", K::Int, D::Int(0)),
                ad("activation", K::Str, D::Str("none")),
                ad("activation_params", K::Floats, D::EmptyFloats),
                ad("exact_bound", K::Int, D::Absent)],
        shape shape::gemm, eval kernel::gemm),
    op!(MatMul, "matmul", ["a", "b", "bias"], opt 1,
        "numpy matmul: batched, broadcasting, 1-d operands promoted; + bias (broadcast to the result), then the fused activation.",
        attrs &[ad("activation", K::Str, D::Str("none")),
                ad("activation_params", K::Floats, D::EmptyFloats)],
        shape shape::matmul, eval kernel::matmul),
    op!(BatchNorm, "batch_norm", ["x", "scale", "bias", "mean", "var"], opt 0,
        "Inference batch normalisation over axis 1.",
        attrs &[ad("epsilon", K::Float, D::Float(1e-5))],
        shape shape::same_as_first, eval kernel::batch_norm),
    op!(Affine, "affine", ["x", "scale", "shift"], opt 0,
        "x · scale + shift, scale and shift broadcast to x without enlarging it (per channel in practice), then the fused activation: a chain of elementwise ops by constants as one node (see ir.md).",
        attrs &[ad("activation", K::Str, D::Str("none")),
                ad("activation_params", K::Floats, D::EmptyFloats)],
        shape shape::affine, eval kernel::affine),
    op!(LayerNorm, "layer_norm", ["x", "scale", "bias"], opt 1,
        "Layer normalisation over axes [axis, rank).",
        attrs &[ad("axis", K::Int, D::Int(-1)), ad("epsilon", K::Float, D::Float(1e-5))],
        shape shape::same_as_first, eval kernel::layer_norm),
    op!(Lrn, "lrn", ["x"], opt 0, "Local response normalisation across channels.",
        attrs &[a("size", K::Int), ad("alpha", K::Float, D::Float(1e-4)),
                ad("beta", K::Float, D::Float(0.75)), ad("bias", K::Float, D::Float(1.0))],
        shape shape::same_as_first, eval kernel::lrn),
    unary!(Relu, "relu", "max(x, 0)."),
    op!(LeakyRelu, "leaky_relu", ["x"], opt 0, "x if x ≥ 0 else alpha·x.",
        attrs &[ad("alpha", K::Float, D::Float(0.01))], shape shape::same_as_first,
        eval kernel::unary),
    op!(Clip, "clip", ["x"], opt 0, "min(max(x, min), max); Relu6 is clip 0..6.",
        attrs &[a("min", K::Float), a("max", K::Float)], shape shape::same_as_first,
        eval kernel::unary),
    unary!(Sigmoid, "sigmoid", "1 / (1 + exp(-x))."),
    unary!(Tanh, "tanh", "Hyperbolic tangent."),
    op!(HardSigmoid, "hard_sigmoid", ["x"], opt 0, "max(0, min(1, alpha·x + beta)).",
        attrs &[ad("alpha", K::Float, D::Float(0.2)), ad("beta", K::Float, D::Float(0.5))],
        shape shape::same_as_first, eval kernel::unary),
    unary!(HardSwish, "hard_swish", "x · max(0, min(1, x/6 + 1/2))."),
    unary!(Erf, "erf", "Gauss error function."),
    op!(Gelu, "gelu", ["x"], opt 0, "Gaussian error linear unit; approximate = none | tanh.",
        attrs &[ad("approximate", K::Str, D::Str("none"))], shape shape::same_as_first,
        eval kernel::unary),
    unary!(Exp, "exp", "e^x."),
    unary!(Log, "log", "Natural logarithm."),
    unary!(Sqrt, "sqrt", "Square root."),
    op!(Softmax, "softmax", ["x"], opt 0, "Softmax along one axis (ONNX opset-13 semantics).",
        attrs AXIS, shape shape::same_as_first, eval kernel::softmax),
    op!(LogSoftmax, "log_softmax", ["x"], opt 0, "Log of softmax along one axis.",
        attrs AXIS, shape shape::same_as_first, eval kernel::softmax),
    binary!(Add, "add", "a + b, numpy broadcasting.", shape::broadcast),
    binary!(Sub, "sub", "a - b, numpy broadcasting.", shape::broadcast),
    binary!(Mul, "mul", "a · b, numpy broadcasting.", shape::broadcast),
    binary!(
        Div,
        "div",
        "a / b, numpy broadcasting (integer division truncates).",
        shape::broadcast
    ),
    binary!(Pow, "pow", "a ^ b, numpy broadcasting; result has a's dtype.", shape::pow),
    op!(Max, "max", ["x"], opt 0, "Elementwise maximum of one or more operands, broadcasting.",
        attrs &[], shape shape::broadcast, eval kernel::variadic, variadic),
    op!(Min, "min", ["x"], opt 0, "Elementwise minimum of one or more operands, broadcasting.",
        attrs &[], shape shape::broadcast, eval kernel::variadic, variadic),
    op!(Sum, "sum", ["x"], opt 0, "Elementwise sum of one or more operands, broadcasting.",
        attrs &[], shape shape::broadcast, eval kernel::variadic, variadic),
    binary!(Equal, "equal", "a == b → bool, broadcasting.", shape::compare),
    binary!(Less, "less", "a < b → bool, broadcasting.", shape::compare),
    binary!(Greater, "greater", "a > b → bool, broadcasting.", shape::compare),
    op!(Where, "where", ["cond", "a", "b"], opt 0, "cond ? a : b, broadcasting.",
        attrs &[], shape shape::where_, eval kernel::where_),
    op!(Concat, "concat", ["x"], opt 0, "Concatenation along a non-negative axis.",
        attrs AXIS, shape shape::concat, eval kernel::concat, variadic),
    op!(Split, "split", ["x"], opt 0, "Splits along axis into parts of the given sizes.",
        attrs &[a("axis", K::Int), a("split", K::Ints)], shape shape::split,
        eval kernel::split, per_split),
    op!(Slice, "slice", ["x"], opt 0,
        "Strided slice; starts/ends/steps per listed axis, ONNX clamping and negative indices.",
        attrs &[a("starts", K::Ints), a("ends", K::Ints), a("axes", K::Ints), a("steps", K::Ints)],
        shape shape::slice, eval kernel::slice),
    op!(Gather, "gather", ["data", "indices"], opt 0,
        "Takes entries of data along axis at indices (negative indices count from the end).",
        attrs AXIS, shape shape::gather, eval kernel::gather),
    op!(Reshape, "reshape", ["x"], opt 0, "Same elements, new static shape.",
        attrs &[a("shape", K::Ints)], shape shape::reshape, eval kernel::reshape),
    op!(Transpose, "transpose", ["x"], opt 0, "Permutes axes: result dim i is operand dim perm[i].",
        attrs &[a("perm", K::Ints)], shape shape::transpose, eval kernel::transpose),
    op!(Expand, "expand", ["x"], opt 0, "Broadcasts to the given (resolved) shape.",
        attrs &[a("shape", K::Ints)], shape shape::expand, eval kernel::expand),
    op!(Pad, "pad", ["x"], opt 0,
        "Pads every axis; pads = begins ++ ends (negative crops); mode = constant | reflect | edge | wrap.",
        attrs &[a("pads", K::Ints), ad("mode", K::Str, D::Str("constant")),
                ad("value", K::Float, D::Float(0.0))],
        shape shape::pad, eval kernel::pad),
    op!(Resize, "resize", ["x"], opt 0,
        "Resizes to `sizes` with per-axis `scales` for the coordinate transform; mode = nearest | linear | cubic; tf_crop_and_resize reads roi = starts ++ ends (fractions of each axis) and writes extrapolation_value outside the input; antialias = 1 widens linear/cubic kernels when downscaling.",
        attrs &[a("sizes", K::Ints), a("scales", K::Floats), ad("mode", K::Str, D::Str("nearest")),
                ad("coordinate_transformation_mode", K::Str, D::Str("half_pixel")),
                ad("nearest_mode", K::Str, D::Str("round_prefer_floor")),
                ad("cubic_coeff_a", K::Float, D::Float(-0.75)),
                ad("exclude_outside", K::Int, D::Int(0)),
                ad("roi", K::Floats, D::EmptyFloats),
                ad("extrapolation_value", K::Float, D::Float(0.0)),
                ad("antialias", K::Int, D::Int(0))],
        shape shape::resize, eval kernel::resize),
    op!(MaxPool, "max_pool", ["x"], opt 0,
        "Max pooling; pads = begins ++ ends. With indices = 1 a second i64 result holds the flat index of each maximum in x (storage_order 0 = row-major, 1 = column-major spatial axes).",
        attrs MAX_POOL_ATTRS, shape shape::pool, eval kernel::max_pool, indices),
    op!(AvgPool, "avg_pool", ["x"], opt 0, "Average pooling; pads = begins ++ ends.",
        attrs AVG_POOL_ATTRS, shape shape::pool, eval kernel::avg_pool),
    op!(ReduceMean, "reduce_mean", ["x"], opt 0, "Mean over the listed axes.",
        attrs REDUCE_ATTRS, shape shape::reduce, eval kernel::reduce),
    op!(ReduceSum, "reduce_sum", ["x"], opt 0, "Sum over the listed axes.",
        attrs REDUCE_ATTRS, shape shape::reduce, eval kernel::reduce),
    op!(ReduceMax, "reduce_max", ["x"], opt 0, "Maximum over the listed axes.",
        attrs REDUCE_ATTRS, shape shape::reduce, eval kernel::reduce),
    op!(Cast, "cast", ["x"], opt 0,
        "Converts the element type (ONNX Cast semantics); saturate and round_mode (up | down | nearest) concern the 8-bit floats.",
        attrs &[a("to", K::DType), ad("saturate", K::Int, D::Int(1)),
                ad("round_mode", K::Str, D::Str("up"))],
        shape shape::cast, eval kernel::cast),
    op!(QuantizeLinear, "quantize_linear", ["x", "scale", "zero_point"], opt 1,
        "q = saturate(round_half_even(x / scale) + zero_point) to the integer dtype `to`, or x / scale + zero_point rounded to the float8/float4 `to` (±max when saturate = 1); per tensor, per axis, or in blocks of block_size along axis.",
        attrs &[ad("axis", K::Int, D::Int(1)), a("to", K::DType),
                ad("saturate", K::Int, D::Int(1)), ad("block_size", K::Int, D::Int(0))],
        shape shape::quantize_linear, eval kernel::quantize_linear),
    op!(DequantizeLinear, "dequantize_linear", ["x", "scale", "zero_point"], opt 1,
        "x = (q - zero_point) · scale, in scale's dtype; per tensor, per axis, or in blocks of block_size along axis.",
        attrs QUANT_ATTRS, shape shape::dequantize_linear, eval kernel::dequantize_linear),
    op!(Quantize, "quantize", ["x"], opt 0,
        "Auto-Split quantization of an f32 tensor to i32 codes (ir::quant): asym q = clamp(round_half_even(x / s) + z, 0, 2^bits − 1), sym q = clamp(round_half_even(x / s), −2^(bits−1)+1, 2^(bits−1)−1); one scale per tensor (axis = -1) or per channel along axis.",
        attrs BOUNDARY_QUANT_ATTRS, shape shape::quant::quantize, eval kernel::quantize),
    op!(Dequantize, "dequantize", ["q"], opt 0,
        "i32 codes back to f32: x = s · (q − z), with the attributes of the matching `quantize`.",
        attrs BOUNDARY_QUANT_ATTRS, shape shape::quant::dequantize, eval kernel::dequantize),
    op!(Pack, "pack", ["q"], opt 0,
        "Packs i32 codes of `bits` bits densely, LSB-first, into u8[ceil(numel · bits / 8)] (signed codes as their low bits).",
        attrs &[a("bits", K::Int)], shape shape::quant::pack, eval kernel::pack),
    op!(Unpack, "unpack", ["bytes"], opt 0,
        "Unpacks u8 bytes into i32 codes of `bits` bits and the given shape (count = product of shape); signed = 1 sign-extends.",
        attrs &[a("bits", K::Int), a("shape", K::Ints), ad("signed", K::Int, D::Int(0))],
        shape shape::quant::unpack, eval kernel::unpack),
    op!(Send, "send", ["x"], opt 0,
        "Edge side of the boundary: hands tensor `slot` of the frame to the transport (identity in the interpreter). Split phase only.",
        attrs &[a("slot", K::Int)], shape shape::quant::transfer, eval kernel::transfer),
    op!(Recv, "recv", ["x"], opt 0,
        "Cloud side of the boundary: receives tensor `slot` of the frame; its operand is the matching `send` (identity in the interpreter). Split phase only.",
        attrs &[a("slot", K::Int)], shape shape::quant::transfer, eval kernel::transfer),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_kind() {
        assert_eq!(OPS.len(), OpKind::ALL.len());
        for (i, d) in OPS.iter().enumerate() {
            assert_eq!(d.kind as usize, i, "OPS[{i}] is {:?}", d.kind);
        }
    }

    #[test]
    fn max_pool_gives_indices_only_when_asked() {
        let def = OpKind::MaxPool.def();
        assert_eq!(def.num_results(&Attrs::new()), 1);
        assert_eq!(def.num_results(&Attrs::new().with("indices", Attr::Int(0))), 1);
        assert_eq!(def.num_results(&Attrs::new().with("indices", Attr::Int(1))), 2);
        assert_eq!(OpKind::AvgPool.def().num_results(&Attrs::new()), 1);
    }

    #[test]
    fn mnemonics_are_unique_and_resolve() {
        for d in OPS {
            assert_eq!(OpKind::from_mnemonic(d.mnemonic), Some(d.kind));
        }
    }
}
