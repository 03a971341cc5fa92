//! Generators of `conv` and `conv_transpose` (f32, any number of spatial dims) on the shared
//! micro-kernel (`microkernel`).
//!
//! `conv`: per image and group, `Y[mg × P] = W[mg × K] · cols[K × P]` with `K = C/g · kernel`
//! and `P` output positions. Constant weights are packed at compile time into blocks of the
//! tile height (`pack::pack_rows`), so each `k` step broadcasts adjacent scalars; run-time
//! weights (operands that are not constants) are broadcast from their buffer in place. The result is
//! vectorised along output positions, which is the NCHW layout's contiguous axis:
//! - 1×1 kernels with stride 1 and no padding read the input in place (it already is `cols`);
//! - every other case builds `cols` panel by panel (im2col) into a zeroed heap workspace
//!   (`calloc`, sized at compile time: ~1 MiB, whole output lines per panel) and runs the
//!   product on each panel. The walk copies runs of the last spatial axis (`memcpy` at stride
//!   1), with the valid range of each kernel column computed at compile time.
//!
//! The epilogue adds the per-channel bias, the fused residual `skip` (same shape as the
//! result, or broadcast per channel / per image) and applies the activation before the store.
//! 2-d depthwise convolutions (one input and one output channel per group) skip im2col: each
//! output row accumulates `kh·kw` broadcast weights times vectors of input columns (masked
//! loads, or masked gathers at stride > 1 and at the borders).
//!
//! `conv_transpose`: per image and group, `cols = Wᵀ · x` on the micro-kernel (weights packed
//! transposed at compile time), then a scalar col2im scatter-add into the result, which starts
//! as the bias; the fused activation runs last over the whole result. Correct, not tuned.

use super::boundary::{self, Blocked};
use super::gemm::{activation_of, broadcast_strides, mul, offset, require_f32};
use super::microkernel::{
    self, alloc_workspace, choose_tiling, emit_matmul, free_workspace, load_vec, mark_wide,
    store_vec, AOperand, Addend, BOperand, COperand, Epilogue, Tiling,
};
use super::pack::pack_rows;
use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::{Activation, Graph, NodeId};
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use inkwell::IntPredicate;

/// Bytes of one im2col panel (whole output lines; at least one line).
const COL_PANEL_BYTES: u64 = 1 << 20;

/// Sizes of one convolution (`in_sp`/`out_sp` of x and y for `conv`; for `conv_transpose`,
/// `in_sp` is x's and `out_sp` y's as well).
#[derive(Clone, Debug)]
struct Geom {
    n: u64,
    c: u64,
    m: u64,
    group: u64,
    in_sp: Vec<u64>,
    k_sp: Vec<u64>,
    out_sp: Vec<u64>,
    strides: Vec<u64>,
    dil: Vec<u64>,
    pad_begin: Vec<u64>,
    pad_end: Vec<u64>,
}

impl Geom {
    fn kernel(&self) -> u64 {
        self.k_sp.iter().product()
    }
    fn in_plane(&self) -> u64 {
        self.in_sp.iter().product()
    }
    fn out_plane(&self) -> u64 {
        self.out_sp.iter().product()
    }
}

/// A spatial list attribute (`strides`, `pads`, …): `len` values, `default` when empty.
fn spatial(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
    name: &str,
    len: usize,
    default: u64,
) -> Result<Vec<u64>, CodegenError> {
    let v = match g.nodes[node].attrs.get(name) {
        None => return Ok(vec![default; len]),
        Some(_) => {
            g.nodes[node].attrs.ints(name).map_err(|e| cx.invalid(g, node, e.to_string()))?
        }
    };
    if v.is_empty() {
        return Ok(vec![default; len]);
    }
    if v.len() != len || v.iter().any(|&x| x < 0) {
        return Err(cx.invalid(g, node, format!("attribute `{name}` = {v:?}")));
    }
    Ok(v.iter().map(|&x| x as u64).collect())
}

/// Reads the geometry of a `conv` (`transposed` false) or `conv_transpose` node from its
/// operand and result types.
fn geometry(
    cx: &KernelCx<'_, '_>,
    g: &Graph,
    node: NodeId,
    transposed: bool,
) -> Result<Geom, CodegenError> {
    let nd = &g.nodes[node];
    let xs = &g.ty(nd.inputs[0]).shape;
    let ws = &g.ty(nd.inputs[1]).shape;
    let ys = &g.ty(nd.outputs[0]).shape;
    if xs.len() < 3 || ws.len() != xs.len() || ys.len() != xs.len() {
        return Err(cx.invalid(g, node, format!("shapes {xs:?}, {ws:?}, {ys:?}")));
    }
    let sp = xs.len() - 2;
    let group = g.nodes[node].attrs.int("group").map_err(|e| cx.invalid(g, node, e.to_string()))?;
    let group = u64::try_from(group).unwrap_or(0);
    let u = |v: &[usize]| v.iter().map(|&x| x as u64).collect::<Vec<u64>>();
    let pads = spatial(cx, g, node, "pads", 2 * sp, 0)?;
    let geo = Geom {
        n: xs[0] as u64,
        c: xs[1] as u64,
        m: ys[1] as u64,
        group,
        in_sp: u(&xs[2..]),
        k_sp: u(&ws[2..]),
        out_sp: u(&ys[2..]),
        strides: spatial(cx, g, node, "strides", sp, 1)?,
        dil: spatial(cx, g, node, "dilations", sp, 1)?,
        pad_begin: pads[..sp].to_vec(),
        pad_end: pads[sp..].to_vec(),
    };
    let ok = group > 0
        && geo.c.is_multiple_of(group)
        && geo.m.is_multiple_of(group)
        && geo.strides.iter().chain(&geo.dil).all(|&s| s > 0)
        && if transposed {
            ws[0] as u64 == geo.c && ws[1] as u64 * group == geo.m
        } else {
            ws[0] as u64 == geo.m && ws[1] as u64 * group == geo.c
        };
    if !ok {
        return Err(cx.invalid(g, node, format!("weights {ws:?} for {xs:?} in {group} groups")));
    }
    Ok(geo)
}

/// Range of `j ∈ [0, count)` for which `j·s + shift` lies in `[0, limit)`.
fn valid_range(count: u64, s: u64, shift: i64, limit: u64) -> (u64, u64) {
    let s = s as i64;
    let lo = if shift >= 0 { 0 } else { (-shift + s - 1) / s };
    let top = limit as i64 - shift;
    let hi = if top <= 0 { 0 } else { (top + s - 1) / s };
    let lo = (lo as u64).min(count);
    (lo, (hi as u64).min(count).max(lo))
}

/// The row-major multi-index of `i` in `shape`.
fn unravel(mut i: u64, shape: &[u64]) -> Vec<u64> {
    let mut idx = vec![0u64; shape.len()];
    for (slot, &d) in idx.iter_mut().zip(shape).rev() {
        if d > 0 {
            *slot = i % d;
            i /= d;
        }
    }
    idx
}

/// The fused residual operand as an epilogue addend over one image's `[M × P]` result:
/// `(pointer, image stride, channel stride, per position)`.
struct Skip<'ctx> {
    ptr: PointerValue<'ctx>,
    image: u64,
    channel: u64,
    per_pos: bool,
}

fn skip_operand<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    node: NodeId,
    kern: &mut super::Kernel<'ctx>,
) -> Result<Option<Skip<'ctx>>, CodegenError> {
    let nd = &g.nodes[node];
    let Some(&sv) = nd.inputs.get(3) else { return Ok(None) };
    let ys = &g.ty(nd.outputs[0]).shape;
    let ss = &g.ty(sv).shape;
    let st = broadcast_strides(ss, ys)
        .ok_or_else(|| cx.invalid(g, node, format!("skip {ss:?} does not broadcast")))?;
    // Dense over the spatial dims (the spatial shape's own strides), or constant on a plane.
    let sp: Vec<u64> = ys[2..].iter().map(|&d| d as u64).collect();
    let mut acc = 1u64;
    let mut dense = true;
    for (i, &d) in sp.iter().enumerate().rev() {
        if d != 1 && st[2 + i] != acc {
            dense = false;
        }
        acc *= d;
    }
    let flat = st[2..].iter().zip(&sp).all(|(&s, &d)| s == 0 || d == 1);
    let per_pos = match (dense, flat) {
        (_, true) => false,
        (true, false) => true,
        (false, false) => {
            return Err(cx.unsupported(g, node, format!("skip {ss:?} broadcast inside a plane")))
        }
    };
    let ptr = kern.operand(cx, 3)?;
    Ok(Some(Skip { ptr, image: st[0], channel: st[1], per_pos }))
}

/// Generator of `conv`.
pub fn lower_conv<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    node: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    require_f32(cx, g, node)?;
    let geo = geometry(cx, g, node, false)?;
    let act = activation_of(cx, g, node)?;
    // Constant weights are packed at compile time; run-time weights (ONNX tests feed them as
    // inputs) are read in place, row-major.
    let w: Option<Vec<f32>> =
        g.const_value(g.nodes[node].inputs[1]).and_then(|t| t.as_f32().map(|s| s.to_vec()));
    // `dequantize(const codes)` weights: bit-packed codes decoded once into the same layout.
    let wq = boundary::reads_decoded(g, node, 1)
        .then(|| boundary::quant_weight(g, g.nodes[node].inputs[1]))
        .flatten();
    let per_output = (geo.c / geo.group.max(1)) * geo.kernel();
    let exact_chunk =
        microkernel::exact_chunk_of(cx, g, node, w.as_deref(), wq.as_ref(), per_output)?;
    if is_depthwise(&geo) {
        if exact_chunk.is_some_and(|kc| kc < geo.kernel()) {
            return Err(cx.unsupported(g, node, "an exact depthwise conv whose sums pass 2^24"));
        }
        let mut kern = cx.begin_kernel(g, node)?;
        mark_wide(cx, kern.func);
        let wp = match (&w, &wq) {
            (Some(w), _) => cx.const_f32s(w),
            (None, Some(q)) => {
                boundary::decoded_weights(cx, q, &Blocked::dense(q.codes.len() as u64))?
            }
            (None, None) => kern.operand(cx, 1)?,
        };
        let x = kern.operand(cx, 0)?;
        let y = kern.result(0)?;
        let bias = if g.nodes[node].inputs.len() > 2 { Some(kern.operand(cx, 2)?) } else { None };
        let skip = skip_operand(cx, g, node, &mut kern)?;
        emit_depthwise(cx, &geo, wp, x, y, bias, skip.as_ref(), act)?;
        return cx.finish_kernel(kern);
    }
    let (cg, mg) = (geo.c / geo.group, geo.m / geo.group);
    let kk = cg * geo.kernel();
    let (pin, pout) = (geo.in_plane(), geo.out_plane());
    let vl = cx.lanes as u64;
    let direct = geo.k_sp.iter().all(|&k| k == 1)
        && geo.strides.iter().all(|&s| s == 1)
        && geo.pad_begin.iter().chain(&geo.pad_end).all(|&p| p == 0)
        && pin == pout;
    let out_last = *geo.out_sp.last().unwrap_or(&1);
    let lines = pout.checked_div(out_last).unwrap_or(0);
    let lp = if direct {
        lines
    } else {
        (COL_PANEL_BYTES / (4 * kk * out_last).max(1)).clamp(1, lines.max(1))
    };
    let tiling = {
        let t = choose_tiling(mg, if direct { pout } else { lp * out_last }, kk, vl);
        if direct {
            t
        } else {
            Tiling { nc: u64::MAX / 2, ..t }
        }
    };
    let mut kern = cx.begin_kernel(g, node)?;
    mark_wide(cx, kern.func);
    // (base, per-group stride, tile-origin row stride, row stride, k stride) of A.
    let (a_base, a_group, a_ors, a_rs, a_ks) = match (&w, &wq) {
        (Some(w), _) => {
            let mut packed = Vec::new();
            for gi in 0..geo.group as usize {
                let blk = (mg * kk) as usize;
                let part = w.get(gi * blk..(gi + 1) * blk).unwrap_or(&[]);
                let p = pack_rows(part, mg as usize, kk as usize, tiling.mr as usize)
                    .ok_or_else(|| cx.invalid(g, node, "weights smaller than their shape"))?;
                packed.extend(p);
            }
            let a_group = mg.div_ceil(tiling.mr) * tiling.mr * kk;
            (cx.const_f32s(&packed), a_group, kk, 1, tiling.mr)
        }
        (None, Some(q)) => {
            let lay = Blocked::rows(geo.group, mg, kk, tiling.mr);
            (boundary::decoded_weights(cx, q, &lay)?, lay.dst_group, kk, 1, tiling.mr)
        }
        (None, None) => (kern.operand(cx, 1)?, mg * kk, kk, kk, 1),
    };
    let x = kern.operand(cx, 0)?;
    let y = kern.result(0)?;
    let bias = if g.nodes[node].inputs.len() > 2 { Some(kern.operand(cx, 2)?) } else { None };
    let skip = skip_operand(cx, g, node, &mut kern)?;
    let ldc_col = (lp * out_last).div_ceil(vl) * vl;
    let col = if direct { None } else { Some(alloc_workspace(cx, kk * ldc_col)?) };
    let geo_r = &geo;
    cx.for_n(geo.n, 1, |cx, img| {
        cx.for_n(geo_r.group, 1, |cx, gi| {
            let ch =
                cx.builder.build_int_nuw_add(mul(cx, img, geo_r.c)?, mul(cx, gi, cg)?, "ch")?;
            let xg = offset(cx, x, mul(cx, ch, pin)?)?;
            let ych =
                cx.builder.build_int_nuw_add(mul(cx, img, geo_r.m)?, mul(cx, gi, mg)?, "ych")?;
            let yg = offset(cx, y, mul(cx, ych, pout)?)?;
            let a = AOperand {
                ptr: offset(cx, a_base, mul(cx, gi, a_group)?)?,
                origin_rs: a_ors,
                rs: a_rs,
                ks: a_ks,
            };
            let bias_g = match bias {
                Some(b) => Some(offset(cx, b, mul(cx, gi, mg)?)?),
                None => None,
            };
            let skip_g = match &skip {
                Some(s) => {
                    let o = cx.builder.build_int_nuw_add(
                        mul(cx, img, s.image)?,
                        mul(cx, gi, mg * s.channel)?,
                        "so",
                    )?;
                    Some((offset(cx, s.ptr, o)?, s.channel, s.per_pos))
                }
                None => None,
            };
            let epi_at = |cx: &mut KernelCx<'_, 'ctx>,
                          pos0: IntValue<'ctx>|
             -> Result<Epilogue<'ctx>, CodegenError> {
                let mut addends = Vec::new();
                if let Some(b) = bias_g {
                    addends.push(Addend { ptr: b, rs: 1, per_column: false, scale: 1.0 });
                }
                if let Some((p, rs, per_pos)) = skip_g {
                    let p = if per_pos { offset(cx, p, pos0)? } else { p };
                    addends.push(Addend { ptr: p, rs, per_column: per_pos, scale: 1.0 });
                }
                Ok(Epilogue { alpha: 1.0, addends, act, exact_chunk })
            };
            match col {
                None => {
                    let b = BOperand { ptr: xg, origin_cs: 1, ks: pin, padded: false };
                    let epi = epi_at(cx, cx.i64(0))?;
                    emit_matmul(
                        cx,
                        (mg, pout, kk),
                        a,
                        b,
                        COperand { ptr: yg, ldc: pout },
                        &epi,
                        tiling,
                    )
                }
                Some(colp) => {
                    let panel = |cx: &mut KernelCx<'_, 'ctx>, l0: IntValue<'ctx>, nl: u64| {
                        emit_im2col(cx, geo_r, xg, colp, l0, nl, ldc_col)?;
                        let pos0 = mul(cx, l0, out_last)?;
                        let b = BOperand { ptr: colp, origin_cs: 1, ks: ldc_col, padded: true };
                        let c = COperand { ptr: offset(cx, yg, pos0)?, ldc: pout };
                        let epi = epi_at(cx, pos0)?;
                        emit_matmul(cx, (mg, nl * out_last, kk), a, b, c, &epi, tiling)
                    };
                    let full = lines / lp;
                    cx.for_n(full, 1, |cx, pi| {
                        let l0 = mul(cx, pi, lp)?;
                        panel(cx, l0, lp)
                    })?;
                    let rest = lines - full * lp;
                    if rest > 0 {
                        panel(cx, cx.i64(full * lp), rest)?;
                    }
                    Ok(())
                }
            }
        })
    })?;
    if let Some(c) = col {
        free_workspace(cx, c)?;
    }
    cx.finish_kernel(kern)
}

/// True when `geo` is a 2-d depthwise convolution (one input and one output channel per
/// group), which [`emit_depthwise`] computes directly.
fn is_depthwise(geo: &Geom) -> bool {
    geo.in_sp.len() == 2 && geo.group == geo.c && geo.group == geo.m && geo.group > 1
}

/// A 2-d depthwise convolution without im2col: per channel and output row, the row's
/// `ceil(OW/VL)` vectors accumulate `kh·kw` products of a broadcast weight and a vector of
/// input columns (masked loads at stride 1, masked gathers otherwise, lanes outside the
/// input masked off at compile time; rows outside the input are selected to zero), then the
/// epilogue (bias, skip, activation) and a (masked) store.
#[allow(clippy::too_many_arguments)]
fn emit_depthwise<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    geo: &Geom,
    w: PointerValue<'ctx>,
    x: PointerValue<'ctx>,
    y: PointerValue<'ctx>,
    bias: Option<PointerValue<'ctx>>,
    skip: Option<&Skip<'ctx>>,
    act: Activation,
) -> Result<(), CodegenError> {
    let vl = cx.lanes as u64;
    let (h, wd) = (geo.in_sp[0], geo.in_sp[1]);
    let (oh_n, ow_n) = (geo.out_sp[0], geo.out_sp[1]);
    let (kh_n, kw_n) = (geo.k_sp[0], geo.k_sp[1]);
    let (sh, sw) = (geo.strides[0], geo.strides[1]);
    let (dh, dw) = (geo.dil[0], geo.dil[1]);
    let (ph, pw) = (geo.pad_begin[0] as i64, geo.pad_begin[1] as i64);
    let kn = kh_n * kw_n;
    let nvec = ow_n.div_ceil(vl);
    let f = cx.f32_type();
    let vt = cx.f32_vec(cx.lanes);
    let i64_t = cx.i64_type();
    let ptr_vec = cx.ptr_type().vec_type(cx.lanes);
    cx.for_n(geo.n * geo.c, 1, |cx, ch| {
        let c = cx.builder.build_int_unsigned_rem(ch, cx.i64(geo.c), "c")?;
        let img = cx.builder.build_int_unsigned_div(ch, cx.i64(geo.c), "img")?;
        let xp = offset(cx, x, mul(cx, ch, h * wd)?)?;
        let yp = offset(cx, y, mul(cx, ch, oh_n * ow_n)?)?;
        let mut wv = Vec::with_capacity(kn as usize);
        let wc = offset(cx, w, mul(cx, c, kn)?)?;
        for i in 0..kn {
            let s = cx.load_at(f, wc, cx.i64(i), 4)?;
            wv.push(cx.splat(s, cx.lanes)?.into_vector_value());
        }
        let bias_v = match bias {
            Some(b) => {
                let s = cx.load_at(f, b, c, 4)?;
                Some(cx.splat(s, cx.lanes)?.into_vector_value())
            }
            None => None,
        };
        let skip_c = match skip {
            Some(s) => {
                let o = cx.builder.build_int_nuw_add(
                    mul(cx, img, s.image)?,
                    mul(cx, c, s.channel)?,
                    "so",
                )?;
                Some((offset(cx, s.ptr, o)?, s.per_pos))
            }
            None => None,
        };
        cx.for_n(oh_n, 1, |cx, oh| {
            // Input rows of this output row: a clamped in-bounds row and its validity.
            let mut rows = Vec::with_capacity(kh_n as usize);
            for kh in 0..kh_n {
                let off = (kh * dh) as i64 - ph;
                let ih = cx.builder.build_int_add(mul(cx, oh, sh)?, cx.i64s(off), "ih")?;
                let valid = cx.builder.build_int_compare(IntPredicate::ULT, ih, cx.i64(h), "rv")?;
                let ihc = cx.builder.build_select(valid, ih, cx.i64(0), "ihc")?.into_int_value();
                rows.push((offset(cx, xp, mul(cx, ihc, wd)?)?, valid));
            }
            let yrow = offset(cx, yp, mul(cx, oh, ow_n)?)?;
            for v in 0..nvec {
                let valid_out = (ow_n - v * vl).min(vl);
                let mut acc: inkwell::values::BasicValueEnum = match bias_v {
                    Some(b) => b.into(),
                    None => vt.const_zero().into(),
                };
                for (kh, &(row, rvalid)) in rows.iter().enumerate() {
                    for kw in 0..kw_n {
                        // Input column of lane l: (v·VL + l)·sw + kw·dw − pw.
                        let col = |l: u64| ((v * vl + l) * sw + kw * dw) as i64 - pw;
                        let lanes: Vec<bool> = (0..vl)
                            .map(|l| l < valid_out && col(l) >= 0 && (col(l) as u64) < wd)
                            .collect();
                        if !lanes.iter().any(|&b| b) {
                            continue;
                        }
                        let mask: Vec<_> = lanes
                            .iter()
                            .map(|&b| cx.ctx.bool_type().const_int(b as u64, false))
                            .collect();
                        let mask = inkwell::types::VectorType::const_vector(&mask);
                        let xv = if sw == 1 && lanes.iter().all(|&b| b) {
                            let p = offset(cx, row, cx.i64(col(0) as u64))?;
                            load_vec(cx, p, vl)?
                        } else {
                            let base = cx.builder.build_ptr_to_int(row, i64_t, "ri")?;
                            let base = cx.splat(base.into(), cx.lanes)?.into_vector_value();
                            let offs: Vec<_> = (0..vl)
                                .map(|l| i64_t.const_int((4 * col(l).max(0)) as u64, false))
                                .collect();
                            let offs = inkwell::types::VectorType::const_vector(&offs);
                            let addr = cx.builder.build_int_add(base, offs, "a")?;
                            let ptrs = cx.builder.build_int_to_ptr(addr, ptr_vec, "ptrs")?;
                            let g =
                                cx.intrinsic("llvm.masked.gather", &[vt.into(), ptr_vec.into()])?;
                            let args: [inkwell::values::BasicMetadataValueEnum; 4] = [
                                ptrs.into(),
                                cx.ctx.i32_type().const_int(4, false).into(),
                                mask.into(),
                                vt.const_zero().into(),
                            ];
                            cx.builder
                                .build_call(g, &args, "g")?
                                .try_as_basic_value()
                                .basic()
                                .ok_or_else(|| CodegenError::Llvm("gather returns nothing".into()))?
                                .into_vector_value()
                        };
                        let zero = vt.const_zero();
                        let xv = cx.builder.build_select(rvalid, xv, zero, "xv")?;
                        acc = cx.fmuladd(wv[kh * kw_n as usize + kw as usize].into(), xv, acc)?;
                    }
                }
                if let Some((sp, per_pos)) = skip_c {
                    let t = if per_pos {
                        let p = offset(
                            cx,
                            sp,
                            cx.builder.build_int_nuw_add(
                                mul(cx, oh, ow_n)?,
                                cx.i64(v * vl),
                                "sp",
                            )?,
                        )?;
                        load_vec(cx, p, valid_out)?
                    } else {
                        let s = cx.builder.build_load(f, sp, "s")?;
                        cx.splat(s, cx.lanes)?.into_vector_value()
                    };
                    acc = super::math::add(cx, acc, t.into())?;
                }
                let yv = super::math::activation(cx, act, acc)?.into_vector_value();
                let p = offset(cx, yrow, cx.i64(v * vl))?;
                store_vec(cx, yv, p, valid_out)?;
            }
            Ok(())
        })
    })
}

/// Fills the im2col panel `col` (`C/g·kernel` rows of stride `ldc`; row `(c, kpos)`, column
/// `l·out_last + o` for output line `l0 + l`, position `o` on it) from the group's input
/// planes `xg`, for `nl` output lines starting at `l0`.
fn emit_im2col<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    geo: &Geom,
    xg: PointerValue<'ctx>,
    col: PointerValue<'ctx>,
    l0: IntValue<'ctx>,
    nl: u64,
    ldc: u64,
) -> Result<(), CodegenError> {
    let sp = geo.in_sp.len();
    let last = sp - 1;
    let cg = geo.c / geo.group;
    let kn = geo.kernel();
    let pin = geo.in_plane();
    let out_last = geo.out_sp[last];
    let (in_last, s_last) = (geo.in_sp[last], geo.strides[last]);
    // Input strides of the spatial axes.
    let mut in_st = vec![1u64; sp];
    for a in (0..last).rev() {
        in_st[a] = in_st[a + 1] * geo.in_sp[a + 1];
    }
    let prefix: Vec<u64> = geo.out_sp[..last].to_vec();
    for kidx in 0..kn {
        let kpos = unravel(kidx, &geo.k_sp);
        let shift = (kpos[last] * geo.dil[last]) as i64 - geo.pad_begin[last] as i64;
        let (lo, hi) = valid_range(out_last, s_last, shift, in_last);
        cx.for_n(cg, 1, |cx, c| {
            let row = cx.builder.build_int_nuw_add(mul(cx, c, kn)?, cx.i64(kidx), "row")?;
            let dst_row = offset(cx, col, mul(cx, row, ldc)?)?;
            let src_c = offset(cx, xg, mul(cx, c, pin)?)?;
            cx.for_n(nl, 1, |cx, l| {
                let gl = cx.builder.build_int_nuw_add(l0, l, "gl")?;
                let dst = offset(cx, dst_row, mul(cx, l, out_last)?)?;
                // Prefix axes: input index, validity and base offset.
                let mut valid: Option<IntValue> = None;
                let mut base = cx.i64(0);
                let mut rem = gl;
                for a in (0..last).rev() {
                    let d = cx.i64(prefix[a]);
                    let o = if a == 0 {
                        rem
                    } else {
                        cx.builder.build_int_unsigned_rem(rem, d, "o")?
                    };
                    if a > 0 {
                        rem = cx.builder.build_int_unsigned_div(rem, d, "q")?;
                    }
                    let k_off = (kpos[a] * geo.dil[a]) as i64 - geo.pad_begin[a] as i64;
                    let i = cx.builder.build_int_add(
                        mul(cx, o, geo.strides[a])?,
                        cx.i64s(k_off),
                        "i",
                    )?;
                    let inside = cx.builder.build_int_compare(
                        IntPredicate::ULT,
                        i,
                        cx.i64(geo.in_sp[a]),
                        "in",
                    )?;
                    valid = Some(match valid {
                        None => inside,
                        Some(v) => cx.builder.build_and(v, inside, "v")?,
                    });
                    base = cx.builder.build_int_add(base, mul(cx, i, in_st[a])?, "base")?;
                }
                let fill =
                    |cx: &mut KernelCx<'_, 'ctx>, from: u64, to: u64| -> Result<(), CodegenError> {
                        if to > from {
                            let p = offset(cx, dst, cx.i64(from))?;
                            cx.builder.build_memset(
                                p,
                                4,
                                cx.ctx.i8_type().const_zero(),
                                cx.i64(4 * (to - from)),
                            )?;
                        }
                        Ok(())
                    };
                let copy = |cx: &mut KernelCx<'_, 'ctx>| -> Result<(), CodegenError> {
                    fill(cx, 0, lo)?;
                    fill(cx, hi, out_last)?;
                    if hi > lo {
                        let start = lo as i64 * s_last as i64 + shift;
                        let src = offset(
                            cx,
                            src_c,
                            cx.builder.build_int_add(base, cx.i64s(start), "s0")?,
                        )?;
                        let d = offset(cx, dst, cx.i64(lo))?;
                        if s_last == 1 {
                            cx.builder.build_memcpy(d, 4, src, 4, cx.i64(4 * (hi - lo)))?;
                        } else {
                            emit_strided_copy(cx, src, s_last, d, hi - lo)?;
                        }
                    }
                    Ok(())
                };
                match valid {
                    None => copy(cx),
                    Some(v) => {
                        let func = cx.current_function()?;
                        let yes = cx.ctx.append_basic_block(func, "line.in");
                        let no = cx.ctx.append_basic_block(func, "line.out");
                        let done = cx.ctx.append_basic_block(func, "line.done");
                        cx.builder.build_conditional_branch(v, yes, no)?;
                        cx.builder.position_at_end(yes);
                        copy(cx)?;
                        cx.builder.build_unconditional_branch(done)?;
                        cx.builder.position_at_end(no);
                        fill(cx, 0, out_last)?;
                        cx.builder.build_unconditional_branch(done)?;
                        cx.builder.position_at_end(done);
                        Ok(())
                    }
                }
            })
        })?;
    }
    Ok(())
}

/// Copies `count` floats `src[j·stride]` to `dst[j]` with masked vector gathers (static
/// chunks of `VL`; a scalar loop here gets unrolled into huge blocks by LLVM).
fn emit_strided_copy<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    src: PointerValue<'ctx>,
    stride: u64,
    dst: PointerValue<'ctx>,
    count: u64,
) -> Result<(), CodegenError> {
    let vl = cx.lanes as u64;
    if stride == 2 {
        return emit_stride2_copy(cx, src, dst, count);
    }
    let i64_t = cx.i64_type();
    let ptr_vec = cx.ptr_type().vec_type(cx.lanes);
    let base = cx.builder.build_ptr_to_int(src, i64_t, "src.i")?;
    let base = cx.splat(base.into(), cx.lanes)?.into_vector_value();
    let vt = cx.f32_vec(cx.lanes);
    let gather = cx.intrinsic("llvm.masked.gather", &[vt.into(), ptr_vec.into()])?;
    for chunk in 0..count.div_ceil(vl) {
        let offs: Vec<_> =
            (0..vl).map(|l| i64_t.const_int(4 * stride * (chunk * vl + l), false)).collect();
        let addr =
            cx.builder.build_int_add(base, inkwell::types::VectorType::const_vector(&offs), "a")?;
        let ptrs = cx.builder.build_int_to_ptr(addr, ptr_vec, "ptrs")?;
        let valid = (count - chunk * vl).min(vl);
        let mask: Vec<_> =
            (0..vl).map(|l| cx.ctx.bool_type().const_int((l < valid) as u64, false)).collect();
        let args: [inkwell::values::BasicMetadataValueEnum; 4] = [
            ptrs.into(),
            cx.ctx.i32_type().const_int(4, false).into(),
            inkwell::types::VectorType::const_vector(&mask).into(),
            vt.const_zero().into(),
        ];
        let v = cx
            .builder
            .build_call(gather, &args, "g")?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm("gather returns nothing".into()))?
            .into_vector_value();
        let p = offset(cx, dst, cx.i64(chunk * vl))?;
        store_vec(cx, v, p, valid)?;
    }
    Ok(())
}

/// [`emit_strided_copy`] at stride 2: two (masked) vector loads and one shuffle keeping the
/// even lanes per `VL` outputs; only the source elements that are used are loaded.
fn emit_stride2_copy<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    src: PointerValue<'ctx>,
    dst: PointerValue<'ctx>,
    count: u64,
) -> Result<(), CodegenError> {
    let vl = cx.lanes as u64;
    let i32_t = cx.ctx.i32_type();
    let evens: Vec<_> = (0..vl).map(|l| i32_t.const_int(2 * l, false)).collect();
    let evens = inkwell::types::VectorType::const_vector(&evens);
    for chunk in 0..count.div_ceil(vl) {
        let valid = (count - chunk * vl).min(vl);
        // Source elements 0..=2·(valid−1) of this chunk are needed.
        let need = 2 * (valid - 1) + 1;
        let p0 = offset(cx, src, cx.i64(2 * vl * chunk))?;
        let v0 = load_vec(cx, p0, need.min(vl))?;
        let v1 = if need > vl {
            let p1 = offset(cx, src, cx.i64(2 * vl * chunk + vl))?;
            load_vec(cx, p1, need - vl)?
        } else {
            cx.f32_vec(cx.lanes).const_zero()
        };
        let v = cx.builder.build_shuffle_vector(v0, v1, evens, "even")?;
        let p = offset(cx, dst, cx.i64(chunk * vl))?;
        store_vec(cx, v, p, valid)?;
    }
    Ok(())
}

/// Generator of `conv_transpose`.
pub fn lower_conv_transpose<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    node: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    require_f32(cx, g, node)?;
    let geo = geometry(cx, g, node, true)?;
    let w: Option<Vec<f32>> =
        g.const_value(g.nodes[node].inputs[1]).and_then(|t| t.as_f32().map(|s| s.to_vec()));
    let (cg, mg) = (geo.c / geo.group, geo.m / geo.group);
    let kn = geo.kernel();
    let rows = mg * kn;
    let (pin, pout) = (geo.in_plane(), geo.out_plane());
    let vl = cx.lanes as u64;
    let tiling = choose_tiling(rows, pin, cg, vl);
    let mut kern = cx.begin_kernel(g, node)?;
    mark_wide(cx, kern.func);
    // A = Wᵀ per group: W is [C, M/g, kernel], so group gi's block is cg × rows. Constant
    // weights are transposed to rows × cg and packed; run-time ones are read transposed.
    let (a_base, a_group, a_ors, a_rs, a_ks) = match &w {
        Some(w) => {
            let mut packed = Vec::new();
            for gi in 0..geo.group as usize {
                let blk = (cg * rows) as usize;
                let part = w.get(gi * blk..(gi + 1) * blk).unwrap_or(&[]);
                if part.len() != blk {
                    return Err(cx.invalid(g, node, "weights smaller than their shape"));
                }
                let (r, c) = (rows as usize, cg as usize);
                let t: Vec<f32> = (0..r * c).map(|i| part[(i % c) * r + i / c]).collect();
                let p = pack_rows(&t, r, c, tiling.mr as usize)
                    .ok_or_else(|| cx.invalid(g, node, "weights smaller than their shape"))?;
                packed.extend(p);
            }
            let a_group = rows.div_ceil(tiling.mr) * tiling.mr * cg;
            (cx.const_f32s(&packed), a_group, cg, 1, tiling.mr)
        }
        None => (kern.operand(cx, 1)?, cg * rows, 1, 1, rows),
    };
    let x = kern.operand(cx, 0)?;
    let y = kern.result(0)?;
    let bias = if g.nodes[node].inputs.len() > 2 { Some(kern.operand(cx, 2)?) } else { None };
    let col = alloc_workspace(cx, rows * pin)?;
    let f = cx.f32_type();
    // y = bias (or 0).
    cx.for_n(geo.n * geo.m, 1, |cx, ch| {
        let v = match bias {
            Some(b) => {
                let mch = cx.builder.build_int_unsigned_rem(ch, cx.i64(geo.m), "mch")?;
                cx.load_at(f, b, mch, 4)?
            }
            None => f.const_zero().into(),
        };
        let yc = offset(cx, y, mul(cx, ch, pout)?)?;
        cx.for_n(pout, 1, |cx, p| cx.store_at(v, yc, p, 4))
    })?;
    let geo_r = &geo;
    cx.for_n(geo.n, 1, |cx, img| {
        cx.for_n(geo_r.group, 1, |cx, gi| {
            let ch =
                cx.builder.build_int_nuw_add(mul(cx, img, geo_r.c)?, mul(cx, gi, cg)?, "ch")?;
            let xg = offset(cx, x, mul(cx, ch, pin)?)?;
            let a = AOperand {
                ptr: offset(cx, a_base, mul(cx, gi, a_group)?)?,
                origin_rs: a_ors,
                rs: a_rs,
                ks: a_ks,
            };
            let b = BOperand { ptr: xg, origin_cs: 1, ks: pin, padded: false };
            let epi = Epilogue {
                alpha: 1.0,
                addends: Vec::new(),
                act: Activation::None,
                exact_chunk: None,
            };
            emit_matmul(cx, (rows, pin, cg), a, b, COperand { ptr: col, ldc: pin }, &epi, tiling)?;
            let ych =
                cx.builder.build_int_nuw_add(mul(cx, img, geo_r.m)?, mul(cx, gi, mg)?, "ych")?;
            let yg = offset(cx, y, mul(cx, ych, pout)?)?;
            emit_col2im(cx, geo_r, col, yg)
        })
    })?;
    free_workspace(cx, col)?;
    let act = activation_of(cx, g, node)?;
    if act != Activation::None {
        cx.for_n(geo.n * geo.m * pout, 1, |cx, i| {
            let v = cx.load_at(f, y, i, 4)?;
            let v = super::math::activation(cx, act, v)?;
            cx.store_at(v, y, i, 4)
        })?;
    }
    cx.finish_kernel(kern)
}

/// Adds `col` (`M/g·kernel` rows of `in_plane` columns) into the group's output planes `yg`:
/// row `(m, kpos)`, column `ipos` goes to position `ipos·s + kpos·d − pad` when inside.
fn emit_col2im<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    geo: &Geom,
    col: PointerValue<'ctx>,
    yg: PointerValue<'ctx>,
) -> Result<(), CodegenError> {
    let sp = geo.in_sp.len();
    let mg = geo.m / geo.group;
    let kn = geo.kernel();
    let (pin, pout) = (geo.in_plane(), geo.out_plane());
    let mut out_st = vec![1u64; sp];
    for a in (0..sp - 1).rev() {
        out_st[a] = out_st[a + 1] * geo.out_sp[a + 1];
    }
    let f = cx.f32_type();
    cx.for_n(mg * kn, 1, |cx, row| {
        let mi = cx.builder.build_int_unsigned_div(row, cx.i64(kn), "mi")?;
        let kidx = cx.builder.build_int_unsigned_rem(row, cx.i64(kn), "kidx")?;
        let yplane = offset(cx, yg, mul(cx, mi, pout)?)?;
        let crow = offset(cx, col, mul(cx, row, pin)?)?;
        cx.for_n(pin, 1, |cx, ip| {
            // Decompose the input position and the kernel position axis by axis.
            let mut valid: Option<IntValue> = None;
            let mut dst = cx.i64(0);
            let (mut rem_i, mut rem_k) = (ip, kidx);
            for a in (0..sp).rev() {
                let (di, dk) = (cx.i64(geo.in_sp[a]), cx.i64(geo.k_sp[a]));
                let o = cx.builder.build_int_unsigned_rem(rem_i, di, "o")?;
                rem_i = cx.builder.build_int_unsigned_div(rem_i, di, "q")?;
                let kp = cx.builder.build_int_unsigned_rem(rem_k, dk, "kp")?;
                rem_k = cx.builder.build_int_unsigned_div(rem_k, dk, "kq")?;
                let pos = cx.builder.build_int_add(
                    mul(cx, o, geo.strides[a])?,
                    mul(cx, kp, geo.dil[a])?,
                    "pos",
                )?;
                let pos = cx.builder.build_int_sub(pos, cx.i64(geo.pad_begin[a]), "pos")?;
                let inside = cx.builder.build_int_compare(
                    IntPredicate::ULT,
                    pos,
                    cx.i64(geo.out_sp[a]),
                    "in",
                )?;
                valid = Some(match valid {
                    None => inside,
                    Some(v) => cx.builder.build_and(v, inside, "v")?,
                });
                dst = cx.builder.build_int_add(dst, mul(cx, pos, out_st[a])?, "dst")?;
            }
            let Some(valid) = valid else { return Ok(()) };
            let func = cx.current_function()?;
            let yes = cx.ctx.append_basic_block(func, "scatter");
            let done = cx.ctx.append_basic_block(func, "scatter.done");
            cx.builder.build_conditional_branch(valid, yes, done)?;
            cx.builder.position_at_end(yes);
            let v = cx.load_at(f, crow, ip, 4)?.into_float_value();
            let old = cx.load_at(f, yplane, dst, 4)?.into_float_value();
            let sum = cx.builder.build_float_add(old, v, "sum")?;
            cx.store_at(sum.into(), yplane, dst, 4)?;
            cx.builder.build_unconditional_branch(done)?;
            cx.builder.position_at_end(done);
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ranges_clip_to_the_input() {
        // 5 outputs, stride 1, kernel offset −1 (pad 1): output 0 reads index −1.
        assert_eq!(valid_range(5, 1, -1, 5), (1, 5));
        assert_eq!(valid_range(5, 1, 1, 5), (0, 4));
        assert_eq!(valid_range(3, 2, -1, 5), (1, 3));
        assert_eq!(valid_range(4, 1, 9, 5), (0, 0));
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
    }
}
