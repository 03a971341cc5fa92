//! Generators of the elementwise unary ops: one flat loop over the elements, the op applied
//! per element (`math` for floats); LLVM's loop vectoriser widens the loop.
//!
//! Floats (f32, f64) compute in their own type, f16 computes in f32. `identity` copies any
//! dtype. Integer relu/clip are handled; other integer or coded-dtype uses are `Unsupported`.
//! Binary ops with broadcasting, comparisons, `where` and casts are in `binary` and `cast`.

use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind};
use inkwell::values::{BasicValueEnum, FunctionValue};

/// Unary elementwise ops.
pub fn lower_unary<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let x_ty = g.ty(node.inputs[0]).clone();
    let numel = x_ty.numel() as u64;
    let dt = x_ty.dtype;
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    if node.op == OpKind::Identity {
        copy_bytes(cx, x, y, x_ty.size_bytes() as u64)?;
        return cx.finish_kernel(k);
    }
    if dt.is_int() && matches!(node.op, OpKind::Relu | OpKind::Clip) {
        return int_clamp(cx, g, n, k, x, y, dt, numel);
    }
    if !matches!(dt, DType::F32 | DType::F64 | DType::F16) {
        return Err(cx.unsupported(g, n, format!("dtype {dt}")));
    }
    let ety = cx.elem_type(dt);
    let align = dt.size_bytes() as u32;
    cx.for_n(numel, 1, |cx, i| {
        let v = cx.load_at(ety, x, i, align)?;
        let v = widen(cx, v, dt)?;
        let r = float_unary(cx, g, n, v)?;
        let r = narrow(cx, r, dt)?;
        cx.store_at(r, y, i, align)
    })?;
    cx.finish_kernel(k)
}

/// f16 values widen to f32 for arithmetic.
pub fn widen<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    v: BasicValueEnum<'ctx>,
    dt: DType,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    if dt != DType::F16 {
        return Ok(v);
    }
    Ok(cx.builder.build_float_ext(v.into_float_value(), cx.f32_type(), "w")?.into())
}

/// The inverse of [`widen`].
pub fn narrow<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    v: BasicValueEnum<'ctx>,
    dt: DType,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    if dt != DType::F16 {
        return Ok(v);
    }
    Ok(cx.builder.build_float_trunc(v.into_float_value(), cx.ctx.f16_type(), "n")?.into())
}

/// `memcpy(dst, src, bytes)`.
pub fn copy_bytes<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    src: inkwell::values::PointerValue<'ctx>,
    dst: inkwell::values::PointerValue<'ctx>,
    bytes: u64,
) -> Result<(), CodegenError> {
    if bytes > 0 {
        cx.builder.build_memcpy(dst, 1, src, 1, cx.i64(bytes)).map_err(CodegenError::llvm)?;
    }
    Ok(())
}

fn float_unary<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    v: BasicValueEnum<'ctx>,
) -> Result<BasicValueEnum<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let f = |name: &str| {
        node.attrs.float(name).map(f64::from).map_err(|e| cx.invalid(g, n, e.to_string()))
    };
    match node.op {
        OpKind::Relu => math::relu(cx, v),
        OpKind::LeakyRelu => math::leaky_relu(cx, v, f("alpha")?),
        OpKind::Clip => math::clamp(cx, v, f("min")?, f("max")?),
        OpKind::Sigmoid => math::sigmoid(cx, v),
        OpKind::Tanh => math::tanh(cx, v),
        OpKind::HardSigmoid => math::hard_sigmoid(cx, v, f("alpha")?, f("beta")?),
        OpKind::HardSwish => math::hard_swish(cx, v),
        OpKind::Erf => math::erf(cx, v),
        OpKind::Gelu => match node.attrs.str("approximate").unwrap_or("none") {
            "none" => math::gelu(cx, v, false),
            "tanh" => math::gelu(cx, v, true),
            other => Err(cx.unsupported(g, n, format!("approximate = \"{other}\""))),
        },
        OpKind::Exp => math::exp(cx, v),
        OpKind::Log => math::log(cx, v),
        OpKind::Sqrt => math::sqrt(cx, v),
        op => Err(cx.invalid(g, n, format!("`{op}` is not a unary op"))),
    }
}

/// Integer relu (`max(x, 0)`) and clip (bounds converted to the dtype, saturating), as the
/// interpreter does.
#[allow(clippy::too_many_arguments)]
fn int_clamp<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
    k: super::Kernel<'ctx>,
    x: inkwell::values::PointerValue<'ctx>,
    y: inkwell::values::PointerValue<'ctx>,
    dt: DType,
    numel: u64,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let signed = matches!(dt, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    let bits = dt.bits();
    let (tmin, tmax): (i128, i128) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let bound = |name: &str| -> Result<i128, CodegenError> {
        let v = node.attrs.float(name).map_err(|e| cx.invalid(g, n, e.to_string()))?;
        Ok(if v.is_nan() { 0 } else { (v as f64).clamp(tmin as f64, tmax as f64) as i128 })
    };
    let (lo, hi) = match node.op {
        OpKind::Relu => (0, tmax),
        _ => (bound("min")?, bound("max")?),
    };
    let et = cx.elem_type(dt).into_int_type();
    let align = dt.size_bytes() as u32;
    let (plo, phi) = if signed {
        (inkwell::IntPredicate::SLT, inkwell::IntPredicate::SGT)
    } else {
        (inkwell::IntPredicate::ULT, inkwell::IntPredicate::UGT)
    };
    cx.for_n(numel, 1, |cx, i| {
        let v = cx.load_at(et, x, i, align)?.into_int_value();
        let (l, h) = (et.const_int(lo as u64, signed), et.const_int(hi as u64, signed));
        let b = &cx.builder;
        let c = b.build_int_compare(plo, v, l, "lo")?;
        let v = b.build_select(c, l, v, "v")?.into_int_value();
        let c = b.build_int_compare(phi, v, h, "hi")?;
        let v = b.build_select(c, h, v, "v")?;
        cx.store_at(v, y, i, align)
    })?;
    cx.finish_kernel(k)
}
