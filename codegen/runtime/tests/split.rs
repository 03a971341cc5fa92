//! Split execution through the runtime with stand-in edge and cloud models: edge and cloud
//! over TCP and through a file, concurrency (8 clients × 125 requests lose nothing), every
//! kind of bad frame answered by an error frame while the server keeps serving, handler
//! errors, a cloud that dies mid-request, an unreachable cloud, a cloud of another
//! compilation. What the frames hold byte by byte is tested in `wire.rs`.

mod common;

use asplit_ir::Tensor;
use asplit_runtime::cli::run_program;
use asplit_runtime::meta::Role;
use asplit_runtime::tensor_file::{read_tensor, write_tensor};
use asplit_runtime::transport::{Client, ClientError, Protocol, Timeouts};
use asplit_runtime::wire::{self, Frame, FrameSpec, WireError, ERR_BAD_FRAME, HEADER_BYTES};
use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::time::Duration;

const FP: u128 = 0xfeed_beef;

fn timeouts() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), io: Duration::from_secs(5) }
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn write_x(dir: &std::path::Path, x: &[f32]) -> String {
    let t = Tensor::from_f32([N], x.to_vec()).expect("4 values");
    let p = dir.join("x.npy");
    write_tensor(&p, &t, "x").expect("writes");
    p.display().to_string()
}

fn read_y(path: &std::path::Path) -> Vec<f32> {
    let t = read_tensor(path).expect("output written");
    let mut b = Vec::new();
    asplit_runtime::npy::encode_le(t.data(), &mut b);
    f32s(&b)
}

#[test]
fn edge_and_cloud_over_tcp_compute_the_model() {
    let dir = temp_dir("tcp");
    let x = write_x(&dir, &[1.0, -2.5, 0.0, 30.0]);
    let out = dir.join("out");
    let od = out.display().to_string();
    let edge = info(Role::Edge, FP);
    with_cloud(FP, 2, |addr| {
        let a = addr.to_string();
        let code = run_program(
            &argv(&["edge", "--input", &x, "--connect", &a, "--output-dir", &od]),
            &edge,
            &edge_forward,
        );
        assert_eq!(code, 0);
        assert_eq!(read_y(&out.join("output_0.pb")), vec![2.0, -5.0, 0.0, 60.0]);
        let bench = argv(&["edge", "--input", &x, "--connect", &a, "--bench", "3"]);
        assert_eq!(run_program(&bench, &edge, &edge_forward), 0);
        let paced =
            argv(&["edge", "--input", &x, "--connect", &a, "--simulate-bandwidth", "1Mbps"]);
        assert_eq!(run_program(&paced, &edge, &edge_forward), 0);
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn edge_and_cloud_through_a_file_compute_the_model() {
    let dir = temp_dir("file");
    let x = write_x(&dir, &[0.5, 1.0, -1.5, 2.0]);
    let frame = dir.join("req.bin");
    let fs = frame.display().to_string();
    let edge = info(Role::Edge, FP);
    let cloud = info(Role::Cloud, FP);
    let code =
        run_program(&argv(&["edge", "--input", &x, "--boundary-out", &fs]), &edge, &edge_forward);
    assert_eq!(code, 0);
    let bytes = std::fs::read(&frame).expect("frame written");
    assert_eq!(bytes.len() as u64, FrameSpec::request(&edge).frame_bytes());
    let y = dir.join("y.npy");
    let ys = y.display().to_string();
    let run_cloud = |path: &str| {
        run_program(
            &argv(&["cloud", "--boundary-in", path, "--output", &ys]),
            &cloud,
            &cloud_forward,
        )
    };
    assert_eq!(run_cloud(&fs), 0);
    assert_eq!(read_y(&y), vec![1.0, 2.0, -3.0, 4.0]);
    // A flipped payload bit (CRC), a cut frame, an empty file, trailing bytes: exit 2.
    let mut bad = bytes.clone();
    let last = bad.len() - 6;
    bad[last] ^= 0x10;
    let variants =
        [bad, bytes[..bytes.len() - 1].to_vec(), Vec::new(), [&bytes[..], b"x"].concat()];
    for (i, v) in variants.iter().enumerate() {
        let p = dir.join(format!("bad{i}.bin"));
        std::fs::write(&p, v).expect("writes");
        assert_eq!(run_cloud(&p.display().to_string()), 2, "variant {i}");
    }
    // A frame of another compilation.
    let other = info(Role::Cloud, FP + 1);
    let code = run_program(
        &argv(&["cloud", "--boundary-in", &fs, "--output", &ys]),
        &other,
        &cloud_forward,
    );
    assert_eq!(code, 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eight_concurrent_clients_lose_nothing() {
    let edge = info(Role::Edge, FP);
    let proto = Protocol::of(&edge);
    with_cloud(FP, 4, |addr| {
        std::thread::scope(|s| {
            let clients: Vec<_> = (0..8u8)
                .map(|c| {
                    let proto = &proto;
                    s.spawn(move || {
                        let mut client =
                            Client::connect(&addr.to_string(), timeouts(), None).expect("connects");
                        let mut answered = 0;
                        for r in 0..125u8 {
                            let q = [c, r, c.wrapping_mul(31).wrapping_add(r), 128];
                            let id = u64::from(c) * 1000 + u64::from(r);
                            let (outs, times) = client.call(proto, id, &[&q]).expect("answered");
                            let want: Vec<f32> = q.iter().map(|&v| f32::from(v) - 128.0).collect();
                            assert_eq!(f32s(&outs[0]), want);
                            assert_eq!(times.sent, proto.request.frame_bytes());
                            answered += 1;
                        }
                        answered
                    })
                })
                .collect();
            let total: usize = clients.into_iter().map(|h| h.join().expect("client")).sum();
            assert_eq!(total, 1000);
        });
    });
}

/// Sends `bytes` on a fresh connection (then half-closes unless `stall`) and returns the
/// error frame the server answers with.
fn answer_to(addr: std::net::SocketAddr, bytes: &[u8], stall: bool) -> (u32, String) {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(bytes).expect("sends");
    if !stall {
        s.shutdown(Shutdown::Write).expect("half-closes");
    }
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).expect("server closes after its error frame");
    let spec = FrameSpec::response(&info(Role::Edge, FP));
    match wire::read_frame(&mut &reply[..], &spec) {
        Ok(Frame::Error { code, message, .. }) => (code, message),
        other => panic!("expected an error frame, got {other:?}"),
    }
}

#[test]
fn each_bad_frame_gets_an_error_frame_and_the_server_keeps_serving() {
    let edge = info(Role::Edge, FP);
    let proto = Protocol::of(&edge);
    let good = wire::encode(&proto.request, 1, &[&[1, 2, 3, 4]]).expect("encodes");
    let reseal = |mut f: Vec<u8>| {
        f.truncate(f.len() - 4);
        let crc = asplit_runtime::crc32c::crc32c(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    };
    let edit = |at: usize, b: &[u8]| {
        let mut f = good.clone();
        f[at..at + b.len()].copy_from_slice(b);
        f
    };
    let other_fp =
        wire::encode(&FrameSpec { fingerprint: FP + 1, ..proto.request.clone() }, 1, &[&[0; 4]])
            .expect("encodes");
    let cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3), false, "bad magic"),
        ("truncated", good[..HEADER_BYTES + 5].to_vec(), false, "truncated"),
        ("fingerprint", other_fp, false, "fingerprint mismatch"),
        ("crc", edit(good.len() - 7, &[0xAA]), false, "CRC-32C mismatch"),
        ("absurd length", edit(40, &u64::MAX.to_le_bytes()), false, "frame body of"),
        ("version", edit(4, &[9, 0]), false, "wire version 9"),
        ("tensor count", edit(32, &[7]), false, "tensor count 7"),
        ("tensor header", reseal(edit(HEADER_BYTES + 2, &[4])), false, "bits is 4"),
        ("stall", good[..30].to_vec(), true, "timed out"),
    ];
    let cloud = info(Role::Cloud, FP);
    let fwd = &cloud_forward;
    let factory = || asplit_runtime::exec::cloud_handler(&cloud, fwd);
    with_server(&cloud, 1, Duration::from_millis(400), factory, |addr| {
        for (what, bytes, stall, says) in cases {
            let (code, message) = answer_to(addr, &bytes, stall);
            assert_eq!(code, ERR_BAD_FRAME, "{what}");
            assert!(message.contains(says), "{what}: {message}");
            let mut c = Client::connect(&addr.to_string(), timeouts(), None).expect("connects");
            let (outs, _) = c.call(&proto, 2, &[&[129, 130, 127, 128]]).expect("still served");
            assert_eq!(f32s(&outs[0]), vec![1.0, 2.0, -1.0, 0.0], "after {what}");
        }
    });
}

#[test]
fn a_handler_error_is_an_error_frame_on_an_open_connection() {
    let edge = info(Role::Edge, FP);
    let proto = Protocol::of(&edge);
    let factory = || {
        |p: &[Vec<u8>]| match p[0][0] {
            0xFF => Err("cannot run this one".to_string()),
            _ => Ok(vec![vec![0u8; 4 * N]]),
        }
    };
    with_server(&info(Role::Cloud, FP), 1, Duration::from_secs(5), factory, |addr| {
        let mut c = Client::connect(&addr.to_string(), timeouts(), None).expect("connects");
        match c.call(&proto, 5, &[&[0xFF, 0, 0, 0]]) {
            Err(ClientError::Remote { id: 5, message, .. }) => {
                assert_eq!(message, "cannot run this one")
            }
            other => panic!("{other:?}"),
        }
        assert!(c.call(&proto, 6, &[&[1, 0, 0, 0]]).is_ok());
    });
}

#[test]
fn a_cloud_that_dies_mid_request_makes_the_edge_fail_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("address").to_string();
    let dying = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().expect("accepts");
            let mut head = [0u8; 20];
            let _ = s.read_exact(&mut head);
            let _ = s.write_all(&head[..10]);
        }
    });
    let edge = info(Role::Edge, FP);
    let proto = Protocol::of(&edge);
    let mut c = Client::connect(&addr, timeouts(), None).expect("connects");
    match c.call(&proto, 1, &[&[0; 4]]) {
        Err(e) => {
            let gone = |w: &WireError| matches!(w, WireError::Truncated(_) | WireError::Io(_));
            assert!(matches!(&e, ClientError::Receive { error, .. } if gone(error)), "{e:?}");
            let text = e.to_string();
            assert!(text.starts_with("the cloud closed the connection before answering"), "{text}");
        }
        Ok(_) => panic!("a dead cloud answered"),
    }
    let dir = temp_dir("dying");
    let x = write_x(&dir, &[0.0; N]);
    let od = dir.join("o").display().to_string();
    let code = run_program(
        &argv(&["edge", "--input", &x, "--connect", &addr, "--output-dir", &od]),
        &edge,
        &edge_forward,
    );
    assert_eq!(code, 1);
    dying.join().expect("fake cloud");
    // Nobody listens there any more: unreachable, exit 1.
    let code = run_program(
        &argv(&[
            "edge",
            "--input",
            &x,
            "--connect",
            &addr,
            "--connect-timeout",
            "1s",
            "--output-dir",
            &od,
        ]),
        &edge,
        &edge_forward,
    );
    assert_eq!(code, 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cloud_of_another_compilation_is_refused() {
    let edge = info(Role::Edge, FP + 1);
    let proto = Protocol::of(&edge);
    with_cloud(FP, 1, |addr| {
        let mut c = Client::connect(&addr.to_string(), timeouts(), None).expect("connects");
        match c.call(&proto, 3, &[&[0; 4]]) {
            Err(ClientError::Remote { code, message, .. }) => {
                assert_eq!(code, ERR_BAD_FRAME);
                assert!(message.contains("fingerprint mismatch"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn a_large_request_refused_early_still_shows_the_refusal() {
    use asplit_ir::{DType, TensorType};
    use asplit_runtime::meta::{BoundaryTensor, Encoding, ModelInfo, TensorInfo};
    let n = 16 << 20;
    let big = |fp: u128, role: Role| {
        let raw = TensorInfo { name: "h".into(), ty: TensorType::new(DType::U8, [n]) };
        let y = TensorInfo { name: "y".into(), ty: TensorType::new(DType::F32, [1]) };
        let (inputs, outputs) = match role {
            Role::Edge => (vec![], vec![raw]),
            Role::Cloud => (vec![raw], vec![y.clone()]),
        };
        ModelInfo {
            fingerprint: fp,
            role,
            inputs,
            outputs,
            model_outputs: vec![y],
            boundary: vec![BoundaryTensor {
                name: "h".into(),
                shape: vec![n],
                encoding: Encoding::Raw(DType::U8),
                payload_bytes: n as u64,
            }],
            ..ModelInfo::default()
        }
    };
    let cloud = big(FP, Role::Cloud);
    let factory = || |_: &[Vec<u8>]| Ok(vec![vec![0u8; 4]]);
    with_server(&cloud, 1, Duration::from_secs(5), factory, |addr| {
        let proto = Protocol::of(&big(FP + 1, Role::Edge));
        let mut c = Client::connect(&addr.to_string(), timeouts(), None).expect("connects");
        match c.call(&proto, 1, &[&vec![0u8; n]]) {
            Err(ClientError::Remote { message, .. }) => {
                assert!(message.contains("fingerprint mismatch"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn an_idle_connection_is_closed_after_the_timeout_with_an_error_frame() {
    let cloud = info(Role::Cloud, FP);
    let fwd = &cloud_forward;
    let factory = || asplit_runtime::exec::cloud_handler(&cloud, fwd);
    with_server(&cloud, 1, Duration::from_millis(300), factory, |addr| {
        let (code, message) = answer_to(addr, &[], true);
        assert_eq!(code, ERR_BAD_FRAME);
        assert_eq!(message, "timed out waiting for the next frame");
    });
}
