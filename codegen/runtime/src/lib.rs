//! asplit-runtime: the code linked into every program asplitc compiles, and the pieces of it
//! the compiler shares.
//!
//! [`npy`], [`proto`] and [`tensor_file`] read and write tensor files (`.npy`, ONNX `.pb`;
//! also used by the importer and `asplitc run`); [`meta`] is the model description the
//! compiler embeds in each program (role, boundary, quantization) and the runtime reads back;
//! [`wire`] (with [`crc32c`]) is the edge-cloud frame format (docs/wire.md) and [`transport`]
//! moves frames over TCP (server, client, pacing); [`cli`] is a program's command line and
//! [`exec`] its modes (edge-only, edge over TCP or to a file, cloud server or file, `--bench`);
//! [`buffer`] holds its aligned buffers. With the `program` feature the crate also defines
//! the C `main` that calls the generated `forward`; asplitc builds it so, as a staticlib, and
//! embeds it (see docs/codegen.md).
//! Nothing here generates code or interprets models.

pub mod buffer;
pub mod cli;
pub mod crc32c;
pub mod exec;
pub mod meta;
pub mod npy;
pub mod proto;
pub mod tensor_file;
pub mod transport;
pub mod wire;

#[cfg(feature = "program")]
mod program;
