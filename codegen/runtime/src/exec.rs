//! What a compiled program does once its arguments are checked (`cli.rs`): the edge-only
//! run, the edge's split run (send to the cloud over TCP, or write the request frame to a
//! file or stdout), the cloud's server and its file mode, and `--bench` timing of each.
//!
//! `forward` is called through [`Runner`], which owns one set of aligned buffers (inputs,
//! outputs, scratch) sized from the model description; the cloud gives each worker thread
//! its own. This file holds no protocol details (`wire.rs`) and no socket code
//! (`transport.rs`).

use crate::buffer::AlignedBuf;
use crate::cli::{Args, Failure, Forward, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
use crate::meta::{ModelInfo, Role, TensorInfo};
use crate::npy::{decode_le, encode_le};
use crate::tensor_file::{check_binding, read_tensor, write_tensor};
use crate::transport::{serve, CallTimes, Client, Protocol, ServerConfig, Timeouts};
use crate::wire::{self, Frame};
use asplit_ir::{Tensor, TensorType};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Runs the mode `args` select.
pub fn execute(args: &Args, info: &ModelInfo, forward: Forward<'_>) -> Result<(), Failure> {
    match info.role {
        Role::Edge if info.is_edge_only() => edge_only(args, info, forward),
        Role::Edge => edge_split(args, info, forward),
        Role::Cloud => cloud(args, info, forward),
    }
}

fn runtime(e: impl std::fmt::Display) -> Failure {
    Failure::Runtime(e.to_string())
}

/// The buffers of one model run.
pub struct Runner {
    inputs: Vec<AlignedBuf>,
    outputs: Vec<AlignedBuf>,
    scratch: AlignedBuf,
}

impl Runner {
    /// Zeroed buffers for `info`'s `forward`.
    pub fn new(info: &ModelInfo) -> Runner {
        let buf = |t: &TensorInfo| AlignedBuf::zeroed(t.ty.size_bytes());
        Runner {
            inputs: info.inputs.iter().map(buf).collect(),
            outputs: info.outputs.iter().map(buf).collect(),
            scratch: AlignedBuf::zeroed(usize::try_from(info.scratch_bytes).unwrap_or(0)),
        }
    }

    /// Copies `bytes` into the input buffers; each must be exactly its buffer's size.
    pub fn set_inputs(&mut self, bytes: &[Vec<u8>]) -> Result<(), String> {
        if bytes.len() != self.inputs.len() {
            return Err(format!("{} input buffer(s) for {}", bytes.len(), self.inputs.len()));
        }
        for (i, (buf, b)) in self.inputs.iter_mut().zip(bytes).enumerate() {
            if buf.len() != b.len() {
                return Err(format!(
                    "input {i}: {} bytes for a {}-byte buffer",
                    b.len(),
                    buf.len()
                ));
            }
            buf.write(b);
        }
        Ok(())
    }

    /// Calls `forward` on the buffers.
    pub fn call(&mut self, forward: Forward<'_>) {
        let ins: Vec<*mut u8> = self.inputs.iter_mut().map(AlignedBuf::as_mut_ptr).collect();
        let outs: Vec<*mut u8> = self.outputs.iter_mut().map(AlignedBuf::as_mut_ptr).collect();
        forward(&ins, &outs, self.scratch.as_mut_ptr());
    }

    /// Copies of the output buffers.
    pub fn output_bytes(&self) -> Vec<Vec<u8>> {
        self.outputs.iter().map(AlignedBuf::to_bytes).collect()
    }
}

/// The cloud's request handler: one [`Runner`] running `forward` on each request's payloads.
pub fn cloud_handler<'f>(
    info: &ModelInfo,
    forward: Forward<'f>,
) -> impl FnMut(&[Vec<u8>]) -> Result<Vec<Vec<u8>>, String> + 'f {
    let mut run = Runner::new(info);
    move |payloads: &[Vec<u8>]| {
        run.set_inputs(payloads)?;
        run.call(forward);
        Ok(run.output_bytes())
    }
}

/// The model inputs: read from `--input` and checked, or zeros when only benchmarking.
fn read_inputs(args: &Args, info: &ModelInfo) -> Result<Vec<Vec<u8>>, Failure> {
    let expected: Vec<(String, TensorType)> =
        info.inputs.iter().map(|t| (t.name.clone(), t.ty.clone())).collect();
    let tensors = if args.inputs.is_empty() && args.bench.is_some() {
        expected.iter().map(|(_, ty)| Tensor::splat(ty, 0.0)).collect()
    } else {
        let ts = args
            .inputs
            .iter()
            .map(|p| read_tensor(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        check_binding(&expected, &ts, &args.inputs)
            .map_err(|e| format!("{} ({})", e.message, e.inputs))?;
        ts
    };
    Ok(tensors
        .iter()
        .map(|t| {
            let mut b = Vec::new();
            encode_le(t.data(), &mut b);
            b
        })
        .collect())
}

/// Where the model outputs go: `None` when only benchmarking.
fn output_paths(args: &Args, outputs: &[TensorInfo]) -> Result<Option<Vec<PathBuf>>, Failure> {
    let n = outputs.len();
    if let Some(dir) = &args.output_dir {
        return Ok(Some((0..n).map(|i| dir.join(format!("output_{i}.pb"))).collect()));
    }
    if args.outputs.is_empty() {
        if args.bench.is_some() {
            return Ok(None);
        }
        return Err(Failure::Usage(
            "give --output FILE… or --output-dir DIR for the results".into(),
        ));
    }
    if args.outputs.len() != n {
        return Err(Failure::Usage(format!(
            "the model has {n} output(s), {} file(s) were given with --output",
            args.outputs.len()
        )));
    }
    Ok(Some(args.outputs.clone()))
}

/// Writes the model outputs (raw little-endian bytes of `outputs`' types) to `paths`.
fn write_outputs(
    args: &Args,
    paths: &[PathBuf],
    outputs: &[TensorInfo],
    bytes: &[Vec<u8>],
) -> Result<(), Failure> {
    if let Some(dir) = &args.output_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory `{}`: {e}", dir.display()))?;
    }
    for ((o, b), path) in outputs.iter().zip(bytes).zip(paths) {
        let t = Tensor::new(o.ty.shape.clone(), decode_le(o.ty.dtype, b))
            .map_err(|e| format!("output `{}`: {e}", o.name))?;
        write_tensor(path, &t, &o.name).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Runs `forward` once (or benchmarks it) and writes the outputs to `paths`, if any.
fn run_and_write(
    args: &Args,
    info: &ModelInfo,
    run: &mut Runner,
    forward: Forward<'_>,
    paths: Option<Vec<PathBuf>>,
) -> Result<(), Failure> {
    match args.bench {
        Some(n) => bench_forward(run, forward, n),
        None => run.call(forward),
    }
    match paths {
        Some(p) => write_outputs(args, &p, &info.outputs, &run.output_bytes()),
        None => Ok(()),
    }
}

fn edge_only(args: &Args, info: &ModelInfo, forward: Forward<'_>) -> Result<(), Failure> {
    let inputs = read_inputs(args, info)?;
    let paths = output_paths(args, &info.outputs)?;
    let mut run = Runner::new(info);
    run.set_inputs(&inputs)?;
    run_and_write(args, info, &mut run, forward, paths)
}

fn edge_split(args: &Args, info: &ModelInfo, forward: Forward<'_>) -> Result<(), Failure> {
    if args.connect.is_none() && args.boundary_out.is_none() && args.bench.is_none() {
        return Err(Failure::Usage(
            "this edge program sends its boundary tensors to a cloud: give --connect HOST:PORT \
             or --boundary-out FILE|-"
                .into(),
        ));
    }
    let inputs = read_inputs(args, info)?;
    let mut run = Runner::new(info);
    run.set_inputs(&inputs)?;
    if let Some(addr) = &args.connect {
        return edge_connect(args, info, forward, &mut run, addr);
    }
    match args.bench {
        Some(n) => bench_forward(&mut run, forward, n),
        None => run.call(forward),
    }
    match &args.boundary_out {
        Some(path) => write_boundary(path, info, &run.output_bytes()),
        None => Ok(()),
    }
}

/// Writes one request frame (id 1) to `path`, or stdout for `-`.
fn write_boundary(path: &Path, info: &ModelInfo, payloads: &[Vec<u8>]) -> Result<(), Failure> {
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let frame = wire::encode(&wire::FrameSpec::request(info), 1, &refs).map_err(runtime)?;
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        return out.write_all(&frame).and_then(|_| out.flush()).map_err(|e| {
            Failure::Runtime(format!("cannot write the request frame to stdout: {e}"))
        });
    }
    std::fs::write(path, &frame)
        .map_err(|e| Failure::Usage(format!("cannot write `{}`: {e}", path.display())))
}

fn edge_connect(
    args: &Args,
    info: &ModelInfo,
    forward: Forward<'_>,
    run: &mut Runner,
    addr: &str,
) -> Result<(), Failure> {
    let wanted = args.output_dir.is_some() || !args.outputs.is_empty();
    let paths = if wanted { output_paths(args, &info.model_outputs)? } else { None };
    let proto = Protocol::of(info);
    let timeouts = Timeouts {
        connect: args.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
        io: args.timeout.unwrap_or(DEFAULT_TIMEOUT),
    };
    let mut client = Client::connect(addr, timeouts, args.simulate_bandwidth).map_err(runtime)?;
    let mut round = |id: u64| -> Result<(Duration, Vec<Vec<u8>>, CallTimes), Failure> {
        let t = Instant::now();
        run.call(forward);
        let compute = t.elapsed();
        let payloads = run.output_bytes();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let (outs, times) = client.call(&proto, id, &refs).map_err(runtime)?;
        Ok((compute, outs, times))
    };
    let outputs = match args.bench {
        None => {
            let (compute, outs, t) = round(1)?;
            let raw: usize = info.inputs.iter().map(|t| t.ty.size_bytes()).sum();
            println!(
                "request: {} bytes sent (raw inputs: {raw} bytes), {} bytes received; edge {:.3} \
                 ms, transmit {:.3} ms, round trip {:.3} ms",
                t.sent,
                t.received,
                ms(compute),
                ms(t.transmit),
                ms(t.round_trip)
            );
            outs
        }
        Some(n) => {
            let (_, mut outs, first) = round(0)?;
            let mut compute = Vec::with_capacity(n);
            let mut transmit = Vec::with_capacity(n);
            let mut trip = Vec::with_capacity(n);
            for id in 1..=n as u64 {
                let (c, o, t) = round(id)?;
                compute.push(c);
                transmit.push(t.transmit);
                trip.push(t.round_trip);
                outs = o;
            }
            println!("{}", stats("edge compute", &mut compute));
            println!("{}", stats("transmit", &mut transmit));
            println!("{}", stats("round trip", &mut trip));
            println!(
                "({n} requests of {} bytes, {} bytes back, after 1 warm-up)",
                first.sent, first.received
            );
            outs
        }
    };
    match paths {
        Some(p) => write_outputs(args, &p, &info.model_outputs, &outputs),
        None => Ok(()),
    }
}

fn cloud(args: &Args, info: &ModelInfo, forward: Forward<'_>) -> Result<(), Failure> {
    if let Some(addr) = &args.listen {
        return cloud_listen(args, info, forward, addr);
    }
    let mut run = Runner::new(info);
    let paths = match &args.boundary_in {
        Some(path) => {
            run.set_inputs(&read_boundary(path, info)?)?;
            output_paths(args, &info.outputs)?
        }
        None if args.bench.is_some() => None,
        None => {
            return Err(Failure::Usage(
                "give --listen HOST:PORT or --boundary-in FILE|- (or --bench N)".into(),
            ))
        }
    };
    run_and_write(args, info, &mut run, forward, paths)
}

fn cloud_listen(
    args: &Args,
    info: &ModelInfo,
    forward: Forward<'_>,
    addr: &str,
) -> Result<(), Failure> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| Failure::Runtime(format!("cannot listen on {addr}: {e}")))?;
    let workers =
        args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = ServerConfig { workers, timeout: args.timeout.unwrap_or(DEFAULT_TIMEOUT) };
    let local = listener.local_addr().map_or(addr.to_string(), |a| a.to_string());
    eprintln!(
        "cloud: serving `{}` ({:032x}) on {local} with {workers} worker(s)",
        info.name, info.fingerprint
    );
    let proto = Protocol::of(info);
    serve(&listener, &config, &proto, || cloud_handler(info, forward), &AtomicBool::new(false));
    Err(Failure::Runtime(format!("the listener on {local} stopped")))
}

/// Reads one request frame from `path` (stdin for `-`) and checks it against `info`.
fn read_boundary(path: &Path, info: &ModelInfo) -> Result<Vec<Vec<u8>>, Failure> {
    let spec = wire::FrameSpec::request(info);
    let what =
        if path == Path::new("-") { "stdin".to_string() } else { format!("`{}`", path.display()) };
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(path).map_err(|e| format!("cannot read {what}: {e}"))?;
        Box::new(std::io::BufReader::new(f))
    };
    let bad = |e: String| Failure::Usage(format!("{what}: {e}"));
    match wire::read_frame(&mut reader, &spec) {
        Ok(Frame::Data { payloads, .. }) => {
            let mut extra = [0u8; 1];
            match reader.read(&mut extra) {
                Ok(0) => Ok(payloads),
                Ok(_) => Err(bad("trailing bytes after the request frame".into())),
                Err(e) => Err(bad(e.to_string())),
            }
        }
        Ok(Frame::Error { code, message, .. }) => {
            Err(bad(format!("holds an error frame (code {code}): {message}")))
        }
        Err(wire::WireError::Closed) => Err(bad("empty: no request frame".into())),
        Err(e) => Err(bad(format!("not a request frame of this model: {e}"))),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `label: median … ms, min … ms, max … ms` of `times` (sorted in place).
fn stats(label: &str, times: &mut [Duration]) -> String {
    times.sort();
    let n = times.len();
    let at = |i: usize| times.get(i).copied().map_or(0.0, ms);
    let median = match n % 2 {
        1 => at(n / 2),
        _ => (at((n / 2).saturating_sub(1)) + at(n / 2)) / 2.0,
    };
    format!(
        "{label}: median {median:.3} ms, min {:.3} ms, max {:.3} ms",
        at(0),
        at(n.saturating_sub(1))
    )
}

/// Warm-up (at least one pass and 0.2 s or 10 passes), then `n` timed passes; prints
/// median, min and max.
fn bench_forward(run: &mut Runner, forward: Forward<'_>, n: usize) {
    let start = Instant::now();
    let mut warm = 0;
    while warm < 10 && (warm == 0 || start.elapsed() < Duration::from_millis(200)) {
        run.call(forward);
        warm += 1;
    }
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            run.call(forward);
            t.elapsed()
        })
        .collect();
    println!("{} ({n} runs, {warm} warm-up)", stats("forward", &mut times));
}
