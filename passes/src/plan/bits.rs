//! Bit allocation by the decoupled Lagrangian λ-sweep (Shoham–Gersho 1988; AUTOSPLIT.md
//! §2.3), and the free raising of edge activation bits under the activation peak.
//!
//! For a multiplier λ ≥ 0 every item (a layer's weights, or a layer's activations) picks
//! `argmin_b D(b) + λ·size·b` on its own, ties to fewer bits. The memory `R(λ) = Σ size·b(λ)`
//! does not increase with λ and only changes at the convex-hull slopes
//! `(D(b₁) − D(b₂)) / (size·(b₂ − b₁))`, so the sweep collects those slopes and bisects over
//! them (at most ⌈log₂(#slopes)⌉ + 1 evaluations) for the smallest λ with `R(λ) ≤ budget`:
//! the least-distortion allocation on the lower convex hull that meets the budget.
//!
//! This file knows nothing about graphs or latency: items are sizes and distortion tables.

/// One item of the allocation: `size` elements, distortion `dist[b]` at `b` bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Item {
    /// Elements (the memory of bit-width b is `size·b` bits).
    pub size: u64,
    /// Distortion at bits 0..=8 (only the searched bit-widths are read).
    pub dist: [f64; 9],
}

/// The result of a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// Bits per item.
    pub bits: Vec<u8>,
    /// The multiplier that produced them.
    pub lambda: f64,
    /// Σ size·bits.
    pub used_bits: u64,
}

/// Relative nudge above a breakpoint, so that at a candidate λ the tie it creates is
/// resolved towards fewer bits even after rounding.
const NUDGE: f64 = 1e-9;

fn dist_at(item: &Item, b: u8) -> f64 {
    item.dist.get(usize::from(b)).copied().unwrap_or(0.0)
}

/// The bits `item` picks at multiplier `lambda` (ties to fewer bits; `bits` ascending).
pub fn pick(item: &Item, bits: &[u8], lambda: f64) -> u8 {
    let mut best_b = bits.first().copied().unwrap_or(8);
    let mut best = f64::INFINITY;
    for &b in bits {
        let cost = dist_at(item, b) + lambda * item.size as f64 * f64::from(b);
        if cost < best {
            best = cost;
            best_b = b;
        }
    }
    best_b
}

/// Bits of every item at `lambda`, and Σ size·bits.
pub fn allocate_at(items: &[Item], bits: &[u8], lambda: f64) -> (Vec<u8>, u64) {
    let picks: Vec<u8> = items.iter().map(|it| pick(it, bits, lambda)).collect();
    let used = items.iter().zip(&picks).map(|(it, &b)| it.size * u64::from(b)).sum();
    (picks, used)
}

/// Every λ at which some item changes its choice, nudged just above, ascending, with 0 first.
fn breakpoints(items: &[Item], bits: &[u8]) -> Vec<f64> {
    let mut out = vec![0.0];
    for it in items.iter().filter(|it| it.size > 0) {
        for (i, &b1) in bits.iter().enumerate() {
            for &b2 in &bits[i + 1..] {
                let slope =
                    (dist_at(it, b1) - dist_at(it, b2)) / (it.size as f64 * f64::from(b2 - b1));
                if slope.is_finite() && slope > 0.0 {
                    out.push(slope * (1.0 + NUDGE));
                }
            }
        }
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    out
}

/// The least-distortion hull allocation with Σ size·bits ≤ `budget_bits`, or `None` when even
/// the smallest bit-width everywhere does not fit.
pub fn lambda_sweep(items: &[Item], bits: &[u8], budget_bits: f64) -> Option<Allocation> {
    let lambdas = breakpoints(items, bits);
    let fits = |l: f64| {
        let (b, used) = allocate_at(items, bits, l);
        (used as f64 <= budget_bits).then_some((b, used))
    };
    // R is non-increasing in λ: find the first breakpoint index that fits.
    let last = *lambdas.last()?;
    fits(last)?;
    let (mut lo, mut hi) = (0usize, lambdas.len() - 1);
    if let Some((b, used)) = fits(lambdas[0]) {
        return Some(Allocation { bits: b, lambda: lambdas[0], used_bits: used });
    }
    // Invariant: lambdas[lo] does not fit, lambdas[hi] fits.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(lambdas[mid]).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let (b, used) = fits(lambdas[hi])?;
    Some(Allocation { bits: b, lambda: lambdas[hi], used_bits: used })
}

/// Like [`lambda_sweep`], but when the budget cannot be met every item takes the smallest
/// bit-width (an activation average-bit budget is a target, not a constraint: memory is
/// checked on the priced solution).
pub fn lambda_sweep_or_min(items: &[Item], bits: &[u8], budget_bits: f64) -> Allocation {
    lambda_sweep(items, bits, budget_bits).unwrap_or_else(|| {
        let b = bits.first().copied().unwrap_or(2);
        let used = items.iter().map(|it| it.size * u64::from(b)).sum();
        Allocation { bits: vec![b; items.len()], lambda: f64::INFINITY, used_bits: used }
    })
}

/// `maximize_act_bits`: raises every activation whose index is not `fixed` to the largest
/// bit-width whose buffer (⌈elems·b/8⌉ bytes) still fits `peak_bytes`; lowers none. Peak
/// memory is unchanged, so the lower distortion is free. Transmitted tensors are `fixed`.
pub fn maximize_act_bits(
    output_elems: &[u64],
    abits: &mut [Option<u8>],
    fixed: &[bool],
    bits: &[u8],
    peak_bytes: u64,
) {
    for (l, slot) in abits.iter_mut().enumerate() {
        let Some(cur) = *slot else { continue };
        if fixed.get(l).copied().unwrap_or(true) {
            continue;
        }
        let elems = output_elems.get(l).copied().unwrap_or(0);
        let best = bits
            .iter()
            .copied()
            .filter(|&b| b >= cur && super::solution::packed_bytes(elems, b) <= peak_bytes)
            .max();
        if let Some(b) = best {
            *slot = Some(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(size: u64, d: &[(u8, f64)]) -> Item {
        let mut dist = [0.0; 9];
        for &(b, v) in d {
            dist[usize::from(b)] = v;
        }
        Item { size, dist }
    }

    fn convex(size: u64, scale: f64) -> Item {
        // Quantization noise falls by 4× per bit.
        item(size, &[(2, scale), (4, scale / 16.0), (8, scale / 4096.0)])
    }

    #[test]
    fn sweep_meets_every_budget_and_uses_it() {
        let items = [convex(100, 1.0), convex(1000, 0.5), convex(10, 3.0), convex(400, 0.01)];
        let bits = [2, 4, 8];
        let total: u64 = items.iter().map(|i| i.size).sum();
        for avg in [2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.9, 8.0] {
            let budget = avg * total as f64;
            let a = lambda_sweep(&items, &bits, budget).expect("2 bits always fit");
            assert!(a.used_bits as f64 <= budget, "avg {avg}: used {} > {budget}", a.used_bits);
            let (b, used) = allocate_at(&items, &bits, a.lambda);
            assert_eq!((b, used), (a.bits.clone(), a.used_bits));
        }
        let all8 = lambda_sweep(&items, &bits, 8.0 * total as f64).unwrap();
        assert_eq!(all8.bits, vec![8; 4], "a budget of 8 average bits leaves every item at 8");
        assert!(lambda_sweep(&items, &bits, 2.0 * total as f64 - 1.0).is_none());
    }

    #[test]
    fn sweep_is_the_least_distortion_hull_point() {
        // Exhaustive check on random convex tables: no allocation within the budget on the
        // hull (any λ) has less distortion than the sweep's.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 1000) as f64 / 1000.0 + 0.001
        };
        let bits = [2, 4, 8];
        for _ in 0..50 {
            let items: Vec<Item> =
                (0..5).map(|_| convex((rnd() * 500.0) as u64 + 1, rnd())).collect();
            let total: u64 = items.iter().map(|i| i.size).sum();
            let budget = (2.0 + rnd() * 6.0) * total as f64;
            let a = lambda_sweep(&items, &bits, budget).unwrap();
            let d = |b: &[u8]| items.iter().zip(b).map(|(it, &x)| dist_at(it, x)).sum::<f64>();
            for l in breakpoints(&items, &bits) {
                let (b, used) = allocate_at(&items, &bits, l);
                if used as f64 <= budget {
                    assert!(d(&a.bits) <= d(&b) + 1e-15);
                }
            }
        }
    }

    #[test]
    fn ties_go_to_fewer_bits() {
        let flat = item(10, &[(2, 0.5), (4, 0.5), (8, 0.5)]);
        assert_eq!(pick(&flat, &[2, 4, 8], 0.0), 2);
        let a = lambda_sweep(&[flat], &[2, 4, 8], 1000.0).unwrap();
        assert_eq!(a.bits, vec![2]);
    }

    #[test]
    fn maximize_raises_to_the_peak_and_keeps_fixed() {
        let elems = [100, 400, 100, 50];
        let mut ab = [Some(2), Some(4), Some(2), None];
        let fixed = [false, false, true, false];
        maximize_act_bits(&elems, &mut ab, &fixed, &[2, 4, 6, 8], 200);
        // 400 elems at 4 bits = 200 B is the peak; 100 elems fit 8 bits (100 B).
        assert_eq!(ab, [Some(8), Some(4), Some(2), None]);
    }
}
