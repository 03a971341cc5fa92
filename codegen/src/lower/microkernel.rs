//! The register-blocked f32 matrix-product micro-kernel that conv, gemm and matmul share, and
//! the tile loops around it.
//!
//! `C = epilogue(A·B)` for an `m × n` result with inner dimension `k`, all sizes static. The
//! result is vectorised along its columns: a tile is `rows` (≤ `mr`) rows × `nv` vectors of
//! `VL` columns (`VL` = the target's f32 lanes), held in `rows·nv` vector registers for the
//! whole `k` loop. Per `k` the kernel loads `nv` vectors of B (contiguous columns), broadcasts
//! one scalar of A per row and accumulates with `llvm.fmuladd` on `<VL x float>`; after the
//! loop the fused epilogue runs on the registers (× alpha, + addends: per-row bias, per-column
//! bias, residual skip, gemm's `β·c`; then the activation of [`super::math::activation`]) before
//! the single store. A last vector covering fewer than `VL` columns uses masked loads and
//! stores (`llvm.masked.load/store`), so no tile reads or writes outside its operands.
//!
//! Operands are addressed affinely from the tile origin, which covers both compile-time packed
//! layouts (see `pack`) and plain row-major buffers. This file does not pick layouts, pack
//! anything or know about convolution; `conv` and `gemm` do.

use super::{math, KernelCx};
use crate::error::CodegenError;
use asplit_ir::Activation;
use asplit_ir::{Graph, NodeId};
use inkwell::attributes::AttributeLoc;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FunctionValue, IntValue, PointerValue, VectorValue,
};
use inkwell::IntPredicate;

/// The broadcast operand A: element `(i, k)` of the tile whose first row is `i0` lives at
/// `ptr + i0·origin_rs + (i − i0)·rs + k·ks` (elements).
#[derive(Clone, Copy)]
pub struct AOperand<'ctx> {
    /// Base address.
    pub ptr: PointerValue<'ctx>,
    /// Offset per row of the tile origin.
    pub origin_rs: u64,
    /// Offset per row inside a tile.
    pub rs: u64,
    /// Offset per `k`.
    pub ks: u64,
}

/// The vector operand B: element `(k, j)` of the tile whose first column is `j0` lives at
/// `ptr + j0·origin_cs + k·ks + (j − j0)`.
#[derive(Clone, Copy)]
pub struct BOperand<'ctx> {
    /// Base address.
    pub ptr: PointerValue<'ctx>,
    /// Offset per column of the tile origin.
    pub origin_cs: u64,
    /// Offset per `k`.
    pub ks: u64,
    /// True when the columns past `n` up to the next multiple of `VL` may be read (a padded,
    /// packed panel); false makes the last partial vector a masked load.
    pub padded: bool,
}

/// The result C: element `(i, j)` at `ptr + i·ldc + j`.
#[derive(Clone, Copy)]
pub struct COperand<'ctx> {
    /// Base address.
    pub ptr: PointerValue<'ctx>,
    /// Row stride.
    pub ldc: u64,
}

/// A term added in the epilogue: `scale · T(i, j)` with `T(i, j)` at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub struct Addend<'ctx> {
    /// Base address.
    pub ptr: PointerValue<'ctx>,
    /// Row stride (0 broadcasts along rows).
    pub rs: u64,
    /// True when `T` varies along columns (stride 1); false broadcasts one value per row.
    pub per_column: bool,
    /// Factor (gemm's β; 1 otherwise).
    pub scale: f32,
}

/// The fused epilogue: `act(alpha·acc + Σ addends)`.
#[derive(Clone)]
pub struct Epilogue<'ctx> {
    /// Factor of the product (gemm's α).
    pub alpha: f32,
    /// Terms added after scaling.
    pub addends: Vec<Addend<'ctx>>,
    /// Activation applied last.
    pub act: Activation,
    /// Exact accumulation of integer operands (`conv`'s `exact_bound`): the `k` loop runs in
    /// chunks of at most this many steps, each summed in f32 (exact while every partial sum
    /// stays below 2^24, which the caller guarantees), converted to i32 and added; the i32
    /// total becomes f32 once, before the rest of the epilogue. `None`: plain f32 sums.
    pub exact_chunk: Option<u64>,
}

/// Tile shape and cache blocking of one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tiling {
    /// Rows per tile.
    pub mr: u64,
    /// Vectors of `VL` columns per tile.
    pub nv: u64,
    /// Columns per cache panel (a multiple of `nv·VL`): every row tile runs over one panel
    /// of B before the next panel starts.
    pub nc: u64,
}

/// Accumulator registers a tile may use (of 32 vector registers with AVX-512; the rest hold
/// the B vectors and the broadcast).
const ACCUMULATORS: u64 = 24;

/// B bytes per cache panel (about half the L2 of a current x86 core).
const PANEL_BYTES: u64 = 512 * 1024;

/// The tile shape for an `m × n × k` product with `vl` lanes: 8 rows × 3 vectors when there
/// are enough rows, wider tiles for few rows (a row vector needs several independent
/// accumulators to hide the FMA latency).
pub fn choose_tiling(m: u64, n: u64, k: u64, vl: u64) -> Tiling {
    let mr = m.clamp(1, 8);
    let vecs = n.div_ceil(vl).max(1);
    let nv = (ACCUMULATORS / mr).clamp(1, 12).min(vecs);
    let nr = nv * vl;
    let per_col = 4 * k.max(1);
    let nc = (PANEL_BYTES / per_col / nr).max(1) * nr;
    Tiling { mr, nv, nc }
}

/// Marks `f` as using `lanes`-wide f32 vectors, so the x86 backend keeps 512-bit registers
/// (it otherwise splits them on CPUs that prefer 256-bit vectors).
pub fn mark_wide(cx: &KernelCx<'_, '_>, f: FunctionValue<'_>) {
    let bits = (cx.lanes * 32).to_string();
    for key in ["min-legal-vector-width", "prefer-vector-width"] {
        f.add_attribute(AttributeLoc::Function, cx.ctx.create_string_attribute(key, &bits));
    }
}

/// Emits `C = epilogue(A·B)` for an `m × n × k` product: panels of `tiling.nc` columns,
/// row tiles of `mr`, column tiles of `nv` vectors, then the partial row and column tiles.
pub fn emit_matmul<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    (m, n, k): (u64, u64, u64),
    a: AOperand<'ctx>,
    b: BOperand<'ctx>,
    c: COperand<'ctx>,
    epi: &Epilogue<'ctx>,
    tiling: Tiling,
) -> Result<(), CodegenError> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let vl = cx.lanes as u64;
    let nr = tiling.nv * vl;
    let n_full = n / nr * nr;
    let m_full = m / tiling.mr * tiling.mr;
    let m_tail = m - m_full;
    let full = TileShape { rows: tiling.mr, nv: tiling.nv, last: vl };
    let tail_rows = TileShape { rows: m_tail, ..full };
    if n_full > 0 {
        let nc = tiling.nc.max(nr) / nr * nr;
        cx.for_n(n_full, nc, |cx, jc| {
            let end = cx.i64(n_full);
            let lim = cx.builder.build_int_nuw_add(jc, cx.i64(nc), "jc.end")?;
            let lt = cx.builder.build_int_compare(IntPredicate::ULT, lim, end, "lt")?;
            let jend = cx.builder.build_select(lt, lim, end, "jend")?.into_int_value();
            cx.for_n(m_full, tiling.mr, |cx, i0| {
                cx.for_range(jc, jend, nr, |cx, j0| {
                    emit_tile(cx, full, k, (i0, j0), &a, &b, &c, epi)
                })
            })?;
            if m_tail > 0 {
                let i0 = cx.i64(m_full);
                cx.for_range(jc, jend, nr, |cx, j0| {
                    emit_tile(cx, tail_rows, k, (i0, j0), &a, &b, &c, epi)
                })?;
            }
            Ok(())
        })?;
    }
    let n_tail = n - n_full;
    if n_tail > 0 {
        let nv = n_tail.div_ceil(vl);
        let last = n_tail - (nv - 1) * vl;
        let shape = TileShape { rows: tiling.mr, nv, last };
        let j0 = cx.i64(n_full);
        cx.for_n(m_full, tiling.mr, |cx, i0| emit_tile(cx, shape, k, (i0, j0), &a, &b, &c, epi))?;
        if m_tail > 0 {
            let shape = TileShape { rows: m_tail, ..shape };
            emit_tile(cx, shape, k, (cx.i64(m_full), j0), &a, &b, &c, epi)?;
        }
    }
    Ok(())
}

/// The static shape of one tile: `rows` rows × `nv` vectors, the last holding `last` valid
/// lanes (1..=VL).
#[derive(Clone, Copy)]
struct TileShape {
    rows: u64,
    nv: u64,
    last: u64,
}

/// `base + a·x + c` in `i64`, folding the constant parts.
fn affine<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    x: IntValue<'ctx>,
    a: u64,
    c: u64,
) -> Result<IntValue<'ctx>, CodegenError> {
    let ax = if a == 1 { x } else { cx.builder.build_int_nuw_mul(x, cx.i64(a), "ax")? };
    Ok(if c == 0 { ax } else { cx.builder.build_int_nuw_add(ax, cx.i64(c), "axc")? })
}

/// `&ptr[idx]` in f32 elements.
fn fptr<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    ptr: PointerValue<'ctx>,
    idx: IntValue<'ctx>,
) -> Result<PointerValue<'ctx>, CodegenError> {
    cx.gep(cx.f32_type(), ptr, idx)
}

/// `&ptr[x·a + y·b]`.
fn offset2<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    ptr: PointerValue<'ctx>,
    (x, a): (IntValue<'ctx>, u64),
    (y, b): (IntValue<'ctx>, u64),
) -> Result<PointerValue<'ctx>, CodegenError> {
    let p = if a == 0 { ptr } else { fptr(cx, ptr, affine(cx, x, a, 0)?)? };
    if b == 0 {
        Ok(p)
    } else {
        fptr(cx, p, affine(cx, y, b, 0)?)
    }
}

/// The `<VL x i1>` mask of the first `valid` lanes.
fn lane_mask<'ctx>(cx: &KernelCx<'_, 'ctx>, valid: u64) -> VectorValue<'ctx> {
    let bool_t = cx.ctx.bool_type();
    let lanes: Vec<_> =
        (0..cx.lanes as u64).map(|l| bool_t.const_int((l < valid) as u64, false)).collect();
    inkwell::types::VectorType::const_vector(&lanes)
}

/// Loads `VL` floats at `p`; only the first `valid` lanes when `valid < VL` (others zero).
pub fn load_vec<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    p: PointerValue<'ctx>,
    valid: u64,
) -> Result<VectorValue<'ctx>, CodegenError> {
    let vt = cx.f32_vec(cx.lanes);
    if valid >= cx.lanes as u64 {
        let v = cx.builder.build_load(vt, p, "bv")?;
        if let Some(i) = inkwell::values::BasicValue::as_instruction_value(&v) {
            let _ = i.set_alignment(4);
        }
        return Ok(v.into_vector_value());
    }
    let f = cx.intrinsic("llvm.masked.load", &[vt.into(), cx.ptr_type().into()])?;
    let args: [BasicMetadataValueEnum; 4] = [
        p.into(),
        cx.ctx.i32_type().const_int(4, false).into(),
        lane_mask(cx, valid).into(),
        vt.const_zero().into(),
    ];
    let call = cx.builder.build_call(f, &args, "mbv")?;
    call.try_as_basic_value()
        .basic()
        .map(|v| v.into_vector_value())
        .ok_or_else(|| CodegenError::Llvm("masked load returns nothing".into()))
}

/// Stores the first `valid` lanes of `v` at `p`.
pub fn store_vec<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    v: VectorValue<'ctx>,
    p: PointerValue<'ctx>,
    valid: u64,
) -> Result<(), CodegenError> {
    if valid >= cx.lanes as u64 {
        let st = cx.builder.build_store(p, v)?;
        let _ = st.set_alignment(4);
        return Ok(());
    }
    let vt = cx.f32_vec(cx.lanes);
    let f = cx.intrinsic("llvm.masked.store", &[vt.into(), cx.ptr_type().into()])?;
    let args: [BasicMetadataValueEnum; 4] = [
        v.into(),
        p.into(),
        cx.ctx.i32_type().const_int(4, false).into(),
        lane_mask(cx, valid).into(),
    ];
    cx.builder.build_call(f, &args, "")?;
    Ok(())
}

/// A scalar f32 load at `p`, splat to `VL` lanes.
fn load_splat<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    p: PointerValue<'ctx>,
) -> Result<VectorValue<'ctx>, CodegenError> {
    let s = cx.builder.build_load(cx.f32_type(), p, "as")?;
    Ok(cx.splat(s, cx.lanes)?.into_vector_value())
}

/// One tile: the `k` loop with the accumulators in registers, then the epilogue and stores.
#[allow(clippy::too_many_arguments)]
fn emit_tile<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    t: TileShape,
    k: u64,
    (i0, j0): (IntValue<'ctx>, IntValue<'ctx>),
    a: &AOperand<'ctx>,
    b: &BOperand<'ctx>,
    c: &COperand<'ctx>,
    epi: &Epilogue<'ctx>,
) -> Result<(), CodegenError> {
    let vt = cx.f32_vec(cx.lanes);
    let a0 = offset2(cx, a.ptr, (i0, a.origin_rs), (i0, 0))?;
    let b0 = offset2(cx, b.ptr, (j0, b.origin_cs), (j0, 0))?;
    let n_acc = (t.rows * t.nv) as usize;
    let zero: BasicValueEnum = vt.const_zero().into();
    let ops = TileOperands { a0, a, b0, b };
    let acc = match epi.exact_chunk {
        Some(kc) if kc < k => emit_exact_k(cx, t, k, kc, &ops)?,
        _ => emit_k_loop(cx, t, (0, k), &ops, vec![zero; n_acc])?,
    };
    emit_epilogue(cx, t, (i0, j0), &acc, c, epi)
}

/// A tile's operands at its origin.
struct TileOperands<'a, 'ctx> {
    a0: PointerValue<'ctx>,
    a: &'a AOperand<'ctx>,
    b0: PointerValue<'ctx>,
    b: &'a BOperand<'ctx>,
}

/// The exact `k` loop: chunks of `kc` steps summed in f32 from zero, each converted to i32
/// and added to i32 accumulators; the totals as f32. Chunks are unrolled (`k` and `kc` are
/// static; the caller keeps their number small).
fn emit_exact_k<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    t: TileShape,
    k: u64,
    kc: u64,
    ops: &TileOperands<'_, 'ctx>,
) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
    let n_acc = (t.rows * t.nv) as usize;
    let vt = cx.f32_vec(cx.lanes);
    let it = cx.ctx.i32_type().vec_type(cx.lanes);
    let mut total: Vec<inkwell::values::VectorValue<'ctx>> = vec![it.const_zero(); n_acc];
    let mut k0 = 0;
    while k0 < k {
        let len = kc.min(k - k0);
        let zero: BasicValueEnum = vt.const_zero().into();
        let part = emit_k_loop(cx, t, (k0, len), ops, vec![zero; n_acc])?;
        for (sum, p) in total.iter_mut().zip(&part) {
            let p = cx.builder.build_float_to_signed_int(p.into_vector_value(), it, "chunk")?;
            *sum = cx.builder.build_int_add(*sum, p, "isum")?;
        }
        k0 += len;
    }
    total
        .into_iter()
        .map(|s| Ok(cx.builder.build_signed_int_to_float(s, vt, "exact")?.into()))
        .collect()
}

/// The `k` loop over steps `k0 .. k0 + len` with the accumulators in registers, starting
/// from `init`; returns the accumulators after the last step.
fn emit_k_loop<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    t: TileShape,
    (k0, len): (u64, u64),
    ops: &TileOperands<'_, 'ctx>,
    init: Vec<BasicValueEnum<'ctx>>,
) -> Result<Vec<BasicValueEnum<'ctx>>, CodegenError> {
    let (a, b) = (ops.a, ops.b);
    let vl = cx.lanes as u64;
    let vt = cx.f32_vec(cx.lanes);
    let n_acc = (t.rows * t.nv) as usize;
    let mut acc = init;
    let b_last = if b.padded { vl } else { t.last };
    if len > 0 {
        let func = cx.current_function()?;
        let pre = cx.current_block()?;
        let body = cx.ctx.append_basic_block(func, "tile.k");
        let exit = cx.ctx.append_basic_block(func, "tile.done");
        cx.builder.build_unconditional_branch(body)?;
        cx.builder.position_at_end(body);
        let kphi = cx.builder.build_phi(cx.i64_type(), "k")?;
        kphi.add_incoming(&[(&cx.i64(k0), pre)]);
        let kv = kphi.as_basic_value().into_int_value();
        let mut phis = Vec::with_capacity(n_acc);
        for v in &acc {
            let p = cx.builder.build_phi(BasicTypeEnum::VectorType(vt), "acc")?;
            p.add_incoming(&[(v, pre)]);
            phis.push(p);
        }
        let bk = fptr(cx, ops.b0, affine(cx, kv, b.ks, 0)?)?;
        let mut bv = Vec::with_capacity(t.nv as usize);
        for v in 0..t.nv {
            let p = fptr(cx, bk, cx.i64(v * vl))?;
            let valid = if v + 1 == t.nv { b_last } else { vl };
            bv.push(load_vec(cx, p, valid)?);
        }
        let ak = fptr(cx, ops.a0, affine(cx, kv, a.ks, 0)?)?;
        let mut next = Vec::with_capacity(n_acc);
        for r in 0..t.rows {
            let s = load_splat(cx, fptr(cx, ak, cx.i64(r * a.rs))?)?;
            for (v, bvec) in bv.iter().enumerate() {
                let i = (r * t.nv) as usize + v;
                let cur = phis[i].as_basic_value();
                next.push(cx.fmuladd(s.into(), (*bvec).into(), cur)?);
            }
        }
        let latch = cx.current_block()?;
        for (p, v) in phis.iter().zip(&next) {
            p.add_incoming(&[(v, latch)]);
        }
        let kn = cx.builder.build_int_nuw_add(kv, cx.i64(1), "k.next")?;
        kphi.add_incoming(&[(&kn, latch)]);
        let end = cx.i64(k0 + len);
        let more = cx.builder.build_int_compare(IntPredicate::ULT, kn, end, "k.more")?;
        cx.builder.build_conditional_branch(more, body, exit)?;
        cx.builder.position_at_end(exit);
        acc = next;
    }
    Ok(acc)
}

/// Scales, adds the addends, applies the activation and stores a tile's accumulators.
fn emit_epilogue<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    t: TileShape,
    (i0, j0): (IntValue<'ctx>, IntValue<'ctx>),
    acc: &[BasicValueEnum<'ctx>],
    c: &COperand<'ctx>,
    epi: &Epilogue<'ctx>,
) -> Result<(), CodegenError> {
    let vl = cx.lanes as u64;
    let c0 = offset2(cx, c.ptr, (i0, c.ldc), (j0, 1))?;
    let origins: Vec<PointerValue> = epi
        .addends
        .iter()
        .map(|ad| offset2(cx, ad.ptr, (i0, ad.rs), (j0, ad.per_column as u64)))
        .collect::<Result<_, _>>()?;
    for r in 0..t.rows {
        let mut row_terms = Vec::with_capacity(epi.addends.len());
        for (ad, &o) in epi.addends.iter().zip(&origins) {
            let p = fptr(cx, o, cx.i64(r * ad.rs))?;
            let scalar =
                if ad.per_column { None } else { Some(scaled(cx, load_splat(cx, p)?, ad.scale)?) };
            row_terms.push((p, scalar));
        }
        for v in 0..t.nv {
            let valid = if v + 1 == t.nv { t.last } else { vl };
            let mut y = acc[(r * t.nv + v) as usize];
            if epi.alpha != 1.0 {
                y = math::mul_c(cx, y, epi.alpha as f64)?;
            }
            for ((p, scalar), ad) in row_terms.iter().zip(&epi.addends) {
                let term = match scalar {
                    Some(s) => *s,
                    None => {
                        let q = fptr(cx, *p, cx.i64(v * vl))?;
                        scaled(cx, load_vec(cx, q, valid)?, ad.scale)?
                    }
                };
                y = math::add(cx, y, term.into())?;
            }
            let y = math::activation(cx, epi.act, y)?.into_vector_value();
            let q = fptr(cx, c0, cx.i64(r * c.ldc + v * vl))?;
            store_vec(cx, y, q, valid)?;
        }
    }
    Ok(())
}

/// `v · s` (no multiply when `s` is 1).
fn scaled<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    v: VectorValue<'ctx>,
    s: f32,
) -> Result<VectorValue<'ctx>, CodegenError> {
    if s == 1.0 {
        return Ok(v);
    }
    Ok(math::mul_c(cx, v.into(), s as f64)?.into_vector_value())
}

/// For an exact op (`conv` or `gemm` with `exact_bound`) whose outputs each sum `per_output`
/// products: the chunk length of [`asplit_ir::ops::exact_chunk`] for its bound and the
/// largest weight magnitude, or an error when the sums do not fit; `None` for an ordinary op.
/// The weights (operand 1) must be constants, plain (`w`) or decoded codes (`wq`).
pub fn exact_chunk_of(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
    w: Option<&[f32]>,
    wq: Option<&super::boundary::QuantWeight>,
    per_output: u64,
) -> Result<Option<u64>, CodegenError> {
    let Some(bound) = g.nodes[node].attrs.get("exact_bound") else { return Ok(None) };
    let bound = match bound {
        asplit_ir::Attr::Int(b) if *b >= 1 => *b as u64,
        other => return Err(cx.invalid(g, node, format!("exact_bound = {other:?}"))),
    };
    let w_max = match (w, wq) {
        (Some(w), _) => w.iter().fold(0f32, |m, v| m.max(v.abs())),
        (None, Some(q)) => q.dequantized_abs_max(),
        (None, None) => {
            return Err(cx.unsupported(g, node, "an exact op with run-time weights"));
        }
    };
    let w_max = w_max.ceil() as u64;
    match asplit_ir::ops::exact_chunk(bound, w_max, per_output) {
        Some(kc) => Ok(Some(kc)),
        None => Err(cx.unsupported(
            g,
            node,
            format!(
                "an exact op whose products may pass 2^24 or sums 2^31 ({per_output} products \
                 of at most {bound}·{w_max})"
            ),
        )),
    }
}

/// A zeroed heap workspace of `floats` f32 for one kernel call (`calloc`; `abort` when the
/// allocation fails). Heap rather than stack, so big im2col panels fit any thread's stack and
/// concurrent calls of `forward` do not share it.
pub fn alloc_workspace<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    floats: u64,
) -> Result<PointerValue<'ctx>, CodegenError> {
    let ptr_t = cx.ptr_type();
    let i64_t = cx.i64_type();
    let calloc = match cx.module.get_function("calloc") {
        Some(f) => f,
        None => cx.module.add_function(
            "calloc",
            ptr_t.fn_type(&[i64_t.into(), i64_t.into()], false),
            None,
        ),
    };
    let args: [BasicMetadataValueEnum; 2] = [cx.i64(floats.max(1)).into(), cx.i64(4).into()];
    let p = cx
        .builder
        .build_call(calloc, &args, "ws")?
        .try_as_basic_value()
        .basic()
        .ok_or_else(|| CodegenError::Llvm("calloc returns nothing".into()))?
        .into_pointer_value();
    let func = cx.current_function()?;
    let fail = cx.ctx.append_basic_block(func, "ws.fail");
    let ok = cx.ctx.append_basic_block(func, "ws.ok");
    let null = cx.builder.build_is_null(p, "ws.null")?;
    cx.builder.build_conditional_branch(null, fail, ok)?;
    cx.builder.position_at_end(fail);
    let abort = match cx.module.get_function("abort") {
        Some(f) => f,
        None => cx.module.add_function("abort", cx.ctx.void_type().fn_type(&[], false), None),
    };
    cx.builder.build_call(abort, &[], "")?;
    cx.builder.build_unreachable()?;
    cx.builder.position_at_end(ok);
    Ok(p)
}

/// Frees a workspace from [`alloc_workspace`].
pub fn free_workspace<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    p: PointerValue<'ctx>,
) -> Result<(), CodegenError> {
    let free = match cx.module.get_function("free") {
        Some(f) => f,
        None => cx.module.add_function(
            "free",
            cx.ctx.void_type().fn_type(&[cx.ptr_type().into()], false),
            None,
        ),
    };
    cx.builder.build_call(free, &[p.into()], "")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiling_fits_the_register_budget() {
        for m in [1, 2, 3, 5, 8, 64, 1000] {
            for n in [1, 7, 16, 49, 3136] {
                let t = choose_tiling(m, n, 64, 16);
                assert!(t.mr * t.nv <= ACCUMULATORS, "{t:?}");
                assert!(t.mr <= m.max(1) && t.nv >= 1);
                assert_eq!(t.nc % (t.nv * 16), 0, "{t:?}");
            }
        }
        assert_eq!(choose_tiling(64, 3136, 64, 16), Tiling { mr: 8, nv: 3, nc: 2016 });
        assert_eq!(choose_tiling(1, 1000, 2048, 16).nv, 12);
    }
}
