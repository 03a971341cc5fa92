//! Export of the Split-phase boundary ops as standard ONNX quantization.
//!
//! - `quantize` → QuantizeLinear to u8 (asym) / i8 (sym) (u16 / i16 above 8 bits), then a
//!   Clip to the b-bit code range when it is narrower than the type's: `[0, 2^b − 1]` or
//!   `[−(2^(b−1) − 1), 2^(b−1) − 1]` (`ir::quant`). QuantizeLinear divides by the scale and
//!   rounds half to even like `ir::quant`, so the codes are the interpreter's. (16-bit
//!   containers clamp the f32 operand to the code range's image instead, which gives the
//!   same codes: ONNX Runtime has no 16-bit integer Clip.)
//! - `dequantize` of codes → DequantizeLinear (per axis when `axis` ≥ 0); of constant i32
//!   weight codes → an 8-bit (16-bit above 8 bits) integer initializer + DequantizeLinear.
//! - `pack`, `send`, `recv`, `unpack` pass the codes through: ONNX has no bit packing, so the
//!   tensor between QuantizeLinear and DequantizeLinear is the codes themselves.
//!
//! A partition cut at the codes ([`super::export_partitions`]) also uses
//! [`unpacked_inputs`]: a cloud graph input read by `unpack` arrives as the codes.

use super::proto::{self, int, with};
use super::{Codes, Entry, ExportError, Exporter};
use asplit_ir::graph::{Graph, NodeId, ValueId};
use asplit_ir::ops::OpKind;
use asplit_ir::quant::{QuantParams, Scheme};
use asplit_ir::shape::quant::params_from_attrs;
use asplit_ir::tensor::{Tensor, TensorData};
use asplit_ir::types::DType;
use std::collections::HashMap;

/// Exports boundary node `n`.
pub(super) fn node(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let g = x.g;
    match g.nodes[n].op {
        OpKind::Quantize => quantize(x, n),
        OpKind::Dequantize => dequantize(x, n),
        OpKind::Pack | OpKind::Unpack => pass_codes(x, n),
        _ => pass_through(x, n),
    }
}

fn params(x: &Exporter, n: NodeId) -> Result<QuantParams, ExportError> {
    params_from_attrs(&x.g.nodes[n].attrs).map_err(|m| x.invalid(n, m))
}

fn codes_of(p: &QuantParams) -> Codes {
    Codes { bits: p.bits, signed: p.scheme == Scheme::Symmetric }
}

fn one_operand(x: &Exporter, n: NodeId) -> Result<(ValueId, ValueId), ExportError> {
    let node = &x.g.nodes[n];
    node.inputs
        .first()
        .copied()
        .zip(node.outputs.first().copied())
        .ok_or_else(|| x.invalid(n, "needs one operand and one result"))
}

/// The scale and zero point initializers of `p` (scalars per tensor, vectors per axis), the
/// zero point in `zp_type`.
fn scale_and_zero_point(
    x: &mut Exporter,
    n: NodeId,
    p: &QuantParams,
    zp_type: DType,
) -> Result<(String, String), ExportError> {
    let shape: Vec<usize> = match p.axis {
        Some(_) => vec![p.scale.len()],
        None => Vec::new(),
    };
    let scale = Tensor::from_f32(shape.clone(), p.scale.clone()).map_err(|e| x.invalid(n, e))?;
    let zps: Vec<i64> = p.zero_point.iter().map(|&z| i64::from(z)).collect();
    let zp = Tensor::from_i64(shape, zps).map_err(|e| x.invalid(n, e))?.cast(zp_type);
    Ok((x.constant("scale", &scale), x.constant("zero_point", &zp)))
}

/// The `axis` attribute of a per-axis Q/DQ; none per tensor.
fn axis_attr(p: &QuantParams) -> Vec<onnx_protobuf::AttributeProto> {
    p.axis.map(|a| int("axis", a as i64)).into_iter().collect()
}

/// `quantize(x)` → QuantizeLinear (+ Clip); the result holds codes.
fn quantize(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let (input, out_v) = one_operand(x, n)?;
    let p = params(x, n)?;
    let ty = x.g.ty(input).clone();
    p.validate(&ty.shape).map_err(|e| x.invalid(n, e))?;
    if ty.dtype != DType::F32 {
        return Err(x.unsupported(n, format!("quantizing a {} tensor (f32 only)", ty.dtype)));
    }
    let codes = codes_of(&p);
    let dtype = codes.dtype();
    let mut src = x.operand(n, input)?;
    let (type_min, type_max) = type_range(dtype);
    let narrower = p.qmin() > type_min || p.qmax() < type_max;
    if narrower && p.bits > 8 {
        src = clamp_to_code_range(x, n, &p, &src)?;
    }
    let (scale, zp) = scale_and_zero_point(x, n, &p, dtype)?;
    let name = x.fresh_name("codes");
    let q = with(proto::node("QuantizeLinear", &[&src, &scale, &zp], &[&name]), axis_attr(&p));
    x.push(q);
    let name = if narrower && p.bits <= 8 {
        let lo = x.constant("qmin", &int_scalar(x, n, p.qmin(), dtype)?);
        let hi = x.constant("qmax", &int_scalar(x, n, p.qmax(), dtype)?);
        let clipped = x.fresh_name("codes");
        x.push(proto::node("Clip", &[&name, &lo, &hi], &[&clipped]));
        clipped
    } else {
        name
    };
    let entry = Entry { name, dtype, shape: ty.shape, codes: Some(codes) };
    x.entries.insert(out_v, entry);
    Ok(())
}

/// The smallest and largest value of an integer code type.
fn type_range(d: DType) -> (i32, i32) {
    match d {
        DType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DType::U8 => (0, u8::MAX.into()),
        DType::I16 => (i16::MIN.into(), i16::MAX.into()),
        _ => (0, u16::MAX.into()),
    }
}

fn int_scalar(x: &Exporter, n: NodeId, v: i32, d: DType) -> Result<Tensor, ExportError> {
    Ok(Tensor::from_i64(Vec::<usize>::new(), vec![i64::from(v)])
        .map_err(|e| x.invalid(n, e))?
        .cast(d))
}

/// Clamps the f32 operand to `[s·(qmin − z), s·(qmax − z)]` (per tensor), so QuantizeLinear
/// saturating to a 16-bit type gives the b-bit codes.
fn clamp_to_code_range(
    x: &mut Exporter,
    n: NodeId,
    p: &QuantParams,
    src: &str,
) -> Result<String, ExportError> {
    let (Some(&s), Some(&z), None) = (p.scale.first(), p.zero_point.first(), p.axis) else {
        return Err(
            x.unsupported(n, format!("per-channel quantization to {} bits (more than 8)", p.bits))
        );
    };
    let lo = x.scalar("lo", DType::F32, s * (p.qmin() - z) as f32)?;
    let hi = x.scalar("hi", DType::F32, s * (p.qmax() - z) as f32)?;
    let out = x.fresh_name("t");
    x.push(proto::node("Clip", &[src, &lo, &hi], &[&out]));
    Ok(out)
}

/// `dequantize(q)` → DequantizeLinear of the codes (constant weight codes become a narrow
/// integer initializer first).
fn dequantize(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let (q, out_v) = one_operand(x, n)?;
    let p = params(x, n)?;
    p.validate(&x.g.ty(q).shape).map_err(|e| x.invalid(n, e))?;
    let codes = codes_of(&p);
    let src = match x.g.const_value(q) {
        Some(t) => weight_codes(x, n, q, t, codes)?,
        None => {
            let e = x.operand_entry(n, q)?;
            match e.codes {
                Some(c) if c == codes => e.name,
                Some(c) => {
                    return Err(x.invalid(
                        n,
                        format!(
                            "dequantizes {}-bit {} codes as {}-bit {} codes",
                            c.bits,
                            sign_name(c),
                            codes.bits,
                            sign_name(codes)
                        ),
                    ))
                }
                None => {
                    return Err(x.unsupported(
                        n,
                        format!(
                            "dequantizing {q}, which is not the result of a quantize (or of \
                             constant codes)"
                        ),
                    ))
                }
            }
        }
    };
    let (scale, zp) = scale_and_zero_point(x, n, &p, codes.dtype())?;
    let out = x.result(out_v);
    let dq = with(proto::node("DequantizeLinear", &[&src, &scale, &zp], &[&out]), axis_attr(&p));
    x.push(dq);
    Ok(())
}

fn sign_name(c: Codes) -> &'static str {
    if c.signed {
        "signed"
    } else {
        "unsigned"
    }
}

/// Constant i32 codes as an initializer of the codes' ONNX type (written once per constant).
fn weight_codes(
    x: &mut Exporter,
    n: NodeId,
    q: ValueId,
    t: &Tensor,
    codes: Codes,
) -> Result<String, ExportError> {
    if let Some(name) = x.code_consts.get(&q) {
        return Ok(name.clone());
    }
    let TensorData::I32(v) = t.data() else {
        return Err(x.invalid(n, format!("constant codes {q} are {}, not i32", t.dtype())));
    };
    let (lo, hi) = type_range(codes.dtype());
    if let Some(bad) = v.iter().find(|&&c| c < lo || c > hi) {
        return Err(
            x.invalid(n, format!("constant code {bad} does not fit {}-bit codes", codes.bits))
        );
    }
    let data = TensorData::I32(v.clone()).cast(codes.dtype());
    let narrow = Tensor::new(t.shape().to_vec(), data).map_err(|e| x.invalid(n, e))?;
    let name = x.constant("wq", &narrow);
    x.code_consts.insert(q, name.clone());
    Ok(name)
}

/// `pack` / `unpack`: the codes pass through (checked: same bits, and for `unpack` the
/// shape and signedness of the codes).
fn pass_codes(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let (input, out_v) = one_operand(x, n)?;
    let node = &x.g.nodes[n];
    let e = x.operand_entry(n, input)?;
    let Some(c) = e.codes else {
        return Err(x.unsupported(
            n,
            format!(
                "{} of {input}, which holds no quantization codes (ONNX has no bit packing)",
                node.op
            ),
        ));
    };
    let bits = node.attrs.int("bits").map_err(|err| x.invalid(n, err))?;
    if bits != i64::from(c.bits) {
        return Err(x.invalid(n, format!("`bits` = {bits}, but the codes have {} bits", c.bits)));
    }
    if node.op == OpKind::Unpack {
        let shape = node.attrs.ints("shape").map_err(|err| x.invalid(n, err))?;
        let signed = node.attrs.int("signed").map_err(|err| x.invalid(n, err))? != 0;
        let same_shape = shape.iter().map(|&d| d as usize).eq(e.shape.iter().copied());
        if !same_shape || signed != c.signed {
            return Err(x.invalid(
                n,
                format!(
                    "unpacks {shape:?} (signed = {signed}) from codes of shape {:?} (signed = {})",
                    e.shape, c.signed
                ),
            ));
        }
    }
    x.entries.insert(out_v, e);
    Ok(())
}

/// `send` / `recv`: the transport; the tensor passes unchanged.
fn pass_through(x: &mut Exporter, n: NodeId) -> Result<(), ExportError> {
    let (input, out_v) = one_operand(x, n)?;
    let e = x.operand_entry(n, input)?;
    x.entries.insert(out_v, e);
    Ok(())
}

/// The graph inputs read by `unpack` (a cloud partition's payloads), with the codes and the
/// logical shape they arrive as when the partition is cut at the codes. An input read both
/// by `unpack` and by anything else, or unpacked two ways, is an error.
pub(super) fn unpacked_inputs(
    g: &Graph,
) -> Result<HashMap<ValueId, (Codes, Vec<usize>)>, ExportError> {
    let mut found: HashMap<ValueId, (Codes, Vec<usize>)> = HashMap::new();
    for (n, node) in g.live_nodes().filter(|(_, d)| d.op == OpKind::Unpack) {
        for &v in &node.inputs {
            if !g.inputs.contains(&v) {
                continue;
            }
            let a = &node.attrs;
            let bits = a.int("bits").ok().and_then(|b| u8::try_from(b).ok());
            let shape = a.ints("shape").ok().map(|s| s.iter().map(|&d| d as usize).collect());
            let signed = a.int("signed").ok().map(|s| s != 0);
            let (Some(bits), Some(shape), Some(signed)) = (bits, shape, signed) else {
                return Err(ExportError::Partition(format!(
                    "unpack node {n} has malformed attributes"
                )));
            };
            let this = (Codes { bits, signed }, shape);
            if found.get(&v).is_some_and(|prev| *prev != this) {
                return Err(ExportError::Partition(format!(
                    "payload input {v} is unpacked in two different ways"
                )));
            }
            found.insert(v, this);
        }
    }
    for (n, node) in g.live_nodes().filter(|(_, d)| d.op != OpKind::Unpack) {
        if let Some(&v) = node.inputs.iter().find(|v| found.contains_key(v)) {
            return Err(ExportError::Partition(format!(
                "payload input {v} is read by {} node {n} as well as unpacked",
                node.op
            )));
        }
    }
    Ok(found)
}
