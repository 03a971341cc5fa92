//! The pass pipeline through the real `asplitc` binary: `asplitc passes`, `asplitc opt`,
//! pipelines on the compile command (default and explicit), the IR printing flags with their
//! banners, `--dump-dir`, `--time-passes`, `--pass-statistics`, and rendered pipeline errors
//! (snapshotted with insta, no colour).

use asplit_passes::registry::{render_list, DEFAULT_PIPELINE, PASSES};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An imported-style graph: identities, a constant computation, a reshape chain.
const MODEL: &str = "\
graph @m(%x: f32[1,4] \"input\") {
  %a = identity(%x) : f32[1,4]
  %k = const {value = tensor<f32[4]: [1.0, 2.0, 3.0, 4.0]>} : f32[4]
  %k2 = mul(%k, %k) : f32[4]
  %b = add(%a, %k2) : f32[1,4]
  %c = reshape(%b) {shape = [2, 2]} : f32[2,2]
  %d = reshape(%c) {shape = [4]} : f32[4]
  %dead = relu(%d) : f32[4]
  return %d \"y\"
}
";

/// MODEL after `canonicalize,fold-constants,dce`.
const OPTIMIZED: &str = "\
graph @m(%0: f32[1,4] \"input\") {
  %1 = const {value = tensor<f32[4]: [1.0, 4.0, 9.0, 16.0]>} : f32[4]
  %2 = add(%0, %1) : f32[1,4]
  %3 = reshape(%2) {shape = [4]} : f32[4]
  return %3 \"y\"
}
";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asplit-passes-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("m.air"), MODEL).expect("write model");
    dir
}

fn asplitc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_asplitc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("asplitc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(dir: &Path, args: &[&str]) -> (String, String) {
    let out = asplitc(dir, args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "asplitc {args:?} failed:\n{stderr}");
    (stdout, stderr)
}

/// Runs a command that must fail with status 2 and no panic; returns stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = asplitc(dir, args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "asplitc {args:?}:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

#[test]
fn passes_lists_the_registry() {
    let dir = scratch("list");
    let (stdout, _) = ok(&dir, &["passes"]);
    assert_eq!(stdout, render_list());
    for p in PASSES {
        assert!(stdout.lines().any(|l| l.starts_with(p.name) && l.ends_with(p.summary)));
    }
}

#[test]
fn help_shows_the_default_pipeline_and_pass_flags() {
    let dir = scratch("help");
    let (help, _) = ok(&dir, &["--help"]);
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&format!("[default: {DEFAULT_PIPELINE}]")), "{help}");
    for flag in [
        "--passes",
        "--verify-each",
        "--print-ir-after-all",
        "--print-ir-after",
        "--print-ir-before",
        "--dump-dir",
        "--time-passes",
        "--pass-statistics",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/passes.md");
        let docs = std::fs::read_to_string(docs).expect("docs/passes.md exists");
        assert!(docs.contains(&format!("`{flag}")), "docs/passes.md lacks {flag}");
    }
    let (opt_help, _) = ok(&dir, &["opt", "--help"]);
    assert!(opt_help.contains("--passes") && opt_help.contains("[default: none]"), "{opt_help}");
}

#[test]
fn opt_prints_the_optimized_ir() {
    let dir = scratch("opt");
    let (stdout, stderr) =
        ok(&dir, &["opt", "m.air", "--passes", "canonicalize,fold-constants,dce"]);
    assert_eq!(stdout, OPTIMIZED);
    assert_eq!(stderr, "");
    // No --passes: the IR goes through unchanged (canonical form).
    let (stdout, _) = ok(&dir, &["opt", "m.air"]);
    assert_eq!(stdout, asplit_ir::parse::parse(MODEL).unwrap().to_string());
    ok(&dir, &["opt", "m.air", "--passes=canonicalize,fold-constants,dce", "-o", "out.air"]);
    assert_eq!(std::fs::read_to_string(dir.join("out.air")).unwrap(), OPTIMIZED);
}

#[test]
fn compile_runs_the_default_pipeline() {
    let dir = scratch("compile");
    ok(&dir, &["m.air", "-o", "out", "--emit", "ir"]);
    let default = std::fs::read_to_string(dir.join("out/model.air")).unwrap();
    ok(&dir, &["m.air", "-o", "explicit", "--emit", "ir", "--passes", DEFAULT_PIPELINE]);
    let explicit = std::fs::read_to_string(dir.join("explicit/model.air")).unwrap();
    assert_eq!(default, explicit);
    assert!(!default.contains("identity"), "{default}");
    ok(&dir, &["m.air", "-o", "none", "--emit", "ir", "--passes", ""]);
    let none = std::fs::read_to_string(dir.join("none/model.air")).unwrap();
    assert!(none.contains("identity"), "{none}");
}

#[test]
fn print_ir_flags_write_banners_to_stderr() {
    let dir = scratch("print");
    let pipeline = "canonicalize,fold-constants,dce";
    let banners = |stderr: &str| -> Vec<String> {
        stderr.lines().filter(|l| l.starts_with("// -----//")).map(String::from).collect()
    };
    let (stdout, stderr) =
        ok(&dir, &["opt", "m.air", "--passes", pipeline, "--print-ir-after-all"]);
    assert_eq!(
        banners(&stderr),
        [
            "// -----// IR Dump After Canonicalize (canonicalize) //----- //",
            "// -----// IR Dump After FoldConstants (fold-constants) //----- //",
            "// -----// IR Dump After Dce (dce) //----- //",
        ]
    );
    assert!(stderr.ends_with(&format!("{stdout}\n")), "the last dump is the output");
    let (_, stderr) =
        ok(&dir, &["opt", "m.air", "--passes", pipeline, "--print-ir-before=dce,canonicalize"]);
    assert_eq!(
        banners(&stderr),
        [
            "// -----// IR Dump Before Canonicalize (canonicalize) //----- //",
            "// -----// IR Dump Before Dce (dce) //----- //",
        ]
    );
    assert!(stderr.contains(&asplit_ir::parse::parse(MODEL).unwrap().to_string()));
    let (_, stderr) = ok(
        &dir,
        &[
            "m.air",
            "-o",
            "out",
            "--emit",
            "ir",
            "--passes",
            pipeline,
            "--print-ir-after=fold-constants",
        ],
    );
    assert_eq!(
        banners(&stderr),
        ["// -----// IR Dump After FoldConstants (fold-constants) //----- //"]
    );
    let stderr = fails(&dir, &["opt", "m.air", "--passes", "dce", "--print-ir-after=dcee"]);
    assert!(stderr.contains("unknown pass `dcee` (did you mean `dce`?)"), "{stderr}");
}

#[test]
fn dump_dir_holds_one_numbered_file_per_pass() {
    let dir = scratch("dump");
    ok(
        &dir,
        &[
            "m.air",
            "-o",
            "out",
            "--emit",
            "ir",
            "--passes",
            "canonicalize,dce,dce",
            "--dump-dir",
            "dumps",
        ],
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.join("dumps"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["00-input.air", "01-canonicalize.air", "02-dce.air", "03-dce.air"]);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(read("dumps/00-input.air"), asplit_ir::parse::parse(MODEL).unwrap().to_string());
    assert_eq!(read("dumps/03-dce.air"), read("out/model.air"));
    assert!(!read("dumps/01-canonicalize.air").contains("identity"));
}

#[test]
fn time_passes_and_statistics() {
    let dir = scratch("stats");
    let (_, stderr) =
        ok(&dir, &["opt", "m.air", "--passes", "canonicalize,fold-constants,dce", "--time-passes"]);
    assert!(stderr.contains("Pass execution timing report"), "{stderr}");
    for p in ["canonicalize", "fold-constants", "dce", "Total"] {
        assert!(stderr.lines().any(|l| l.trim_end().ends_with(p)), "no {p} row:\n{stderr}");
    }
    let (_, stderr) = ok(
        &dir,
        &["opt", "m.air", "--passes", "canonicalize,fold-constants,dce", "--pass-statistics"],
    );
    assert!(
        stderr.contains(
            "Canonicalize (changed)\n  (erased) 2\n  (identity) 1\n  (reshape-chain) 1\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("FoldConstants (changed)\n  (erased) 1\n  (folded) 1\n"), "{stderr}");
    assert!(stderr.contains("Dce (unchanged)\n  (erased) 0\n"), "{stderr}");
}

#[test]
fn verify_each_takes_an_optional_bool() {
    let dir = scratch("verify");
    for flag in ["--verify-each", "--verify-each=true", "--verify-each=false"] {
        let (stdout, _) = ok(&dir, &["opt", "m.air", "--passes", "canonicalize", flag]);
        assert!(stdout.starts_with("graph @m"));
    }
    fails(&dir, &["opt", "m.air", "--verify-each=maybe"]);
}

fn pipeline_error(name: &str, pipeline: &str) {
    let dir = scratch(name);
    let stderr = fails(&dir, &["opt", "m.air", "--passes", pipeline]);
    insta::assert_snapshot!(name, stderr);
}

#[test]
fn unknown_pass_lists_every_registered_pass() {
    let dir = scratch("unknown");
    let stderr = fails(&dir, &["opt", "m.air", "--passes", "canonicalize,fold-constant,dce"]);
    // The help line lists the registry, which grows; the snapshot keeps the part before it.
    let (head, help) = stderr.split_once("help:").expect("a help line");
    insta::assert_snapshot!("pipeline_unknown_pass", head);
    let help: String = help.split_whitespace().collect::<Vec<_>>().join(" ").replace("- ", "-");
    assert!(help.starts_with("did you mean `fold-constants`? the passes are:"), "{help}");
    for p in PASSES {
        assert!(help.contains(p.name), "{} missing from: {help}", p.name);
    }
}

#[test]
fn pipeline_errors_are_diagnostics() {
    pipeline_error("pipeline_unbalanced_brace", "fold-constants{max-elements=8,dce");
    pipeline_error("pipeline_unknown_option", "dce{aggressive=true}");
    pipeline_error("pipeline_ill_typed_option", "fold-constants{max-elements=many}");
    pipeline_error("pipeline_trailing_comma", "canonicalize,");
}

#[test]
fn opt_reads_stdin() {
    use std::io::Write;
    let dir = scratch("stdin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_asplitc"))
        .args(["opt", "-", "--passes", "canonicalize,fold-constants,dce"])
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("asplitc starts");
    child.stdin.take().expect("stdin").write_all(MODEL.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("asplitc runs");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout), OPTIMIZED);
}
