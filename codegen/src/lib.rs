//! asplit-codegen: lowering of IR partitions to native code with inkwell (LLVM 19).
//!
//! Empty for now: the lowering, kernels and runtime are the subject of the codegen issue.
//! Nothing here is called yet, and asplitc offers no flag that would need it.
