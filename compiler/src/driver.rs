//! The driver: what each command does, with no argument parsing and no rendering.
//!
//! `compile` imports (or parses) a model, verifies it, runs the pass pipeline and writes the
//! requested artifacts; `opt` runs a pipeline over an `.air` file (IR in, IR out); `run`
//! interprets a model on tensor files. All return [`DriverError`]; the CLI renders it.

use crate::error::DriverError;
use crate::onnx::{self, ImportOptions};
use crate::tensor_io;
use asplit_ir::print::{print, PrintOptions};
use asplit_ir::Graph;
use asplit_passes::{ManagerOptions, PassManager};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The pass pipeline and pass-manager flags of a command.
#[derive(Debug, Clone)]
pub struct PassRequest {
    /// The pipeline string (`--passes`).
    pub pipeline: String,
    /// Verification, IR printing and dumps.
    pub manager: ManagerOptions,
    /// Print the timing table to stderr.
    pub time_passes: bool,
    /// Print pass statistics to stderr.
    pub pass_statistics: bool,
}

impl PassRequest {
    /// `pipeline` with this build's manager defaults and no reports.
    pub fn new(pipeline: &str) -> Self {
        PassRequest {
            pipeline: pipeline.to_string(),
            manager: ManagerOptions::for_build(),
            time_passes: false,
            pass_statistics: false,
        }
    }
}

/// `asplitc opt FILE.air --passes P [-o OUT.air]`.
#[derive(Debug)]
pub struct OptRequest {
    /// The `.air` file (`-` reads stdin).
    pub input: PathBuf,
    /// Where to write the result; stdout when `None`.
    pub output: Option<PathBuf>,
    /// The pipeline and flags.
    pub passes: PassRequest,
}

/// `asplitc MODEL -o OUT`.
#[derive(Debug)]
pub struct CompileRequest {
    /// The model file.
    pub model: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Write OUT/model.air.
    pub emit_ir: bool,
    /// Print constants in full.
    pub print_constants: bool,
    /// The planning settings (used when a plan or programs are emitted).
    pub plan: crate::plan_flags::PlanSettings,
    /// Write OUT/plan.json.
    pub emit_plan: bool,
    /// Write OUT/edge.onnx and OUT/cloud.onnx (docs/onnx-export.md).
    pub emit_onnx: bool,
    /// Generate the programs (OUT/edge, OUT/cloud, .ll, .o).
    pub native: Option<NativeRequest>,
    /// `--input-shape` bindings.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// The pass pipeline run after import.
    pub passes: PassRequest,
}

/// The native code a compile asks for.
pub type NativeRequest = crate::programs::ProgramsRequest;

/// `asplitc run MODEL --input … (--output-dir D | --output …)`.
#[derive(Debug)]
pub struct RunRequest {
    /// The model file.
    pub model: PathBuf,
    /// Input tensor files, in graph-input order.
    pub inputs: Vec<PathBuf>,
    /// Directory for `output_<i>.pb`.
    pub output_dir: Option<PathBuf>,
    /// Explicit output files.
    pub outputs: Vec<PathBuf>,
    /// `--input-shape` bindings.
    pub input_shapes: Vec<(String, Vec<usize>)>,
}

/// Parses `name=1x3x224x224` bindings.
pub fn parse_input_shapes(specs: &[String]) -> Result<Vec<(String, Vec<usize>)>, DriverError> {
    specs.iter().map(|s| parse_input_shape(s)).collect()
}

fn parse_input_shape(spec: &str) -> Result<(String, Vec<usize>), DriverError> {
    let bad = |message: String| DriverError::Flag { flag: "--input-shape", message };
    let (name, dims) = spec
        .rsplit_once('=')
        .ok_or_else(|| bad(format!("`{spec}` is not NAME=DIMS (e.g. input=1x3x224x224)")))?;
    if name.is_empty() {
        return Err(bad(format!("`{spec}` has an empty input name")));
    }
    let dims = if dims.is_empty() {
        Vec::new()
    } else {
        dims.split('x')
            .map(|d| {
                d.trim()
                    .parse::<usize>()
                    .map_err(|_| bad(format!("`{d}` in `{spec}` is not a dimension")))
            })
            .collect::<Result<Vec<_>, _>>()?
    };
    Ok((name.to_string(), dims))
}

/// Loads a model: `.onnx` through the importer, `.air` through the parser; verifies it.
pub fn load_model(
    path: &Path,
    input_shapes: &[(String, Vec<usize>)],
) -> Result<Graph, DriverError> {
    let is_air = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("air"));
    let g = if is_air {
        if !input_shapes.is_empty() {
            return Err(DriverError::Flag {
                flag: "--input-shape",
                message: "only applies to ONNX models; .air shapes are static".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| DriverError::io("read", path, e))?;
        asplit_ir::parse::parse_named(&path.display().to_string(), &text)?
    } else {
        let opts = ImportOptions { input_shapes: input_shapes.to_vec() };
        onnx::import_file(path, &opts)?
    };
    asplit_ir::verify::verify(&g).map_err(DriverError::Verify)?;
    Ok(g)
}

/// Runs `req`'s pipeline over `g`; IR printouts, timing and statistics go to stderr.
pub fn run_passes(g: &mut Graph, req: &PassRequest) -> Result<(), DriverError> {
    let pipeline = asplit_passes::parse_pipeline(&req.pipeline)?;
    let manager = PassManager::new(&pipeline, req.manager.clone())?;
    let mut stderr = std::io::stderr().lock();
    let report = manager.run(g, &mut stderr)?;
    if req.time_passes {
        let _ = stderr.write_all(report.render_timing().as_bytes());
    }
    if req.pass_statistics {
        let _ = stderr.write_all(report.render_statistics().as_bytes());
    }
    Ok(())
}

/// Runs the opt command: parse, verify, run the pipeline, print.
pub fn opt(req: &OptRequest) -> Result<(), DriverError> {
    let text = if req.input.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| DriverError::io("read", "<stdin>", e))?;
        s
    } else {
        std::fs::read_to_string(&req.input).map_err(|e| DriverError::io("read", &req.input, e))?
    };
    let mut g = asplit_ir::parse::parse_named(&req.input.display().to_string(), &text)?;
    asplit_ir::verify::verify(&g).map_err(DriverError::Verify)?;
    run_passes(&mut g, &req.passes)?;
    let out = print(&g, &req.passes.manager.print);
    match &req.output {
        Some(path) => std::fs::write(path, out).map_err(|e| DriverError::io("write", path, e)),
        None => std::io::stdout()
            .lock()
            .write_all(out.as_bytes())
            .map_err(|e| DriverError::io("write", "<stdout>", e)),
    }
}

/// Runs the compile command.
pub fn compile(req: &CompileRequest) -> Result<(), DriverError> {
    let mut g = load_model(&req.model, &req.input_shapes)?;
    run_passes(&mut g, &req.passes)?;
    std::fs::create_dir_all(&req.out)
        .map_err(|e| DriverError::io("create directory", &req.out, e))?;
    let opts = PrintOptions { print_constants: req.print_constants };
    if req.emit_ir {
        write_ir(&g, &req.out.join("model.air"), &opts)?;
    }
    if !req.emit_plan && !req.emit_onnx && req.native.is_none() {
        return Ok(());
    }
    let planned = crate::plan_cmd::make_plan(&g, &req.plan)?;
    if req.emit_plan {
        crate::plan_cmd::write_plan_json(&g, &planned, &req.out.join("plan.json"))?;
    }
    if !req.emit_ir && !req.emit_onnx && req.native.is_none() {
        return Ok(());
    }
    let chosen = crate::programs::chosen_partitions(&g, &planned)?;
    if req.emit_ir {
        write_ir(&chosen.split, &req.out.join("split.air"), &opts)?;
    }
    if req.emit_onnx {
        crate::onnx::export::write_partitions(&chosen.parts, &req.out)?;
    }
    if let Some(native) = &req.native {
        crate::programs::build_programs(&g, &planned, &chosen, &req.out, native)?;
    }
    Ok(())
}

fn write_ir(g: &Graph, path: &Path, opts: &PrintOptions) -> Result<(), DriverError> {
    std::fs::write(path, print(g, opts)).map_err(|e| DriverError::io("write", path, e))
}

/// Runs the run command.
pub fn run(req: &RunRequest) -> Result<(), DriverError> {
    let g = load_model(&req.model, &req.input_shapes)?;
    let inputs =
        req.inputs.iter().map(|p| tensor_io::read_tensor(p)).collect::<Result<Vec<_>, _>>()?;
    tensor_io::check_binding(&g, &inputs, &req.inputs)?;
    let outputs = asplit_ir::interp::run(&g, &inputs)?;
    let paths = output_paths(req, outputs.len())?;
    for (i, (t, path)) in outputs.iter().zip(&paths).enumerate() {
        let name = g.values[g.outputs[i]].name.clone().unwrap_or_else(|| format!("output_{i}"));
        tensor_io::write_tensor(path, t, &name)?;
    }
    Ok(())
}

fn output_paths(req: &RunRequest, count: usize) -> Result<Vec<PathBuf>, DriverError> {
    if let Some(dir) = &req.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| DriverError::io("create directory", dir, e))?;
        return Ok((0..count).map(|i| dir.join(format!("output_{i}.pb"))).collect());
    }
    if req.outputs.len() != count {
        return Err(DriverError::Flag {
            flag: "--output",
            message: format!(
                "the model has {count} output(s), {} file(s) were given",
                req.outputs.len()
            ),
        });
    }
    Ok(req.outputs.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_shape_specs() {
        assert_eq!(parse_input_shape("x=1x3x224x224").unwrap(), ("x".into(), vec![1, 3, 224, 224]));
        assert_eq!(parse_input_shape("a=b=2").unwrap(), ("a=b".into(), vec![2]));
        assert_eq!(parse_input_shape("s=").unwrap(), ("s".into(), vec![]));
        assert!(parse_input_shape("x").is_err());
        assert!(parse_input_shape("=1x2").is_err());
        assert!(parse_input_shape("x=1xQ").is_err());
        assert!(parse_input_shape("x=-1").is_err());
    }
}
