//! Generators of `gemm` and `matmul` (f32) on the shared micro-kernel (`microkernel`).
//!
//! - `gemm`: `act(α·op(a)·op(b) + β·c)`. A constant `b` is packed at compile time into
//!   panels of the tile width (`pack::pack_cols`, transposed or not); a run-time `b` is read in
//!   place, or first transposed into a heap workspace when `trans_b`. `a` is broadcast from
//!   its buffer (strided when `trans_a`). `c` (broadcast to `m × n`) and α, β go into the
//!   epilogue.
//! - `matmul`: numpy semantics (1-d operands promoted, batch dims broadcast) plus the fused
//!   `bias` (broadcast to the result) and activation. A right operand shared by the whole
//!   batch folds the batch into the rows (one product); otherwise a run-time loop over the
//!   batch reads each operand's offset from a small constant table. Constant right operands
//!   are packed at compile time, one packed matrix per batch entry.
//!
//! `matmul` in f64 and f16 runs plain scalar loops (f16 accumulated in f32); other dtypes, and
//! `gemm` in anything but f32, are reported as unsupported.

use super::boundary::{self, Blocked};
use super::microkernel::{
    self, alloc_workspace, choose_tiling, emit_matmul, free_workspace, mark_wide, AOperand, Addend,
    BOperand, COperand, Epilogue,
};
use super::pack::pack_cols;
use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::{Activation, DType, Graph, NodeId};
use inkwell::values::{FunctionValue, IntValue, PointerValue};

/// Fails with `Unsupported` unless every operand and result of `node` is f32.
pub fn require_f32(cx: &KernelCx<'_, '_>, g: &Graph, node: NodeId) -> Result<(), CodegenError> {
    let nd = &g.nodes[node];
    for &v in nd.inputs.iter().chain(&nd.outputs) {
        let d = g.ty(v).dtype;
        if d != DType::F32 {
            return Err(cx.unsupported(g, node, format!("dtype {d}")));
        }
    }
    Ok(())
}

/// Element strides of a dense row-major tensor of `shape` broadcast (right-aligned, numpy) to
/// `target`: 0 along broadcast dims. `None` when the shapes do not broadcast.
pub fn broadcast_strides(shape: &[usize], target: &[usize]) -> Option<Vec<u64>> {
    if shape.len() > target.len() {
        return None;
    }
    let lead = target.len() - shape.len();
    let mut strides = vec![0u64; target.len()];
    let mut acc = 1u64;
    for (i, &d) in shape.iter().enumerate().rev() {
        let t = target[lead + i];
        if d == t && d != 1 {
            strides[lead + i] = acc;
        } else if d != 1 {
            return None;
        }
        acc = acc.checked_mul(d as u64)?;
    }
    Some(strides)
}

/// The fused activation of `node`.
pub fn activation_of(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
) -> Result<Activation, CodegenError> {
    Activation::from_attrs(&g.nodes[node].attrs).map_err(|e| cx.invalid(g, node, e.to_string()))
}

/// `&p[off]` in f32 elements (no GEP for a constant 0).
pub fn offset<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    p: PointerValue<'ctx>,
    off: IntValue<'ctx>,
) -> Result<PointerValue<'ctx>, CodegenError> {
    if off.get_zero_extended_constant() == Some(0) {
        return Ok(p);
    }
    cx.gep(cx.f32_type(), p, off)
}

/// `x · s` in i64 (constant-folded by LLVM when `x` is constant).
pub fn mul<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    x: IntValue<'ctx>,
    s: u64,
) -> Result<IntValue<'ctx>, CodegenError> {
    Ok(cx.builder.build_int_nuw_mul(x, cx.i64(s), "m")?)
}

fn int_attr(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
    name: &str,
) -> Result<i64, CodegenError> {
    g.nodes[node].attrs.int(name).map_err(|e| cx.invalid(g, node, e.to_string()))
}

fn float_attr(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
    name: &str,
) -> Result<f32, CodegenError> {
    g.nodes[node].attrs.float(name).map_err(|e| cx.invalid(g, node, e.to_string()))
}

/// The data of constant operand `i` as f32, if it is a constant.
fn const_f32(g: &Graph, node: NodeId, i: usize) -> Option<Vec<f32>> {
    let v = *g.nodes[node].inputs.get(i)?;
    let t = g.const_value(v)?;
    t.as_f32().map(|s| s.to_vec())
}

/// Generator of `gemm`.
pub fn lower_gemm<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    node: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    require_f32(cx, g, node)?;
    let nd = &g.nodes[node];
    let (ash, bsh) = (&g.ty(nd.inputs[0]).shape, &g.ty(nd.inputs[1]).shape);
    let (&[a0, a1], &[b0, b1]) = (ash.as_slice(), bsh.as_slice()) else {
        return Err(cx.invalid(g, node, "gemm operands must be 2-d"));
    };
    let trans_a = int_attr(cx, g, node, "trans_a")? != 0;
    let trans_b = int_attr(cx, g, node, "trans_b")? != 0;
    let alpha = float_attr(cx, g, node, "alpha")?;
    let beta = float_attr(cx, g, node, "beta")?;
    let act = activation_of(cx, g, node)?;
    let (m, k) = if trans_a { (a1, a0) } else { (a0, a1) };
    let (kb, n) = if trans_b { (b1, b0) } else { (b0, b1) };
    if k != kb {
        return Err(cx.invalid(g, node, format!("inner dimensions differ: {k} vs {kb}")));
    }
    let (m, n, k) = (m as u64, n as u64, k as u64);
    let vl = cx.lanes as u64;
    let tiling = choose_tiling(m, n, k, vl);
    let nr = tiling.nv * vl;
    let mut kern = cx.begin_kernel(g, node)?;
    mark_wide(cx, kern.func);
    let a_ptr = kern.operand(cx, 0)?;
    let a = if trans_a {
        AOperand { ptr: a_ptr, origin_rs: 1, rs: 1, ks: m }
    } else {
        AOperand { ptr: a_ptr, origin_rs: k, rs: k, ks: 1 }
    };
    let mut workspace = None;
    let w_const = const_f32(g, node, 1);
    let wq = boundary::reads_decoded(g, node, 1).then(|| boundary::quant_weight(g, nd.inputs[1]));
    let exact_chunk =
        microkernel::exact_chunk_of(cx, g, node, w_const.as_deref(), wq.flatten().as_ref(), k)?;
    let b = match w_const {
        Some(bv) => {
            let packed = pack_cols(&bv, k as usize, n as usize, nr as usize, trans_b)
                .ok_or_else(|| cx.invalid(g, node, "weights smaller than their shape"))?;
            BOperand { ptr: cx.const_f32s(&packed), origin_cs: k, ks: nr, padded: true }
        }
        // `dequantize(const codes)` weights: bit-packed codes decoded once into the same layout.
        None if boundary::reads_decoded(g, node, 1) => {
            let q = boundary::quant_weight(g, nd.inputs[1])
                .ok_or_else(|| cx.invalid(g, node, "quantized weights"))?;
            let ptr = boundary::decoded_weights(cx, &q, &Blocked::cols(k, n, nr, trans_b))?;
            BOperand { ptr, origin_cs: k, ks: nr, padded: true }
        }
        None => {
            let b_ptr = kern.operand(cx, 1)?;
            if trans_b {
                let t = emit_transpose(cx, b_ptr, n, k)?;
                workspace = Some(t);
                BOperand { ptr: t, origin_cs: 1, ks: n, padded: false }
            } else {
                BOperand { ptr: b_ptr, origin_cs: 1, ks: n, padded: false }
            }
        }
    };
    let mut addends = Vec::new();
    if nd.inputs.len() > 2 && beta != 0.0 {
        let csh = &g.ty(nd.inputs[2]).shape;
        let st = broadcast_strides(csh, &[m as usize, n as usize])
            .ok_or_else(|| cx.invalid(g, node, format!("c {csh:?} does not broadcast")))?;
        let ptr = kern.operand(cx, 2)?;
        addends.push(Addend { ptr, rs: st[0], per_column: st[1] != 0, scale: beta });
    }
    let epi = Epilogue { alpha, addends, act, exact_chunk };
    let y = kern.result(0)?;
    emit_matmul(cx, (m, n, k), a, b, COperand { ptr: y, ldc: n }, &epi, tiling)?;
    if let Some(t) = workspace {
        free_workspace(cx, t)?;
    }
    cx.finish_kernel(kern)
}

/// Copies the row-major `rows × cols` matrix at `src` transposed into a new heap workspace
/// (`cols × rows`), which the caller frees.
fn emit_transpose<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    src: PointerValue<'ctx>,
    rows: u64,
    cols: u64,
) -> Result<PointerValue<'ctx>, CodegenError> {
    let dst = alloc_workspace(cx, rows * cols)?;
    let f = cx.f32_type();
    cx.for_n(rows, 1, |cx, i| {
        cx.for_n(cols, 1, |cx, j| {
            let si = cx.builder.build_int_nuw_add(mul(cx, i, cols)?, j, "si")?;
            let v = cx.load_at(f, src, si, 4)?;
            let di = cx.builder.build_int_nuw_add(mul(cx, j, rows)?, i, "di")?;
            cx.store_at(v, dst, di, 4)
        })
    })?;
    Ok(dst)
}

/// Shapes of one matmul: the batch, the product sizes and each operand's batch strides.
struct MatMulShape {
    batch: Vec<usize>,
    m: u64,
    k: u64,
    n: u64,
    a_batch: Vec<u64>,
    b_batch: Vec<u64>,
    /// Bias strides over `batch ++ [m, n]`, when there is a bias.
    bias: Option<Vec<u64>>,
}

fn matmul_shape(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
) -> Result<MatMulShape, CodegenError> {
    let nd = &g.nodes[node];
    let (at, bt) = (&g.ty(nd.inputs[0]).shape, &g.ty(nd.inputs[1]).shape);
    if at.is_empty() || bt.is_empty() {
        return Err(cx.invalid(g, node, "matmul operands must have rank ≥ 1"));
    }
    let a_vec = at.len() == 1;
    let b_vec = bt.len() == 1;
    let ash: Vec<usize> = if a_vec { [&[1], at.as_slice()].concat() } else { at.clone() };
    let bsh: Vec<usize> = if b_vec { [bt.as_slice(), &[1]].concat() } else { bt.clone() };
    let (ra, rb) = (ash.len(), bsh.len());
    let (m, k, kb, n) = (ash[ra - 2], ash[ra - 1], bsh[rb - 2], bsh[rb - 1]);
    if k != kb {
        return Err(cx.invalid(g, node, format!("inner dimensions differ: {k} vs {kb}")));
    }
    let rank = (ra - 2).max(rb - 2);
    let mut batch = vec![1usize; rank];
    for (i, slot) in batch.iter_mut().enumerate() {
        let da = (i + ra - 2).checked_sub(rank).map_or(1, |j| ash[j]);
        let db = (i + rb - 2).checked_sub(rank).map_or(1, |j| bsh[j]);
        *slot = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(cx.invalid(g, node, "batch dims do not broadcast")),
        };
    }
    let strides = |sh: &[usize], mat: usize| -> Result<Vec<u64>, CodegenError> {
        let full = broadcast_strides(&sh[..sh.len() - 2], &batch)
            .ok_or_else(|| cx.invalid(g, node, "batch dims do not broadcast"))?;
        Ok(full.iter().map(|s| s * mat as u64).collect())
    };
    let a_batch = strides(&ash, m * k)?;
    let b_batch = strides(&bsh, k * n)?;
    let bias = match nd.inputs.get(2) {
        None => None,
        Some(&bv) => {
            // The result shape drops promoted dims: reinsert them as size 1 for the bias.
            let mut rshape = batch.clone();
            if !a_vec {
                rshape.push(m);
            }
            if !b_vec {
                rshape.push(n);
            }
            let bs = &g.ty(bv).shape;
            let st = broadcast_strides(bs, &rshape)
                .ok_or_else(|| cx.invalid(g, node, format!("bias {bs:?} does not broadcast")))?;
            let mut full = st[..rank].to_vec();
            let mut rest = st[rank..].iter();
            full.push(if a_vec { 0 } else { rest.next().copied().unwrap_or(0) });
            full.push(if b_vec { 0 } else { rest.next().copied().unwrap_or(0) });
            Some(full)
        }
    };
    Ok(MatMulShape { batch, m: m as u64, k: k as u64, n: n as u64, a_batch, b_batch, bias })
}

/// The offsets `Σ idx_d · strides_d` of every batch index, row-major over `batch`.
fn batch_offsets(batch: &[usize], strides: &[u64]) -> Vec<u64> {
    let count: usize = batch.iter().product();
    let mut out = Vec::with_capacity(count);
    let mut idx = vec![0usize; batch.len()];
    for _ in 0..count {
        out.push(idx.iter().zip(strides).map(|(&i, &s)| i as u64 * s).sum());
        for d in (0..batch.len()).rev() {
            idx[d] += 1;
            if idx[d] < batch[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// Generator of `matmul`.
pub fn lower_matmul<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    node: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let d = g.ty(g.nodes[node].outputs[0]).dtype;
    if matches!(d, DType::F64 | DType::F16) {
        return lower_matmul_scalar(cx, g, node, d);
    }
    require_f32(cx, g, node)?;
    let s = matmul_shape(cx, g, node)?;
    let act = activation_of(cx, g, node)?;
    let nb: usize = s.batch.iter().product();
    let (m, n, k) = (s.m, s.n, s.k);
    let bias_rows_free = s
        .bias
        .as_ref()
        .is_none_or(|b| b[..s.batch.len()].iter().all(|&x| x == 0) && b[s.batch.len()] == 0);
    let a_full = s.a_batch.iter().zip(&s.batch).all(|(&st, &d)| d == 1 || st != 0);
    let b_shared = s.b_batch.iter().all(|&x| x == 0);
    let fold =
        nb > 1 && b_shared && a_full && bias_rows_free && is_dense(&s.batch, &s.a_batch, m * k);
    let (rows, batches) = if fold { (m * nb as u64, 1) } else { (m, nb) };
    let vl = cx.lanes as u64;
    let tiling = choose_tiling(rows, n, k, vl);
    let nr = tiling.nv * vl;
    let mut kern = cx.begin_kernel(g, node)?;
    mark_wide(cx, kern.func);
    let a_ptr = kern.operand(cx, 0)?;
    let y_ptr = kern.result(0)?;
    let b_offs = batch_offsets(&s.batch, &s.b_batch);
    let (b_base, b_const) = match const_f32(g, node, 1) {
        Some(bv) => {
            // One packed matrix per distinct batch offset of b.
            let per = n.div_ceil(nr) * nr * k;
            let mats = (bv.len() as u64 / (k * n).max(1)).max(1);
            let mut packed = Vec::with_capacity((per * mats) as usize);
            for i in 0..mats as usize {
                let km = (k * n) as usize;
                let part = bv.get(i * km..(i + 1) * km).unwrap_or(&[]);
                let p = pack_cols(part, k as usize, n as usize, nr as usize, false)
                    .ok_or_else(|| cx.invalid(g, node, "weights smaller than their shape"))?;
                packed.extend(p);
            }
            (cx.const_f32s(&packed), Some(per))
        }
        // `dequantize(const codes)` weights: bit-packed codes decoded once into the same layout.
        None if boundary::reads_decoded(g, node, 1) => {
            let q = boundary::quant_weight(g, g.nodes[node].inputs[1])
                .ok_or_else(|| cx.invalid(g, node, "quantized weights"))?;
            let per = n.div_ceil(nr) * nr * k;
            let mats = (q.codes.len() as u64 / (k * n).max(1)).max(1);
            let lay = Blocked {
                groups: mats,
                src_group: k * n,
                dst_group: per,
                ..Blocked::cols(k, n, nr, false)
            };
            (boundary::decoded_weights(cx, &q, &lay)?, Some(per))
        }
        None => (kern.operand(cx, 1)?, None),
    };
    let bias_ptr = match s.bias {
        Some(_) => Some(kern.operand(cx, 2)?),
        None => None,
    };
    let tables = BatchTables {
        a: batch_offsets(&s.batch, &s.a_batch),
        b: match b_const {
            // Packed matrices sit `per` apart instead of `k·n`.
            Some(per) => b_offs.iter().map(|o| o / (k * n).max(1) * per).collect(),
            None => b_offs,
        },
        bias: s.bias.as_ref().map(|b| batch_offsets(&s.batch, &b[..s.batch.len()])),
    };
    let one_batch = |cx: &mut KernelCx<'_, 'ctx>, bi: Option<IntValue<'ctx>>| {
        let (ao, bo, yo, bio) = match bi {
            None => (cx.i64(0), cx.i64(0), cx.i64(0), cx.i64(0)),
            Some(bi) => (
                table_load(cx, &tables.a, bi)?,
                table_load(cx, &tables.b, bi)?,
                mul(cx, bi, m * n)?,
                match &tables.bias {
                    Some(t) => table_load(cx, t, bi)?,
                    None => cx.i64(0),
                },
            ),
        };
        let a = AOperand { ptr: offset(cx, a_ptr, ao)?, origin_rs: k, rs: k, ks: 1 };
        let b = match b_const {
            Some(_) => {
                BOperand { ptr: offset(cx, b_base, bo)?, origin_cs: k, ks: nr, padded: true }
            }
            None => BOperand { ptr: offset(cx, b_base, bo)?, origin_cs: 1, ks: n, padded: false },
        };
        let mut addends = Vec::new();
        if let (Some(p), Some(st)) = (bias_ptr, &s.bias) {
            let nbd = s.batch.len();
            let ptr = offset(cx, p, bio)?;
            addends.push(Addend { ptr, rs: st[nbd], per_column: st[nbd + 1] != 0, scale: 1.0 });
        }
        let epi = Epilogue { alpha: 1.0, addends, act, exact_chunk: None };
        let c = COperand { ptr: offset(cx, y_ptr, yo)?, ldc: n };
        emit_matmul(cx, (rows, n, k), a, b, c, &epi, tiling)
    };
    if batches == 1 && (fold || nb == 1) {
        one_batch(cx, None)?;
    } else {
        let f = one_batch;
        cx.for_n(batches as u64, 1, |cx, bi| f(cx, Some(bi)))?;
    }
    cx.finish_kernel(kern)
}

/// `matmul` in f64, or in f16 computed in f32 and rounded once (as the interpreter does): plain
/// scalar loops, for the rare graphs that use these dtypes; not tuned.
fn lower_matmul_scalar<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    node: NodeId,
    d: DType,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let nd = &g.nodes[node];
    for &v in nd.inputs.iter().chain(&nd.outputs) {
        if g.ty(v).dtype != d {
            return Err(cx.unsupported(
                g,
                node,
                format!("mixed dtypes ({} and {d})", g.ty(v).dtype),
            ));
        }
    }
    let s = matmul_shape(cx, g, node)?;
    let act = activation_of(cx, g, node)?;
    let (m, n, k) = (s.m, s.n, s.k);
    let elem = cx.elem_type(d).into_float_type();
    let acc_t = if d == DType::F64 { cx.ctx.f64_type() } else { cx.f32_type() };
    let nb: u64 = s.batch.iter().product::<usize>() as u64;
    let tables = BatchTables {
        a: batch_offsets(&s.batch, &s.a_batch),
        b: batch_offsets(&s.batch, &s.b_batch),
        bias: s.bias.as_ref().map(|b| batch_offsets(&s.batch, &b[..s.batch.len()])),
    };
    let nbd = s.batch.len();
    let mut kern = cx.begin_kernel(g, node)?;
    let a_ptr = kern.operand(cx, 0)?;
    let b_ptr = kern.operand(cx, 1)?;
    let bias_ptr = match s.bias {
        Some(_) => Some(kern.operand(cx, 2)?),
        None => None,
    };
    let y_ptr = kern.result(0)?;
    let ext = |cx: &KernelCx<'_, 'ctx>, v: inkwell::values::BasicValueEnum<'ctx>| {
        let v = v.into_float_value();
        if elem == acc_t {
            Ok::<_, CodegenError>(v)
        } else {
            Ok(cx.builder.build_float_ext(v, acc_t, "ext")?)
        }
    };
    cx.for_n(nb, 1, |cx, bi| {
        let ao = table_load(cx, &tables.a, bi)?;
        let bo = table_load(cx, &tables.b, bi)?;
        let yo = mul(cx, bi, m * n)?;
        let bio = match &tables.bias {
            Some(t) => table_load(cx, t, bi)?,
            None => cx.i64(0),
        };
        cx.for_n(m, 1, |cx, i| {
            cx.for_n(n, 1, |cx, j| {
                let func = cx.current_function()?;
                let pre = cx.current_block()?;
                let mut acc = acc_t.const_zero();
                if k > 0 {
                    let body = cx.ctx.append_basic_block(func, "dot");
                    let exit = cx.ctx.append_basic_block(func, "dot.end");
                    cx.builder.build_unconditional_branch(body)?;
                    cx.builder.position_at_end(body);
                    let pp = cx.builder.build_phi(cx.i64_type(), "p")?;
                    let ap = cx.builder.build_phi(acc_t, "acc")?;
                    pp.add_incoming(&[(&cx.i64(0), pre)]);
                    ap.add_incoming(&[(&acc, pre)]);
                    let p = pp.as_basic_value().into_int_value();
                    let ai = cx.builder.build_int_add(
                        ao,
                        cx.builder.build_int_add(mul(cx, i, k)?, p, "ik")?,
                        "ai",
                    )?;
                    let bi_ = cx.builder.build_int_add(
                        bo,
                        cx.builder.build_int_add(mul(cx, p, n)?, j, "pj")?,
                        "bi",
                    )?;
                    let av = ext(cx, cx.load_at(elem, a_ptr, ai, 2)?)?;
                    let bv = ext(cx, cx.load_at(elem, b_ptr, bi_, 2)?)?;
                    let sum =
                        cx.fmuladd(av.into(), bv.into(), ap.as_basic_value())?.into_float_value();
                    let pn = cx.builder.build_int_nuw_add(p, cx.i64(1), "p.next")?;
                    let latch = cx.current_block()?;
                    pp.add_incoming(&[(&pn, latch)]);
                    ap.add_incoming(&[(&sum, latch)]);
                    let more = cx.builder.build_int_compare(
                        inkwell::IntPredicate::ULT,
                        pn,
                        cx.i64(k),
                        "more",
                    )?;
                    cx.builder.build_conditional_branch(more, body, exit)?;
                    cx.builder.position_at_end(exit);
                    acc = sum;
                }
                // Round to the result type first, as the interpreter's product does.
                let mut y: inkwell::values::BasicValueEnum = if elem == acc_t {
                    acc.into()
                } else {
                    cx.builder.build_float_trunc(acc, elem, "y")?.into()
                };
                if let (Some(bp), Some(st)) = (bias_ptr, &s.bias) {
                    let off = cx.builder.build_int_add(
                        bio,
                        cx.builder.build_int_add(
                            mul(cx, i, st[nbd])?,
                            mul(cx, j, st[nbd + 1])?,
                            "o",
                        )?,
                        "bo",
                    )?;
                    let bv = cx.load_at(elem, bp, off, 2)?;
                    y = super::math::add(cx, y, bv)?;
                }
                let y = super::math::activation(cx, act, y)?;
                let yi = cx.builder.build_int_add(
                    yo,
                    cx.builder.build_int_add(mul(cx, i, n)?, j, "ij")?,
                    "yi",
                )?;
                cx.store_at(y, y_ptr, yi, 2)
            })
        })
    })?;
    cx.finish_kernel(kern)
}

/// Per-batch offsets of the operands (elements).
struct BatchTables {
    a: Vec<u64>,
    b: Vec<u64>,
    bias: Option<Vec<u64>>,
}

/// True when batch strides `st` over `batch` are those of dense `mat`-element matrices.
fn is_dense(batch: &[usize], st: &[u64], mat: u64) -> bool {
    let mut acc = mat;
    for (&d, &s) in batch.iter().zip(st).rev() {
        if d != 1 && s != acc {
            return false;
        }
        acc *= d as u64;
    }
    true
}

/// `table[i]` from a constant i64 array (a plain multiply when the table is affine).
fn table_load<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    table: &[u64],
    i: IntValue<'ctx>,
) -> Result<IntValue<'ctx>, CodegenError> {
    let step = table.get(1).copied().unwrap_or(0).wrapping_sub(table.first().copied().unwrap_or(0));
    let affine =
        table.first() == Some(&0) && table.iter().enumerate().all(|(j, &v)| v == j as u64 * step);
    if affine {
        return mul(cx, i, step);
    }
    let bytes: Vec<u8> = table.iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = cx.const_bytes(&bytes);
    Ok(cx.load_at(cx.i64_type(), p, i, 8)?.into_int_value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_follow_numpy() {
        assert_eq!(broadcast_strides(&[5], &[3, 5]), Some(vec![0, 1]));
        assert_eq!(broadcast_strides(&[3, 1], &[3, 5]), Some(vec![1, 0]));
        assert_eq!(broadcast_strides(&[2, 3, 5], &[2, 3, 5]), Some(vec![15, 5, 1]));
        assert_eq!(broadcast_strides(&[], &[3, 5]), Some(vec![0, 0]));
        assert_eq!(broadcast_strides(&[4], &[3, 5]), None);
        assert_eq!(broadcast_strides(&[1, 2, 3], &[2, 3]), None);
    }

    #[test]
    fn batch_offsets_walk_row_major() {
        assert_eq!(batch_offsets(&[2, 3], &[0, 5]), vec![0, 5, 10, 0, 5, 10]);
        assert_eq!(batch_offsets(&[], &[]), vec![0]);
        assert!(is_dense(&[2, 3], &[30, 10], 10));
        assert!(!is_dense(&[2, 3], &[10, 30], 10));
    }
}
