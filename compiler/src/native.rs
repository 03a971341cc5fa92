//! Native code: a graph (after the pass pipeline) to a standalone executable.
//!
//! Lowers the graph with asplit-codegen, optimises it (`default<O3>` for the target; the host
//! by default), emits an object file and links it with the runtime staticlib that the build
//! script embedded in asplitc (`cc OBJ libasplit_runtime.a -lpthread -ldl -lm -s`), so only
//! the system C compiler is needed (`$CC` if set, else `cc`). On a terminal the long steps
//! show an indicatif progress bar on stderr; otherwise they are silent. Failures (LLVM,
//! missing `cc`, unwritable OUT) are [`DriverError`]s, never panics. What the programs do at
//! run time is `asplit_runtime::cli`.

use crate::error::DriverError;
use asplit_codegen::inkwell::context::Context;
use asplit_codegen::{lower_graph, LowerOptions, ProgramRole, Target, TargetSpec};
use asplit_ir::{Graph, OpKind};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The runtime staticlib, built by `build.rs` with `panic = "abort"`.
pub static RUNTIME_LIB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/libasplit_runtime.a"));

/// What to produce and for which target.
#[derive(Clone, Debug)]
pub struct NativeOptions {
    /// Base name of the artifacts in OUT (`edge`: OUT/edge, OUT/edge.ll, OUT/edge.o).
    pub name: String,
    /// Target triple/CPU/features (host when empty).
    pub target: TargetSpec,
    /// Link OUT/<name>.
    pub emit_bin: bool,
    /// Write OUT/<name>.ll (after optimisation).
    pub emit_llvm: bool,
    /// Write OUT/<name>.o.
    pub emit_obj: bool,
    /// Show progress on stderr if it is a terminal.
    pub progress: bool,
    /// The program's part in a split deployment (`None`: the whole model on the edge).
    pub program: Option<ProgramRole>,
}

/// What was produced, with sizes and timings.
#[derive(Clone, Debug, Default)]
pub struct NativeReport {
    /// Files written.
    pub files: Vec<PathBuf>,
    /// Scratch-arena bytes of the program.
    pub scratch_bytes: u64,
    /// What no buffer reuse would need.
    pub scratch_without_reuse: u64,
    /// Bytes of constants (weights).
    pub weight_bytes: u64,
    /// Kernel generation, optimisation, object emission, linking.
    pub times: Vec<(&'static str, Duration)>,
}

/// Compiles `g` into OUT/`opts.name` (and the requested .ll/.o files).
pub fn compile_native(
    g: &Graph,
    out: &Path,
    opts: &NativeOptions,
) -> Result<NativeReport, DriverError> {
    std::fs::create_dir_all(out).map_err(|e| DriverError::io("create directory", out, e))?;
    let mut report = NativeReport::default();
    let target = Target::new(&opts.target)?;
    let bar = Bar::new(opts.progress);
    let ctx = Context::create();
    let lower_opts = LowerOptions {
        lanes: target.lanes,
        fingerprint_salt: target.describe(),
        program: opts.program.clone(),
    };
    let t = Instant::now();
    bar.stage("generating kernels", g.order.len() as u64);
    let lowered = lower_graph(&ctx, g, &lower_opts, &mut |done, total| bar.step(done, total))?;
    report.times.push(("kernels", t.elapsed()));
    report.scratch_bytes = lowered.plan.size;
    report.scratch_without_reuse = lowered.plan.total;
    report.weight_bytes = weight_bytes(g);
    target.configure(&lowered.module);
    let t = Instant::now();
    bar.spin("optimising (LLVM O3)");
    target.optimize(&lowered.module)?;
    report.times.push(("optimise", t.elapsed()));
    if opts.emit_llvm {
        let path = out.join(format!("{}.ll", opts.name));
        lowered
            .module
            .print_to_file(&path)
            .map_err(|e| DriverError::io("write", &path, std::io::Error::other(e.to_string())))?;
        report.files.push(path);
    }
    if !opts.emit_obj && !opts.emit_bin {
        bar.finish();
        return Ok(report);
    }
    let t = Instant::now();
    bar.spin("emitting object code");
    let obj = target.object_bytes(&lowered.module)?;
    report.times.push(("object", t.elapsed()));
    let obj_path = out.join(format!("{}.o", opts.name));
    std::fs::write(&obj_path, &obj).map_err(|e| DriverError::io("write", &obj_path, e))?;
    if opts.emit_bin {
        let t = Instant::now();
        bar.spin("linking");
        let exe = out.join(&opts.name);
        let linked = link(&obj_path, &exe, out);
        if !opts.emit_obj {
            let _ = std::fs::remove_file(&obj_path);
        }
        linked?;
        report.times.push(("link", t.elapsed()));
        report.files.push(exe);
    }
    if opts.emit_obj {
        report.files.push(obj_path);
    }
    bar.finish();
    Ok(report)
}

/// Bytes of the constants of `g` as the program stores them: integer codes read only by
/// `dequantize` are bit-packed at its `bits` (docs/codegen.md), everything else dense.
pub fn weight_bytes(g: &Graph) -> u64 {
    let mut packed_bits: std::collections::HashMap<asplit_ir::ValueId, Option<i64>> =
        Default::default();
    for (_, n) in g.live_nodes() {
        let bits = (n.op == OpKind::Dequantize).then(|| n.attrs.int("bits").ok()).flatten();
        for &v in &n.inputs {
            let e = packed_bits.entry(v).or_insert(bits);
            if *e != bits {
                *e = None;
            }
        }
    }
    g.live_nodes()
        .filter(|(_, n)| n.op == OpKind::Const)
        .map(|(_, n)| {
            let v = n.outputs[0];
            match packed_bits.get(&v).copied().flatten() {
                Some(b) => (g.ty(v).numel() as u64 * b.clamp(1, 32) as u64).div_ceil(8),
                None => g.ty(v).size_bytes() as u64,
            }
        })
        .sum()
}

/// The C compiler used as linker: `$CC` if set, else `cc`.
pub fn linker() -> String {
    std::env::var("CC").ok().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| "cc".into())
}

/// Links `obj` with the embedded runtime into `exe`, stripped.
pub fn link(obj: &Path, exe: &Path, scratch_dir: &Path) -> Result<(), DriverError> {
    let lib = scratch_dir.join(format!(".asplitc-runtime-{}.a", std::process::id()));
    std::fs::write(&lib, RUNTIME_LIB).map_err(|e| DriverError::io("write", &lib, e))?;
    let cc = linker();
    let result = Command::new(&cc)
        .arg(obj)
        .arg(&lib)
        .arg("-o")
        .arg(exe)
        .args(["-lpthread", "-ldl", "-lm", "-s", "-Wl,--gc-sections"])
        .output();
    let _ = std::fs::remove_file(&lib);
    let output = result.map_err(|e| DriverError::Link {
        message: match e.kind() {
            std::io::ErrorKind::NotFound => format!("the C compiler `{cc}` was not found"),
            _ => format!("cannot run `{cc}`: {e}"),
        },
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(DriverError::Link {
            message: format!("`{cc}` failed ({}): {first}", output.status),
        });
    }
    Ok(())
}

/// Progress on stderr when it is a terminal; a no-op otherwise.
struct Bar(Option<ProgressBar>);

impl Bar {
    fn new(wanted: bool) -> Bar {
        Bar((wanted && std::io::stderr().is_terminal()).then(ProgressBar::hidden))
    }

    fn stage(&self, msg: &'static str, len: u64) {
        if let Some(b) = &self.0 {
            b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{msg:24} [{bar:30}] {pos}/{len} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_length(len);
            b.set_position(0);
            b.set_message(msg);
        }
    }

    fn step(&self, done: usize, total: usize) {
        if let Some(b) = &self.0 {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    }

    fn spin(&self, msg: &'static str) {
        if let Some(b) = &self.0 {
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(msg);
            b.enable_steady_tick(Duration::from_millis(120));
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
