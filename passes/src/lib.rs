//! asplit-passes: the pass manager, pipeline strings and graph passes of asplitc.
//!
//! A pass implements [`pass::Pass`] and declares a [`pass::PassInfo`] (name, summary,
//! options, constructor); [`registry::PASSES`] lists every pass once and drives pipeline
//! validation, `asplitc passes` and docs/passes.md. [`pipeline`] parses and prints pipeline
//! strings (`canonicalize,fold-constants{max-elements=1024},dce`); [`manager`] runs them with
//! verification, IR printing, dumps, timing and statistics. One file per pass.
//! Planning passes (calibrate, plan-split, insert-boundary) are later milestones.

pub mod canonicalize;
pub mod dce;
pub mod exact_conv;
pub mod fold_batchnorm;
pub mod fold_constants;
pub mod fuse;
pub mod insert_boundary;
pub mod manager;
pub mod options;
pub mod partition;
pub mod pass;
pub mod pipeline;
pub mod plan;
pub mod registry;
pub mod rewrite;

pub use manager::{ManagerOptions, PassManager, PassRecord, RunReport};
pub use options::{OptKind, OptValue, OptionDef, PassOptions};
pub use pass::{Changed, Pass, PassCx, PassError, PassInfo, Stat};
pub use pipeline::{parse as parse_pipeline, Pipeline, PipelineError, PipelineErrorKind};
pub use registry::{DEFAULT_PIPELINE, PASSES};
