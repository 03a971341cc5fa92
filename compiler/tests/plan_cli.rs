//! `asplitc plan` through the real binary on the digits CNN of examples/digits: the solution
//! table and plan.json, `--validate` accuracy per solution, the accuracy criterion
//! (the chosen solution under `--max-accuracy-drop 1` loses at most one point), forced
//! `--split`/`--bits`, plan.json from the compile command, and flag errors.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn digits(file: &str) -> String {
    root().join("examples/digits").join(file).display().to_string()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asplit-plan-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn asplitc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asplitc")).args(args).output().expect("run asplitc")
}

fn plan_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("plan.json")).expect("valid JSON")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn validate_reports_accuracy_and_the_chosen_solution_keeps_it() {
    let dir = scratch("validate");
    let json = dir.join("plan.json");
    let o = asplitc(&[
        "plan",
        &digits("digits_cnn.onnx"),
        "--calibration",
        &digits("calibration"),
        "--validate",
        &digits("validation"),
        "--max-accuracy-drop",
        "1",
        "-o",
        &json.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.lines().nth(1).is_some_and(|l| l.starts_with('*')), "chosen first:\n{table}");
    let p = plan_json(&json);
    let v = &p["validation"];
    assert_eq!(v["metric"], "top1-accuracy");
    assert_eq!(v["items"], 359);
    let reference = v["reference"].as_f64().expect("reference accuracy");
    assert!(reference > 95.0, "the float digits CNN reaches {reference}%");
    let solutions = p["solutions"].as_array().expect("solutions");
    assert!(solutions.iter().all(|s| s["accuracy"].is_number()), "every solution measured");
    let chosen = &solutions[p["chosen"].as_u64().expect("chosen") as usize];
    assert_eq!(chosen["kind"], "auto-split");
    let acc = chosen["accuracy"].as_f64().expect("chosen accuracy");
    assert!(acc >= reference - 1.0, "chosen {acc}% vs float {reference}%");
    // The accuracy is measured, not copied: 2-bit everything must lose badly somewhere.
    let worst = solutions.iter().filter_map(|s| s["accuracy"].as_f64()).fold(100.0, f64::min);
    assert!(worst < reference - 10.0, "worst solution {worst}%");
}

#[test]
fn forced_split_and_bits_give_a_forced_solution() {
    let dir = scratch("forced");
    let json = dir.join("plan.json");
    let o = asplitc(&[
        "plan",
        &digits("digits_cnn.onnx"),
        "--split",
        "1",
        "--bits",
        "4",
        "-o",
        &json.display().to_string(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = plan_json(&json);
    let chosen = &p["solutions"][p["chosen"].as_u64().expect("chosen") as usize];
    assert_eq!(chosen["kind"], "forced");
    assert_eq!(chosen["split"]["layer"], 1);
    assert!(stderr(&o).is_empty() || !stderr(&o).contains("error"), "{}", stderr(&o));
    let warned = p["warnings"].as_array().expect("warnings");
    assert!(warned.iter().any(|w| w.as_str().is_some_and(|w| w.contains("synthetic"))));
}

#[test]
fn compile_writes_plan_json_and_the_programs() {
    let dir = scratch("compile");
    let out = dir.join("out");
    let o = asplitc(&[&digits("digits_cnn.onnx"), "-o", &out.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p = plan_json(&out.join("plan.json"));
    assert_eq!(p["constraints"]["bandwidth_bps"], 3e6);
    // At 3 Mbps the digits CNN stays on the edge: one program, no cloud.
    assert!(out.join("edge").is_file() && !out.join("cloud").exists());
    assert!(!out.join("model.air").exists(), "ir is not in the default --emit");
    let o = asplitc(&[
        &digits("digits_cnn.onnx"),
        "-o",
        &out.display().to_string(),
        "--emit",
        "plan,ir",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("model.air").is_file() && out.join("split.air").is_file());
}

#[test]
fn bad_planning_flags_are_errors() {
    let model = digits("digits_cnn.onnx");
    for (flag, value, expect) in [
        ("--bandwidth", "fast", "--bandwidth"),
        ("--edge-memory", "0MiB", "--edge-memory"),
        ("--split", "middle", "--split"),
        ("--bits", "9", "--bits"),
        ("--edge", "no-such-device", "unknown device profile"),
        ("--validate", "/nonexistent/folder", "/nonexistent/folder"),
    ] {
        let o = asplitc(&["plan", &model, flag, value, "-o", "/dev/null"]);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{flag} {value}: {}", stderr(&o));
    }
    let o = asplitc(&["plan", &model, "--max-accuracy-drop", "1"]);
    assert_eq!(o.status.code(), Some(2), "--max-accuracy-drop needs --validate");
    assert!(stderr(&o).contains("--validate"), "{}", stderr(&o));
}
