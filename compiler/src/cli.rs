//! The command line: clap definitions, dispatch, and miette rendering of errors.
//!
//! This is the only place that renders diagnostics and chooses exit codes (0 success,
//! 2 any error the user can fix: bad model, bad tensor file, bad flag). The work itself is
//! in [`crate::driver`].

use crate::driver::{self, CompileRequest, OptRequest, PassRequest, RunRequest};
use crate::error::DriverError;
use crate::plan_cmd;
use crate::plan_flags::PlanFlags;
use asplit_ir::print::PrintOptions;
use asplit_passes::{ManagerOptions, DEFAULT_PIPELINE};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

const ABOUT: &str = "Compile an ONNX model for collaborative edge-cloud inference (Auto-Split).";

const LONG_ABOUT: &str = "\
asplitc imports an ONNX model into its dataflow IR (.air), optimizes it with a pass pipeline \
(batch-norm folding, fusion into layers), and plans where to split it between an edge device \
(low-bit, quantized) and a cloud server (float), choosing the split and per-tensor bit-widths \
to minimise end-to-end latency under an edge memory and an accuracy budget (Auto-Split). It \
writes two native programs: out/edge runs the quantized front of the model and sends the \
bit-packed boundary tensors, out/cloud receives them (TCP or a pipe) and finishes in f32; \
plus the plan (plan.json) and, on request, the IR, LLVM IR, objects and ONNX partitions. \
Run either program with --help (docs/programs.md).

Examples:
  asplitc model.onnx -o out/ --calibration calib/   out/edge, out/cloud, out/plan.json
  out/cloud --listen 0.0.0.0:7070 &  out/edge --input x.npy --connect HOST:7070 --output y.npy
  asplitc model.onnx -o out/ --emit plan,ir    out/plan.json, out/model.air, out/split.air
  asplitc plan model.onnx --bandwidth 3Mbps --edge-memory 4MiB
  asplitc plan model.onnx --calibration calib/ --validate val/ --max-accuracy-drop 1
  asplitc model.onnx -o out/ --split 12 --bits 4   force the cut and the bits
  asplitc model.onnx -o out/ --split edge-only --bits f32      out/edge (whole model, f32)
  asplitc model.onnx -o out/ --passes canonicalize,dce --dump-dir dumps/
  asplitc opt model.air --passes fold-constants --print-ir-after-all
  asplitc passes                               list the passes
  asplitc profile --out host.toml              measure this machine (device profile)
  asplitc run model.onnx --input x.npy --output-dir res/
  asplitc model.onnx -o out/ --input-shape input=1x3x224x224";

#[derive(Parser, Debug)]
#[command(
    name = "asplitc",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    #[command(flatten)]
    compile: CompileArgs,
}

#[derive(clap::Args, Debug)]
struct CompileArgs {
    /// The model: an ONNX file (.onnx) or asplitc IR (.air).
    #[arg(value_name = "MODEL", required = true)]
    model: Option<PathBuf>,

    /// Output directory (created if missing).
    #[arg(short = 'o', long = "out", value_name = "OUT", required = true)]
    out: Option<PathBuf>,

    /// What to write into OUT, comma-separated. `bin`: the programs, OUT/edge (the edge
    /// partition, quantized as planned; sends the boundary tensors) and OUT/cloud (receives
    /// them and finishes in f32; absent for an edge-only plan) — run either with --help;
    /// `plan`: OUT/plan.json, the Auto-Split solutions (docs/plan.md); `ir`: OUT/model.air,
    /// the verified IR after the pass pipeline, and OUT/split.air, the Split-phase IR of the
    /// chosen solution (placement, quantization, boundary ops); `llvm`/`obj`: OUT/edge.ll,
    /// OUT/cloud.ll (optimised LLVM IR) and OUT/edge.o, OUT/cloud.o.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "bin,plan")]
    emit: Vec<Emit>,

    #[command(flatten)]
    model_opts: ModelOpts,

    #[command(flatten)]
    pass_flags: PassFlags,

    #[command(flatten)]
    plan_flags: PlanFlags,
}

/// The pipeline and pass-manager flags, shared by compile and `opt`.
#[derive(clap::Args, Debug)]
struct PassFlags {
    /// The pass pipeline, e.g. `canonicalize,fold-constants{max-elements=1024},dce`
    /// (`asplitc passes` lists the passes; the default is shown below).
    #[arg(long, value_name = "PIPELINE")]
    passes: Option<String>,

    /// Verify the IR after every pass (default: on in debug builds, off in release).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        default_value_t = cfg!(debug_assertions),
        action = ArgAction::Set
    )]
    verify_each: bool,

    /// Print the IR to stderr after every pass, with MLIR-style banners.
    #[arg(long)]
    print_ir_after_all: bool,

    /// Print the IR to stderr after the named passes (comma-separated or repeated).
    #[arg(long, value_name = "PASS", value_delimiter = ',')]
    print_ir_after: Vec<String>,

    /// Print the IR to stderr before the named passes (comma-separated or repeated).
    #[arg(long, value_name = "PASS", value_delimiter = ',')]
    print_ir_before: Vec<String>,

    /// Write the IR before the pipeline and after every pass as numbered files into DIR:
    /// 00-input.air, 01-<pass>.air, …
    #[arg(long, value_name = "DIR")]
    dump_dir: Option<PathBuf>,

    /// Print a table of the time each pass took to stderr.
    #[arg(long)]
    time_passes: bool,

    /// Print each pass's statistics (what it changed) to stderr.
    #[arg(long)]
    pass_statistics: bool,

    /// Print every constant in full in .air output instead of a content hash for
    /// tensors of more than 16 elements (the result can be large).
    #[arg(long)]
    print_constants: bool,
}

impl PassFlags {
    fn request(&self, default_pipeline: &str) -> PassRequest {
        PassRequest {
            pipeline: self.passes.clone().unwrap_or_else(|| default_pipeline.to_string()),
            manager: ManagerOptions {
                verify_each: self.verify_each,
                print_ir_after_all: self.print_ir_after_all,
                print_ir_after: self.print_ir_after.clone(),
                print_ir_before: self.print_ir_before.clone(),
                dump_dir: self.dump_dir.clone(),
                print: PrintOptions { print_constants: self.print_constants },
            },
            time_passes: self.time_passes,
            pass_statistics: self.pass_statistics,
        }
    }
}

#[derive(clap::Args, Debug)]
struct ModelOpts {
    /// Binds the symbolic (or any) dimensions of a model input, e.g.
    /// `--input-shape input=1x3x224x224`. Repeat for several inputs.
    #[arg(long = "input-shape", value_name = "NAME=DIMS")]
    input_shapes: Vec<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Emit {
    /// OUT/model.air: the verified IR after the pass pipeline, and OUT/split.air.
    Ir,
    /// OUT/plan.json: the planner's solutions, the chosen one first.
    Plan,
    /// OUT/edge and OUT/cloud: the compiled programs of the chosen solution.
    Bin,
    /// OUT/edge.ll, OUT/cloud.ll: the programs' LLVM IR after optimisation.
    Llvm,
    /// OUT/edge.o, OUT/cloud.o: the programs' object files.
    Obj,
    /// OUT/edge.onnx (+ OUT/cloud.onnx): the partitions as standard ONNX, cut at the codes.
    Onnx,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a model with the reference interpreter and write its outputs.
    ///
    /// Inputs bind to the model's graph inputs in order. Tensor files are .npy or ONNX
    /// TensorProto .pb, chosen by extension. Outputs are written as `output_<i>.pb`
    /// (the ONNX test-data layout) into --output-dir, or to the files given with --output.
    Run(RunArgs),

    /// Run a pass pipeline over an .air file and print the result (IR in, IR out).
    ///
    /// Like mlir-opt: the input is parsed and verified, the pipeline given with --passes
    /// runs (no passes when it is absent), and the IR is printed to stdout or written to -o.
    Opt(OptArgs),

    /// List the registered passes with a one-line summary each.
    Passes,

    /// Plan the edge-cloud split: print the solution table and write plan.json.
    ///
    /// Runs the default pipeline (fused layers), calibrates on --calibration DIR (or seeded
    /// synthetic inputs, with a warning), prices every candidate split and bit allocation
    /// with the device profiles and the uplink, and lists the solutions: the chosen one first,
    /// Pareto-optimal ones marked, the baselines (cloud-only, edge-only-u8, neurosurgeon,
    /// qdmp) below. No code is generated. The method and plan.json schema: docs/plan.md.
    Plan(Box<PlanArgs>),

    /// Measure this machine and write a device profile for --edge/--cloud.
    ///
    /// Times asplitc's interpreter kernels for about two seconds: f32 GEMM MAC/s (one thread
    /// and all threads), memory copy bandwidth, per-layer overhead, and the efficiency of
    /// conv, depthwise conv, matmul and elementwise ops. Integer and f16 peaks are not
    /// measured (they run at the f32 rate). The schema is in docs/profiles.md.
    Profile(ProfileArgs),
}

#[derive(clap::Args, Debug)]
struct ProfileArgs {
    /// Write the TOML profile to FILE (default: print it to stdout).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,

    /// The profile's name.
    #[arg(long, value_name = "NAME", default_value = "host")]
    name: String,
}

#[derive(clap::Args, Debug)]
struct PlanArgs {
    /// The model: an ONNX file (.onnx) or asplitc IR (.air).
    #[arg(value_name = "MODEL")]
    model: PathBuf,

    /// Where to write plan.json.
    #[arg(short = 'o', long = "out", value_name = "FILE", default_value = "plan.json")]
    out: PathBuf,

    #[command(flatten)]
    model_opts: ModelOpts,

    #[command(flatten)]
    plan_flags: PlanFlags,

    #[command(flatten)]
    pass_flags: PassFlags,
}

#[derive(clap::Args, Debug)]
struct OptArgs {
    /// The .air file (`-` reads stdin).
    #[arg(value_name = "FILE")]
    input: PathBuf,

    /// Output .air file (default: stdout).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    output: Option<PathBuf>,

    #[command(flatten)]
    pass_flags: PassFlags,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// The model: an ONNX file (.onnx) or asplitc IR (.air).
    #[arg(value_name = "MODEL")]
    model: PathBuf,

    /// Input tensor files (.npy or .pb), one per model input, in order.
    #[arg(long = "input", value_name = "FILE", num_args = 1.., required = true)]
    inputs: Vec<PathBuf>,

    /// Directory for `output_<i>.pb` files (created if missing).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "outputs",
        conflicts_with = "outputs"
    )]
    output_dir: Option<PathBuf>,

    /// Output files (.npy or .pb), one per model output, in order.
    #[arg(long = "output", value_name = "FILE", num_args = 1..)]
    outputs: Vec<PathBuf>,

    #[command(flatten)]
    model_opts: ModelOpts,
}

/// Parses arguments, runs the command, renders any error; returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match command().try_get_matches_from(args).and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", render(&e));
            ExitCode::from(2)
        }
    }
}

/// The clap command, with the default pipeline written into the help of `--passes`.
fn command() -> clap::Command {
    let compile_help = format!(
        "The pass pipeline, e.g. `canonicalize,fold-constants{{max-elements=1024}},dce` \
         (`asplitc passes` lists the passes) [default: {DEFAULT_PIPELINE}]"
    );
    let plan_help = compile_help.clone();
    Cli::command()
        .mut_arg("passes", |a| a.help(compile_help))
        .mut_subcommand("plan", |c| c.mut_arg("passes", |a| a.help(plan_help)))
        .mut_subcommand("opt", |c| {
            c.mut_arg("passes", |a| {
                a.help(
                    "The pass pipeline, e.g. `canonicalize,fold-constants{max-elements=1024},dce` \
                 (`asplitc passes` lists the passes) [default: none]",
                )
            })
        })
}

fn dispatch(cli: Cli) -> Result<(), DriverError> {
    match cli.command {
        Some(Command::Run(r)) => driver::run(&RunRequest {
            model: r.model,
            inputs: r.inputs,
            output_dir: r.output_dir,
            outputs: r.outputs,
            input_shapes: driver::parse_input_shapes(&r.model_opts.input_shapes)?,
        }),
        Some(Command::Opt(o)) => driver::opt(&OptRequest {
            input: o.input,
            output: o.output,
            passes: o.pass_flags.request(""),
        }),
        Some(Command::Plan(p)) => {
            let p = *p;
            plan_cmd::plan_command(&plan_cmd::PlanRequest {
                model: p.model,
                input_shapes: driver::parse_input_shapes(&p.model_opts.input_shapes)?,
                passes: p.pass_flags.request(DEFAULT_PIPELINE),
                settings: p.plan_flags.settings()?,
                json_out: p.out,
            })
        }
        Some(Command::Passes) => {
            print!("{}", asplit_passes::registry::render_list());
            Ok(())
        }
        Some(Command::Profile(p)) => crate::profile_cmd::run(&crate::profile_cmd::ProfileRequest {
            out: p.out,
            name: p.name,
        }),
        None => {
            let c = cli.compile;
            let (Some(model), Some(out)) = (c.model, c.out) else {
                return Err(missing_args());
            };
            driver::compile(&CompileRequest {
                model,
                out,
                emit_ir: c.emit.contains(&Emit::Ir),
                plan: c.plan_flags.settings()?,
                emit_plan: c.emit.contains(&Emit::Plan),
                emit_onnx: c.emit.contains(&Emit::Onnx),
                native: native_request(&c.emit),
                print_constants: c.pass_flags.print_constants,
                input_shapes: driver::parse_input_shapes(&c.model_opts.input_shapes)?,
                passes: c.pass_flags.request(DEFAULT_PIPELINE),
            })
        }
    }
}

/// The programs asked for by `--emit bin,llvm,obj`; `None` when none of them.
fn native_request(emit: &[Emit]) -> Option<driver::NativeRequest> {
    let (bin, llvm, obj) =
        (emit.contains(&Emit::Bin), emit.contains(&Emit::Llvm), emit.contains(&Emit::Obj));
    (bin || llvm || obj).then_some(driver::NativeRequest {
        emit_bin: bin,
        emit_llvm: llvm,
        emit_obj: obj,
    })
}

/// clap marks MODEL and -o as required without a subcommand; this covers the impossible
/// case without panicking.
fn missing_args() -> DriverError {
    DriverError::Flag { flag: "MODEL", message: "a model and -o OUT are required".into() }
}

/// Renders a diagnostic as text: Unicode without colour when stderr is not a terminal or
/// `NO_COLOR` is set.
pub fn render(e: &dyn Diagnostic) -> String {
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let theme = if colour { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let mut out = String::new();
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    if handler.render_report(&mut out, e).is_err() {
        out = format!("error: {e}\n");
    }
    out
}
