//! Generators of max_pool and avg_pool over any number of spatial axes (NC[spatial]
//! layout), with pads (begins ++ ends), strides, dilations and ceil_mode (which only shapes
//! the result, already known here).
//!
//! Per output position, a static loop nest over the window; a tap outside the input is
//! skipped by a select (no branches), so the loops stay simple. Average pooling divides by a
//! per-position count computed at compile time into a constant table: the taps inside the
//! input (count_include_pad = 0) or inside the padded extent (= 1), ceil-mode overhang never
//! counting, as the interpreter does. Max pooling propagates NaN; its optional second
//! result (`indices = 1`) is the i64 flat index into `x` of the first maximum in window
//! order (`storage_order` 1: column-major spatial positions), -1 when the window reads no
//! input. Dtypes other than f32/f64 (and integer max) are `Unsupported`.

use super::layout::{dense_strides, nest, offset};
use super::KernelCx;
use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind};
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue};
use inkwell::IntPredicate;

struct Axis {
    dim: i64,
    k: i64,
    s: i64,
    d: i64,
    pb: i64,
    pe: i64,
    out: i64,
}

impl Axis {
    /// (taps inside the input, taps inside the padded extent) of output `o`.
    fn counts(&self, o: i64) -> (i64, i64) {
        let start = o * self.s - self.pb;
        let inside = (0..self.k).filter(|j| (0..self.dim).contains(&(start + j * self.d))).count();
        let span = (0..self.k).filter(|j| start + j * self.d < self.dim + self.pe).count();
        (inside as i64, span as i64)
    }
}

/// max_pool and avg_pool.
pub fn lower_pool<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    n: NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError> {
    let node = &g.nodes[n];
    let with_indices = node.outputs.len() == 2;
    if with_indices && !g.ty(node.inputs[0]).dtype.is_float() {
        return Err(cx.unsupported(g, n, "indices of an integer max_pool"));
    }
    let x_ty = g.ty(node.inputs[0]).clone();
    let out_shape = g.ty(node.outputs[0]).shape.clone();
    let d = x_ty.dtype;
    let is_max = node.op == OpKind::MaxPool;
    let int_max = is_max && d.is_int();
    if !(matches!(d, DType::F32 | DType::F64) || int_max) {
        return Err(cx.unsupported(g, n, format!("dtype {d}")));
    }
    let sp =
        x_ty.rank().checked_sub(2).filter(|&s| s > 0).ok_or_else(|| cx.invalid(g, n, "rank"))?;
    let list = |name: &str| -> Result<Vec<i64>, CodegenError> {
        node.attrs.ints(name).map(|v| v.to_vec()).map_err(|e| cx.invalid(g, n, e.to_string()))
    };
    let (kernel, strides, pads, dils) =
        (list("kernel_shape")?, list("strides")?, list("pads")?, list("dilations")?);
    let get = |v: &[i64], i: usize, default: i64| v.get(i).copied().unwrap_or(default);
    let axes: Vec<Axis> = (0..sp)
        .map(|i| Axis {
            dim: x_ty.shape[2 + i] as i64,
            k: get(&kernel, i, 1),
            s: get(&strides, i, 1).max(1),
            d: get(&dils, i, 1).max(1),
            pb: get(&pads, i, 0),
            pe: get(&pads, sp + i, 0),
            out: out_shape[2 + i] as i64,
        })
        .collect();
    let include_pad = node.attrs.int("count_include_pad").unwrap_or(0) != 0;
    let elem = cx.elem_type(d);
    let align = d.size_bytes() as u32;
    let in_sp_strides = dense_strides(&x_ty.shape[2..]);
    let plane_in: i64 = x_ty.shape[2..].iter().product::<usize>() as i64;
    let out_sp: Vec<usize> = out_shape[2..].to_vec();
    let plane_out: i64 = out_sp.iter().product::<usize>() as i64;
    let out_sp_strides = dense_strides(&out_sp);
    let kdims: Vec<usize> = axes.iter().map(|a| a.k.max(0) as usize).collect();
    let planes = x_ty.shape[0] * x_ty.shape[1];
    let mut k = cx.begin_kernel(g, n)?;
    let x = k.operand(cx, 0)?;
    let y = k.result(0)?;
    let yi = if with_indices { Some(k.result(1)?) } else { None };
    let idx_slot = cx.entry_alloca(cx.i64_type().into())?;
    let col_major = node.attrs.int("storage_order").unwrap_or(0) != 0;
    let pos_strides: Vec<i64> = if col_major {
        let mut acc = 1i64;
        axes.iter()
            .map(|a| {
                let s = acc;
                acc *= a.dim;
                s
            })
            .collect()
    } else {
        in_sp_strides.clone()
    };
    let recip = if is_max { None } else { Some(recip_table(cx, &axes, &out_sp, include_pad, d)) };
    let slot = cx.entry_alloca(elem)?;
    let init: BasicValueEnum = match elem {
        BasicTypeEnum::FloatType(t) => t.const_float(f64::NEG_INFINITY).into(),
        BasicTypeEnum::IntType(t) => {
            let signed = matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64);
            if signed {
                t.const_int(1u64 << (t.get_bit_width() - 1), false).into()
            } else {
                t.const_zero().into()
            }
        }
        _ => return Err(cx.unsupported(g, n, format!("dtype {d}"))),
    };
    let zero_acc: BasicValueEnum = match elem {
        BasicTypeEnum::FloatType(t) => t.const_zero().into(),
        _ => init,
    };
    let signed = matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    nest(cx, &[planes], &mut |cx, pl| {
        let in_base = cx.builder.build_int_mul(pl[0], cx.i64s(plane_in), "ib")?;
        let out_base = cx.builder.build_int_mul(pl[0], cx.i64s(plane_out), "ob")?;
        nest(cx, &out_sp, &mut |cx, o| {
            cx.builder.build_store(slot, if is_max { init } else { zero_acc })?;
            cx.builder.build_store(idx_slot, cx.i64s(-1))?;
            // Window start per axis.
            let mut starts: Vec<IntValue> = Vec::with_capacity(sp);
            for (a, &oi) in axes.iter().zip(o) {
                let s = cx.builder.build_int_mul(oi, cx.i64s(a.s), "s")?;
                starts.push(cx.builder.build_int_sub(s, cx.i64s(a.pb), "st")?);
            }
            nest(cx, &kdims, &mut |cx, kk| {
                let b = &cx.builder;
                let mut ok = None;
                let mut off = in_base;
                for (i, a) in axes.iter().enumerate() {
                    let t = b.build_int_mul(kk[i], cx.i64s(a.d), "t")?;
                    let c = b.build_int_add(starts[i], t, "c")?;
                    let inb = b.build_int_compare(IntPredicate::ULT, c, cx.i64s(a.dim), "in")?;
                    ok = Some(match ok {
                        None => inb,
                        Some(p) => b.build_and(p, inb, "ok")?,
                    });
                    let cc = b.build_select(inb, c, cx.i64(0), "cc")?.into_int_value();
                    let t = b.build_int_mul(cc, cx.i64s(in_sp_strides[i]), "t")?;
                    off = b.build_int_add(off, t, "off")?;
                }
                let mut pos = cx.i64(0);
                if yi.is_some() {
                    for (i, a) in axes.iter().enumerate() {
                        let t = cx.builder.build_int_mul(kk[i], cx.i64s(a.d), "t")?;
                        let c = cx.builder.build_int_add(starts[i], t, "c")?;
                        let t = cx.builder.build_int_mul(c, cx.i64s(pos_strides[i]), "t")?;
                        pos = cx.builder.build_int_add(pos, t, "pos")?;
                    }
                }
                let v = cx.load_at(elem, x, off, align)?;
                let acc = cx.builder.build_load(elem, slot, "a")?;
                if yi.is_some() {
                    // A new maximum: strictly greater, or the first NaN.
                    let (a, vv) = (acc.into_float_value(), v.into_float_value());
                    let gt = cx.builder.build_float_compare(
                        inkwell::FloatPredicate::OGT,
                        vv,
                        a,
                        "gt",
                    )?;
                    let vn = cx.builder.build_float_compare(
                        inkwell::FloatPredicate::UNO,
                        vv,
                        vv,
                        "vn",
                    )?;
                    let an =
                        cx.builder.build_float_compare(inkwell::FloatPredicate::ORD, a, a, "an")?;
                    let first_nan = cx.builder.build_and(vn, an, "fn")?;
                    let better = cx.builder.build_or(gt, first_nan, "b")?;
                    let inb = ok.ok_or_else(|| CodegenError::Llvm("pool without axes".into()))?;
                    let take = cx.builder.build_and(better, inb, "take")?;
                    let old = cx.builder.build_load(cx.i64_type(), idx_slot, "oi")?;
                    let pl_pos = cx.builder.build_int_add(in_base, pos, "pp")?;
                    let ni = cx.builder.build_select(take, pl_pos.into(), old, "ni")?;
                    cx.builder.build_store(idx_slot, ni)?;
                }
                let next = match (is_max, v) {
                    (true, BasicValueEnum::FloatValue(_)) => {
                        cx.call_intrinsic("llvm.maximum", &[acc, v])?
                    }
                    (true, _) => {
                        let p = if signed { IntPredicate::SGT } else { IntPredicate::UGT };
                        let c = cx.builder.build_int_compare(
                            p,
                            acc.into_int_value(),
                            v.into_int_value(),
                            "c",
                        )?;
                        cx.builder.build_select(c, acc, v, "m")?
                    }
                    (false, _) => super::math::add(cx, acc, v)?,
                };
                let keep = ok.ok_or_else(|| CodegenError::Llvm("pool without axes".into()))?;
                let r = cx.builder.build_select(keep, next, acc, "r")?;
                cx.builder.build_store(slot, r)?;
                Ok(())
            })?;
            let pos = offset(cx, o, 0, &out_sp_strides)?;
            let mut r = cx.builder.build_load(elem, slot, "r")?;
            if let Some(table) = recip {
                let q = cx.load_at(elem, table, pos, align)?;
                r = super::math::mul(cx, r, q)?;
            }
            let dst = cx.builder.build_int_add(out_base, pos, "d")?;
            if let Some(yi) = yi {
                let i = cx.builder.build_load(cx.i64_type(), idx_slot, "i")?;
                cx.store_at(i, yi, dst, 8)?;
            }
            cx.store_at(r, y, dst, align)
        })
    })?;
    cx.finish_kernel(k)
}

/// 1/count for every output position, as a constant of the element type.
fn recip_table<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    axes: &[Axis],
    out_sp: &[usize],
    include_pad: bool,
    d: DType,
) -> inkwell::values::PointerValue<'ctx> {
    let total: usize = out_sp.iter().product();
    let mut vals = Vec::with_capacity(total);
    let mut pos = vec![0i64; axes.len()];
    for _ in 0..total {
        let count: i64 = axes
            .iter()
            .zip(&pos)
            .map(|(a, &o)| {
                let (inside, span) = a.counts(o);
                if include_pad {
                    span
                } else {
                    inside
                }
            })
            .product();
        vals.push(if count > 0 { 1.0 / count as f64 } else { 0.0 });
        for i in (0..pos.len()).rev() {
            pos[i] += 1;
            if pos[i] < axes[i].out {
                break;
            }
            pos[i] = 0;
        }
    }
    let bytes: Vec<u8> = match d {
        DType::F64 => vals.iter().flat_map(|v| v.to_le_bytes()).collect(),
        _ => vals.iter().flat_map(|&v| (v as f32).to_le_bytes()).collect(),
    };
    cx.const_bytes(&bytes)
}
