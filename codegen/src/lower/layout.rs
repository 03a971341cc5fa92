//! Strided loop nests: the one builder behind the elementwise, movement and reduction
//! generators.
//!
//! An access of a buffer inside a loop nest over `dims` is affine: element offset
//! `base + Σ idx[d]·strides[d]` (strides may be 0 for broadcast axes, or negative). Before
//! building the nest, [`collapse`] merges adjacent axes that every access walks contiguously,
//! so a broadcast add over `[1,64,56,56] + [1,64,1,1]` becomes a 2-deep nest whose inner
//! loop has unit and zero strides, which LLVM's vectoriser widens. This file builds loops and
//! offsets only; what happens per element is the caller's.

use super::KernelCx;
use crate::error::CodegenError;
use inkwell::values::IntValue;

/// Row-major strides of `shape`, in elements.
pub fn dense_strides(shape: &[usize]) -> Vec<i64> {
    let mut s = vec![0i64; shape.len()];
    let mut acc = 1i64;
    for (d, &n) in shape.iter().enumerate().rev() {
        s[d] = acc;
        acc = acc.saturating_mul(n as i64);
    }
    s
}

/// Strides reading an operand of shape `operand` broadcast (numpy rules, right-aligned) to
/// `out`: 0 on axes the operand lacks or has size 1.
pub fn broadcast_strides(operand: &[usize], out: &[usize]) -> Vec<i64> {
    let dense = dense_strides(operand);
    let lead = out.len().saturating_sub(operand.len());
    (0..out.len())
        .map(|d| match d.checked_sub(lead) {
            Some(k) if operand[k] != 1 => dense[k],
            _ => 0,
        })
        .collect()
}

/// Merges adjacent axes of `dims` that every access in `strides` walks contiguously (and
/// drops unit axes); rewrites `strides` to match and returns the new dims. Never returns
/// an empty nest: a scalar loop is `[1]`.
pub fn collapse(dims: &[usize], strides: &mut [Vec<i64>]) -> Vec<usize> {
    let keep: Vec<usize> = (0..dims.len()).filter(|&d| dims[d] != 1).collect();
    let mut out_dims: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<i64>> = vec![Vec::new(); strides.len()];
    for &d in &keep {
        let mergeable = !out_dims.is_empty()
            && strides.iter().enumerate().all(|(k, s)| {
                let prev = *out_strides[k].last().unwrap_or(&0);
                prev == s[d].saturating_mul(dims[d] as i64)
            });
        if mergeable {
            if let Some(last) = out_dims.last_mut() {
                *last *= dims[d];
            }
            for (k, s) in strides.iter().enumerate() {
                if let Some(l) = out_strides[k].last_mut() {
                    *l = s[d];
                }
            }
        } else {
            out_dims.push(dims[d]);
            for (k, s) in strides.iter().enumerate() {
                out_strides[k].push(s[d]);
            }
        }
    }
    if out_dims.is_empty() {
        out_dims.push(1);
        out_strides.iter_mut().for_each(|s| s.push(0));
    }
    for (s, o) in strides.iter_mut().zip(out_strides) {
        *s = o;
    }
    out_dims
}

/// The body of a loop nest: called with the index of every axis.
pub type NestBody<'b, 'ctx> =
    dyn FnMut(&mut KernelCx<'_, 'ctx>, &[IntValue<'ctx>]) -> Result<(), CodegenError> + 'b;

/// Builds the loop nest over `dims` (outermost first) and calls `body` with the index of
/// every axis, innermost loop last.
pub fn nest<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    dims: &[usize],
    body: &mut NestBody<'_, 'ctx>,
) -> Result<(), CodegenError> {
    fn go<'ctx>(
        cx: &mut KernelCx<'_, 'ctx>,
        dims: &[usize],
        idx: &mut Vec<IntValue<'ctx>>,
        body: &mut NestBody<'_, 'ctx>,
    ) -> Result<(), CodegenError> {
        match dims.split_first() {
            None => body(cx, idx),
            Some((&n, rest)) => cx.for_n(n as u64, 1, |cx, i| {
                idx.push(i);
                let r = go(cx, rest, idx, body);
                idx.pop();
                r
            }),
        }
    }
    if dims.contains(&0) {
        return Ok(());
    }
    go(cx, dims, &mut Vec::with_capacity(dims.len()), body)
}

/// `base + Σ idx[d]·strides[d]` as an `i64` (constant terms folded).
pub fn offset<'ctx>(
    cx: &KernelCx<'_, 'ctx>,
    idx: &[IntValue<'ctx>],
    base: i64,
    strides: &[i64],
) -> Result<IntValue<'ctx>, CodegenError> {
    let mut acc = cx.i64s(base);
    for (&i, &s) in idx.iter().zip(strides) {
        let term = match s {
            0 => continue,
            1 => i,
            s => cx.builder.build_int_mul(i, cx.i64s(s), "t")?,
        };
        acc = cx.builder.build_int_add(acc, term, "o")?;
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_strides_are_zero_on_missing_and_unit_axes() {
        assert_eq!(broadcast_strides(&[64, 1, 1], &[1, 64, 56, 56]), vec![0, 1, 0, 0]);
        assert_eq!(broadcast_strides(&[3], &[2, 3]), vec![0, 1]);
        assert_eq!(dense_strides(&[2, 3, 4]), vec![12, 4, 1]);
    }

    #[test]
    fn collapse_merges_contiguous_axes_only() {
        let out = [1, 64, 56, 56];
        let mut s = vec![dense_strides(&out), broadcast_strides(&[64, 1, 1], &out)];
        let dims = collapse(&out, &mut s);
        assert_eq!(dims, vec![64, 3136]);
        assert_eq!(s, vec![vec![3136, 1], vec![1, 0]]);
        let mut t = vec![vec![1, 3]];
        assert_eq!(collapse(&[3, 4], &mut t), vec![3, 4], "a transpose does not merge");
        let mut u = vec![vec![0]];
        assert_eq!(collapse(&[1], &mut u), vec![1]);
    }
}
