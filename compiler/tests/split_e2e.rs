//! End to end through the real split programs (issue 6): `asplitc` compiles the digits CNN
//! into OUT/edge and OUT/cloud; the cloud listens on 127.0.0.1 (an OS-chosen port, read from
//! its banner) and edges connect to it.
//!
//! - accuracy of the chosen solution on the held-out digits through edge → TCP → cloud,
//!   against the float model, and the bytes per request;
//! - file/pipe mode gives the same outputs as TCP;
//! - 8 concurrent edges × 125 requests: every answer arrives and is right;
//! - bad frames (garbage, truncated, wrong fingerprint, wrong CRC, absurd length, a stalling
//!   peer) get an error frame, and the next good request is answered;
//! - a cloud killed mid-request makes the edge exit non-zero with a clear message.
//!
//! The wire format itself is unit-tested in codegen/runtime; fidelity against the interpreter
//! is tests/tests/split_fidelity.rs.

use asplit_ir::{interp, Tensor};
use asplitc::tensor_io::{read_tensor, write_tensor};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("asplit-split-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// The digits CNN compiled for an edge with 1 KiB of memory: the planner's chosen solution
/// then cuts after the second layer (at 3 Mbps, with more memory, it keeps everything on the
/// edge and there would be no cloud to talk to).
fn programs() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = temp_dir("programs");
        let digits = root().join("examples/digits");
        let o = run(Command::new(env!("CARGO_BIN_EXE_asplitc"))
            .arg(digits.join("digits_cnn.onnx"))
            .arg("-o")
            .arg(&out)
            .arg("--calibration")
            .arg(digits.join("calibration"))
            .args(["--edge-memory", "1KiB"]));
        assert!(o.status.success(), "asplitc failed: {}", String::from_utf8_lossy(&o.stderr));
        for p in ["edge", "cloud", "plan.json"] {
            assert!(out.join(p).is_file(), "OUT/{p} written");
        }
        out
    })
}

/// A running `cloud --listen 127.0.0.1:0`, killed on drop.
struct Cloud {
    child: Child,
    addr: String,
}

impl Cloud {
    fn start(extra: &[&str]) -> Cloud {
        let mut child = Command::new(programs().join("cloud"))
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cloud starts");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
        let banner = lines.next().expect("a banner").expect("utf-8");
        let addr = banner
            .split(" on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in the banner `{banner}`"))
            .to_string();
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Cloud { child, addr }
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The held-out digits: one .npy per image, and the labels.
fn held_out(dir: &Path) -> (Vec<PathBuf>, Vec<i64>, Vec<Tensor>) {
    let v = root().join("examples/digits/validation");
    let images = read_tensor(&v.join("images.npy")).expect("images");
    let labels = read_tensor(&v.join("labels.npy")).expect("labels").data().to_f64_vec();
    let per: usize = images.shape()[1..].iter().product();
    let data = images.as_f32().expect("f32");
    let mut shape = images.shape().to_vec();
    shape[0] = 1;
    let mut files = Vec::new();
    let mut tensors = Vec::new();
    for i in 0..images.shape()[0] {
        let t = Tensor::from_f32(shape.clone(), data[i * per..(i + 1) * per].to_vec()).unwrap();
        let f = dir.join(format!("x{i}.npy"));
        write_tensor(&f, &t, "image").expect("write");
        files.push(f);
        tensors.push(t);
    }
    (files, labels.iter().map(|&l| l as i64).collect(), tensors)
}

fn argmax(t: &Tensor) -> usize {
    let v = t.data().to_f64_vec();
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

/// `edge --input x --connect addr --output-dir d`; the output tensor.
fn edge_request(addr: &str, x: &Path, d: &Path) -> Result<Tensor, String> {
    let o = run(Command::new(programs().join("edge"))
        .arg("--input")
        .arg(x)
        .args(["--connect", addr, "--output-dir"])
        .arg(d));
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    read_tensor(&d.join("output_0.pb")).map_err(|e| e.to_string())
}

fn info_line(program: &str, prefix: &str) -> String {
    let o = run(Command::new(programs().join(program)).arg("--info"));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.lines().find(|l| l.starts_with(prefix)).unwrap_or_default().to_string()
}

#[test]
fn held_out_digits_through_edge_tcp_cloud_are_as_accurate_as_float() {
    let dir = temp_dir("accuracy");
    let (files, labels, tensors) = held_out(&dir);
    let float_model = {
        let mut g =
            asplitc::driver::load_model(&root().join("examples/digits/digits_cnn.onnx"), &[])
                .expect("imports");
        asplitc::driver::run_passes(
            &mut g,
            &asplitc::driver::PassRequest::new(asplit_passes::DEFAULT_PIPELINE),
        )
        .expect("pipeline");
        g
    };
    let cloud = Cloud::start(&["--workers", "2"]);
    let (mut right_split, mut right_float) = (0usize, 0usize);
    let started = Instant::now();
    for (i, (f, x)) in files.iter().zip(&tensors).enumerate() {
        let out = dir.join(format!("o{i}"));
        let y = edge_request(&cloud.addr, f, &out).unwrap_or_else(|e| panic!("image {i}: {e}"));
        let want = interp::run(&float_model, std::slice::from_ref(x)).expect("float runs");
        right_split += usize::from(argmax(&y) as i64 == labels[i]);
        right_float += usize::from(argmax(&want[0]) as i64 == labels[i]);
    }
    let n = files.len() as f64;
    let (acc_split, acc_float) = (100.0 * right_split as f64 / n, 100.0 * right_float as f64 / n);
    eprintln!(
        "digits held-out ({} images, {:.1} s over TCP): split {acc_split:.2}% vs float {acc_float:.2}%; {}",
        files.len(),
        started.elapsed().as_secs_f64(),
        info_line("edge", "boundary bytes per request")
    );
    assert!(acc_split >= acc_float - 1.0, "split {acc_split:.2}% vs float {acc_float:.2}%");
}

#[test]
fn pipe_mode_gives_the_tcp_answer() {
    let dir = temp_dir("pipe");
    let (files, _, _) = held_out(&dir);
    let frame = dir.join("frame.bin");
    let o = run(Command::new(programs().join("edge"))
        .arg("--input")
        .arg(&files[3])
        .arg("--boundary-out")
        .arg(&frame));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(Command::new(programs().join("cloud"))
        .arg("--boundary-in")
        .arg(&frame)
        .arg("--output-dir")
        .arg(dir.join("pipe")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let via_file = read_tensor(&dir.join("pipe/output_0.pb")).expect("output");
    let cloud = Cloud::start(&["--workers", "1"]);
    let via_tcp = edge_request(&cloud.addr, &files[3], &dir.join("tcp")).expect("answered");
    assert_eq!(via_file, via_tcp);
}

#[test]
fn eight_concurrent_edges_get_all_thousand_answers() {
    let dir = temp_dir("load");
    let (files, _, _) = held_out(&dir);
    let cloud = Cloud::start(&["--workers", "2"]);
    let expected: Vec<Tensor> = (0..8)
        .map(|k| edge_request(&cloud.addr, &files[k], &dir.join(format!("want{k}"))).unwrap())
        .collect();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|k| {
                let (addr, file, want, dir) = (&cloud.addr, &files[k], &expected[k], &dir);
                s.spawn(move || {
                    let mut bad = Vec::new();
                    for r in 0..125 {
                        let d = dir.join(format!("e{k}_{r}"));
                        match edge_request(addr, file, &d) {
                            Ok(y) if &y == want => {}
                            Ok(_) => bad.push(format!("edge {k} request {r}: wrong answer")),
                            Err(e) => bad.push(format!("edge {k} request {r}: {e}")),
                        }
                        let _ = std::fs::remove_dir_all(&d);
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("thread")).collect()
    });
    assert!(failures.is_empty(), "{} of 1000 lost:\n{}", failures.len(), failures.join("\n"));
}

/// A valid request frame for `x`, from `edge --boundary-out`.
fn valid_frame(x: &Path, dir: &Path) -> Vec<u8> {
    let f = dir.join("valid.bin");
    let o = run(Command::new(programs().join("edge"))
        .arg("--input")
        .arg(x)
        .arg("--boundary-out")
        .arg(&f));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read(&f).expect("frame")
}

/// Sends `bytes` (then optionally stalls), and returns everything the server answers until
/// it closes the connection.
fn send_raw(addr: &str, bytes: &[u8], close_write: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    s.write_all(bytes).expect("writes");
    if close_write {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    answer
}

/// Kind byte of a frame (offset 6, docs/wire.md), if it has a header.
fn kind(frame: &[u8]) -> Option<u8> {
    (frame.len() >= 48 && &frame[..4] == b"ASPW").then(|| frame[6])
}

#[test]
fn bad_frames_get_an_error_frame_and_the_server_keeps_serving() {
    let dir = temp_dir("bad");
    let (files, _, _) = held_out(&dir);
    let cloud = Cloud::start(&["--workers", "2", "--timeout", "1s"]);
    let good = valid_frame(&files[0], &dir);
    let want = edge_request(&cloud.addr, &files[0], &dir.join("want")).expect("answered");
    let mut wrong_fingerprint = good.clone();
    wrong_fingerprint[8] ^= 0xff;
    let mut wrong_crc = good.clone();
    let last = wrong_crc.len() - 5;
    wrong_crc[last] ^= 0x01;
    let mut absurd = good.clone();
    absurd[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(4), true),
        ("truncated", good[..good.len() / 2].to_vec(), true),
        ("wrong fingerprint", wrong_fingerprint, true),
        ("wrong CRC", wrong_crc, true),
        ("absurd body length", absurd, true),
        ("stalling peer", good[..20].to_vec(), false),
    ];
    for (what, bytes, close) in cases {
        let answer = send_raw(&cloud.addr, &bytes, close);
        assert_eq!(kind(&answer), Some(3), "{what}: an error frame expected, got {answer:?}");
        let y = edge_request(&cloud.addr, &files[0], &dir.join("after"))
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert_eq!(y, want, "after {what}");
    }
    // A good frame sent by hand is answered with a response (kind 2).
    assert_eq!(kind(&send_raw(&cloud.addr, &good, true)), Some(2));
}

#[test]
fn a_cloud_killed_mid_request_makes_the_edge_fail_clearly() {
    let dir = temp_dir("killed");
    let (files, _, _) = held_out(&dir);
    let mut cloud = Cloud::start(&["--workers", "1"]);
    // A frame of ~200 bytes at 100 bit/s takes seconds to send.
    let edge = Command::new(programs().join("edge"))
        .arg("--input")
        .arg(&files[0])
        .args(["--connect", &cloud.addr, "--simulate-bandwidth", "100bps", "--output-dir"])
        .arg(dir.join("o"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("edge starts");
    std::thread::sleep(Duration::from_millis(700));
    let _ = cloud.child.kill();
    let o = edge.wait_with_output().expect("edge ends");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the edge must fail; stderr: {stderr}");
    assert!(stderr.starts_with("error: "), "one clear line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_cloud_only_plan_sends_the_raw_input_and_the_cloud_computes_the_float_model() {
    let dir = temp_dir("cloud-only");
    let (files, _, tensors) = held_out(&dir);
    let out = dir.join("out");
    let digits = root().join("examples/digits");
    let o = run(Command::new(env!("CARGO_BIN_EXE_asplitc"))
        .arg(digits.join("digits_cnn.onnx"))
        .arg("-o")
        .arg(&out)
        .args(["--split", "cloud-only", "--input-bits", "32"]));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let frame = dir.join("frame.bin");
    let o = run(Command::new(out.join("edge"))
        .arg("--input")
        .arg(&files[5])
        .arg("--boundary-out")
        .arg(&frame));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(Command::new(out.join("cloud"))
        .arg("--boundary-in")
        .arg(&frame)
        .arg("--output")
        .arg(dir.join("y.npy")));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got = read_tensor(&dir.join("y.npy")).expect("output");
    let mut g = asplitc::driver::load_model(&digits.join("digits_cnn.onnx"), &[]).expect("imports");
    asplitc::driver::run_passes(
        &mut g,
        &asplitc::driver::PassRequest::new(asplit_passes::DEFAULT_PIPELINE),
    )
    .expect("pipeline");
    let want = interp::run(&g, std::slice::from_ref(&tensors[5])).expect("runs");
    let (w, y) = (want[0].data().to_f64_vec(), got.data().to_f64_vec());
    let err = w.iter().zip(&y).map(|(a, b)| (a - b).abs() / a.abs().max(1e-3)).fold(0.0, f64::max);
    assert!(err < 1e-4, "cloud-only f32 output differs from the float model by {err}");
}
