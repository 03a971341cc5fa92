//! asplit-passes: the pass manager and the graph passes of asplitc.
//!
//! Empty for now: the pass trait, registry, pipeline strings and passes (canonicalize,
//! fold-constants, fold-batchnorm, fuse, calibrate, plan-split, insert-boundary) are the
//! subject of later issues (see docs/passes.md once it exists). Nothing here is called yet.
