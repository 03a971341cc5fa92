//! asplit-runtime: the code linked into every program asplitc compiles, and the pieces of it
//! the compiler shares.
//!
//! [`npy`], [`proto`] and [`tensor_file`] read and write tensor files (`.npy`, ONNX `.pb`;
//! also used by the importer and `asplitc run`); [`meta`] is the model
//! description the compiler embeds in each program and the runtime reads back; [`cli`] is a
//! program's command line (arguments, input checks, outputs, `--bench` timing) and
//! [`buffer`] its aligned buffers. With the `program` feature the crate also defines the C
//! `main` that calls the generated `forward`; asplitc builds it so, as a staticlib, and
//! embeds it (see docs/codegen.md).
//! Nothing here generates code or interprets models.

pub mod buffer;
pub mod cli;
pub mod meta;
pub mod npy;
pub mod proto;
pub mod tensor_file;

#[cfg(feature = "program")]
mod program;
