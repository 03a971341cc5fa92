//! Reading and writing NumPy `.npy` files: re-exported from the runtime crate
//! (`asplit_runtime::npy`), which the compiled programs link, so `asplitc run` and the
//! compiled executables read tensor files with the same code.

pub use asplit_runtime::npy::*;
