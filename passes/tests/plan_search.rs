//! The split search against exhaustive enumeration, and the invariants of every plan.
//!
//! Models here are random [`CostModel`]s (≤ 5 layers, 𝔹 = {2, 4, 8}, random DAG with skip
//! connections, latencies that fall with the bits, distortions that fall 4× per bit, memory
//! and distortion budgets that bind). The exhaustive enumerator below shares only the cost
//! function (`CostModel::evaluate`, `fits`, `within_budget`) with the search: it tries every
//! linear cut and every baseline cut with every weight and activation bit-width per edge layer.

use asplit_ir::graph::{Graph, ValueId};
use asplit_ir::types::{DType, TensorType};
use asplit_passes::plan::search::{
    baselines, candidate_cuts, plan_model, SearchOptions, ACT_BUDGETS,
};
use asplit_passes::plan::solution::{
    Assignment, BitsChoice, CostModel, InputCost, LayerCost, SolutionKind, SplitChoice, ValueCost,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// Fresh value ids (the model needs ids only to name crossing values).
fn ids(count: usize) -> Vec<ValueId> {
    let mut g = Graph::new("ids");
    (0..count).map(|_| g.add_input(None, TensorType::new(DType::F32, vec![1]))).collect()
}

/// A random layer model with `n` layers over `bits`.
fn random_model(rng: &mut Rng, n: usize, bits: &[u8]) -> CostModel {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (l, p) in preds.iter_mut().enumerate().skip(1) {
        p.push(l - 1);
        for e in 0..l - 1 {
            if rng.next().is_multiple_of(4) {
                p.push(e);
            }
        }
        p.sort_unstable();
    }
    let input_elems = rng.range(1500, 4000);
    let mut layers = Vec::new();
    for _ in 0..n {
        let has_w = !rng.next().is_multiple_of(5);
        let base = 0.002 + rng.unit() * 0.01;
        let mut edge_q = [[0.0; 9]; 9];
        for &w in bits {
            for &a in bits {
                let jitter = 1.0 + 0.05 * rng.unit();
                edge_q[w as usize][a as usize] =
                    base * (0.4 + 0.05 * f64::from(w) + 0.03 * f64::from(a)) * jitter;
            }
        }
        let (cw, ca) = (rng.unit() * 0.2, rng.unit() * 0.2);
        let mut dw = [0.0; 9];
        let mut da = [0.0; 9];
        for &b in bits {
            let f = 4f64.powi(-i32::from(b)) * 16.0;
            dw[b as usize] = if has_w { cw * f * (1.0 + 0.1 * rng.unit()) } else { 0.0 };
            da[b as usize] = ca * f * (1.0 + 0.1 * rng.unit());
        }
        layers.push(LayerCost {
            weight_elems: if has_w { rng.range(200, 6000) } else { 0 },
            bias_elems: if has_w { rng.range(0, 64) } else { 0 },
            output_elems: rng.range(200, 5000),
            edge_q,
            edge_f32: base * 2.5,
            cloud: base * (0.05 + 0.2 * rng.unit()),
            dw,
            da,
        });
    }
    let id = ids(n);
    let mut values = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        let readers: Vec<usize> = (0..n).filter(|&r| preds[r].contains(&l)).collect();
        let is_output = l == n - 1;
        values.push(ValueCost {
            id: id[l],
            producer: l,
            readers,
            is_output,
            elems: layer.output_elems,
            rank: 4,
            raw_bits: None,
        });
    }
    let mut input_readers = vec![0];
    if n > 2 && rng.next().is_multiple_of(3) {
        input_readers.push(2);
    }
    CostModel {
        layers,
        preds,
        values,
        inputs: vec![InputCost {
            readers: input_readers,
            elems: input_elems,
            rank: 4,
            raw_bits: None,
        }],
        bits: bits.to_vec(),
        bandwidth_bps: 1e5 + rng.unit() * 2e6,
        rtt_s: rng.unit() * 0.02,
        edge_memory_bytes: rng.range(5000, 25000),
        input_bits: 8,
        max_distortion: Some(0.002 + rng.unit() * 0.05),
    }
}

fn options() -> SearchOptions {
    SearchOptions {
        act_budgets: ACT_BUDGETS.to_vec(),
        split: SplitChoice::Auto,
        bits: BitsChoice::Auto,
        edge_profile: "test-edge".into(),
        cloud_profile: "test-cloud".into(),
    }
}

/// Every assignment of `bits` to the edge layers of `on_edge` (weights only where there are).
fn for_each_assignment(model: &CostModel, on_edge: &[bool], f: &mut impl FnMut(&Assignment)) {
    let n = model.len();
    // One slot per (layer, weights | activations) that takes a bit-width.
    let mut slots: Vec<(usize, bool)> = Vec::new();
    for l in (0..n).filter(|&l| on_edge[l]) {
        if model.layers[l].weight_elems > 0 {
            slots.push((l, true));
        }
        slots.push((l, false));
    }
    let k = model.bits.len();
    let total = k.pow(slots.len() as u32);
    let mut a = Assignment::cloud_only(n);
    a.on_edge = on_edge.to_vec();
    for code in 0..total {
        let mut c = code;
        for &(l, is_w) in &slots {
            let b = model.bits[c % k];
            c /= k;
            if is_w {
                a.wbits[l] = Some(b);
            } else {
                a.abits[l] = Some(b);
            }
        }
        f(&a);
    }
}

/// The exhaustive optimum (total latency) over `cuts`, or `None` when nothing is feasible.
fn exhaustive(model: &CostModel, cuts: &[Vec<bool>]) -> Option<f64> {
    let mut best: Option<f64> = None;
    for cut in cuts {
        for_each_assignment(model, cut, &mut |a| {
            let p = model.evaluate(a);
            if model.fits(&p) && model.within_budget(p.distortion) {
                best = Some(best.map_or(p.latency.total, |b: f64| b.min(p.latency.total)));
            }
        });
    }
    best
}

/// Linear cuts 0..=N and the baselines' cuts (the search's split space).
fn split_space(model: &CostModel) -> Vec<Vec<bool>> {
    let n = model.len();
    let mut cuts: Vec<Vec<bool>> = (0..=n).map(|s| (0..n).map(|l| l < s).collect()).collect();
    for s in baselines(model) {
        let mask: Vec<bool> = (0..n).map(|l| s.edge_layers.contains(&l)).collect();
        if !cuts.contains(&mask) {
            cuts.push(mask);
        }
    }
    cuts
}

#[test]
fn chosen_equals_exhaustive_optimum() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut compared = 0;
    let mut non_trivial = 0;
    for case in 0..16 {
        let n = 3 + case % 3;
        let model = random_model(&mut rng, n, &[2, 4, 8]);
        let best = exhaustive(&model, &split_space(&model));
        let plan = plan_model(&model, &options());
        match (best, plan) {
            (None, Err(_)) => {}
            (Some(best), Ok(plan)) => {
                assert!(
                    plan.warnings.iter().all(|w| !w.contains("exact bit search stopped")),
                    "case {case}: {:?}",
                    plan.warnings
                );
                let got = plan.solutions[0].latency.total;
                assert!(
                    (got - best).abs() <= 1e-9 * best,
                    "case {case}: chosen {got} vs exhaustive {best}"
                );
                compared += 1;
                if plan.solutions[0].edge_layers.len() > 1 {
                    non_trivial += 1;
                }
            }
            (best, plan) => panic!("case {case}: exhaustive {best:?} vs plan {:?}", plan.err()),
        }
    }
    assert!(compared >= 10, "only {compared} cases had a feasible solution");
    assert!(non_trivial >= 3, "only {non_trivial} chosen solutions run layers on the edge");
}

#[test]
fn every_auto_split_solution_fits_and_sends_at_most_t0() {
    let mut rng = Rng(0x0bad_cafe_f00d_d00d);
    for case in 0..40 {
        let n = 2 + case % 7;
        let mut model = random_model(&mut rng, n, &[2, 3, 4, 5, 6, 7, 8]);
        if case % 2 == 0 {
            model.max_distortion = None;
        }
        let Ok(plan) = plan_model(&model, &options()) else { continue };
        let t0 = model.t0_bytes();
        assert_eq!(plan.constraints.t0_bytes, t0);
        for s in plan.solutions.iter().filter(|s| s.kind == SolutionKind::AutoSplit) {
            assert!(s.transmit_bytes <= t0, "case {case}: {} > T_0 = {t0}", s.transmit_bytes);
            assert!(s.edge_memory_bytes <= model.edge_memory_bytes, "case {case}");
        }
        let chosen = &plan.solutions[plan.chosen];
        assert_eq!(plan.chosen, 0);
        assert!(chosen.within_budget);
        for s in plan.solutions.iter().filter(|s| s.kind == SolutionKind::AutoSplit) {
            if s.within_budget {
                assert!(chosen.latency.total <= s.latency.total, "case {case}: not the lowest");
            }
        }
    }
}

#[test]
fn baselines_are_present_and_never_beat_the_chosen_solution() {
    let mut rng = Rng(0x5eed_0000_0000_0001);
    let mut checked = 0;
    for case in 0..40 {
        let n = 2 + case % 6;
        let mut model = random_model(&mut rng, n, &[2, 4, 8]);
        model.max_distortion = None;
        let plan = plan_model(&model, &options()).unwrap_or_else(|e| panic!("case {case}: {e}"));
        let kinds: Vec<SolutionKind> =
            plan.solutions.iter().filter(|s| s.kind.is_baseline()).map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            vec![
                SolutionKind::CloudOnly,
                SolutionKind::EdgeOnlyU8,
                SolutionKind::Neurosurgeon,
                SolutionKind::Qdmp
            ]
        );
        let chosen = plan.solutions[plan.chosen].latency.total;
        for b in plan.solutions.iter().filter(|s| s.kind.is_baseline() && s.feasible) {
            assert!(
                chosen <= b.latency.total * (1.0 + 1e-12),
                "case {case}: {} {} < chosen {chosen}",
                b.kind.name(),
                b.latency.total
            );
            checked += 1;
        }
        assert!(plan.warnings.is_empty(), "case {case}: {:?}", plan.warnings);
    }
    assert!(checked > 40);
}

#[test]
fn cloud_only_baseline_is_the_raw_input() {
    let mut rng = Rng(77);
    let model = random_model(&mut rng, 4, &[2, 4, 8]);
    let plan = plan_model(&model, &options()).unwrap();
    let c = plan.solutions.iter().find(|s| s.kind == SolutionKind::CloudOnly).unwrap();
    assert_eq!(c.transmit_bytes, model.t0_bytes());
    assert!(c.edge_layers.is_empty());
    let cloud: f64 = model.layers.iter().map(|l| l.cloud).sum();
    let header = c.header_bytes as f64;
    let tx = (model.t0_bytes() as f64 + header) * 8.0 / model.bandwidth_bps + model.rtt_s;
    assert!((c.latency.total - (cloud + tx)).abs() < 1e-12);
    assert_eq!(c.distortion, 0.0);
}

#[test]
fn candidate_filter_rejects_only_hopeless_cuts() {
    // A cut the filter drops has no feasible assignment at all.
    let mut rng = Rng(4242);
    for _ in 0..10 {
        let model = random_model(&mut rng, 4, &[2, 4, 8]);
        let kept = candidate_cuts(&model, &[]);
        for s in 0..=4 {
            let cut: Vec<bool> = (0..4).map(|l| l < s).collect();
            if kept.contains(&cut) {
                continue;
            }
            let mut any = false;
            for_each_assignment(&model, &cut, &mut |a| any |= model.fits(&model.evaluate(a)));
            assert!(!any, "cut {s} was rejected but has a feasible assignment");
        }
    }
}

#[test]
fn forced_split_and_bits() {
    let mut rng = Rng(99);
    let mut model = random_model(&mut rng, 5, &[2, 4, 8]);
    model.edge_memory_bytes = 1 << 30;
    let mut opts = options();
    opts.split = SplitChoice::Layer(3);
    opts.bits = BitsChoice::Uniform(4);
    let plan = plan_model(&model, &opts).unwrap();
    let f = &plan.solutions[plan.chosen];
    assert_eq!(f.kind, SolutionKind::Forced);
    assert_eq!(f.edge_layers, vec![0, 1, 2]);
    assert!(f.act_bits[..3].iter().all(|&b| b == Some(4)));
    assert!(f.act_bits[3..].iter().all(|b| b.is_none()));
    opts.split = SplitChoice::Layer(9);
    assert!(plan_model(&model, &opts).is_err());
    opts.split = SplitChoice::EdgeOnly;
    opts.bits = BitsChoice::F32;
    let plan = plan_model(&model, &opts).unwrap();
    let f = &plan.solutions[plan.chosen];
    assert_eq!(f.edge_layers.len(), 5);
    assert_eq!(f.distortion, 0.0);
    assert_eq!(f.transmit_bytes, 0);
}
