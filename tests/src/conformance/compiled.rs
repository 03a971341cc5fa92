//! The compiled conformance run: a case that passes in the reference interpreter is compiled
//! twice — the imported graph as is, and the same graph after the default pass pipeline
//! ([`asplit_passes::DEFAULT_PIPELINE`], what `asplitc MODEL.onnx` runs) — each lowered by
//! asplit-codegen, optimised for the host (`default<O3>`), run in-process and compared with
//! the expected outputs at the case's tolerances.
//!
//! The graph is imported once per case (once per data set when inputs must be bound) and
//! shared by both compiles. When no pass of the pipeline reports a change (and the printed
//! IR is identical, checked), the second compile would compile the same graph again, so it
//! is skipped and the first result is reused; [`CompiledReport::pipeline_unchanged`] records
//! that. This file runs cases and reports outcomes; it does not decide pass/fail policy
//! (`tests/tests/conformance_compiled.rs`) or render the doc (`doc.rs`).

use super::{load_inputs, one_line, panic_text, Case, Outcome};
use crate::compare;
use asplit_ir::{Graph, Tensor};
use asplit_passes::{parse_pipeline, Changed, ManagerOptions, PassManager, DEFAULT_PIPELINE};
use asplitc::onnx::{import_file, ImportError, ImportOptions};
use asplitc::tensor_io::read_tensor;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Which compiled column a result belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Column {
    /// The imported graph compiled without passes.
    Plain,
    /// The imported graph after the default pipeline, compiled.
    Pipeline,
}

impl Column {
    /// Both columns, in report order.
    pub const ALL: [Column; 2] = [Column::Plain, Column::Pipeline];

    /// The tag of this column in `known_compiled_failures.txt`.
    pub fn tag(self) -> &'static str {
        match self {
            Column::Plain => "plain",
            Column::Pipeline => "pipeline",
        }
    }

    /// The column heading in docs/conformance.md.
    pub fn heading(self) -> &'static str {
        match self {
            Column::Plain => "compiled",
            Column::Pipeline => "compiled, default pipeline",
        }
    }
}

/// A case's compiled results.
#[derive(Clone, Debug)]
pub struct CompiledReport {
    /// The imported graph compiled as is.
    pub plain: Outcome,
    /// The graph after the default pipeline, compiled.
    pub pipeline: Outcome,
    /// The pipeline changed no data set's graph, so `pipeline` reuses `plain`'s result.
    pub pipeline_unchanged: bool,
    /// Wall time of the whole compiled run (import, pipeline, both compiles, comparisons).
    pub time: Duration,
}

impl CompiledReport {
    /// The outcome of `column`.
    pub fn outcome(&self, column: Column) -> &Outcome {
        match column {
            Column::Plain => &self.plain,
            Column::Pipeline => &self.pipeline,
        }
    }
}

/// Runs one case compiled, without and with the default pipeline. A panic is a failure of
/// both columns naming it.
pub fn run_case_compiled(case: &Case) -> CompiledReport {
    let start = Instant::now();
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compiled_sets(case)));
    let (plain, pipeline, pipeline_unchanged) = run.unwrap_or_else(|p| {
        let why = format!("PANIC: {}", panic_text(&p));
        (Outcome::Fail(why.clone()), Outcome::Fail(why), false)
    });
    CompiledReport { plain, pipeline, pipeline_unchanged, time: start.elapsed() }
}

/// The first failure of each column over the data sets, and whether the pipeline left
/// every graph unchanged.
fn compiled_sets(case: &Case) -> (Outcome, Outcome, bool) {
    let plain = import_file(&case.model, &ImportOptions::default());
    let bound = matches!(&plain, Err(ImportError::NotConstant { .. }));
    let (mut plain_fail, mut pipe_fail) = (None::<String>, None::<String>);
    let mut unchanged = true;
    for (i, set) in case.sets.iter().enumerate() {
        let fail = |e: String| format!("data set {i}: {}", one_line(&e));
        let graph = if bound {
            super::import_bound(case, set).map(|(g, _)| g)
        } else {
            clone_import(&plain)
        };
        let (g, inputs) = match graph.and_then(|g| load_inputs(&g, set).map(|x| (g, x))) {
            Ok(x) => x,
            Err(e) => {
                plain_fail.get_or_insert_with(|| fail(e.clone()));
                pipe_fail.get_or_insert_with(|| fail(e));
                continue;
            }
        };
        let plain_result = || run_and_compare(&g, &inputs, set, case);
        let first = if plain_fail.is_none() { Some(plain_result()) } else { None };
        if let Some(Err(e)) = &first {
            plain_fail = Some(fail(e.clone()));
        }
        if pipe_fail.is_some() {
            continue;
        }
        let second = match optimize(&g) {
            Err(e) => Err(format!("pipeline: {e}")),
            Ok(None) => first.unwrap_or_else(plain_result),
            Ok(Some(after)) => {
                unchanged = false;
                run_and_compare(&after, &inputs, set, case)
            }
        };
        if let Err(e) = second {
            pipe_fail = Some(fail(e));
        }
    }
    let outcome = |f: Option<String>| f.map_or(Outcome::Pass, Outcome::Fail);
    (outcome(plain_fail), outcome(pipe_fail), unchanged)
}

fn clone_import(plain: &Result<Graph, ImportError>) -> Result<Graph, String> {
    match plain {
        Ok(g) => Ok(g.clone()),
        Err(e) => Err(format!("import: {e}")),
    }
}

/// `g` after the default pipeline (this build's manager options: verification after every
/// pass in debug builds), or `None` when no pass changed it.
fn optimize(g: &Graph) -> Result<Option<Graph>, String> {
    let pipeline = parse_pipeline(DEFAULT_PIPELINE).map_err(|e| e.to_string())?;
    let pm = PassManager::new(&pipeline, ManagerOptions::for_build()).map_err(|e| e.to_string())?;
    let mut after = g.clone();
    let report = pm.run(&mut after, &mut std::io::sink()).map_err(|e| e.to_string())?;
    if report.passes.iter().any(|p| p.changed == Changed::Yes) {
        return Ok(Some(after));
    }
    let print = |g: &Graph| asplit_ir::print::print(g, &Default::default());
    if print(&after) != print(g) {
        return Err("no pass reported a change, but the printed IR differs".into());
    }
    Ok(None)
}

/// Compiles `g`, runs it on `inputs` and compares with `set`'s expected outputs.
fn run_and_compare(
    g: &Graph,
    inputs: &[Tensor],
    set: &super::DataSet,
    case: &Case,
) -> Result<(), String> {
    let outs = asplit_codegen::testing::run_jit(g, inputs).map_err(|e| format!("compiled: {e}"))?;
    if outs.len() != set.outputs.len() {
        return Err(format!("{} outputs, {} expected", outs.len(), set.outputs.len()));
    }
    for (j, (out, path)) in outs.iter().zip(&set.outputs).enumerate() {
        let reference = read_tensor(path).map_err(|e| format!("expected output: {e}"))?;
        compare(&reference, out, case.rtol, case.atol).map_err(|e| format!("output {j}: {e}"))?;
    }
    Ok(())
}

/// Known compiled failures, `(suite/name, column)` → reason, from
/// `tests/conformance/known_compiled_failures.txt`. A line is `suite/name # reason` (the case
/// fails in both columns) or `suite/name [plain|pipeline] # reason` (in that column only).
pub fn known_compiled_failures(path: &Path) -> Result<BTreeMap<(String, Column), String>, String> {
    let mut known = BTreeMap::new();
    for (entry, reason) in super::known_failures(path) {
        let (key, columns) = match entry.split_once('[') {
            None => (entry.as_str(), Column::ALL.to_vec()),
            Some((key, tag)) => {
                let tag = tag.trim().strip_suffix(']').map(str::trim);
                let column = Column::ALL.into_iter().find(|c| Some(c.tag()) == tag);
                let column = column.ok_or_else(|| {
                    format!("{}: `{entry}`: the tag must be [plain] or [pipeline]", path.display())
                })?;
                (key, vec![column])
            }
        };
        for c in columns {
            known.insert((key.trim().to_string(), c), reason.clone());
        }
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BTreeMap<(String, Column), String>, String> {
        let path = std::env::temp_dir().join(format!(
            "asplit-known-compiled-{}-{}.txt",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        let r = known_compiled_failures(&path);
        let _ = std::fs::remove_file(&path);
        r
    }

    #[test]
    fn untagged_lines_cover_both_columns_and_tags_one() {
        let known =
            parse("# c\nnode/a # both\nnode/b [pipeline] # after\nnode/c [plain]  # before\n")
                .expect("well-formed");
        let keys: Vec<(&str, Column)> = known.keys().map(|(k, c)| (k.as_str(), *c)).collect();
        assert_eq!(
            keys,
            [
                ("node/a", Column::Plain),
                ("node/a", Column::Pipeline),
                ("node/b", Column::Pipeline),
                ("node/c", Column::Plain)
            ]
        );
        assert_eq!(known[&("node/b".to_string(), Column::Pipeline)], "after");
    }

    #[test]
    fn an_unknown_tag_is_an_error() {
        let e = parse("node/a [fused] # x\n").expect_err("bad tag");
        assert!(e.contains("[plain] or [pipeline]"), "{e}");
    }
}
