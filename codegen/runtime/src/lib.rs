//! asplit-runtime: the code linked into every program asplitc compiles, and the pieces of it
//! the compiler shares.
//!
//! [`npy`] reads and writes `.npy` files (also used by `asplitc run`); [`meta`] is the model
//! description the compiler embeds in each program and the runtime reads back. The program's
//! C `main`, argument parsing and timing come with the staticlib build (see docs/codegen.md).
//! Nothing here generates code or interprets models.

pub mod meta;
pub mod npy;
