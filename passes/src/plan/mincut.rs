//! The exact min-cut over the layer DAG (DADS / QDMP style): the predecessor-closed set of
//! edge layers minimising Σ edge latency + Σ cloud latency + transmission of every tensor
//! that crosses, each tensor paid once however many cloud layers read it.
//!
//! The s–t network (s = edge side, t = cloud side):
//! - `s → layer` with the layer's cloud seconds (cut when the layer runs on the cloud),
//!   `layer → t` with its edge seconds (cut when it runs on the edge);
//! - per produced value x an auxiliary node a_x: `producer → a_x` with x's transmission
//!   seconds and `a_x → reader` (∞) for every reader, `a_x → t` (∞) for a graph output, so x
//!   is paid once if any reader is on the cloud;
//! - per graph input i: `s → a_i` with its raw transmission seconds, `a_i → reader` (∞);
//! - `reader → producer` (∞) for every dataflow edge, so the edge side is closed under
//!   predecessors (no cloud layer feeds an edge layer).
//!
//! A frame constant (frame header + RTT) is paid by every cut that sends anything, i.e. every
//! cut but all-on-the-edge (every layer reads an input or a predecessor). Graph outputs count
//! as sent unless everything runs on the edge; the all-edge cut is therefore priced on its own
//! and compared. Max-flow is Dinic's algorithm on f64 capacities (residuals below a relative
//! epsilon count as saturated). This file prices nothing itself: the caller gives seconds.

/// A value a layer produces, for the cut.
#[derive(Clone, Debug, PartialEq)]
pub struct CutValue {
    /// Producing layer.
    pub producer: usize,
    /// Layers reading it.
    pub readers: Vec<usize>,
    /// A graph output (sent unless everything is on the edge).
    pub is_output: bool,
    /// Seconds to send it.
    pub seconds: f64,
}

/// A graph input, for the cut.
#[derive(Clone, Debug, PartialEq)]
pub struct CutInput {
    /// Layers reading it.
    pub readers: Vec<usize>,
    /// Seconds to send it raw.
    pub seconds: f64,
}

/// The cut problem.
#[derive(Clone, Debug, PartialEq)]
pub struct CutGraph {
    /// Edge seconds per layer.
    pub edge_s: Vec<f64>,
    /// Cloud seconds per layer.
    pub cloud_s: Vec<f64>,
    /// Predecessor layers per layer.
    pub preds: Vec<Vec<usize>>,
    /// Produced values.
    pub values: Vec<CutValue>,
    /// Graph inputs.
    pub inputs: Vec<CutInput>,
    /// Paid once when anything is sent (frame header + RTT).
    pub frame_s: f64,
}

/// The optimal cut.
#[derive(Clone, Debug, PartialEq)]
pub struct MinCut {
    /// Per layer: on the edge.
    pub on_edge: Vec<bool>,
    /// Its cost ([`cut_cost`]).
    pub cost: f64,
}

/// The cost of a cut under the min-cut objective (the brute-force reference too).
pub fn cut_cost(g: &CutGraph, on_edge: &[bool]) -> f64 {
    let edge = |l: usize| on_edge.get(l).copied().unwrap_or(false);
    let all_edge = (0..g.edge_s.len()).all(edge);
    let mut cost = 0.0;
    for l in 0..g.edge_s.len() {
        cost += if edge(l) { g.edge_s[l] } else { g.cloud_s[l] };
    }
    let mut sent = false;
    for v in &g.values {
        if edge(v.producer) && (v.readers.iter().any(|&r| !edge(r)) || (v.is_output && !all_edge)) {
            cost += v.seconds;
            sent = true;
        }
    }
    for i in &g.inputs {
        if i.readers.iter().any(|&r| !edge(r)) {
            cost += i.seconds;
            sent = true;
        }
    }
    if sent {
        cost += g.frame_s;
    }
    cost
}

/// Solves the cut exactly.
pub fn min_cut(g: &CutGraph) -> MinCut {
    let n = g.edge_s.len();
    let finite: f64 = g.edge_s.iter().chain(&g.cloud_s).map(|x| x.max(0.0)).sum::<f64>()
        + g.values.iter().map(|v| v.seconds.max(0.0)).sum::<f64>()
        + g.inputs.iter().map(|i| i.seconds.max(0.0)).sum::<f64>();
    let inf = 2.0 * finite + 1.0;
    let (s, t) = (0usize, 1usize);
    let layer = |l: usize| 2 + l;
    let mut net = Network::new(2 + n + g.values.len() + g.inputs.len());
    for l in 0..n {
        net.add(s, layer(l), g.cloud_s[l].max(0.0));
        net.add(layer(l), t, g.edge_s[l].max(0.0));
        for &p in &g.preds[l] {
            net.add(layer(l), layer(p), inf);
        }
    }
    for (k, v) in g.values.iter().enumerate() {
        let a = 2 + n + k;
        net.add(layer(v.producer), a, v.seconds.max(0.0));
        for &r in &v.readers {
            net.add(a, layer(r), inf);
        }
        if v.is_output {
            net.add(a, t, inf);
        }
    }
    for (k, i) in g.inputs.iter().enumerate() {
        let a = 2 + n + g.values.len() + k;
        net.add(s, a, i.seconds.max(0.0));
        for &r in &i.readers {
            net.add(a, layer(r), inf);
        }
    }
    let eps = finite.max(1e-300) * 1e-12;
    net.max_flow(s, t, eps);
    let reach = net.reachable(s, eps);
    let cut: Vec<bool> = (0..n).map(|l| reach[layer(l)]).collect();
    let all = vec![true; n];
    let (c_cut, c_all) = (cut_cost(g, &cut), cut_cost(g, &all));
    if c_all < c_cut {
        MinCut { on_edge: all, cost: c_all }
    } else {
        MinCut { on_edge: cut, cost: c_cut }
    }
}

/// A flow network with residual capacities (edges stored in pairs: e and e ^ 1).
struct Network {
    head: Vec<Vec<usize>>,
    to: Vec<usize>,
    cap: Vec<f64>,
}

impl Network {
    fn new(nodes: usize) -> Network {
        Network { head: vec![Vec::new(); nodes], to: Vec::new(), cap: Vec::new() }
    }

    fn add(&mut self, u: usize, v: usize, c: f64) {
        self.head[u].push(self.to.len());
        self.to.push(v);
        self.cap.push(c);
        self.head[v].push(self.to.len());
        self.to.push(u);
        self.cap.push(0.0);
    }

    /// BFS levels over residual edges above `eps`; `None` when t is unreachable.
    fn levels(&self, s: usize, t: usize, eps: f64) -> Option<Vec<usize>> {
        let mut level = vec![usize::MAX; self.head.len()];
        level[s] = 0;
        let mut queue = std::collections::VecDeque::from([s]);
        while let Some(u) = queue.pop_front() {
            for &e in &self.head[u] {
                let v = self.to[e];
                if self.cap[e] > eps && level[v] == usize::MAX {
                    level[v] = level[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        (level[t] != usize::MAX).then_some(level)
    }

    /// One blocking-flow augmentation along level-increasing residual edges.
    fn push(
        &mut self,
        u: usize,
        t: usize,
        f: f64,
        level: &[usize],
        next: &mut [usize],
        eps: f64,
    ) -> f64 {
        if u == t {
            return f;
        }
        while next[u] < self.head[u].len() {
            let e = self.head[u][next[u]];
            let v = self.to[e];
            if self.cap[e] > eps && level[v] == level[u] + 1 {
                let got = self.push(v, t, f.min(self.cap[e]), level, next, eps);
                if got > eps {
                    self.cap[e] -= got;
                    self.cap[e ^ 1] += got;
                    return got;
                }
            }
            next[u] += 1;
        }
        0.0
    }

    fn max_flow(&mut self, s: usize, t: usize, eps: f64) -> f64 {
        let mut flow = 0.0;
        while let Some(level) = self.levels(s, t, eps) {
            let mut next = vec![0usize; self.head.len()];
            loop {
                let f = self.push(s, t, f64::INFINITY, &level, &mut next, eps);
                if f <= eps {
                    break;
                }
                flow += f;
            }
        }
        flow
    }

    /// Nodes reachable from `s` over residual edges above `eps` (the source side).
    fn reachable(&self, s: usize, eps: f64) -> Vec<bool> {
        let mut seen = vec![false; self.head.len()];
        seen[s] = true;
        let mut stack = vec![s];
        while let Some(u) = stack.pop() {
            for &e in &self.head[u] {
                let v = self.to[e];
                if self.cap[e] > eps && !seen[v] {
                    seen[v] = true;
                    stack.push(v);
                }
            }
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn unit(&mut self) -> f64 {
            (self.next() % 10_000) as f64 / 10_000.0
        }
    }

    /// A random layer DAG: every layer reads the input or at least one earlier layer.
    fn random_graph(rng: &mut Rng, n: usize) -> CutGraph {
        let mut preds: Vec<Vec<usize>> = Vec::with_capacity(n);
        let mut values = Vec::new();
        let mut input_readers = Vec::new();
        for l in 0..n {
            let mut p: Vec<usize> = (0..l).filter(|_| rng.next().is_multiple_of(3)).collect();
            if l > 0 && p.is_empty() && !rng.next().is_multiple_of(4) {
                p.push(l - 1);
            }
            if p.is_empty() || rng.next().is_multiple_of(5) {
                input_readers.push(l);
            }
            preds.push(p);
        }
        for ps in &preds {
            for &p in ps {
                // One value per producer, read by every layer listing it.
                if !values.iter().any(|v: &CutValue| v.producer == p) {
                    let readers = (0..n).filter(|&r| preds[r].contains(&p)).collect();
                    values.push(CutValue {
                        producer: p,
                        readers,
                        is_output: false,
                        seconds: rng.unit() * 3.0,
                    });
                }
            }
        }
        let last = n - 1;
        values.push(CutValue {
            producer: last,
            readers: vec![],
            is_output: true,
            seconds: rng.unit(),
        });
        CutGraph {
            edge_s: (0..n).map(|_| rng.unit() * 2.0).collect(),
            cloud_s: (0..n).map(|_| rng.unit() * 0.5).collect(),
            preds,
            values,
            inputs: vec![CutInput { readers: input_readers, seconds: rng.unit() * 4.0 }],
            frame_s: rng.unit() * 0.3,
        }
    }

    fn closed(g: &CutGraph, on_edge: &[bool]) -> bool {
        (0..on_edge.len()).all(|l| !on_edge[l] || g.preds[l].iter().all(|&p| on_edge[p]))
    }

    #[test]
    fn min_cut_equals_brute_force_on_random_dags() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for case in 0..300 {
            let n = 1 + (case % 9);
            let g = random_graph(&mut rng, n);
            let mut best = f64::INFINITY;
            for mask in 0u32..(1 << n) {
                let on: Vec<bool> = (0..n).map(|l| mask >> l & 1 == 1).collect();
                if closed(&g, &on) {
                    best = best.min(cut_cost(&g, &on));
                }
            }
            let m = min_cut(&g);
            assert!(closed(&g, &m.on_edge), "case {case}: cut not predecessor-closed");
            assert!(
                (m.cost - best).abs() <= 1e-9 * best.max(1.0),
                "case {case}: min-cut {} vs brute force {best}",
                m.cost
            );
        }
    }

    #[test]
    fn a_tensor_read_twice_is_paid_once() {
        // 0 → {1, 2}: cutting after 0 sends one tensor, not two.
        let g = CutGraph {
            edge_s: vec![0.0, 10.0, 10.0],
            cloud_s: vec![5.0, 0.0, 0.0],
            preds: vec![vec![], vec![0], vec![0]],
            values: vec![CutValue {
                producer: 0,
                readers: vec![1, 2],
                is_output: false,
                seconds: 3.0,
            }],
            inputs: vec![CutInput { readers: vec![0], seconds: 4.0 }],
            frame_s: 0.0,
        };
        let m = min_cut(&g);
        assert_eq!(m.on_edge, vec![true, false, false]);
        assert_eq!(m.cost, 3.0);
    }
}
