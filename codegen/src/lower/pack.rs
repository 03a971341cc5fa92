//! Compile-time packing of constant matrix operands into the layouts the micro-kernel reads
//! (see `microkernel`).
//!
//! - [`pack_rows`]: the broadcast operand A (conv weights, one output channel per row) in
//!   blocks of `mr` rows, `k`-major inside a block: the `mr` scalars one `k` step broadcasts
//!   are adjacent, and the tile starting at row `i0` (a multiple of `mr`) starts at `i0·k`.
//! - [`pack_cols`]: the vector operand B (gemm/matmul weights) in panels of `nr` columns,
//!   `k`-major inside a panel: one `k` step loads `nr` adjacent floats, and the tile starting
//!   at column `j0` (a multiple of `nr`) starts at `j0·k`.
//!
//! Rows and columns past the matrix are zero, so tiles may read whole blocks. Pure functions
//! on slices; emitting the result as an LLVM constant is the caller's job.

/// Packs the row-major `m × k` matrix `a` (element `(i, p)` at `a[i·k + p]`) into blocks of
/// `mr` rows: element `(i, p)` goes to `(i / mr)·mr·k + p·mr + i % mr`. Returns
/// `ceil(m/mr)·mr·k` floats; `None` when `a` is shorter than `m·k` or `mr` is 0.
pub fn pack_rows(a: &[f32], m: usize, k: usize, mr: usize) -> Option<Vec<f32>> {
    if mr == 0 || a.len() < m.checked_mul(k)? {
        return None;
    }
    let blocks = m.div_ceil(mr);
    let mut out = vec![0.0f32; blocks * mr * k];
    for i in 0..m {
        let (blk, r) = (i / mr, i % mr);
        let base = blk * mr * k + r;
        for (p, &v) in a[i * k..(i + 1) * k].iter().enumerate() {
            out[base + p * mr] = v;
        }
    }
    Some(out)
}

/// Packs the `k × n` matrix B into panels of `nr` columns: element `(p, j)` goes to
/// `(j / nr)·nr·k + p·nr + j % nr`. `b` is row-major `k × n`, or row-major `n × k` (B
/// transposed) when `trans`. Returns `ceil(n/nr)·nr·k` floats; `None` when `b` is shorter than
/// `k·n` or `nr` is 0.
pub fn pack_cols(b: &[f32], k: usize, n: usize, nr: usize, trans: bool) -> Option<Vec<f32>> {
    if nr == 0 || b.len() < k.checked_mul(n)? {
        return None;
    }
    let panels = n.div_ceil(nr);
    let mut out = vec![0.0f32; panels * nr * k];
    for p in 0..k {
        for j in 0..n {
            let v = if trans { b[j * k + p] } else { b[p * n + j] };
            out[(j / nr) * nr * k + p * nr + j % nr] = v;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_blocked_k_major_and_zero_padded() {
        // 3 × 2 matrix, blocks of 2 rows.
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let p = pack_rows(&a, 3, 2, 2).expect("fits");
        assert_eq!(p, vec![1.0, 3.0, 2.0, 4.0, 5.0, 0.0, 6.0, 0.0]);
        assert!(pack_rows(&a, 4, 2, 2).is_none());
        assert!(pack_rows(&a, 3, 2, 0).is_none());
    }

    #[test]
    fn columns_are_paneled_k_major_and_zero_padded() {
        // 2 × 3 matrix, panels of 2 columns; the same matrix given transposed packs the same.
        let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let want = vec![1.0, 2.0, 4.0, 5.0, 3.0, 0.0, 6.0, 0.0];
        assert_eq!(pack_cols(&b, 2, 3, 2, false).expect("fits"), want);
        let bt = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        assert_eq!(pack_cols(&bt, 2, 3, 2, true).expect("fits"), want);
        assert!(pack_cols(&b, 3, 3, 2, false).is_none());
    }
}
