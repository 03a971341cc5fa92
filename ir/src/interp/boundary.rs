//! Kernels of the Split-phase boundary ops: `quantize`, `dequantize`, `pack`, `unpack`,
//! `send` and `recv`.
//!
//! The arithmetic is [`crate::quant`]'s, called directly (no copy of the formulas), so the
//! interpreter computes exactly the codes the planner's distortion tables assumed and the
//! generated edge and cloud programs must reproduce (DESIGN.md §8). `send` and `recv` are
//! the identity here: the interpreter runs both partitions in one process, so the transport
//! is a no-op; the cut between them is where the edge program ends and the cloud program
//! begins. Attributes were checked by the shape rules ([`crate::shape::quant`]); the kernels
//! still re-validate what they index with and never panic on inconsistent operands.

use super::common::{input, invalid, make, KResult};
use super::{EvalCx, InterpError};
use crate::quant::{self, QuantParams};
use crate::shape::quant::params_from_attrs;
use crate::tensor::TensorData;

/// The node's quantization parameters, validated against `shape`.
fn params(cx: &EvalCx, shape: &[usize]) -> Result<QuantParams, InterpError> {
    let p = params_from_attrs(cx.attrs).map_err(|m| invalid(cx, m))?;
    p.validate(shape).map_err(|e| invalid(cx, e.to_string()))?;
    Ok(p)
}

/// The `bits` attribute as a code width (the shape rule restricts it to 1..=16).
fn bits(cx: &EvalCx) -> Result<u8, InterpError> {
    let b = cx.attrs.int("bits")?;
    u8::try_from(b)
        .ok()
        .filter(|b| (1..=16).contains(b))
        .ok_or_else(|| invalid(cx, format!("bits = {b} is outside 1..=16")))
}

/// `quantize`: f32 → i32 codes with [`QuantParams::quantize`].
pub fn quantize(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let p = params(cx, x.shape())?;
    let Some(v) = x.as_f32() else {
        return Err(invalid(cx, format!("operand is {}, expected f32", x.dtype())));
    };
    let codes = p.quantize(v, x.shape());
    Ok(vec![make(cx, x.shape().to_vec(), TensorData::I32(codes))?])
}

/// `dequantize`: i32 codes → f32 with [`QuantParams::dequantize`].
pub fn dequantize(cx: &EvalCx) -> KResult {
    let q = input(cx, 0)?;
    let p = params(cx, q.shape())?;
    let TensorData::I32(codes) = q.data() else {
        return Err(invalid(cx, format!("operand is {}, expected i32 codes", q.dtype())));
    };
    let x = p.dequantize(codes, q.shape());
    Ok(vec![make(cx, q.shape().to_vec(), TensorData::F32(x))?])
}

/// `pack`: i32 codes → dense LSB-first bytes with [`quant::pack`]. A code that does not
/// fit in `bits` bits (neither as unsigned nor as two's complement) is an error rather than
/// silently truncated.
pub fn pack(cx: &EvalCx) -> KResult {
    let q = input(cx, 0)?;
    let b = bits(cx)?;
    let TensorData::I32(codes) = q.data() else {
        return Err(invalid(cx, format!("operand is {}, expected i32 codes", q.dtype())));
    };
    let (lo, hi) = (-(1i64 << (b - 1)), (1i64 << b) - 1);
    if let Some(bad) = codes.iter().find(|&&c| !(lo..=hi).contains(&(c as i64))) {
        return Err(invalid(cx, format!("code {bad} does not fit in {b} bits")));
    }
    let bytes = quant::pack(codes, b);
    Ok(vec![make(cx, vec![bytes.len()], TensorData::U8(bytes))?])
}

/// `unpack`: bytes → i32 codes of attribute `shape` with [`quant::unpack`].
pub fn unpack(cx: &EvalCx) -> KResult {
    let x = input(cx, 0)?;
    let b = bits(cx)?;
    let signed = cx.attrs.int("signed")? != 0;
    let TensorData::U8(bytes) = x.data() else {
        return Err(invalid(cx, format!("operand is {}, expected u8 bytes", x.dtype())));
    };
    let shape = cx
        .attrs
        .ints("shape")?
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| invalid(cx, format!("dimension {d}"))))
        .collect::<Result<Vec<usize>, InterpError>>()?;
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let count = count.ok_or_else(|| invalid(cx, format!("shape {shape:?} overflows")))?;
    let codes = quant::unpack(bytes, b, count, signed).map_err(|e| invalid(cx, e.to_string()))?;
    Ok(vec![make(cx, shape, TensorData::I32(codes))?])
}

/// `send` and `recv`: the operand, unchanged.
pub fn transfer(cx: &EvalCx) -> KResult {
    Ok(vec![input(cx, 0)?.clone()])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::Attr;
    use crate::ops::OpKind;
    use crate::quant::{self, QuantParams};
    use crate::shape::quant::params_to_attrs;
    use crate::tensor::{Tensor, TensorData};
    use crate::types::{DType, TensorType};

    fn codes(t: &Tensor) -> Vec<i32> {
        match t.data() {
            TensorData::I32(v) => v.clone(),
            d => panic!("expected i32 codes, got {}", d.dtype()),
        }
    }

    #[test]
    fn quantize_and_dequantize_match_ir_quant_per_tensor() {
        let x = rand(&[2, 3, 4], 7);
        let xs = vals(&x);
        for bits in [2u8, 3, 4, 8, 16] {
            let p = QuantParams::asymmetric(bits, -0.8, 0.9).unwrap();
            let a = params_to_attrs(&p);
            let q = run1(OpKind::Quantize, &a, &[&x], DType::I32, &[2, 3, 4]);
            assert_eq!(codes(&q), p.quantize(&xs, &[2, 3, 4]), "{bits} bits");
            let d = run1(OpKind::Dequantize, &a, &[&q], DType::F32, &[2, 3, 4]);
            assert_eq!(vals(&d), p.fake_quantize(&xs, &[2, 3, 4]), "{bits} bits");
        }
    }

    #[test]
    fn per_channel_symmetric_codes_match_ir_quant() {
        let w = rand(&[3, 2, 2], 11);
        let p = QuantParams::symmetric_per_channel(4, &[1.0, 0.5, 0.25], Some(0)).unwrap();
        let a = params_to_attrs(&p);
        let q = run1(OpKind::Quantize, &a, &[&w], DType::I32, &[3, 2, 2]);
        assert_eq!(codes(&q), p.quantize(&vals(&w), &[3, 2, 2]));
        assert!(codes(&q).iter().all(|&c| (-7..=7).contains(&c)));
        let d = run1(OpKind::Dequantize, &a, &[&q], DType::F32, &[3, 2, 2]);
        assert_eq!(vals(&d), p.dequantize(&codes(&q), &[3, 2, 2]));
    }

    #[test]
    fn pack_and_unpack_match_ir_quant_and_round_trip() {
        let q = tensor(&[2, 3], TensorData::I32(vec![-3, 2, 0, 1, -1, 3]));
        let a = attrs(&[("bits", Attr::Int(3))]);
        let packed = run1(OpKind::Pack, &a, &[&q], DType::U8, &[3]);
        let want = quant::pack(&[-3, 2, 0, 1, -1, 3], 3);
        assert_eq!(packed.data(), &TensorData::U8(want));
        let a =
            attrs(&[("bits", Attr::Int(3)), ("shape", ints(&[2, 3])), ("signed", Attr::Int(1))]);
        let back = run1(OpKind::Unpack, &a, &[&packed], DType::I32, &[2, 3]);
        assert_eq!(codes(&back), vec![-3, 2, 0, 1, -1, 3]);
    }

    #[test]
    fn pack_rejects_codes_wider_than_bits() {
        let q = tensor(&[2], TensorData::I32(vec![1, 16]));
        let a = attrs(&[("bits", Attr::Int(4))]);
        let outs = [TensorType::new(DType::U8, [1])];
        let err = super::super::eval_node(OpKind::Pack, &a, &[&q], &outs).unwrap_err();
        assert!(err.to_string().contains("code 16 does not fit in 4 bits"), "{err}");
    }

    #[test]
    fn unpack_checks_the_payload_length() {
        let b = tensor(&[1], TensorData::U8(vec![0]));
        let a = attrs(&[("bits", Attr::Int(4)), ("shape", ints(&[3])), ("signed", Attr::Int(0))]);
        let outs = [TensorType::new(DType::I32, [3])];
        let err = super::super::eval_node(OpKind::Unpack, &a, &[&b], &outs).unwrap_err();
        assert!(err.to_string().contains("packed payload has 1 bytes"), "{err}");
    }

    #[test]
    fn send_and_recv_are_the_identity() {
        let x = tensor(&[3], TensorData::U8(vec![1, 2, 255]));
        let a = attrs(&[("slot", Attr::Int(0))]);
        let s = run1(OpKind::Send, &a, &[&x], DType::U8, &[3]);
        let r = run1(OpKind::Recv, &a, &[&s], DType::U8, &[3]);
        assert_eq!(r, x);
    }

    #[test]
    fn bad_parameters_are_errors_not_panics() {
        let x = rand(&[2, 2], 1);
        let mut p = QuantParams::symmetric_per_channel(4, &[1.0, 1.0, 1.0], Some(0)).unwrap();
        let outs = [TensorType::new(DType::I32, [2, 2])];
        let err = super::super::eval_node(OpKind::Quantize, &params_to_attrs(&p), &[&x], &outs)
            .unwrap_err();
        assert!(err.to_string().contains("3 scale(s)"), "{err}");
        p.axis = Some(5);
        assert!(
            super::super::eval_node(OpKind::Quantize, &params_to_attrs(&p), &[&x], &outs).is_err()
        );
    }
}
