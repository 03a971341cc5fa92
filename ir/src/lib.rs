//! asplit-ir: the dataflow IR of asplitc.
//!
//! Entities ([`graph::ValueId`], [`graph::NodeId`]) are `u32` indices into arenas; every value
//! has a static [`types::TensorType`]; ops are declared once in [`ops::OPS`], from which the
//! printer ([`print`]), parser ([`parse`]), verifier ([`verify`]) and reference interpreter
//! ([`interp`]) follow. This crate knows nothing of ONNX (the importer lives in the
//! `asplitc` package) nor of LLVM.

pub mod activation;
pub mod attr;
pub mod coded;
pub mod graph;
pub mod interp;
pub mod opdoc;
pub mod ops;
pub mod parse;
pub mod print;
pub mod quant;
pub mod shape;
pub mod tensor;
pub mod types;
pub mod verify;

pub use activation::Activation;
pub use attr::{Attr, AttrKind, Attrs};
pub use coded::{CastOptions, CodedType, RoundMode};
pub use graph::{Graph, NodeId, Phase, Placement, ValueDef, ValueId};
pub use ops::{OpDef, OpKind, OPS};
pub use tensor::{Tensor, TensorData};
pub use types::{DType, TensorType};
