//! Per-op export of the dataflow ops: each IR op back to its ONNX op (opset 21 spelling).
//!
//! The reverse of the importer's normalisation: parameters the IR holds as attributes
//! (Reshape's shape, Slice's starts, Pad's pads, Resize's scales or sizes, Clip's bounds,
//! reduction axes…) become constant initializer inputs, and a fused layer is unfolded into
//! its ONNX ops in the order the interpreter applies them (see `ir/src/interp/epilogue.rs`):
//! compute, + bias, + skip, then the activation. The boundary ops are in [`super::boundary`];
//! constants are written lazily as initializers by the graph walk.

use super::proto::{self, float, int, ints, string, with};
use super::{check_dtype, ExportError, Exporter};
use asplit_ir::activation::Activation;
use asplit_ir::attr::{AttrError, Attrs};
use asplit_ir::graph::{NodeId, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::tensor::Tensor;
use asplit_ir::types::DType;
use asplit_runtime::proto::dtype_to_onnx;
use onnx_protobuf::AttributeProto;

/// Exports node `n` (not a constant, not a boundary op).
pub(super) fn node(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let g = x.g;
    let node = &g.nodes[n];
    let a = &node.attrs;
    let at = |r: Result<AttrsOut, AttrError>| r.map_err(|e| x.invalid(n, e));
    use OpKind as K;
    match node.op {
        K::Conv => conv(x, n),
        K::ConvTranspose => conv_transpose(x, n),
        K::Gemm => gemm(x, n),
        K::MatMul => matmul(x, n),
        K::Affine => affine(x, n),
        K::Clip => clip(x, n),
        K::Split => split(x, n),
        K::Slice => slice(x, n),
        K::Reshape => reshape(x, n),
        K::Expand => {
            let shape = at(a.ints("shape").map(|s| vec![Out::I64s("shape", s.to_vec())]))?;
            simple(x, n, "Expand", shape)
        }
        K::Pad => pad(x, n),
        K::Resize => resize(x, n),
        K::MaxPool | K::AvgPool => pool(x, n),
        K::ReduceMean => reduce(x, n, "ReduceMean"),
        K::ReduceSum => reduce(x, n, "ReduceSum"),
        K::ReduceMax => reduce(x, n, "ReduceMax"),
        K::Cast => cast(x, n),
        K::QuantizeLinear => quantize_linear(x, n),
        K::DequantizeLinear => {
            let attrs = at(attrs_of(a, &[("axis", Kind::Int), ("block_size", Kind::Int)]))?;
            simple(x, n, "DequantizeLinear", attrs)
        }
        K::Identity => simple(x, n, "Identity", Vec::new()),
        K::BatchNorm => {
            let attrs = at(attrs_of(a, &[("epsilon", Kind::Float)]))?;
            simple(x, n, "BatchNormalization", attrs)
        }
        K::LayerNorm => {
            let attrs = at(attrs_of(a, &[("axis", Kind::Int), ("epsilon", Kind::Float)]))?;
            simple(x, n, "LayerNormalization", attrs)
        }
        K::Lrn => {
            let names = [
                ("size", Kind::Int),
                ("alpha", Kind::Float),
                ("beta", Kind::Float),
                ("bias", Kind::Float),
            ];
            let attrs = at(attrs_of(a, &names))?;
            simple(x, n, "LRN", attrs)
        }
        K::LeakyRelu => {
            let attrs = at(attrs_of(a, &[("alpha", Kind::Float)]))?;
            simple(x, n, "LeakyRelu", attrs)
        }
        K::HardSigmoid => {
            let attrs = at(attrs_of(a, &[("alpha", Kind::Float), ("beta", Kind::Float)]))?;
            simple(x, n, "HardSigmoid", attrs)
        }
        K::Gelu => {
            let attrs = at(attrs_of(a, &[("approximate", Kind::Str)]))?;
            simple(x, n, "Gelu", attrs)
        }
        K::Softmax | K::LogSoftmax | K::Concat | K::Gather => {
            let attrs = at(attrs_of(a, &[("axis", Kind::Int)]))?;
            simple(x, n, onnx_name(node.op), attrs)
        }
        K::Transpose => {
            let attrs = at(attrs_of(a, &[("perm", Kind::Ints)]))?;
            simple(x, n, "Transpose", attrs)
        }
        K::Relu
        | K::Sigmoid
        | K::Tanh
        | K::HardSwish
        | K::Erf
        | K::Exp
        | K::Log
        | K::Sqrt
        | K::Add
        | K::Sub
        | K::Mul
        | K::Div
        | K::Pow
        | K::Max
        | K::Min
        | K::Sum
        | K::Equal
        | K::Less
        | K::Greater
        | K::Where => simple(x, n, onnx_name(node.op), Vec::new()),
        K::Const => Ok(()),
        K::Quantize | K::Dequantize | K::Pack | K::Unpack | K::Send | K::Recv => {
            Err(x.invalid(n, "boundary op reached the dataflow exporter"))
        }
    }
}

/// The ONNX op type of the ops that map one to one.
fn onnx_name(op: OpKind) -> &'static str {
    use OpKind as K;
    match op {
        K::Relu => "Relu",
        K::Sigmoid => "Sigmoid",
        K::Tanh => "Tanh",
        K::HardSwish => "HardSwish",
        K::Erf => "Erf",
        K::Exp => "Exp",
        K::Log => "Log",
        K::Sqrt => "Sqrt",
        K::Add => "Add",
        K::Sub => "Sub",
        K::Mul => "Mul",
        K::Div => "Div",
        K::Pow => "Pow",
        K::Max => "Max",
        K::Min => "Min",
        K::Sum => "Sum",
        K::Equal => "Equal",
        K::Less => "Less",
        K::Greater => "Greater",
        K::Where => "Where",
        K::Softmax => "Softmax",
        K::LogSoftmax => "LogSoftmax",
        K::Concat => "Concat",
        K::Gather => "Gather",
        _ => "Identity",
    }
}

/// The kind of an attribute copied as is.
#[derive(Copy, Clone)]
enum Kind {
    Int,
    Ints,
    Float,
    Str,
}

/// An ONNX node parameter: an attribute, or an extra constant input.
enum Out {
    /// An attribute.
    Attr(Box<AttributeProto>),
    /// An i64 vector initializer appended as the next input (`hint` names it).
    I64s(&'static str, Vec<i64>),
}

type AttrsOut = Vec<Out>;

/// Copies IR attributes of the same name and meaning into ONNX attributes.
fn attrs_of(a: &Attrs, names: &[(&str, Kind)]) -> Result<AttrsOut, AttrError> {
    names
        .iter()
        .map(|&(name, kind)| {
            let onnx = onnx_attr_name(name);
            Ok(Out::Attr(Box::new(match kind {
                Kind::Int => int(onnx, a.int(name)?),
                Kind::Ints => ints(onnx, a.ints(name)?),
                Kind::Float => float(onnx, a.float(name)?),
                Kind::Str => string(onnx, a.str(name)?),
            })))
        })
        .collect()
}

/// ONNX spells some attributes in camelCase.
fn onnx_attr_name(ir: &str) -> &str {
    match ir {
        "trans_a" => "transA",
        "trans_b" => "transB",
        other => other,
    }
}

/// Node `n` as one ONNX node of `op_type` over its operands (then the extra inputs), writing
/// its results.
fn simple(x: &mut Exporter, n: NodeId, op_type: &str, params: AttrsOut) -> Result<(), ExportError> {
    let node = &x.g.nodes[n];
    let mut inputs = Vec::with_capacity(node.inputs.len() + params.len());
    for &v in &node.inputs {
        inputs.push(x.operand(n, v)?);
    }
    let mut attrs = Vec::new();
    for p in params {
        match p {
            Out::Attr(a) => attrs.push(*a),
            Out::I64s(hint, v) => inputs.push(x.i64s(hint, &v)?),
        }
    }
    let outputs: Vec<String> = node.outputs.iter().map(|&v| x.result(v)).collect();
    let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let outs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    x.push(with(proto::node(op_type, &ins, &outs), attrs));
    Ok(())
}

/// A compute node followed by its epilogue: `main` computes into a temporary, each of `adds`
/// is added in turn, then the activation; the last step writes the node's result.
fn chain(
    x: &mut Exporter,
    n: NodeId,
    main: (&str, Vec<String>, Vec<AttributeProto>),
    adds: Vec<String>,
) -> Result<(), ExportError> {
    let node = &x.g.nodes[n];
    let out_v = first_result(x, n)?;
    let act = Activation::from_attrs(&node.attrs).map_err(|e| x.invalid(n, e))?;
    let steps = 1 + adds.len() + usize::from(act != Activation::None);
    let mut step = 0;
    let mut next = |x: &mut Exporter| {
        step += 1;
        if step == steps {
            x.result(out_v)
        } else {
            x.fresh_name("t")
        }
    };
    let (op_type, inputs, attrs) = main;
    let mut cur = next(x);
    let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
    x.push(with(proto::node(op_type, &ins, &[&cur]), attrs));
    for add in adds {
        let out = next(x);
        x.push(proto::node("Add", &[&cur, &add], &[&out]));
        cur = out;
    }
    if act != Activation::None {
        let out = next(x);
        activation(x, n, act, &cur, &out)?;
    }
    Ok(())
}

/// The ONNX node(s) of a fused activation, `input` → `output`.
fn activation(
    x: &mut Exporter,
    n: NodeId,
    act: Activation,
    input: &str,
    output: &str,
) -> Result<(), ExportError> {
    let node = match act {
        Activation::None => proto::node("Identity", &[input], &[output]),
        Activation::Relu => proto::node("Relu", &[input], &[output]),
        Activation::LeakyRelu { alpha } => {
            with(proto::node("LeakyRelu", &[input], &[output]), vec![float("alpha", alpha)])
        }
        Activation::Clip { min, max } => {
            let dtype = x.g.ty(first_result(x, n)?).dtype;
            let (lo, hi) = clip_bounds(x, dtype, min, max)?;
            proto::node("Clip", &[input, &lo, &hi], &[output])
        }
        Activation::Sigmoid => proto::node("Sigmoid", &[input], &[output]),
        Activation::HardSwish => proto::node("HardSwish", &[input], &[output]),
        Activation::Gelu { tanh } => {
            let approx = if tanh { "tanh" } else { "none" };
            with(proto::node("Gelu", &[input], &[output]), vec![string("approximate", approx)])
        }
    };
    x.push(node);
    Ok(())
}

/// Clip's `min` and `max` inputs as scalars of `dtype`; an infinite bound is left out (an
/// empty input name), which also keeps it from wrapping when cast to an integer type.
fn clip_bounds(
    x: &mut Exporter,
    dtype: DType,
    min: f32,
    max: f32,
) -> Result<(String, String), ExportError> {
    let lo = if min == f32::NEG_INFINITY { String::new() } else { x.scalar("min", dtype, min)? };
    let hi = if max == f32::INFINITY { String::new() } else { x.scalar("max", dtype, max)? };
    Ok((lo, hi))
}

/// The first result of node `n`.
fn first_result(x: &Exporter, n: NodeId) -> Result<ValueId, ExportError> {
    x.g.nodes[n].outputs.first().copied().ok_or_else(|| x.invalid(n, "no result"))
}

/// The operand names of node `n`, the first `k` of them (fewer when absent).
fn operands(x: &mut Exporter, n: NodeId, k: usize) -> Result<Vec<String>, ExportError> {
    let vs: Vec<ValueId> = x.g.nodes[n].inputs.iter().take(k).copied().collect();
    vs.into_iter().map(|v| x.operand(n, v)).collect()
}

/// Operand `i` of node `n`, if present.
fn opt_operand(x: &mut Exporter, n: NodeId, i: usize) -> Result<Option<String>, ExportError> {
    match x.g.nodes[n].inputs.get(i).copied() {
        Some(v) => Ok(Some(x.operand(n, v)?)),
        None => Ok(None),
    }
}

fn spatial_attrs(
    x: &Exporter,
    n: NodeId,
    names: &[&str],
) -> Result<Vec<AttributeProto>, ExportError> {
    let a = &x.g.nodes[n].attrs;
    names
        .iter()
        .map(|&name| a.ints(name).map(|v| ints(name, v)).map_err(|e| x.invalid(n, e)))
        .collect()
}

/// The kernel's spatial shape from the weight operand (`w` is operand 1).
fn kernel_shape(x: &Exporter, n: NodeId) -> Result<AttributeProto, ExportError> {
    let w = x.g.nodes[n].inputs.get(1).copied().ok_or_else(|| x.invalid(n, "no weight"))?;
    let shape = &x.g.ty(w).shape;
    let k: Vec<i64> = shape.iter().skip(2).map(|&d| d as i64).collect();
    Ok(ints("kernel_shape", &k))
}

/// True when the weight (operand 1) of node `n` is a `dequantize` result. ONNX Runtime then
/// quantizes a float bias input of Conv/Gemm to int32 at `x_scale · w_scale` (its QDQ bias
/// quantization, even at the basic optimisation level), which changes the numbers: such a
/// bias is added by a separate Add instead, which it leaves alone.
fn dequantized_weight(x: &Exporter, n: NodeId) -> bool {
    let w = x.g.nodes[n].inputs.get(1).copied();
    w.and_then(|w| x.g.producer(w)).is_some_and(|p| x.g.nodes[p].op == OpKind::Dequantize)
}

/// Per-channel bias operand `i` of a channel-first layer, shaped `[1, C, 1, …]` (the rank of
/// the result) for a separate Add; `None` when absent.
fn channel_bias(x: &mut Exporter, n: NodeId, i: usize) -> Result<Option<String>, ExportError> {
    let g = x.g;
    let Some(&b) = g.nodes[n].inputs.get(i) else { return Ok(None) };
    let rank = g.ty(first_result(x, n)?).rank();
    let channels = g.ty(b).numel();
    let mut shape = vec![1usize; rank.max(2)];
    shape[1] = channels;
    if let Some(t) = g.const_value(b) {
        let t = t.reshaped(shape).map_err(|e| x.invalid(n, e))?;
        return Ok(Some(x.constant("bias", &t)));
    }
    let src = x.operand(n, b)?;
    let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    let shape_name = x.i64s("shape", &dims)?;
    let out = x.fresh_name("t");
    x.push(proto::node("Reshape", &[&src, &shape_name], &[&out]));
    Ok(Some(out))
}

/// The operands of a conv-like node up to its bias (operand 2), and the Adds of its epilogue:
/// the bias when it must be separate ([`dequantized_weight`]), then the skip (operand 3).
fn conv_operands(x: &mut Exporter, n: NodeId) -> Result<(Vec<String>, Vec<String>), ExportError> {
    let separate = dequantized_weight(x, n);
    let inputs = operands(x, n, if separate { 2 } else { 3 })?;
    let mut adds = Vec::new();
    if separate {
        adds.extend(channel_bias(x, n, 2)?);
    }
    adds.extend(opt_operand(x, n, 3)?);
    Ok((inputs, adds))
}

/// `conv(x, w, b?, skip?)` → Conv(x, w, b) (+ Add skip) (+ activation).
fn conv(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let mut attrs = spatial_attrs(x, n, &["strides", "pads", "dilations"])?;
    let group = x.g.nodes[n].attrs.int("group").map_err(|e| x.invalid(n, e))?;
    attrs.push(int("group", group));
    attrs.push(kernel_shape(x, n)?);
    let (inputs, adds) = conv_operands(x, n)?;
    chain(x, n, ("Conv", inputs, attrs), adds)
}

/// `conv_transpose(x, w, b?)` → ConvTranspose (+ activation).
fn conv_transpose(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let mut attrs = spatial_attrs(x, n, &["strides", "pads", "dilations", "output_padding"])?;
    let group = x.g.nodes[n].attrs.int("group").map_err(|e| x.invalid(n, e))?;
    attrs.push(int("group", group));
    attrs.push(kernel_shape(x, n)?);
    let (inputs, adds) = conv_operands(x, n)?;
    chain(x, n, ("ConvTranspose", inputs, attrs), adds)
}

/// `gemm(a, b, c?)` → Gemm (+ Add c when `b` is dequantized and beta = 1) (+ activation).
fn gemm(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let names = [
        ("alpha", Kind::Float),
        ("beta", Kind::Float),
        ("trans_a", Kind::Int),
        ("trans_b", Kind::Int),
    ];
    let attrs = attrs_of(a, &names)
        .map_err(|e| x.invalid(n, e))?
        .into_iter()
        .filter_map(|o| match o {
            Out::Attr(a) => Some(*a),
            Out::I64s(..) => None,
        })
        .collect();
    let beta = a.float("beta").map_err(|e| x.invalid(n, e))?;
    let separate = dequantized_weight(x, n) && beta == 1.0;
    let inputs = operands(x, n, if separate { 2 } else { 3 })?;
    let adds = if separate { opt_operand(x, n, 2)?.into_iter().collect() } else { Vec::new() };
    chain(x, n, ("Gemm", inputs, attrs), adds)
}

/// `matmul(a, b, bias?)` → MatMul (+ Add bias) (+ activation).
fn matmul(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let inputs = operands(x, n, 2)?;
    let adds: Vec<String> = opt_operand(x, n, 2)?.into_iter().collect();
    chain(x, n, ("MatMul", inputs, Vec::new()), adds)
}

/// `affine(x, scale, shift)` → Mul + Add (+ activation).
fn affine(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let inputs = operands(x, n, 2)?;
    let shift = opt_operand(x, n, 2)?.ok_or_else(|| x.invalid(n, "no `shift` operand"))?;
    chain(x, n, ("Mul", inputs, Vec::new()), vec![shift])
}

/// `clip {min, max}` → Clip(x, min, max) with the bounds as scalars of x's type.
fn clip(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let (min, max) =
        a.float("min").and_then(|lo| Ok((lo, a.float("max")?))).map_err(|e| x.invalid(n, e))?;
    let inputs = operands(x, n, 1)?;
    let out_v = first_result(x, n)?;
    let (lo, hi) = clip_bounds(x, x.g.ty(out_v).dtype, min, max)?;
    let out = x.result(out_v);
    let input = inputs.first().ok_or_else(|| x.invalid(n, "no operand"))?;
    x.push(proto::node("Clip", &[input, &lo, &hi], &[&out]));
    Ok(())
}

/// `split {axis, split}` → Split(x, split).
fn split(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let sizes = a.ints("split").map_err(|e| x.invalid(n, e))?.to_vec();
    let axis = a.int("axis").map_err(|e| x.invalid(n, e))?;
    simple(x, n, "Split", vec![Out::I64s("split", sizes), Out::Attr(Box::new(int("axis", axis)))])
}

/// `slice {starts, ends, axes, steps}` → Slice(x, starts, ends, axes, steps).
fn slice(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let get = |name: &'static str| a.ints(name).map(|v| Out::I64s(name, v.to_vec()));
    let params: Result<Vec<Out>, AttrError> =
        ["starts", "ends", "axes", "steps"].into_iter().map(get).collect();
    let params = params.map_err(|e| x.invalid(n, e))?;
    simple(x, n, "Slice", params)
}

/// `reshape {shape}` → Reshape(x, shape), `allowzero` when the shape has a 0 (the IR's
/// shapes are resolved: a 0 is an empty axis, not "copy").
fn reshape(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let shape = x.g.nodes[n].attrs.ints("shape").map_err(|e| x.invalid(n, e))?.to_vec();
    let zero = shape.contains(&0);
    let mut params = vec![Out::I64s("shape", shape)];
    if zero {
        params.push(Out::Attr(Box::new(int("allowzero", 1))));
    }
    simple(x, n, "Reshape", params)
}

/// `pad {pads, mode, value}` → Pad(x, pads, value) with the value in x's type.
fn pad(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let pads = a.ints("pads").map_err(|e| x.invalid(n, e))?.to_vec();
    let mode = a.str("mode").map_err(|e| x.invalid(n, e))?.to_string();
    let value = a.float("value").map_err(|e| x.invalid(n, e))?;
    let xin = operands(x, n, 1)?;
    let pads = x.i64s("pads", &pads)?;
    let dtype = x.g.ty(first_result(x, n)?).dtype;
    let input = xin.first().cloned().ok_or_else(|| x.invalid(n, "no operand"))?;
    let mut inputs = vec![input, pads];
    if mode == "constant" {
        inputs.push(x.scalar("value", dtype, value)?);
    }
    let out = x.result(first_result(x, n)?);
    let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
    x.push(with(proto::node("Pad", &ins, &[&out]), vec![string("mode", &mode)]));
    Ok(())
}

/// `resize` → Resize(x, roi, scales) when `floor(in · scale)` gives the IR's sizes (ONNX then
/// transforms coordinates with those very scales), else Resize(x, roi, "", sizes) when the
/// IR's scales are `size / in`; other combinations have no ONNX spelling.
fn resize(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let node = &x.g.nodes[n];
    let a = &node.attrs;
    let inv = |e: AttrError| x.invalid(n, e);
    let sizes = a.ints("sizes").map_err(inv)?.to_vec();
    let scales = a.floats("scales").map_err(inv)?.to_vec();
    let roi = a.floats("roi").map_err(inv)?.to_vec();
    let xv = *node.inputs.first().ok_or_else(|| x.invalid(n, "no operand"))?;
    let shape = x.g.ty(xv).shape.clone();
    if sizes.len() != shape.len() || scales.len() != shape.len() {
        return Err(x.invalid(n, "`sizes` and `scales` need one entry per axis"));
    }
    let by_scales = shape
        .iter()
        .zip(&scales)
        .zip(&sizes)
        .all(|((&d, &s), &z)| (d as f64 * f64::from(s)).floor() as i64 == z);
    let by_sizes = shape
        .iter()
        .zip(&scales)
        .zip(&sizes)
        .all(|((&d, &s), &z)| d > 0 && (z as f64 / d as f64) as f32 == s);
    let names = [
        ("mode", Kind::Str),
        ("coordinate_transformation_mode", Kind::Str),
        ("nearest_mode", Kind::Str),
        ("cubic_coeff_a", Kind::Float),
        ("exclude_outside", Kind::Int),
        ("extrapolation_value", Kind::Float),
        ("antialias", Kind::Int),
    ];
    let mut attrs: Vec<AttributeProto> = attrs_of(a, &names)
        .map_err(inv)?
        .into_iter()
        .filter_map(|o| match o {
            Out::Attr(a) => Some(*a),
            Out::I64s(..) => None,
        })
        .collect();
    let input = x.operand(n, xv)?;
    let roi_name = if roi.is_empty() {
        String::new()
    } else {
        let t = Tensor::from_f32([roi.len()], roi).map_err(|e| x.invalid(n, e))?;
        x.constant("roi", &t)
    };
    let (scales_name, sizes_name) = if by_scales {
        let t = Tensor::from_f32([scales.len()], scales).map_err(|e| x.invalid(n, e))?;
        (x.constant("scales", &t), String::new())
    } else if by_sizes {
        (String::new(), x.i64s("sizes", &sizes)?)
    } else if let Some((policy, axes, axis_sizes)) =
        aspect_policy(&shape, &sizes, &scales).filter(|_| roi_name.is_empty())
    {
        attrs.push(string("keep_aspect_ratio_policy", policy));
        attrs.push(ints("axes", &axes));
        (String::new(), x.i64s("sizes", &axis_sizes)?)
    } else {
        return Err(x.unsupported(
            n,
            format!(
                "a resize to sizes {sizes:?} with transform scales {scales:?} (ONNX takes \
                 either scales, giving floor(in · scale), or sizes, giving scale = size / in)"
            ),
        ));
    };
    let out = x.result(first_result(x, n)?);
    let ins = [input.as_str(), &roi_name, &scales_name, &sizes_name];
    let used = if sizes_name.is_empty() { 3 } else { 4 };
    x.push(with(proto::node("Resize", &ins[..used], &[&out]), attrs));
    Ok(())
}

/// A `keep_aspect_ratio_policy` over the resized axes that gives the IR's sizes and its one
/// common scale (a resize imported from such a policy): ONNX scales every listed axis by the
/// largest (`not_smaller`) or smallest (`not_larger`) size / in and rounds sizes half up.
/// Returns the policy, the axes and their sizes.
fn aspect_policy(
    shape: &[usize],
    sizes: &[i64],
    scales: &[f32],
) -> Option<(&'static str, Vec<i64>, Vec<i64>)> {
    let axes: Vec<usize> =
        (0..shape.len()).filter(|&a| sizes[a] != shape[a] as i64 || scales[a] != 1.0).collect();
    let c = scales[*axes.first()?];
    if axes.iter().any(|&a| scales[a] != c || shape[a] == 0) {
        return None;
    }
    let ratios = || axes.iter().map(|&a| sizes[a] as f64 / shape[a] as f64);
    for policy in ["not_smaller", "not_larger"] {
        let common = match policy {
            "not_smaller" => ratios().fold(f64::MIN, f64::max),
            _ => ratios().fold(f64::MAX, f64::min),
        };
        let same_sizes =
            axes.iter().all(|&a| (common * shape[a] as f64 + 0.5).floor() as i64 == sizes[a]);
        if common as f32 == c && same_sizes {
            let axis_sizes = axes.iter().map(|&a| sizes[a]).collect();
            return Some((policy, axes.iter().map(|&a| a as i64).collect(), axis_sizes));
        }
    }
    None
}

/// `max_pool` / `avg_pool` → MaxPool (with the indices result when asked) / AveragePool.
/// Unit `dilations` are left out (the default): ONNX Runtime's QDQ fusion copies them into
/// its QLinearAveragePool, which then refuses the model.
fn pool(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let node = &x.g.nodes[n];
    let a = &node.attrs;
    let dilations = a.ints("dilations").map_err(|e| x.invalid(n, e))?;
    let names: &[&str] = if dilations.iter().all(|&d| d == 1) {
        &["kernel_shape", "strides", "pads"]
    } else {
        &["kernel_shape", "strides", "pads", "dilations"]
    };
    let mut attrs = spatial_attrs(x, n, names)?;
    let (op_type, extra): (&str, &[&str]) = match node.op {
        OpKind::MaxPool => ("MaxPool", &["ceil_mode", "storage_order"]),
        _ => ("AveragePool", &["ceil_mode", "count_include_pad"]),
    };
    for &name in extra {
        attrs.push(int(name, a.int(name).map_err(|e| x.invalid(n, e))?));
    }
    let params = attrs.into_iter().map(|a| Out::Attr(Box::new(a))).collect();
    simple(x, n, op_type, params)
}

/// `reduce_* {axes, keepdims}` → Reduce*(x, axes); no axes is the identity
/// (`noop_with_empty_axes`), as in the IR.
fn reduce(x: &mut Exporter, n: NodeId, op_type: &str) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let axes = a.ints("axes").map_err(|e| x.invalid(n, e))?.to_vec();
    let keepdims = a.int("keepdims").map_err(|e| x.invalid(n, e))?;
    let mut params = vec![Out::Attr(Box::new(int("keepdims", keepdims)))];
    if axes.is_empty() {
        params.push(Out::Attr(Box::new(int("noop_with_empty_axes", 1))));
    } else {
        params.push(Out::I64s("axes", axes));
    }
    simple(x, n, op_type, params)
}

/// `cast {to, saturate, round_mode}` → Cast; `saturate` only for the 8-bit float targets,
/// where ONNX reads it.
fn cast(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let a = &x.g.nodes[n].attrs;
    let to = a.dtype("to").map_err(|e| x.invalid(n, e))?;
    check_dtype(x.opset, to).map_err(|what| x.unsupported(n, what))?;
    let mut params = vec![Out::Attr(Box::new(int("to", i64::from(dtype_to_onnx(to)))))];
    if to.is_any_float() && to.bits() == 8 {
        let saturate = a.int("saturate").map_err(|e| x.invalid(n, e))?;
        params.push(Out::Attr(Box::new(int("saturate", saturate))));
    }
    simple(x, n, "Cast", params)
}

/// `quantize_linear {to, axis, saturate, block_size}` → QuantizeLinear with an explicit zero
/// point (zeros of type `to` when the IR omits it, which is what ONNX means by no zero point).
fn quantize_linear(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let node = &x.g.nodes[n];
    let a = &node.attrs;
    let to = a.dtype("to").map_err(|e| x.invalid(n, e))?;
    check_dtype(x.opset, to).map_err(|what| x.unsupported(n, what))?;
    let mut inputs = operands(x, n, 3)?;
    if inputs.len() == 2 {
        let scale = *node.inputs.get(1).ok_or_else(|| x.invalid(n, "no `scale` operand"))?;
        let ty = x.g.ty(scale).clone();
        let zero = Tensor::splat(&ty, 0.0).cast(to);
        inputs.push(x.constant("zero_point", &zero));
    }
    let mut attrs = vec![
        int("axis", a.int("axis").map_err(|e| x.invalid(n, e))?),
        int("block_size", a.int("block_size").map_err(|e| x.invalid(n, e))?),
    ];
    if to.is_any_float() {
        attrs.push(int("saturate", a.int("saturate").map_err(|e| x.invalid(n, e))?));
    }
    let out = x.result(first_result(x, n)?);
    let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
    x.push(with(proto::node("QuantizeLinear", &ins, &[&out]), attrs));
    Ok(())
}
