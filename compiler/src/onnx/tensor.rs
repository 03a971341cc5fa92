//! ONNX `TensorProto` ⇄ IR [`Tensor`], and ONNX element types ⇄ [`asplit_ir::DType`]: the
//! conversions live in the runtime crate (`asplit_runtime::proto`), shared with `asplitc run`
//! and the compiled programs; this module re-exports them with the importer's error type.

use super::error::ImportError;
use asplit_ir::Tensor;
use asplit_runtime::proto::{self, ProtoError};
use onnx_protobuf::TensorProto;
use std::path::Path;

pub use asplit_runtime::proto::{
    dtype_from_onnx, dtype_to_onnx, numel, onnx_dtype_name, tensor_to_proto,
};

impl From<ProtoError> for ImportError {
    fn from(e: ProtoError) -> Self {
        match e {
            ProtoError::UnsupportedDtype { what, dtype } => {
                ImportError::UnsupportedDtype { what, dtype }
            }
            ProtoError::TensorData { what, message } => ImportError::TensorData { what, message },
            ProtoError::ExternalData { what, message } => {
                ImportError::ExternalData { what, message }
            }
            ProtoError::Io { path, error } => ImportError::Io { path, error },
            ProtoError::Parse { what, message } => ImportError::Parse { what, message },
        }
    }
}

/// Converts a `TensorProto` to a tensor; external data is resolved relative to `base_dir`.
pub fn tensor_from_proto(t: &TensorProto, base_dir: Option<&Path>) -> Result<Tensor, ImportError> {
    Ok(proto::tensor_from_proto(t, base_dir)?)
}

/// Like [`tensor_from_proto`], with `what` naming the tensor in errors.
pub(crate) fn tensor_from_proto_as(
    t: &TensorProto,
    base_dir: Option<&Path>,
    what: &str,
) -> Result<Tensor, ImportError> {
    Ok(proto::tensor_from_proto_as(t, base_dir, what)?)
}

/// Reads a file holding one serialized `TensorProto` (the ONNX test-data `.pb` layout).
pub fn read_tensor_pb(path: &Path) -> Result<Tensor, ImportError> {
    Ok(proto::read_tensor_pb(path)?)
}
