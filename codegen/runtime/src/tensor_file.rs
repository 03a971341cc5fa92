//! Tensor files on disk: `.npy` and ONNX `TensorProto` `.pb`, chosen by extension.
//!
//! Reading checks the format and the payload size; binding checks count, dtype and shape
//! against a model's inputs. Writing produces `.pb` (the ONNX test-data layout:
//! `output_<i>.pb`) or `.npy` by extension. `asplitc run` (through `asplitc::tensor_io`) and
//! the compiled programs both use this file, so they accept and reject the same files with
//! the same messages. Nothing here interprets models.

use crate::npy;
use crate::proto::{tensor_from_proto, tensor_to_proto};
use asplit_ir::{Tensor, TensorType};
use onnx_protobuf::{Message, TensorProto};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Largest tensor file read (4 GiB): a bound on what a mistaken path can make us allocate.
const MAX_TENSOR_FILE: u64 = 4 << 30;

/// Why a tensor file could not be read or written.
#[derive(Debug, Error)]
pub enum TensorFileError {
    /// The OS refused.
    #[error("cannot {action} `{path}`: {error}")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The file's content (or name) is not a tensor file we read.
    #[error("`{path}`: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Why input tensors do not bind to a model's inputs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{message}")]
pub struct BindingError {
    /// What does not match.
    pub message: String,
    /// The model's inputs, in order (for a help line).
    pub inputs: String,
}

/// Reads a `.npy` or `.pb` tensor file.
pub fn read_tensor(path: &Path) -> Result<Tensor, TensorFileError> {
    let bytes = read_bounded(path)?;
    let bad = |message: String| TensorFileError::Format { path: path.to_path_buf(), message };
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

fn read_bounded(path: &Path) -> Result<Vec<u8>, TensorFileError> {
    let io = |error| TensorFileError::Io { action: "read", path: path.to_path_buf(), error };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(io(std::io::Error::other("is a directory")));
    }
    if meta.len() > MAX_TENSOR_FILE {
        return Err(TensorFileError::Format {
            path: path.to_path_buf(),
            message: format!("{} bytes is larger than the 4 GiB limit", meta.len()),
        });
    }
    std::fs::read(path).map_err(io)
}

fn extension(path: &Path) -> Option<String> {
    path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase())
}

/// The bytes of `t` as a `.pb` or `.npy` file, by the extension of `path`.
pub fn tensor_file_bytes(path: &Path, t: &Tensor, name: &str) -> Result<Vec<u8>, TensorFileError> {
    let bad = |message: String| TensorFileError::Format { path: path.to_path_buf(), message };
    match extension(path).as_deref() {
        Some("npy") => npy::write_npy(t).map_err(|e| bad(e.to_string())),
        Some("pb") => tensor_to_proto(t, name)
            .write_to_bytes()
            .map_err(|e| bad(format!("cannot serialize: {e}"))),
        _ => Err(bad("unknown extension; expected .npy or .pb".into())),
    }
}

/// Writes a tensor as `.pb` or `.npy`, by extension.
pub fn write_tensor(path: &Path, t: &Tensor, name: &str) -> Result<(), TensorFileError> {
    let bytes = tensor_file_bytes(path, t, name)?;
    std::fs::write(path, bytes).map_err(|error| TensorFileError::Io {
        action: "write",
        path: path.to_path_buf(),
        error,
    })
}

/// Checks that `inputs` (read from `paths`) match the model inputs `expected` (name, type)
/// in count, dtype and shape; the error names the file and the model input.
pub fn check_binding(
    expected: &[(String, TensorType)],
    inputs: &[Tensor],
    paths: &[PathBuf],
) -> Result<(), BindingError> {
    if inputs.len() != expected.len() {
        return Err(BindingError {
            message: format!(
                "the model has {} input(s), {} file(s) were given with --input",
                expected.len(),
                inputs.len()
            ),
            inputs: describe_inputs(expected),
        });
    }
    for (i, ((t, (name, want)), path)) in inputs.iter().zip(expected).zip(paths).enumerate() {
        if &t.ty() != want {
            return Err(BindingError {
                message: format!(
                    "`{}` holds {}, but model input {i} (`{name}`) is {want}",
                    path.display(),
                    t.ty()
                ),
                inputs: describe_inputs(expected),
            });
        }
    }
    Ok(())
}

/// `model inputs, in order: `x`: f32[1,3,224,224], …`
pub fn describe_inputs(expected: &[(String, TensorType)]) -> String {
    let parts: Vec<String> = expected.iter().map(|(name, ty)| format!("`{name}`: {ty}")).collect();
    format!("model inputs, in order: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::DType;

    #[test]
    fn binding_checks_count_and_type() {
        let want = vec![("x".to_string(), TensorType::new(DType::F32, [2]))];
        let ok = Tensor::from_f32([2], vec![1.0, 2.0]).expect("2");
        let bad = Tensor::from_f32([3], vec![1.0, 2.0, 3.0]).expect("3");
        let p = vec![PathBuf::from("a.npy")];
        assert!(check_binding(&want, &[ok], &p).is_ok());
        let e = check_binding(&want, &[bad], &p).unwrap_err();
        assert_eq!(e.message, "`a.npy` holds f32[3], but model input 0 (`x`) is f32[2]");
        let e = check_binding(&want, &[], &[]).unwrap_err();
        assert!(e.message.starts_with("the model has 1 input(s), 0 file(s)"), "{e}");
    }

    #[test]
    fn files_round_trip_and_bad_names_are_errors() {
        let dir = std::env::temp_dir().join(format!("asplit-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let t = Tensor::from_f32([2, 2], vec![1.0, -2.0, 3.5, 0.0]).expect("4");
        for name in ["t.npy", "t.pb"] {
            let p = dir.join(name);
            write_tensor(&p, &t, "t").expect("written");
            assert_eq!(read_tensor(&p).expect("read"), t);
        }
        assert!(matches!(
            write_tensor(&dir.join("t.txt"), &t, "t"),
            Err(TensorFileError::Format { .. })
        ));
        assert!(matches!(read_tensor(&dir.join("missing.npy")), Err(TensorFileError::Io { .. })));
        std::fs::write(dir.join("junk.pb"), b"\xff\xff\xff").expect("write");
        assert!(read_tensor(&dir.join("junk.pb")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
