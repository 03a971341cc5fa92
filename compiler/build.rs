//! Builds the runtime staticlib that asplitc embeds and links into every compiled program.
//!
//! Runs `cargo rustc` on `codegen/runtime` (feature `program`, crate type `staticlib`,
//! release, `panic = "abort"`) in its own target directory beside the workspace's, strips
//! its debug info when `strip` is available, and copies it to `$OUT_DIR/libasplit_runtime.a`,
//! which `src/native.rs` includes with `include_bytes!`. So the installed asplitc needs only
//! the system `cc` to link. It builds nothing else and never touches the outer build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let runtime = manifest_dir.join("../codegen/runtime");
    let ir = manifest_dir.join("../ir");
    for p in
        [runtime.join("src"), runtime.join("Cargo.toml"), ir.join("src"), ir.join("Cargo.toml")]
    {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(env("OUT_DIR"));
    let target_dir = runtime_target_dir(&out_dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("rustc")
        .arg("--manifest-path")
        .arg(runtime.join("Cargo.toml"))
        .args(["--lib", "--release", "--features", "program", "--crate-type", "staticlib"])
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--config", "profile.release.panic=\"abort\"", "--offline", "--quiet"]);
    for var in [
        "CARGO_TARGET_DIR",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().unwrap_or_else(|e| fail(&format!("cannot run cargo: {e}")));
    if !status.success() {
        fail(&format!("building the runtime staticlib failed ({status})"));
    }
    let lib = target_dir.join("release/libasplit_runtime.a");
    let dest = out_dir.join("libasplit_runtime.a");
    std::fs::copy(&lib, &dest)
        .unwrap_or_else(|e| fail(&format!("cannot copy {}: {e}", lib.display())));
    // Debug info is most of the archive's size and no use in the programs; keep the archive
    // if `strip` is missing.
    let _ = Command::new("strip").arg("--strip-debug").arg(&dest).status();
}

/// `<workspace target>/asplit-runtime` when `OUT_DIR` is inside a target directory (so the
/// dev, test and check builds share one runtime build), else a directory in `OUT_DIR`.
fn runtime_target_dir(out_dir: &Path) -> PathBuf {
    // OUT_DIR = <target>/<profile>/build/<pkg>-<hash>/out
    match out_dir.ancestors().nth(4) {
        Some(t) if out_dir.ancestors().nth(2).is_some_and(|b| b.ends_with("build")) => {
            t.join("asplit-runtime")
        }
        _ => out_dir.join("runtime-target"),
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(&format!("{name} is not set")))
}

fn fail(msg: &str) -> ! {
    eprintln!("asplitc build: {msg}");
    std::process::exit(1)
}
