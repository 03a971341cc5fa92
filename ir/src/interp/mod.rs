//! The reference interpreter: runs any IR graph on host tensors.
//!
//! It is the oracle of differential tests, the engine of calibration and `asplitc run`.
//! Simple and obviously correct beats clever: kernels are plain loops, except Conv, Gemm
//! and MatMul, which go through im2col and the `matrixmultiply` GEMM.

mod boundary;
mod common;
mod conv;
mod elementwise;
mod epilogue;
pub mod kernel;
mod matmul;
mod movement;
mod norm;
mod pool;
mod quant;
mod reduce;
mod resize;
mod softmax;

pub use resize::{resize_taps, AxisTaps};

use crate::attr::{AttrError, Attrs};
use crate::graph::{Graph, ValueId};
use crate::ops::OpKind;
use crate::tensor::Tensor;
use crate::types::TensorType;
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;

/// What a kernel sees.
pub struct EvalCx<'a> {
    /// The op being run.
    pub op: OpKind,
    /// Operand values, in order.
    pub inputs: &'a [&'a Tensor],
    /// The node's attributes.
    pub attrs: &'a Attrs,
    /// Result types, as the shape rules computed them.
    pub outputs: &'a [TensorType],
}

/// Interpreter errors.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum InterpError {
    /// An attribute is missing or of the wrong kind.
    #[error(transparent)]
    Attr(#[from] AttrError),
    /// The kernel does not handle this dtype or attribute value.
    #[error("`{op}`: {what} is not supported by the interpreter")]
    Unsupported {
        /// The op.
        op: OpKind,
        /// What is unsupported.
        what: String,
    },
    /// Operand values are inconsistent.
    #[error("`{op}`: {msg}")]
    Invalid {
        /// The op.
        op: OpKind,
        /// What is wrong.
        msg: String,
    },
}

/// Runs one op on operand values; `outputs` are the result types from the shape rule.
/// Data-movement ops on coded dtypes (i4, f8e4m3fn, …) run on the codes as `u8`.
pub fn eval_node(
    op: OpKind,
    attrs: &Attrs,
    inputs: &[&Tensor],
    outputs: &[TensorType],
) -> Result<Vec<Tensor>, InterpError> {
    let cx = EvalCx { op, inputs, attrs, outputs };
    let kernel = op.def().eval;
    let results = if moves_elements(op) && common::touches_codes(&cx) {
        let value_attr = (op == OpKind::Pad).then_some("value");
        common::via_codes(&cx, value_attr, kernel)?
    } else {
        kernel(&cx)?
    };
    check_results(op, &results, outputs)?;
    Ok(results)
}

/// Ops whose kernels only move, copy or select elements, so that they work on any dtype's
/// codes (pad's `value` is converted to a code first).
fn moves_elements(op: OpKind) -> bool {
    matches!(
        op,
        OpKind::Concat
            | OpKind::Split
            | OpKind::Slice
            | OpKind::Gather
            | OpKind::Reshape
            | OpKind::Transpose
            | OpKind::Expand
            | OpKind::Pad
            | OpKind::Where
    )
}

fn check_results(op: OpKind, got: &[Tensor], want: &[TensorType]) -> Result<(), InterpError> {
    let same = got.len() == want.len() && got.iter().zip(want).all(|(t, w)| &t.ty() == w);
    if same {
        return Ok(());
    }
    let got: Vec<String> = got.iter().map(|t| t.ty().to_string()).collect();
    let want: Vec<String> = want.iter().map(|t| t.to_string()).collect();
    Err(InterpError::Invalid {
        op,
        msg: format!(
            "kernel produced [{}], the shape rule says [{}]",
            got.join(", "),
            want.join(", ")
        ),
    })
}

/// Errors of a whole-graph run.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RunError {
    /// The number of inputs supplied differs from the graph's.
    #[error("the model has {expected} input(s), {got} were given")]
    InputCount {
        /// Graph inputs.
        expected: usize,
        /// Tensors supplied.
        got: usize,
    },
    /// An input tensor has the wrong type.
    #[error("input {index} (`{name}`) should be {expected}, got {got}")]
    InputType {
        /// Position.
        index: usize,
        /// Source name of the input, or its position.
        name: String,
        /// Declared type.
        expected: TensorType,
        /// Supplied type.
        got: TensorType,
    },
    /// A value is read before any node computed it (the graph is not in topological order,
    /// or was not verified).
    #[error("value {value} is used{} before it is computed", by_node(*position))]
    Unbound {
        /// The value (`%n`).
        value: String,
        /// Position of the reading node; `None` for a graph output.
        position: Option<usize>,
    },
    /// A node failed.
    #[error("node {position} ({op}{name}): {source}")]
    Node {
        /// Position in the graph's order.
        position: usize,
        /// The op.
        op: OpKind,
        /// ` "name"` when the node has a source name, else empty.
        name: String,
        /// What failed.
        source: InterpError,
    },
}

/// Runs a whole graph on `inputs` (bound to graph inputs in order); returns the graph
/// outputs in order. Intermediate tensors are dropped after their last use.
pub fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, RunError> {
    run_observed(g, inputs, |_, _| {})
}

/// Like [`run`], and calls `observe(value, tensor)` for every value as it is computed
/// (graph inputs first). Calibration uses this to record ranges.
pub fn run_observed(
    g: &Graph,
    inputs: &[Tensor],
    mut observe: impl FnMut(ValueId, &Tensor),
) -> Result<Vec<Tensor>, RunError> {
    check_inputs(g, inputs)?;
    let last_use = last_uses(g);
    let mut env: HashMap<ValueId, Arc<Tensor>> = HashMap::new();
    for (&v, t) in g.inputs.iter().zip(inputs) {
        observe(v, t);
        env.insert(v, Arc::new(t.clone()));
    }
    for (pos, &n) in g.order.iter().enumerate() {
        let node = &g.nodes[n];
        let args: Vec<Arc<Tensor>> = node
            .inputs
            .iter()
            .map(|v| env.get(v).cloned().ok_or_else(|| unbound(*v, Some(pos))))
            .collect::<Result<_, _>>()?;
        let refs: Vec<&Tensor> = args.iter().map(|a| a.as_ref()).collect();
        let tys: Vec<TensorType> = node.outputs.iter().map(|&v| g.values[v].ty.clone()).collect();
        let results =
            eval_node(node.op, &node.attrs, &refs, &tys).map_err(|source| RunError::Node {
                position: pos,
                op: node.op,
                name: node.name.as_ref().map(|s| format!(" \"{s}\"")).unwrap_or_default(),
                source,
            })?;
        drop(refs);
        drop(args);
        for (&v, t) in node.outputs.iter().zip(results) {
            observe(v, &t);
            env.insert(v, Arc::new(t));
        }
        for v in &node.inputs {
            if last_use.get(v) == Some(&pos) {
                env.remove(v);
            }
        }
    }
    g.outputs
        .iter()
        .map(|v| env.get(v).map(|t| t.as_ref().clone()).ok_or_else(|| unbound(*v, None)))
        .collect()
}

fn by_node(position: Option<usize>) -> String {
    position.map(|p| format!(" by node {p}")).unwrap_or_default()
}

fn unbound(value: ValueId, position: Option<usize>) -> RunError {
    RunError::Unbound { value: value.to_string(), position }
}

fn check_inputs(g: &Graph, inputs: &[Tensor]) -> Result<(), RunError> {
    if inputs.len() != g.inputs.len() {
        return Err(RunError::InputCount { expected: g.inputs.len(), got: inputs.len() });
    }
    for (index, (&v, t)) in g.inputs.iter().zip(inputs).enumerate() {
        let expected = &g.values[v].ty;
        if &t.ty() != expected {
            let name = g.values[v].name.clone().unwrap_or_else(|| format!("#{index}"));
            return Err(RunError::InputType {
                index,
                name,
                expected: expected.clone(),
                got: t.ty(),
            });
        }
    }
    Ok(())
}

/// Position in `order` of the last node reading each value; graph outputs are never freed.
fn last_uses(g: &Graph) -> HashMap<ValueId, usize> {
    let mut last = HashMap::new();
    for (pos, &n) in g.order.iter().enumerate() {
        for &v in &g.nodes[n].inputs {
            last.insert(v, pos);
        }
    }
    for v in &g.outputs {
        last.remove(v);
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::Attrs;
    use crate::types::DType;

    /// `y = relu(x) + [1, 1]`.
    fn small_graph() -> Graph {
        let mut g = Graph::new("g");
        let ty = TensorType::new(DType::F32, [2]);
        let x = g.add_input(Some("x".into()), ty.clone());
        let one = g.add_const(Tensor::from_f32([2], vec![1.0, 1.0]).expect("2 elements"));
        let r = g.add_node_typed(OpKind::Relu, Attrs::new(), vec![x], vec![ty.clone()]);
        let r = g.nodes[r].outputs[0];
        let y = g.add_node_typed(OpKind::Add, Attrs::new(), vec![r, one], vec![ty]);
        g.outputs.push(g.nodes[y].outputs[0]);
        g
    }

    #[test]
    fn runs_a_graph_and_observes_every_value() {
        let g = small_graph();
        let x = Tensor::from_f32([2], vec![-3.0, 2.0]).expect("2 elements");
        let mut seen = 0;
        let out = run_observed(&g, &[x], |_, _| seen += 1).expect("runs");
        assert_eq!(out[0].as_f32(), Some(&[1.0f32, 3.0][..]));
        assert_eq!(seen, 4, "input, const, relu and add");
    }

    #[test]
    fn input_and_order_errors_are_reported() {
        let mut g = small_graph();
        let bad = Tensor::from_f32([3], vec![0.0; 3]).expect("3 elements");
        assert!(matches!(run(&g, &[bad]), Err(RunError::InputType { .. })));
        assert!(matches!(run(&g, &[]), Err(RunError::InputCount { expected: 1, got: 0 })));
        g.order.reverse();
        let x = Tensor::from_f32([2], vec![0.0; 2]).expect("2 elements");
        let err = run(&g, &[x]).unwrap_err();
        assert!(matches!(err, RunError::Unbound { position: Some(0), .. }), "{err}");
    }
}
