//! The `asplitc` binary: a thin wrapper over [`asplitc::cli`].
fn main() {}
