//! End-to-end checks of the coded and wide dtypes: `tests/data/low_bit.air` parsed and run
//! by the interpreter (blocked 4-bit quantization, float8 casts, data movement on codes),
//! and the parser's range checks for coded literals. Expected values are worked out by hand
//! in the comments.

use asplit_ir::interp::run;
use asplit_ir::parse::parse;
use asplit_ir::{DType, Tensor};

#[test]
fn low_bit_graph_runs() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/low_bit.air"),
    )
    .expect("tests/data/low_bit.air");
    let g = parse(&text).expect("parses");
    let x = vec![0.5, 1.0, -1.0, 3.5, 0.25, 20.0, 1.0, -2.0, 9.0, 6.0, -3.0, 100.0];
    let out = run(&g, &[Tensor::from_f32([2, 6], x).expect("x")]).expect("runs");
    // Blocks of 4 along axis 1: row 0 uses (scale, zp) (0.5, 0) then (0.25, 1), row 1 uses
    // (1, -1) then (2, 0); i4 clamps to -8..=7. q = [1, 2, -2, 7, 2, 7 | 0, -3, 7, 5, -2, 7]
    // (-3 / 2 rounds half to even), so the dequantized values are:
    let dq = [0.5, 1.0, -1.0, 3.5, 0.25, 1.5, 1.0, -2.0, 8.0, 6.0, -4.0, 14.0];
    // Every one is an f8e5m2 and a bf16 value, so `yb` holds them exactly.
    assert_eq!(out[1].dtype(), DType::BF16);
    assert_eq!(out[1].data().to_f64_vec(), dq.to_vec());
    // f8e8m0 with round_mode nearest ignores the sign and rounds 1.5·2^e up:
    // 3.5 → 4, 1.5 → 2, 6 → 8, 14 → 16.
    let e8 = [0.5, 1.0, 1.0, 4.0, 0.25, 2.0, 1.0, 2.0, 8.0, 8.0, 4.0, 16.0];
    assert_eq!(out[0].shape(), [4, 6]);
    assert_eq!(out[0].data().to_f64_vec(), [e8, e8].concat());
    assert_eq!(out[2].data().to_i64_vec(), vec![-8, -1, 0, 7]);
    assert_eq!(out[12].data().to_f64_vec()[0], u64::MAX as f64);
}

#[test]
fn coded_literals_are_range_checked() {
    let lit = |ty: &str, body: &str| {
        let text = format!(
            "graph @g() {{\n  %0 = const {{value = tensor<{ty}: {body}>}} : {ty}\n  return %0\n}}\n"
        );
        parse(&text).map(|_| ()).map_err(|e| e.to_string())
    };
    assert!(lit("i4[2]", "[-8, 7]").is_ok());
    assert!(lit("i4[1]", "[8]").unwrap_err().contains("out of range for i4"));
    assert!(lit("u2[1]", "[-1]").unwrap_err().contains("out of range for u2"));
    assert!(lit("u64[1]", "[18446744073709551616]").unwrap_err().contains("out of range"));
    assert!(lit("f8e4m3fn[1]", "[0.3]").is_ok(), "rounds to the nearest code");
    assert!(lit("f8e4m3fn[1]", "[1000.0]").unwrap_err().contains("out of range for f8e4m3fn"));
    assert!(lit("f8e4m3fn[1]", "[inf]").unwrap_err().contains("out of range"));
    assert!(lit("f8e5m2[1]", "[inf]").is_ok());
    assert!(lit("f8e8m0[1]", "[-2.0]").unwrap_err().contains("out of range for f8e8m0"));
    assert!(lit("f4e2m1[1]", "[nan]").unwrap_err().contains("out of range for f4e2m1"));
    assert!(lit("bf16[1]", "[1e39]").unwrap_err().contains("out of range for bf16"));
}
