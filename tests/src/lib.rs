//! asplit-tests: shared helpers for asplitc's integration tests (under `tests/tests/`).
//!
//! Locating the ONNX backend test data (shipped in the `onnx` Python wheel, plus the node
//! tests that `conformance/gen_node_tests.py` writes), reading a test case, and comparing
//! tensors the way ONNX's backend test runner does (`|out − ref| ≤ atol + rtol·|ref|`, NaN
//! matches NaN, dtype and shape must agree). These helpers never decide pass/fail policy.

pub mod conformance;
pub mod models;

use asplit_ir::Tensor;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The Python interpreter used for the reference tools (`ASPLIT_PYTHON` or `python3`).
pub fn python() -> String {
    std::env::var("ASPLIT_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// `onnx/backend/test/data` of the installed onnx wheel (`ASPLIT_ONNX_DATA` overrides).
pub fn onnx_data_dir() -> Result<PathBuf, String> {
    if let Ok(d) = std::env::var("ASPLIT_ONNX_DATA") {
        return Ok(PathBuf::from(d));
    }
    let out = Command::new(python())
        .args(["-c", "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend', 'test', 'data'))"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python()))?;
    if !out.status.success() {
        return Err(format!(
            "the onnx Python package is missing (pip install onnx==1.23.2): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The node test cases, generated once into `target/conformance/node` (kept between runs;
/// regenerated when the onnx version changes).
pub fn node_tests_dir() -> Result<PathBuf, String> {
    let dir = workspace_root().join("target/conformance/node");
    let version = Command::new(python())
        .args(["-c", "import onnx; print(onnx.__version__)"])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python()))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let stamp = std::fs::read_to_string(dir.join("VERSION")).unwrap_or_default();
    if !version.is_empty() && stamp.starts_with(&format!("onnx {version},")) {
        return Ok(dir);
    }
    let script = workspace_root().join("tests/conformance/gen_node_tests.py");
    let status = Command::new(python())
        .arg(&script)
        .arg(&dir)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !status.success() {
        return Err(format!("{} failed ({status})", script.display()));
    }
    Ok(dir)
}

/// Compares like `numpy.testing.assert_allclose`; `Err` says where and by how much.
pub fn compare(reference: &Tensor, out: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if reference.dtype() != out.dtype() {
        return Err(format!("dtype {} expected, got {}", reference.dtype(), out.dtype()));
    }
    if reference.shape() != out.shape() {
        return Err(format!("shape {:?} expected, got {:?}", reference.shape(), out.shape()));
    }
    if !reference.dtype().is_any_float() {
        // Integers (u64 beyond 2^53 included), bools and coded low-bit integers compare
        // exactly; floats, coded 8- and 4-bit floats included, go through the tolerance.
        if reference.data() == out.data() {
            return Ok(());
        }
        let (a, b) = (reference.data().to_f64_vec(), out.data().to_f64_vec());
        let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(0);
        return Err(format!("element {i}: expected {}, got {} (exact comparison)", a[i], b[i]));
    }
    let (a, b) = (reference.data().to_f64_vec(), out.data().to_f64_vec());
    let mut worst: Option<(usize, f64)> = None;
    let mut bad = 0usize;
    for (i, (&x, &y)) in a.iter().zip(&b).enumerate() {
        if x.is_nan() && y.is_nan() || x == y {
            continue;
        }
        let err = (x - y).abs();
        let excess = err - (atol + rtol * x.abs());
        if excess > 0.0 || err.is_nan() {
            bad += 1;
            if worst.is_none_or(|(_, w)| excess > w || excess.is_nan()) {
                worst = Some((i, excess));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((i, _)) => Err(format!(
            "{bad} of {} elements differ beyond rtol {rtol:e}, atol {atol:e}; worst at {i}: expected {}, got {}",
            a.len(),
            a[i],
            b[i]
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_matches_numpy_rule() {
        let r = Tensor::from_f32([3], vec![1.0, 100.0, f32::NAN]).unwrap();
        let ok = Tensor::from_f32([3], vec![1.0 + 5e-6, 100.09, f32::NAN]).unwrap();
        assert!(compare(&r, &ok, 1e-3, 1e-5).is_ok());
        let off = Tensor::from_f32([3], vec![1.0, 100.2, f32::NAN]).unwrap();
        assert!(compare(&r, &off, 1e-3, 1e-5).unwrap_err().contains("worst at 1"));
        let nan = Tensor::from_f32([3], vec![1.0, 100.0, 0.0]).unwrap();
        assert!(compare(&r, &nan, 1e-3, 1e-5).is_err());
        let shape = Tensor::from_f32([1, 3], vec![1.0, 100.0, f32::NAN]).unwrap();
        assert!(compare(&r, &shape, 1e-3, 1e-5).is_err());
        assert!(compare(&r, &r.cast(asplit_ir::DType::F64), 1e-3, 1e-5).is_err());
    }
}
