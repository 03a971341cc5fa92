//! Conv and ConvTranspose over N spatial dims (layout N, C, spatial…; weights M, C/group,
//! kernel…) with groups, dilations and asymmetric pads (begins ++ ends).
//!
//! Conv lowers each (image, group) to one GEMM: im2col builds a `(C/g·K) × out_positions`
//! matrix (skipped for 1×1, stride-1, unpadded convolutions, where the input already is
//! that matrix) and the weights multiply it. ConvTranspose runs the GEMM the other way
//! (`Wᵀ·x`) and scatters the columns back with col2im. f32 and f64 (f16 through f32).
//! Only the last spatial axis is walked element by element; the others are handled once
//! per row segment, so the inner loops are plain slice copies.

use super::common::{
    elems, expect_shape, input, invalid, make, next_index, numel, opt_input, real_dtype,
    spatial_list, strides, via_cast, KResult, Real,
};
use super::matmul::gemm_strided;
use super::{EvalCx, InterpError};
use crate::types::DType;
use std::ops::Range;

/// Target number of elements of one im2col tile (4 MiB of f32).
const COL_TILE: usize = 1 << 20;

/// Sizes of one convolution.
struct Geom {
    n: usize,
    c: usize,
    m: usize,
    group: usize,
    in_sp: Vec<usize>,
    k_sp: Vec<usize>,
    out_sp: Vec<usize>,
    strides: Vec<usize>,
    dil: Vec<usize>,
    pad_begin: Vec<usize>,
}

impl Geom {
    fn spatial(&self) -> usize {
        self.in_sp.len()
    }
}

/// Range of `j ∈ [0, count)` for which `j·s + shift` lies in `[0, limit)`.
fn valid_range(count: usize, s: usize, shift: i64, limit: usize) -> (usize, usize) {
    let s = s as i64;
    let lo = if shift >= 0 { 0 } else { (-shift + s - 1) / s };
    let top = limit as i64 - shift;
    let hi = if top <= 0 { 0 } else { (top + s - 1) / s };
    let lo = (lo as usize).min(count);
    (lo, (hi as usize).min(count).max(lo))
}

/// Reads strides, dilations, pads and group; checks operand shapes. `transposed` selects the
/// ConvTranspose weight layout (C, M/group, kernel…) and result-size rule.
fn geometry(cx: &EvalCx, transposed: bool) -> Result<Geom, InterpError> {
    let (xs, ws) = (input(cx, 0)?.shape(), input(cx, 1)?.shape());
    if xs.len() < 3 || ws.len() != xs.len() {
        return Err(invalid(cx, format!("operand shapes {xs:?} and weights {ws:?}")));
    }
    let sp = xs.len() - 2;
    let group = usize::try_from(cx.attrs.int("group")?).unwrap_or(0);
    let (n, c) = (xs[0], xs[1]);
    let bad = |msg: String| Err(invalid(cx, msg));
    if group == 0 || c % group != 0 {
        return bad(format!("group {group} does not divide {c} channels"));
    }
    let m = if transposed {
        if ws[0] != c {
            return bad(format!("weights {ws:?} do not match {c} input channels"));
        }
        ws[1] * group
    } else {
        if ws[1] * group != c || ws[0] % group != 0 {
            return bad(format!("weights {ws:?} do not match {c} channels in {group} groups"));
        }
        ws[0]
    };
    let strides = spatial_list(cx, "strides", sp, 1)?;
    let dil = spatial_list(cx, "dilations", sp, 1)?;
    let pads = spatial_list(cx, "pads", 2 * sp, 0)?;
    if strides.contains(&0) || dil.contains(&0) {
        return bad("strides and dilations must be positive".into());
    }
    let in_sp = xs[2..].to_vec();
    let k_sp = ws[2..].to_vec();
    let out_pad = if transposed { spatial_list(cx, "output_padding", sp, 0)? } else { vec![] };
    let mut out_sp = Vec::with_capacity(sp);
    for i in 0..sp {
        // i128 arithmetic: attribute values cannot overflow it.
        let (k, d, s, x) = (k_sp[i] as i128, dil[i] as i128, strides[i] as i128, in_sp[i] as i128);
        let pads_sum = pads[i] as i128 + pads[sp + i] as i128;
        let eff = (k - 1) * d + 1;
        let o = if transposed {
            let op = out_pad[i] as i128;
            s * (x - 1).max(0) + op + eff - pads_sum
        } else if x + pads_sum >= eff {
            (x + pads_sum - eff) / s + 1
        } else {
            -1
        };
        match usize::try_from(o) {
            Ok(o) if k > 0 => out_sp.push(o),
            _ => return bad(format!("kernel {k_sp:?} does not fit input {in_sp:?}")),
        }
    }
    expect_shape(cx, 0, &[&[n, m][..], &out_sp].concat())?;
    let pad_begin = pads[..sp].to_vec();
    Ok(Geom { n, c, m, group, in_sp, k_sp, out_sp, strides, dil, pad_begin })
}

/// Offset into a plane of `dims` (strides `st`) of the prefix position
/// `pos[a]·s[a] + k[a]·d[a] − pad[a]` over all but the last axis, or None when outside.
fn prefix_offset(
    g: &Geom,
    pos: &[usize],
    kpos: &[usize],
    dims: &[usize],
    st: &[usize],
) -> Option<usize> {
    let mut off = 0usize;
    for a in 0..pos.len() {
        let i = (pos[a] * g.strides[a] + kpos[a] * g.dil[a]) as i64 - g.pad_begin[a] as i64;
        if !(0..dims[a] as i64).contains(&i) {
            return None;
        }
        off += i as usize * st[a];
    }
    Some(off)
}

/// Fills `col` (`C/g·K` rows, each holding the output lines `lines` of `out_last`
/// positions) from the `C/g` input planes `xg`. A line is one run of the last spatial
/// axis; tiling by lines bounds the size of `col`.
fn im2col<T: Real>(g: &Geom, xg: &[T], col: &mut [T], lines: Range<usize>) {
    let sp = g.spatial();
    let last = sp - 1;
    let (in_plane, in_st) = (numel(&g.in_sp), strides(&g.in_sp));
    let (out_last, in_last, s) = (g.out_sp[last], g.in_sp[last], g.strides[last]);
    let width = lines.len() * out_last;
    if width == 0 {
        return;
    }
    let out_prefix = &g.out_sp[..last];
    let first = unravel(lines.start, out_prefix);
    let mut rows = col.chunks_mut(width);
    for plane in xg.chunks(in_plane.max(1)) {
        let mut kpos = vec![0usize; sp];
        loop {
            let Some(row) = rows.next() else { return };
            let shift = (kpos[last] * g.dil[last]) as i64 - g.pad_begin[last] as i64;
            let (lo, hi) = valid_range(out_last, s, shift, in_last);
            let mut opos = first.clone();
            for seg in row.chunks_mut(out_last) {
                match prefix_offset(g, &opos, &kpos, &g.in_sp, &in_st) {
                    None => seg.fill(T::ZERO),
                    Some(base) => {
                        seg[..lo].fill(T::ZERO);
                        seg[hi..].fill(T::ZERO);
                        let start = base + (lo as i64 * s as i64 + shift) as usize;
                        let src = plane.get(start..).unwrap_or(&[]);
                        if s == 1 {
                            if let Some(src) = src.get(..hi - lo) {
                                seg[lo..hi].copy_from_slice(src);
                            }
                        } else {
                            seg[lo..hi]
                                .iter_mut()
                                .zip(src.iter().step_by(s))
                                .for_each(|(d, &v)| *d = v);
                        }
                    }
                }
                next_index(&mut opos, out_prefix);
            }
            if !next_index(&mut kpos, &g.k_sp) {
                break;
            }
        }
    }
}

/// The row-major multi-index of flat position `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0usize; shape.len()];
    for (slot, &d) in idx.iter_mut().zip(shape).rev() {
        if d > 0 {
            *slot = i % d;
            i /= d;
        }
    }
    idx
}

/// Adds `col` (`M/g·K` rows of `in_positions`) into the `M/g` output planes `yg`.
fn col2im<T: Real>(g: &Geom, col: &[T], yg: &mut [T]) {
    let sp = g.spatial();
    let last = sp - 1;
    let (out_plane, out_st) = (numel(&g.out_sp), strides(&g.out_sp));
    let (out_last, in_last, s) = (g.out_sp[last], g.in_sp[last], g.strides[last]);
    let cols = numel(&g.in_sp);
    if cols == 0 || out_plane == 0 {
        return;
    }
    let mut rows = col.chunks(cols);
    for plane in yg.chunks_mut(out_plane) {
        let mut kpos = vec![0usize; sp];
        loop {
            let Some(row) = rows.next() else { return };
            let shift = (kpos[last] * g.dil[last]) as i64 - g.pad_begin[last] as i64;
            let (lo, hi) = valid_range(in_last, s, shift, out_last);
            let mut ipos = vec![0usize; last];
            for seg in row.chunks(in_last) {
                if let Some(base) = prefix_offset(g, &ipos, &kpos, &g.out_sp, &out_st) {
                    let start = base + (lo as i64 * s as i64 + shift) as usize;
                    let dst = plane.get_mut(start..).unwrap_or(&mut []);
                    dst.iter_mut().step_by(s).zip(&seg[lo..hi]).for_each(|(d, &v)| *d += v);
                }
                next_index(&mut ipos, &g.in_sp[..last]);
            }
            if !next_index(&mut kpos, &g.k_sp) {
                break;
            }
        }
    }
}

/// Adds `bias[m]` to every element of output channel `m`.
fn add_bias<T: Real>(cx: &EvalCx, y: &mut [T], m: usize, plane: usize) -> Result<(), InterpError> {
    let Some(_) = opt_input(cx, 2) else { return Ok(()) };
    let b = elems::<T>(cx, 2)?;
    if b.len() != m {
        return Err(invalid(cx, format!("bias has {} elements, expected {m}", b.len())));
    }
    if plane == 0 {
        return Ok(());
    }
    for (i, chunk) in y.chunks_mut(plane).enumerate() {
        let bv = b[i % m];
        chunk.iter_mut().for_each(|v| *v += bv);
    }
    Ok(())
}

fn sub<'a, T>(cx: &EvalCx, v: &'a [T], start: usize, len: usize) -> Result<&'a [T], InterpError> {
    v.get(start..start + len).ok_or_else(|| invalid(cx, "operand slice out of range"))
}

fn sub_mut<'a, T>(
    cx: &EvalCx,
    v: &'a mut [T],
    start: usize,
    len: usize,
) -> Result<&'a mut [T], InterpError> {
    v.get_mut(start..start + len).ok_or_else(|| invalid(cx, "result slice out of range"))
}

/// Convolution.
pub fn conv(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), conv_t)
}

fn conv_t<T: Real>(cx: &EvalCx) -> KResult {
    let g = geometry(cx, false)?;
    let (x, w) = (elems::<T>(cx, 0)?, elems::<T>(cx, 1)?);
    let (cg, mg) = (g.c / g.group, g.m / g.group);
    let rows = cg * numel(&g.k_sp);
    let (cols, in_plane) = (numel(&g.out_sp), numel(&g.in_sp));
    let direct = g.k_sp.iter().all(|&k| k == 1)
        && g.strides.iter().all(|&s| s == 1)
        && g.pad_begin.iter().all(|&p| p == 0)
        && cols == in_plane;
    let out_last = g.out_sp[g.spatial() - 1];
    let lines = cols.checked_div(out_last).unwrap_or(0);
    // Lines of output positions per im2col tile: about COL_TILE elements of `col`.
    let tile = (COL_TILE / (rows * out_last).max(1)).clamp(1, lines.max(1));
    let mut col = if direct { Vec::new() } else { vec![T::ZERO; rows * tile * out_last] };
    let mut y = vec![T::ZERO; g.n * g.m * cols];
    let (one, zero) = (T::ONE, T::ZERO);
    for b in 0..g.n {
        for gi in 0..g.group {
            let xg = sub(cx, x, (b * g.c + gi * cg) * in_plane, cg * in_plane)?;
            let wg = sub(cx, w, gi * mg * rows, mg * rows)?;
            let y0 = (b * g.m + gi * mg) * cols;
            if direct {
                let yg = sub_mut(cx, &mut y, y0, mg * cols)?;
                let (sb, sc) = ((cols, 1), (cols, 1));
                gemm_strided(cx, (mg, rows, cols), one, wg, (rows, 1), xg, sb, zero, yg, sc)?;
                continue;
            }
            for l0 in (0..lines).step_by(tile) {
                let l1 = (l0 + tile).min(lines);
                let width = (l1 - l0) * out_last;
                let colt = sub_mut(cx, &mut col, 0, rows * width)?;
                im2col(&g, xg, colt, l0..l1);
                // The tile's results are columns [l0·out_last, l1·out_last) of the rows.
                let span = (mg - 1) * cols + width;
                let yg = sub_mut(cx, &mut y, y0 + l0 * out_last, if mg == 0 { 0 } else { span })?;
                let (sb, sc) = ((width, 1), (cols, 1));
                gemm_strided(cx, (mg, rows, width), one, wg, (rows, 1), colt, sb, zero, yg, sc)?;
            }
        }
    }
    add_bias(cx, &mut y, g.m, cols)?;
    let shape = [&[g.n, g.m][..], &g.out_sp].concat();
    Ok(vec![make(cx, shape, T::wrap(y))?])
}

/// `conv` with `exact_bound`: the operands hold integers, `|x| ≤ exact_bound`; every output
/// is the exact sum of its products rounded once to f32. The sums run in f64, where every
/// partial sum is an integer below 2^53 (checked), so the summation order does not matter and
/// any implementation that sums exactly (the generated code sums chunks in f32 and i32) gets
/// the same bits.
pub fn conv_exact(cx: &EvalCx) -> KResult {
    let w_shape = input(cx, 1)?.shape();
    check_exact(cx, w_shape.iter().skip(1).product())?;
    via_cast(cx, DType::F32, DType::F64, conv)
}

/// The checks of an exact op (`conv` or `gemm` with `exact_bound`) whose outputs each sum
/// `per_output` products of operand 0 and operand 1: integer operands, `|x| ≤ exact_bound`,
/// `|w| ≤ 2^24`, and sums that stay below 2^53.
pub fn check_exact(cx: &EvalCx, per_output: usize) -> Result<(), InterpError> {
    let bound = cx.attrs.int("exact_bound")?;
    let (x, w) = (elems::<f32>(cx, 0)?, elems::<f32>(cx, 1)?);
    let not_int = |v: &f32| v.fract() != 0.0;
    if let Some(v) = x.iter().find(|v| not_int(v) || v.abs() > bound as f32) {
        return Err(invalid(cx, format!("operand 0 holds {v}, not an integer within ±{bound}")));
    }
    if let Some(v) = w.iter().find(|v| not_int(v) || v.abs() > (1u32 << 24) as f32) {
        return Err(invalid(cx, format!("operand 1 holds {v}, not an integer within ±2^24")));
    }
    let w_max = w.iter().fold(0f64, |m, v| m.max(v.abs() as f64));
    if per_output as f64 * bound as f64 * w_max >= (1u64 << 53) as f64 {
        return Err(invalid(cx, "the exact sums could exceed 2^53"));
    }
    Ok(())
}

/// Transposed convolution.
pub fn conv_transpose(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), conv_transpose_t)
}

fn conv_transpose_t<T: Real>(cx: &EvalCx) -> KResult {
    let g = geometry(cx, true)?;
    let (x, w) = (elems::<T>(cx, 0)?, elems::<T>(cx, 1)?);
    let (cg, mg) = (g.c / g.group, g.m / g.group);
    let rows = mg * numel(&g.k_sp);
    let (cols, out_plane) = (numel(&g.in_sp), numel(&g.out_sp));
    let mut col = vec![T::ZERO; rows * cols];
    let mut y = vec![T::ZERO; g.n * g.m * out_plane];
    for b in 0..g.n {
        for gi in 0..g.group {
            let xg = sub(cx, x, (b * g.c + gi * cg) * cols, cg * cols)?;
            let wg = sub(cx, w, gi * cg * rows, cg * rows)?;
            let (one, zero) = (T::ONE, T::ZERO);
            gemm_strided(
                cx,
                (rows, cg, cols),
                one,
                wg,
                (1, rows),
                xg,
                (cols, 1),
                zero,
                &mut col,
                (cols, 1),
            )?;
            let yg = sub_mut(cx, &mut y, (b * g.m + gi * mg) * out_plane, mg * out_plane)?;
            col2im(&g, &col, yg);
        }
    }
    add_bias(cx, &mut y, g.m, out_plane)?;
    let shape = [&[g.n, g.m][..], &g.out_sp].concat();
    Ok(vec![make(cx, shape, T::wrap(y))?])
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // the reference loops follow the definition
mod tests {
    use super::super::common::testutil::*;
    use super::super::common::{next_index, numel, strides};
    use crate::attr::Attr;
    use crate::ops::OpKind;
    use crate::types::DType;

    /// Convolution parameters of a test case.
    struct P {
        x: Vec<usize>,
        w: Vec<usize>,
        strides: Vec<usize>,
        dil: Vec<usize>,
        pads: Vec<usize>,
        group: usize,
    }

    fn attrs_of(p: &P, transposed: Option<&[usize]>) -> crate::attr::Attrs {
        let i = |v: &[usize]| Attr::Ints(v.iter().map(|&x| x as i64).collect());
        let mut a = attrs(&[
            ("strides", i(&p.strides)),
            ("dilations", i(&p.dil)),
            ("pads", i(&p.pads)),
            ("group", Attr::Int(p.group as i64)),
        ]);
        if let Some(op) = transposed {
            a.set("output_padding", i(op));
        }
        a
    }

    /// Direct-loop convolution by the definition.
    fn naive_conv(p: &P, x: &[f32], w: &[f32], b: &[f32]) -> (Vec<f32>, Vec<usize>) {
        let sp = p.x.len() - 2;
        let (n, c, m) = (p.x[0], p.x[1], p.w[0]);
        let (cg, mg) = (c / p.group, m / p.group);
        let ksp = &p.w[2..];
        let out_sp: Vec<usize> = (0..sp)
            .map(|i| {
                (p.x[2 + i] + p.pads[i] + p.pads[sp + i] - ((ksp[i] - 1) * p.dil[i] + 1))
                    / p.strides[i]
                    + 1
            })
            .collect();
        let (xst, wst) = (strides(&p.x), strides(&p.w));
        let mut y = Vec::new();
        for bn in 0..n {
            for mo in 0..m {
                let g = mo / mg;
                let mut o = vec![0usize; sp];
                loop {
                    let mut acc = b[mo];
                    for ci in 0..cg {
                        let mut k = vec![0usize; sp];
                        loop {
                            let pos: Vec<i64> = (0..sp)
                                .map(|a| {
                                    (o[a] * p.strides[a] + k[a] * p.dil[a]) as i64
                                        - p.pads[a] as i64
                                })
                                .collect();
                            let inside = pos
                                .iter()
                                .enumerate()
                                .all(|(a, &v)| v >= 0 && (v as usize) < p.x[2 + a]);
                            if inside {
                                let mut xo = bn * xst[0] + (g * cg + ci) * xst[1];
                                let mut wo = mo * wst[0] + ci * wst[1];
                                for a in 0..sp {
                                    xo += pos[a] as usize * xst[2 + a];
                                    wo += k[a] * wst[2 + a];
                                }
                                acc += x[xo] * w[wo];
                            }
                            if !next_index(&mut k, ksp) {
                                break;
                            }
                        }
                    }
                    y.push(acc);
                    if !next_index(&mut o, &out_sp) {
                        break;
                    }
                }
            }
        }
        (y, [&[n, m][..], &out_sp].concat())
    }

    fn check_conv(p: P, seed: u64) {
        let x = rand(&p.x, seed);
        let w = rand(&p.w, seed + 1);
        let b = rand(&[p.w[0]], seed + 2);
        let (want, shape) = naive_conv(&p, &vals(&x), &vals(&w), &vals(&b));
        let y = run1(OpKind::Conv, &attrs_of(&p, None), &[&x, &w, &b], DType::F32, &shape);
        assert_close(&vals(&y), &want, 1e-5);
    }

    #[test]
    fn conv2d_matches_direct_loops() {
        let (s, d) = (vec![2, 1], vec![1, 2]);
        let p = P {
            x: vec![2, 4, 9, 8],
            w: vec![6, 2, 3, 2],
            strides: s,
            dil: d,
            pads: vec![1, 0, 2, 1],
            group: 2,
        };
        check_conv(p, 10);
        let p = P {
            x: vec![1, 3, 7, 7],
            w: vec![5, 3, 3, 3],
            strides: vec![1, 1],
            dil: vec![1, 1],
            pads: vec![1; 4],
            group: 1,
        };
        check_conv(p, 20);
    }

    #[test]
    fn conv_tiled_over_output_lines_matches_direct_loops() {
        // rows·out_last = 64·9·64 elements per line: COL_TILE covers 28 of the 64 lines.
        const { assert!(super::COL_TILE / (64 * 9 * 64) < 64) };
        let p = P {
            x: vec![1, 64, 64, 64],
            w: vec![2, 64, 3, 3],
            strides: vec![1, 1],
            dil: vec![1, 1],
            pads: vec![1, 1, 1, 1],
            group: 1,
        };
        check_conv(p, 25);
    }

    #[test]
    fn depthwise_conv_matches_direct_loops() {
        let p = P {
            x: vec![1, 4, 6, 6],
            w: vec![4, 1, 3, 3],
            strides: vec![2, 2],
            dil: vec![1, 1],
            pads: vec![1, 1, 0, 0],
            group: 4,
        };
        check_conv(p, 30);
    }

    #[test]
    fn pointwise_conv_takes_the_direct_path() {
        let p = P {
            x: vec![2, 3, 4, 5],
            w: vec![7, 3, 1, 1],
            strides: vec![1, 1],
            dil: vec![1, 1],
            pads: vec![0; 4],
            group: 1,
        };
        check_conv(p, 40);
        let p = P {
            x: vec![1, 3, 5, 5],
            w: vec![2, 3, 1, 1],
            strides: vec![2, 2],
            dil: vec![1, 1],
            pads: vec![0, 0, 1, 1],
            group: 1,
        };
        check_conv(p, 45);
    }

    #[test]
    fn conv1d_and_conv3d_match_direct_loops() {
        let p = P {
            x: vec![2, 3, 11],
            w: vec![4, 3, 3],
            strides: vec![2],
            dil: vec![2],
            pads: vec![3, 1],
            group: 1,
        };
        check_conv(p, 50);
        let p = P {
            x: vec![1, 2, 5, 4, 6],
            w: vec![3, 2, 2, 3, 2],
            strides: vec![1, 2, 1],
            dil: vec![2, 1, 1],
            pads: vec![1, 0, 1, 0, 2, 1],
            group: 1,
        };
        check_conv(p, 60);
    }

    #[test]
    fn conv_without_bias_and_mismatched_weights() {
        let x = f32t(&[1, 1, 3], &[1.0, 2.0, 3.0]);
        let w = f32t(&[1, 1, 2], &[1.0, -1.0]);
        let p = P {
            x: vec![1, 1, 3],
            w: vec![1, 1, 2],
            strides: vec![1],
            dil: vec![1],
            pads: vec![0, 0],
            group: 1,
        };
        let y = run1(OpKind::Conv, &attrs_of(&p, None), &[&x, &w], DType::F32, &[1, 1, 2]);
        assert_eq!(vals(&y), vec![-1.0, -1.0]);
        let w2 = f32t(&[1, 2, 2], &[0.0; 4]);
        let outs = [crate::types::TensorType::new(DType::F32, [1, 1, 2])];
        assert!(try_run(OpKind::Conv, &attrs_of(&p, None), &[&x, &w2], &outs).is_err());
    }

    /// Scatter-loop transposed convolution by the definition.
    fn naive_conv_transpose(
        p: &P,
        out_pad: &[usize],
        x: &[f32],
        w: &[f32],
        b: &[f32],
    ) -> (Vec<f32>, Vec<usize>) {
        let sp = p.x.len() - 2;
        let (n, c) = (p.x[0], p.x[1]);
        let (cg, mg) = (c / p.group, p.w[1]);
        let m = mg * p.group;
        let ksp = &p.w[2..];
        let out_sp: Vec<usize> = (0..sp)
            .map(|i| {
                p.strides[i] * (p.x[2 + i] - 1) + out_pad[i] + (ksp[i] - 1) * p.dil[i] + 1
                    - p.pads[i]
                    - p.pads[sp + i]
            })
            .collect();
        let shape = [&[n, m][..], &out_sp].concat();
        let (xst, wst, yst) = (strides(&p.x), strides(&p.w), strides(&shape));
        let mut y = vec![0.0f32; numel(&shape)];
        for (i, v) in y.iter_mut().enumerate() {
            *v = b[(i / yst[1]) % m];
        }
        for bn in 0..n {
            for ci in 0..c {
                let g = ci / cg;
                let mut ip = vec![0usize; sp];
                loop {
                    let mut xo = bn * xst[0] + ci * xst[1];
                    for a in 0..sp {
                        xo += ip[a] * xst[2 + a];
                    }
                    for mm in 0..mg {
                        let mut k = vec![0usize; sp];
                        loop {
                            let pos: Vec<i64> = (0..sp)
                                .map(|a| {
                                    (ip[a] * p.strides[a] + k[a] * p.dil[a]) as i64
                                        - p.pads[a] as i64
                                })
                                .collect();
                            if pos
                                .iter()
                                .enumerate()
                                .all(|(a, &v)| v >= 0 && (v as usize) < out_sp[a])
                            {
                                let mut yo = bn * yst[0] + (g * mg + mm) * yst[1];
                                let mut wo = ci * wst[0] + mm * wst[1];
                                for a in 0..sp {
                                    yo += pos[a] as usize * yst[2 + a];
                                    wo += k[a] * wst[2 + a];
                                }
                                y[yo] += x[xo] * w[wo];
                            }
                            if !next_index(&mut k, ksp) {
                                break;
                            }
                        }
                    }
                    if !next_index(&mut ip, &p.x[2..]) {
                        break;
                    }
                }
            }
        }
        (y, shape)
    }

    fn check_conv_transpose(p: P, out_pad: &[usize], seed: u64) {
        let x = rand(&p.x, seed);
        let w = rand(&p.w, seed + 1);
        let b = rand(&[p.w[1] * p.group], seed + 2);
        let (want, shape) = naive_conv_transpose(&p, out_pad, &vals(&x), &vals(&w), &vals(&b));
        let a = attrs_of(&p, Some(out_pad));
        let y = run1(OpKind::ConvTranspose, &a, &[&x, &w, &b], DType::F32, &shape);
        assert_close(&vals(&y), &want, 1e-5);
    }

    #[test]
    fn conv_transpose_matches_scatter_loops() {
        let p = P {
            x: vec![1, 2, 3, 3],
            w: vec![2, 3, 3, 3],
            strides: vec![2, 2],
            dil: vec![1, 1],
            pads: vec![0; 4],
            group: 1,
        };
        check_conv_transpose(p, &[1, 1], 70);
        let p = P {
            x: vec![2, 4, 4, 3],
            w: vec![4, 2, 2, 3],
            strides: vec![3, 2],
            dil: vec![2, 1],
            pads: vec![1, 0, 2, 1],
            group: 2,
        };
        check_conv_transpose(p, &[1, 0], 80);
        let p = P {
            x: vec![1, 2, 5],
            w: vec![2, 1, 4],
            strides: vec![1],
            dil: vec![1],
            pads: vec![2, 1],
            group: 2,
        };
        check_conv_transpose(p, &[0], 90);
    }

    /// A 1×1 conv over `k` channels of `x`s and `w`s, with `exact_bound`.
    fn exact_case(x: Vec<f32>, w: Vec<f32>, bound: i64) -> Result<f32, crate::interp::InterpError> {
        let k = x.len();
        let p = P {
            x: vec![1, k, 1, 1],
            w: vec![1, k, 1, 1],
            strides: vec![1, 1],
            dil: vec![1, 1],
            pads: vec![0; 4],
            group: 1,
        };
        let mut a = attrs_of(&p, None);
        a.set("exact_bound", Attr::Int(bound));
        let (xt, wt) = (f32t(&p.x, &x), f32t(&p.w, &w));
        let outs = [crate::types::TensorType::new(DType::F32, vec![1, 1, 1, 1])];
        let y = try_run(OpKind::Conv, &a, &[&xt, &wt], &outs)?;
        Ok(vals(&y[0])[0])
    }

    #[test]
    fn exact_conv_sums_exactly_and_rounds_once() {
        // 2^24 + 1 + 1: in f32, left to right, each +1 is lost (2^24 + 1 rounds to 2^24);
        // the exact sum 2^24 + 2 is representable.
        let big = (1u32 << 24) as f32;
        let got = exact_case(vec![big, 1.0, 1.0], vec![1.0, 1.0, 1.0], 1 << 24).expect("runs");
        assert_eq!(got, big + 2.0);
        let plain = big + 1.0 + 1.0;
        assert_ne!(plain, got, "f32 summation loses the ones");
        // 255 · 127 · 600 products: the exact total, rounded once.
        let got = exact_case(vec![255.0; 600], vec![127.0; 600], 255).expect("runs");
        assert_eq!(got, (255i64 * 127 * 600) as f32);
    }

    #[test]
    fn exact_conv_rejects_operands_that_are_not_bounded_integers() {
        for (x, w, what) in [
            (vec![1.5, 2.0], vec![1.0, 1.0], "not an integer"),
            (vec![300.0, 2.0], vec![1.0, 1.0], "within ±255"),
            (vec![f32::NAN, 2.0], vec![1.0, 1.0], "not an integer"),
            (vec![1.0, 2.0], vec![0.25, 1.0], "operand 1 holds 0.25"),
        ] {
            let err = exact_case(x, w, 255).expect_err("rejected").to_string();
            assert!(err.contains(what), "{err}");
        }
    }

    #[test]
    fn conv_in_f64_agrees_with_f32() {
        let p = P {
            x: vec![1, 2, 5, 5],
            w: vec![3, 2, 3, 3],
            strides: vec![1, 1],
            dil: vec![1, 1],
            pads: vec![1; 4],
            group: 1,
        };
        let (x, w) = (rand(&p.x, 5), rand(&p.w, 6));
        let y32 = run1(OpKind::Conv, &attrs_of(&p, None), &[&x, &w], DType::F32, &[1, 3, 5, 5]);
        let (x64, w64) = (x.cast(DType::F64), w.cast(DType::F64));
        let y64 = run1(OpKind::Conv, &attrs_of(&p, None), &[&x64, &w64], DType::F64, &[1, 3, 5, 5]);
        let y64: Vec<f32> = y64.cast(DType::F32).as_f32().unwrap_or(&[]).to_vec();
        assert_close(&vals(&y32), &y64, 1e-5);
    }
}
