//! The ONNX importer through its public API: every error case gets a small model built here
//! and a check of the error's code and message; the mapping of the trickier ops is checked
//! on the produced IR; and the 9 light models of the ONNX backend data plus every node test
//! whose ops are all supported must import and verify.
//!
//! The corpus tests read the onnx wheel's test data (`ASPLIT_ONNX_DATA` overrides the
//! location, found with `python3`) and the generated node tests (`ASPLIT_NODE_TESTS`, else
//! `target/conformance/node`, else `/tmp/nodetests`); they fail when the data is absent.

use asplit_ir::{DType, Graph, OpKind, TensorData};
use asplitc::onnx::tensor::read_tensor_pb;
use asplitc::onnx::{
    import_bytes, import_file, import_file_with_values, ImportError, ImportOptions, SUPPORTED_OPS,
};
use miette::Diagnostic;
use onnx_protobuf::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto,
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// ----- model building -----------------------------------------------------------------

/// A dimension of a declared shape.
#[derive(Clone, Copy)]
enum D {
    V(i64),
    P(&'static str),
}

fn value_info(name: &str, dtype: DataType, dims: Option<&[D]>) -> ValueInfoProto {
    let mut tt = type_proto::Tensor::new();
    tt.elem_type = dtype as i32;
    if let Some(dims) = dims {
        let mut shape = TensorShapeProto::new();
        for d in dims {
            let mut dim = tensor_shape_proto::Dimension::new();
            match d {
                D::V(v) => dim.set_dim_value(*v),
                D::P(p) => dim.set_dim_param(p.to_string()),
            }
            shape.dim.push(dim);
        }
        tt.shape = Some(shape).into();
    }
    let mut ty = TypeProto::new();
    ty.set_tensor_type(tt);
    let mut vi = ValueInfoProto::new();
    vi.name = name.into();
    vi.type_ = Some(ty).into();
    vi
}

fn fixed(dims: &[i64]) -> Vec<D> {
    dims.iter().map(|&d| D::V(d)).collect()
}

struct M {
    g: GraphProto,
    opsets: Vec<(String, i64)>,
    graph: bool,
}

impl M {
    fn new(opset: i64) -> M {
        let mut g = GraphProto::new();
        g.name = "test".into();
        M { g, opsets: vec![(String::new(), opset)], graph: true }
    }
    fn input(mut self, name: &str, dims: &[i64]) -> M {
        self.g.input.push(value_info(name, DataType::FLOAT, Some(&fixed(dims))));
        self
    }
    fn input_typed(mut self, name: &str, dtype: DataType, dims: Option<&[D]>) -> M {
        self.g.input.push(value_info(name, dtype, dims));
        self
    }
    fn output(mut self, name: &str, dims: &[i64]) -> M {
        self.g.output.push(value_info(name, DataType::FLOAT, Some(&fixed(dims))));
        self
    }
    fn output_typed(mut self, name: &str, dtype: DataType, dims: Option<&[D]>) -> M {
        self.g.output.push(value_info(name, dtype, dims));
        self
    }
    /// An output declared without any type.
    fn output_any(mut self, name: &str) -> M {
        let mut vi = ValueInfoProto::new();
        vi.name = name.into();
        self.g.output.push(vi);
        self
    }
    fn init(mut self, t: TensorProto) -> M {
        self.g.initializer.push(t);
        self
    }
    fn node(mut self, n: NodeProto) -> M {
        self.g.node.push(n);
        self
    }
    fn bytes(&self) -> Vec<u8> {
        let mut m = ModelProto::new();
        m.ir_version = 8;
        for (domain, version) in &self.opsets {
            let mut o = OperatorSetIdProto::new();
            o.domain = domain.clone();
            o.version = *version;
            m.opset_import.push(o);
        }
        if self.graph {
            m.graph = Some(self.g.clone()).into();
        }
        m.write_to_bytes().expect("serializable")
    }
    fn import(&self) -> Result<Graph, ImportError> {
        import_bytes(&self.bytes(), None, &ImportOptions::default())
    }
    fn import_with(&self, shapes: &[(&str, &[usize])]) -> Result<Graph, ImportError> {
        let opts = ImportOptions {
            input_shapes: shapes.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect(),
        };
        import_bytes(&self.bytes(), None, &opts)
    }
    /// Imports, expecting success, and verifies the graph.
    fn ok(&self) -> Graph {
        let g = self.import().unwrap_or_else(|e| panic!("import failed: {e}"));
        verified(g)
    }
    /// Imports, expecting failure with `code`; returns the message and help.
    fn fails(&self, code: &str) -> String {
        match self.import() {
            Ok(_) => panic!("import succeeded, expected {code}"),
            Err(e) => expect_code(&e, code),
        }
    }
}

fn verified(g: Graph) -> Graph {
    if let Err(v) = asplit_ir::verify::verify(&g) {
        let lines: Vec<String> = v.iter().map(|v| v.to_string()).collect();
        panic!("imported graph does not verify:\n{}", lines.join("\n"));
    }
    g
}

/// Checks the miette code; returns "message\nhelp".
fn expect_code(e: &ImportError, code: &str) -> String {
    let got = e.code().map(|c| c.to_string()).unwrap_or_default();
    assert_eq!(got, code, "wrong code for: {e}");
    let help = e.help().map(|h| h.to_string()).unwrap_or_default();
    format!("{e}\n{help}")
}

fn node(op: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.name = name.into();
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n.output = outputs.iter().map(|s| s.to_string()).collect();
    n
}

fn attr(name: &str, t: AttributeType) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = t.into();
    a
}

fn a_int(name: &str, v: i64) -> AttributeProto {
    let mut a = attr(name, AttributeType::INT);
    a.i = v;
    a
}

fn a_ints(name: &str, v: &[i64]) -> AttributeProto {
    let mut a = attr(name, AttributeType::INTS);
    a.ints = v.to_vec();
    a
}

fn a_float(name: &str, v: f32) -> AttributeProto {
    let mut a = attr(name, AttributeType::FLOAT);
    a.f = v;
    a
}

fn a_str(name: &str, v: &str) -> AttributeProto {
    let mut a = attr(name, AttributeType::STRING);
    a.s = v.as_bytes().to_vec();
    a
}

fn a_tensor(name: &str, t: TensorProto) -> AttributeProto {
    let mut a = attr(name, AttributeType::TENSOR);
    a.t = Some(t).into();
    a
}

fn with(mut n: NodeProto, attrs: Vec<AttributeProto>) -> NodeProto {
    n.attribute.extend(attrs);
    n
}

fn f32_init(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.into();
    t.dims = dims.to_vec();
    t.data_type = DataType::FLOAT as i32;
    t.float_data = values.to_vec();
    t
}

fn i64_init(name: &str, dims: &[i64], values: &[i64]) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.into();
    t.dims = dims.to_vec();
    t.data_type = DataType::INT64 as i32;
    t.int64_data = values.to_vec();
    t
}

/// Mnemonics of the live non-const nodes, in order.
fn ops(g: &Graph) -> Vec<&'static str> {
    g.live_nodes().filter(|(_, n)| n.op != OpKind::Const).map(|(_, n)| n.op.mnemonic()).collect()
}

/// The attributes of the only live node of kind `op`.
fn only(g: &Graph, op: OpKind) -> &asplit_ir::Attrs {
    let found: Vec<_> = g.live_nodes().filter(|(_, n)| n.op == op).collect();
    assert_eq!(found.len(), 1, "expected one {op} node, found {}", found.len());
    &found[0].1.attrs
}

fn ints_of(a: &asplit_ir::Attrs, name: &str) -> Vec<i64> {
    a.ints(name).unwrap_or_else(|e| panic!("{e}")).to_vec()
}

fn relu_model() -> M {
    M::new(13).input("x", &[1, 4]).node(node("Relu", "relu0", &["x"], &["y"])).output("y", &[1, 4])
}

// ----- file-level errors ----------------------------------------------------------------

#[test]
fn empty_truncated_and_garbage_bytes_are_parse_errors() {
    let e = import_bytes(b"", None, &ImportOptions::default()).unwrap_err();
    assert!(expect_code(&e, "onnx::parse").contains("empty"));
    let good = M::new(13)
        .input("x", &[1, 4])
        .init(f32_init("b", &[4], &[1.0, 2.0, 3.0, 4.0]))
        .node(node("Add", "add0", &["x", "b"], &["y"]))
        .output("y", &[1, 4])
        .bytes();
    // A protobuf prefix can itself decode (the format has no end marker), sometimes into a
    // smaller valid model; every prefix must import or fail cleanly, and nearly all fail.
    let mut failed = 0;
    for cut in 1..good.len() {
        if let Err(e) = import_bytes(&good[..cut], None, &ImportOptions::default()) {
            assert!(e.code().is_some(), "cut at {cut}: {e}");
            failed += 1;
        }
    }
    assert!(
        failed * 10 >= (good.len() - 1) * 9,
        "only {failed} of {} prefixes fail",
        good.len() - 1
    );
    let e = import_bytes(&good[..good.len() - 1], None, &ImportOptions::default()).unwrap_err();
    expect_code(&e, "onnx::parse");
    for garbage in [&b"\xff\xff\xff\xff"[..], b"this is plain text, not a protobuf message\n"] {
        let e = import_bytes(garbage, None, &ImportOptions::default()).unwrap_err();
        let code = e.code().map(|c| c.to_string()).unwrap_or_default();
        assert!(code == "onnx::parse" || code == "onnx::no_graph", "{code}: {e}");
    }
}

#[test]
fn missing_file_is_an_io_error() {
    let e =
        import_file(Path::new("/nonexistent/model.onnx"), &ImportOptions::default()).unwrap_err();
    assert!(expect_code(&e, "onnx::io").contains("/nonexistent/model.onnx"));
}

#[test]
fn a_model_without_graph_is_rejected() {
    let mut m = relu_model();
    m.graph = false;
    m.fails("onnx::no_graph");
}

#[test]
fn a_graph_without_outputs_is_rejected() {
    let m = M::new(13).input("x", &[1, 4]).node(node("Relu", "relu0", &["x"], &["y"]));
    m.fails("onnx::no_outputs");
}

#[test]
fn opsets_outside_the_range_are_rejected() {
    for v in [5, 29, 1000] {
        let mut m = relu_model();
        m.opsets = vec![(String::new(), v)];
        let msg = m.fails("onnx::opset");
        assert!(msg.contains(&format!("opset {v}")) && msg.contains("6..=28"), "{msg}");
    }
    let mut m = relu_model();
    m.opsets = vec![("com.example".into(), 1)];
    assert!(m.fails("onnx::opset").contains("does not import the ai.onnx opset"));
    // "ai.onnx" spelled out is the default domain; other imported domains are fine.
    let mut m = relu_model();
    m.opsets = vec![("ai.onnx".into(), 13), ("ai.onnx.ml".into(), 3)];
    m.ok();
}

// ----- node-level errors ----------------------------------------------------------------

#[test]
fn undefined_inputs_name_the_node_and_the_input() {
    let m = M::new(13)
        .input("x", &[1, 4])
        .node(node("Add", "add0", &["x", "b"], &["y"]))
        .output("y", &[1, 4]);
    let msg = m.fails("onnx::undefined_input");
    assert!(msg.contains("Add node `add0` (opset 13)") && msg.contains("input `b`"), "{msg}");
    // Nodes out of topological order read names defined later.
    let m = M::new(13)
        .input("x", &[1, 4])
        .node(node("Relu", "second", &["t"], &["y"]))
        .node(node("Relu", "first", &["x"], &["t"]))
        .output("y", &[1, 4]);
    assert!(m.fails("onnx::undefined_input").contains("`second`"));
}

#[test]
fn unknown_ops_list_the_supported_ones() {
    let m = M::new(13)
        .input("x", &[1, 4])
        .node(node("FancyOp", "", &["x"], &["y"]))
        .output("y", &[1, 4]);
    let msg = m.fails("onnx::unsupported_op");
    assert!(msg.contains("FancyOp node #0 (unnamed, opset 13)"), "{msg}");
    assert!(msg.contains("supported ops: Add, AveragePool"), "{msg}");
    assert!(SUPPORTED_OPS.iter().all(|op| msg.contains(op)));
}

#[test]
fn other_domains_are_rejected_by_name() {
    let mut n = node("Relu", "r", &["x"], &["y"]);
    n.domain = "com.microsoft".into();
    let m = M::new(13).input("x", &[1, 4]).node(n).output("y", &[1, 4]);
    assert!(m.fails("onnx::unsupported_domain").contains("`com.microsoft`"));
}

#[test]
fn attribute_errors_name_the_attribute() {
    let bad_type = with(node("Softmax", "sm", &["x"], &["y"]), vec![a_str("axis", "one")]);
    let m = M::new(13).input("x", &[1, 4]).node(bad_type).output("y", &[1, 4]);
    let msg = m.fails("onnx::attribute");
    assert!(msg.contains("`axis`: should be of type int, found string"), "{msg}");

    let m = M::new(13)
        .input("x", &[1, 1, 4, 4])
        .node(node("MaxPool", "pool0", &["x"], &["y"]))
        .output("y", &[1, 1, 2, 2]);
    let msg = m.fails("onnx::attribute");
    assert!(msg.contains("`kernel_shape`: required attribute is missing"), "{msg}");

    let n = with(node("Constant", "c", &[], &["y"]), vec![attr("value", AttributeType::TENSOR)]);
    let msg = M::new(13).node(n).output("y", &[1]).fails("onnx::attribute");
    assert!(msg.contains("holds no tensor"), "{msg}");

    let n = with(node("Conv", "c", &["x", "w"], &["y"]), vec![a_str("auto_pad", "SOMETIMES")]);
    let m = M::new(13)
        .input("x", &[1, 1, 4, 4])
        .init(f32_init("w", &[1, 1, 1, 1], &[1.0]))
        .node(n)
        .output("y", &[1, 1, 4, 4]);
    assert!(m.fails("onnx::attribute").contains("`SOMETIMES` is not one of"));

    let n = with(node("Softmax", "sm", &["x"], &["y"]), vec![a_int("axis", 5)]);
    let m = M::new(13).input("x", &[1, 4]).node(n).output("y", &[1, 4]);
    assert!(m.fails("onnx::attribute").contains("axis 5 is out of range for rank 2"));
}

#[test]
fn inconsistent_shapes_surface_the_shape_rule_with_the_node() {
    let m = M::new(13)
        .input("x", &[2, 3])
        .init(f32_init("w", &[4, 5], &[0.5; 20]))
        .node(node("MatMul", "mm0", &["x", "w"], &["y"]))
        .output("y", &[2, 5]);
    let msg = m.fails("onnx::shape");
    assert!(msg.contains("MatMul node `mm0`") && msg.contains("inconsistent shapes"), "{msg}");
}

#[test]
fn runtime_parameters_must_be_constant() {
    let m = M::new(13)
        .input("x", &[2, 6])
        .input_typed("s", DataType::INT64, Some(&fixed(&[2])))
        .node(node("Reshape", "r", &["x", "s"], &["y"]))
        .output("y", &[3, 4]);
    let msg = m.fails("onnx::not_constant");
    assert!(
        msg.contains("input `shape` of Reshape node `r` (opset 13) must be a constant (computed at runtime here)"),
        "{msg}"
    );
}

#[test]
fn unsupported_features_are_explicit() {
    // BatchNormalization training statistics.
    let bn = node("BatchNormalization", "bn", &["x", "s", "b", "m", "v"], &["y", "rm"]);
    let m = M::new(9)
        .input("x", &[1, 2, 2, 2])
        .init(f32_init("s", &[2], &[1.0, 1.0]))
        .init(f32_init("b", &[2], &[0.0, 0.0]))
        .init(f32_init("m", &[2], &[0.0, 0.0]))
        .init(f32_init("v", &[2], &[1.0, 1.0]))
        .node(bn)
        .output("y", &[1, 2, 2, 2])
        .output_any("rm");
    assert!(m.fails("onnx::unsupported").contains("training mode"));

    // DequantizeLinear output_dtype, sparse constants, training dropout.
    let dq = with(
        node("DequantizeLinear", "dq", &["q", "sc"], &["y"]),
        vec![a_int("output_dtype", DataType::FLOAT16 as i64)],
    );
    let m = M::new(23)
        .input_typed("q", DataType::UINT8, Some(&fixed(&[4, 4])))
        .init(f32_init("sc", &[], &[1.0]))
        .node(dq)
        .output_typed("y", DataType::FLOAT16, Some(&fixed(&[4, 4])));
    assert!(m.fails("onnx::unsupported").contains("output_dtype FLOAT16"));

    let c = with(
        node("Constant", "c", &[], &["y"]),
        vec![attr("sparse_value", AttributeType::SPARSE_TENSOR)],
    );
    assert!(M::new(13).node(c).output_any("y").fails("onnx::unsupported").contains("sparse"));

    let mut t = TensorProto::new();
    t.data_type = DataType::BOOL as i32;
    t.int32_data = vec![1];
    let d = node("Dropout", "d", &["x", "", "train"], &["y"]);
    let m = M::new(13)
        .input("x", &[2, 2])
        .init({
            let mut t = t.clone();
            t.name = "train".into();
            t
        })
        .node(d)
        .output("y", &[2, 2]);
    assert!(m.fails("onnx::unsupported").contains("training_mode=true with ratio 0.5"));
}

#[test]
fn unsupported_dtypes_are_named() {
    let mut t = TensorProto::new();
    t.name = "w".into();
    t.dims = vec![2];
    t.data_type = DataType::COMPLEX128 as i32;
    t.double_data = vec![0.0; 4];
    let m = M::new(13)
        .input("x", &[2])
        .init(t)
        .node(node("Add", "a", &["x", "w"], &["y"]))
        .output("y", &[2]);
    let msg = m.fails("onnx::unsupported_dtype");
    assert!(msg.contains("initializer `w`") && msg.contains("COMPLEX128"), "{msg}");

    let m = M::new(13)
        .input_typed("s", DataType::STRING, Some(&fixed(&[2])))
        .node(node("Identity", "i", &["s"], &["y"]))
        .output_any("y");
    assert!(m.fails("onnx::unsupported_dtype").contains("graph input `s`"));

    let cast = with(node("Cast", "c", &["x"], &["y"]), vec![a_int("to", DataType::STRING as i64)]);
    let m = M::new(19).input("x", &[2]).node(cast).output_any("y");
    let msg = m.fails("onnx::unsupported_dtype");
    assert!(msg.contains("attribute `to` of Cast node `c`") && msg.contains("STRING"), "{msg}");

    let cast =
        with(node("Cast", "c", &["x"], &["y"]), vec![a_int("to", DataType::COMPLEX64 as i64)]);
    let m = M::new(13).input("x", &[2]).node(cast).output_any("y");
    assert!(m.fails("onnx::unsupported_dtype").contains("COMPLEX64"));
}

// ----- inputs and outputs ---------------------------------------------------------------

#[test]
fn symbolic_dims_need_a_binding() {
    let m = M::new(13)
        .input_typed("x", DataType::FLOAT, Some(&[D::P("batch"), D::V(4)]))
        .node(node("Relu", "r", &["x"], &["y"]))
        .output_typed("y", DataType::FLOAT, Some(&[D::P("batch"), D::V(4)]));
    let msg = m.fails("onnx::symbolic_dim");
    assert!(msg.contains("graph input `x`: dimension 0 is symbolic (`batch`)"), "{msg}");
    assert!(msg.contains("--input-shape x=1x4"), "{msg}");
    let g = verified(m.import_with(&[("x", &[3, 4])]).unwrap());
    assert_eq!(g.ty(g.inputs[0]).shape, vec![3, 4]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![3, 4]);

    let e = m.import_with(&[("x", &[3, 4, 1])]).unwrap_err();
    assert!(expect_code(&e, "onnx::input_shape").contains("rank 2"));
    let e = m.import_with(&[("x", &[3, 5])]).unwrap_err();
    assert!(expect_code(&e, "onnx::input_shape").contains("dimension 1 is fixed to 4"));
    let e = m.import_with(&[("nosuch", &[3, 4])]).unwrap_err();
    let msg = expect_code(&e, "onnx::input_shape");
    assert!(msg.contains("`nosuch`") && msg.contains("graph inputs: `x`"), "{msg}");

    let m = M::new(13)
        .input_typed("x", DataType::FLOAT, None)
        .node(node("Relu", "r", &["x"], &["y"]))
        .output_any("y");
    assert!(m.fails("onnx::symbolic_dim").contains("rank is not declared"));
    let g = verified(m.import_with(&[("x", &[2, 2])]).unwrap());
    assert_eq!(g.ty(g.outputs[0]).shape, vec![2, 2]);
}

#[test]
fn initializers_listed_as_inputs_are_constants() {
    let m = M::new(13)
        .input("x", &[1, 4])
        .input("b", &[4])
        .init(f32_init("b", &[4], &[1.0, 2.0, 3.0, 4.0]))
        .node(node("Add", "add0", &["x", "b"], &["y"]))
        .output("y", &[1, 4]);
    let g = m.ok();
    assert_eq!(g.inputs.len(), 1);
    // Binding an initializer's shape is naming something that is not an input.
    let e = m.import_with(&[("b", &[4])]).unwrap_err();
    expect_code(&e, "onnx::input_shape");
}

#[test]
fn names_are_kept() {
    let g = relu_model().ok();
    assert_eq!(g.name, "test");
    assert_eq!(g.values[g.inputs[0]].name.as_deref(), Some("x"));
    assert_eq!(g.values[g.outputs[0]].name.as_deref(), Some("y"));
    let (_, n) = g.live_nodes().next().unwrap();
    assert_eq!(n.name.as_deref(), Some("relu0"));
    let mut m = relu_model();
    m.g.name = String::new();
    assert_eq!(m.ok().name, "main");
}

#[test]
fn declared_output_types_are_checked() {
    let m =
        M::new(13).input("x", &[1, 4]).node(node("Relu", "r", &["x"], &["y"])).output("y", &[4, 1]);
    let msg = m.fails("onnx::output");
    assert!(
        msg.contains("graph output `y`") && msg.contains("[4,1]") && msg.contains("f32[1,4]"),
        "{msg}"
    );
    let m = M::new(13).input("x", &[1, 4]).node(node("Relu", "r", &["x"], &["y"])).output_typed(
        "y",
        DataType::INT64,
        Some(&fixed(&[1, 4])),
    );
    assert!(m.fails("onnx::output").contains("element type i64"));
    let m =
        M::new(13).input("x", &[1, 4]).node(node("Relu", "r", &["x"], &["y"])).output("z", &[1, 4]);
    assert!(m.fails("onnx::output").contains("`z`"));
    // Symbolic and undeclared output dims accept anything.
    let m = M::new(13).input("x", &[1, 4]).node(node("Relu", "r", &["x"], &["y"])).output_typed(
        "y",
        DataType::FLOAT,
        Some(&[D::P("n"), D::V(4)]),
    );
    m.ok();
}

#[test]
fn redefining_a_name_is_an_error() {
    let m = M::new(13)
        .input("x", &[1, 4])
        .node(node("Relu", "a", &["x"], &["y"]))
        .node(node("Relu", "b", &["x"], &["y"]))
        .output("y", &[1, 4]);
    assert!(m.fails("onnx::invalid_node").contains("already defined"));
}

#[test]
fn external_data_is_resolved_next_to_the_model() {
    let dir = std::env::temp_dir().join(format!("asplitc-import-ext-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let payload: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("b.bin"), &payload).unwrap();
    let ext = |location: &str| {
        let mut t = TensorProto::new();
        t.name = "b".into();
        t.dims = vec![4];
        t.data_type = DataType::FLOAT as i32;
        t.data_location = onnx_protobuf::tensor_proto::DataLocation::EXTERNAL.into();
        let mut kv = onnx_protobuf::StringStringEntryProto::new();
        kv.key = "location".into();
        kv.value = location.into();
        t.external_data.push(kv);
        M::new(13)
            .input("x", &[1, 4])
            .init(t)
            .node(node("Add", "add0", &["x", "b"], &["y"]))
            .output("y", &[1, 4])
    };
    let path = dir.join("m.onnx");
    std::fs::write(&path, ext("b.bin").bytes()).unwrap();
    let g = import_file(&path, &ImportOptions::default()).unwrap();
    let b = g.live_nodes().find_map(|(_, n)| n.attrs.tensor("value").ok().cloned()).unwrap();
    assert_eq!(b.as_f32(), Some(&[1.0, 2.0, 3.0, 4.0][..]));
    for (loc, what) in
        [("missing.bin", "cannot open"), ("../b.bin", "leaves the model's directory")]
    {
        std::fs::write(&path, ext(loc).bytes()).unwrap();
        let e = import_file(&path, &ImportOptions::default()).unwrap_err();
        let msg = expect_code(&e, "onnx::external_data");
        assert!(msg.contains(what) && msg.contains("initializer `b`"), "{msg}");
    }
    std::fs::write(dir.join("b.bin"), &payload[..8]).unwrap();
    std::fs::write(&path, ext("b.bin").bytes()).unwrap();
    let e = import_file(&path, &ImportOptions::default()).unwrap_err();
    assert!(expect_code(&e, "onnx::external_data").contains("too short"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn huge_constant_of_shape_is_refused_before_allocating() {
    let m = M::new(13)
        .init(i64_init("s", &[2], &[1 << 30, 1 << 30]))
        .node(node("ConstantOfShape", "c", &["s"], &["y"]))
        .output_any("y");
    assert!(m.fails("onnx::too_large").contains("ConstantOfShape"));
}

#[test]
fn huge_sizes_are_errors_not_panics() {
    let big = 1i64 << 40;
    let m = M::new(13)
        .input("x", &[big, big, big])
        .node(node("Flatten", "f", &["x"], &["y"]))
        .output_any("y");
    assert!(m.fails("onnx::invalid_node").contains("overflows"));
    let m = M::new(13)
        .input("x", &[4, 2])
        .init(i64_init("sz", &[2], &[i64::MAX, 5]))
        .node(node("Split", "s", &["x", "sz"], &["a", "b"]))
        .output_any("a");
    m.fails("onnx::invalid_node");
    let conv = with(
        node("Conv", "c", &["x", "w"], &["y"]),
        vec![a_str("auto_pad", "SAME_UPPER"), a_ints("strides", &[i64::MAX, i64::MAX])],
    );
    let m = M::new(13)
        .input("x", &[1, 1, i64::MAX, 4])
        .init(f32_init("w", &[1, 1, 1, 1], &[1.0]))
        .node(conv)
        .output_any("y");
    assert!(m.fails("onnx::shape").contains("over the limit"));
}

// ----- op mapping -----------------------------------------------------------------------

#[test]
fn shape_subgraphs_fold_into_a_constant_reshape() {
    let m = M::new(13)
        .input("x", &[2, 3, 4])
        .init(i64_init("i0", &[1], &[0]))
        .init(i64_init("minus1", &[1], &[-1]))
        .node(node("Shape", "shape", &["x"], &["s"]))
        .node(node("Gather", "g", &["s", "i0"], &["n"]))
        .node(with(node("Concat", "cat", &["n", "minus1"], &["target"]), vec![a_int("axis", 0)]))
        .node(node("Reshape", "r", &["x", "target"], &["y"]))
        .output("y", &[2, 12]);
    let g = m.ok();
    assert_eq!(ops(&g), ["reshape"]);
    assert_eq!(ints_of(only(&g, OpKind::Reshape), "shape"), [2, 12]);
}

#[test]
fn reshape_resolves_zero_and_minus_one() {
    let m = M::new(14)
        .input("x", &[2, 3, 4])
        .init(i64_init("s", &[3], &[0, -1, 2]))
        .node(node("Reshape", "r", &["x", "s"], &["y"]))
        .output("y", &[2, 6, 2]);
    assert_eq!(ints_of(only(&m.ok(), OpKind::Reshape), "shape"), [2, 6, 2]);
    let m = M::new(14)
        .input("x", &[2, 3, 4])
        .init(i64_init("s", &[2], &[-1, -1]))
        .node(node("Reshape", "r", &["x", "s"], &["y"]))
        .output_any("y");
    assert!(m.fails("onnx::invalid_node").contains("more than one -1"));
    let m = M::new(14)
        .input("x", &[2, 3, 4])
        .init(i64_init("s", &[2], &[5, -1]))
        .node(node("Reshape", "r", &["x", "s"], &["y"]))
        .output_any("y");
    assert!(m.fails("onnx::invalid_node").contains("cannot be split"));
}

#[test]
fn conv_auto_pad_becomes_explicit_pads() {
    let conv = |auto: &str| {
        M::new(13)
            .input("x", &[1, 1, 5, 6])
            .init(f32_init("w", &[2, 1, 3, 2], &[0.1; 12]))
            .node(with(
                node("Conv", "c", &["x", "w"], &["y"]),
                vec![a_str("auto_pad", auto), a_ints("strides", &[2, 1])],
            ))
            .output_any("y")
            .ok()
    };
    // H: out 3, total (3-1)*2+3-5 = 2 → 1/1. W: out 6, total 5+2-6 = 1 → upper 0/1, lower 1/0.
    let g = conv("SAME_UPPER");
    assert_eq!(ints_of(only(&g, OpKind::Conv), "pads"), [1, 0, 1, 1]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 2, 3, 6]);
    assert_eq!(ints_of(only(&conv("SAME_LOWER"), OpKind::Conv), "pads"), [1, 1, 1, 0]);
    assert_eq!(ints_of(only(&conv("VALID"), OpKind::Conv), "pads"), [0, 0, 0, 0]);
    let g = conv("NOTSET");
    let c = only(&g, OpKind::Conv);
    assert_eq!(ints_of(c, "dilations"), [1, 1]);
    assert_eq!(c.int("group").unwrap(), 1);
}

#[test]
fn conv_transpose_output_shape_sets_pads_and_output_padding() {
    let m = |out: &[i64]| {
        M::new(13)
            .input("x", &[1, 1, 3, 3])
            .init(f32_init("w", &[1, 2, 3, 3], &[0.1; 18]))
            .node(with(
                node("ConvTranspose", "ct", &["x", "w"], &["y"]),
                vec![a_ints("strides", &[3, 2]), a_ints("output_shape", out)],
            ))
            .output_any("y")
            .ok()
    };
    // Natural size: H 3·2+3 = 9, W 2·2+3 = 7. Asking for 10×8 extends the end.
    let g = m(&[10, 8]);
    let a = only(&g, OpKind::ConvTranspose);
    assert_eq!(ints_of(a, "pads"), [0, 0, 0, 0]);
    assert_eq!(ints_of(a, "output_padding"), [1, 1]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 2, 10, 8]);
    // Asking for 8×6 crops: NOTSET puts the odd unit at the beginning.
    let g = m(&[8, 6]);
    assert_eq!(ints_of(only(&g, OpKind::ConvTranspose), "pads"), [1, 1, 0, 0]);
    assert_eq!(g.ty(g.outputs[0]).shape, vec![1, 2, 8, 6]);
}

#[test]
fn legacy_softmax_coerces_to_2d() {
    let m = |opset: i64| {
        M::new(opset)
            .input("x", &[2, 3, 4])
            .node(with(node("Softmax", "s", &["x"], &["y"]), vec![a_int("axis", 1)]))
            .output("y", &[2, 3, 4])
            .ok()
    };
    let g = m(11);
    assert_eq!(ops(&g), ["reshape", "softmax", "reshape"]);
    assert_eq!(only(&g, OpKind::Softmax).int("axis").unwrap(), 1);
    let g = m(13);
    assert_eq!(ops(&g), ["softmax"]);
    // Opset-11 default axis on a 2-D input is already the last axis.
    let g = M::new(11)
        .input("x", &[2, 3])
        .node(node("LogSoftmax", "s", &["x"], &["y"]))
        .output("y", &[2, 3])
        .ok();
    assert_eq!(ops(&g), ["log_softmax"]);
}

#[test]
fn opset_6_legacy_broadcasting_becomes_numpy_broadcasting() {
    let m = |axis: Option<i64>, b: &[i64]| {
        let mut attrs = vec![a_int("broadcast", 1)];
        attrs.extend(axis.map(|a| a_int("axis", a)));
        let n: i64 = b.iter().product();
        M::new(6)
            .input("x", &[2, 3, 4, 5])
            .init(f32_init("b", b, &vec![1.0; n as usize]))
            .node(with(node("Add", "add", &["x", "b"], &["y"]), attrs))
            .output("y", &[2, 3, 4, 5])
    };
    let g = m(Some(1), &[3, 4]).ok();
    // The constant B folds into a [3,4,1] constant; the add broadcasts it numpy-style.
    assert_eq!(ops(&g), ["add"]);
    let (_, add) = g.live_nodes().find(|(_, n)| n.op == OpKind::Add).unwrap();
    assert_eq!(g.ty(add.inputs[1]).shape, vec![3, 4, 1]);
    assert_eq!(ops(&m(None, &[4, 5]).ok()), ["add"]);
    assert_eq!(ops(&m(Some(2), &[4, 5]).ok()), ["add"]);
    assert!(m(Some(3), &[4, 5]).fails("onnx::attribute").contains("does not fit"));
}

#[test]
fn clip_bounds_come_from_attributes_or_inputs() {
    let g = M::new(7)
        .input("x", &[4])
        .node(with(
            node("Clip", "c", &["x"], &["y"]),
            vec![a_float("min", 0.0), a_float("max", 6.0)],
        ))
        .output("y", &[4])
        .ok();
    let a = only(&g, OpKind::Clip);
    assert_eq!((a.float("min").unwrap(), a.float("max").unwrap()), (0.0, 6.0));
    let g = M::new(13)
        .input("x", &[4])
        .init(f32_init("lo", &[], &[-1.0]))
        .node(node("Clip", "c", &["x", "lo"], &["y"]))
        .output("y", &[4])
        .ok();
    let a = only(&g, OpKind::Clip);
    assert_eq!((a.float("min").unwrap(), a.float("max").unwrap()), (-1.0, f32::INFINITY));
}

#[test]
fn split_sizes_from_attribute_input_or_equal_parts() {
    let split = |opset: i64, n: NodeProto, extra: Option<TensorProto>| {
        let mut m = M::new(opset).input("x", &[7, 2]).node(n);
        if let Some(t) = extra {
            m = m.init(t);
        }
        m.output_any("a").output_any("b").output_any("c").ok()
    };
    let g = split(
        11,
        with(node("Split", "s", &["x"], &["a", "b", "c"]), vec![a_ints("split", &[1, 2, 4])]),
        None,
    );
    assert_eq!(ints_of(only(&g, OpKind::Split), "split"), [1, 2, 4]);
    let g = split(
        13,
        node("Split", "s", &["x", "sz"], &["a", "b", "c"]),
        Some(i64_init("sz", &[3], &[3, 3, 1])),
    );
    assert_eq!(ints_of(only(&g, OpKind::Split), "split"), [3, 3, 1]);
    let g = split(
        18,
        with(node("Split", "s", &["x"], &["a", "b", "c"]), vec![a_int("num_outputs", 3)]),
        None,
    );
    assert_eq!(ints_of(only(&g, OpKind::Split), "split"), [3, 3, 1]);
    assert_eq!(g.outputs.len(), 3);
    let m = M::new(13)
        .input("x", &[7, 2])
        .init(i64_init("sz", &[2], &[3, 3]))
        .node(node("Split", "s", &["x", "sz"], &["a", "b"]))
        .output_any("a");
    assert!(m.fails("onnx::invalid_node").contains("adding up to 7"));
}

#[test]
fn slice_defaults_and_legacy_attributes() {
    let g = M::new(13)
        .input("x", &[4, 6])
        .init(i64_init("st", &[1], &[1]))
        .init(i64_init("en", &[1], &[-1]))
        .init(i64_init("ax", &[1], &[-1]))
        .node(node("Slice", "s", &["x", "st", "en", "ax"], &["y"]))
        .output("y", &[4, 4])
        .ok();
    let a = only(&g, OpKind::Slice);
    assert_eq!((ints_of(a, "axes"), ints_of(a, "steps")), (vec![1], vec![1]));
    let g = M::new(9)
        .input("x", &[4, 6])
        .node(with(
            node("Slice", "s", &["x"], &["y"]),
            vec![a_ints("starts", &[0, 2]), a_ints("ends", &[2, 100])],
        ))
        .output("y", &[2, 4])
        .ok();
    assert_eq!(ints_of(only(&g, OpKind::Slice), "axes"), [0, 1]);
}

#[test]
fn pad_with_axes_expands_to_every_axis() {
    let g = M::new(18)
        .input("x", &[2, 3])
        .init(i64_init("p", &[2], &[1, 2]))
        .init(f32_init("v", &[], &[1.5]))
        .init(i64_init("ax", &[1], &[-1]))
        .node(node("Pad", "p", &["x", "p", "v", "ax"], &["y"]))
        .output("y", &[2, 6])
        .ok();
    let a = only(&g, OpKind::Pad);
    assert_eq!(ints_of(a, "pads"), [0, 1, 0, 2]);
    assert_eq!(a.float("value").unwrap(), 1.5);
    let g = M::new(7)
        .input("x", &[2, 3])
        .node(with(
            node("Pad", "p", &["x"], &["y"]),
            vec![a_ints("pads", &[1, 0, 1, 0]), a_str("mode", "edge")],
        ))
        .output("y", &[4, 3])
        .ok();
    assert_eq!(only(&g, OpKind::Pad).str("mode").unwrap(), "edge");
}

#[test]
fn squeeze_unsqueeze_flatten_become_reshapes() {
    let g = M::new(13)
        .input("x", &[1, 3, 1, 2])
        .init(i64_init("a", &[1], &[-2]))
        .node(node("Squeeze", "s", &["x", "a"], &["t"]))
        .node(with(node("Unsqueeze", "u", &["t"], &["u"]), vec![]))
        .output_any("u");
    // Unsqueeze without axes at opset 13 is an error; with them it is a reshape.
    assert!(g.fails("onnx::invalid_node").contains("`axes`"));
    let g = M::new(11)
        .input("x", &[1, 3, 1, 2])
        .node(with(node("Squeeze", "s", &["x"], &["t"]), vec![]))
        .node(with(node("Unsqueeze", "u", &["t"], &["u"]), vec![a_ints("axes", &[0, -1])]))
        .node(with(node("Flatten", "f", &["u"], &["y"]), vec![a_int("axis", 2)]))
        .output("y", &[3, 2])
        .ok();
    assert_eq!(ops(&g), ["reshape", "reshape", "reshape"]);
    let shapes: Vec<Vec<usize>> =
        g.live_nodes().map(|(_, n)| g.ty(n.outputs[0]).shape.clone()).collect();
    assert_eq!(shapes, [vec![3, 2], vec![1, 3, 2, 1], vec![3, 2]]);
}

#[test]
fn global_pools_and_reductions() {
    let g = M::new(13)
        .input("x", &[1, 2, 3, 3])
        .node(node("GlobalAveragePool", "gap", &["x"], &["y"]))
        .output("y", &[1, 2, 1, 1])
        .ok();
    let a = only(&g, OpKind::ReduceMean);
    assert_eq!((ints_of(a, "axes"), a.int("keepdims").unwrap()), (vec![2, 3], 1));
    // Axes as attribute (opset 13 ReduceMean) and as input (opset 13 ReduceSum).
    let g = M::new(13)
        .input("x", &[2, 3, 4])
        .node(with(
            node("ReduceMean", "m", &["x"], &["y"]),
            vec![a_ints("axes", &[-1, 0]), a_int("keepdims", 0)],
        ))
        .output("y", &[3])
        .ok();
    assert_eq!(ints_of(only(&g, OpKind::ReduceMean), "axes"), [0, 2]);
    let g = M::new(13)
        .input("x", &[2, 3, 4])
        .init(i64_init("ax", &[0], &[]))
        .node(with(
            node("ReduceSum", "s", &["x", "ax"], &["y"]),
            vec![a_int("noop_with_empty_axes", 1)],
        ))
        .output("y", &[2, 3, 4])
        .ok();
    assert_eq!(ops(&g), ["identity"]);
    let g = M::new(18)
        .input("x", &[2, 3])
        .node(node("ReduceMax", "m", &["x"], &["y"]))
        .output("y", &[1, 1])
        .ok();
    assert_eq!(ints_of(only(&g, OpKind::ReduceMax), "axes"), [0, 1]);
}

#[test]
fn dropout_is_identity_and_a_used_mask_is_all_true() {
    let g = M::new(13)
        .input("x", &[2, 2])
        .node(node("Dropout", "d", &["x"], &["y", "mask"]))
        .output("y", &[2, 2])
        .output_typed("mask", DataType::BOOL, Some(&fixed(&[2, 2])))
        .ok();
    assert_eq!(ops(&g), ["identity"]);
    let mask = g.const_value(g.outputs[1]).expect("mask is a constant");
    assert_eq!(mask.data(), &TensorData::Bool(vec![true; 4]));
}

#[test]
fn max_pool_indices_become_a_second_result_when_read() {
    let pool = || {
        with(
            node("MaxPool", "p", &["x"], &["y", "idx"]),
            vec![
                a_ints("kernel_shape", &[2, 2]),
                a_ints("strides", &[2, 2]),
                a_int("storage_order", 1),
            ],
        )
    };
    let g = M::new(13)
        .input("x", &[1, 1, 4, 4])
        .node(pool())
        .output("y", &[1, 1, 2, 2])
        .output_typed("idx", DataType::INT64, Some(&fixed(&[1, 1, 2, 2])))
        .ok();
    let a = only(&g, OpKind::MaxPool);
    assert_eq!((a.int("indices").unwrap(), a.int("storage_order").unwrap()), (1, 1));
    assert_eq!(g.ty(g.outputs[1]).dtype, DType::I64);
    // Unread, the output is left out.
    let g = M::new(13).input("x", &[1, 1, 4, 4]).node(pool()).output("y", &[1, 1, 2, 2]).ok();
    assert_eq!(only(&g, OpKind::MaxPool).int("indices").unwrap(), 0);
}

#[test]
fn pad_wrap_imports_with_full_rank_pads() {
    let pad = with(node("Pad", "pad", &["x", "p", "", "ax"], &["y"]), vec![a_str("mode", "wrap")]);
    let g = M::new(19)
        .input("x", &[2, 2])
        .init(i64_init("p", &[2], &[1, 3]))
        .init(i64_init("ax", &[1], &[-1]))
        .node(pad)
        .output("y", &[2, 6])
        .ok();
    let a = only(&g, OpKind::Pad);
    assert_eq!((a.str("mode").unwrap(), ints_of(a, "pads")), ("wrap", vec![0, 1, 0, 3]));
}

#[test]
fn resize_sizes_scales_and_policies() {
    let resize = |attrs: Vec<AttributeProto>, scales: Option<&[f32]>, sizes: Option<&[i64]>| {
        let mut m = M::new(19).input("x", &[1, 1, 4, 6]);
        let mut ins = vec!["x", ""];
        match scales {
            Some(s) => {
                m = m.init(f32_init("sc", &[s.len() as i64], s));
                ins.push("sc");
            }
            None => ins.push(""),
        }
        if let Some(z) = sizes {
            m = m.init(i64_init("sz", &[z.len() as i64], z));
            ins.push("sz");
        }
        m.node(with(node("Resize", "r", &ins, &["y"]), attrs)).output_any("y").ok()
    };
    let g = resize(vec![], Some(&[1.0, 1.0, 2.0, 0.5]), None);
    let a = only(&g, OpKind::Resize);
    assert_eq!(ints_of(a, "sizes"), [1, 1, 8, 3]);
    assert_eq!(a.floats("scales").unwrap(), [1.0, 1.0, 2.0, 0.5]);
    assert_eq!(a.str("coordinate_transformation_mode").unwrap(), "half_pixel");
    let g = resize(vec![], None, Some(&[1, 1, 2, 3]));
    assert_eq!(only(&g, OpKind::Resize).floats("scales").unwrap(), [1.0, 1.0, 0.5, 0.5]);
    // not_larger: common scale min(8/4, 9/6) = 1.5 → 6×9.
    let g = resize(
        vec![a_str("keep_aspect_ratio_policy", "not_larger"), a_ints("axes", &[2, 3])],
        None,
        Some(&[8, 9]),
    );
    let a = only(&g, OpKind::Resize);
    assert_eq!(ints_of(a, "sizes"), [1, 1, 6, 9]);
    assert_eq!(a.floats("scales").unwrap(), [1.0, 1.0, 1.5, 1.5]);
    // Upsample (opset 9) is an asymmetric, floor-rounding nearest resize.
    let g = M::new(9)
        .input("x", &[1, 1, 2, 2])
        .init(f32_init("sc", &[4], &[1.0, 1.0, 2.0, 3.0]))
        .node(node("Upsample", "u", &["x", "sc"], &["y"]))
        .output("y", &[1, 1, 4, 6])
        .ok();
    let a = only(&g, OpKind::Resize);
    assert_eq!(a.str("coordinate_transformation_mode").unwrap(), "asymmetric");
    assert_eq!(a.str("nearest_mode").unwrap(), "floor");
}

#[test]
fn resize_roi_and_antialias() {
    let m = |attrs: Vec<AttributeProto>, roi: Option<&[f32]>| {
        let mut m = M::new(19).input("x", &[1, 1, 4, 4]).init(i64_init("sz", &[2], &[3, 2]));
        if let Some(r) = roi {
            m = m.init(f32_init("roi", &[r.len() as i64], r));
        }
        let ins = ["x", if roi.is_some() { "roi" } else { "" }, "", "sz"];
        let mut attrs = attrs;
        attrs.push(a_ints("axes", &[3, 2]));
        m.node(with(node("Resize", "r", &ins, &["y"]), attrs)).output_any("y")
    };
    let crop = || {
        vec![
            a_str("coordinate_transformation_mode", "tf_crop_and_resize"),
            a_float("extrapolation_value", 5.0),
        ]
    };
    // The roi of axes [3, 2] spreads over every axis (0 and 1 elsewhere).
    let g = m(crop(), Some(&[0.1, 0.2, 0.9, 0.8])).ok();
    let a = only(&g, OpKind::Resize);
    assert_eq!(a.floats("roi").unwrap(), [0.0, 0.0, 0.2, 0.1, 1.0, 1.0, 0.8, 0.9]);
    assert_eq!(
        (a.float("extrapolation_value").unwrap(), ints_of(a, "sizes")),
        (5.0, vec![1, 1, 2, 3])
    );
    let msg = m(crop(), None).fails("onnx::invalid_node");
    assert!(msg.contains("`tf_crop_and_resize` needs `roi` with 4 entries"), "{msg}");
    // Other modes ignore the roi.
    let g = m(vec![], Some(&[0.1, 0.2, 0.9, 0.8])).ok();
    assert!(only(&g, OpKind::Resize).floats("roi").unwrap().is_empty());
    // antialias is kept for linear and cubic, dropped for nearest.
    let g = m(vec![a_int("antialias", 1), a_str("mode", "cubic")], None).ok();
    assert_eq!(only(&g, OpKind::Resize).int("antialias").unwrap(), 1);
    let g = m(vec![a_int("antialias", 1)], None).ok();
    assert_eq!(only(&g, OpKind::Resize).int("antialias").unwrap(), 0);
}

#[test]
fn resize_10_uses_the_old_nearest_semantics() {
    let m = |scales: &[f32]| {
        M::new(10)
            .input("x", &[1, 1, 4, 4])
            .init(f32_init("sc", &[4], scales))
            .node(node("Resize", "r", &["x", "sc"], &["y"]))
            .output_any("y")
    };
    let g = m(&[1.0, 1.0, 2.0, 2.0]).ok();
    let a = only(&g, OpKind::Resize);
    assert_eq!(a.str("coordinate_transformation_mode").unwrap(), "asymmetric");
    assert_eq!((a.str("nearest_mode").unwrap(), ints_of(a, "sizes")), ("floor", vec![1, 1, 8, 8]));
    let g = m(&[1.0, 1.0, 0.5, 0.5]).ok();
    assert_eq!(only(&g, OpKind::Resize).str("nearest_mode").unwrap(), "ceil");
    assert!(m(&[1.0, 1.0, 2.0, 0.5]).fails("onnx::unsupported").contains("enlarges some axes"));
}

#[test]
fn shape_slices_fold_to_constants() {
    let m = |attrs: Vec<AttributeProto>| {
        let g = M::new(15)
            .input("x", &[2, 3, 4, 5])
            .node(with(node("Shape", "s", &["x"], &["y"]), attrs))
            .output_any("y")
            .ok();
        assert!(ops(&g).is_empty());
        g.const_value(g.outputs[0]).expect("a constant").data().clone()
    };
    assert_eq!(m(vec![]), TensorData::I64(vec![2, 3, 4, 5]));
    assert_eq!(m(vec![a_int("start", 1), a_int("end", -1)]), TensorData::I64(vec![3, 4]));
    assert_eq!(m(vec![a_int("start", -10), a_int("end", 10)]), TensorData::I64(vec![2, 3, 4, 5]));
    assert_eq!(m(vec![a_int("start", 3), a_int("end", 1)]), TensorData::I64(vec![]));
}

#[test]
fn quantize_linear_takes_its_type_from_the_zero_point() {
    let mut zp = TensorProto::new();
    zp.name = "zp".into();
    zp.data_type = DataType::INT8 as i32;
    zp.int32_data = vec![0];
    let g = M::new(13)
        .input("x", &[2, 3])
        .init(f32_init("s", &[], &[0.1]))
        .init(zp)
        .node(node("QuantizeLinear", "q", &["x", "s", "zp"], &["y"]))
        .node(node("DequantizeLinear", "dq", &["y", "s", "zp"], &["z"]))
        .output("z", &[2, 3])
        .ok();
    assert_eq!(only(&g, OpKind::QuantizeLinear).dtype("to").unwrap(), DType::I8);
    let g = M::new(13)
        .input("x", &[2, 3])
        .init(f32_init("s", &[3], &[0.1, 0.2, 0.3]))
        .node(with(node("QuantizeLinear", "q", &["x", "s"], &["y"]), vec![a_int("axis", -1)]))
        .output_typed("y", DataType::UINT8, Some(&fixed(&[2, 3])))
        .ok();
    let a = only(&g, OpKind::QuantizeLinear);
    assert_eq!((a.dtype("to").unwrap(), a.int("axis").unwrap()), (DType::U8, 1));
}

#[test]
fn blocked_and_low_bit_quantization_imports() {
    // int4 zero point, packed two to a byte in raw_data; blocks of 2 along axis 1.
    let mut zp = TensorProto::new();
    zp.name = "zp".into();
    zp.data_type = DataType::INT4 as i32;
    zp.dims = vec![4, 2];
    zp.raw_data = vec![0x1f, 0x00, 0x77, 0x88];
    let q = with(
        node("QuantizeLinear", "q", &["x", "s", "zp"], &["y"]),
        vec![a_int("axis", 1), a_int("block_size", 2)],
    );
    let g = M::new(21)
        .input("x", &[4, 4])
        .init(f32_init("s", &[4, 2], &[0.5; 8]))
        .init(zp)
        .node(q)
        .output_typed("y", DataType::INT4, Some(&fixed(&[4, 4])))
        .ok();
    let a = only(&g, OpKind::QuantizeLinear);
    assert_eq!(a.dtype("to").unwrap(), DType::I4);
    assert_eq!((a.int("block_size").unwrap(), a.int("saturate").unwrap()), (2, 1));

    let bad = with(node("QuantizeLinear", "q", &["x", "s"], &["y"]), vec![a_int("block_size", 1)]);
    let m = M::new(21)
        .input("x", &[4, 4])
        .init(f32_init("s", &[4, 2], &[0.5; 8]))
        .node(bad)
        .output_typed("y", DataType::UINT8, Some(&fixed(&[4, 4])));
    assert!(m.fails("onnx::shape").contains("expected a scalar (per tensor) or [4, 4]"));

    let cast = with(
        node("Cast", "c", &["x"], &["y"]),
        vec![a_int("to", DataType::FLOAT8E5M2 as i64), a_int("saturate", 0)],
    );
    let g = M::new(19).input("x", &[2]).node(cast).output_any("y").ok();
    let c = only(&g, OpKind::Cast);
    assert_eq!((c.dtype("to").unwrap(), c.int("saturate").unwrap()), (DType::F8E5M2, 0));
}

#[test]
fn constants_in_every_form() {
    let forms = [
        (a_float("value_float", 2.5), vec![]),
        (
            {
                let mut a = attr("value_floats", AttributeType::FLOATS);
                a.floats = vec![1.0, 2.0];
                a
            },
            vec![2],
        ),
        (a_int("value_int", 3), vec![]),
        (a_ints("value_ints", &[1, 2, 3]), vec![3]),
        (a_tensor("value", f32_init("", &[2, 2], &[1.0; 4])), vec![2, 2]),
    ];
    for (a, shape) in forms {
        let g =
            M::new(13).node(with(node("Constant", "c", &[], &["y"]), vec![a])).output_any("y").ok();
        assert_eq!(g.ty(g.outputs[0]).shape, shape);
        assert!(g.const_value(g.outputs[0]).is_some());
    }
    let two = with(
        node("Constant", "c", &[], &["y"]),
        vec![a_int("value_int", 1), a_float("value_float", 1.0)],
    );
    assert!(M::new(13)
        .node(two)
        .output_any("y")
        .fails("onnx::invalid_node")
        .contains("exactly one"));
}

#[test]
fn batch_norm_legacy_spatial_and_expand() {
    let bn = |spatial: i64| {
        M::new(7)
            .input("x", &[1, 2, 2, 2])
            .init(f32_init("s", &[2], &[1.0, 1.0]))
            .init(f32_init("b", &[2], &[0.0, 0.0]))
            .init(f32_init("m", &[2], &[0.0, 0.0]))
            .init(f32_init("v", &[2], &[1.0, 1.0]))
            .node(with(
                node("BatchNormalization", "bn", &["x", "s", "b", "m", "v"], &["y"]),
                vec![a_int("spatial", spatial)],
            ))
            .output("y", &[1, 2, 2, 2])
    };
    assert_eq!(ops(&bn(1).ok()), ["batch_norm"]);
    assert!(bn(0).fails("onnx::unsupported").contains("spatial=0"));
    let g = M::new(13)
        .input("x", &[3, 1])
        .init(i64_init("s", &[3], &[2, 1, 4]))
        .node(node("Expand", "e", &["x", "s"], &["y"]))
        .output("y", &[2, 3, 4])
        .ok();
    assert_eq!(ints_of(only(&g, OpKind::Expand), "shape"), [2, 3, 4]);
}

// ----- the corpus -----------------------------------------------------------------------

fn onnx_data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("ASPLIT_ONNX_DATA") {
        return PathBuf::from(d);
    }
    let out = std::process::Command::new("python3")
        .args(["-c", "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend', 'test', 'data'))"])
        .output()
        .expect("python3 runs (set ASPLIT_ONNX_DATA to skip the lookup)");
    assert!(out.status.success(), "the onnx Python package is needed for the corpus tests");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn node_tests_dir() -> PathBuf {
    if let Ok(d) = std::env::var("ASPLIT_NODE_TESTS") {
        return PathBuf::from(d);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
    let generated = root.join("target/conformance/node");
    if generated.join("VERSION").exists() {
        return generated;
    }
    PathBuf::from("/tmp/nodetests")
}

fn load(path: &Path) -> ModelProto {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ModelProto::parse_from_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn op_counts(m: &ModelProto) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for n in &m.graph.node {
        *c.entry(n.op_type.clone()).or_default() += 1;
    }
    c
}

#[test]
fn light_models_import_with_one_ir_node_per_compute_node() {
    let dir = onnx_data_dir().join("light");
    let mut models: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    models.sort();
    assert_eq!(models.len(), 9, "the 9 light models in {}", dir.display());
    // ONNX ops that map one-to-one onto an IR op in these models.
    let one_to_one = [
        ("Conv", "conv"),
        ("Relu", "relu"),
        ("MaxPool", "max_pool"),
        ("AveragePool", "avg_pool"),
        ("Gemm", "gemm"),
        ("BatchNormalization", "batch_norm"),
        ("LRN", "lrn"),
        ("Softmax", "softmax"),
        ("Sum", "sum"),
        ("Transpose", "transpose"),
        ("GlobalAveragePool", "reduce_mean"),
        ("Dropout", "identity"),
    ];
    for path in models {
        let onnx = op_counts(&load(&path));
        let g = import_file(&path, &ImportOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let g = verified(g);
        let mut ir: BTreeMap<&str, usize> = BTreeMap::new();
        for op in ops(&g) {
            *ir.entry(op).or_default() += 1;
        }
        for (o, i) in one_to_one {
            let want = onnx.get(o).copied().unwrap_or(0);
            assert_eq!(ir.get(i).copied().unwrap_or(0), want, "{}: {o} → {i}", path.display());
        }
        let onnx_total: usize = onnx.values().sum();
        let ir_total = ops(&g).len();
        assert!(
            ir_total <= onnx_total && ir_total > onnx["Conv"],
            "{}: {ir_total} IR nodes for {onnx_total} ONNX nodes",
            path.display()
        );
        assert_eq!(g.inputs.len(), 1, "{}: one data input", path.display());
        assert_eq!(g.ty(g.outputs[0]).numel(), 1000, "{}", path.display());
    }
}

/// Node tests whose ops are all supported but which use a feature the importer or the IR
/// lacks; each must fail with the given error code. (Tests using element types the IR
/// lacks are recognised by [`uses_unsupported_dtype`] instead of being listed.)
const NODE_TESTS_EXPECTED_TO_FAIL: &[(&str, &str)] = &[
    // BatchNormalization training mode
    ("test_batchnorm_epsilon_training_mode", "onnx::unsupported"),
    ("test_batchnorm_example_training_mode", "onnx::unsupported"),
    // random (training-mode) Dropout
    ("test_training_dropout", "onnx::unsupported"),
    ("test_training_dropout_default", "onnx::unsupported"),
    ("test_training_dropout_default_mask", "onnx::unsupported"),
    ("test_training_dropout_mask", "onnx::unsupported"),
];

/// ONNX element type codes the IR has: all but undefined (0), string (8), the complex types
/// (14, 15) and float6 (27, 28).
const IR_DTYPES: [i32; 23] =
    [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];

/// True when a graph input, output or initializer, or a Cast target, has an element type
/// outside [`IR_DTYPES`].
fn uses_unsupported_dtype(m: &ModelProto) -> bool {
    let g = &m.graph;
    let io = g.input.iter().chain(&g.output).filter_map(|vi| match vi.type_.value.as_ref() {
        Some(type_proto::Value::TensorType(t)) => Some(t.elem_type),
        _ => None,
    });
    let inits = g.initializer.iter().map(|t| t.data_type);
    let casts = g
        .node
        .iter()
        .filter(|n| n.op_type == "Cast")
        .flat_map(|n| n.attribute.iter().filter(|a| a.name == "to").map(|a| a.i as i32));
    io.chain(inits).chain(casts).any(|code| !IR_DTYPES.contains(&code))
}

/// The first data set's inputs, by graph-input name (those whose dtype the IR has).
fn known_inputs(case: &Path, model: &ModelProto) -> Vec<(String, asplit_ir::Tensor)> {
    let g = &model.graph;
    let inits: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = g.input.iter().filter(|i| !inits.contains(&i.name.as_str()));
    inputs
        .enumerate()
        .filter_map(|(j, i)| {
            let file = case.join(format!("test_data_set_0/input_{j}.pb"));
            read_tensor_pb(&file).ok().map(|t| (i.name.clone(), t))
        })
        .collect()
}

#[test]
fn node_tests_of_supported_ops_import() {
    let dir = node_tests_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("node tests at {}: {e} (set ASPLIT_NODE_TESTS)", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists() && !p.join("SKIP").exists())
        .collect();
    cases.sort();
    let mut imported = 0;
    let mut failures = Vec::new();
    let mut expected: BTreeMap<&str, &str> = NODE_TESTS_EXPECTED_TO_FAIL.iter().copied().collect();
    for case in cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let model = load(&case.join("model.onnx"));
        let supported = model.graph.node.iter().all(|n| {
            SUPPORTED_OPS.contains(&n.op_type.as_str())
                && (n.domain.is_empty() || n.domain == "ai.onnx")
        });
        if !supported {
            continue;
        }
        let known = known_inputs(&case, &model);
        let result =
            import_file_with_values(&case.join("model.onnx"), &ImportOptions::default(), &known);
        match (result, expected.remove(name.as_str())) {
            (Ok(g), None) => {
                if let Err(v) = asplit_ir::verify::verify(&g) {
                    failures.push(format!("{name}: does not verify: {}", v[0]));
                }
                // Every ONNX node becomes a few IR nodes at most (LayerNormalization with its
                // statistics outputs is the largest: 9).
                let ir_nodes = ops(&g).len();
                if ir_nodes > 9 * model.graph.node.len() {
                    failures.push(format!(
                        "{name}: {ir_nodes} IR nodes for {} ONNX nodes",
                        model.graph.node.len()
                    ));
                }
                imported += 1;
            }
            (Ok(_), Some(code)) => {
                failures.push(format!("{name}: imports, but is listed as failing with {code}"))
            }
            (Err(e), Some(code)) => {
                let got = e.code().map(|c| c.to_string()).unwrap_or_default();
                if got != code {
                    failures.push(format!("{name}: expected {code}, got {got}: {e}"));
                }
            }
            (Err(e), None) => {
                let code = e.code().map(|c| c.to_string()).unwrap_or_default();
                if code != "onnx::unsupported_dtype" || !uses_unsupported_dtype(&model) {
                    failures.push(format!("{name}: [{code}] {e}"));
                }
            }
        }
    }
    assert!(expected.is_empty(), "listed cases not found: {:?}", expected.keys());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(imported > 400, "only {imported} node tests imported from {}", dir.display());
}
