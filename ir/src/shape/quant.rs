//! Shape rules of `quantize_linear` and `dequantize_linear` (ONNX QuantizeLinear /
//! DequantizeLinear: per tensor, per axis, or blocked).
//!
//! The scale is per tensor when it has one element and rank ≤ 1. Otherwise, with
//! `block_size` 0 it is 1-d with one entry per element of `x` along `axis` (per axis); with
//! `block_size` B > 0 it has `x`'s rank and shape except along `axis`, where it has
//! ceil(n / B) entries, one per block of B consecutive elements (blocked). `axis` is only
//! checked when the scale is not per tensor, as in ONNX. The zero point, when present, has
//! the scale's shape (a one-element zero point of rank ≤ 1 goes with any such scale) and
//! the quantized dtype. The quantized dtypes are u8, i8, u16, i16, the
//! coded integers (u4, i4, u2, i2) and the coded floats f8e4m3fn, f8e4m3fnuz, f8e5m2,
//! f8e5m2fnuz and f4e2m1; dequantize also takes i32. Quantize gives dtype `to`; dequantize
//! gives the scale's dtype.
//!
//! Also the boundary ops of the Split phase (DESIGN.md §8): `quantize` (f32 → i32 codes)
//! and `dequantize` (i32 → f32) with the attributes of an [`crate::quant::QuantParams`]
//! (`bits`, `scheme`, `scale`, `zero_point`, `axis`, -1 meaning per tensor; converted by
//! [`params_from_attrs`] / [`params_to_attrs`] and checked by `QuantParams::validate`),
//! `pack` (i32 codes → u8 bytes), `unpack` (u8 bytes → i32 codes of a given shape), and
//! `send` / `recv` (the same type in and out). Nothing here computes values.

use super::{ShapeCx, ShapeError, ShapeResult};
use crate::attr::{Attr, Attrs};
use crate::quant::{packed_len, QuantParams, Scheme};
use crate::types::{DType, TensorType};

/// True for the dtypes quantize produces and dequantize reads (besides i32).
pub fn is_quantized_dtype(d: DType) -> bool {
    matches!(d, DType::U8 | DType::I8 | DType::U16 | DType::I16)
        || d.coded().is_some_and(|c| c.dtype() != DType::F8E8M0)
}

const QUANTIZED: &str =
    "u8, i8, u16, i16, u4, i4, u2, i2, f8e4m3fn, f8e4m3fnuz, f8e5m2, f8e5m2fnuz or f4e2m1";

/// The scale shape blocked quantization needs: `x`'s shape with ceil(n / block) along axis.
fn blocked_shape(x: &[usize], axis: usize, block: usize) -> Vec<usize> {
    let mut s = x.to_vec();
    if let Some(d) = s.get_mut(axis) {
        *d = d.div_ceil(block);
    }
    s
}

/// Checks the scale operand (1) against `x` (0), `axis` and `block_size`, and the optional
/// zero point (2) against the scale's shape and `zp_dtype`.
fn check_params(cx: &ShapeCx, zp_dtype: DType) -> Result<(), ShapeError> {
    let (x, scale) = (cx.input(0)?, cx.input(1)?);
    cx.expect_float(1)?;
    let block = cx.int("block_size")?;
    let block = usize::try_from(block).map_err(|_| {
        cx.err(format!("attribute `block_size` must be ≥ 0 (0: no blocking), found {block}"))
    })?;
    let per_tensor = scale.numel() == 1 && scale.rank() <= 1;
    if !per_tensor {
        let axis = cx.axis_attr("axis", x.rank())?;
        let n = x.shape.get(axis).copied().unwrap_or(0);
        if block == 0 && scale.shape != [n] {
            return Err(cx.err(format!(
                "operand `scale` has shape {:?}, expected a scalar (per tensor) or [{n}] (per \
                 axis: one entry per element of `x` {:?} along axis {axis})",
                scale.shape, x.shape
            )));
        }
        let want = blocked_shape(&x.shape, axis, block.max(1));
        if block > 0 && scale.shape != want {
            return Err(cx.err(format!(
                "operand `scale` has shape {:?}, expected a scalar (per tensor) or {want:?} \
                 (blocked: `x` {:?} with ceil({n} / {block}) entries along axis {axis})",
                scale.shape, x.shape
            )));
        }
    }
    if let Some(zp) = cx.opt_input(2) {
        if zp.dtype != zp_dtype {
            return Err(
                cx.err(format!("operand `zero_point` is {}, expected {zp_dtype}", zp.dtype))
            );
        }
        let single = |t: &TensorType| t.numel() == 1 && t.rank() <= 1;
        if zp.shape != scale.shape && !(single(zp) && single(scale)) {
            return Err(cx.err(format!(
                "operand `zero_point` has shape {:?}, expected the shape of `scale` {:?}",
                zp.shape, scale.shape
            )));
        }
    }
    Ok(())
}

/// `quantize_linear`: float (or i32) `x` → dtype `to`, same shape.
pub fn quantize_linear(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    if !(x.dtype.is_float() || x.dtype == DType::I32) {
        return Err(
            cx.err(format!("operand `x` is {}, expected f32, f64, f16, bf16 or i32", x.dtype))
        );
    }
    let to = cx.dtype("to")?;
    if !is_quantized_dtype(to) {
        return Err(cx.err(format!("attribute `to` is {to}, expected {QUANTIZED}")));
    }
    cx.flag("saturate")?;
    check_params(cx, to)?;
    cx.one(TensorType::new(to, x.shape.clone()))
}

/// `dequantize_linear`: a quantized (or i32) `x` → the scale's dtype, same shape.
pub fn dequantize_linear(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    if !(is_quantized_dtype(x.dtype) || x.dtype == DType::I32) {
        return Err(cx.err(format!("operand `x` is {}, expected {QUANTIZED} or i32", x.dtype)));
    }
    check_params(cx, x.dtype)?;
    cx.one(TensorType::new(cx.input(1)?.dtype, x.shape.clone()))
}

/// The [`QuantParams`] written as `quantize` / `dequantize` attributes; `Err` says which
/// attribute is missing, mistyped or out of range (not yet validated against a shape).
pub fn params_from_attrs(attrs: &Attrs) -> Result<QuantParams, String> {
    let bits = attrs.int("bits").map_err(|e| e.to_string())?;
    let bits = u8::try_from(bits)
        .ok()
        .filter(|b| (1..=16).contains(b))
        .ok_or_else(|| format!("attribute `bits` = {bits} is outside 1..=16"))?;
    let name = attrs.str("scheme").map_err(|e| e.to_string())?;
    let scheme = Scheme::from_name(name)
        .ok_or_else(|| format!("attribute `scheme` = \"{name}\" is not \"asym\" or \"sym\""))?;
    let scale = attrs.floats("scale").map_err(|e| e.to_string())?.to_vec();
    let zero_point = attrs
        .ints("zero_point")
        .map_err(|e| e.to_string())?
        .iter()
        .map(|&z| i32::try_from(z).map_err(|_| format!("zero point {z} does not fit in i32")))
        .collect::<Result<Vec<i32>, String>>()?;
    let axis = match attrs.get("axis") {
        None => -1,
        Some(_) => attrs.int("axis").map_err(|e| e.to_string())?,
    };
    let axis = match axis {
        -1 => None,
        a => Some(usize::try_from(a).map_err(|_| {
            format!("attribute `axis` = {a} must be a channel axis ≥ 0, or -1 (per tensor)")
        })?),
    };
    Ok(QuantParams { bits, scheme, scale, zero_point, axis })
}

/// The attributes of a `quantize` / `dequantize` node applying `p`.
pub fn params_to_attrs(p: &QuantParams) -> Attrs {
    Attrs::new()
        .with("bits", Attr::Int(p.bits as i64))
        .with("scheme", Attr::Str(p.scheme.name().to_string()))
        .with("scale", Attr::Floats(p.scale.clone()))
        .with("zero_point", Attr::Ints(p.zero_point.iter().map(|&z| z as i64).collect()))
        .with("axis", Attr::Int(p.axis.map_or(-1, |a| a as i64)))
}

/// Reads and validates the quantization attributes against operand 0's shape.
fn checked_params(cx: &ShapeCx) -> Result<QuantParams, ShapeError> {
    let x = cx.input(0)?;
    let p = params_from_attrs(cx.attrs).map_err(|m| cx.err(m))?;
    p.validate(&x.shape).map_err(|e| cx.err(format!("{e} (operand `x` is {x})")))?;
    Ok(p)
}

/// `quantize`: f32 `x` → i32 codes of the same shape.
pub fn quantize(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let x = cx.input(0)?;
    if x.dtype != DType::F32 {
        return Err(cx.err(format!("operand `x` is {}, expected f32", x.dtype)));
    }
    checked_params(cx)?;
    cx.one(TensorType::new(DType::I32, x.shape.clone()))
}

/// `dequantize`: i32 codes → f32 of the same shape.
pub fn dequantize(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let q = cx.input(0)?;
    if q.dtype != DType::I32 {
        return Err(cx.err(format!("operand `q` is {}, expected i32 codes", q.dtype)));
    }
    checked_params(cx)?;
    cx.one(TensorType::new(DType::F32, q.shape.clone()))
}

/// The `bits` attribute as a code width in 1..=16.
fn code_bits(cx: &ShapeCx) -> Result<u8, ShapeError> {
    let b = cx.int("bits")?;
    u8::try_from(b)
        .ok()
        .filter(|b| (1..=16).contains(b))
        .ok_or_else(|| cx.err(format!("attribute `bits` = {b} is outside 1..=16")))
}

/// `pack`: i32 codes → `u8[ceil(numel · bits / 8)]`.
pub fn pack(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let q = cx.input(0)?;
    if q.dtype != DType::I32 {
        return Err(cx.err(format!("operand `q` is {}, expected i32 codes", q.dtype)));
    }
    let bits = code_bits(cx)?;
    cx.one(TensorType::new(DType::U8, [packed_len(q.numel(), bits)]))
}

/// `unpack`: `u8[ceil(count · bits / 8)]` → i32 codes of attribute `shape`.
pub fn unpack(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let b = cx.input(0)?;
    let bits = code_bits(cx)?;
    cx.flag("signed")?;
    let shape = cx
        .ints("shape")?
        .iter()
        .map(|&d| cx.dim("a dimension of attribute `shape`", d as i128))
        .collect::<Result<Vec<usize>, ShapeError>>()?;
    cx.check_size("attribute `shape`", &shape)?;
    let count: usize = shape.iter().product();
    let want = packed_len(count, bits);
    if b.dtype != DType::U8 || b.shape != [want] {
        return Err(cx.err(format!(
            "operand `bytes` is {b}, expected u8[{want}] ({count} codes of {bits} bits)"
        )));
    }
    cx.one(TensorType::new(DType::I32, shape))
}

/// `send` / `recv`: the operand's type, unchanged; `slot` ≥ 0.
pub fn transfer(cx: &ShapeCx) -> ShapeResult {
    cx.check_operands()?;
    let slot = cx.int("slot")?;
    if !(0..=u16::MAX as i64).contains(&slot) {
        return Err(cx.err(format!("attribute `slot` = {slot} is outside 0..=65535")));
    }
    cx.one(cx.input(0)?.clone())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use crate::attr::{Attr, Attrs};
    use crate::ops::OpKind;

    fn q(to: DType) -> Attrs {
        Attrs::new().with("to", Attr::DType(to))
    }

    #[test]
    fn quantize_shapes() {
        let x = f(&[1, 3, 4, 4]);
        let out = run(OpKind::QuantizeLinear, &[x.clone(), f(&[])], q(DType::U8)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[1, 3, 4, 4])]);
        let ins = [x.clone(), f(&[3]), t(DType::I8, &[3])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::I8)).unwrap();
        assert_eq!(out, vec![t(DType::I8, &[1, 3, 4, 4])]);
        let ins = [x.clone(), f(&[4]), t(DType::I8, &[4])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::I8).with("axis", Attr::Int(-1)));
        assert_eq!(out.unwrap(), vec![t(DType::I8, &[1, 3, 4, 4])]);
        // A one-element scale is per tensor, whatever the axis says.
        let ins = [f(&[]), f(&[1]), t(DType::U8, &[1])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::U8)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[])]);
        let ins = [f(&[3]), f(&[]), t(DType::U8, &[1])];
        let out = run(OpKind::QuantizeLinear, &ins, q(DType::U8)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[3])]);
    }

    #[test]
    fn quantize_errors() {
        let x = f(&[1, 3, 4, 4]);
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[4])],
            q(DType::U8),
            &["quantize_linear: operand `scale` has shape [4], expected a scalar (per tensor) or \
               [3]"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[]), t(DType::I8, &[])],
            q(DType::U8),
            &["operand `zero_point` is i8, expected u8"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[3]), t(DType::U8, &[])],
            q(DType::U8),
            &["operand `zero_point` has shape [], expected the shape of `scale` [3]"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), f(&[])],
            q(DType::I32),
            &["attribute `to` is i32, expected u8, i8, u16"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x.clone(), t(DType::I64, &[])],
            q(DType::U8),
            &["operand `scale` is i64, expected a float dtype"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[t(DType::U8, &[2]), f(&[])],
            q(DType::U8),
            &["operand `x` is u8, expected f32, f64, f16, bf16 or i32"],
        );
        expect_err(
            OpKind::QuantizeLinear,
            &[x, f(&[3])],
            q(DType::U8).with("axis", Attr::Int(4)),
            &["attribute `axis` = 4 is out of range for rank 4"],
        );
    }

    #[test]
    fn dequantize_shapes() {
        let x = t(DType::U8, &[2, 3]);
        let out = run(OpKind::DequantizeLinear, &[x.clone(), f(&[])], Attrs::new()).unwrap();
        assert_eq!(out, vec![f(&[2, 3])]);
        let ins = [x.clone(), t(DType::F16, &[2]), t(DType::U8, &[2])];
        let out = run(OpKind::DequantizeLinear, &ins, Attrs::new().with("axis", Attr::Int(0)));
        assert_eq!(out.unwrap(), vec![t(DType::F16, &[2, 3])]);
        let ins = [t(DType::I32, &[5]), f(&[5])];
        let out = run(OpKind::DequantizeLinear, &ins, Attrs::new().with("axis", Attr::Int(0)));
        assert_eq!(out.unwrap(), vec![f(&[5])]);
    }

    #[test]
    fn low_bit_and_float8_types() {
        let x = f(&[2, 6]);
        for to in [DType::I4, DType::U2, DType::F8E4M3FN, DType::F4E2M1, DType::U16] {
            let out = run(OpKind::QuantizeLinear, &[x.clone(), f(&[])], q(to)).unwrap();
            assert_eq!(out, vec![t(to, &[2, 6])]);
            let out = run(OpKind::DequantizeLinear, &[t(to, &[2, 6]), f(&[])], Attrs::new());
            assert_eq!(out.unwrap(), vec![f(&[2, 6])]);
        }
        expect_err(
            OpKind::QuantizeLinear,
            &[x, f(&[])],
            q(DType::F8E8M0),
            &["attribute `to` is f8e8m0, expected"],
        );
    }

    #[test]
    fn blocked_scales() {
        let blocked = |axis: i64, b: i64| {
            Attrs::new().with("axis", Attr::Int(axis)).with("block_size", Attr::Int(b))
        };
        let x = t(DType::I4, &[3, 5]);
        let ins = [x.clone(), f(&[3, 3]), t(DType::I4, &[3, 3])];
        let out = run(OpKind::DequantizeLinear, &ins, blocked(1, 2)).unwrap();
        assert_eq!(out, vec![f(&[3, 5])]);
        let out = run(OpKind::DequantizeLinear, &[x.clone(), f(&[1, 5])], blocked(0, 4));
        assert_eq!(out.unwrap(), vec![f(&[3, 5])]);
        let ins = [f(&[3, 5]), f(&[2, 5])];
        let a = q(DType::U8).with("block_size", Attr::Int(2)).with("axis", Attr::Int(-2));
        let out = run(OpKind::QuantizeLinear, &ins, a);
        assert_eq!(out.unwrap(), vec![t(DType::U8, &[3, 5])]);
    }

    #[test]
    fn blocked_errors() {
        let blocked =
            |b: i64| Attrs::new().with("axis", Attr::Int(1)).with("block_size", Attr::Int(b));
        let x = t(DType::U8, &[3, 5]);
        expect_err(
            OpKind::DequantizeLinear,
            &[x.clone(), f(&[3, 2])],
            blocked(2),
            &["operand `scale` has shape [3, 2], expected a scalar (per tensor) or [3, 3]"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[x.clone(), f(&[5])],
            blocked(2),
            &["expected a scalar (per tensor) or [3, 3] (blocked"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[x, f(&[3, 3])],
            blocked(-1),
            &["attribute `block_size` must be ≥ 0"],
        );
    }

    #[test]
    fn dequantize_errors() {
        expect_err(
            OpKind::DequantizeLinear,
            &[f(&[2, 3]), f(&[])],
            Attrs::new(),
            &["dequantize_linear: operand `x` is f32, expected u8, i8, u16"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[t(DType::I8, &[2, 3]), f(&[]), t(DType::U8, &[])],
            Attrs::new(),
            &["operand `zero_point` is u8, expected i8"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[t(DType::I8, &[2, 3]), f(&[2])],
            Attrs::new(),
            &["operand `scale` has shape [2], expected a scalar (per tensor) or [3]"],
        );
        expect_err(
            OpKind::DequantizeLinear,
            &[t(DType::I8, &[2, 3])],
            Attrs::new(),
            &["takes 2 to 3 operand(s), found 1"],
        );
    }

    fn boundary_quant(bits: i64, scheme: &str, scale: &[f32], zp: &[i64], axis: i64) -> Attrs {
        Attrs::new()
            .with("bits", Attr::Int(bits))
            .with("scheme", Attr::Str(scheme.into()))
            .with("scale", Attr::Floats(scale.to_vec()))
            .with("zero_point", Attr::Ints(zp.to_vec()))
            .with("axis", Attr::Int(axis))
    }

    #[test]
    fn boundary_quantize_and_dequantize_shapes() {
        let a = boundary_quant(4, "asym", &[0.5], &[3], -1);
        let out = run(OpKind::Quantize, &[f(&[1, 3, 2])], a.clone()).unwrap();
        assert_eq!(out, vec![t(DType::I32, &[1, 3, 2])]);
        let out = run(OpKind::Dequantize, &[t(DType::I32, &[1, 3, 2])], a).unwrap();
        assert_eq!(out, vec![f(&[1, 3, 2])]);
        let per_channel = boundary_quant(3, "sym", &[0.1, 0.2, 0.3], &[0, 0, 0], 1);
        let out = run(OpKind::Quantize, &[f(&[1, 3, 2])], per_channel).unwrap();
        assert_eq!(out, vec![t(DType::I32, &[1, 3, 2])]);
    }

    #[test]
    fn boundary_quantize_errors() {
        let x = f(&[1, 3, 2]);
        let cases: [(Attrs, &str); 5] = [
            (boundary_quant(0, "asym", &[0.5], &[0], -1), "attribute `bits` = 0 is outside 1..=16"),
            (boundary_quant(4, "linear", &[0.5], &[0], -1), "`scheme` = \"linear\""),
            (boundary_quant(4, "sym", &[0.5, 0.5], &[0, 0], 1), "2 scale(s) / zero point(s)"),
            (boundary_quant(4, "asym", &[-1.0], &[0], -1), "scale -1 is not a positive"),
            (boundary_quant(4, "asym", &[0.5], &[0], -2), "must be a channel axis"),
        ];
        for (a, want) in cases {
            expect_err(OpKind::Quantize, std::slice::from_ref(&x), a, &[want]);
        }
        let a = boundary_quant(4, "asym", &[0.5], &[0], -1);
        expect_err(OpKind::Quantize, &[t(DType::I32, &[2])], a.clone(), &["expected f32"]);
        expect_err(OpKind::Dequantize, &[f(&[2])], a, &["expected i32 codes"]);
    }

    #[test]
    fn pack_unpack_and_transfer_shapes() {
        let bits = |b: i64| Attrs::new().with("bits", Attr::Int(b));
        let out = run(OpKind::Pack, &[t(DType::I32, &[2, 3, 3])], bits(3)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[7])], "18 codes of 3 bits");
        let un = |shape: &[i64]| bits(3).with("shape", Attr::Ints(shape.to_vec()));
        let out = run(OpKind::Unpack, &[t(DType::U8, &[7])], un(&[2, 3, 3])).unwrap();
        assert_eq!(out, vec![t(DType::I32, &[2, 3, 3])]);
        expect_err(OpKind::Unpack, &[t(DType::U8, &[6])], un(&[2, 3, 3]), &["expected u8[7]"]);
        expect_err(OpKind::Pack, &[t(DType::I32, &[2])], bits(17), &["outside 1..=16"]);
        let slot = |s: i64| Attrs::new().with("slot", Attr::Int(s));
        let out = run(OpKind::Send, &[t(DType::U8, &[7])], slot(0)).unwrap();
        assert_eq!(out, vec![t(DType::U8, &[7])]);
        expect_err(OpKind::Recv, &[f(&[2])], slot(-1), &["`slot` = -1 is outside"]);
    }
}
