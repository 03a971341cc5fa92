//! The command line of a compiled program: `--input F…`, `--output F…` | `--output-dir D`,
//! `--info`, `--bench N`, `--help`; reading and checking the input files, calling the
//! model's `forward`, writing the outputs, timing.
//!
//! [`run_program`] takes `forward` as a closure, so this file is plain safe Rust and is
//! tested with a stand-in model; the C `main` that passes the real `forward` is in
//! `program.rs`. Errors are one line on stderr (`error: …`) with exit status 2; nothing here
//! panics on user input.

use crate::buffer::AlignedBuf;
use crate::meta::ModelInfo;
use crate::npy::{decode_le, encode_le};
use crate::tensor_file::{check_binding, read_tensor, write_tensor};
use asplit_ir::{Tensor, TensorType};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `forward(inputs, outputs, scratch)` of a compiled model.
pub type Forward<'f> = &'f mut dyn FnMut(&[*mut u8], &[*mut u8], *mut u8);

/// Parsed arguments.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
}

/// Largest `--bench` count accepted.
pub const MAX_BENCH: usize = 1_000_000;

/// Usage text.
pub fn usage(program: &str) -> String {
    format!(
        "usage: {program} --input FILE… (--output FILE… | --output-dir DIR) [--bench N] [--info]\n\
         \n\
         Runs the compiled model on tensor files (.npy or ONNX TensorProto .pb, by extension),\n\
         bound to the model's inputs in order. --output-dir writes output_<i>.pb.\n\
         --bench N times N forward passes after a warm-up (median, min, max); without --input\n\
         it runs on zero-filled inputs. --info prints the model description.\n"
    )
}

/// Parses the arguments after the program name.
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
    while let Some(flag) = args.get(i) {
        i += 1;
        match flag.as_str() {
            "--input" => a.inputs.extend(values(&mut i)),
            "--output" => a.outputs.extend(values(&mut i)),
            "--output-dir" => {
                let v = values(&mut i);
                match v.as_slice() {
                    [d] => a.output_dir = Some(d.clone()),
                    _ => return Err("--output-dir takes one directory".into()),
                }
            }
            "--bench" => {
                let n = args.get(i).ok_or("--bench takes a count")?;
                i += 1;
                let n: usize = n.parse().map_err(|_| format!("--bench: `{n}` is not a count"))?;
                if n == 0 || n > MAX_BENCH {
                    return Err(format!("--bench: the count must be 1 to {MAX_BENCH}"));
                }
                a.bench = Some(n);
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

/// Runs the program with `argv` (program name first); returns the exit status.
pub fn run_program(argv: &[String], info: &ModelInfo, forward: Forward<'_>) -> i32 {
    let program = argv.first().map(String::as_str).unwrap_or("program");
    let args = match parse_args(argv.get(1..).unwrap_or(&[])) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    if args.help {
        print!("{}", usage(program));
        return 0;
    }
    if args.info {
        print!("{}", describe(info));
        if args.inputs.is_empty() && args.bench.is_none() {
            return 0;
        }
    }
    match execute(&args, info, forward) {
        Ok(()) => 0,
        Err(e) => fail(&e),
    }
}

fn fail(msg: &str) -> i32 {
    let _ = writeln!(std::io::stderr(), "error: {msg}");
    2
}

/// The `--info` text.
pub fn describe(info: &ModelInfo) -> String {
    let mut s = format!(
        "model: {}\nfingerprint: {:032x}\nsplit: edge-only\nbits: f32\nscratch: {} bytes\n",
        info.name, info.fingerprint, info.scratch_bytes
    );
    for (kind, list) in [("input", &info.inputs), ("output", &info.outputs)] {
        for (i, t) in list.iter().enumerate() {
            s.push_str(&format!("{kind} {i}: `{}` {}\n", t.name, t.ty));
        }
    }
    s
}

fn execute(args: &Args, info: &ModelInfo, forward: Forward<'_>) -> Result<(), String> {
    let expected: Vec<(String, TensorType)> =
        info.inputs.iter().map(|t| (t.name.clone(), t.ty.clone())).collect();
    let inputs = if args.inputs.is_empty() && args.bench.is_some() {
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
    let out_paths = output_paths(args, info)?;
    let mut run = Runner::new(info, &inputs);
    if let Some(n) = args.bench {
        bench(&mut run, forward, n);
    } else {
        run.call(forward);
    }
    if let Some(paths) = out_paths {
        if let Some(dir) = &args.output_dir {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create directory `{}`: {e}", dir.display()))?;
        }
        for (i, (t, path)) in run.outputs(info)?.iter().zip(&paths).enumerate() {
            let name = info.outputs.get(i).map(|o| o.name.as_str()).unwrap_or("output");
            write_tensor(path, t, name).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Where the outputs go: `None` when only benchmarking.
fn output_paths(args: &Args, info: &ModelInfo) -> Result<Option<Vec<PathBuf>>, String> {
    let n = info.outputs.len();
    if let Some(dir) = &args.output_dir {
        return Ok(Some((0..n).map(|i| dir.join(format!("output_{i}.pb"))).collect()));
    }
    if args.outputs.is_empty() {
        if args.bench.is_some() {
            return Ok(None);
        }
        return Err("give --output FILE… or --output-dir DIR for the results".into());
    }
    if args.outputs.len() != n {
        return Err(format!(
            "the model has {n} output(s), {} file(s) were given with --output",
            args.outputs.len()
        ));
    }
    Ok(Some(args.outputs.clone()))
}

/// The buffers of one model run.
struct Runner {
    inputs: Vec<AlignedBuf>,
    outputs: Vec<AlignedBuf>,
    scratch: AlignedBuf,
}

impl Runner {
    fn new(info: &ModelInfo, inputs: &[Tensor]) -> Runner {
        let inputs = inputs
            .iter()
            .map(|t| {
                let mut b = Vec::new();
                encode_le(t.data(), &mut b);
                AlignedBuf::from_bytes(&b)
            })
            .collect();
        let outputs = info.outputs.iter().map(|o| AlignedBuf::zeroed(o.ty.size_bytes())).collect();
        let scratch = AlignedBuf::zeroed(usize::try_from(info.scratch_bytes).unwrap_or(0));
        Runner { inputs, outputs, scratch }
    }

    fn call(&mut self, forward: Forward<'_>) {
        let ins: Vec<*mut u8> = self.inputs.iter_mut().map(AlignedBuf::as_mut_ptr).collect();
        let outs: Vec<*mut u8> = self.outputs.iter_mut().map(AlignedBuf::as_mut_ptr).collect();
        forward(&ins, &outs, self.scratch.as_mut_ptr());
    }

    fn outputs(&self, info: &ModelInfo) -> Result<Vec<Tensor>, String> {
        info.outputs
            .iter()
            .zip(&self.outputs)
            .map(|(o, b)| {
                Tensor::new(o.ty.shape.clone(), decode_le(o.ty.dtype, &b.to_bytes()))
                    .map_err(|e| format!("output `{}`: {e}", o.name))
            })
            .collect()
    }
}

/// Warm-up (at least one pass and 0.2 s or 10 passes), then `n` timed passes; prints
/// median, min and max.
fn bench(run: &mut Runner, forward: Forward<'_>, n: usize) {
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
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let median = match n % 2 {
        1 => ms(times[n / 2]),
        _ => (ms(times[n / 2 - 1]) + ms(times[n / 2])) / 2.0,
    };
    println!(
        "forward: median {median:.3} ms, min {:.3} ms, max {:.3} ms ({n} runs, {warm} warm-up)",
        ms(times[0]),
        ms(times[n - 1])
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::TensorInfo;
    use asplit_ir::DType;

    fn info() -> ModelInfo {
        let ty = TensorType::new(DType::F32, [3]);
        ModelInfo {
            name: "double".into(),
            fingerprint: 7,
            scratch_bytes: 64,
            inputs: vec![TensorInfo { name: "x".into(), ty: ty.clone() }],
            outputs: vec![TensorInfo { name: "y".into(), ty }],
        }
    }

    /// A stand-in model that records how many input and output buffers it was given.
    fn double(ins: &[*mut u8], outs: &[*mut u8], _: *mut u8, seen: &mut Vec<(usize, usize)>) {
        seen.push((ins.len(), outs.len()));
    }

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_flags_and_rejects_junk() {
        let a =
            parse_args(&args(&["--input", "a.npy", "b.pb", "--output-dir", "o", "--bench", "5"]))
                .expect("parses");
        assert_eq!(a.inputs, vec![PathBuf::from("a.npy"), PathBuf::from("b.pb")]);
        assert_eq!(a.output_dir, Some(PathBuf::from("o")));
        assert_eq!(a.bench, Some(5));
        assert!(parse_args(&args(&["--bench", "0"])).is_err());
        assert!(parse_args(&args(&["--bench", "x"])).is_err());
        assert!(parse_args(&args(&["--frob"])).is_err());
        assert!(parse_args(&args(&["--output", "a", "--output-dir", "d"])).is_err());
    }

    #[test]
    fn runs_checks_inputs_and_writes_outputs() {
        let dir = std::env::temp_dir().join(format!("asplit-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let x = Tensor::from_f32([3], vec![1.0, 2.0, 3.0]).expect("3");
        write_tensor(&dir.join("x.npy"), &x, "x").expect("write");
        let mut seen = Vec::new();
        let xs = dir.join("x.npy").display().to_string();
        let od = dir.join("out").display().to_string();
        let mut f = |i: &[*mut u8], o: &[*mut u8], s: *mut u8| double(i, o, s, &mut seen);
        let code = run_program(&args(&["p", "--input", &xs, "--output-dir", &od]), &info(), &mut f);
        assert_eq!(code, 0);
        assert_eq!(seen, vec![(1, 1)]);
        let y = read_tensor(&dir.join("out/output_0.pb")).expect("output written");
        assert_eq!(y.ty(), TensorType::new(DType::F32, [3]));
        let wrong = Tensor::from_f32([2], vec![1.0, 2.0]).expect("2");
        write_tensor(&dir.join("w.npy"), &wrong, "w").expect("write");
        let ws = dir.join("w.npy").display().to_string();
        let mut g = |_: &[*mut u8], _: &[*mut u8], _: *mut u8| {};
        assert_eq!(
            run_program(&args(&["p", "--input", &ws, "--output-dir", &od]), &info(), &mut g),
            2
        );
        assert_eq!(run_program(&args(&["p", "--input", &xs]), &info(), &mut g), 2);
        assert_eq!(run_program(&args(&["p", "--bench", "3"]), &info(), &mut g), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
