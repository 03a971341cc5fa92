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

/// The exhaustive optimum (total latency) over every assignment of `cuts` and the baselines
/// (which the planner may choose too), or `None` when nothing is feasible.
fn exhaustive(model: &CostModel, cuts: &[Vec<bool>]) -> Option<f64> {
    let mut best: Option<f64> = baselines(model)
        .iter()
        .filter(|b| b.feasible && model.within_budget(b.distortion))
        .map(|b| b.latency.total)
        .reduce(f64::min);
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
fn every_auto_split_solution_fits_and_sends_less_than_t0() {
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
            assert!(s.transmit_bytes < t0, "case {case}: {} ≥ T_0 = {t0}", s.transmit_bytes);
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
        let mut kinds: Vec<SolutionKind> =
            plan.solutions.iter().filter(|s| s.kind.is_baseline()).map(|s| s.kind).collect();
        kinds.sort_by_key(|k| k.name());
        assert_eq!(
            kinds,
            vec![
                SolutionKind::CloudOnly,
                SolutionKind::EdgeOnlyU8,
                SolutionKind::Neurosurgeon,
                SolutionKind::Qdmp
            ],
            "sorted by name"
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
        let chosen_is_baseline = plan.solutions[0].kind.is_baseline();
        let expected_warnings = usize::from(chosen_is_baseline);
        assert_eq!(plan.warnings.len(), expected_warnings, "case {case}: {:?}", plan.warnings);
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

/// (weight elems, output elems, MACs, preds) of ResNet-50's fused layers at 224×224 (stem
/// conv + max-pool, bottlenecks with the residual add fused into the last 1×1 conv, the
/// downsampling 1×1 convs, global pool + fc).
fn resnet50_layers() -> Vec<(u64, u64, u64, Vec<usize>)> {
    let mut out: Vec<(u64, u64, u64, Vec<usize>)> = Vec::new();
    // Stem: 7×7/2 conv 3→64 then 3×3/2 max-pool: 56×56×64 leaves the layer.
    out.push((7 * 7 * 3 * 64, 56 * 56 * 64, 112 * 112 * 64 * 7 * 7 * 3, vec![]));
    let (mut cin, mut hw, mut block_in) = (64u64, 56u64, 0usize);
    for (stage, (&width, &blocks)) in [64u64, 128, 256, 512].iter().zip(&[3, 4, 6, 3]).enumerate() {
        for b in 0..blocks {
            let stride = if b == 0 && stage > 0 { 2 } else { 1 };
            let hw_out = hw / stride;
            let c1 = out.len();
            out.push((cin * width, hw * hw * width, hw * hw * width * cin, vec![block_in]));
            out.push((
                9 * width * width,
                hw_out * hw_out * width,
                hw_out * hw_out * width * width * 9,
                vec![c1],
            ));
            let skip = if b == 0 {
                let d = out.len();
                let macs = hw_out * hw_out * 4 * width * cin;
                out.push((cin * 4 * width, hw_out * hw_out * 4 * width, macs, vec![block_in]));
                d
            } else {
                block_in
            };
            let c2 = out.len() - if b == 0 { 2 } else { 1 };
            let macs = hw_out * hw_out * 4 * width * width;
            out.push((width * 4 * width, hw_out * hw_out * 4 * width, macs, vec![c2, skip]));
            block_in = out.len() - 1;
            cin = 4 * width;
            hw = hw_out;
        }
    }
    // Global average pool joins the last conv; fc 2048→1000.
    out.push((2048 * 1000, 1000, 2048 * 1000, vec![block_in]));
    out
}

/// A ResNet-50-scale cost model with a roofline-like latency (Pi-4-like edge, GPU cloud).
fn resnet50_model(bandwidth_bps: f64) -> CostModel {
    let spec = resnet50_layers();
    let n = spec.len();
    let bits: Vec<u8> = (2..=8).collect();
    let edge = |macs: u64, bytes: f64, int: bool| {
        let peak = if int { 48e9 * 0.3 } else { 24e9 * 0.3 };
        (macs as f64 / peak).max(bytes / 5.5e9) + 50e-6
    };
    let mut layers = Vec::new();
    for (i, (w, o, macs, _)) in spec.iter().enumerate() {
        let mut edge_q = [[0.0; 9]; 9];
        for &wb in &bits {
            for &ab in &bits {
                let bytes = (*w as f64 * f64::from(wb) + 2.0 * *o as f64 * f64::from(ab)) / 8.0;
                edge_q[wb as usize][ab as usize] = edge(*macs, bytes, true);
            }
        }
        let mut dw = [0.0; 9];
        let mut da = [0.0; 9];
        for &b in &bits {
            let f = 4f64.powi(-i32::from(b));
            dw[b as usize] = 0.5 * f * (1.0 + (i % 7) as f64 / 7.0);
            da[b as usize] = 0.8 * f * (1.0 + (i % 5) as f64 / 5.0);
        }
        layers.push(LayerCost {
            weight_elems: *w,
            bias_elems: *w / 1000,
            output_elems: *o,
            edge_q,
            edge_f32: edge(*macs, (*w as f64 + 2.0 * *o as f64) * 4.0, false),
            cloud: *macs as f64 / 10e12 + 10e-6,
            dw,
            da,
        });
    }
    let id = ids(n);
    let values = (0..n)
        .map(|l| ValueCost {
            id: id[l],
            producer: l,
            readers: (0..n).filter(|&r| spec[r].3.contains(&l)).collect(),
            is_output: l == n - 1,
            elems: spec[l].1,
            rank: 4,
            raw_bits: None,
        })
        .collect();
    CostModel {
        layers,
        preds: spec.iter().map(|s| s.3.clone()).collect(),
        values,
        inputs: vec![InputCost { readers: vec![0], elems: 3 * 224 * 224, rank: 4, raw_bits: None }],
        bits,
        bandwidth_bps,
        rtt_s: 0.0,
        edge_memory_bytes: 4 << 20,
        input_bits: 8,
        max_distortion: Some(0.05),
    }
}

#[test]
fn resnet50_scale_plans_quickly_and_sends_less_than_the_frame() {
    assert_eq!(resnet50_layers().len(), 54);
    for mbps in [1.0, 3.0, 10.0, 20.0] {
        let model = resnet50_model(mbps * 1e6);
        assert_eq!(model.t0_bytes(), 150_528);
        for max_distortion in [Some(0.05), None] {
            let mut model = model.clone();
            model.max_distortion = max_distortion;
            let start = std::time::Instant::now();
            let plan = plan_model(&model, &options()).unwrap();
            let secs = start.elapsed().as_secs_f64();
            let c = &plan.solutions[0];
            eprintln!(
                "{mbps} Mbps, budget {max_distortion:?}: {secs:.2} s, {} solutions, chosen split \
                 {} ({}), {:.1} ms, {} B sent; warnings {:?}",
                plan.solutions.len(),
                c.split,
                c.method,
                c.latency.total * 1e3,
                c.transmit_bytes,
                plan.warnings
            );
            assert!(secs < 10.0, "{mbps} Mbps: planning took {secs:.1} s");
            for s in plan.solutions.iter().filter(|s| s.kind == SolutionKind::AutoSplit) {
                assert!(s.transmit_bytes <= 150_528);
            }
            for b in plan.solutions.iter().filter(|s| s.kind.is_baseline() && s.feasible) {
                assert!(c.latency.total <= b.latency.total, "{} beats the chosen", b.kind.name());
            }
        }
    }
}

#[test]
fn rechoose_takes_the_fastest_accurate_solution() {
    let mut rng = Rng(2024);
    let mut model = random_model(&mut rng, 5, &[2, 4, 8]);
    model.max_distortion = None;
    let mut plan = plan_model(&model, &options()).unwrap();
    // Pretend accuracy falls with distortion; demand the accuracy of a slower solution.
    for s in &mut plan.solutions {
        s.accuracy = Some(1.0 - s.distortion);
    }
    let first = plan.solutions[0].clone();
    let need = 1.0 - first.distortion / 2.0;
    let expect = plan
        .solutions
        .iter()
        .filter(|s| s.kind == SolutionKind::AutoSplit && s.feasible && s.accuracy >= Some(need))
        .map(|s| s.latency.total)
        .fold(f64::INFINITY, f64::min);
    if plan.rechoose(need) {
        assert_eq!(plan.chosen, 0);
        assert!(plan.solutions[0].accuracy >= Some(need));
        assert_eq!(plan.solutions[0].latency.total, expect);
        assert!(plan.solutions[0].latency.total >= first.latency.total);
    } else {
        assert!(expect.is_infinite(), "a qualifying solution exists but was not chosen");
    }
    assert!(!plan.rechoose(2.0), "no solution reaches accuracy 2");
}
