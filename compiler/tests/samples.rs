//! Tests of the sample-folder reader (`asplitc::samples`): name order, splitting along the
//! batch axis, labels, multi-input prefixes, and the error for every malformed folder.

use asplit_ir::parse::parse;
use asplit_ir::{Graph, Tensor};
use asplitc::error::DriverError;
use asplitc::samples::{read_samples, SamplesError};
use asplitc::tensor_io::write_tensor;
use std::path::{Path, PathBuf};

/// One input, batch size 2, items of 3 elements.
const ONE_INPUT: &str = r#"
graph @g(%x: f32[2, 3] "x") {
  %y = relu(%x) : f32[2, 3]
  return %y
}
"#;

/// Two inputs whose names share a prefix.
const TWO_INPUTS: &str = r#"
graph @g(%x: f32[1, 4] "x", %m: f32[1, 4] "x_mask") {
  %y = mul(%x, %m) : f32[1, 4]
  return %y
}
"#;

/// A fresh empty folder for one test.
fn folder(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asplitc-samples-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes an f32 tensor of `shape` whose elements are `start, start + 1, …`.
fn write_f32(dir: &Path, file: &str, shape: &[usize], start: f32) {
    let n: usize = shape.iter().product();
    let t = Tensor::from_f32(shape.to_vec(), (0..n).map(|i| start + i as f32).collect()).unwrap();
    write_tensor(&dir.join(file), &t, "x").unwrap();
}

fn write_labels(dir: &Path, labels: &[i64]) {
    let t = Tensor::from_i64([labels.len()], labels.to_vec()).unwrap();
    write_tensor(&dir.join("labels.npy"), &t, "labels").unwrap();
}

fn graph(src: &str) -> Graph {
    parse(src).unwrap()
}

fn first_elems(set: &asplitc::samples::SampleSet) -> Vec<f32> {
    set.samples.iter().map(|s| s[0].as_f32().unwrap()[0]).collect()
}

#[test]
fn files_are_read_in_name_order_and_split_along_the_batch() {
    let dir = folder("order");
    write_f32(&dir, "b.npy", &[2, 3], 100.0);
    write_f32(&dir, "a.pb", &[6, 3], 0.0);
    write_f32(&dir, "c.NPY", &[2, 3], 200.0);
    std::fs::write(dir.join("README.txt"), "not a sample").unwrap();
    std::fs::create_dir(dir.join("sub.npy")).unwrap();
    let set = read_samples(&graph(ONE_INPUT), &dir).unwrap();
    assert_eq!(set.len(), 5);
    assert_eq!(set.batch, 2);
    assert_eq!(first_elems(&set), vec![0.0, 6.0, 12.0, 100.0, 200.0]);
    assert_eq!(set.samples[1][0].shape(), &[2, 3]);
    assert_eq!(set.samples[1][0].as_f32().unwrap(), &[6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
    assert_eq!(set.sources, vec!["a.pb[0]", "a.pb[1]", "a.pb[2]", "b.npy", "c.NPY"]);
    assert!(set.labels.is_none());
}

#[test]
fn labels_are_one_per_item_and_not_a_sample() {
    let dir = folder("labels");
    write_f32(&dir, "all.npy", &[4, 3], 0.0);
    write_labels(&dir, &[3, 1, 4, 1]);
    let set = read_samples(&graph(ONE_INPUT), &dir).unwrap();
    assert_eq!(set.len(), 2);
    assert_eq!(set.labels.as_deref(), Some(&[3, 1, 4, 1][..]));
    assert_eq!(set.labels_of(1), Some(&[4, 1][..]));
    assert_eq!(set.labels_of(2), None);
}

fn samples_error(g: &Graph, dir: &Path) -> SamplesError {
    match read_samples(g, dir) {
        Err(DriverError::Samples(e)) => e,
        other => panic!("expected a sample-folder error, got {other:?}"),
    }
}

#[test]
fn label_count_dtype_and_sign_are_checked() {
    let g = graph(ONE_INPUT);
    let dir = folder("labels-bad");
    write_f32(&dir, "all.npy", &[4, 3], 0.0);
    write_labels(&dir, &[1, 2, 3]);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("3 label(s), the folder has 4 sample item(s)"), "{e}");
    write_labels(&dir, &[1, 2, -3, 0]);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("label 2 is -3"), "{e}");
    write_f32(&dir, "labels.npy", &[4], 0.0);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("must be integers"), "{e}");
}

#[test]
fn empty_folders_are_errors() {
    let g = graph(ONE_INPUT);
    let dir = folder("empty");
    let e = samples_error(&g, &dir);
    assert!(matches!(e, SamplesError::Empty { labels_only: false, .. }), "{e}");
    write_labels(&dir, &[0, 1]);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("labels.npy is not a sample"), "{e}");
    let missing = dir.join("nope");
    assert!(matches!(read_samples(&g, &missing), Err(DriverError::Io { .. })));
}

#[test]
fn wrong_shapes_and_dtypes_name_the_file() {
    let g = graph(ONE_INPUT);
    let dir = folder("shape");
    write_f32(&dir, "odd.npy", &[3, 3], 0.0);
    let e = samples_error(&g, &dir);
    let text = e.to_string();
    assert!(
        text.contains("odd.npy") && text.contains("not a multiple of the model's batch size 2")
    );

    let dir = folder("items");
    write_f32(&dir, "wide.npy", &[2, 4], 0.0);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("wide.npy") && e.to_string().contains("f32[2,4]"), "{e}");

    let dir = folder("rank");
    write_f32(&dir, "flat.npy", &[6], 0.0);
    assert!(samples_error(&g, &dir).to_string().contains("flat.npy"));

    let dir = folder("dtype");
    let t = Tensor::from_f32([2, 3], vec![0.0; 6]).unwrap().cast(asplit_ir::DType::F64);
    write_tensor(&dir.join("f64.npy"), &t, "x").unwrap();
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("astype(numpy.float32)"), "{e}");
}

#[test]
fn a_malformed_file_is_a_tensor_file_error() {
    let dir = folder("garbage");
    std::fs::write(dir.join("x.npy"), b"garbage").unwrap();
    let err = read_samples(&graph(ONE_INPUT), &dir).unwrap_err();
    assert!(matches!(err, DriverError::TensorFile { .. }), "{err:?}");
}

#[test]
fn several_inputs_read_files_by_name_prefix() {
    let g = graph(TWO_INPUTS);
    let dir = folder("multi");
    write_f32(&dir, "x_0.npy", &[1, 4], 0.0);
    write_f32(&dir, "x_1.npy", &[1, 4], 10.0);
    write_f32(&dir, "x_mask_all.npy", &[2, 4], 100.0);
    let set = read_samples(&g, &dir).unwrap();
    assert_eq!(set.len(), 2);
    let firsts: Vec<(f32, f32)> = set
        .samples
        .iter()
        .map(|s| (s[0].as_f32().unwrap()[0], s[1].as_f32().unwrap()[0]))
        .collect();
    assert_eq!(firsts, vec![(0.0, 100.0), (10.0, 104.0)]);
    assert_eq!(set.sources[1], "x_1.npy + x_mask_all.npy[1]");

    write_f32(&dir, "x_2.npy", &[1, 4], 20.0);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("different sample counts"), "{e}");

    write_f32(&dir, "y_0.npy", &[1, 4], 0.0);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("`y_0.npy` does not start with the name"), "{e}");

    let dir = folder("multi-missing");
    write_f32(&dir, "x_0.npy", &[1, 4], 0.0);
    let e = samples_error(&g, &dir);
    assert!(e.to_string().contains("no sample file for input `x_mask`"), "{e}");
}

/// The committed digits example: both folders fit the model, and the float model reaches the
/// 95 % held-out accuracy its README promises when run by the reference interpreter.
#[test]
fn digits_example_folders_fit_the_model() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/digits");
    let g = asplitc::driver::load_model(&root.join("digits_cnn.onnx"), &[]).unwrap();
    let cal = read_samples(&g, &root.join("calibration")).unwrap();
    assert!(cal.len() >= 32, "{} calibration samples", cal.len());
    let val = read_samples(&g, &root.join("validation")).unwrap();
    let labels = val.labels.as_ref().expect("validation/labels.npy");
    assert_eq!(labels.len(), val.len());
    let correct = val
        .samples
        .iter()
        .zip(labels)
        .filter(|(s, &label)| {
            let out = asplit_ir::interp::run(&g, s).unwrap();
            let logits = out[0].as_f32().unwrap();
            let best = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b]));
            best == Some(label as usize)
        })
        .count();
    let accuracy = correct as f64 / val.len() as f64;
    assert!(accuracy >= 0.95, "held-out accuracy {accuracy}");
}
