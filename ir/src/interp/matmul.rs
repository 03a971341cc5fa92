//! Gemm and MatMul kernels, and the bounds-checked wrapper around `matrixmultiply`'s GEMM
//! that every matrix product of the interpreter (Conv and ConvTranspose too) goes through.
//!
//! f32 and f64 (f16 through f32). Integer matrix products are not supported.

use super::common::{
    broadcast_index, broadcast_shapes, elems, expect_shape, input, invalid, make, numel, opt_input,
    real_dtype, via_cast, KResult, Real,
};
use super::{EvalCx, InterpError};
use crate::types::DType;

/// True when a `rows × cols` matrix with strides `(rs, cs)` stays inside `len` elements.
fn fits(rows: usize, cols: usize, (rs, cs): (usize, usize), len: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
    matches!(last, Some(l) if l < len && l <= isize::MAX as usize)
}

/// True when no two elements of an `m × n` matrix with strides `(rs, cs)` share an address.
fn no_alias(m: usize, n: usize, (rs, cs): (usize, usize)) -> bool {
    match (m > 1, n > 1) {
        (false, false) => true,
        (true, false) => rs >= 1,
        (false, true) => cs >= 1,
        (true, true) => {
            (cs >= 1 && rs >= n.saturating_mul(cs)) || (rs >= 1 && cs >= m.saturating_mul(rs))
        }
    }
}

/// `C ← β·C` for `k = 0` (an empty sum); β = 0 overwrites.
fn scale_c<T: Real>(m: usize, n: usize, beta: T, c: &mut [T], (rs, cs): (usize, usize)) {
    for i in 0..m {
        for j in 0..n {
            if let Some(x) = c.get_mut(i * rs + j * cs) {
                *x = if beta.is_zero() { T::ZERO } else { beta * *x };
            }
        }
    }
}

macro_rules! gemm_raw_fn {
    ($name:ident, $t:ty, $gemm:path) => {
        /// `C ← α·A·B + β·C` (A is m×k, B k×n, C m×n, each with row/column strides) through
        /// `matrixmultiply`. Returns false, computing nothing, when a matrix would reach
        /// outside its slice or C's elements would alias; β = 0 overwrites C.
        #[allow(unsafe_code, clippy::too_many_arguments)]
        pub fn $name(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: &[$t],
            sa: (usize, usize),
            b: &[$t],
            sb: (usize, usize),
            beta: $t,
            c: &mut [$t],
            sc: (usize, usize),
        ) -> bool {
            let ok = fits(m, k, sa, a.len())
                && fits(k, n, sb, b.len())
                && fits(m, n, sc, c.len())
                && no_alias(m, n, sc);
            if !ok {
                return false;
            }
            if m == 0 || n == 0 {
                return true;
            }
            if k == 0 {
                scale_c(m, n, beta, c, sc);
                return true;
            }
            // SAFETY: `fits` checked that every element A, B and C address lies inside its
            // slice (and that the strides fit in isize), `no_alias` that C's elements are
            // distinct, and `c` is borrowed mutably so nothing else aliases it.
            unsafe {
                $gemm(
                    m,
                    k,
                    n,
                    alpha,
                    a.as_ptr(),
                    sa.0 as isize,
                    sa.1 as isize,
                    b.as_ptr(),
                    sb.0 as isize,
                    sb.1 as isize,
                    beta,
                    c.as_mut_ptr(),
                    sc.0 as isize,
                    sc.1 as isize,
                );
            }
            true
        }
    };
}
gemm_raw_fn!(sgemm_raw, f32, matrixmultiply::sgemm);
gemm_raw_fn!(dgemm_raw, f64, matrixmultiply::dgemm);

/// [`Real::gemm_raw`] with an interpreter error instead of `false`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_strided<T: Real>(
    cx: &EvalCx,
    (m, k, n): (usize, usize, usize),
    alpha: T,
    a: &[T],
    sa: (usize, usize),
    b: &[T],
    sb: (usize, usize),
    beta: T,
    c: &mut [T],
    sc: (usize, usize),
) -> Result<(), InterpError> {
    if T::gemm_raw(m, k, n, alpha, a, sa, b, sb, beta, c, sc) {
        Ok(())
    } else {
        Err(invalid(cx, format!("matrix product {m}x{k}x{n} does not fit its operands")))
    }
}

/// ONNX Gemm: `alpha·op(a)·op(b) + beta·c`, `c` broadcast to the m×n result.
pub fn gemm(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), gemm_t)
}

fn gemm_t<T: Real>(cx: &EvalCx) -> KResult {
    let (at, bt) = (input(cx, 0)?, input(cx, 1)?);
    let (a, b) = (elems::<T>(cx, 0)?, elems::<T>(cx, 1)?);
    let (&[a0, a1], &[b0, b1]) = (at.shape(), bt.shape()) else {
        return Err(invalid(cx, "gemm operands must be 2-d"));
    };
    let trans_a = cx.attrs.int("trans_a")? != 0;
    let trans_b = cx.attrs.int("trans_b")? != 0;
    let alpha = T::from_f64(cx.attrs.float("alpha")? as f64);
    let beta = T::from_f64(cx.attrs.float("beta")? as f64);
    let (m, k, sa) = if trans_a { (a1, a0, (1, a1)) } else { (a0, a1, (a1, 1)) };
    let (kb, n, sb) = if trans_b { (b1, b0, (1, b1)) } else { (b0, b1, (b1, 1)) };
    if k != kb {
        return Err(invalid(cx, format!("inner dimensions differ: {k} vs {kb}")));
    }
    expect_shape(cx, 0, &[m, n])?;
    // y = beta·c first (as numpy does: NaN·0 stays NaN), then y += alpha·a·b.
    let (mut y, acc) = match opt_input(cx, 2) {
        Some(ct) => {
            let c = elems::<T>(cx, 2)?;
            let idx = broadcast_index(cx, &[m, n], ct.shape())?;
            (idx.into_iter().map(|i| beta * c[i]).collect(), T::ONE)
        }
        None => (vec![T::ZERO; m * n], T::ZERO),
    };
    gemm_strided(cx, (m, k, n), alpha, a, sa, b, sb, acc, &mut y, (n, 1))?;
    Ok(vec![make(cx, vec![m, n], T::wrap(y))?])
}

/// `gemm` with `exact_bound` (alpha = 1, no `c`, no activation; integer operands): the exact
/// sums, in f64, rounded once to f32, as [`super::conv::conv_exact`].
pub fn gemm_exact(cx: &EvalCx) -> KResult {
    let a = input(cx, 0)?;
    let trans_a = cx.attrs.int("trans_a")? != 0;
    let k = match a.shape() {
        [a0, a1] => {
            if trans_a {
                *a0
            } else {
                *a1
            }
        }
        _ => return Err(invalid(cx, "gemm operands must be 2-d")),
    };
    super::conv::check_exact(cx, k)?;
    via_cast(cx, DType::F32, DType::F64, gemm)
}

/// numpy matmul: batched over leading dims with broadcasting; a 1-d `a` is a row vector,
/// a 1-d `b` a column vector, and the promoted dims are removed from the result.
pub fn matmul(cx: &EvalCx) -> KResult {
    real_dtype!(cx, input(cx, 0)?.dtype(), matmul_t)
}

fn matmul_t<T: Real>(cx: &EvalCx) -> KResult {
    let (at, bt) = (input(cx, 0)?, input(cx, 1)?);
    let (a, b) = (elems::<T>(cx, 0)?, elems::<T>(cx, 1)?);
    if at.shape().is_empty() || bt.shape().is_empty() {
        return Err(invalid(cx, "matmul operands must have rank ≥ 1"));
    }
    let a_vec = at.shape().len() == 1;
    let b_vec = bt.shape().len() == 1;
    let ash: Vec<usize> = if a_vec { [&[1], at.shape()].concat() } else { at.shape().to_vec() };
    let bsh: Vec<usize> = if b_vec { [bt.shape(), &[1]].concat() } else { bt.shape().to_vec() };
    let (ra, rb) = (ash.len(), bsh.len());
    let (m, k, kb, n) = (ash[ra - 2], ash[ra - 1], bsh[rb - 2], bsh[rb - 1]);
    if k != kb {
        return Err(invalid(cx, format!("inner dimensions differ: {k} vs {kb}")));
    }
    let (a_batch, b_batch) = (&ash[..ra - 2], &bsh[..rb - 2]);
    let batch = broadcast_shapes(cx, a_batch, b_batch)?;
    let mut shape = batch.clone();
    if !a_vec {
        shape.push(m);
    }
    if !b_vec {
        shape.push(n);
    }
    expect_shape(cx, 0, &shape)?;
    let nb = numel(&batch);
    let mut y = vec![T::ZERO; nb * m * n];
    if numel(b_batch) == 1 && numel(a_batch) == nb {
        // Shared right operand: one product with the batch folded into the rows.
        gemm_strided(cx, (nb * m, k, n), T::ONE, a, (k, 1), b, (n, 1), T::ZERO, &mut y, (n, 1))?;
    } else {
        let ia = broadcast_index(cx, &batch, a_batch)?;
        let ib = broadcast_index(cx, &batch, b_batch)?;
        for (bi, (&i, &j)) in ia.iter().zip(&ib).enumerate() {
            let (sa, sb, sy) = (i * m * k, j * k * n, bi * m * n);
            let (Some(ab), Some(bb), Some(yb)) = (a.get(sa..), b.get(sb..), y.get_mut(sy..)) else {
                return Err(invalid(cx, "batch offset out of range"));
            };
            gemm_strided(cx, (m, k, n), T::ONE, ab, (k, 1), bb, (n, 1), T::ZERO, yb, (n, 1))?;
        }
    }
    Ok(vec![make(cx, shape, T::wrap(y))?])
}

#[cfg(test)]
mod tests {
    use super::super::common::testutil::*;
    use crate::attr::Attr;
    use crate::ops::OpKind;
    use crate::tensor::{Tensor, TensorData};
    use crate::types::{DType, TensorType};

    /// Row-major `a (m×k) · b (k×n)` by the definition.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut y = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                y[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        y
    }

    fn transpose2(v: &[f32], r: usize, c: usize) -> Vec<f32> {
        (0..c).flat_map(|j| (0..r).map(move |i| v[i * c + j])).collect()
    }

    #[test]
    fn gemm_honours_transposes_alpha_beta_and_broadcast_c() {
        let (m, k, n) = (3, 4, 5);
        let a = rand(&[k, m], 1); // stored transposed
        let b = rand(&[n, k], 2); // stored transposed
        let c = rand(&[n], 3); // broadcast along rows
        let at = attrs(&[
            ("alpha", Attr::Float(0.5)),
            ("beta", Attr::Float(2.0)),
            ("trans_a", Attr::Int(1)),
            ("trans_b", Attr::Int(1)),
        ]);
        let y = run1(OpKind::Gemm, &at, &[&a, &b, &c], DType::F32, &[m, n]);
        let ab = naive(&transpose2(&vals(&a), k, m), &transpose2(&vals(&b), n, k), m, k, n);
        let cv = vals(&c);
        let want: Vec<f32> =
            ab.iter().enumerate().map(|(i, v)| 0.5 * v + 2.0 * cv[i % n]).collect();
        assert_close(&vals(&y), &want, 1e-5);
    }

    #[test]
    fn gemm_without_c_and_in_f64() {
        let a = Tensor::new(vec![2, 2], TensorData::F64(vec![1.0, 2.0, 3.0, 4.0])).unwrap();
        let b = Tensor::new(vec![2, 1], TensorData::F64(vec![1.0, -1.0])).unwrap();
        let at = attrs(&[
            ("alpha", Attr::Float(1.0)),
            ("beta", Attr::Float(1.0)),
            ("trans_a", Attr::Int(0)),
            ("trans_b", Attr::Int(0)),
        ]);
        let y = run1(OpKind::Gemm, &at, &[&a, &b], DType::F64, &[2, 1]);
        assert_eq!(y.data(), &TensorData::F64(vec![-1.0, -1.0]));
    }

    #[test]
    fn matmul_broadcasts_batches() {
        let a = rand(&[2, 1, 3, 4], 4);
        let b = rand(&[3, 4, 2], 5);
        let y = run1(OpKind::MatMul, &attrs(&[]), &[&a, &b], DType::F32, &[2, 3, 3, 2]);
        let (av, bv) = (vals(&a), vals(&b));
        let mut want = Vec::new();
        for i in 0..2 {
            for j in 0..3 {
                want.extend(naive(&av[i * 12..(i + 1) * 12], &bv[j * 8..(j + 1) * 8], 3, 4, 2));
            }
        }
        assert_close(&vals(&y), &want, 1e-5);
    }

    #[test]
    fn matmul_shared_weights_and_vector_promotion() {
        let a = rand(&[2, 3, 4], 6);
        let w = rand(&[4, 5], 7);
        let y = run1(OpKind::MatMul, &attrs(&[]), &[&a, &w], DType::F32, &[2, 3, 5]);
        assert_close(&vals(&y), &naive(&vals(&a), &vals(&w), 6, 4, 5), 1e-5);
        let v = f32t(&[4], &[1.0, 0.0, 0.0, 0.0]);
        let y = run1(OpKind::MatMul, &attrs(&[]), &[&v, &w], DType::F32, &[5]);
        assert_close(&vals(&y), &vals(&w)[..5], 0.0);
        let y = run1(OpKind::MatMul, &attrs(&[]), &[&a, &v], DType::F32, &[2, 3]);
        let col0: Vec<f32> = vals(&a).chunks(4).map(|r| r[0]).collect();
        assert_close(&vals(&y), &col0, 0.0);
        let dot = run1(OpKind::MatMul, &attrs(&[]), &[&v, &v], DType::F32, &[]);
        assert_eq!(vals(&dot), vec![1.0]);
    }

    #[test]
    fn matmul_with_empty_inner_dim_is_zero() {
        let a = f32t(&[2, 0], &[]);
        let b = f32t(&[0, 3], &[]);
        let y = run1(OpKind::MatMul, &attrs(&[]), &[&a, &b], DType::F32, &[2, 3]);
        assert_eq!(vals(&y), vec![0.0; 6]);
    }

    #[test]
    fn matmul_rejects_mismatched_inner_dims() {
        let (a, b) = (rand(&[2, 3], 1), rand(&[4, 2], 2));
        let outs = [TensorType::new(DType::F32, [2, 2])];
        let err = try_run(OpKind::MatMul, &attrs(&[]), &[&a, &b], &outs).unwrap_err();
        assert!(err.to_string().contains("inner dimensions"), "{err}");
    }

    #[test]
    fn raw_gemm_refuses_out_of_bounds_strides() {
        let a = [1.0f32; 4];
        let mut c = [0.0f32; 4];
        assert!(!super::sgemm_raw(2, 2, 2, 1.0, &a, (3, 1), &a, (2, 1), 0.0, &mut c, (2, 1)));
        assert!(!super::sgemm_raw(2, 2, 2, 1.0, &a, (2, 1), &a, (2, 1), 0.0, &mut c, (0, 1)));
        assert!(super::sgemm_raw(2, 2, 2, 1.0, &a, (2, 1), &a, (2, 1), 0.0, &mut c, (2, 1)));
        assert_eq!(c, [2.0; 4]);
    }
}
