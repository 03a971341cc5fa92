//! Tensor files on disk: `.npy` and ONNX `TensorProto` `.pb`, chosen by extension.
//!
//! Reading checks the format and the payload size; binding checks count, dtype and shape
//! against the graph's inputs. Writing produces `.pb` (the ONNX test-data layout:
//! `output_<i>.pb`) or `.npy` by extension. Nothing here interprets models.

use crate::error::DriverError;
use crate::npy;
use crate::onnx::tensor::{tensor_from_proto, tensor_to_proto};
use asplit_ir::{Graph, Tensor};
use onnx_protobuf::{Message, TensorProto};
use std::path::Path;

/// Largest tensor file read (4 GiB): a bound on what a mistaken path can make us allocate.
const MAX_TENSOR_FILE: u64 = 4 << 30;

/// Reads a `.npy` or `.pb` tensor file.
pub fn read_tensor(path: &Path) -> Result<Tensor, DriverError> {
    let bytes = read_bounded(path)?;
    let bad = |message: String| DriverError::TensorFile { path: path.to_path_buf(), message };
    match extension(path).as_deref() {
        Some("npy") => npy::read_npy(&bytes).map_err(|e| bad(e.to_string())),
        Some("pb") => {
            let proto = TensorProto::parse_from_bytes(&bytes)
                .map_err(|e| bad(format!("not a serialized ONNX TensorProto ({e})")))?;
            tensor_from_proto(&proto, None).map_err(|e| bad(e.to_string()))
        }
        _ => Err(bad("unknown extension; expected .npy or .pb".into())),
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, DriverError> {
    let meta = std::fs::metadata(path).map_err(|e| DriverError::io("read", path, e))?;
    if meta.is_dir() {
        let e = std::io::Error::other("is a directory");
        return Err(DriverError::io("read", path, e));
    }
    if meta.len() > MAX_TENSOR_FILE {
        return Err(DriverError::TensorFile {
            path: path.to_path_buf(),
            message: format!("{} bytes is larger than the 4 GiB limit", meta.len()),
        });
    }
    std::fs::read(path).map_err(|e| DriverError::io("read", path, e))
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase())
}

/// Writes a tensor as `.pb` or `.npy`, by extension.
pub fn write_tensor(path: &Path, t: &Tensor, name: &str) -> Result<(), DriverError> {
    let bytes = match extension(path).as_deref() {
        Some("npy") => npy::write_npy(t).map_err(|e| DriverError::TensorFile {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?,
        Some("pb") => {
            tensor_to_proto(t, name).write_to_bytes().map_err(|e| DriverError::TensorFile {
                path: path.to_path_buf(),
                message: format!("cannot serialize: {e}"),
            })?
        }
        _ => {
            return Err(DriverError::TensorFile {
                path: path.to_path_buf(),
                message: "unknown extension; expected .npy or .pb".into(),
            })
        }
    };
    std::fs::write(path, bytes).map_err(|e| DriverError::io("write", path, e))
}

/// Checks that `inputs` (read from `paths`) match the graph's inputs in count, dtype and
/// shape; the error names the file and the model input.
pub fn check_binding(
    g: &Graph,
    inputs: &[Tensor],
    paths: &[std::path::PathBuf],
) -> Result<(), DriverError> {
    if inputs.len() != g.inputs.len() {
        return Err(DriverError::InputBinding {
            message: format!(
                "the model has {} input(s), {} file(s) were given with --input",
                g.inputs.len(),
                inputs.len()
            ),
            inputs: describe_inputs(g),
        });
    }
    for (i, ((t, &v), path)) in inputs.iter().zip(&g.inputs).zip(paths).enumerate() {
        let want = g.ty(v);
        if &t.ty() != want {
            let name = g.values[v].name.clone().unwrap_or_else(|| format!("#{i}"));
            return Err(DriverError::InputBinding {
                message: format!(
                    "`{}` holds {}, but model input {i} (`{name}`) is {want}",
                    path.display(),
                    t.ty()
                ),
                inputs: describe_inputs(g),
            });
        }
    }
    Ok(())
}

/// `model inputs: `x`: f32[1,3,224,224], …`
pub fn describe_inputs(g: &Graph) -> String {
    let parts: Vec<String> = g
        .inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let name = g.values[v].name.clone().unwrap_or_else(|| format!("#{i}"));
            format!("`{name}`: {}", g.ty(v))
        })
        .collect();
    format!("model inputs, in order: {}", parts.join(", "))
}
