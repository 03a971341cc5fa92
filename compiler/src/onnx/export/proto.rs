//! Small builders for the ONNX protobuf messages the exporter writes: nodes, attributes
//! and typed value infos. Pure construction; no checking beyond what the types enforce.

use asplit_ir::types::DType;
use asplit_runtime::proto::dtype_to_onnx;
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::{
    tensor_shape_proto, type_proto, AttributeProto, NodeProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};

/// A node of the default domain.
pub(super) fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    let mut n = NodeProto::new();
    n.op_type = op.into();
    n.input = inputs.iter().map(|s| s.to_string()).collect();
    n.output = outputs.iter().map(|s| s.to_string()).collect();
    n
}

/// Adds attributes to a node.
pub(super) fn with(mut n: NodeProto, attrs: Vec<AttributeProto>) -> NodeProto {
    n.attribute.extend(attrs);
    n
}

fn attr(name: &str, t: AttributeType) -> AttributeProto {
    let mut a = AttributeProto::new();
    a.name = name.into();
    a.type_ = t.into();
    a
}

/// An INT attribute.
pub(super) fn int(name: &str, v: i64) -> AttributeProto {
    let mut a = attr(name, AttributeType::INT);
    a.i = v;
    a
}

/// An INTS attribute.
pub(super) fn ints(name: &str, v: &[i64]) -> AttributeProto {
    let mut a = attr(name, AttributeType::INTS);
    a.ints = v.to_vec();
    a
}

/// A FLOAT attribute.
pub(super) fn float(name: &str, v: f32) -> AttributeProto {
    let mut a = attr(name, AttributeType::FLOAT);
    a.f = v;
    a
}

/// A STRING attribute.
pub(super) fn string(name: &str, v: &str) -> AttributeProto {
    let mut a = attr(name, AttributeType::STRING);
    a.s = v.as_bytes().to_vec();
    a
}

/// A typed value info with a static shape.
pub(super) fn value_info(name: &str, dtype: DType, shape: &[usize]) -> ValueInfoProto {
    let mut dims = TensorShapeProto::new();
    for &d in shape {
        let mut dim = tensor_shape_proto::Dimension::new();
        dim.set_dim_value(d as i64);
        dims.dim.push(dim);
    }
    let mut tt = type_proto::Tensor::new();
    tt.elem_type = dtype_to_onnx(dtype);
    tt.shape = Some(dims).into();
    let mut ty = TypeProto::new();
    ty.set_tensor_type(tt);
    let mut vi = ValueInfoProto::new();
    vi.name = name.into();
    vi.type_ = Some(ty).into();
    vi
}
