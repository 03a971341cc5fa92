//! Generators of the Split-phase boundary ops `quantize`, `dequantize`, `pack` and `unpack`
//! (DESIGN.md §8), bit-exact with the interpreter (`asplit_ir::interp::boundary`, which calls
//! `asplit_ir::quant`), and the packed storage of quantized constant weights.
//!
//! - `quantize`: `q = clamp(roundeven(x / s) + z, qmin, qmax)` per element, in f32, in that
//!   order: a true `fdiv` (never a multiply by the reciprocal), NaN quotients give 0 before
//!   the zero point is added, ±∞ clamp to the range ends. Per tensor the parameters are
//!   immediates; per channel, one loop per (outer index, channel) loads them from a table
//!   and the inner loop runs with them invariant, so LLVM vectorises it.
//! - `dequantize`: `x = s · f32(q − z)` (the i32 subtraction wraps). When the codes are a
//!   constant (a weight of the edge graph) they are stored BIT-PACKED at their bit-width in a
//!   private global ([`PackedCodes::new`]: `bits` when every code fits, else the smallest
//!   width ≤ 16 that holds them, else i32) and decoded on the fly.
//! - `pack`: groups of 8 codes become `bits` bytes (one integer built by shifts and ors, stored
//!   at once for 1/2/4/8/16 bits, byte by byte otherwise); the last partial group writes only
//!   its `ceil(r·bits/8)` bytes. A code outside the bit range is MASKED to its low `bits`
//!   bits: the interpreter rejects such a code, compiled code has no error path; it cannot
//!   happen after `insert-boundary`'s `quantize`, which clamps to the range.
//! - `unpack`: the inverse, sign-extending when `signed` is set.
//! - fake quantization (`quantize` read only by `dequantize`s of the same parameters, see
//!   [`fake_quant_fused`]): the quantize kernel stores the dequantized values and the
//!   dequantizes alias its buffer (the arena planner asks [`aliases_fake_quant`]).
//!
//! Weights decoded once: a conv, gemm or f32 matmul whose weight operand is `dequantize(const
//! codes)` (see [`reads_decoded`]) does not read the dequantize's buffer; it calls
//! [`decoded_weights`], which emits a zero-initialised (`.bss`, so not in the object file) f32
//! global in the micro-kernel's packed layout ([`Blocked`]) and code that fills it from the
//! packed codes on the first call only (a guard byte: one caller claims it by compare-exchange
//! and decodes, concurrent callers wait for it to be ready). The dequantize kernel then
//! computes nothing and its result gets no arena bytes ([`unread_dequantize`]). Multi-byte
//! loads and stores assume a little-endian target (x86-64, AArch64). `send`/`recv` have no
//! generator: the program is cut there. This file does not choose bit-widths nor where the
//! boundary is.

use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::quant::{self, QuantParams};
use asplit_ir::shape::quant::params_from_attrs;
use asplit_ir::{Graph, NodeId, OpKind, TensorData, ValueId};
use inkwell::module::Linkage;
use inkwell::types::IntType;
use inkwell::values::{BasicValue, FloatValue, FunctionValue, IntValue, PointerValue};
use inkwell::{AtomicOrdering, FloatPredicate, IntPredicate};

/// The node's quantization parameters, validated against its operand's shape.
fn node_params(cx: &KernelCx<'_, '_>, g: &Graph, n: NodeId) -> Result<QuantParams, CodegenError> {
    let p = params_from_attrs(&g.nodes[n].attrs).map_err(|m| cx.invalid(g, n, m))?;
    p.validate(&g.ty(g.nodes[n].inputs[0]).shape).map_err(|e| cx.invalid(g, n, e.to_string()))?;
    Ok(p)
}

/// The `bits` attribute of pack/unpack as a width in 1..=16.
fn node_bits(cx: &KernelCx<'_, '_>, g: &Graph, n: NodeId) -> Result<u32, CodegenError> {
    let b = g.nodes[n].attrs.int("bits").map_err(|e| cx.invalid(g, n, e.to_string()))?;
    u32::try_from(b)
        .ok()
        .filter(|b| (1..=16).contains(b))
        .ok_or_else(|| cx.invalid(g, n, format!("bits = {b} is outside 1..=16")))
}

/// `(outer, channels, inner)` of a row-major tensor of `shape` under `p`: element `i` has
/// channel `(i / inner) % channels`.
fn channel_layout(p: &QuantParams, shape: &[usize]) -> (u64, u64, u64) {
    let numel: usize = shape.iter().product();
    match p.axis {
        Some(a) if a < shape.len() => (
            shape[..a].iter().product::<usize>() as u64,
            shape[a] as u64,
            shape[a + 1..].iter().product::<usize>() as u64,
        ),
        _ => (1, 1, numel as u64),
    }
}

/// The parameters of one channel as LLVM values: scale (f32) and zero point (i32).
type ChannelParams<'ctx> = (FloatValue<'ctx>, IntValue<'ctx>);

/// Per-element body: element index, then its channel's parameters.
type ElemBody<'b, 'ctx> =
    dyn FnMut(&mut KernelCx<'_, 'ctx>, IntValue<'ctx>, ChannelParams<'ctx>) -> Done + 'b;

/// What emitting code returns.
type Done = Result<(), CodegenError>;

/// The scale and zero point tables of `p` as constant globals.
fn param_tables<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    p: &QuantParams,
) -> (PointerValue<'ctx>, PointerValue<'ctx>) {
    let s = cx.const_f32s(&p.scale);
    let zb: Vec<u8> = p.zero_point.iter().flat_map(|z| z.to_le_bytes()).collect();
    (s, cx.const_bytes(&zb))
}

/// Loads channel `c`'s parameters from the tables.
fn load_params<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    tables: (PointerValue<'ctx>, PointerValue<'ctx>),
    c: IntValue<'ctx>,
) -> Result<ChannelParams<'ctx>, CodegenError> {
    let s = cx.load_at(cx.f32_type(), tables.0, c, 4)?.into_float_value();
    let z = cx.load_at(cx.ctx.i32_type(), tables.1, c, 4)?.into_int_value();
    Ok((s, z))
}

/// Calls `elem` for every element of a tensor of `shape` in row-major order with its
/// channel's parameters: one flat loop per tensor, or an (outer × channel) loop loading the
/// parameters around an inner loop where they are invariant.
fn channel_loops<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    p: &QuantParams,
    shape: &[usize],
    elem: &mut ElemBody<'_, 'ctx>,
) -> Result<(), CodegenError> {
    let (outer, channels, inner) = channel_layout(p, shape);
    if channels <= 1 {
        let s = cx.f32_type().const_float(f64::from(p.scale.first().copied().unwrap_or(1.0)));
        let z = p.zero_point.first().copied().unwrap_or(0);
        let z = cx.ctx.i32_type().const_int(z as u64, true);
        return cx.for_n(outer * inner, 1, |cx, i| elem(cx, i, (s, z)));
    }
    let tables = param_tables(cx, p);
    cx.for_n(outer * channels, 1, |cx, oc| {
        let c = cx.builder.build_int_unsigned_rem(oc, cx.i64(channels), "c")?;
        let params = load_params(cx, tables, c)?;
        let base = cx.builder.build_int_nuw_mul(oc, cx.i64(inner), "base")?;
        cx.for_n(inner, 1, |cx, j| {
            let i = cx.builder.build_int_nuw_add(base, j, "i")?;
            elem(cx, i, params)
        })
    })
}

/// `quantize`: f32 → i32 codes, exactly `QuantParams::quantize_one`; for a fused fake
/// quantization ([`fake_quant_fused`]) the dequantized values instead.
pub fn lower_quantize<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let p = node_params(cx, g, n)?;
    let shape = g.ty(g.nodes[n].inputs[0]).shape.clone();
    let (lo, hi) = (f64::from(p.qmin()), f64::from(p.qmax()));
    // Fused: store the readers' dequantized values (their scale when it differs: per tensor).
    let fused = fused_reader_params(g, n).map(|r| {
        (r != p).then(|| {
            let s = cx.f32_type().const_float(f64::from(r.scale.first().copied().unwrap_or(1.0)));
            let z = r.zero_point.first().copied().unwrap_or(0);
            (s, cx.ctx.i32_type().const_int(z as u64, true))
        })
    });
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let i32t = cx.ctx.i32_type();
    channel_loops(cx, &p, &shape, &mut |cx, i, (s, z)| {
        let v = cx.load_at(cx.f32_type(), x, i, 4)?;
        let q = math::div(cx, v, s.into())?;
        let q = cx.call_intrinsic("llvm.roundeven", &[q])?.into_float_value();
        let nan = cx.builder.build_float_compare(FloatPredicate::UNO, q, q, "nan")?;
        let q = cx.builder.build_select(nan, cx.f32_type().const_zero(), q, "q")?;
        let zf = cx.builder.build_signed_int_to_float(z, cx.f32_type(), "z")?;
        let q = math::add(cx, q, zf.into())?;
        let q = math::clamp(cx, q, lo, hi)?.into_float_value();
        let c = cx.builder.build_float_to_signed_int(q, i32t, "code")?;
        if let Some(reader) = fused {
            let v = dequantize_value(cx, c, reader.unwrap_or((s, z)))?;
            return cx.store_at(v.into(), y, i, 4);
        }
        cx.store_at(c.into(), y, i, 4)
    })?;
    cx.finish_kernel(k)
}

/// `dequantize`: i32 codes → f32, exactly `QuantParams::dequantize_one`. Constant codes are
/// read from a bit-packed global; when every reader decodes them itself
/// ([`reads_decoded`]) the kernel is empty.
pub fn lower_dequantize<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let p = node_params(cx, g, n)?;
    let shape = g.ty(g.nodes[n].inputs[0]).shape.clone();
    let mut k = cx.begin_kernel(g, n)?;
    if unread_dequantize(g, g.nodes[n].outputs[0]) {
        return cx.finish_kernel(k);
    }
    let y = k.result(0)?;
    let codes = match const_codes(g, n) {
        Some(c) => CodeSource::Packed(PackedCodes::new(c, p.bits).emit(cx)),
        None => CodeSource::Buffer(k.operand(cx, 0)?),
    };
    channel_loops(cx, &p, &shape, &mut |cx, i, params| {
        let q = codes.load(cx, i)?;
        let v = dequantize_value(cx, q, params)?;
        cx.store_at(v.into(), y, i, 4)
    })?;
    cx.finish_kernel(k)
}

/// `s · f32(q − z)`.
fn dequantize_value<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    q: IntValue<'ctx>,
    (s, z): ChannelParams<'ctx>,
) -> Result<FloatValue<'ctx>, CodegenError> {
    let d = cx.builder.build_int_sub(q, z, "d")?;
    let f = cx.builder.build_signed_int_to_float(d, cx.f32_type(), "f")?;
    Ok(cx.builder.build_float_mul(s, f, "x")?)
}

/// The constant i32 codes of dequantize node `n`'s operand, if it is a constant.
fn const_codes(g: &Graph, n: NodeId) -> Option<&[i32]> {
    let t = g.const_value(*g.nodes[n].inputs.first()?)?;
    match t.data() {
        TensorData::I32(v) => Some(v),
        _ => None,
    }
}

/// Where a dequantize kernel reads its codes.
enum CodeSource<'ctx> {
    /// An i32 buffer.
    Buffer(PointerValue<'ctx>),
    /// A bit-packed constant global.
    Packed(EmittedCodes<'ctx>),
}

impl<'ctx> CodeSource<'ctx> {
    fn load(
        &self,
        cx: &KernelCx<'_, 'ctx>,
        i: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        match self {
            CodeSource::Buffer(p) => Ok(cx.load_at(cx.ctx.i32_type(), *p, i, 4)?.into_int_value()),
            CodeSource::Packed(c) => c.load(cx, i),
        }
    }
}

/// Constant codes packed densely, LSB-first, at `width` bits (`asplit_ir::quant::pack`), or
/// as plain little-endian i32 when `width` is 32.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedCodes {
    /// The payload, followed by 4 zero bytes so a 32-bit load at any code stays inside.
    pub bytes: Vec<u8>,
    /// Bits per code (1..=16, or 32 for unpacked i32).
    pub width: u32,
    /// Whether fields are two's complement (sign-extended when decoded).
    pub signed: bool,
}

impl PackedCodes {
    /// Packs `codes` at `bits` when they all fit (unsigned, or two's complement when one is
    /// negative), else at the smallest width ≤ 16 that holds them, else as i32.
    pub fn new(codes: &[i32], bits: u8) -> PackedCodes {
        let lo = codes.iter().copied().min().unwrap_or(0).min(0);
        let hi = codes.iter().copied().max().unwrap_or(0).max(0);
        let signed = lo < 0;
        let fits = |w: u8| {
            let (lo_w, hi_w) = if signed {
                (-(1i64 << (w - 1)), (1i64 << (w - 1)) - 1)
            } else {
                (0, (1i64 << w) - 1)
            };
            i64::from(lo) >= lo_w && i64::from(hi) <= hi_w
        };
        let width = if (1..=16).contains(&bits) && fits(bits) {
            Some(bits)
        } else {
            (1..=16u8).find(|&w| fits(w))
        };
        let (mut bytes, width) = match width {
            Some(w) => (quant::pack(codes, w), u32::from(w)),
            None => (codes.iter().flat_map(|c| c.to_le_bytes()).collect(), 32),
        };
        bytes.extend_from_slice(&[0; 4]);
        PackedCodes { bytes, width, signed }
    }

    /// Emits the payload as a private constant global.
    fn emit<'ctx>(&self, cx: &mut KernelCx<'_, 'ctx>) -> EmittedCodes<'ctx> {
        EmittedCodes { ptr: cx.const_bytes(&self.bytes), width: self.width, signed: self.signed }
    }
}

/// [`PackedCodes`] in the module.
struct EmittedCodes<'ctx> {
    ptr: PointerValue<'ctx>,
    width: u32,
    signed: bool,
}

impl<'ctx> EmittedCodes<'ctx> {
    /// Code `i` as an i32: a 32-bit little-endian load at its first byte, shifted and masked
    /// (or sign-extended).
    fn load(
        &self,
        cx: &KernelCx<'_, 'ctx>,
        i: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>, CodegenError> {
        let i32t = cx.ctx.i32_type();
        if self.width == 32 {
            return Ok(cx.load_at(i32t, self.ptr, i, 4)?.into_int_value());
        }
        let b = &cx.builder;
        let bit = b.build_int_nuw_mul(i, cx.i64(u64::from(self.width)), "bit")?;
        let byte = b.build_right_shift(bit, cx.i64(3), false, "byte")?;
        let sh = b.build_and(bit, cx.i64(7), "sh")?;
        let word = cx.load_at(i32t, cx.gep(cx.ctx.i8_type(), self.ptr, byte)?, cx.i64(0), 1)?;
        let sh = b.build_int_truncate(sh, i32t, "sh32")?;
        let v = b.build_right_shift(word.into_int_value(), sh, false, "v")?;
        field(cx, v, self.width, self.signed)
    }
}

/// The low `width` bits of `v` (an i32), sign-extended when `signed`.
fn field<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    v: IntValue<'ctx>,
    width: u32,
    signed: bool,
) -> Result<IntValue<'ctx>, CodegenError> {
    let i32t = cx.ctx.i32_type();
    if width >= 32 {
        return Ok(v);
    }
    if signed {
        let up = i32t.const_int(u64::from(32 - width), false);
        let s = cx.builder.build_left_shift(v, up, "up")?;
        Ok(cx.builder.build_right_shift(s, up, true, "sx")?)
    } else {
        Ok(cx.builder.build_and(v, i32t.const_int((1u64 << width) - 1, false), "f")?)
    }
}

/// The integer type holding `count` fields of `bits` bits (i64, or i128 above 64 bits).
fn group_type<'ctx>(cx: &KernelCx<'_, 'ctx>, count: u32, bits: u32) -> IntType<'ctx> {
    if count * bits <= 64 {
        cx.ctx.i64_type()
    } else {
        cx.ctx.i128_type()
    }
}

/// The integer type of `n` (1, 2, 4, 8 or 16) bytes.
fn bytes_type<'ctx>(cx: &KernelCx<'_, 'ctx>, n: u32) -> IntType<'ctx> {
    match n {
        1 => cx.ctx.i8_type(),
        2 => cx.ctx.i16_type(),
        4 => cx.ctx.i32_type(),
        8 => cx.ctx.i64_type(),
        _ => cx.ctx.i128_type(),
    }
}

/// `pack`: i32 codes → dense LSB-first bytes (codes masked to `bits` bits).
pub fn lower_pack<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let bits = node_bits(cx, g, n)?;
    let count = g.ty(g.nodes[n].inputs[0]).numel() as u64;
    let mut k = cx.begin_kernel(g, n)?;
    let q = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let (full, rest) = (count / 8, (count % 8) as u32);
    cx.for_n(full, 1, |cx, gi| {
        let code0 = cx.builder.build_int_nuw_mul(gi, cx.i64(8), "c0")?;
        let byte0 = cx.builder.build_int_nuw_mul(gi, cx.i64(u64::from(bits)), "b0")?;
        pack_group(cx, q, y, code0, byte0, 8, bits)
    })?;
    if rest > 0 {
        let (code0, byte0) = (cx.i64(full * 8), cx.i64(full * u64::from(bits)));
        pack_group(cx, q, y, code0, byte0, rest, bits)?;
    }
    cx.finish_kernel(k)
}

/// Packs `count` (≤ 8) codes from `q[code0..]` into the `ceil(count·bits/8)` bytes at
/// `y[byte0..]`.
fn pack_group<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    q: PointerValue<'ctx>,
    y: PointerValue<'ctx>,
    code0: IntValue<'ctx>,
    byte0: IntValue<'ctx>,
    count: u32,
    bits: u32,
) -> Result<(), CodegenError> {
    let gt = group_type(cx, count, bits);
    let mask = cx.ctx.i32_type().const_int((1u64 << bits) - 1, false);
    let mut acc = gt.const_zero();
    for t in 0..count {
        let at = cx.builder.build_int_nuw_add(code0, cx.i64(u64::from(t)), "ci")?;
        let c = cx.load_at(cx.ctx.i32_type(), q, at, 4)?.into_int_value();
        let f = cx.builder.build_and(c, mask, "f")?;
        let f = cx.builder.build_int_z_extend(f, gt, "fz")?;
        let f = cx.builder.build_left_shift(f, gt.const_int(u64::from(t * bits), false), "fs")?;
        acc = cx.builder.build_or(acc, f, "acc")?;
    }
    let nbytes = (count * bits).div_ceil(8);
    let dst = cx.gep(cx.ctx.i8_type(), y, byte0)?;
    if matches!(nbytes, 1 | 2 | 4 | 8 | 16) && nbytes * 8 <= gt.get_bit_width() {
        let t = bytes_type(cx, nbytes);
        let v = cx.builder.build_int_truncate_or_bit_cast(acc, t, "w")?;
        return cx.store_at(v.into(), dst, cx.i64(0), 1);
    }
    for b in 0..nbytes {
        let s =
            cx.builder.build_right_shift(acc, gt.const_int(u64::from(8 * b), false), false, "s")?;
        let v = cx.builder.build_int_truncate(s, cx.ctx.i8_type(), "byte")?;
        cx.store_at(v.into(), dst, cx.i64(u64::from(b)), 1)?;
    }
    Ok(())
}

/// `unpack`: dense LSB-first bytes → i32 codes (sign-extended when `signed`).
pub fn lower_unpack<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let bits = node_bits(cx, g, n)?;
    let signed = g.nodes[n].attrs.int("signed").map_err(|e| cx.invalid(g, n, e.to_string()))? != 0;
    let count = g.ty(g.nodes[n].outputs[0]).numel() as u64;
    let have = g.ty(g.nodes[n].inputs[0]).numel();
    if have != quant::packed_len(count as usize, bits as u8) {
        return Err(cx.invalid(g, n, format!("{have} bytes for {count} codes of {bits} bits")));
    }
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let q = k.result(0)?;
    let (full, rest) = (count / 8, (count % 8) as u32);
    cx.for_n(full, 1, |cx, gi| {
        let code0 = cx.builder.build_int_nuw_mul(gi, cx.i64(8), "c0")?;
        let byte0 = cx.builder.build_int_nuw_mul(gi, cx.i64(u64::from(bits)), "b0")?;
        unpack_group(cx, x, q, byte0, code0, 8, bits, signed)
    })?;
    if rest > 0 {
        let (code0, byte0) = (cx.i64(full * 8), cx.i64(full * u64::from(bits)));
        unpack_group(cx, x, q, byte0, code0, rest, bits, signed)?;
    }
    cx.finish_kernel(k)
}

/// Unpacks `count` (≤ 8) codes from the `ceil(count·bits/8)` bytes at `x[byte0..]` into
/// `q[code0..]`.
#[allow(clippy::too_many_arguments)]
fn unpack_group<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    x: PointerValue<'ctx>,
    q: PointerValue<'ctx>,
    byte0: IntValue<'ctx>,
    code0: IntValue<'ctx>,
    count: u32,
    bits: u32,
    signed: bool,
) -> Result<(), CodegenError> {
    let gt = group_type(cx, count, bits);
    let nbytes = (count * bits).div_ceil(8);
    let src = cx.gep(cx.ctx.i8_type(), x, byte0)?;
    let acc = if matches!(nbytes, 1 | 2 | 4 | 8 | 16) && nbytes * 8 <= gt.get_bit_width() {
        let t = bytes_type(cx, nbytes);
        let v = cx.load_at(t, src, cx.i64(0), 1)?.into_int_value();
        cx.builder.build_int_z_extend_or_bit_cast(v, gt, "acc")?
    } else {
        let mut acc = gt.const_zero();
        for b in 0..nbytes {
            let v = cx.load_at(cx.ctx.i8_type(), src, cx.i64(u64::from(b)), 1)?.into_int_value();
            let v = cx.builder.build_int_z_extend(v, gt, "bz")?;
            let v = cx.builder.build_left_shift(v, gt.const_int(u64::from(8 * b), false), "bs")?;
            acc = cx.builder.build_or(acc, v, "acc")?;
        }
        acc
    };
    for t in 0..count {
        let s = cx.builder.build_right_shift(
            acc,
            gt.const_int(u64::from(t * bits), false),
            false,
            "s",
        )?;
        let v = cx.builder.build_int_truncate(s, cx.ctx.i32_type(), "v")?;
        let v = field(cx, v, bits, signed)?;
        let at = cx.builder.build_int_nuw_add(code0, cx.i64(u64::from(t)), "ci")?;
        cx.store_at(v.into(), q, at, 4)?;
    }
    Ok(())
}

/// THE rule shared with the arena planner (`arena::plan`): whether `quantize` node `q` is an
/// edge activation's fake quantization that needs no codes — its result is no graph output
/// and every reader is a `dequantize` with the same parameters whose own result is no graph
/// output (the quantize's parameters, or the same with another per-tensor scale: see
/// [`fused_reader_params`]). Then the quantize kernel stores the readers' `s·(q − z)` (f32,
/// same 4 bytes per element as the codes) and each of those dequantizes aliases that buffer
/// ([`aliases_fake_quant`]): two passes over the activation instead of four. A quantize that also feeds a `pack` (a
/// crossing tensor) or an output keeps its codes.
pub fn fake_quant_fused(g: &Graph, q: NodeId) -> bool {
    fused_reader_params(g, q).is_some()
}

/// The parameters of the `dequantize`s that read quantize node `q` when the pair is fused
/// ([`fake_quant_fused`]): every reader is a single-result `dequantize` (no graph output)
/// with the same parameters, which are the quantize's own, or differ from them only in a
/// per-tensor scale (the unit-scale `dequantize` feeding an exact conv, `q − zp`).
fn fused_reader_params(g: &Graph, q: NodeId) -> Option<QuantParams> {
    let nd = &g.nodes[q];
    let v = *nd.outputs.first()?;
    if nd.op != OpKind::Quantize || g.outputs.contains(&v) {
        return None;
    }
    let own = params_from_attrs(&nd.attrs).ok()?;
    let mut common: Option<QuantParams> = None;
    for &r in g.order.iter().filter(|&&r| g.nodes[r].inputs.contains(&v)) {
        let rn = &g.nodes[r];
        let ok = rn.op == OpKind::Dequantize
            && rn.inputs.len() == 1
            && rn.outputs.len() == 1
            && !g.outputs.contains(&rn.outputs[0]);
        let p = params_from_attrs(&rn.attrs).ok().filter(|_| ok)?;
        match &common {
            Some(c) if *c != p => return None,
            _ => common = Some(p),
        }
    }
    let p = common?;
    let rescaled = p.scale.len() == 1
        && own.scale.len() == 1
        && QuantParams { scale: own.scale.clone(), ..p.clone() } == own;
    (p == own || rescaled).then_some(p)
}

/// Whether `dequantize` node `n` reads a fused fake quantization ([`fake_quant_fused`]): its
/// result then aliases the quantize's buffer, which already holds the values, and it has
/// no kernel.
pub fn aliases_fake_quant(g: &Graph, n: NodeId) -> bool {
    let nd = &g.nodes[n];
    nd.op == OpKind::Dequantize
        && nd.inputs.len() == 1
        && g.producer(nd.inputs[0]).is_some_and(|q| fake_quant_fused(g, q))
}

/// A weight that is `dequantize(const i32 codes)`: its codes and parameters.
#[derive(Clone, Debug)]
pub struct QuantWeight {
    /// The codes, row-major at the weight's shape.
    pub codes: Vec<i32>,
    /// The dequantize's parameters (validated against the shape).
    pub params: QuantParams,
    /// The weight's shape.
    pub shape: Vec<usize>,
}

impl QuantWeight {
    /// The largest magnitude of the dequantized weights.
    pub fn dequantized_abs_max(&self) -> f32 {
        self.params.dequantize(&self.codes, &self.shape).iter().fold(0f32, |m, v| m.max(v.abs()))
    }
}

/// The quantized constant behind value `v`, when `v` is the result of a `dequantize` of a
/// constant i32 tensor with valid parameters.
pub fn quant_weight(g: &Graph, v: ValueId) -> Option<QuantWeight> {
    let (codes, params, shape) = quant_weight_parts(g, v)?;
    Some(QuantWeight { codes: codes.to_vec(), params, shape: shape.to_vec() })
}

/// [`quant_weight`] without copying the codes.
fn quant_weight_parts(g: &Graph, v: ValueId) -> Option<(&[i32], QuantParams, &[usize])> {
    let n = g.producer(v)?;
    if g.nodes[n].op != OpKind::Dequantize {
        return None;
    }
    let codes = const_codes(g, n)?;
    let shape = &g.ty(g.nodes[n].inputs[0]).shape;
    let params = params_from_attrs(&g.nodes[n].attrs).ok()?;
    params.validate(shape).ok()?;
    (codes.len() == shape.iter().product::<usize>()).then_some((codes, params, shape))
}

/// THE rule shared by the dequantize generator and the conv/gemm generators: whether
/// `reader` reads its operand `idx` as weights it decodes itself with [`decoded_weights`]
/// (the weight operand of `conv`, `gemm` or an f32 `matmul` that is `dequantize(const
/// codes)`), instead of from the dequantize's buffer.
pub fn reads_decoded(g: &Graph, reader: NodeId, idx: usize) -> bool {
    let nd = &g.nodes[reader];
    let f32_matmul = nd.op == OpKind::MatMul
        && nd.outputs.first().is_some_and(|&y| g.ty(y).dtype == asplit_ir::DType::F32);
    (matches!(nd.op, OpKind::Conv | OpKind::Gemm) || f32_matmul)
        && idx == 1
        && nd.inputs.get(1).is_some_and(|&v| quant_weight_parts(g, v).is_some())
}

/// THE rule shared with the arena planner (`arena::plan`, which gives such a value no
/// bytes): whether `v` is the result of a `dequantize` whose buffer no one reads, because
/// every reader decodes the weights itself ([`reads_decoded`]) and `v` is no graph output.
/// Its kernel is then empty.
pub fn unread_dequantize(g: &Graph, v: ValueId) -> bool {
    g.producer(v).is_some_and(|n| g.nodes[n].op == OpKind::Dequantize) && all_readers_decode(g, v)
}

/// Whether no one reads `v`'s buffer: it is not a graph output and every use of it is one
/// that [`reads_decoded`].
fn all_readers_decode(g: &Graph, v: ValueId) -> bool {
    if g.outputs.contains(&v) {
        return false;
    }
    g.order.iter().all(|&r| {
        g.nodes[r].inputs.iter().enumerate().all(|(i, &u)| u != v || reads_decoded(g, r, i))
    })
}

/// A blocked layout of a weight matrix (`pack::pack_rows` / `pack::pack_cols`): per group
/// `grp`, element `(a, b)` of the `a_count × b_count` matrix is read at
/// `grp·src_group + a·a_stride + b·b_stride` in the dense weight and written at
/// `grp·dst_group + (a / blk)·blk·b_count + b·blk + a % blk`. Positions no element maps to
/// (padding rows/columns) stay 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// Groups.
    pub groups: u64,
    /// Dense elements per group.
    pub src_group: u64,
    /// Packed elements per group.
    pub dst_group: u64,
    /// Rows (the blocked index).
    pub a_count: u64,
    /// Dense stride of `a`.
    pub a_stride: u64,
    /// Columns (the `k` index).
    pub b_count: u64,
    /// Dense stride of `b`.
    pub b_stride: u64,
    /// Block size of `a` (`mr` or `nr`; 1 is the dense layout).
    pub blk: u64,
}

impl Blocked {
    /// The dense layout of `numel` elements (no permutation).
    pub fn dense(numel: u64) -> Blocked {
        Blocked {
            groups: 1,
            src_group: numel,
            dst_group: numel,
            a_count: 1,
            a_stride: 0,
            b_count: numel,
            b_stride: 1,
            blk: 1,
        }
    }

    /// `pack_rows` of each of `groups` row-major `m × k` matrices in blocks of `mr` rows.
    pub fn rows(groups: u64, m: u64, k: u64, mr: u64) -> Blocked {
        Blocked {
            groups,
            src_group: m * k,
            dst_group: m.div_ceil(mr.max(1)) * mr.max(1) * k,
            a_count: m,
            a_stride: k,
            b_count: k,
            b_stride: 1,
            blk: mr.max(1),
        }
    }

    /// `pack_cols` of the `k × n` matrix (stored `n × k` when `trans`) in panels of `nr`.
    pub fn cols(k: u64, n: u64, nr: u64, trans: bool) -> Blocked {
        Blocked {
            groups: 1,
            src_group: k * n,
            dst_group: n.div_ceil(nr.max(1)) * nr.max(1) * k,
            a_count: n,
            a_stride: if trans { k } else { 1 },
            b_count: k,
            b_stride: if trans { 1 } else { n },
            blk: nr.max(1),
        }
    }

    /// Packed elements in all.
    pub fn len(&self) -> u64 {
        self.groups.saturating_mul(self.dst_group)
    }

    /// True when the layout holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Emits, at the builder's position in a kernel, the one-time decoding of `w` into `lay`:
/// returns the address of a zero-initialised f32 global of `lay.len()` elements that holds
/// the dequantized weights (bit-exact with the interpreter's `dequantize`) once the code
/// emitted here has run. The codes themselves are a bit-packed constant ([`PackedCodes`]).
pub fn decoded_weights<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    w: &QuantWeight,
    lay: &Blocked,
) -> Result<PointerValue<'ctx>, CodegenError> {
    let numel = w.codes.len() as u64;
    let fits = lay.groups.checked_mul(lay.src_group).is_some_and(|s| s == numel)
        && lay.a_count.checked_mul(lay.b_count).is_some_and(|ab| ab <= lay.src_group);
    let len = u32::try_from(lay.len()).ok().filter(|_| fits).ok_or_else(|| {
        CodegenError::Graph(format!("decoded weight layout {lay:?} does not match {numel} codes"))
    })?;
    let arr = cx.f32_type().array_type(len);
    let dst = cx.module.add_global(arr, None, &cx.unique_name("wdec"));
    dst.set_initializer(&arr.const_zero());
    dst.set_linkage(Linkage::Private);
    dst.set_alignment(64);
    let i8t = cx.ctx.i8_type();
    let guard = cx.module.add_global(i8t, None, &cx.unique_name("wdec.ready"));
    guard.set_initializer(&i8t.const_zero());
    guard.set_linkage(Linkage::Private);
    let (dst, guard) = (dst.as_pointer_value(), guard.as_pointer_value());
    let func = cx.current_function()?;
    let block = |name: &str| cx.ctx.append_basic_block(func, name);
    let (claim, init, wait, done) =
        (block("wdec.claim"), block("wdec.init"), block("wdec.wait"), block("wdec.done"));
    // 0: empty, 1: being filled by one caller, 2: ready. Exactly one caller decodes; the
    // others wait for 2, so no one reads the weights while they are written.
    branch_if_ready(cx, guard, done, claim)?;
    cx.builder.position_at_end(claim);
    let (empty, filling) = (i8t.const_zero(), i8t.const_int(1, false));
    let r = cx.builder.build_cmpxchg(
        guard,
        empty,
        filling,
        AtomicOrdering::AcquireRelease,
        AtomicOrdering::Acquire,
    )?;
    let won = cx.builder.build_extract_value(r, 1, "won")?.into_int_value();
    cx.builder.build_conditional_branch(won, init, wait)?;
    cx.builder.position_at_end(init);
    emit_decode(cx, w, lay, dst)?;
    let st = cx.builder.build_store(guard, i8t.const_int(2, false))?;
    atomic(Some(st), AtomicOrdering::Release)?;
    cx.builder.build_unconditional_branch(done)?;
    cx.builder.position_at_end(wait);
    branch_if_ready(cx, guard, done, wait)?;
    cx.builder.position_at_end(done);
    Ok(dst)
}

/// Loads the guard byte (acquire) and branches to `ready` when it is 2, else to `other`.
fn branch_if_ready<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    guard: PointerValue<'ctx>,
    ready: inkwell::basic_block::BasicBlock<'ctx>,
    other: inkwell::basic_block::BasicBlock<'ctx>,
) -> Result<(), CodegenError> {
    let i8t = cx.ctx.i8_type();
    let flag = cx.builder.build_load(i8t, guard, "guard")?;
    atomic(flag.as_instruction_value(), AtomicOrdering::Acquire)?;
    let is_ready = cx.builder.build_int_compare(
        IntPredicate::EQ,
        flag.into_int_value(),
        i8t.const_int(2, false),
        "ready",
    )?;
    cx.builder.build_conditional_branch(is_ready, ready, other)?;
    Ok(())
}

/// Makes a load or store atomic with `ordering` (byte-sized, so alignment 1 suffices).
fn atomic(
    inst: Option<inkwell::values::InstructionValue<'_>>,
    ordering: AtomicOrdering,
) -> Result<(), CodegenError> {
    let i = inst.ok_or_else(|| CodegenError::Llvm("guard access is not an instruction".into()))?;
    i.set_alignment(1).map_err(|e| CodegenError::Llvm(e.to_string()))?;
    i.set_atomic_ordering(ordering).map_err(|e| CodegenError::Llvm(e.to_string()))
}

/// The decoding loops of [`decoded_weights`]: for every (group, a, b), the code at its dense
/// index, dequantized with the parameters of its channel, stored at its packed index.
fn emit_decode<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    w: &QuantWeight,
    lay: &Blocked,
    dst: PointerValue<'ctx>,
) -> Result<(), CodegenError> {
    let codes = PackedCodes::new(&w.codes, w.params.bits).emit(cx);
    let tables = param_tables(cx, &w.params);
    let (_, channels, inner) = channel_layout(&w.params, &w.shape);
    let l = *lay;
    cx.for_n(l.groups, 1, |cx, grp| {
        let sg = cx.builder.build_int_nuw_mul(grp, cx.i64(l.src_group), "sg")?;
        let dg = cx.builder.build_int_nuw_mul(grp, cx.i64(l.dst_group), "dg")?;
        cx.for_n(l.a_count, 1, |cx, a| {
            let b_ = &cx.builder;
            let sa =
                b_.build_int_nuw_add(sg, b_.build_int_nuw_mul(a, cx.i64(l.a_stride), "")?, "sa")?;
            let blk = b_.build_int_unsigned_div(a, cx.i64(l.blk), "blk")?;
            let within = b_.build_int_unsigned_rem(a, cx.i64(l.blk), "in")?;
            let da = b_.build_int_nuw_mul(blk, cx.i64(l.blk * l.b_count), "")?;
            let da = b_.build_int_nuw_add(dg, b_.build_int_nuw_add(da, within, "")?, "da")?;
            cx.for_n(l.b_count, 1, |cx, b| {
                let b_ = &cx.builder;
                let src = b_.build_int_nuw_add(
                    sa,
                    b_.build_int_nuw_mul(b, cx.i64(l.b_stride), "")?,
                    "src",
                )?;
                let di =
                    b_.build_int_nuw_add(da, b_.build_int_nuw_mul(b, cx.i64(l.blk), "")?, "dst")?;
                let ch = b_.build_int_unsigned_div(src, cx.i64(inner.max(1)), "")?;
                let ch = b_.build_int_unsigned_rem(ch, cx.i64(channels.max(1)), "ch")?;
                let q = codes.load(cx, src)?;
                let v = dequantize_value(cx, q, load_params(cx, tables, ch)?)?;
                cx.store_at(v.into(), dst, di, 4)
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed index of `(grp, a, b)` under `lay`, as the emitted code computes it.
    fn dst(lay: &Blocked, grp: u64, a: u64, b: u64) -> u64 {
        grp * lay.dst_group + (a / lay.blk) * lay.blk * lay.b_count + b * lay.blk + a % lay.blk
    }

    #[test]
    fn blocked_layouts_agree_with_pack_rows_and_pack_cols() {
        let (m, k, mr) = (5u64, 3u64, 2u64);
        let dense: Vec<f32> = (0..m * k).map(|i| i as f32 + 1.0).collect();
        let want = super::super::pack::pack_rows(&dense, m as usize, k as usize, mr as usize);
        let lay = Blocked::rows(1, m, k, mr);
        let mut got = vec![0.0; lay.len() as usize];
        for a in 0..m {
            for b in 0..k {
                got[dst(&lay, 0, a, b) as usize] = dense[(a * lay.a_stride + b) as usize];
            }
        }
        assert_eq!(Some(got), want);
        for trans in [false, true] {
            let (k, n, nr) = (3u64, 5u64, 4u64);
            let want = super::super::pack::pack_cols(&dense, 3, 5, 4, trans);
            let lay = Blocked::cols(k, n, nr, trans);
            let mut got = vec![0.0; lay.len() as usize];
            for a in 0..n {
                for b in 0..k {
                    let s = a * lay.a_stride + b * lay.b_stride;
                    got[dst(&lay, 0, a, b) as usize] = dense[s as usize];
                }
            }
            assert_eq!(Some(got), want, "trans = {trans}");
        }
    }

    #[test]
    fn packed_codes_use_the_bit_width_when_the_codes_fit() {
        let c = PackedCodes::new(&[-7, 7, 0, 3, -1], 4);
        assert_eq!((c.width, c.signed), (4, true));
        assert_eq!(c.bytes.len(), 3 + 4);
        let u = PackedCodes::new(&[0, 15, 3], 4);
        assert_eq!((u.width, u.signed), (4, false));
        // 1-bit symmetric codes are -1..=1: two bits.
        let s = PackedCodes::new(&[-1, 1, 0], 1);
        assert_eq!((s.width, s.signed), (2, true));
        let wide = PackedCodes::new(&[1 << 20, 0], 8);
        assert_eq!(wide.width, 32);
        assert_eq!(wide.bytes.len(), 8 + 4);
    }
}
