//! Bad input never panics: every case runs the real `asplitc` binary on a broken model,
//! tensor file or flag and checks the exit status (2), that nothing panicked, and the
//! rendered message (no colour), snapshotted with insta.
//!
//! Models are built here with onnx-protobuf, in a fresh temporary directory per case, and
//! the binary runs inside it so paths in messages are short and stable.

use onnx_protobuf::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use std::path::{Path, PathBuf};
use std::process::Command;

fn value_info(name: &str, dims: &[i64]) -> ValueInfoProto {
    let mut shape = TensorShapeProto::new();
    for &d in dims {
        let mut dim = tensor_shape_proto::Dimension::new();
        dim.set_dim_value(d);
        shape.dim.push(dim);
    }
    let mut tt = type_proto::Tensor::new();
    tt.elem_type = DataType::FLOAT as i32;
    tt.shape = Some(shape).into();
    let mut ty = TypeProto::new();
    ty.set_tensor_type(tt);
    let mut vi = ValueInfoProto::new();
    vi.name = name.into();
    vi.type_ = Some(ty).into();
    vi
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.name = name.into();
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n.output = outputs.iter().map(|s| s.to_string()).collect();
    n
}

fn int_attr(name: &str, v: i64) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = AttributeType::INT.into();
    a.i = v;
    a
}

fn float_init(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.into();
    t.dims = dims.to_vec();
    t.data_type = DataType::FLOAT as i32;
    t.float_data = values.to_vec();
    t
}

fn model(
    nodes: Vec<NodeProto>,
    inputs: &[(&str, &[i64])],
    outputs: &[(&str, &[i64])],
    inits: Vec<TensorProto>,
) -> Vec<u8> {
    let mut g = GraphProto::new();
    g.name = "test".into();
    g.node = nodes;
    g.input = inputs.iter().map(|(n, d)| value_info(n, d)).collect();
    g.output = outputs.iter().map(|(n, d)| value_info(n, d)).collect();
    g.initializer = inits;
    let mut m = ModelProto::new();
    m.ir_version = 8;
    let mut opset = OperatorSetIdProto::new();
    opset.version = 13;
    m.opset_import.push(opset);
    m.graph = Some(g).into();
    m.write_to_bytes().expect("serializable")
}

/// A valid model: y = relu(x), x: f32[1,4].
fn relu_model() -> Vec<u8> {
    model(vec![node("Relu", "relu0", &["x"], &["y"])], &[("x", &[1, 4])], &[("y", &[1, 4])], vec![])
}

fn npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let t = asplit_ir::Tensor::from_f32(shape.to_vec(), values.to_vec()).expect("valid tensor");
    asplitc::npy::write_npy(&t).expect("f32 has a NumPy dtype")
}

struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(tag: &str) -> Case {
        let dir = std::env::temp_dir().join(format!("asplitc-diag-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Case { dir }
    }

    fn file(&self, name: &str, bytes: &[u8]) -> &Self {
        std::fs::write(self.dir.join(name), bytes).expect("write");
        self
    }

    /// Runs asplitc with `args` in the case directory; returns stderr after checking that
    /// it failed with status 2 and did not panic.
    fn fails(&self, args: &[&str]) -> String {
        self.fails_env(args, &[])
    }

    /// [`Case::fails`] with extra environment variables.
    fn fails_env(&self, args: &[&str], vars: &[(&str, &str)]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_asplitc"))
            .args(args)
            .envs(vars.iter().copied())
            .current_dir(&self.dir)
            .env("NO_COLOR", "1")
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("asplitc runs");
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!stderr.contains("panicked"), "asplitc panicked:\n{stderr}");
        assert_eq!(out.status.code(), Some(2), "exit status for {args:?}; stderr:\n{stderr}");
        let _ = std::fs::remove_dir_all(&self.dir);
        stderr
    }
}

fn exists(p: &Path) -> bool {
    p.exists()
}

#[test]
fn not_a_protobuf() {
    let c = Case::new("notpb");
    c.file("m.onnx", b"this is plain text, not a protobuf message\n");
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn empty_file() {
    let c = Case::new("empty");
    c.file("m.onnx", b"");
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn truncated_file() {
    let good = model(
        vec![node("Add", "add0", &["x", "b"], &["y"])],
        &[("x", &[1, 4])],
        &[("y", &[1, 4])],
        vec![float_init("b", &[4], &[1.0, 2.0, 3.0, 4.0])],
    );
    let c = Case::new("trunc");
    c.file("m.onnx", &good[..good.len() * 2 / 3]);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn missing_model_file() {
    let c = Case::new("missing");
    insta::assert_snapshot!(c.fails(&["nowhere.onnx", "-o", "out"]));
}

#[test]
fn missing_initializer() {
    let m = model(
        vec![node("Add", "add0", &["x", "b"], &["y"])],
        &[("x", &[1, 4])],
        &[("y", &[1, 4])],
        vec![],
    );
    let c = Case::new("noinit");
    c.file("m.onnx", &m);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn unknown_op() {
    let m = model(
        vec![node("FancyOp", "fancy0", &["x"], &["y"])],
        &[("x", &[1, 4])],
        &[("y", &[1, 4])],
        vec![],
    );
    let c = Case::new("unknownop");
    c.file("m.onnx", &m);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn bad_attribute_type() {
    let mut n = node("Softmax", "softmax0", &["x"], &["y"]);
    let mut a = int_attr("axis", 1);
    a.type_ = AttributeType::STRING.into();
    a.s = b"one".to_vec();
    n.attribute.push(a);
    let m = model(vec![n], &[("x", &[1, 4])], &[("y", &[1, 4])], vec![]);
    let c = Case::new("badattr");
    c.file("m.onnx", &m);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn malformed_tensor_attribute() {
    // A TENSOR attribute with no tensor: onnx-protobuf's as_value() would hit unreachable!.
    let mut n = node("Constant", "const0", &[], &["y"]);
    let mut a = AttributeProto::new();
    a.name = "value".into();
    a.type_ = AttributeType::TENSOR.into();
    n.attribute.push(a);
    let m = model(vec![n], &[], &[("y", &[1])], vec![]);
    let c = Case::new("tensorattr");
    c.file("m.onnx", &m);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn missing_required_attribute() {
    let n = node("MaxPool", "pool0", &["x"], &["y"]);
    let m = model(vec![n], &[("x", &[1, 1, 4, 4])], &[("y", &[1, 1, 2, 2])], vec![]);
    let c = Case::new("missingattr");
    c.file("m.onnx", &m);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn inconsistent_shapes() {
    let m = model(
        vec![node("MatMul", "mm0", &["x", "w"], &["y"])],
        &[("x", &[2, 3])],
        &[("y", &[2, 5])],
        vec![float_init("w", &[4, 5], &[0.5; 20])],
    );
    let c = Case::new("shapes");
    c.file("m.onnx", &m);
    insta::assert_snapshot!(c.fails(&["m.onnx", "-o", "out"]));
}

#[test]
fn input_file_wrong_shape() {
    let c = Case::new("inshape");
    c.file("m.onnx", &relu_model()).file("x.npy", &npy_f32(&[2, 2], &[1.0, -1.0, 2.0, -2.0]));
    insta::assert_snapshot!(c.fails(&["run", "m.onnx", "--input", "x.npy", "--output-dir", "res"]));
}

#[test]
fn input_file_wrong_dtype() {
    let c = Case::new("indtype");
    let t = asplit_ir::Tensor::from_i64(vec![1, 4], vec![1, 2, 3, 4]).expect("valid");
    c.file("m.onnx", &relu_model()).file("x.npy", &asplitc::npy::write_npy(&t).expect("i64 npy"));
    insta::assert_snapshot!(c.fails(&["run", "m.onnx", "--input", "x.npy", "--output-dir", "res"]));
}

#[test]
fn input_file_wrong_format() {
    let c = Case::new("informat");
    c.file("m.onnx", &relu_model()).file("x.npy", b"1.0 2.0 3.0 4.0\n").file("x.csv", b"1,2,3,4\n");
    let npy = c.fails(&["run", "m.onnx", "--input", "x.npy", "--output-dir", "res"]);
    let c = Case::new("informat2");
    c.file("m.onnx", &relu_model()).file("x.csv", b"1,2,3,4\n").file("x.pb", b"\xff\xff\xff");
    let csv = c.fails(&["run", "m.onnx", "--input", "x.csv", "--output-dir", "res"]);
    let c = Case::new("informat3");
    c.file("m.onnx", &relu_model()).file("x.pb", b"\xff\xff\xff");
    let pb = c.fails(&["run", "m.onnx", "--input", "x.pb", "--output-dir", "res"]);
    insta::assert_snapshot!(format!("{npy}\n{csv}\n{pb}"));
}

#[test]
fn input_file_missing() {
    let c = Case::new("inmissing");
    c.file("m.onnx", &relu_model());
    insta::assert_snapshot!(c.fails(&[
        "run",
        "m.onnx",
        "--input",
        "absent.npy",
        "--output-dir",
        "res"
    ]));
}

#[test]
fn input_count_mismatch() {
    let c = Case::new("incount");
    let x = npy_f32(&[1, 4], &[1.0, -1.0, 2.0, -2.0]);
    c.file("m.onnx", &relu_model()).file("a.npy", &x).file("b.npy", &x);
    insta::assert_snapshot!(c.fails(&[
        "run",
        "m.onnx",
        "--input",
        "a.npy",
        "b.npy",
        "--output-dir",
        "res"
    ]));
}

#[test]
fn bad_input_shape_flag() {
    let c = Case::new("shapeflag");
    c.file("m.onnx", &relu_model());
    let syntax = c.fails(&["m.onnx", "-o", "out", "--input-shape", "x=1xfour"]);
    let c = Case::new("shapeflag2");
    c.file("m.onnx", &relu_model());
    let unknown = c.fails(&["m.onnx", "-o", "out", "--input-shape", "nosuchinput=1x4"]);
    insta::assert_snapshot!(format!("{syntax}\n{unknown}"));
}

#[test]
fn a_good_model_runs() {
    let c = Case::new("good");
    c.file("m.onnx", &relu_model()).file("x.npy", &npy_f32(&[1, 4], &[1.0, -1.0, 2.0, -2.0]));
    let out = Command::new(env!("CARGO_BIN_EXE_asplitc"))
        .args(["run", "m.onnx", "--input", "x.npy", "--output", "y.npy"])
        .current_dir(&c.dir)
        .output()
        .expect("asplitc runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let y = asplitc::npy::read_npy(&std::fs::read(c.dir.join("y.npy")).expect("output written"))
        .expect("npy");
    assert_eq!(y.as_f32(), Some(&[1.0, 0.0, 2.0, 0.0][..]));
    let ir = Command::new(env!("CARGO_BIN_EXE_asplitc"))
        .args(["m.onnx", "-o", "out", "--emit", "ir"])
        .current_dir(&c.dir)
        .output()
        .expect("asplitc runs");
    assert!(ir.status.success(), "{}", String::from_utf8_lossy(&ir.stderr));
    assert!(exists(&c.dir.join("out/model.air")));
    let _ = std::fs::remove_dir_all(&c.dir);
}

#[test]
fn codegen_without_a_c_compiler() {
    let c = Case::new("cg-cc");
    c.file("m.onnx", &relu_model());
    let args = ["m.onnx", "-o", "out", "--split", "edge-only", "--bits", "f32"];
    insta::assert_snapshot!(c.fails_env(&args, &[("CC", "/nonexistent/cc")]));
}

#[test]
fn codegen_into_an_unwritable_out() {
    let c = Case::new("cg-out");
    c.file("m.onnx", &relu_model()).file("out", b"a file, not a directory");
    let args = ["m.onnx", "-o", "out", "--split", "edge-only", "--bits", "f32"];
    insta::assert_snapshot!(c.fails(&args));
}
