//! The command line of a compiled program (DESIGN.md §10): parsing and checking the
//! arguments against the program's role, `--help`, `--info`, and dispatch to the modes in
//! `exec.rs`.
//!
//! ```text
//! edge  --input F… (--connect HOST:PORT | --boundary-out FILE|-) [--output F… | --output-dir D]
//!       [--simulate-bandwidth RATE] [--connect-timeout T] [--timeout T] [--bench N] [--info]
//! edge  --input F… (--output F… | --output-dir D) [--bench N]         (edge-only plan)
//! cloud --listen HOST:PORT [--workers N] [--timeout T]
//! cloud --boundary-in FILE|- (--output F… | --output-dir D)
//! both: --info, --bench N, --help
//! ```
//!
//! [`run_program`] takes `forward` as a closure, so this file is plain safe Rust and is
//! tested with stand-in models; the C `main` that passes the real `forward` is in
//! `program.rs`. Errors are one line on stderr (`error: …`): exit status 2 for bad user input
//! (arguments, tensor files, boundary files), 1 for a failure at run time (the network, the
//! cloud's refusal). Nothing here panics on user input.

use crate::exec;
use crate::meta::{Encoding, ModelInfo, QScheme, Role};
use crate::transport::{parse_duration, parse_rate};
use crate::wire::FrameSpec;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// `forward(inputs, outputs, scratch)` of a compiled model; reentrant given separate buffers,
/// so the cloud's workers share it.
pub type Forward<'f> = &'f (dyn Fn(&[*mut u8], &[*mut u8], *mut u8) + Sync);

/// Parsed arguments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    /// `--input` files, bound to the model inputs in order.
    pub inputs: Vec<PathBuf>,
    /// `--output` files, one per model output.
    pub outputs: Vec<PathBuf>,
    /// `--output-dir`: writes `output_<i>.pb`.
    pub output_dir: Option<PathBuf>,
    /// `--info`.
    pub info: bool,
    /// `--bench N`.
    pub bench: Option<usize>,
    /// `--help`.
    pub help: bool,
    /// Edge: `--connect HOST:PORT`.
    pub connect: Option<String>,
    /// Edge: `--boundary-out FILE|-`.
    pub boundary_out: Option<PathBuf>,
    /// Edge: `--simulate-bandwidth RATE`, in bits per second.
    pub simulate_bandwidth: Option<f64>,
    /// Edge: `--connect-timeout T`.
    pub connect_timeout: Option<Duration>,
    /// Both: `--timeout T` (I/O).
    pub timeout: Option<Duration>,
    /// Cloud: `--listen HOST:PORT`.
    pub listen: Option<String>,
    /// Cloud: `--workers N`.
    pub workers: Option<usize>,
    /// Cloud: `--boundary-in FILE|-`.
    pub boundary_in: Option<PathBuf>,
}

/// Largest `--bench` count accepted.
pub const MAX_BENCH: usize = 1_000_000;
/// Most `--workers` accepted.
pub const MAX_WORKERS: usize = 1024;
/// Default `--connect-timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a run failed: the exit status follows the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// Bad arguments or input files: exit 2.
    Usage(String),
    /// The network or the peer failed: exit 1.
    Runtime(String),
}

impl Failure {
    fn report(&self) -> i32 {
        let (msg, code) = match self {
            Failure::Usage(m) => (m, 2),
            Failure::Runtime(m) => (m, 1),
        };
        let _ = writeln!(std::io::stderr(), "error: {msg}");
        code
    }
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Usage(m)
    }
}

/// Usage text of a program of `info`'s role.
pub fn usage(program: &str, info: &ModelInfo) -> String {
    let common =
        "Tensor files are .npy or ONNX TensorProto .pb (by extension), bound to the model's\n\
         inputs in order; --output-dir writes output_<i>.pb. --bench N times N runs after a\n\
         warm-up (median, min, max); without --input it runs on zero-filled inputs. --info\n\
         prints the fingerprint, role, split, boundary tensors and sizes.\n";
    match info.role {
        Role::Edge if info.is_edge_only() => format!(
            "usage: {program} --input FILE… (--output FILE… | --output-dir DIR) [--bench N] [--info]\n\
             \n\
             Runs the whole model (an edge-only plan: there is no cloud program).\n{common}"
        ),
        Role::Edge => format!(
            "usage: {program} --input FILE… --connect HOST:PORT [--output FILE… | --output-dir DIR]\n\
             \x20      [--simulate-bandwidth RATE] [--connect-timeout T] [--timeout T] [--bench N]\n\
             \x20  or: {program} --input FILE… --boundary-out FILE|-\n\
             \n\
             Runs the edge half of the model and sends the boundary tensors to the cloud program:\n\
             over TCP with --connect (the cloud answers with the model outputs, written with\n\
             --output/--output-dir), or as one request frame to a file or stdout (`-`) with\n\
             --boundary-out (for `cloud --boundary-in`). --simulate-bandwidth paces the upload to\n\
             a rate (3Mbps, 500kbps, 2MB/s). Timeouts take 250ms, 5s, 1m (defaults: connect 5s,\n\
             I/O 30s). With --connect, --bench N reports edge compute, transmit and round-trip\n\
             times separately.\n{common}"
        ),
        Role::Cloud => format!(
            "usage: {program} --listen HOST:PORT [--workers N] [--timeout T]\n\
             \x20  or: {program} --boundary-in FILE|- (--output FILE… | --output-dir DIR)\n\
             \x20  or: {program} --bench N\n\
             \n\
             Runs the cloud half of the model on the boundary tensors an edge program sends.\n\
             --listen serves edges over TCP with N worker threads (default: the number of\n\
             cores), each connection carrying any number of requests; a frame must arrive\n\
             within --timeout (default 30s). --boundary-in reads one request frame from a file\n\
             or stdin (`-`). --bench N times N runs on zero payloads.\n{common}"
        ),
    }
}

/// Parses the arguments after the program name (role checks are [`check_role`]'s).
pub fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args::default();
    let mut i = 0;
    let values = |i: &mut usize| -> Vec<PathBuf> {
        let mut v = Vec::new();
        while let Some(x) = args.get(*i).filter(|x| !x.starts_with("--")) {
            v.push(PathBuf::from(x));
            *i += 1;
        }
        v
    };
    let value = |i: &mut usize, flag: &str| -> Result<String, String> {
        let v = args.get(*i).ok_or(format!("{flag} takes a value"))?;
        *i += 1;
        Ok(v.clone())
    };
    while let Some(flag) = args.get(i) {
        i += 1;
        match flag.as_str() {
            "--input" => a.inputs.extend(values(&mut i)),
            "--output" => a.outputs.extend(values(&mut i)),
            "--output-dir" => a.output_dir = Some(one_path(values(&mut i), flag)?),
            "--boundary-out" => a.boundary_out = Some(one_path(values(&mut i), flag)?),
            "--boundary-in" => a.boundary_in = Some(one_path(values(&mut i), flag)?),
            "--bench" => a.bench = Some(count(&value(&mut i, flag)?, flag, MAX_BENCH)?),
            "--workers" => a.workers = Some(count(&value(&mut i, flag)?, flag, MAX_WORKERS)?),
            "--connect" => a.connect = Some(value(&mut i, flag)?),
            "--listen" => a.listen = Some(value(&mut i, flag)?),
            "--simulate-bandwidth" => {
                let v = value(&mut i, flag)?;
                a.simulate_bandwidth = Some(parse_rate(&v).map_err(|e| format!("{flag}: {e}"))?)
            }
            "--connect-timeout" | "--timeout" => {
                let v = value(&mut i, flag)?;
                let d = Some(parse_duration(&v).map_err(|e| format!("{flag}: {e}"))?);
                match flag.as_str() {
                    "--timeout" => a.timeout = d,
                    _ => a.connect_timeout = d,
                }
            }
            "--info" => a.info = true,
            "--help" | "-h" => a.help = true,
            other => return Err(format!("unexpected argument `{other}` (see --help)")),
        }
    }
    if a.output_dir.is_some() && !a.outputs.is_empty() {
        return Err("give either --output or --output-dir, not both".into());
    }
    Ok(a)
}

fn one_path(v: Vec<PathBuf>, flag: &str) -> Result<PathBuf, String> {
    match <[PathBuf; 1]>::try_from(v) {
        Ok([p]) => Ok(p),
        Err(_) => Err(format!("{flag} takes one path")),
    }
}

fn count(v: &str, flag: &str, max: usize) -> Result<usize, String> {
    let n: usize = v.parse().map_err(|_| format!("{flag}: `{v}` is not a count"))?;
    if n == 0 || n > max {
        return Err(format!("{flag}: the count must be 1 to {max}"));
    }
    Ok(n)
}

/// Checks that the flags fit the program's role and plan.
pub fn check_role(a: &Args, info: &ModelInfo) -> Result<(), String> {
    let given = |flags: &[(&'static str, bool)]| flags.iter().find(|(_, on)| *on).map(|(f, _)| *f);
    let has_outputs = a.output_dir.is_some() || !a.outputs.is_empty();
    let cloud_only = [
        ("--listen", a.listen.is_some()),
        ("--workers", a.workers.is_some()),
        ("--boundary-in", a.boundary_in.is_some()),
    ];
    let edge_only = [
        ("--input", !a.inputs.is_empty()),
        ("--connect", a.connect.is_some()),
        ("--boundary-out", a.boundary_out.is_some()),
        ("--simulate-bandwidth", a.simulate_bandwidth.is_some()),
        ("--connect-timeout", a.connect_timeout.is_some()),
    ];
    match info.role {
        Role::Edge => {
            if let Some(f) = given(&cloud_only) {
                return Err(format!("{f} is a flag of the cloud program, this is the edge"));
            }
            if info.is_edge_only() {
                let net = [
                    ("--connect", a.connect.is_some()),
                    ("--boundary-out", a.boundary_out.is_some()),
                    ("--simulate-bandwidth", a.simulate_bandwidth.is_some()),
                    ("--connect-timeout", a.connect_timeout.is_some()),
                    ("--timeout", a.timeout.is_some()),
                ];
                if let Some(f) = given(&net) {
                    return Err(format!(
                        "{f}: this is an edge-only plan, there is no cloud to talk to"
                    ));
                }
                return Ok(());
            }
            if a.connect.is_some() && a.boundary_out.is_some() {
                return Err("give either --connect or --boundary-out, not both".into());
            }
            if a.connect.is_none() {
                let f = [
                    ("--simulate-bandwidth", a.simulate_bandwidth.is_some()),
                    ("--connect-timeout", a.connect_timeout.is_some()),
                    ("--timeout", a.timeout.is_some()),
                ];
                if let Some(f) = given(&f) {
                    return Err(format!("{f} needs --connect"));
                }
                if has_outputs {
                    return Err("the model outputs come from the cloud: --output/--output-dir \
                                need --connect"
                        .into());
                }
            }
            Ok(())
        }
        Role::Cloud => {
            if let Some(f) = given(&edge_only) {
                return Err(format!("{f} is a flag of the edge program, this is the cloud"));
            }
            if a.listen.is_some() && a.boundary_in.is_some() {
                return Err("give either --listen or --boundary-in, not both".into());
            }
            if a.listen.is_none() && a.workers.is_some() {
                return Err("--workers needs --listen".into());
            }
            if a.listen.is_none() && a.timeout.is_some() {
                return Err("--timeout needs --listen".into());
            }
            if a.boundary_in.is_none() && has_outputs {
                return Err("--output/--output-dir need --boundary-in".into());
            }
            Ok(())
        }
    }
}

/// Runs the program with `argv` (program name first); returns the exit status.
pub fn run_program(argv: &[String], info: &ModelInfo, forward: Forward<'_>) -> i32 {
    let program = argv.first().map(String::as_str).unwrap_or("program");
    let args = match parse_args(argv.get(1..).unwrap_or(&[]))
        .and_then(|a| check_role(&a, info).map(|_| a))
    {
        Ok(a) => a,
        Err(e) => return Failure::Usage(e).report(),
    };
    if args.help {
        print!("{}", usage(program, info));
        return 0;
    }
    if args.info {
        print!("{}", describe(info));
        let work = !args.inputs.is_empty()
            || args.bench.is_some()
            || args.listen.is_some()
            || args.boundary_in.is_some();
        if !work {
            return 0;
        }
    }
    match exec::execute(&args, info, forward) {
        Ok(()) => 0,
        Err(f) => f.report(),
    }
}

/// The `--info` text.
pub fn describe(info: &ModelInfo) -> String {
    let role = match info.role {
        Role::Edge => "edge",
        Role::Cloud => "cloud",
    };
    let bits: Vec<String> = info.boundary.iter().map(|b| bits_text(&b.encoding)).collect();
    let mut s = format!(
        "model: {}\nfingerprint: {:032x}\nrole: {role}\nsplit: {}\nbits: {}\nscratch: {} bytes\n\
         edge weights: {} bytes\n",
        info.name,
        info.fingerprint,
        info.split,
        if bits.is_empty() { "f32".to_string() } else { bits.join(",") },
        info.scratch_bytes,
        info.edge_weight_bytes,
    );
    let mut lists = vec![("input", &info.inputs), ("output", &info.outputs)];
    if !info.is_edge_only() {
        lists.push(("model output", &info.model_outputs));
    }
    for (kind, list) in lists {
        for (i, t) in list.iter().enumerate() {
            s.push_str(&format!("{kind} {i}: `{}` {}\n", t.name, t.ty));
        }
    }
    for (i, b) in info.boundary.iter().enumerate() {
        s.push_str(&format!(
            "boundary {i}: `{}` {:?} {}, {} bytes\n",
            b.name,
            b.shape,
            encoding_text(&b.encoding),
            b.payload_bytes
        ));
    }
    if !info.boundary.is_empty() {
        let frame = FrameSpec::request(info).frame_bytes();
        let f32_bytes: u64 = info
            .boundary
            .iter()
            .map(|b| crate::meta::checked_numel(&b.shape).unwrap_or(0) * 4)
            .sum();
        s.push_str(&format!(
            "boundary bytes per request: {} payload, {frame} frame (as f32: {f32_bytes})\n",
            info.boundary_payload_bytes()
        ));
    }
    s
}

fn bits_text(e: &Encoding) -> String {
    match e {
        Encoding::Raw(d) => d.to_string(),
        Encoding::Quant { bits, .. } => bits.to_string(),
    }
}

fn encoding_text(e: &Encoding) -> String {
    match e {
        Encoding::Raw(d) => format!("raw {d}"),
        Encoding::Quant { bits, scheme, axis, scales, .. } => {
            let scheme = match scheme {
                QScheme::Asym => "asym",
                QScheme::Sym => "sym",
            };
            let per = match axis {
                None => "per tensor".to_string(),
                Some(a) => format!("per channel (axis {a}, {} scales)", scales.len()),
            };
            format!("{bits}-bit {scheme} {per}")
        }
    }
}
