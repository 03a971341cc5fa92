//! The command line of compiled programs, run in-process with stand-in models: the
//! edge-only program (inputs checked, outputs written, `--bench`), which flags each role and
//! plan accepts (exit 2 otherwise), `--info`, and the benchmarks of the split programs.

mod common;

use asplit_ir::{DType, Tensor, TensorType};
use asplit_runtime::cli::{check_role, describe, parse_args, run_program};
use asplit_runtime::meta::{ModelInfo, Role, TensorInfo};
use asplit_runtime::tensor_file::{read_tensor, write_tensor};
use common::*;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

fn edge_only() -> ModelInfo {
    let ty = TensorType::new(DType::F32, [3]);
    ModelInfo::edge_only(
        "double".into(),
        7,
        64,
        vec![TensorInfo { name: "x".into(), ty: ty.clone() }],
        vec![TensorInfo { name: "y".into(), ty }],
    )
}

#[test]
fn parses_flags_and_rejects_junk() {
    let a = parse_args(&argv(&[
        "--input",
        "a.npy",
        "b.pb",
        "--output-dir",
        "o",
        "--bench",
        "5",
        "--simulate-bandwidth",
        "3Mbps",
        "--timeout",
        "250ms",
    ]))
    .expect("parses");
    assert_eq!(a.inputs, vec![PathBuf::from("a.npy"), PathBuf::from("b.pb")]);
    assert_eq!(a.output_dir, Some(PathBuf::from("o")));
    assert_eq!(a.bench, Some(5));
    assert_eq!(a.simulate_bandwidth, Some(3e6));
    assert_eq!(a.timeout, Some(Duration::from_millis(250)));
    for bad in [
        &["--bench", "0"][..],
        &["--bench", "x"],
        &["--frob"],
        &["--output", "a", "--output-dir", "d"],
        &["--workers", "0"],
        &["--connect"],
        &["--boundary-out", "a", "b"],
        &["--simulate-bandwidth", "3"],
        &["--connect-timeout", "forever"],
    ] {
        assert!(parse_args(&argv(bad)).is_err(), "{bad:?}");
    }
}

#[test]
fn flags_must_fit_the_role_and_plan() {
    let edge = info(Role::Edge, 1);
    let cloud = info(Role::Cloud, 1);
    let ok = |i: &ModelInfo, v: &[&str]| check_role(&parse_args(&argv(v)).expect("parses"), i);
    assert!(ok(&edge, &["--input", "x", "--connect", "h:1", "--output-dir", "d"]).is_ok());
    assert!(ok(&edge, &["--input", "x", "--boundary-out", "-"]).is_ok());
    assert!(ok(&edge, &["--input", "x", "--connect", "h:1", "--boundary-out", "-"]).is_err());
    assert!(ok(&edge, &["--input", "x", "--boundary-out", "-", "--output-dir", "d"]).is_err());
    assert!(ok(&edge, &["--boundary-out", "-", "--simulate-bandwidth", "1Mbps"]).is_err());
    assert!(ok(&edge, &["--listen", "h:1"]).is_err());
    assert!(ok(&cloud, &["--listen", "h:1", "--workers", "4", "--timeout", "1s"]).is_ok());
    assert!(ok(&cloud, &["--boundary-in", "-", "--output-dir", "d"]).is_ok());
    assert!(ok(&cloud, &["--listen", "h:1", "--boundary-in", "-"]).is_err());
    assert!(ok(&cloud, &["--input", "x"]).is_err());
    assert!(ok(&cloud, &["--workers", "2"]).is_err());
    assert!(ok(&cloud, &["--listen", "h:1", "--output-dir", "d"]).is_err());
    assert!(ok(&edge_only(), &["--input", "x", "--connect", "h:1"]).is_err());
    assert!(ok(&edge_only(), &["--input", "x", "--output-dir", "d"]).is_ok());
    let quiet = |_: &[*mut u8], _: &[*mut u8], _: *mut u8| {};
    assert_eq!(run_program(&argv(&["cloud", "--input", "x"]), &cloud, &quiet), 2);
    assert_eq!(run_program(&argv(&["cloud"]), &cloud, &quiet), 2);
    assert_eq!(run_program(&argv(&["edge"]), &edge, &quiet), 2);
    assert_eq!(run_program(&argv(&["edge", "--help"]), &edge, &quiet), 0);
    assert_eq!(run_program(&argv(&["cloud", "--listen", "256.0.0.1:1"]), &cloud, &quiet), 1);
}

#[test]
fn info_names_role_split_bits_and_bytes() {
    let text = describe(&info(Role::Edge, 0xabc));
    for want in [
        "fingerprint: 00000000000000000000000000000abc",
        "role: edge",
        "split: after `h` (8 bits)",
        "bits: 8",
        "edge weights: 0 bytes",
        "input 0: `x` f32[4]",
        "model output 0: `y` f32[4]",
        "boundary 0: `h` [4] 8-bit asym per tensor, 4 bytes",
        "boundary bytes per request: 4 payload, 96 frame (as f32: 16)",
    ] {
        assert!(text.contains(want), "missing `{want}` in\n{text}");
    }
    let text = describe(&edge_only());
    assert!(text.contains("split: edge-only") && text.contains("bits: f32"), "{text}");
    assert!(!text.contains("boundary"), "{text}");
}

/// A stand-in model that records how many input and output buffers it was given.
fn recorder(
    seen: &Mutex<Vec<(usize, usize)>>,
) -> impl Fn(&[*mut u8], &[*mut u8], *mut u8) + Sync + '_ {
    move |i: &[*mut u8], o: &[*mut u8], _: *mut u8| {
        seen.lock().expect("lock").push((i.len(), o.len()));
    }
}

#[test]
fn edge_only_runs_checks_inputs_and_writes_outputs() {
    let dir = temp_dir("edge-only");
    let x = Tensor::from_f32([3], vec![1.0, 2.0, 3.0]).expect("3");
    write_tensor(&dir.join("x.npy"), &x, "x").expect("write");
    let seen = Mutex::new(Vec::new());
    let f = recorder(&seen);
    let xs = dir.join("x.npy").display().to_string();
    let od = dir.join("out").display().to_string();
    let code = run_program(&argv(&["p", "--input", &xs, "--output-dir", &od]), &edge_only(), &f);
    assert_eq!(code, 0);
    assert_eq!(*seen.lock().expect("lock"), vec![(1, 1)]);
    let y = read_tensor(&dir.join("out/output_0.pb")).expect("output written");
    assert_eq!(y.ty(), TensorType::new(DType::F32, [3]));
    let wrong = Tensor::from_f32([2], vec![1.0, 2.0]).expect("2");
    write_tensor(&dir.join("w.npy"), &wrong, "w").expect("write");
    let ws = dir.join("w.npy").display().to_string();
    let g = |_: &[*mut u8], _: &[*mut u8], _: *mut u8| {};
    let i = edge_only();
    assert_eq!(run_program(&argv(&["p", "--input", &ws, "--output-dir", &od]), &i, &g), 2);
    assert_eq!(run_program(&argv(&["p", "--input", &xs]), &i, &g), 2);
    assert_eq!(run_program(&argv(&["p", "--bench", "3"]), &i, &g), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn split_programs_benchmark_their_forward_alone() {
    let seen = Mutex::new(Vec::new());
    let f = recorder(&seen);
    assert_eq!(run_program(&argv(&["edge", "--bench", "4"]), &info(Role::Edge, 1), &f), 0);
    assert_eq!(run_program(&argv(&["cloud", "--bench", "4"]), &info(Role::Cloud, 1), &f), 0);
    let calls = seen.lock().expect("lock");
    // At least one warm-up pass plus the 4 timed ones, each program.
    assert!(calls.len() >= 10, "{}", calls.len());
    assert!(calls.iter().all(|&c| c == (1, 1)));
}
