//! The `Pass` trait and what a pass sees while it runs: [`PassCx`] (statistics) and
//! [`PassError`].
//!
//! A pass is a value built from its options by the constructor in its [`PassInfo`] (see
//! [`crate::registry`]); `run` rewrites the graph in place and says whether anything changed.
//! Passes do not verify, time, print or dump: the pass manager ([`crate::manager`]) does
//! that around every pass. Nothing here knows the individual passes.

use crate::options::{OptionDef, PassOptions};
use asplit_ir::graph::Graph;
use asplit_ir::interp::InterpError;
use asplit_ir::shape::ShapeError;
use asplit_ir::verify::Violation;
use miette::Diagnostic;
use std::collections::BTreeMap;
use thiserror::Error;

/// Whether a pass changed the graph.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Changed {
    /// The graph was rewritten.
    Yes,
    /// The graph is exactly as before.
    No,
}

impl Changed {
    /// `Yes` when `b`.
    pub fn from_bool(b: bool) -> Changed {
        if b {
            Changed::Yes
        } else {
            Changed::No
        }
    }

    /// True for `Yes`.
    pub fn changed(self) -> bool {
        self == Changed::Yes
    }
}

/// Builds a pass from its validated options (defaults already filled in).
pub type BuildFn = fn(&PassOptions) -> Result<Box<dyn Pass>, PassError>;

/// Everything the registry knows about one pass. Each pass file declares one `INFO`
/// constant; [`crate::registry::PASSES`] lists them.
#[derive(Debug)]
pub struct PassInfo {
    /// kebab-case name used in pipeline strings (`fold-constants`).
    pub name: &'static str,
    /// One-line summary for `asplitc passes` and docs/passes.md.
    pub summary: &'static str,
    /// Options accepted inside `{…}`, with kinds and defaults.
    pub options: &'static [OptionDef],
    /// Constructor.
    pub build: BuildFn,
}

impl PassInfo {
    /// The CamelCase title used in IR dump banners (`fold-constants` → `FoldConstants`).
    pub fn title(&self) -> String {
        self.name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                    None => String::new(),
                }
            })
            .collect()
    }

    /// The declaration of option `name`.
    pub fn option(&self, name: &str) -> Option<&'static OptionDef> {
        self.options.iter().find(|o| o.name == name)
    }
}

impl PartialEq for PassInfo {
    /// Passes are identified by name.
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A graph transformation.
pub trait Pass {
    /// The registry entry of this pass.
    fn info(&self) -> &'static PassInfo;

    /// Rewrites `g` in place. On error the graph may be partly rewritten; the manager stops.
    fn run(&self, g: &mut Graph, cx: &mut PassCx) -> Result<Changed, PassError>;

    /// The pass's pipeline name.
    fn name(&self) -> &'static str {
        self.info().name
    }

    /// The pass's one-line summary.
    fn summary(&self) -> &'static str {
        self.info().summary
    }
}

/// One statistic value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stat {
    /// A counter (summed by [`PassCx::stat`]).
    Count(i64),
    /// A text value (the last [`PassCx::note`] wins), e.g. an egg stop reason.
    Text(String),
}

impl std::fmt::Display for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stat::Count(n) => write!(f, "{n}"),
            Stat::Text(s) => f.write_str(s),
        }
    }
}

/// What a pass sees besides the graph: a statistics sink. One per pass run.
#[derive(Clone, Debug, Default)]
pub struct PassCx {
    stats: BTreeMap<String, Stat>,
}

impl PassCx {
    /// A fresh context.
    pub fn new() -> Self {
        PassCx::default()
    }

    /// Adds `n` to counter `key` (created at 0). A key holding text is overwritten.
    pub fn stat(&mut self, key: &str, n: i64) {
        let entry = self.stats.entry(key.to_string()).or_insert(Stat::Count(0));
        match entry {
            Stat::Count(c) => *c += n,
            Stat::Text(_) => *entry = Stat::Count(n),
        }
    }

    /// Sets text statistic `key` to `value`.
    pub fn note(&mut self, key: &str, value: impl Into<String>) {
        self.stats.insert(key.to_string(), Stat::Text(value.into()));
    }

    /// The statistics recorded so far, by key.
    pub fn stats(&self) -> &BTreeMap<String, Stat> {
        &self.stats
    }

    /// The counter `key`, 0 when absent or text.
    pub fn count(&self, key: &str) -> i64 {
        match self.stats.get(key) {
            Some(Stat::Count(n)) => *n,
            _ => 0,
        }
    }

    /// Takes the statistics out, leaving the context empty.
    pub fn take_stats(&mut self) -> BTreeMap<String, Stat> {
        std::mem::take(&mut self.stats)
    }
}

/// Errors of building or running passes.
#[derive(Debug, Error, Diagnostic)]
pub enum PassError {
    /// A pass met a graph it cannot handle.
    #[error("{message}")]
    #[diagnostic(code(asplit::pass::failed))]
    Failed {
        /// What went wrong, naming the node or value.
        message: String,
    },

    /// An option value is well typed but out of range.
    #[error("option `{option}` of pass `{pass}`: {message}")]
    #[diagnostic(code(asplit::pass::option))]
    BadOption {
        /// The pass.
        pass: &'static str,
        /// The option.
        option: &'static str,
        /// What is wrong.
        message: String,
    },

    /// A shape rule rejected a rewritten node.
    #[error(transparent)]
    Shape(#[from] ShapeError),

    /// The interpreter failed while a pass evaluated a node.
    #[error(transparent)]
    Interp(#[from] InterpError),

    /// The graph does not verify after a pass.
    #[error("the IR does not verify after pass `{pass}`:\n{}", list(violations))]
    #[diagnostic(
        code(asplit::pass::verify),
        help("this is a bug in the pass; rerun with --print-ir-after={pass} to see its output")
    )]
    Verify {
        /// The pass that ran last.
        pass: String,
        /// Every violation.
        violations: Vec<Violation>,
    },

    /// The graph does not verify at the end of a pipeline run without `--verify-each`.
    #[error("the IR does not verify after the pipeline `{pipeline}`:\n{}", list(violations))]
    #[diagnostic(
        code(asplit::pass::verify),
        help("a pass broke the IR; rerun with --verify-each to find which")
    )]
    VerifyAfterPipeline {
        /// The pipeline that ran.
        pipeline: String,
        /// Every violation.
        violations: Vec<Violation>,
    },

    /// A pass failed; the manager adds the pass name.
    #[error("pass `{pass}` failed: {source}")]
    #[diagnostic(code(asplit::pass::in_pass))]
    InPass {
        /// The failing pass.
        pass: String,
        /// Its error.
        source: Box<PassError>,
    },

    /// An IR dump could not be written.
    #[error("cannot write IR dump `{path}`: {error}")]
    #[diagnostic(code(asplit::pass::dump))]
    Dump {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
}

impl PassError {
    /// A [`PassError::Failed`] with this message.
    pub fn failed(message: impl Into<String>) -> Self {
        PassError::Failed { message: message.into() }
    }
}

fn list(violations: &[Violation]) -> String {
    violations.iter().map(|v| format!("  {v}")).collect::<Vec<_>>().join("\n")
}
