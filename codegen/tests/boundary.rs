//! The Split-phase boundary ops compiled (`quantize`, `dequantize`, `pack`, `unpack`) against
//! the reference interpreter, bit for bit: seeded random values and codes, bits 1..=16,
//! asym/sym, per tensor and per axis, odd element counts (partial bytes), NaN/±∞/−0, exact ties
//! and out-of-range values. Also quantized constant weights: `const codes → dequantize →
//! conv/gemm/matmul` within the usual linear-algebra tolerance, and the object file smaller
//! than with f32 weights. Does not test send/recv (they never reach codegen).

use asplit_codegen::forward::{lower_graph, LowerOptions};
use asplit_codegen::target::Target;
use asplit_codegen::testing::{check_graph, run_jit, tensor_bytes};
use asplit_ir::quant::{self, QuantParams, Scheme};
use asplit_ir::shape::quant::params_to_attrs;
use asplit_ir::tensor::seeded_uniform;
use asplit_ir::{Attr, Attrs, DType, Graph, OpKind, Tensor, TensorData, TensorType, ValueId};
use inkwell::context::Context;

const BITS: [u8; 10] = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16];

mod common;
use common::Rng;

/// Parameters of `bits`/`scheme` for a tensor of `shape`, per tensor or per `axis`, with
/// seeded scales (a power of two among them, so ties are exact) and zero points.
fn params(
    bits: u8,
    scheme: Scheme,
    shape: &[usize],
    axis: Option<usize>,
    rng: &mut Rng,
) -> QuantParams {
    let channels = axis.map_or(1, |a| shape[a]);
    let mut p = QuantParams { bits, scheme, scale: Vec::new(), zero_point: Vec::new(), axis };
    let qmax = p.qmax() as i64;
    for c in 0..channels {
        let s = if c % 3 == 0 { 0.25 } else { 0.001 + (rng.int(1, 1000) as f32) * 0.0137 };
        p.scale.push(s);
        p.zero_point.push(match scheme {
            Scheme::Asymmetric => rng.int(0, qmax) as i32,
            Scheme::Symmetric => 0,
        });
    }
    p.validate(shape).expect("valid parameters");
    p
}

/// Values covering the code range and beyond, exact ties of every scale, and the specials.
fn probe(n: usize, p: &QuantParams, seed: u64) -> Vec<f32> {
    let span = p.scale.iter().fold(0.0f32, |a, &s| a.max(s)) * (1u32 << p.bits) as f32;
    let mut v = seeded_uniform(seed, n, -1.5 * span, 1.5 * span);
    let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, f32::MAX, -f32::MAX];
    for (i, x) in v.iter_mut().enumerate() {
        match i % 5 {
            0 => *x = specials[(i / 5) % specials.len()],
            // k + 1/2 steps of a power-of-two scale: an exact tie for round-half-even.
            1 => *x = ((i as f32 / 5.0).floor() - 20.0 + 0.5) * 0.25,
            _ => {}
        }
    }
    v
}

/// A graph `x → op(attrs) → y` with `x` of type `ty`.
fn one_node(op: OpKind, attrs: Attrs, ty: TensorType) -> Graph {
    let mut g = Graph::new("b");
    let x = g.add_input(Some("x".into()), ty);
    let n = g.add_node(op, op.def().with_defaults(attrs), vec![x]).expect("types");
    g.outputs.push(g.nodes[n].outputs[0]);
    asplit_ir::verify::verify(&g).expect("verifies");
    g
}

/// Compiled and interpreted outputs have the same bytes.
fn assert_exact(g: &Graph, inputs: &[Tensor], what: &str) {
    let want = asplit_ir::interp::run(g, inputs).unwrap_or_else(|e| panic!("{what}: {e}"));
    let got = run_jit(g, inputs).unwrap_or_else(|e| panic!("{what}: {e}"));
    for (w, o) in want.iter().zip(&got) {
        assert_eq!(w.ty(), o.ty(), "{what}");
        let (wb, ob) = (tensor_bytes(w), tensor_bytes(o));
        if let Some(i) = (0..wb.len()).find(|&i| wb[i] != ob[i]) {
            panic!("{what}: byte {i} differs: interpreter {:?}, compiled {:?}", w.data(), o.data());
        }
    }
}

/// Shapes with per-axis choices: (shape, axis).
fn layouts() -> Vec<(Vec<usize>, Option<usize>)> {
    vec![
        (vec![37], None),
        (vec![3, 5, 7], None),
        (vec![3, 5, 7], Some(1)),
        (vec![4, 9], Some(0)),
        (vec![2, 3, 5], Some(2)),
        (vec![1], None),
    ]
}

#[test]
fn quantize_matches_the_interpreter_bit_for_bit() {
    let mut rng = Rng(0x5EED_0001);
    for bits in BITS {
        for scheme in [Scheme::Asymmetric, Scheme::Symmetric] {
            for (shape, axis) in layouts() {
                let p = params(bits, scheme, &shape, axis, &mut rng);
                let n: usize = shape.iter().product();
                let x = Tensor::from_f32(shape.clone(), probe(n, &p, bits as u64)).expect("x");
                let g = one_node(
                    OpKind::Quantize,
                    params_to_attrs(&p),
                    TensorType::new(DType::F32, shape.clone()),
                );
                assert_exact(&g, &[x], &format!("quantize {bits} {scheme:?} {shape:?} {axis:?}"));
            }
        }
    }
}

/// Codes around and beyond the range of `p` (within ±2^20, where `q − z` cannot overflow).
fn codes(n: usize, p: &QuantParams, rng: &mut Rng) -> Vec<i32> {
    let (lo, hi) = (p.qmin() as i64, p.qmax() as i64);
    (0..n)
        .map(|i| match i % 7 {
            0 => rng.int(-(1 << 20), 1 << 20) as i32,
            _ => rng.int(lo, hi) as i32,
        })
        .collect()
}

#[test]
fn dequantize_of_a_buffer_matches_bit_for_bit() {
    let mut rng = Rng(0x5EED_0002);
    for bits in BITS {
        for scheme in [Scheme::Asymmetric, Scheme::Symmetric] {
            for (shape, axis) in layouts() {
                let p = params(bits, scheme, &shape, axis, &mut rng);
                let n: usize = shape.iter().product();
                let q = Tensor::new(shape.clone(), TensorData::I32(codes(n, &p, &mut rng)));
                let g = one_node(
                    OpKind::Dequantize,
                    params_to_attrs(&p),
                    TensorType::new(DType::I32, shape.clone()),
                );
                let what = format!("dequantize {bits} {scheme:?} {shape:?} {axis:?}");
                assert_exact(&g, &[q.expect("q")], &what);
            }
        }
    }
}

/// `const codes → dequantize → output` (and `+ x`, so the graph has an input).
fn const_dequantize_graph(q: Tensor, p: &QuantParams) -> Graph {
    let mut g = Graph::new("c");
    let shape = q.shape().to_vec();
    let x = g.add_input(Some("x".into()), TensorType::new(DType::F32, shape));
    let c = g.add_const(q);
    let d = g.add_node(OpKind::Dequantize, params_to_attrs(p), vec![c]).expect("types");
    let d = g.nodes[d].outputs[0];
    let s = g.add_node(OpKind::Add, Attrs::new(), vec![d, x]).expect("types");
    g.outputs.push(d);
    g.outputs.push(g.nodes[s].outputs[0]);
    asplit_ir::verify::verify(&g).expect("verifies");
    g
}

#[test]
fn dequantize_of_packed_constant_codes_matches_bit_for_bit() {
    let mut rng = Rng(0x5EED_0003);
    for bits in BITS {
        for scheme in [Scheme::Asymmetric, Scheme::Symmetric] {
            for (shape, axis) in layouts() {
                let p = params(bits, scheme, &shape, axis, &mut rng);
                let n: usize = shape.iter().product();
                // In-range codes (packed at `bits`), then some beyond (a wider width).
                for wide in [false, true] {
                    let mut c = codes(n, &p, &mut rng);
                    if !wide {
                        c.iter_mut().for_each(|v| *v = (*v).clamp(p.qmin(), p.qmax()));
                    }
                    let q = Tensor::new(shape.clone(), TensorData::I32(c)).expect("q");
                    let g = const_dequantize_graph(q, &p);
                    let x = Tensor::from_f32(shape.clone(), vec![0.5; n]).expect("x");
                    let what = format!("const dequantize {bits} {scheme:?} {shape:?} {axis:?}");
                    assert_exact(&g, &[x], &format!("{what} wide={wide}"));
                }
            }
        }
    }
}

fn bits_attr(bits: u8) -> Attrs {
    Attrs::new().with("bits", Attr::Int(bits as i64))
}

fn unpack_attrs(bits: u8, shape: &[usize], signed: bool) -> Attrs {
    bits_attr(bits)
        .with("shape", Attr::Ints(shape.iter().map(|&d| d as i64).collect()))
        .with("signed", Attr::Int(signed as i64))
}

const COUNTS: [usize; 9] = [1, 3, 7, 8, 9, 13, 16, 37, 101];

#[test]
fn pack_matches_the_interpreter_bit_for_bit() {
    let mut rng = Rng(0x5EED_0004);
    for bits in 1..=16u8 {
        for n in COUNTS {
            for signed in [false, true] {
                let (lo, hi) = if signed {
                    (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
                } else {
                    (0, (1i64 << bits) - 1)
                };
                let c: Vec<i32> = (0..n).map(|_| rng.int(lo, hi) as i32).collect();
                let q = Tensor::new(vec![n], TensorData::I32(c)).expect("q");
                let g = one_node(OpKind::Pack, bits_attr(bits), TensorType::new(DType::I32, [n]));
                assert_exact(&g, &[q], &format!("pack {bits} bits, {n} codes, signed={signed}"));
            }
        }
    }
}

#[test]
fn pack_masks_codes_outside_the_bit_range() {
    let mut rng = Rng(0x5EED_0005);
    for bits in [1u8, 3, 4, 8, 11] {
        let n = 29;
        let c: Vec<i32> = (0..n).map(|_| rng.int(-100_000, 100_000) as i32).collect();
        let g = one_node(OpKind::Pack, bits_attr(bits), TensorType::new(DType::I32, [n]));
        let q = Tensor::new(vec![n], TensorData::I32(c.clone())).expect("q");
        assert!(
            asplit_ir::interp::run(&g, std::slice::from_ref(&q)).is_err(),
            "interpreter errors"
        );
        let got = run_jit(&g, &[q]).expect("runs");
        let mask = (1i64 << bits) - 1;
        let masked: Vec<i32> = c.iter().map(|&v| (v as i64 & mask) as i32).collect();
        assert_eq!(got[0].data(), &TensorData::U8(quant::pack(&masked, bits)), "{bits} bits");
    }
}

#[test]
fn unpack_matches_the_interpreter_bit_for_bit() {
    let mut rng = Rng(0x5EED_0006);
    for bits in 1..=16u8 {
        for n in COUNTS {
            for signed in [false, true] {
                let len = quant::packed_len(n, bits);
                let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                let x = Tensor::new(vec![len], TensorData::U8(bytes)).expect("bytes");
                let shape = if n % 2 == 1 && n > 1 { vec![1, n] } else { vec![n] };
                let g = one_node(
                    OpKind::Unpack,
                    unpack_attrs(bits, &shape, signed),
                    TensorType::new(DType::U8, [len]),
                );
                assert_exact(&g, &[x], &format!("unpack {bits} bits, {n} codes, signed={signed}"));
            }
        }
    }
}

/// The boundary chain `x → quantize → pack → unpack → dequantize` (edge then cloud), every
/// intermediate an output.
#[test]
fn the_boundary_chain_round_trips_exactly() {
    let mut rng = Rng(0x5EED_0007);
    for bits in [2u8, 3, 4, 5, 8] {
        for scheme in [Scheme::Asymmetric, Scheme::Symmetric] {
            let shape = vec![1, 3, 5, 5];
            let p = params(bits, scheme, &shape, None, &mut rng);
            let mut g = Graph::new("chain");
            let x = g.add_input(Some("x".into()), TensorType::new(DType::F32, shape.clone()));
            let add = |g: &mut Graph, op: OpKind, a: Attrs, v: ValueId| -> ValueId {
                let n = g.add_node(op, op.def().with_defaults(a), vec![v]).expect("types");
                g.nodes[n].outputs[0]
            };
            let q = add(&mut g, OpKind::Quantize, params_to_attrs(&p), x);
            let b = add(&mut g, OpKind::Pack, bits_attr(bits), q);
            let signed = scheme == Scheme::Symmetric;
            let u = add(&mut g, OpKind::Unpack, unpack_attrs(bits, &shape, signed), b);
            let d = add(&mut g, OpKind::Dequantize, params_to_attrs(&p), u);
            g.outputs.extend([q, b, u, d]);
            asplit_ir::verify::verify(&g).expect("verifies");
            let xv = probe(75, &p, 99);
            let xt = Tensor::from_f32(shape.clone(), xv).expect("x");
            assert_exact(&g, std::slice::from_ref(&xt), &format!("chain {bits} {scheme:?}"));
            let out = run_jit(&g, &[xt]).expect("runs");
            assert_eq!(out[0], out[2], "unpack(pack(q)) == q");
        }
    }
}

/// Edge activation fake quantization `x → quantize → dequantize(s) → relu`: fused (the
/// quantize stores the values, the dequantizes alias its buffer) when no one needs the
/// codes, not fused when a `pack` reads them too; exact either way.
#[test]
fn activation_fake_quantization_is_fused_and_exact() {
    let mut rng = Rng(0x5EED_0008);
    for bits in [1u8, 3, 4, 8, 16] {
        for scheme in [Scheme::Asymmetric, Scheme::Symmetric] {
            for (shape, axis) in [(vec![1, 4, 5, 3], None), (vec![1, 4, 5, 3], Some(1))] {
                for (readers, pack) in [(1, false), (2, false), (1, true)] {
                    let p = params(bits, scheme, &shape, axis, &mut rng);
                    let mut g = Graph::new("fq");
                    let ty = TensorType::new(DType::F32, shape.clone());
                    let x = g.add_input(Some("x".into()), ty);
                    let q = g.add_node(OpKind::Quantize, params_to_attrs(&p), vec![x]);
                    let q = g.nodes[q.expect("types")].outputs[0];
                    let mut deq = Vec::new();
                    for _ in 0..readers {
                        let d = g.add_node(OpKind::Dequantize, params_to_attrs(&p), vec![q]);
                        let d = d.expect("types");
                        deq.push(d);
                        let r = g.add_node(OpKind::Relu, Attrs::new(), vec![g.nodes[d].outputs[0]]);
                        g.outputs.push(g.nodes[r.expect("types")].outputs[0]);
                    }
                    if pack {
                        let b = g.add_node(OpKind::Pack, bits_attr(bits), vec![q]).expect("types");
                        g.outputs.push(g.nodes[b].outputs[0]);
                    }
                    asplit_ir::verify::verify(&g).expect("verifies");
                    let n: usize = shape.iter().product();
                    let xt = Tensor::from_f32(shape.clone(), probe(n, &p, 7)).expect("x");
                    let what =
                        format!("fake quant {bits} {scheme:?} {axis:?} ×{readers} pack={pack}");
                    assert_exact(&g, &[xt], &what);
                    let aliased = asplit_codegen::arena::plan(&g).aliases;
                    assert_eq!(deq.iter().all(|d| aliased.contains(d)), !pack, "{what}");
                    assert_eq!(deq.iter().any(|d| aliased.contains(d)), !pack, "{what}");
                }
            }
        }
    }
}

/// A conv (or gemm) whose weights are `dequantize(const codes)`, per output channel, plus
/// the same op with the dequantized weights as an f32 constant.
struct QuantLayer {
    quantized: Graph,
    float: Graph,
}

fn weight_codes(shape: &[usize], bits: u8, axis: usize, seed: u64) -> (Tensor, QuantParams) {
    let n: usize = shape.iter().product();
    let k = (n / shape[axis]) as f32;
    let w = seeded_uniform(seed, n, -1.0, 1.0);
    let absmax: Vec<f32> = (0..shape[axis]).map(|c| (1.0 + c as f32 * 0.1) / k.sqrt()).collect();
    let p = QuantParams::symmetric_per_channel(bits, &absmax, Some(axis)).expect("params");
    let scaled: Vec<f32> = w
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let inner: usize = shape[axis + 1..].iter().product();
            v * absmax[(i / inner) % shape[axis]]
        })
        .collect();
    let q = p.quantize(&scaled, shape);
    (Tensor::new(shape.to_vec(), TensorData::I32(q)).expect("codes"), p)
}

/// `op(x, W, bias)` with `W` quantized (`bits`, per channel on `axis`) and as f32.
fn quant_layer(
    op: OpKind,
    x: &[usize],
    w: &[usize],
    axis: usize,
    bits: u8,
    attrs: Attrs,
) -> QuantLayer {
    let (codes, p) = weight_codes(w, bits, axis, 17);
    let dequantized = p.dequantize(
        match codes.data() {
            TensorData::I32(v) => v,
            _ => unreachable!("codes are i32"),
        },
        w,
    );
    // Output channels: conv's axis 0, gemm's and matmul's n (the last axis of B, axis 0 of Bᵀ).
    let bias_len = w[axis];
    let build = |quantized: bool| {
        let mut g = Graph::new("layer");
        let xv = g.add_input(Some("x".into()), TensorType::new(DType::F32, x.to_vec()));
        let wv = if quantized {
            let c = g.add_const(codes.clone());
            let d = g.add_node(OpKind::Dequantize, params_to_attrs(&p), vec![c]).expect("types");
            g.nodes[d].outputs[0]
        } else {
            g.add_const(Tensor::from_f32(w.to_vec(), dequantized.clone()).expect("w"))
        };
        let b = g.add_const(
            Tensor::from_f32([bias_len], seeded_uniform(5, bias_len, -0.5, 0.5)).expect("b"),
        );
        let n = g.add_node(op, op.def().with_defaults(attrs.clone()), vec![xv, wv, b]);
        g.outputs.push(g.nodes[n.expect("types")].outputs[0]);
        asplit_ir::verify::verify(&g).expect("verifies");
        g
    };
    QuantLayer { quantized: build(true), float: build(false) }
}

fn conv_attrs(pads: usize, stride: usize, group: usize) -> Attrs {
    Attrs::new()
        .with("pads", Attr::Ints(vec![pads as i64; 4]))
        .with("strides", Attr::Ints(vec![stride as i64; 2]))
        .with("group", Attr::Int(group as i64))
        .with("dilations", Attr::Ints(vec![1; 2]))
}

fn layers() -> Vec<(String, QuantLayer)> {
    let mut v = Vec::new();
    for bits in [2u8, 4, 8] {
        let cases = [
            ("conv 3x3", [1, 8, 12, 12], [16, 8, 3, 3], conv_attrs(1, 1, 1)),
            ("conv 1x1", [2, 5, 7, 7], [11, 5, 1, 1], conv_attrs(0, 1, 1)),
            ("grouped conv", [1, 6, 9, 9], [9, 2, 3, 3], conv_attrs(1, 2, 3)),
            ("depthwise conv", [1, 7, 10, 10], [7, 1, 3, 3], conv_attrs(1, 1, 7)),
        ];
        for (name, x, w, a) in cases {
            v.push((format!("{name} {bits} bits"), quant_layer(OpKind::Conv, &x, &w, 0, bits, a)));
        }
        for tb in [false, true] {
            let a = Attrs::new().with("trans_b", Attr::Int(tb as i64));
            let (w, axis) = if tb { ([13, 21], 0) } else { ([21, 13], 1) };
            let l = quant_layer(OpKind::Gemm, &[3, 21], &w, axis, bits, a);
            v.push((format!("gemm trans_b={tb} {bits} bits"), l));
        }
        let l = quant_layer(OpKind::MatMul, &[2, 5, 21], &[21, 13], 1, bits, Attrs::new());
        v.push((format!("matmul {bits} bits"), l));
        let l = quant_layer(OpKind::MatMul, &[2, 5, 21], &[2, 21, 13], 2, bits, Attrs::new());
        v.push((format!("batched matmul {bits} bits"), l));
    }
    v
}

#[test]
fn quantized_weights_feed_conv_gemm_and_matmul_like_the_interpreter() {
    for (name, l) in layers() {
        let x: Vec<Tensor> = l
            .quantized
            .inputs
            .iter()
            .map(|&v| {
                let ty = &l.quantized.values[v].ty;
                Tensor::from_f32(ty.shape.clone(), seeded_uniform(3, ty.numel(), -1.0, 1.0))
                    .expect("x")
            })
            .collect();
        check_graph(&l.quantized, &x, 1e-4, 1e-5).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Same result as the f32-weight layer: the decoded weights are the dequantized ones.
        let a = run_jit(&l.quantized, &x).expect("runs");
        let b = run_jit(&l.float, &x).expect("runs");
        assert_eq!(a, b, "{name}: quantized vs dequantized-constant weights");
        // The unread dequantize result takes no scratch bytes.
        let (pq, pf) =
            (asplit_codegen::arena::plan(&l.quantized), asplit_codegen::arena::plan(&l.float));
        assert_eq!(pq.size, pf.size, "{name}: scratch bytes");
    }
}

/// Object file bytes of `g` compiled for the host at O3, and whether the module decodes
/// weights once (has a `wdec_ready` guard).
fn object_size(g: &Graph) -> (usize, bool) {
    let target = Target::host().expect("host");
    let ctx = Context::create();
    let opts = LowerOptions { lanes: target.lanes, ..LowerOptions::default() };
    let lowered = lower_graph(&ctx, g, &opts, &mut |_, _| {}).expect("lowers");
    let decodes = lowered.module.print_to_string().to_string().contains("@wdec_ready");
    target.configure(&lowered.module);
    target.optimize(&lowered.module).expect("optimises");
    (target.object_bytes(&lowered.module).expect("object").len(), decodes)
}

#[test]
fn packed_weights_make_the_object_smaller() {
    // 64·64·3·3 = 36864 weights: 147456 bytes as f32, 18432 packed at 4 bits.
    for bits in [4u8, 8] {
        let l = quant_layer(
            OpKind::Conv,
            &[1, 64, 8, 8],
            &[64, 64, 3, 3],
            0,
            bits,
            conv_attrs(1, 1, 1),
        );
        let ((q, decodes), (f, float_decodes)) = (object_size(&l.quantized), object_size(&l.float));
        assert!(decodes && !float_decodes, "the quantized conv decodes its weights once");
        let weights_f32 = 64 * 64 * 9 * 4;
        let packed = weights_f32 * bits as usize / 32;
        eprintln!("3x3 conv 64x64, {bits}-bit weights: object {q} bytes, f32 weights {f} bytes");
        assert!(
            q + weights_f32 - packed <= f + 16 * 1024,
            "{bits} bits: quantized object {q} bytes, f32 object {f} bytes"
        );
        assert!(q < f - (weights_f32 - packed) * 9 / 10, "{bits} bits: {q} vs {f}");
    }
}

#[test]
fn a_decoded_weight_that_is_also_an_output_is_still_computed() {
    // The conv decodes the weights itself; the dequantize must still fill its result, which
    // here is a graph output too.
    let mut l = quant_layer(OpKind::Conv, &[1, 3, 6, 6], &[5, 3, 3, 3], 0, 4, conv_attrs(1, 1, 1));
    let g = &mut l.quantized;
    let conv = g.order.iter().copied().find(|&n| g.nodes[n].op == OpKind::Conv).expect("conv");
    let w = g.nodes[conv].inputs[1];
    g.outputs.push(w);
    let x = Tensor::from_f32([1, 3, 6, 6], seeded_uniform(8, 108, -1.0, 1.0)).expect("x");
    check_graph(g, std::slice::from_ref(&x), 1e-4, 1e-5).expect("matches the interpreter");
    let want = asplit_ir::interp::run(g, std::slice::from_ref(&x)).expect("interprets");
    let got = run_jit(g, &[x]).expect("runs");
    assert_eq!(tensor_bytes(&want[1]), tensor_bytes(&got[1]), "dequantized weights, exactly");
}

/// How a bench graph gets its conv weights.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Weights {
    /// f32 constants (packed at compile time).
    Float,
    /// `dequantize(const codes)`: bit-packed, decoded once into the packed layout.
    Decoded,
    /// `identity(dequantize(const codes))`: decoded on every forward pass into a buffer the
    /// conv reads as run-time weights.
    PerCall,
}

/// A MobileNet-like stack of convs on a 56×56 image (3×3, depthwise, 1×1), 4-bit weights.
fn bench_graph(mode: Weights) -> Graph {
    let mut g = Graph::new("bench");
    let mut x = g.add_input(Some("x".into()), TensorType::new(DType::F32, [1, 32, 56, 56]));
    let layers: [(usize, usize, usize, usize); 7] = [
        (64, 32, 3, 1),
        (64, 1, 3, 64),
        (64, 64, 1, 1),
        (64, 64, 3, 1),
        (128, 64, 1, 1),
        (128, 1, 3, 128),
        (64, 128, 1, 1),
    ];
    for (i, &(m, c, k, group)) in layers.iter().enumerate() {
        let shape = [m, c, k, k];
        let (codes, p) = weight_codes(&shape, 4, 0, 40 + i as u64);
        let w = match mode {
            Weights::Float => {
                let TensorData::I32(q) = codes.data() else { panic!("codes") };
                let f = p.dequantize(q, &shape);
                g.add_const(Tensor::from_f32(shape.to_vec(), f).expect("w"))
            }
            Weights::Decoded | Weights::PerCall => {
                let cv = g.add_const(codes);
                let d = g.add_node(OpKind::Dequantize, params_to_attrs(&p), vec![cv]);
                let d = g.nodes[d.expect("types")].outputs[0];
                if mode == Weights::PerCall {
                    let n = g.add_node(OpKind::Identity, Attrs::new(), vec![d]).expect("types");
                    g.nodes[n].outputs[0]
                } else {
                    d
                }
            }
        };
        let b = g.add_const(Tensor::from_f32([m], vec![0.01; m]).expect("b"));
        let mut a = conv_attrs(k / 2, 1, group);
        asplit_ir::Activation::Relu.write(&mut a);
        let n = g.add_node(OpKind::Conv, OpKind::Conv.def().with_defaults(a), vec![x, w, b]);
        x = g.nodes[n.expect("types")].outputs[0];
    }
    g.outputs.push(x);
    asplit_ir::verify::verify(&g).expect("verifies");
    g
}

/// A 64-byte-aligned buffer of `len` bytes inside an over-allocated vector.
struct Aligned {
    data: Vec<u8>,
    off: usize,
    len: usize,
}

impl Aligned {
    fn new(len: usize) -> Aligned {
        let data = vec![0u8; len + 64];
        let off = data.as_ptr().align_offset(64).min(64);
        Aligned { data, off, len }
    }
    fn bytes(&mut self) -> &mut [u8] {
        &mut self.data[self.off..self.off + self.len]
    }
    fn ptr(&mut self) -> *mut u8 {
        self.bytes().as_mut_ptr()
    }
}

/// Calls `forward` of `g` (JIT, host, O3) `calls` times on `inputs`: the outputs after the
/// last call and the milliseconds of each call.
#[allow(unsafe_code)]
fn jit_calls(g: &Graph, inputs: &[Tensor], calls: usize) -> (Vec<Tensor>, Vec<f64>) {
    let target = Target::host().expect("host");
    let ctx = Context::create();
    let opts = LowerOptions { lanes: target.lanes, ..LowerOptions::default() };
    let lowered = lower_graph(&ctx, g, &opts, &mut |_, _| {}).expect("lowers");
    target.configure(&lowered.module);
    target.optimize(&lowered.module).expect("optimises");
    let engine = lowered
        .module
        .create_jit_execution_engine(inkwell::OptimizationLevel::Aggressive)
        .expect("JIT");
    let addr = engine.get_function_address("forward").expect("forward");
    let size = |v: ValueId| g.values[v].ty.size_bytes();
    let mut ins: Vec<Aligned> = g.inputs.iter().map(|&v| Aligned::new(size(v))).collect();
    for (buf, t) in ins.iter_mut().zip(inputs) {
        buf.bytes().copy_from_slice(&tensor_bytes(t));
    }
    let mut outs: Vec<Aligned> = g.outputs.iter().map(|&v| Aligned::new(size(v))).collect();
    let mut scratch = Aligned::new(lowered.info.scratch_bytes as usize);
    let in_ptrs: Vec<*mut u8> = ins.iter_mut().map(Aligned::ptr).collect();
    let out_ptrs: Vec<*mut u8> = outs.iter_mut().map(Aligned::ptr).collect();
    let scratch_ptr = scratch.ptr();
    type Forward = unsafe extern "C" fn(*const *mut u8, *const *mut u8, *mut u8);
    // SAFETY: `addr` is `forward` of the live engine, `void(ptr, ptr, ptr)`; every buffer is
    // 64-byte aligned and at least its value's size, the scratch at least `scratch_bytes`.
    let f: Forward = unsafe { std::mem::transmute::<usize, Forward>(addr) };
    let ms: Vec<f64> = (0..calls)
        .map(|_| {
            let t = std::time::Instant::now();
            // SAFETY: as above; the buffers outlive the calls.
            unsafe { f(in_ptrs.as_ptr(), out_ptrs.as_ptr(), scratch_ptr) };
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    let results = g
        .outputs
        .iter()
        .zip(outs.iter_mut())
        .map(|(&v, buf)| {
            let ty = &g.values[v].ty;
            asplit_codegen::testing::tensor_from_bytes(ty.dtype, &ty.shape, buf.bytes())
                .expect("output")
        })
        .collect();
    (results, ms)
}

/// `cargo test --release -p asplit-codegen --test boundary -- --ignored --nocapture`:
/// forward time of the bench stack with f32 weights, 4-bit weights decoded once, and 4-bit
/// weights decoded on every call (conv reading run-time weights).
#[test]
#[ignore = "benchmark: prints timings"]
fn bench_quantized_weights() {
    let x = Tensor::from_f32([1, 32, 56, 56], seeded_uniform(1, 32 * 56 * 56, -1.0, 1.0));
    let x = x.expect("x");
    for mode in [Weights::Float, Weights::Decoded, Weights::PerCall].repeat(3) {
        let (_, mut ms) = jit_calls(&bench_graph(mode), std::slice::from_ref(&x), 63);
        let mut ms = ms.split_off(3);
        ms.sort_by(f64::total_cmp);
        eprintln!("{mode:?}: median {:.3} ms, min {:.3} ms", ms[ms.len() / 2], ms[0]);
    }
}

/// The weights are decoded on the first call only, and later calls still see them: the
/// output of the third forward pass of the 4-bit stack equals, bit for bit, that of the stack
/// with the dequantized weights as f32 constants (each layer is compared with the
/// interpreter in `quantized_weights_feed_conv_gemm_and_matmul_like_the_interpreter`).
#[test]
fn later_calls_reuse_the_decoded_weights() {
    let x = Tensor::from_f32([1, 32, 56, 56], seeded_uniform(2, 32 * 56 * 56, -1.0, 1.0));
    let x = vec![x.expect("x")];
    let (float, _) = jit_calls(&bench_graph(Weights::Float), &x, 1);
    let (first, _) = jit_calls(&bench_graph(Weights::Decoded), &x, 1);
    let (third, _) = jit_calls(&bench_graph(Weights::Decoded), &x, 3);
    assert_eq!(first, float, "first call");
    assert_eq!(third, float, "third call");
    assert!(float[0].data().to_f64_vec().iter().any(|&v| v > 0.0), "a non-trivial output");
}
