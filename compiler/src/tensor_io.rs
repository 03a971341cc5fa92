//! Tensor files on disk (`.npy` and ONNX `TensorProto` `.pb`, chosen by extension), with the
//! driver's error type. The code lives in the runtime crate (`asplit_runtime::tensor_file`),
//! which the compiled programs link, so `asplitc run` and those programs check files alike.

use crate::error::DriverError;
use asplit_ir::{Graph, Tensor, TensorType};
use asplit_runtime::tensor_file::{self as tf, TensorFileError};
use std::path::Path;

impl From<TensorFileError> for DriverError {
    fn from(e: TensorFileError) -> Self {
        match e {
            TensorFileError::Io { action, path, error } => DriverError::Io { action, path, error },
            TensorFileError::Format { path, message } => DriverError::TensorFile { path, message },
        }
    }
}

/// Reads a `.npy` or `.pb` tensor file.
pub fn read_tensor(path: &Path) -> Result<Tensor, DriverError> {
    Ok(tf::read_tensor(path)?)
}

/// Writes a tensor as `.pb` or `.npy`, by extension.
pub fn write_tensor(path: &Path, t: &Tensor, name: &str) -> Result<(), DriverError> {
    Ok(tf::write_tensor(path, t, name)?)
}

/// The graph's inputs as (name, type) pairs; unnamed ones are `#<i>`.
pub fn graph_inputs(g: &Graph) -> Vec<(String, TensorType)> {
    g.inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let name = g.values[v].name.clone().unwrap_or_else(|| format!("#{i}"));
            (name, g.ty(v).clone())
        })
        .collect()
}

/// Checks that `inputs` (read from `paths`) match the graph's inputs in count, dtype and
/// shape; the error names the file and the model input.
pub fn check_binding(
    g: &Graph,
    inputs: &[Tensor],
    paths: &[std::path::PathBuf],
) -> Result<(), DriverError> {
    tf::check_binding(&graph_inputs(g), inputs, paths)
        .map_err(|e| DriverError::InputBinding { message: e.message, inputs: e.inputs })
}

/// `model inputs, in order: `x`: f32[1,3,224,224], …`
pub fn describe_inputs(g: &Graph) -> String {
    tf::describe_inputs(&graph_inputs(g))
}
