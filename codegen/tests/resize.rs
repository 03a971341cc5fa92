//! The compiled `resize` in `linear` and `cubic` modes against the interpreter: small `.air`
//! graphs compiled (LLVM O3 for the host) and run in-process on seeded inputs, compared at
//! rtol 1e-4 / atol 1e-5. Cases cover up- and downscaling, several coordinate transforms,
//! antialias, cubic_coeff_a and exclude_outside, tf_crop_and_resize with extrapolation,
//! three resized axes, and the explicit refusal of non-f32 interpolation.

use asplit_codegen::testing::{check_node, run_jit, seeded_inputs};

fn check(text: &str) {
    let g = asplit_ir::parse::parse(text).unwrap_or_else(|e| panic!("parse: {e}\n{text}"));
    asplit_ir::verify::verify(&g).unwrap_or_else(|v| panic!("verify: {v:?}"));
    check_node(&g).unwrap_or_else(|e| panic!("{e}\n{text}"));
}

#[test]
fn linear_up_and_down_with_several_transforms() {
    check(
        r#"graph @g(%x: f32[1,2,3,4] "x") {
  %a = resize(%x) {coordinate_transformation_mode = "half_pixel", mode = "linear", scales = [1.0, 1.0, 2.0, 1.5], sizes = [1, 2, 6, 6]} : f32[1,2,6,6]
  %b = resize(%x) {coordinate_transformation_mode = "align_corners", mode = "linear", scales = [1.0, 1.0, 0.6666667, 0.5], sizes = [1, 2, 2, 2]} : f32[1,2,2,2]
  %c = resize(%x) {coordinate_transformation_mode = "pytorch_half_pixel", mode = "linear", scales = [1.0, 1.0, 0.33333334, 0.75], sizes = [1, 2, 1, 3]} : f32[1,2,1,3]
  %d = resize(%x) {coordinate_transformation_mode = "half_pixel_symmetric", mode = "linear", scales = [1.0, 1.0, 1.0, 2.25], sizes = [1, 2, 3, 9]} : f32[1,2,3,9]
  return %a "a", %b "b", %c "c", %d "d"
}"#,
    );
}

#[test]
fn cubic_with_coefficient_and_exclude_outside() {
    check(
        r#"graph @g(%x: f32[1,1,4,5] "x") {
  %a = resize(%x) {coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -0.75, mode = "cubic", scales = [1.0, 1.0, 2.0, 1.6], sizes = [1, 1, 8, 8]} : f32[1,1,8,8]
  %b = resize(%x) {coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -0.5, exclude_outside = 1, mode = "cubic", scales = [1.0, 1.0, 0.75, 0.6], sizes = [1, 1, 3, 3]} : f32[1,1,3,3]
  %c = resize(%x) {coordinate_transformation_mode = "asymmetric", mode = "cubic", scales = [1.0, 1.0, 1.5, 2.0], sizes = [1, 1, 6, 10]} : f32[1,1,6,10]
  %d = resize(%x) {coordinate_transformation_mode = "align_corners", mode = "cubic", scales = [1.0, 1.0, 1.75, 1.0], sizes = [1, 1, 7, 5]} : f32[1,1,7,5]
  return %a "a", %b "b", %c "c", %d "d"
}"#,
    );
}

#[test]
fn antialiased_downscaling_widens_the_taps() {
    check(
        r#"graph @g(%x: f32[1,2,8,9] "x") {
  %a = resize(%x) {antialias = 1, coordinate_transformation_mode = "half_pixel", mode = "linear", scales = [1.0, 1.0, 0.375, 0.33333334], sizes = [1, 2, 3, 3]} : f32[1,2,3,3]
  %b = resize(%x) {antialias = 1, coordinate_transformation_mode = "half_pixel", cubic_coeff_a = -0.5, mode = "cubic", scales = [1.0, 1.0, 0.5, 0.6666667], sizes = [1, 2, 4, 6]} : f32[1,2,4,6]
  %c = resize(%x) {antialias = 1, coordinate_transformation_mode = "half_pixel", exclude_outside = 1, mode = "cubic", scales = [1.0, 1.0, 0.625, 1.5], sizes = [1, 2, 5, 13]} : f32[1,2,5,13]
  return %a "a", %b "b", %c "c"
}"#,
    );
}

#[test]
fn tf_crop_and_resize_fills_outside_the_input() {
    check(
        r#"graph @g(%x: f32[1,1,4,4] "x") {
  %a = resize(%x) {coordinate_transformation_mode = "tf_crop_and_resize", mode = "linear", roi = [0.0, 0.0, 0.4, 0.6, 1.0, 1.0, 0.6, 0.8], scales = [1.0, 1.0, 0.75, 0.75], sizes = [1, 1, 3, 3]} : f32[1,1,3,3]
  %b = resize(%x) {coordinate_transformation_mode = "tf_crop_and_resize", extrapolation_value = 10.0, mode = "linear", roi = [0.0, 0.0, -0.5, 0.4, 1.0, 1.0, 1.5, 1.2], scales = [1.0, 1.0, 1.25, 0.75], sizes = [1, 1, 5, 3]} : f32[1,1,5,3]
  %c = resize(%x) {coordinate_transformation_mode = "tf_crop_and_resize", extrapolation_value = -2.0, mode = "cubic", roi = [0.0, 0.0, -0.2, 0.0, 1.0, 1.0, 1.2, 1.0], scales = [1.0, 1.0, 1.5, 1.0], sizes = [1, 1, 6, 4]} : f32[1,1,6,4]
  return %a "a", %b "b", %c "c"
}"#,
    );
}

#[test]
fn three_resized_axes() {
    check(
        r#"graph @g(%x: f32[2,3,4,5] "x") {
  %a = resize(%x) {coordinate_transformation_mode = "half_pixel", mode = "linear", scales = [1.0, 1.6666666, 0.5, 1.4], sizes = [2, 5, 2, 7]} : f32[2,5,2,7]
  %b = resize(%x) {coordinate_transformation_mode = "asymmetric", mode = "cubic", scales = [1.5, 1.0, 1.5, 0.8], sizes = [3, 3, 6, 4]} : f32[3,3,6,4]
  return %a "a", %b "b"
}"#,
    );
}

#[test]
fn interpolation_in_f64_is_an_explicit_error() {
    let text = r#"graph @g(%x: f64[1,1,2,2] "x") {
  %y = resize(%x) {coordinate_transformation_mode = "half_pixel", mode = "linear", scales = [1.0, 1.0, 2.0, 2.0], sizes = [1, 1, 4, 4]} : f64[1,1,4,4]
  return %y "y"
}"#;
    let g = asplit_ir::parse::parse(text).expect("parses");
    let err = run_jit(&g, &seeded_inputs(&g, 1)).expect_err("f64 interpolation is unsupported");
    assert!(err.to_string().contains("linear/cubic resize of f64"), "{err}");
}
