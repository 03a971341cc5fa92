//! Casts from f32/f64 to bf16 and the coded dtypes (float8, float4, int4, int2), compiled
//! and run in-process, compared bit for bit with the interpreter on values covering every
//! code, the ties between neighbouring codes and one ulp either side, overflow, ±∞, NaN,
//! subnormals and pseudo-random bit patterns. Does not cover quantize_linear.

use asplit_codegen::testing::{run_jit, tensor_bytes};
use asplit_ir::{DType, Tensor};

const TARGETS: [&str; 11] = [
    "bf16",
    "i4",
    "u4",
    "i2",
    "u2",
    "f8e4m3fn",
    "f8e4m3fnuz",
    "f8e5m2",
    "f8e5m2fnuz",
    "f4e2m1",
    "f8e8m0",
];

/// Pseudo-random f32 bit patterns (a fixed xorshift sequence).
fn random_bits(n: usize) -> Vec<f32> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            f32::from_bits((s >> 32) as u32)
        })
        .collect()
}

/// Every code's value of every coded target, the midpoints of neighbours and one ulp around
/// each, the specials, and random bit patterns (also with bf16 ties: low half 0x8000).
fn probe_values() -> Vec<f32> {
    let mut v: Vec<f32> = vec![
        0.0,
        -0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -f32::NAN,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::from_bits(0x8000_0001),
        1e30,
        -1e30,
    ];
    for c in asplit_ir::CodedType::ALL {
        let mut vals: Vec<f64> =
            (0..=c.mask()).map(|k| c.to_f64(k)).filter(|x| !x.is_nan()).collect();
        vals.sort_by(f64::total_cmp);
        let mids: Vec<f64> = vals.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
        for x in vals.iter().chain(&mids) {
            let f = *x as f32;
            v.extend([f, f.next_up(), f.next_down(), f * 1.5, -f]);
        }
    }
    let r = random_bits(4000);
    v.extend(r.iter().map(|x| f32::from_bits((x.to_bits() & 0xFFFF_0000) | 0x8000)));
    v.extend(r);
    v
}

fn graph_text(from: &str, n: usize, attrs: &str) -> String {
    let mut body = String::new();
    let mut rets = Vec::new();
    for (i, t) in TARGETS.iter().enumerate() {
        body.push_str(&format!("  %y{i} = cast(%x) {{{attrs}to = {t}}} : {t}[{n}]\n"));
        rets.push(format!("%y{i} \"y{i}\""));
    }
    format!("graph @g(%x: {from}[{n}] \"x\") {{\n{body}  return {}\n}}", rets.join(", "))
}

fn check(from: &str, attrs: &str, x: Tensor) {
    let n = x.numel();
    let text = graph_text(from, n, attrs);
    let g = asplit_ir::parse::parse(&text).unwrap_or_else(|e| panic!("parse: {e}\n{text}"));
    asplit_ir::verify::verify(&g).unwrap_or_else(|v| panic!("verify: {v:?}"));
    let want = asplit_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interprets");
    let got = run_jit(&g, std::slice::from_ref(&x)).expect("compiles and runs");
    let xs = x.data().to_f64_vec();
    for ((w, o), t) in want.iter().zip(&got).zip(TARGETS) {
        assert_eq!(o.dtype(), w.dtype());
        let (wb, ob) = (tensor_bytes(w), tensor_bytes(o));
        let size = if w.dtype() == DType::BF16 { 2 } else { 1 };
        for (i, (a, b)) in wb.chunks(size).zip(ob.chunks(size)).enumerate() {
            assert_eq!(a, b, "{from} → {t} ({attrs}) of {:e}: want {a:?}, got {b:?}", xs[i]);
        }
        assert_eq!(wb.len(), ob.len());
    }
}

fn f32_input() -> Tensor {
    let v = probe_values();
    Tensor::from_f32([v.len()], v).expect("1-d")
}

#[test]
fn f32_to_narrow_types_saturating() {
    check("f32", "", f32_input());
}

#[test]
fn f32_to_narrow_types_without_saturation() {
    check("f32", "saturate = 0, ", f32_input());
}

#[test]
fn f32_to_e8m0_round_modes() {
    for mode in ["up", "down", "nearest"] {
        check("f32", &format!("round_mode = \"{mode}\", "), f32_input());
    }
}

#[test]
fn f64_to_narrow_types() {
    let mut v: Vec<f64> = probe_values().into_iter().map(f64::from).collect();
    // Values between two f32s: rounding must use all of the f64's bits.
    let extra: Vec<f64> = v.iter().map(|x| x * (1.0 + f64::EPSILON * 3.0)).collect();
    v.extend(extra);
    v.extend([f64::MAX, f64::MIN_POSITIVE, 1e-320, -1e300]);
    let x = Tensor::new([v.len()], asplit_ir::TensorData::F64(v)).expect("1-d");
    check("f64", "", x.clone());
    check("f64", "saturate = 0, ", x);
}

/// quantize_linear to each narrow type and dequantize_linear back, per tensor (the scale an
/// input; zero points for the integer codes), compiled vs interpreted, bit for bit.
fn check_quant(attrs: &str) {
    let v = probe_values();
    let n = v.len();
    let mut body = String::new();
    let mut rets = Vec::new();
    let types =
        ["i4", "u4", "i2", "u2", "f8e4m3fn", "f8e4m3fnuz", "f8e5m2", "f8e5m2fnuz", "f4e2m1"];
    for (i, t) in types.iter().enumerate() {
        let int = t.starts_with('i') || t.starts_with('u');
        let zp = if int { format!(", %z{i}") } else { String::new() };
        if int {
            body.push_str(&format!("  %z{i} = cast(%k) {{to = {t}}} : {t}[]\n"));
        }
        body.push_str(&format!(
            "  %q{i} = quantize_linear(%x, %s{zp}) {{{attrs}to = {t}}} : {t}[{n}]\n"
        ));
        body.push_str(&format!("  %d{i} = dequantize_linear(%q{i}, %s{zp}) : f32[{n}]\n"));
        rets.push(format!("%q{i} \"q{i}\", %d{i} \"d{i}\""));
    }
    let text = format!(
        "graph @g(%x: f32[{n}] \"x\", %s: f32[] \"s\", %k: f32[] \"k\") {{\n{body}  return {}\n}}",
        rets.join(", ")
    );
    let g = asplit_ir::parse::parse(&text).unwrap_or_else(|e| panic!("parse: {e}\n{text}"));
    asplit_ir::verify::verify(&g).unwrap_or_else(|v| panic!("verify: {v:?}"));
    for (scale, zero) in [(1.0f32, 1.0f32), (0.37, -1.0), (3.0, 0.0)] {
        let inputs = [
            Tensor::from_f32([n], v.clone()).expect("1-d"),
            Tensor::from_f32(Vec::<usize>::new(), vec![scale]).expect("scalar"),
            Tensor::from_f32(Vec::<usize>::new(), vec![zero]).expect("scalar"),
        ];
        let want = asplit_ir::interp::run(&g, &inputs).expect("interprets");
        let got = run_jit(&g, &inputs).expect("compiles and runs");
        for (i, (w, o)) in want.iter().zip(&got).enumerate() {
            assert_eq!(o.dtype(), w.dtype());
            let (wb, ob) = (tensor_bytes(w), tensor_bytes(o));
            let size = if w.dtype() == DType::F32 { 4 } else { 1 };
            for (j, (a, b)) in wb.chunks(size).zip(ob.chunks(size)).enumerate() {
                assert_eq!(
                    a, b,
                    "result {i} ({attrs}) of {:e} / {scale}: want {a:?}, got {b:?}",
                    v[j]
                );
            }
            assert_eq!(wb.len(), ob.len());
        }
    }
}

#[test]
fn quantize_and_dequantize_narrow_types() {
    check_quant("");
}

#[test]
fn quantize_to_float8_without_saturation() {
    check_quant("saturate = 0, ");
}
