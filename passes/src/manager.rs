//! The pass manager: runs a [`Pipeline`] over a graph, verifying after each pass when asked
//! ("after pass X" in the error), printing the IR before/after chosen passes with MLIR-style
//! banners, writing numbered dumps, timing passes and collecting their statistics.
//!
//! IR printouts go to the `sink` the caller passes (the CLI gives stderr, like
//! `mlir-opt -mlir-print-ir-after-all`); timing and statistics come back in the
//! [`RunReport`], rendered by [`RunReport::render_timing`] and
//! [`RunReport::render_statistics`]. The manager does not parse flags or choose where
//! reports go.

use crate::pass::{Changed, Pass, PassCx, PassError, PassInfo, Stat};
use crate::pipeline::Pipeline;
use asplit_ir::graph::Graph;
use asplit_ir::print::{print, PrintOptions};
use asplit_ir::verify::verify;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How the manager runs a pipeline. The default verifies after every pass in debug builds
/// (tests included) and prints nothing.
#[derive(Clone, Debug)]
pub struct ManagerOptions {
    /// Verify after every pass.
    pub verify_each: bool,
    /// Print the IR after every pass.
    pub print_ir_after_all: bool,
    /// Print the IR after these passes (by name).
    pub print_ir_after: Vec<String>,
    /// Print the IR before these passes (by name).
    pub print_ir_before: Vec<String>,
    /// Write `00-input.air`, `01-<pass>.air`, … into this directory.
    pub dump_dir: Option<PathBuf>,
    /// How IR printouts and dumps print constants.
    pub print: PrintOptions,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        ManagerOptions {
            verify_each: cfg!(debug_assertions),
            print_ir_after_all: false,
            print_ir_after: Vec::new(),
            print_ir_before: Vec::new(),
            dump_dir: None,
            print: PrintOptions::default(),
        }
    }
}

impl ManagerOptions {
    /// Defaults for this build (the same as [`Default`]): verification on in debug builds.
    pub fn for_build() -> Self {
        ManagerOptions::default()
    }
}

/// What one pass run did.
#[derive(Clone, Debug)]
pub struct PassRecord {
    /// The pass.
    pub info: &'static PassInfo,
    /// Whether it changed the graph.
    pub changed: Changed,
    /// Wall time of the pass itself (verification excluded).
    pub time: Duration,
    /// Wall time of verifying after it (zero when not verifying).
    pub verify_time: Duration,
    /// Live nodes after the pass.
    pub nodes_after: usize,
    /// Its statistics.
    pub stats: BTreeMap<String, Stat>,
}

/// What a pipeline run did.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Live nodes before the first pass.
    pub nodes_before: usize,
    /// One record per pass, in order.
    pub passes: Vec<PassRecord>,
}

/// A pipeline with its passes built.
pub struct PassManager {
    passes: Vec<Box<dyn Pass>>,
    pipeline: String,
    opts: ManagerOptions,
}

impl PassManager {
    /// Builds every pass of `pipeline`. Names in `print_ir_after`/`print_ir_before` must be
    /// registered passes (checked here so a typo is not silently ignored).
    pub fn new(pipeline: &Pipeline, opts: ManagerOptions) -> Result<Self, PassError> {
        for name in opts.print_ir_after.iter().chain(&opts.print_ir_before) {
            if crate::registry::lookup(name).is_none() {
                let guess = crate::registry::suggest(name, crate::PASSES.iter().map(|p| p.name))
                    .map(|g| format!(" (did you mean `{g}`?)"))
                    .unwrap_or_default();
                return Err(PassError::failed(format!(
                    "--print-ir-after/--print-ir-before: unknown pass `{name}`{guess}; the \
                     passes are: {}",
                    crate::registry::names()
                )));
            }
        }
        let passes = pipeline.entries.iter().map(|e| e.build()).collect::<Result<_, _>>()?;
        Ok(PassManager { passes, pipeline: pipeline.to_string(), opts })
    }

    /// Runs every pass in order on `g`, writing IR printouts to `sink`. Without
    /// `verify_each`, the graph is still verified once at the end (when any pass ran).
    pub fn run(&self, g: &mut Graph, sink: &mut dyn Write) -> Result<RunReport, PassError> {
        let mut report = RunReport { nodes_before: g.order.len(), passes: Vec::new() };
        if let Some(dir) = &self.opts.dump_dir {
            std::fs::create_dir_all(dir)
                .map_err(|error| PassError::Dump { path: dir.clone(), error })?;
            self.dump(g, "00-input.air")?;
        }
        for (i, pass) in self.passes.iter().enumerate() {
            let info = pass.info();
            if self.opts.print_ir_before.iter().any(|p| p == info.name) {
                self.banner(sink, "Before", info, g)?;
            }
            let mut cx = PassCx::new();
            let start = Instant::now();
            let changed = pass.run(g, &mut cx).map_err(|source| PassError::InPass {
                pass: info.name.to_string(),
                source: Box::new(source),
            })?;
            let time = start.elapsed();
            let start = Instant::now();
            if self.opts.verify_each {
                verify(g).map_err(|violations| PassError::Verify {
                    pass: info.name.to_string(),
                    violations,
                })?;
            }
            let verify_time = start.elapsed();
            if self.opts.print_ir_after_all
                || self.opts.print_ir_after.iter().any(|p| p == info.name)
            {
                self.banner(sink, "After", info, g)?;
            }
            if self.opts.dump_dir.is_some() {
                self.dump(g, &format!("{:02}-{}.air", i + 1, info.name))?;
            }
            let stats = cx.take_stats();
            let nodes_after = g.order.len();
            report.passes.push(PassRecord { info, changed, time, verify_time, nodes_after, stats });
        }
        if !self.opts.verify_each && !self.passes.is_empty() {
            verify(g).map_err(|violations| PassError::VerifyAfterPipeline {
                pipeline: self.pipeline.clone(),
                violations,
            })?;
        }
        Ok(report)
    }

    fn banner(
        &self,
        sink: &mut dyn Write,
        when: &str,
        info: &PassInfo,
        g: &Graph,
    ) -> Result<(), PassError> {
        let text = format!(
            "// -----// IR Dump {when} {} ({}) //----- //\n{}\n",
            info.title(),
            info.name,
            print(g, &self.opts.print)
        );
        sink.write_all(text.as_bytes())
            .map_err(|error| PassError::Dump { path: PathBuf::from("<stderr>"), error })
    }

    fn dump(&self, g: &Graph, file: &str) -> Result<(), PassError> {
        let Some(dir) = &self.opts.dump_dir else { return Ok(()) };
        let path = dir.join(file);
        std::fs::write(&path, print(g, &self.opts.print))
            .map_err(|error| PassError::Dump { path, error })
    }
}

impl RunReport {
    /// The `--time-passes` table: one row per pass run, then the total.
    pub fn render_timing(&self) -> String {
        let total: Duration = self.passes.iter().map(|p| p.time + p.verify_time).sum();
        let secs = |d: Duration| d.as_secs_f64();
        let pct = |d: Duration| {
            if total.is_zero() {
                0.0
            } else {
                100.0 * secs(d) / secs(total)
            }
        };
        let mut out = String::from("===-------------------------------------------===\n");
        out.push_str("                 Pass execution timing report\n");
        out.push_str("===-------------------------------------------===\n");
        out.push_str(&format!("  Total: {:.4} s\n\n", secs(total)));
        out.push_str("   Wall (s)     %   Nodes  Pass\n");
        let mut verify = Duration::ZERO;
        for p in &self.passes {
            out.push_str(&format!(
                "  {:9.4} {:5.1}% {:7}  {}\n",
                secs(p.time),
                pct(p.time),
                p.nodes_after,
                p.info.name
            ));
            verify += p.verify_time;
        }
        if !verify.is_zero() {
            out.push_str(&format!(
                "  {:9.4} {:5.1}% {:>7}  (verify)\n",
                secs(verify),
                pct(verify),
                ""
            ));
        }
        out.push_str(&format!("  {:9.4} 100.0% {:>7}  Total\n", secs(total), ""));
        out
    }

    /// The `--pass-statistics` listing: every pass run with its statistics.
    pub fn render_statistics(&self) -> String {
        let mut out = String::from("===-------------------------------------------===\n");
        out.push_str("                    ... Pass statistics report ...\n");
        out.push_str("===-------------------------------------------===\n");
        for p in &self.passes {
            let changed = if p.changed.changed() { "changed" } else { "unchanged" };
            out.push_str(&format!("{} ({changed})\n", p.info.title()));
            for (k, v) in &p.stats {
                out.push_str(&format!("  ({k}) {v}\n"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{parse, PipelineEntry};

    const GRAPH: &str = "graph @g(%x: f32[2] \"x\") {\n  %a = identity(%x) : f32[2]\n  %b = relu(%a) : f32[2]\n  %c = sigmoid(%x) : f32[2]\n  return %b \"y\"\n}\n";

    fn graph() -> Graph {
        asplit_ir::parse::parse(GRAPH).expect("parses")
    }

    /// A pass that breaks the graph: it drops the first live node, leaving a dangling use.
    struct Breaker;
    static BREAKER: PassInfo = PassInfo {
        name: "dce",
        summary: "test only",
        options: &[],
        build: |_| Ok(Box::new(Breaker)),
    };
    impl Pass for Breaker {
        fn info(&self) -> &'static PassInfo {
            &BREAKER
        }
        fn run(&self, g: &mut Graph, _: &mut PassCx) -> Result<Changed, PassError> {
            g.order.remove(0);
            Ok(Changed::Yes)
        }
    }

    fn breaker_pipeline() -> Pipeline {
        Pipeline { entries: vec![PipelineEntry { info: &BREAKER, options: vec![] }] }
    }

    #[test]
    fn verify_each_names_the_pass() {
        let opts = ManagerOptions { verify_each: true, ..ManagerOptions::default() };
        let pm = PassManager::new(&breaker_pipeline(), opts).unwrap();
        let err = pm.run(&mut graph(), &mut std::io::sink()).unwrap_err();
        assert!(matches!(&err, PassError::Verify { pass, .. } if pass == "dce"), "{err}");
        assert!(err.to_string().starts_with("the IR does not verify after pass `dce`"), "{err}");
        // Without verify-each the breakage is caught at the end, without naming the pass.
        let opts = ManagerOptions { verify_each: false, ..ManagerOptions::default() };
        let pm = PassManager::new(&breaker_pipeline(), opts).unwrap();
        let err = pm.run(&mut graph(), &mut std::io::sink()).unwrap_err();
        assert!(
            matches!(&err, PassError::VerifyAfterPipeline { pipeline, .. } if pipeline == "dce")
        );
    }

    #[test]
    fn banners_before_and_after() {
        let opts = ManagerOptions {
            print_ir_before: vec!["dce".into()],
            print_ir_after: vec!["canonicalize".into()],
            ..ManagerOptions::default()
        };
        let pm = PassManager::new(&parse("canonicalize,dce").unwrap(), opts).unwrap();
        let mut out = Vec::new();
        let mut g = graph();
        let report = pm.run(&mut g, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        let banners: Vec<&str> = out.lines().filter(|l| l.starts_with("// -----//")).collect();
        assert_eq!(
            banners,
            [
                "// -----// IR Dump After Canonicalize (canonicalize) //----- //",
                "// -----// IR Dump Before Dce (dce) //----- //",
            ]
        );
        assert_eq!(out.matches("graph @g").count(), 2);
        assert!(!out.contains("identity"), "printed after canonicalize:\n{out}");
        assert_eq!(report.nodes_before, 3);
        assert_eq!(report.passes.iter().map(|p| p.nodes_after).collect::<Vec<_>>(), [1, 1]);
        assert_eq!(report.passes[0].stats.get("identity"), Some(&Stat::Count(1)));
        assert!(report.render_statistics().contains("Canonicalize (changed)\n  (erased) 1\n"));
        assert!(report.render_timing().contains("canonicalize\n"));
    }

    #[test]
    fn print_ir_after_all_prints_every_pass() {
        let opts = ManagerOptions { print_ir_after_all: true, ..ManagerOptions::default() };
        let pm = PassManager::new(&parse("dce,dce,canonicalize").unwrap(), opts).unwrap();
        let mut out = Vec::new();
        pm.run(&mut graph(), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.matches("// -----// IR Dump After").count(), 3, "{out}");
    }

    #[test]
    fn unknown_print_pass_names_are_rejected() {
        let opts = ManagerOptions {
            print_ir_after: vec!["canonicalise".into()],
            ..ManagerOptions::default()
        };
        let err = PassManager::new(&parse("dce").unwrap(), opts).err().expect("rejected");
        assert!(err.to_string().contains("did you mean `canonicalize`"), "{err}");
    }

    #[test]
    fn dump_dir_has_numbered_files() {
        let dir = std::env::temp_dir().join(format!("asplit-dump-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opts = ManagerOptions { dump_dir: Some(dir.clone()), ..ManagerOptions::default() };
        let pm = PassManager::new(&parse("canonicalize,dce").unwrap(), opts).unwrap();
        let mut g = graph();
        pm.run(&mut g, &mut std::io::sink()).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["00-input.air", "01-canonicalize.air", "02-dce.air"]);
        let input = std::fs::read_to_string(dir.join("00-input.air")).unwrap();
        assert_eq!(input, graph().to_string());
        let last = std::fs::read_to_string(dir.join("02-dce.air")).unwrap();
        assert_eq!(last, g.to_string());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
