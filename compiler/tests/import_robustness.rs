//! The importer never panics on corrupt input: truncations and byte flips of real models
//! (the ONNX light models and the example CNN) must each import or fail with an error.
//!
//! Deterministic (a fixed xorshift sequence), bounded (a few hundred variants per model),
//! and skipped with a message when the onnx Python package is not installed.

use asplitc::onnx::{import_bytes, ImportOptions};
use std::path::PathBuf;
use std::process::Command;

fn light_models() -> Vec<PathBuf> {
    let out = Command::new("python3")
        .args(["-c", "import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), 'backend', 'test', 'data', 'light'))"])
        .output();
    let Ok(out) = out else { return Vec::new() };
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "onnx"));
    v.sort();
    v
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn survives(bytes: &[u8], what: &str) {
    let r = std::panic::catch_unwind(|| {
        let _ = import_bytes(bytes, None, &ImportOptions::default());
    });
    assert!(r.is_ok(), "import panicked on {what}");
}

#[test]
fn corrupt_models_never_panic() {
    let models = light_models();
    if models.is_empty() {
        eprintln!("skipped: onnx's light models not found (pip install onnx==1.23.2)");
        return;
    }
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for path in models.iter().take(4) {
        let good = std::fs::read(path).expect("readable model");
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        for k in 1..64 {
            let cut = good.len() * k / 64;
            survives(&good[..cut], &format!("{name} truncated to {cut} bytes"));
        }
        for trial in 0..96 {
            let mut bad = good.clone();
            for _ in 0..1 + trial % 4 {
                let i = (rng.next() % bad.len() as u64) as usize;
                bad[i] = rng.next() as u8;
            }
            survives(&bad, &format!("{name} with flipped bytes (trial {trial})"));
        }
    }
}

#[test]
fn docs_list_every_supported_op() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/onnx.md"))
        .expect("docs/onnx.md exists");
    let listed = doc.split("## Supported ops").nth(1).unwrap_or_default();
    let listed = listed.split("##").next().unwrap_or_default();
    for op in asplitc::onnx::SUPPORTED_OPS {
        let word = |w: &str| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()) == *op;
        assert!(listed.split_whitespace().any(word), "docs/onnx.md does not list {op}");
    }
}
