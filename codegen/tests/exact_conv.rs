//! Exact convolutions (`conv` with `exact_bound`, made by the `exact-conv` pass) compiled
//! against the reference interpreter, bit for bit, and against the exact integer sums
//! computed here in i64: 1×1 (the input read in place), 3×3 padded and strided (im2col),
//! grouped and depthwise, with codes at their extremes so that whole sums pass 2^24 and the
//! generated code must sum in exact f32 chunks and i32 (8-bit codes, up to 2,304 products per
//! output), and with weights both as bit-packed codes (`dequantize` of constant codes) and as
//! plain integer-valued f32 constants. Also: a conv whose sums could pass 2^31 is refused at
//! compile time, not miscomputed.

use asplit_codegen::testing::{run_jit, tensor_bytes};
use asplit_ir::quant::{QuantParams, Scheme};
use asplit_ir::shape::quant::params_to_attrs;
use asplit_ir::{Attr, Attrs, DType, Graph, OpKind, Tensor, TensorData, TensorType};

mod common;
use common::Rng;

/// A code in `lo..=hi`; when `extreme`, `hi` three times in four (so sums of
/// products approach their worst case instead of cancelling).
fn code(rng: &mut Rng, lo: i32, hi: i32, extreme: bool) -> i32 {
    if extreme && !rng.next().is_multiple_of(4) {
        return hi;
    }
    rng.int(lo as i64, hi as i64) as i32
}

/// One exact conv case.
struct Case {
    name: &'static str,
    x: [usize; 4],
    w: [usize; 4],
    pads: i64,
    stride: i64,
    group: i64,
    /// Weights as `dequantize(const codes)` (else integer-valued f32 constants).
    packed: bool,
    /// Codes at the ends of their ranges (sums near the worst case).
    extreme: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "1x1",
        x: [1, 64, 7, 9],
        w: [24, 64, 1, 1],
        pads: 0,
        stride: 1,
        group: 1,
        packed: true,
        extreme: false,
    },
    Case {
        name: "3x3 pad",
        x: [1, 16, 9, 11],
        w: [10, 16, 3, 3],
        pads: 1,
        stride: 1,
        group: 1,
        packed: true,
        extreme: false,
    },
    Case {
        name: "3x3 chunked",
        x: [1, 256, 6, 7],
        w: [20, 256, 3, 3],
        pads: 1,
        stride: 1,
        group: 1,
        packed: true,
        extreme: true,
    },
    Case {
        name: "3x3 stride 2 f32 weights",
        x: [2, 96, 9, 9],
        w: [17, 96, 3, 3],
        pads: 1,
        stride: 2,
        group: 1,
        packed: false,
        extreme: true,
    },
    Case {
        name: "1x1 chunked",
        x: [1, 1024, 5, 5],
        w: [9, 1024, 1, 1],
        pads: 0,
        stride: 1,
        group: 1,
        packed: true,
        extreme: true,
    },
    Case {
        name: "grouped",
        x: [1, 32, 8, 8],
        w: [16, 8, 3, 3],
        pads: 1,
        stride: 1,
        group: 4,
        packed: true,
        extreme: true,
    },
    Case {
        name: "depthwise",
        x: [1, 24, 10, 10],
        w: [24, 1, 3, 3],
        pads: 1,
        stride: 1,
        group: 24,
        packed: true,
        extreme: true,
    },
];

/// `dequantize(codes) {scale = 1}` of `bits`-bit codes: exactly `q − zp`.
fn unit_params(bits: u8, scheme: Scheme, zero_point: i32, channels: Option<usize>) -> QuantParams {
    let n = channels.unwrap_or(1);
    QuantParams {
        bits,
        scheme,
        scale: vec![1.0; n],
        zero_point: vec![zero_point; n],
        axis: channels.map(|_| 0),
    }
}

/// The graph `conv(dequantize(xq), W) {exact_bound}` with u8 activation codes (zero point
/// `zx`) and i8 weight codes; returns it with its input and the weights as i64.
fn build(c: &Case, seed: u64, zx: i32) -> (Graph, Tensor, Vec<i64>) {
    let mut rng = Rng(seed);
    let xp = unit_params(8, Scheme::Asymmetric, zx, None);
    let wp = unit_params(8, Scheme::Symmetric, 0, Some(c.w[0]));
    let xn: usize = c.x.iter().product();
    let wn: usize = c.w.iter().product();
    let xq: Vec<i32> = (0..xn).map(|_| code(&mut rng, 0, 255, c.extreme)).collect();
    let wq: Vec<i32> = (0..wn).map(|_| code(&mut rng, -127, 127, c.extreme)).collect();
    let mut g = Graph::new("exact");
    let xv = g.add_input(Some("xq".into()), TensorType::new(DType::I32, c.x.to_vec()));
    let xd = g.add_node(OpKind::Dequantize, params_to_attrs(&xp), vec![xv]).expect("types");
    let w = if c.packed {
        let codes = Tensor::new(c.w.to_vec(), TensorData::I32(wq.clone())).expect("codes");
        let cv = g.add_const(codes);
        let d = g.add_node(OpKind::Dequantize, params_to_attrs(&wp), vec![cv]).expect("types");
        g.nodes[d].outputs[0]
    } else {
        let vals = wq.iter().map(|&q| q as f32).collect();
        g.add_const(Tensor::from_f32(c.w.to_vec(), vals).expect("w"))
    };
    let bound = (255 - zx).max(zx) as i64;
    let attrs = Attrs::new()
        .with("pads", Attr::Ints(vec![c.pads; 4]))
        .with("strides", Attr::Ints(vec![c.stride; 2]))
        .with("dilations", Attr::Ints(vec![1; 2]))
        .with("group", Attr::Int(c.group))
        .with("exact_bound", Attr::Int(bound));
    let x = g.nodes[xd].outputs[0];
    let n = g.add_node(OpKind::Conv, OpKind::Conv.def().with_defaults(attrs), vec![x, w]);
    g.outputs.push(g.nodes[n.expect("types")].outputs[0]);
    asplit_ir::verify::verify(&g).expect("verifies");
    let input = Tensor::new(c.x.to_vec(), TensorData::I32(xq)).expect("x");
    (g, input, wq.iter().map(|&q| q as i64).collect())
}

/// The exact sums of `c` in i64 (direct loops), rounded once to f32.
fn exact_sums(c: &Case, x: &[i32], zx: i32, w: &[i64]) -> Vec<f32> {
    let [n, ch, h, wd] = c.x;
    let [m, cg, kh, kw] = c.w;
    let (s, p) = (c.stride as usize, c.pads as usize);
    let (oh, ow) = ((h + 2 * p - kh) / s + 1, (wd + 2 * p - kw) / s + 1);
    let mg = m / c.group as usize;
    let mut out = Vec::with_capacity(n * m * oh * ow);
    for b in 0..n {
        for o in 0..m {
            let gi = o / mg;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = 0i64;
                    for ci in 0..cg {
                        let cin = gi * cg + ci;
                        for (ky, kx) in (0..kh).flat_map(|a| (0..kw).map(move |b| (a, b))) {
                            let (iy, ix) =
                                ((y * s + ky) as i64 - p as i64, (xo * s + kx) as i64 - p as i64);
                            if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                continue;
                            }
                            let xi = x[((b * ch + cin) * h + iy as usize) * wd + ix as usize] - zx;
                            acc += xi as i64 * w[((o * cg + ci) * kh + ky) * kw + kx];
                        }
                    }
                    out.push(acc as f32);
                }
            }
        }
    }
    out
}

#[test]
fn exact_convs_match_the_interpreter_and_the_integer_sums_bit_for_bit() {
    let mut beyond_f32 = 0;
    for (i, c) in CASES.iter().enumerate() {
        for zx in [0, 128] {
            let (g, input, w) = build(c, 11 + i as u64, zx);
            let what = format!("{} (zero point {zx})", c.name);
            let want = asplit_ir::interp::run(&g, std::slice::from_ref(&input))
                .unwrap_or_else(|e| panic!("{what}: interpreter: {e}"));
            let got = run_jit(&g, std::slice::from_ref(&input))
                .unwrap_or_else(|e| panic!("{what}: compiled: {e}"));
            assert_eq!(
                tensor_bytes(&want[0]),
                tensor_bytes(&got[0]),
                "{what}: interpreter vs compiled"
            );
            let TensorData::I32(x) = input.data() else { unreachable!("codes are i32") };
            let sums = exact_sums(c, x, zx, &w);
            let got = got[0].as_f32().expect("f32 result");
            assert_eq!(sums.len(), got.len(), "{what}");
            if let Some(k) = (0..sums.len()).find(|&k| sums[k].to_bits() != got[k].to_bits()) {
                panic!("{what}: output {k} is {}, the exact sum rounds to {}", got[k], sums[k]);
            }
            beyond_f32 += sums.iter().filter(|s| s.abs() > (1 << 24) as f32).count();
        }
    }
    // The extreme cases really leave f32's exact range (or the chunking was never tested).
    assert!(beyond_f32 > 100, "only {beyond_f32} sums beyond 2^24");
}

#[test]
fn an_exact_conv_whose_sums_could_pass_2_pow_31_is_refused() {
    // 255 · 127 · (9 · 8192) ≈ 2.4e9 > 2^31: the i32 accumulators could overflow.
    let c = Case {
        name: "huge",
        x: [1, 8192, 3, 3],
        w: [1, 8192, 3, 3],
        pads: 0,
        stride: 1,
        group: 1,
        packed: true,
        extreme: false,
    };
    let (g, input, _) = build(&c, 3, 0);
    let err = run_jit(&g, &[input]).expect_err("refused");
    assert!(err.to_string().contains("2^31"), "{err}");
}

/// `quantize(x)` read only by the unit-scale `dequantize` of an exact conv (what `exact-conv`
/// leaves behind): fused, so the quantize kernel writes `q − zp` as f32 for the conv in place,
/// and the whole chain is still bit-identical with the interpreter.
#[test]
fn a_quantize_read_by_an_exact_conv_is_fused_and_exact() {
    let (c, k, m) = (32, 3, 12);
    let x_shape = vec![1, c, 9, 9];
    let own = QuantParams {
        bits: 8,
        scheme: Scheme::Asymmetric,
        scale: vec![0.013],
        zero_point: vec![7],
        axis: None,
    };
    let unit = QuantParams { scale: vec![1.0], ..own.clone() };
    let mut g = Graph::new("fused");
    let xv = g.add_input(Some("x".into()), TensorType::new(DType::F32, x_shape.clone()));
    let q = g.add_node(OpKind::Quantize, params_to_attrs(&own), vec![xv]).expect("types");
    let qv = g.nodes[q].outputs[0];
    let xd = g.add_node(OpKind::Dequantize, params_to_attrs(&unit), vec![qv]).expect("types");
    let mut rng = Rng(7);
    let wq: Vec<f32> = (0..m * c * k * k).map(|_| rng.int(-127, 127) as f32).collect();
    let w = g.add_const(Tensor::from_f32(vec![m, c, k, k], wq).expect("w"));
    let attrs = Attrs::new()
        .with("pads", Attr::Ints(vec![1; 4]))
        .with("strides", Attr::Ints(vec![1; 2]))
        .with("dilations", Attr::Ints(vec![1; 2]))
        .with("exact_bound", Attr::Int(248));
    let e = g.add_node(
        OpKind::Conv,
        OpKind::Conv.def().with_defaults(attrs),
        vec![g.nodes[xd].outputs[0], w],
    );
    g.outputs.push(g.nodes[e.expect("types")].outputs[0]);
    asplit_ir::verify::verify(&g).expect("verifies");
    assert!(asplit_codegen::lower::boundary::fake_quant_fused(&g, q), "the quantize is fused");
    let n: usize = x_shape.iter().product();
    let x =
        Tensor::from_f32(x_shape, asplit_ir::tensor::seeded_uniform(3, n, -0.5, 3.5)).expect("x");
    let want = asplit_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interpreter");
    let got = run_jit(&g, std::slice::from_ref(&x)).expect("compiled");
    assert_eq!(tensor_bytes(&want[0]), tensor_bytes(&got[0]), "interpreter vs compiled");
}

/// An exact gemm (the fully connected layer after a flatten): `k` = 2,048 products of extreme
/// 8-bit codes per output (sums past 2^24, so chunked), with and without `trans_b`, packed
/// weights; bit-identical with the interpreter and with i64 sums.
#[test]
fn exact_gemm_matches_the_interpreter_and_the_integer_sums() {
    let (m, k, n) = (3, 2048, 10);
    for trans_b in [0, 1] {
        let mut rng = Rng(21 + trans_b as u64);
        let xq: Vec<i32> = (0..m * k).map(|_| code(&mut rng, 0, 255, true)).collect();
        let wq: Vec<i32> = (0..k * n).map(|_| code(&mut rng, -127, 127, true)).collect();
        let w_shape = if trans_b == 1 { vec![n, k] } else { vec![k, n] };
        let xp = unit_params(8, Scheme::Asymmetric, 0, None);
        let wp = QuantParams {
            axis: Some(if trans_b == 1 { 0 } else { 1 }),
            ..unit_params(8, Scheme::Symmetric, 0, Some(n))
        };
        let mut g = Graph::new("fc");
        let xv = g.add_input(Some("xq".into()), TensorType::new(DType::I32, vec![m, k]));
        let xd = g.add_node(OpKind::Dequantize, params_to_attrs(&xp), vec![xv]).expect("types");
        let cv = g.add_const(Tensor::new(w_shape.clone(), TensorData::I32(wq.clone())).expect("w"));
        let wd = g.add_node(OpKind::Dequantize, params_to_attrs(&wp), vec![cv]).expect("types");
        let attrs =
            Attrs::new().with("trans_b", Attr::Int(trans_b)).with("exact_bound", Attr::Int(255));
        let y = g.add_node(
            OpKind::Gemm,
            OpKind::Gemm.def().with_defaults(attrs),
            vec![g.nodes[xd].outputs[0], g.nodes[wd].outputs[0]],
        );
        g.outputs.push(g.nodes[y.expect("types")].outputs[0]);
        asplit_ir::verify::verify(&g).expect("verifies");
        let input = Tensor::new(vec![m, k], TensorData::I32(xq.clone())).expect("x");
        let want = asplit_ir::interp::run(&g, std::slice::from_ref(&input)).expect("interpreter");
        let got = run_jit(&g, std::slice::from_ref(&input)).expect("compiled");
        assert_eq!(tensor_bytes(&want[0]), tensor_bytes(&got[0]), "trans_b {trans_b}");
        let w_at = |kk: usize, j: usize| if trans_b == 1 { wq[j * k + kk] } else { wq[kk * n + j] };
        let got = got[0].as_f32().expect("f32");
        let mut beyond = 0;
        for i in 0..m {
            for j in 0..n {
                let s: i64 = (0..k).map(|kk| xq[i * k + kk] as i64 * w_at(kk, j) as i64).sum();
                assert_eq!(
                    got[i * n + j].to_bits(),
                    (s as f32).to_bits(),
                    "trans_b {trans_b} ({i}, {j})"
                );
                beyond += usize::from(s.abs() > 1 << 24);
            }
        }
        assert!(beyond > 0, "no sum beyond 2^24");
    }
}
