//! The per-node context op importers work through: operands, constant parameters,
//! attributes, error constructors, and emitting IR nodes (with import-time folding).
//!
//! [`NodeCx::emit`] types a new node with the op's shape rule (a failure becomes
//! [`ImportError::Shape`] naming the ONNX node). When every operand is a constant and the
//! results are integer/bool or small ([`FOLD_MAX_ELEMS`]), the node is evaluated with the
//! reference interpreter and replaced by `const`s: this is what folds
//! `Shape→Gather→Concat→Reshape` chains so that Reshape sees a constant shape. Graph inputs
//! whose run-time value the caller supplied count as constants for parameters and for
//! integer-valued folding.

use super::attrs::NodeAttrs;
use super::error::{ImportError, NodeLoc};
use super::model::{Importer, MAX_CONST_BYTES, MAX_TOTAL_CONST_BYTES};
use asplit_ir::interp::eval_node;
use asplit_ir::shape::ShapeCx;
use asplit_ir::{Attrs, DType, OpKind, Tensor, TensorType, ValueId};
use onnx_protobuf::NodeProto;
use std::sync::Arc;

/// Float results up to this many elements are folded when all operands are constant.
pub(crate) const FOLD_MAX_ELEMS: usize = 4096;
/// Integer and bool results up to this many elements are folded (shape arithmetic).
pub(crate) const FOLD_MAX_INT_ELEMS: usize = 1 << 20;

/// What an op importer sees of its node.
pub(crate) struct NodeCx<'i, 'm> {
    imp: &'i mut Importer<'m>,
    /// The ONNX node.
    pub(crate) node: &'m NodeProto,
    /// Where the node is, for errors.
    pub(crate) loc: NodeLoc,
    /// The node's attributes.
    pub(crate) attrs: NodeAttrs<'m>,
    /// Operands by position; `None` for an omitted optional input (`""`).
    inputs: Vec<Option<ValueId>>,
}

impl<'i, 'm> NodeCx<'i, 'm> {
    /// A context for `node`, whose operand names are already resolved.
    pub(crate) fn new(
        imp: &'i mut Importer<'m>,
        node: &'m NodeProto,
        loc: NodeLoc,
        attrs: NodeAttrs<'m>,
        inputs: Vec<Option<ValueId>>,
    ) -> Self {
        NodeCx { imp, node, loc, attrs, inputs }
    }

    /// The model's ai.onnx opset.
    pub(crate) fn opset(&self) -> i64 {
        self.imp.opset
    }

    // ----- errors -------------------------------------------------------------------

    /// [`ImportError::InvalidNode`] for this node.
    pub(crate) fn invalid(&self, message: impl Into<String>) -> ImportError {
        ImportError::InvalidNode { node: self.loc.clone(), message: message.into() }
    }

    /// [`ImportError::Unsupported`] for this node.
    pub(crate) fn unsupported(&self, what: impl Into<String>) -> ImportError {
        ImportError::Unsupported { node: self.loc.clone(), what: what.into() }
    }

    /// [`ImportError::Attribute`] for this node.
    pub(crate) fn attr_err(&self, attr: &str, message: impl Into<String>) -> ImportError {
        self.attrs.err(attr, message)
    }

    // ----- operands -----------------------------------------------------------------

    /// Operand `i`, if present.
    pub(crate) fn opt_input(&self, i: usize) -> Option<ValueId> {
        self.inputs.get(i).copied().flatten()
    }

    /// Required operand `i` (called `role` in the ONNX spec).
    pub(crate) fn input(&self, i: usize, role: &str) -> Result<ValueId, ImportError> {
        self.opt_input(i)
            .ok_or_else(|| self.invalid(format!("required input #{i} (`{role}`) is missing")))
    }

    /// Every operand, all required (variadic ops).
    pub(crate) fn all_inputs(&self, role: &str) -> Result<Vec<ValueId>, ImportError> {
        if self.inputs.is_empty() {
            return Err(self.invalid(format!("needs at least one input (`{role}`)")));
        }
        (0..self.inputs.len()).map(|i| self.input(i, role)).collect()
    }

    /// The type of a value.
    pub(crate) fn ty(&self, v: ValueId) -> &TensorType {
        self.imp.graph.ty(v)
    }

    /// The static value of `v`: a constant's tensor, or a graph input's known value.
    pub(crate) fn const_of(&self, v: ValueId) -> Option<Arc<Tensor>> {
        let g = &self.imp.graph;
        g.const_value(v).cloned().or_else(|| self.imp.known.get(&v).cloned())
    }

    /// Operand `i` as a constant; `None` when omitted; an error when computed at run time.
    pub(crate) fn const_input(
        &self,
        i: usize,
        role: &str,
    ) -> Result<Option<Arc<Tensor>>, ImportError> {
        let Some(v) = self.opt_input(i) else { return Ok(None) };
        self.const_of(v)
            .map(Some)
            .ok_or_else(|| ImportError::NotConstant { node: self.loc.clone(), role: role.into() })
    }

    /// Operand `i` as constant integers (any integer dtype).
    pub(crate) fn const_ints(&self, i: usize, role: &str) -> Result<Option<Vec<i64>>, ImportError> {
        let Some(t) = self.const_input(i, role)? else { return Ok(None) };
        if !t.dtype().is_int() {
            return Err(
                self.invalid(format!("input `{role}` should hold integers, found {}", t.ty()))
            );
        }
        Ok(Some(t.data().to_i64_vec()))
    }

    /// Operand `i` as constant floats (any float dtype).
    pub(crate) fn const_floats(
        &self,
        i: usize,
        role: &str,
    ) -> Result<Option<Vec<f32>>, ImportError> {
        let Some(t) = self.const_input(i, role)? else { return Ok(None) };
        if !t.dtype().is_float() {
            return Err(
                self.invalid(format!("input `{role}` should hold floats, found {}", t.ty()))
            );
        }
        Ok(Some(t.data().to_f64_vec().into_iter().map(|x| x as f32).collect()))
    }

    /// Operand `i` as a constant scalar (one element of any dtype), as f64.
    pub(crate) fn const_scalar(&self, i: usize, role: &str) -> Result<Option<f64>, ImportError> {
        let Some(t) = self.const_input(i, role)? else { return Ok(None) };
        match t.data().to_f64_vec().as_slice() {
            [x] => Ok(Some(*x)),
            _ => Err(self.invalid(format!("input `{role}` should be a scalar, found {}", t.ty()))),
        }
    }

    /// True when output `i` is named and read by a later node or a graph output.
    pub(crate) fn output_used(&self, i: usize) -> bool {
        self.node.output.get(i).is_some_and(|n| !n.is_empty() && self.imp.is_used(n))
    }

    /// Number of declared outputs (trailing empty names included).
    pub(crate) fn num_outputs(&self) -> usize {
        self.node.output.len()
    }

    // ----- axes ---------------------------------------------------------------------

    /// Normalizes an axis from attribute `attr` against `rank` (negative counts from the end).
    pub(crate) fn attr_axis(
        &self,
        attr: &str,
        axis: i64,
        rank: usize,
    ) -> Result<usize, ImportError> {
        normalize_axis(axis, rank).ok_or_else(|| {
            self.attr_err(attr, format!("axis {axis} is out of range for rank {rank}"))
        })
    }

    /// Normalizes axes given as input `role` against `rank`; duplicates are errors.
    pub(crate) fn input_axes(
        &self,
        role: &str,
        axes: &[i64],
        rank: usize,
    ) -> Result<Vec<usize>, ImportError> {
        let out = axes
            .iter()
            .map(|&a| {
                normalize_axis(a, rank).ok_or_else(|| {
                    self.invalid(format!("`{role}` entry {a} is out of range for rank {rank}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if has_duplicates(&out) {
            return Err(self.invalid(format!("`{role}` {axes:?} repeats an axis")));
        }
        Ok(out)
    }

    // ----- emitting -----------------------------------------------------------------

    /// Appends one IR node with a single result (folding it if it is constant and cheap).
    pub(crate) fn emit(
        &mut self,
        op: OpKind,
        attrs: Attrs,
        inputs: Vec<ValueId>,
    ) -> Result<ValueId, ImportError> {
        let out = self.emit_n(op, attrs, inputs)?;
        match out.as_slice() {
            [v] => Ok(*v),
            _ => Err(self.invalid(format!("internal: `{op}` produced {} results", out.len()))),
        }
    }

    /// Appends one IR node (attributes the importer left out get the op table's default);
    /// returns its results.
    pub(crate) fn emit_n(
        &mut self,
        op: OpKind,
        attrs: Attrs,
        inputs: Vec<ValueId>,
    ) -> Result<Vec<ValueId>, ImportError> {
        let mut attrs = attrs;
        for d in op.def().attrs {
            if let (None, Some(v)) = (attrs.get(d.name), d.default.value()) {
                attrs.set(d.name, v);
            }
        }
        let tys: Vec<TensorType> = inputs.iter().map(|&v| self.ty(v).clone()).collect();
        let out = (op.def().shape)(&ShapeCx { op, inputs: &tys, attrs: &attrs })
            .map_err(|error| ImportError::Shape { node: self.loc.clone(), error })?;
        if let Some(folded) = self.try_fold(op, &attrs, &inputs, &out) {
            return Ok(folded);
        }
        let g = &mut self.imp.graph;
        let n = g.add_node_typed(op, attrs, inputs, out);
        g.nodes[n].name = source_name(self.node);
        Ok(g.nodes[n].outputs.clone())
    }

    /// Evaluates the node now when all operands are constant and the results are cheap.
    fn try_fold(
        &mut self,
        op: OpKind,
        attrs: &Attrs,
        inputs: &[ValueId],
        out: &[TensorType],
    ) -> Option<Vec<ValueId>> {
        if inputs.is_empty() || !out.iter().all(foldable) {
            return None;
        }
        // Known input values fold only into integer/bool results (shape arithmetic); float
        // computations on graph inputs stay in the graph.
        let ints_only = out.iter().all(|t| t.dtype.is_int() || t.dtype == DType::Bool);
        let value = |v: ValueId| {
            if ints_only {
                self.const_of(v)
            } else {
                self.imp.graph.const_value(v).cloned()
            }
        };
        let consts: Vec<Arc<Tensor>> = inputs.iter().map(|&v| value(v)).collect::<Option<_>>()?;
        let refs: Vec<&Tensor> = consts.iter().map(Arc::as_ref).collect();
        // A kernel that cannot evaluate this node leaves it for run time.
        let results = eval_node(op, attrs, &refs, out).ok()?;
        Some(results.into_iter().map(|t| self.add_const(t)).collect())
    }

    /// Appends a `const` (named after the ONNX node) holding `t`.
    pub(crate) fn add_const(&mut self, t: Tensor) -> ValueId {
        let g = &mut self.imp.graph;
        let v = g.add_const(t);
        if let Some(n) = g.producer(v) {
            g.nodes[n].name = source_name(self.node);
        }
        v
    }

    /// Reserves room for a constant of type `ty` the importer is about to build (splats,
    /// masks): errors when it or the running total exceeds the limits.
    pub(crate) fn reserve_const(&mut self, ty: &TensorType, what: &str) -> Result<(), ImportError> {
        let numel = ty.shape.iter().try_fold(1u128, |a, &d| a.checked_mul(d as u128));
        let bytes = numel.and_then(|n| n.checked_mul(ty.dtype.size_bytes() as u128));
        let bytes = bytes.unwrap_or(u128::MAX);
        let total = self.imp.materialized.saturating_add(bytes);
        let what = format!("{what} of {} ({ty})", self.loc);
        if bytes > MAX_CONST_BYTES {
            return Err(ImportError::TooLarge { what, bytes, limit: MAX_CONST_BYTES as u64 });
        }
        if total > MAX_TOTAL_CONST_BYTES {
            let what = format!("{what}, with the constants before it,");
            return Err(ImportError::TooLarge {
                what,
                bytes: total,
                limit: MAX_TOTAL_CONST_BYTES as u64,
            });
        }
        self.imp.materialized = total;
        Ok(())
    }

    /// Where external data lives (for Constant tensors).
    pub(crate) fn base_dir(&self) -> Option<&std::path::Path> {
        self.imp.base_dir.as_deref()
    }
}

fn source_name(node: &NodeProto) -> Option<String> {
    (!node.name.is_empty()).then(|| node.name.clone())
}

fn foldable(t: &TensorType) -> bool {
    let n = t.numel();
    n <= FOLD_MAX_ELEMS || ((t.dtype.is_int() || t.dtype == DType::Bool) && n <= FOLD_MAX_INT_ELEMS)
}

/// `axis` in `[-rank, rank)` → `[0, rank)`.
pub(crate) fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = i64::try_from(rank).ok()?;
    let a = if axis < 0 { axis + r } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

/// True when some element repeats.
pub(crate) fn has_duplicates(v: &[usize]) -> bool {
    let mut s = v.to_vec();
    s.sort_unstable();
    s.windows(2).any(|w| w[0] == w[1])
}
