//! End to end through native code: a graph compiled by `asplitc::native` into an executable
//! (object + the embedded runtime, linked with `cc`), run on tensor files and compared with
//! the interpreter; the program's `--info`, `--bench` and its one-line input errors (exit 2).

use asplit_ir::Tensor;
use asplitc::native::{compile_native, NativeOptions};
use asplitc::tensor_io::{read_tensor, write_tensor};
use std::path::PathBuf;
use std::process::Command;

const GRAPH: &str = r#"graph @g(%x: f32[2,5] "x") {
  %r = relu(%x) : f32[2,5]
  %s = sigmoid(%r) : f32[2,5]
  return %s, %x
}"#;

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("asplit-native-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn options() -> NativeOptions {
    NativeOptions {
        name: "edge".into(),
        target: Default::default(),
        emit_bin: true,
        emit_llvm: true,
        emit_obj: true,
        progress: false,
        program: None,
    }
}

#[test]
fn compiled_program_matches_the_interpreter_and_checks_its_inputs() {
    let g = asplit_ir::parse::parse(GRAPH).expect("parses");
    let dir = temp_dir("e2e");
    let report = compile_native(&g, &dir.join("out"), &options()).expect("compiles");
    for f in ["edge", "edge.ll", "edge.o"] {
        assert!(dir.join("out").join(f).is_file(), "{f} written: {:?}", report.files);
    }
    let x = Tensor::from_f32([2, 5], (0..10).map(|i| i as f32 - 4.5).collect()).expect("10");
    write_tensor(&dir.join("x.npy"), &x, "x").expect("write");
    let exe = dir.join("out/edge");
    let run =
        |args: &[&str]| Command::new(&exe).args(args).current_dir(&dir).output().expect("runs");
    let o = run(&["--input", "x.npy", "--output-dir", "res"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let want = asplit_ir::interp::run(&g, std::slice::from_ref(&x)).expect("interprets");
    for (i, w) in want.iter().enumerate() {
        let got = read_tensor(&dir.join(format!("res/output_{i}.pb"))).expect("output");
        asplit_codegen::testing::compare(w, &got, 1e-5, 1e-6).expect("matches");
    }
    let info = run(&["--info"]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(text.contains("input 0: `x` f32[2,5]"), "{text}");
    assert!(text.contains("split: edge-only"), "{text}");
    let bench = run(&["--input", "x.npy", "--bench", "5"]);
    assert!(String::from_utf8_lossy(&bench.stdout).contains("median"));
    let bad = Tensor::from_f32([5], vec![0.0; 5]).expect("5");
    write_tensor(&dir.join("bad.npy"), &bad, "bad").expect("write");
    let o = run(&["--input", "bad.npy", "--output-dir", "res"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: `bad.npy` holds f32[5], but model input 0 (`x`) is f32[2,5]"));
    let o = run(&["--input", "missing.npy", "--output-dir", "res"]);
    assert_eq!(o.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}
