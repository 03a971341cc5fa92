//! `asplitc profile`: the real binary measures this machine within the time budget and
//! writes a profile that the planner's `resolve_profile` loads; without `--out` it prints
//! the same schema to stdout.

use asplit_passes::plan::profile::{resolve_profile, DeviceProfile};
use std::process::Command;
use std::time::{Duration, Instant};

fn asplitc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_asplitc"))
}

#[test]
fn profile_writes_a_loadable_file_quickly_and_prints_without_out() {
    let dir = std::env::temp_dir().join(format!("asplitc-profile-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("host.toml");

    let start = Instant::now();
    let out = asplitc().arg("profile").arg("--out").arg(&path).output().unwrap();
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(elapsed < Duration::from_secs(3), "profile took {elapsed:?}");
    assert!(stderr.contains("wrote") && stderr.contains("GMAC/s"), "{stderr}");

    let p = resolve_profile(path.to_str().unwrap()).unwrap();
    assert_eq!(p.name, "host");
    assert!(p.peak_macs_per_s.f32 > 1e8, "{p:?}");
    assert!(p.memory_bytes_per_s > 1e8, "{p:?}");
    assert!(p.layer_overhead_s > 0.0 && p.layer_overhead_s < 1e-2, "{p:?}");
    assert_eq!(p.peak_macs_per_s.int8, None, "int8 is not measured");

    let out = asplitc().args(["profile", "--name", "edge-box"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let p = DeviceProfile::from_toml(&text, "stdout").unwrap();
    assert_eq!(p.name, "edge-box");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn profile_reports_an_unwritable_output() {
    let out = asplitc().args(["profile", "--out", "/nonexistent-dir/host.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write") && stderr.contains("host.toml"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
