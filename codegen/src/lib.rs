//! asplit-codegen: lowering of IR graphs to native code with inkwell (LLVM 19).
//!
//! [`lower`] holds the kernel generators (one file per op family) and the table from op to
//! generator; [`arena`] plans where values live; [`forward`] builds the module (kernels,
//! `forward`, model description); [`target`] optimises (`default<O3>`) and emits objects;
//! [`testing`] runs compiled graphs in-process for tests. Linking into an executable with the
//! runtime is the driver's job (asplitc). See docs/codegen.md.

pub mod arena;
pub mod error;
pub mod forward;
pub mod lower;
pub mod target;
pub mod testing;

pub use error::CodegenError;
pub use forward::{lower_graph, LowerOptions, Lowered, ProgramRole};
pub use inkwell;
pub use target::{Target, TargetSpec};
