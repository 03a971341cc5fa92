//! asplitc: the driver, the ONNX frontend and the command line of the asplitc compiler.
//!
//! [`cli`] parses arguments and renders errors; [`driver`] does the work; [`onnx`] imports
//! ONNX models into the IR of `asplit-ir`; [`tensor_io`] and [`npy`] read and write tensor
//! files.

pub mod cli;
pub mod driver;
pub mod error;
pub mod native;
pub mod npy;
pub mod onnx;
pub mod plan_cmd;
pub mod plan_flags;
pub mod profile_cmd;
pub mod programs;
pub mod samples;
pub mod tensor_io;
pub mod units;
pub mod validate;
