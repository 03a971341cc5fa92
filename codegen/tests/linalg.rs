//! Compiled `conv`, `conv_transpose`, `gemm` and `matmul` against the reference interpreter
//! on many shapes: odd sizes and tile tails, groups, depthwise, strides, dilations,
//! asymmetric pads, 1-d and 3-d, multi-panel im2col, every fused activation, the residual
//! skip, gemm's transposes/α/β/broadcast `c`, batched and broadcast matmuls with constant and
//! run-time right operands. f32, rtol 1e-4 (atol 1e-5 for results near zero).
//!
//! Each case builds a one-node graph (weights as constants, as after the default pipeline),
//! runs it through `asplit_codegen::testing` (the real lowering, O3 for the host, in-process)
//! and through `asplit_ir::interp`.

use asplit_codegen::testing::{check_graph, seeded_inputs};
use asplit_ir::tensor::seeded_uniform;
use asplit_ir::{Activation, Attr, Attrs, DType, Graph, OpKind, Tensor, TensorType, ValueId};

const RTOL: f64 = 1e-4;
const ATOL: f64 = 1e-5;

/// Uniform in `[-scale, scale)`.
fn rand_t(shape: &[usize], seed: u64, scale: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_f32(shape.to_vec(), seeded_uniform(seed, n, -scale, scale)).expect("sized")
}

fn ints(v: &[usize]) -> Attr {
    Attr::Ints(v.iter().map(|&x| x as i64).collect())
}

/// A graph around one node, with the value range of each input. Weights and the right
/// operands of products are scaled by `1/√k` (as trained networks are), so results stay O(1)
/// and the f32 rounding of a long sum stays within the tolerance whatever `k` is.
struct Case {
    g: Graph,
    scales: Vec<f32>,
}

/// A built graph and the range of each of its inputs.
struct Built {
    g: Graph,
    scales: Vec<f32>,
}

impl Case {
    fn new() -> Case {
        Case { g: Graph::new("t"), scales: Vec::new() }
    }
    fn input(&mut self, shape: &[usize]) -> ValueId {
        self.scaled_input(shape, 1.0)
    }
    fn scaled_input(&mut self, shape: &[usize], scale: f32) -> ValueId {
        let n = self.g.inputs.len();
        self.scales.push(scale);
        self.g.add_input(Some(format!("in{n}")), TensorType::new(DType::F32, shape.to_vec()))
    }
    fn constant(&mut self, shape: &[usize], seed: u64, scale: f32) -> ValueId {
        self.g.add_const(rand_t(shape, seed, scale))
    }
    fn node(mut self, op: OpKind, attrs: Attrs, operands: Vec<ValueId>) -> Built {
        let attrs = op.def().with_defaults(attrs);
        let n = self.g.add_node(op, attrs, operands).expect("types");
        let y = self.g.nodes[n].outputs[0];
        self.g.outputs.push(y);
        asplit_ir::verify::verify(&self.g).expect("verifies");
        Built { g: self.g, scales: self.scales }
    }
}

fn inv_sqrt(k: usize) -> f32 {
    1.0 / (k.max(1) as f32).sqrt()
}

fn check(b: &Built, what: &str) {
    let inputs: Vec<Tensor> =
        b.g.inputs
            .iter()
            .zip(&b.scales)
            .enumerate()
            .map(|(i, (&v, &s))| rand_t(&b.g.values[v].ty.shape, 1000 + i as u64, s))
            .collect();
    if let Err(e) = check_graph(&b.g, &inputs, RTOL, ATOL) {
        panic!("{what}: {e}");
    }
}

/// Convolution parameters.
#[derive(Clone)]
struct Conv {
    x: Vec<usize>,
    w: Vec<usize>,
    strides: Vec<usize>,
    pads: Vec<usize>,
    dil: Vec<usize>,
    group: usize,
    bias: bool,
    skip: Option<Vec<usize>>,
    act: Activation,
}

fn conv(x: &[usize], w: &[usize]) -> Conv {
    let sp = x.len() - 2;
    Conv {
        x: x.to_vec(),
        w: w.to_vec(),
        strides: vec![1; sp],
        pads: vec![0; 2 * sp],
        dil: vec![1; sp],
        group: 1,
        bias: true,
        skip: None,
        act: Activation::None,
    }
}

fn conv_graph(p: &Conv, seed: u64) -> Built {
    let mut c = Case::new();
    let x = c.input(&p.x);
    let w = c.constant(&p.w, seed, inv_sqrt(p.w[1..].iter().product()));
    let mut ops = vec![x, w];
    if p.bias || p.skip.is_some() {
        ops.push(c.constant(&[p.w[0]], seed + 1, 1.0));
    }
    if let Some(s) = &p.skip {
        ops.push(c.input(s));
    }
    let mut a = Attrs::new()
        .with("strides", ints(&p.strides))
        .with("pads", ints(&p.pads))
        .with("dilations", ints(&p.dil))
        .with("group", Attr::Int(p.group as i64));
    p.act.write(&mut a);
    c.node(OpKind::Conv, a, ops)
}

fn check_conv(p: Conv, seed: u64) {
    let g = conv_graph(&p, seed);
    check(
        &g,
        &format!(
            "conv x{:?} w{:?} s{:?} p{:?} d{:?} g{} {:?}",
            p.x, p.w, p.strides, p.pads, p.dil, p.group, p.act
        ),
    );
}

#[test]
fn pointwise_conv_reads_the_input_in_place() {
    check_conv(conv(&[1, 16, 7, 9], &[24, 16, 1, 1]), 1);
    check_conv(Conv { bias: false, ..conv(&[2, 5, 5, 5], &[11, 5, 1, 1]) }, 2);
    check_conv(conv(&[1, 64, 14, 14], &[70, 64, 1, 1]), 3);
    check_conv(conv(&[1, 3, 1, 1], &[5, 3, 1, 1]), 4);
}

#[test]
fn padded_strided_and_dilated_convs_go_through_im2col() {
    check_conv(Conv { pads: vec![1; 4], ..conv(&[1, 8, 13, 11], &[19, 8, 3, 3]) }, 10);
    let p = Conv { strides: vec![2, 2], pads: vec![3; 4], ..conv(&[1, 3, 33, 30], &[16, 3, 7, 7]) };
    check_conv(p, 11);
    let p = Conv {
        strides: vec![2, 1],
        dil: vec![1, 2],
        pads: vec![1, 0, 2, 1],
        group: 2,
        ..conv(&[1, 4, 12, 10], &[6, 2, 3, 2])
    };
    check_conv(p, 12);
    // A 1×1 kernel with stride 2 is not the in-place case.
    check_conv(Conv { strides: vec![2, 2], ..conv(&[1, 8, 9, 9], &[9, 8, 1, 1]) }, 13);
    // Padding wider than the kernel reach leaves whole lines of zeros.
    check_conv(Conv { pads: vec![3, 2, 1, 4], ..conv(&[2, 2, 4, 5], &[3, 2, 2, 2]) }, 14);
}

#[test]
fn im2col_in_several_panels() {
    // K = 2304 and 30-wide lines: a few lines per panel, and a partial last panel.
    let p = Conv { pads: vec![1; 4], ..conv(&[1, 256, 29, 30], &[10, 256, 3, 3]) };
    check_conv(p, 20);
}

#[test]
fn grouped_and_depthwise_convs() {
    let p = Conv { group: 4, pads: vec![1; 4], ..conv(&[1, 16, 9, 9], &[12, 4, 3, 3]) };
    check_conv(p, 30);
    let p = Conv {
        group: 32,
        strides: vec![2, 2],
        pads: vec![1; 4],
        act: Activation::Clip { min: 0.0, max: 6.0 },
        ..conv(&[1, 32, 15, 15], &[32, 1, 3, 3])
    };
    check_conv(p, 31);
    let p = Conv { group: 24, pads: vec![1; 4], ..conv(&[2, 24, 20, 17], &[48, 1, 3, 3]) };
    check_conv(p, 32);
}

#[test]
fn depthwise_direct_kernel_edges() {
    // Wide rows (vector tails), stride 1/2/3, dilation, asymmetric pads, kernels larger than
    // the padding, a skip, and every lane of a border vector masked differently.
    let dw = |x: &[usize], k: usize| conv(x, &[x[1], 1, k, k]);
    let cases = [
        Conv { group: 8, pads: vec![1; 4], ..dw(&[1, 8, 37, 35], 3) },
        Conv { group: 8, strides: vec![2, 2], pads: vec![0, 1, 1, 0], ..dw(&[2, 8, 34, 40], 3) },
        Conv {
            group: 4,
            strides: vec![3, 1],
            dil: vec![2, 3],
            pads: vec![2, 3, 1, 2],
            ..dw(&[1, 4, 19, 23], 3)
        },
        Conv { group: 6, pads: vec![2; 4], act: Activation::HardSwish, ..dw(&[1, 6, 9, 18], 5) },
        Conv { group: 5, bias: false, ..dw(&[1, 5, 4, 4], 3) },
        Conv {
            group: 8,
            pads: vec![1; 4],
            skip: Some(vec![1, 8, 17, 17]),
            act: Activation::Relu,
            ..dw(&[1, 8, 17, 17], 3)
        },
        Conv { group: 8, pads: vec![1; 4], skip: Some(vec![8, 1, 1]), ..dw(&[1, 8, 6, 6], 3) },
    ];
    for (i, p) in cases.into_iter().enumerate() {
        check_conv(p, 200 + i as u64);
    }
}

#[test]
fn conv1d_and_conv3d() {
    let p =
        Conv { strides: vec![2], dil: vec![2], pads: vec![3, 1], ..conv(&[2, 3, 20], &[5, 3, 3]) };
    check_conv(p, 40);
    let p = Conv {
        strides: vec![1, 2, 1],
        dil: vec![2, 1, 1],
        pads: vec![1, 0, 1, 0, 2, 1],
        ..conv(&[1, 2, 5, 4, 6], &[3, 2, 2, 3, 2])
    };
    check_conv(p, 41);
}

#[test]
fn every_fused_activation_and_the_skip() {
    let acts = [
        Activation::None,
        Activation::Relu,
        Activation::LeakyRelu { alpha: 0.1 },
        Activation::Clip { min: -0.5, max: 0.75 },
        Activation::Sigmoid,
        Activation::HardSwish,
        Activation::Gelu { tanh: false },
        Activation::Gelu { tanh: true },
    ];
    for (i, act) in acts.into_iter().enumerate() {
        let base = Conv { pads: vec![1; 4], act, ..conv(&[1, 16, 10, 10], &[16, 16, 3, 3]) };
        check_conv(base.clone(), 50 + i as u64);
        check_conv(Conv { skip: Some(vec![1, 16, 10, 10]), ..base.clone() }, 60 + i as u64);
        let pw =
            Conv { act, skip: Some(vec![1, 16, 10, 10]), ..conv(&[1, 8, 10, 10], &[16, 8, 1, 1]) };
        check_conv(pw, 70 + i as u64);
    }
    let bcast = Conv { skip: Some(vec![1, 16, 1, 1]), ..conv(&[1, 8, 6, 7], &[16, 8, 1, 1]) };
    check_conv(bcast, 80);
    let per_image = Conv { skip: Some(vec![16, 6, 7]), ..conv(&[2, 8, 6, 7], &[16, 8, 1, 1]) };
    check_conv(per_image, 81);
}

fn conv_transpose_graph(x: &[usize], w: &[usize], a: Attrs, bias: bool, seed: u64) -> Built {
    let mut c = Case::new();
    let xv = c.input(x);
    let wv = c.constant(w, seed, 1.0);
    let mut ops = vec![xv, wv];
    if bias {
        let group = match a.get("group") {
            Some(Attr::Int(g)) => *g as usize,
            _ => 1,
        };
        ops.push(c.constant(&[w[1] * group], seed + 1, 1.0));
    }
    c.node(OpKind::ConvTranspose, a, ops)
}

#[test]
fn conv_transpose_matches() {
    let a = Attrs::new()
        .with("strides", ints(&[2, 2]))
        .with("pads", ints(&[0, 0, 0, 0]))
        .with("dilations", ints(&[1, 1]))
        .with("output_padding", ints(&[1, 1]));
    check(&conv_transpose_graph(&[1, 2, 3, 3], &[2, 3, 3, 3], a, true, 90), "conv_transpose s2");
    let a = Attrs::new()
        .with("strides", ints(&[3, 2]))
        .with("pads", ints(&[1, 0, 2, 1]))
        .with("dilations", ints(&[2, 1]))
        .with("group", Attr::Int(2))
        .with("output_padding", ints(&[1, 0]))
        .with("activation", Attr::Str("leaky_relu".into()))
        .with("activation_params", Attr::Floats(vec![0.1]));
    check(&conv_transpose_graph(&[2, 4, 4, 3], &[4, 2, 2, 3], a, true, 91), "conv_transpose g2");
    let a = Attrs::new()
        .with("strides", ints(&[1]))
        .with("pads", ints(&[2, 1]))
        .with("dilations", ints(&[1]))
        .with("group", Attr::Int(2))
        .with("output_padding", ints(&[0]));
    check(&conv_transpose_graph(&[1, 2, 5], &[2, 1, 4], a, false, 92), "conv_transpose 1d");
}

/// `gemm` with a: [a0, a1] input, b constant or input, optional c.
#[allow(clippy::too_many_arguments)]
fn gemm_graph(
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    (alpha, beta): (f32, f32),
    c_shape: Option<&[usize]>,
    b_const: bool,
    act: Activation,
    seed: u64,
) -> Built {
    let mut c = Case::new();
    let a = c.input(&if ta { [k, m] } else { [m, k] });
    let bs = if tb { [n, k] } else { [k, n] };
    let b =
        if b_const { c.constant(&bs, seed, inv_sqrt(k)) } else { c.scaled_input(&bs, inv_sqrt(k)) };
    let mut ops = vec![a, b];
    if let Some(cs) = c_shape {
        ops.push(c.constant(cs, seed + 1, 1.0));
    }
    let mut at = Attrs::new()
        .with("alpha", Attr::Float(alpha))
        .with("beta", Attr::Float(beta))
        .with("trans_a", Attr::Int(ta as i64))
        .with("trans_b", Attr::Int(tb as i64));
    act.write(&mut at);
    c.node(OpKind::Gemm, at, ops)
}

#[test]
fn gemm_shapes_transposes_and_broadcast_c() {
    let sizes = [(1, 64, 100), (3, 17, 33), (9, 40, 16), (20, 7, 50), (1, 2048, 1000), (16, 5, 1)];
    for (i, &mkn) in sizes.iter().enumerate() {
        let s = i as u64 * 10;
        let n = mkn.2;
        check(
            &gemm_graph(mkn, (false, false), (1.0, 1.0), Some(&[n]), true, Activation::None, s),
            "gemm",
        );
        check(
            &gemm_graph(
                mkn,
                (false, true),
                (0.5, 2.0),
                Some(&[1, n]),
                true,
                Activation::Relu,
                s + 1,
            ),
            "gemm tb",
        );
        check(
            &gemm_graph(
                mkn,
                (true, false),
                (1.5, 0.0),
                Some(&[n]),
                true,
                Activation::Sigmoid,
                s + 2,
            ),
            "gemm ta",
        );
        check(
            &gemm_graph(
                mkn,
                (true, true),
                (1.0, -1.0),
                Some(&[mkn.0, 1]),
                false,
                Activation::None,
                s + 3,
            ),
            "gemm rt",
        );
        check(
            &gemm_graph(
                mkn,
                (false, true),
                (1.0, 1.0),
                Some(&[mkn.0, n]),
                false,
                Activation::HardSwish,
                s + 4,
            ),
            "gemm rt tb",
        );
        check(
            &gemm_graph(
                mkn,
                (false, false),
                (1.0, 1.0),
                None,
                false,
                Activation::Gelu { tanh: true },
                s + 5,
            ),
            "gemm no c",
        );
    }
}

fn matmul_graph(
    a: &[usize],
    b: &[usize],
    b_const: bool,
    bias: Option<&[usize]>,
    act: Activation,
    seed: u64,
) -> Built {
    let mut c = Case::new();
    let av = c.input(a);
    let k = a.last().copied().unwrap_or(1);
    let bv =
        if b_const { c.constant(b, seed, inv_sqrt(k)) } else { c.scaled_input(b, inv_sqrt(k)) };
    let mut ops = vec![av, bv];
    if let Some(bs) = bias {
        ops.push(c.constant(bs, seed + 1, 1.0));
    }
    let mut at = Attrs::new();
    act.write(&mut at);
    c.node(OpKind::MatMul, at, ops)
}

/// `a` shape, `b` shape, `b` constant, bias shape, activation.
type MatMulCase<'a> = (&'a [usize], &'a [usize], bool, Option<&'a [usize]>, Activation);

#[test]
fn matmul_batches_broadcasts_and_bias() {
    let gelu = Activation::Gelu { tanh: false };
    let cases: &[MatMulCase] = &[
        (&[2, 3, 4], &[4, 5], true, Some(&[5]), gelu),
        (&[1, 37, 64], &[64, 96], true, Some(&[96]), Activation::Relu),
        (&[2, 1, 3, 4], &[3, 4, 2], false, None, Activation::None),
        (&[2, 1, 3, 4], &[3, 4, 2], true, None, Activation::None),
        (&[1, 2, 17, 8], &[1, 2, 8, 17], false, Some(&[1, 1, 1, 17]), Activation::None),
        (&[4], &[4, 5], true, None, Activation::None),
        (&[2, 3, 4], &[4], false, None, Activation::None),
        (&[4], &[4], false, None, Activation::None),
        (&[3, 5, 6], &[6, 7], false, Some(&[3, 5, 7]), Activation::LeakyRelu { alpha: 0.3 }),
        (&[3, 5, 6], &[6, 7], true, Some(&[5, 1]), Activation::None),
        (&[2, 0, 6], &[6, 7], true, None, Activation::None),
    ];
    for (i, (a, b, bc, bias, act)) in cases.iter().enumerate() {
        let g = matmul_graph(a, b, *bc, *bias, *act, 100 + i as u64);
        check(&g, &format!("matmul {a:?} x {b:?} const {bc} bias {bias:?}"));
    }
}

/// A conv or conv_transpose whose weights (and bias) are graph inputs, as in the ONNX node
/// tests: the kernels read them in place instead of packing them.
fn runtime_weights_graph(op: OpKind, x: &[usize], w: &[usize], bias: usize, a: Attrs) -> Built {
    let mut c = Case::new();
    let xv = c.input(x);
    let k: usize = if op == OpKind::Conv { w[1..].iter().product() } else { w[0] };
    let wv = c.scaled_input(w, inv_sqrt(k));
    let bv = c.input(&[bias]);
    c.node(op, a, vec![xv, wv, bv])
}

#[test]
fn runtime_weights_are_read_in_place() {
    let conv_attrs = |s: usize, p: usize, g: usize| {
        Attrs::new()
            .with("strides", ints(&[s, s]))
            .with("pads", ints(&[p; 4]))
            .with("dilations", ints(&[1, 1]))
            .with("group", Attr::Int(g as i64))
    };
    let cases = [
        (vec![1, 6, 9, 8], vec![10, 6, 3, 3], 10, conv_attrs(1, 1, 1)),
        (vec![2, 6, 7, 7], vec![9, 2, 3, 3], 9, conv_attrs(2, 1, 3)),
        (vec![1, 8, 11, 11], vec![8, 1, 3, 3], 8, conv_attrs(1, 1, 8)),
        (vec![1, 5, 6, 6], vec![7, 5, 1, 1], 7, conv_attrs(1, 0, 1)),
    ];
    for (i, (x, w, b, a)) in cases.into_iter().enumerate() {
        check(&runtime_weights_graph(OpKind::Conv, &x, &w, b, a), &format!("conv case {i}"));
    }
    let a = Attrs::new()
        .with("strides", ints(&[2, 1]))
        .with("pads", ints(&[1, 0, 0, 1]))
        .with("dilations", ints(&[1, 2]))
        .with("group", Attr::Int(2))
        .with("output_padding", ints(&[1, 0]));
    let g = runtime_weights_graph(OpKind::ConvTranspose, &[1, 4, 5, 4], &[4, 3, 3, 2], 6, a);
    check(&g, "conv_transpose");
}

/// A matmul `[2, 3, 5] × [5, 4] + bias[4]` (relu) in dtype `d`, operands as inputs.
fn typed_matmul(d: DType) -> Graph {
    let mut g = Graph::new("t");
    let a = g.add_input(Some("a".into()), TensorType::new(d, vec![2, 3, 5]));
    let b = g.add_input(Some("b".into()), TensorType::new(d, vec![5, 4]));
    let bias = g.add_const(rand_t(&[4], 3, 1.0).cast(d));
    let mut at = Attrs::new();
    Activation::Relu.write(&mut at);
    let n = g.add_node(OpKind::MatMul, OpKind::MatMul.def().with_defaults(at), vec![a, b, bias]);
    let n = n.expect("types");
    g.outputs.push(g.nodes[n].outputs[0]);
    g
}

#[test]
fn f64_and_f16_matmuls_run_scalar() {
    for d in [DType::F64, DType::F16] {
        let g = typed_matmul(d);
        let inputs: Vec<Tensor> = g
            .inputs
            .iter()
            .enumerate()
            .map(|(i, &v)| rand_t(&g.values[v].ty.shape, 500 + i as u64, 1.0).cast(d))
            .collect();
        // f16 results are rounded to 11 bits: compare at f16 precision.
        let (rtol, atol) = if d == DType::F16 { (2e-3, 1e-3) } else { (RTOL, ATOL) };
        check_graph(&g, &inputs, rtol, atol).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
}

#[test]
fn non_f32_gemm_is_an_explicit_error() {
    let mut g = Graph::new("t");
    let a = g.add_input(Some("a".into()), TensorType::new(DType::F64, vec![2, 3]));
    let b = g.add_const(rand_t(&[3, 4], 1, 1.0).cast(DType::F64));
    let n = g.add_node(OpKind::Gemm, OpKind::Gemm.def().with_defaults(Attrs::new()), vec![a, b]);
    let n = n.expect("types");
    g.outputs.push(g.nodes[n].outputs[0]);
    let inputs = seeded_inputs(&g, 1);
    let err = asplit_codegen::testing::run_jit(&g, &inputs).unwrap_err();
    assert!(err.to_string().contains("dtype f64"), "{err}");
}
