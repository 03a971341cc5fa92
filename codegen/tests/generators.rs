//! The non-linear-algebra generators against the interpreter: small `.air` graphs, each
//! compiled (LLVM O3 for the host) and run in-process on seeded inputs, compared at rtol 1e-4.
//! Each case targets one family and the awkward corner of it (broadcast, negative steps,
//! padding modes, negative gather indices, reductions over a middle axis, ceil-mode pools).

use asplit_codegen::testing::{check_graph, check_node, seeded_inputs};

fn check(text: &str) {
    let g = asplit_ir::parse::parse(text).unwrap_or_else(|e| panic!("parse: {e}\n{text}"));
    asplit_ir::verify::verify(&g).unwrap_or_else(|v| panic!("verify: {v:?}"));
    check_node(&g).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

#[test]
fn broadcasting_arithmetic_comparisons_and_where() {
    check(
        r#"graph @g(%a: f32[2,3,4] "a", %b: f32[3,1] "b", %c: f32[4] "c") {
  %s = add(%a, %b) : f32[2,3,4]
  %m = mul(%s, %c) : f32[2,3,4]
  %d = div(%m, %b) : f32[2,3,4]
  %x = max(%d, %a, %c) : f32[2,3,4]
  %l = less(%x, %a) : bool[2,3,4]
  %w = where(%l, %a, %c) : f32[2,3,4]
  %p = pow(%b, %b) : f32[3,1]
  return %w "w", %p "p"
}"#,
    );
}

#[test]
fn integer_division_by_zero_does_not_trap() {
    let text = r#"graph @g(%a: i64[4] "a", %b: i64[4] "b") {
  %d = div(%a, %b) : i64[4]
  return %d "d"
}"#;
    let g = asplit_ir::parse::parse(text).expect("parses");
    let a = asplit_ir::Tensor::from_i64([4], vec![7, -7, 5, 3]).expect("4");
    let b = asplit_ir::Tensor::from_i64([4], vec![2, 2, 0, -1]).expect("4");
    let out = asplit_codegen::testing::run_jit(&g, &[a, b]).expect("runs");
    assert_eq!(out[0].data().to_i64_vec(), vec![3, -3, 0, -3]);
}

#[test]
fn movement_ops() {
    check(
        r#"graph @g(%x: f32[2,3,4] "x", %i: i64[2] "i") {
  %t = transpose(%x) {perm = [2, 0, 1]} : f32[4,2,3]
  %s = slice(%x) {axes = [2, 1], ends = [-5, 3], starts = [3, 0], steps = [-2, 2]} : f32[2,2,2]
  %e = expand(%s) {shape = [3, 2, 2, 2]} : f32[3,2,2,2]
  %c = concat(%x, %x) {axis = 1} : f32[2,6,4]
  %p0, %p1 = split(%c) {axis = 2, split = [1, 3]} : f32[2,6,1], f32[2,6,3]
  %r = pad(%x) {mode = "reflect", pads = [0, 1, 2, 0, 2, 1], value = 0.0} : f32[2,6,7]
  %q = pad(%x) {mode = "constant", pads = [0, -1, 1, 0, 1, 0], value = 1.5} : f32[2,3,5]
  %w = pad(%x) {mode = "wrap", pads = [1, 0, 0, 0, 0, 5], value = 0.0} : f32[3,3,9]
  %d = pad(%x) {mode = "edge", pads = [0, 2, 0, 0, 0, 2], value = 0.0} : f32[2,5,6]
  %h = reshape(%t) {shape = [8, 3]} : f32[8,3]
  return %t "t", %e "e", %p0 "p0", %p1 "p1", %r "r", %q "q", %w "w", %d "d", %h "h"
}"#,
    );
}

#[test]
fn gather_wraps_negative_indices() {
    let text = r#"graph @g(%x: f32[3,4] "x", %i: i64[2,2] "i") {
  %y = gather(%x, %i) {axis = 1} : f32[3,2,2]
  return %y "y"
}"#;
    let g = asplit_ir::parse::parse(text).expect("parses");
    let mut inputs = seeded_inputs(&g, 3);
    inputs[1] = asplit_ir::Tensor::from_i64([2, 2], vec![0, -1, 3, -4]).expect("4");
    check_graph(&g, &inputs, 0.0, 0.0).expect("exact");
}

#[test]
fn reductions_softmax_and_norms() {
    check(
        r#"graph @g(%x: f32[2,3,5] "x", %s: f32[5] "s", %b: f32[5] "b") {
  %m = reduce_mean(%x) {axes = [1], keepdims = 1} : f32[2,1,5]
  %u = reduce_sum(%x) {axes = [0, 2], keepdims = 0} : f32[3]
  %a = reduce_max(%x) {axes = [2], keepdims = 0} : f32[2,3]
  %f = softmax(%x) {axis = 1} : f32[2,3,5]
  %l = log_softmax(%x) {axis = -1} : f32[2,3,5]
  %n = layer_norm(%x, %s, %b) {axis = -1, epsilon = 1e-5} : f32[2,3,5]
  return %m "m", %u "u", %a "a", %f "f", %l "l", %n "n"
}"#,
    );
}

#[test]
fn pools_with_padding_dilation_and_ceil_mode() {
    check(
        r#"graph @g(%x: f32[1,2,7,6] "x") {
  %m = max_pool(%x) {ceil_mode = 1, dilations = [1, 2], kernel_shape = [3, 2], pads = [1, 0, 1, 1], strides = [2, 2]} : f32[1,2,4,3]
  %a = avg_pool(%x) {ceil_mode = 0, count_include_pad = 1, dilations = [1, 1], kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]} : f32[1,2,4,3]
  %b = avg_pool(%x) {ceil_mode = 0, count_include_pad = 0, dilations = [1, 1], kernel_shape = [3, 3], pads = [1, 1, 1, 1], strides = [2, 2]} : f32[1,2,4,3]
  return %m "m", %a "a", %b "b"
}"#,
    );
}

#[test]
fn casts_and_unary_ops() {
    check(
        r#"graph @g(%x: f32[3,5] "x") {
  %i = cast(%x) {to = i32} : i32[3,5]
  %u = cast(%x) {to = u8} : u8[3,5]
  %b = cast(%x) {to = bool} : bool[3,5]
  %d = cast(%i) {to = f64} : f64[3,5]
  %t = tanh(%d) : f64[3,5]
  %e = erf(%x) : f32[3,5]
  %g = gelu(%x) {approximate = "tanh"} : f32[3,5]
  %h = hard_sigmoid(%x) {alpha = 0.2, beta = 0.5} : f32[3,5]
  return %i "i", %u "u", %b "b", %t "t", %e "e", %g "g", %h "h"
}"#,
    );
}

#[test]
fn quantize_and_dequantize_per_tensor_axis_and_block() {
    check(
        r#"graph @g(%x: f32[2,4] "x") {
  %s = const {value = tensor<f32[]: [0.02]>} : f32[]
  %z = const {value = tensor<u8[]: [128]>} : u8[]
  %q = quantize_linear(%x, %s, %z) {axis = 1, block_size = 0, saturate = 1, to = u8} : u8[2,4]
  %d = dequantize_linear(%q, %s, %z) {axis = 1, block_size = 0} : f32[2,4]
  %sa = const {value = tensor<f32[4]: [0.01, 0.02, 0.03, 0.04]>} : f32[4]
  %qa = quantize_linear(%x, %sa) {axis = 1, block_size = 0, saturate = 1, to = i8} : i8[2,4]
  %sb = const {value = tensor<f32[2,2]: [0.01, 0.02, 0.03, 0.04]>} : f32[2,2]
  %qb = quantize_linear(%x, %sb) {axis = 1, block_size = 2, saturate = 1, to = i8} : i8[2,4]
  %db = dequantize_linear(%qb, %sb) {axis = 1, block_size = 2} : f32[2,4]
  return %d "d", %qa "qa", %db "db"
}"#,
    );
}

#[test]
fn integer_clip_and_table_casts_from_narrow_types() {
    check(
        r#"graph @g(%x: f32[12] "x", %h: f16[12] "h") {
  %i = cast(%x) {to = i8} : i8[12]
  %c = clip(%i) {max = 1.0, min = -1.0} : i8[12]
  %r = relu(%i) : i8[12]
  %b = cast(%h) {to = bf16} : bf16[12]
  %f = cast(%b) {to = f32} : f32[12]
  %e = cast(%h) {saturate = 1, to = f8e4m3fn} : f8e4m3fn[12]
  %g = cast(%e) {to = f32} : f32[12]
  %q = cast(%h) {to = i4} : i4[12]
  %k = cast(%q) {to = f16} : f16[12]
  return %c "c", %r "r", %f "f", %g "g", %k "k"
}"#,
    );
}

#[test]
fn max_pool_indices_row_and_column_major() {
    check(
        r#"graph @g(%x: f32[1,2,5,4] "x") {
  %m, %i = max_pool(%x) {ceil_mode = 0, dilations = [1, 1], indices = 1, kernel_shape = [2, 2], pads = [1, 0, 0, 0], storage_order = 0, strides = [2, 1]} : f32[1,2,3,3], i64[1,2,3,3]
  %n, %j = max_pool(%x) {ceil_mode = 0, dilations = [1, 1], indices = 1, kernel_shape = [2, 2], pads = [1, 0, 0, 0], storage_order = 1, strides = [2, 1]} : f32[1,2,3,3], i64[1,2,3,3]
  return %m "m", %i "i", %j "j"
}"#,
    );
}

#[test]
fn nearest_resize_through_an_index_table() {
    check(
        r#"graph @g(%x: f32[1,2,3,4] "x") {
  %u = resize(%x) {coordinate_transformation_mode = "asymmetric", mode = "nearest", nearest_mode = "floor", scales = [1.0, 1.0, 2.0, 1.5], sizes = [1, 2, 6, 6]} : f32[1,2,6,6]
  %d = resize(%x) {coordinate_transformation_mode = "half_pixel", mode = "nearest", nearest_mode = "round_prefer_ceil", scales = [1.0, 1.0, 0.6666667, 0.5], sizes = [1, 2, 2, 2]} : f32[1,2,2,2]
  return %u "u", %d "d"
}"#,
    );
}
