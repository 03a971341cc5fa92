//! Auto-Split planning (DESIGN.md §7): the layer view of a fused graph, calibration,
//! device profiles and the latency model, the split search, bit allocation and the solution
//! list with its baselines.
//!
//! Each submodule is one step; this file only declares them. The planner reads a graph after
//! the default pipeline (fused layers) and never rewrites it: turning a chosen solution into
//! Split-phase IR is the `insert-boundary` pass.

pub mod bits;
pub mod calibrate;
pub mod latency;
pub mod layers;
pub mod mincut;
pub mod profile;
pub mod report;
pub mod search;
pub mod solution;
