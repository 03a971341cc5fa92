//! Stand-in split models for the runtime's tests: an edge program that quantizes its input
//! to 8-bit codes (scale 0.5, zero point 128) and a cloud program that dequantizes them and
//! doubles the result, so edge + cloud compute `y = 2·x` for inputs on the 0.5 grid; plus a
//! server running in a scoped thread. These forwards read and write the raw buffers exactly
//! as generated code does, which needs `unsafe`; nothing else here does.
#![allow(unsafe_code, dead_code)]

use asplit_ir::{DType, TensorType};
use asplit_runtime::exec::cloud_handler;
use asplit_runtime::meta::{BoundaryTensor, Encoding, ModelInfo, QScheme, Role, TensorInfo};
use asplit_runtime::transport::{serve, Handler, Protocol, ServerConfig};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Elements of the stand-in model's input and output.
pub const N: usize = 4;

fn t(name: &str, dtype: DType) -> TensorInfo {
    TensorInfo { name: name.into(), ty: TensorType::new(dtype, [N]) }
}

/// The description of the stand-in split, as `role`.
pub fn info(role: Role, fingerprint: u128) -> ModelInfo {
    let boundary = BoundaryTensor {
        name: "h".into(),
        shape: vec![N],
        encoding: Encoding::Quant {
            bits: 8,
            scheme: QScheme::Asym,
            axis: None,
            scales: vec![0.5],
            zero_points: vec![128],
        },
        payload_bytes: N as u64,
    };
    let (inputs, outputs) = match role {
        Role::Edge => (vec![t("x", DType::F32)], vec![t("h_codes", DType::U8)]),
        Role::Cloud => (vec![t("h_codes", DType::U8)], vec![t("y", DType::F32)]),
    };
    ModelInfo {
        name: "double".into(),
        fingerprint,
        scratch_bytes: 64,
        role,
        inputs,
        outputs,
        model_outputs: vec![t("y", DType::F32)],
        boundary: vec![boundary],
        split: "after `h` (8 bits)".into(),
        edge_weight_bytes: 0,
    }
}

/// The edge's `forward`: f32[4] → u8[4] codes.
pub fn edge_forward(ins: &[*mut u8], outs: &[*mut u8], _scratch: *mut u8) {
    // SAFETY: the runtime passes one buffer per input/output of `info(Role::Edge, _)`, each
    // at least its tensor's size (16 and 4 bytes), 64-aligned, not aliased.
    let (x, q) = unsafe {
        (std::slice::from_raw_parts(ins[0], 4 * N), std::slice::from_raw_parts_mut(outs[0], N))
    };
    for (i, c) in x.chunks(4).enumerate() {
        let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        q[i] = ((v / 0.5).round() + 128.0).clamp(0.0, 255.0) as u8;
    }
}

/// The cloud's `forward`: u8[4] codes → f32[4] = 2 · dequantized.
pub fn cloud_forward(ins: &[*mut u8], outs: &[*mut u8], _scratch: *mut u8) {
    // SAFETY: as in `edge_forward`, for `info(Role::Cloud, _)` (4 and 16 bytes).
    let (q, y) = unsafe {
        (std::slice::from_raw_parts(ins[0], N), std::slice::from_raw_parts_mut(outs[0], 4 * N))
    };
    for (i, &c) in q.iter().enumerate() {
        let v = 2.0 * 0.5 * (f32::from(c) - 128.0);
        y[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
}

/// Runs a server of `info` on 127.0.0.1 while `body` runs with its address.
pub fn with_server<F, H, R>(
    info: &ModelInfo,
    workers: usize,
    timeout: Duration,
    factory: F,
    body: impl FnOnce(SocketAddr) -> R,
) -> R
where
    F: Fn() -> H + Sync + Send,
    H: Handler,
{
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("address");
    let stop = AtomicBool::new(false);
    let proto = Protocol::of(info);
    let config = ServerConfig { workers, timeout };
    std::thread::scope(|s| {
        s.spawn(|| serve(&listener, &config, &proto, factory, &stop));
        let _stop = StopOnDrop { stop: &stop, addr };
        body(addr)
    })
}

/// Stops the server when the test body ends, even by a failed assertion (else the scope
/// would wait for the server forever).
struct StopOnDrop<'a> {
    stop: &'a AtomicBool,
    addr: SocketAddr,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Runs the stand-in cloud program's server while `body` runs.
pub fn with_cloud<R>(fingerprint: u128, workers: usize, body: impl FnOnce(SocketAddr) -> R) -> R {
    let info = info(Role::Cloud, fingerprint);
    let fwd = &cloud_forward;
    with_server(&info, workers, Duration::from_secs(5), || cloud_handler(&info, fwd), body)
}

/// A fresh temporary directory for one test.
pub fn temp_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("asplit-rt-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `argv` from string slices.
pub fn argv(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
