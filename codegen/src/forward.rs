//! Builds the LLVM module of a graph: one kernel per live node (through the generator
//! table), the exported `forward(ptr inputs, ptr outputs, ptr scratch)` that calls them in
//! order with the buffers the arena plan assigns, and the exported model description
//! `asplit_model_info` (a NUL-terminated text, see `asplit_runtime::meta`).
//!
//! `inputs` and `outputs` are arrays of pointers to the graph's input and output buffers
//! (dense, row-major, at their static types); `scratch` points to at least
//! `ArenaPlan::size` bytes aligned to 64. This file neither optimises nor emits objects
//! (see `target`).

use crate::arena::{self, ArenaPlan, Loc};
use crate::error::CodegenError;
use crate::lower::{self, buffer_operands, KernelCx};
use asplit_ir::{Graph, NodeId, OpKind, ValueId};
use asplit_runtime::meta::{fnv1a_128, BoundaryTensor, ModelInfo, Role, TensorInfo};
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, PointerValue};
use std::collections::HashMap;

/// Name of the exported entry point.
pub const FORWARD: &str = "forward";
/// Name of the exported model description.
pub const MODEL_INFO: &str = "asplit_model_info";

/// A lowered graph: the module, its arena plan and its description.
pub struct Lowered<'ctx> {
    /// The LLVM module (not yet optimised).
    pub module: Module<'ctx>,
    /// Where every value lives.
    pub plan: ArenaPlan,
    /// What the program embeds about the model.
    pub info: ModelInfo,
}

/// Options of lowering that change the code.
#[derive(Clone, Debug)]
pub struct LowerOptions {
    /// f32 lanes of the target's vectors.
    pub lanes: u32,
    /// Extra bytes folded into the fingerprint (target, options).
    pub fingerprint_salt: String,
    /// The program's part in a split deployment; `None`: a whole-model edge program.
    pub program: Option<ProgramRole>,
}

impl Default for LowerOptions {
    fn default() -> Self {
        LowerOptions { lanes: 8, fingerprint_salt: String::new(), program: None }
    }
}

/// What a partition's program is in a split deployment: the description fields that the
/// graph alone does not give (docs/wire.md). Edge and cloud of one compilation share the
/// fingerprint, so programs of different compilations refuse each other.
#[derive(Clone, Debug)]
pub struct ProgramRole {
    /// Edge or cloud.
    pub role: Role,
    /// Fingerprint of the whole split plan (replaces the graph's own).
    pub fingerprint: u128,
    /// The model's outputs (what the edge writes after the cloud answers).
    pub model_outputs: Vec<TensorInfo>,
    /// The wire tensors, in slot order.
    pub boundary: Vec<BoundaryTensor>,
    /// Human description of the split.
    pub split: String,
    /// Bytes of the edge program's (packed) weights.
    pub edge_weight_bytes: u64,
}

/// Called after each kernel is generated with (done, total): progress reporting.
pub type Progress<'p> = &'p mut dyn FnMut(usize, usize);

/// Lowers `g` (verified, `order` topological) into a new module of `ctx`.
pub fn lower_graph<'ctx>(
    ctx: &'ctx Context,
    g: &Graph,
    opts: &LowerOptions,
    progress: Progress<'_>,
) -> Result<Lowered<'ctx>, CodegenError> {
    let module = ctx.create_module(if g.name.is_empty() { "model" } else { &g.name });
    let plan = arena::plan(g);
    let info = model_info(g, &plan, opts);
    let kernels = {
        let mut cx = KernelCx::new(ctx, &module, opts.lanes);
        let kernels = lower_kernels(&mut cx, g, &plan, progress)?;
        build_forward(&mut cx, g, &plan, &kernels)?;
        emit_info(&mut cx, &info);
        kernels
    };
    drop(kernels);
    module.verify().map_err(|e| CodegenError::Llvm(format!("invalid module: {e}")))?;
    Ok(Lowered { module, plan, info })
}

fn lower_kernels<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    plan: &ArenaPlan,
    progress: Progress<'_>,
) -> Result<HashMap<NodeId, FunctionValue<'ctx>>, CodegenError> {
    let todo: Vec<NodeId> = g
        .order
        .iter()
        .copied()
        .filter(|&n| g.nodes[n].op != OpKind::Const && !plan.aliases.contains(&n))
        .collect();
    let mut out = HashMap::new();
    for (i, &n) in todo.iter().enumerate() {
        let op = g.nodes[n].op;
        let gen = lower::generator(op).ok_or_else(|| cx.unsupported(g, n, "this op"))?;
        out.insert(n, gen(cx, g, n)?);
        progress(i + 1, todo.len());
    }
    Ok(out)
}

fn build_forward<'ctx>(
    cx: &mut KernelCx<'_, 'ctx>,
    g: &Graph,
    plan: &ArenaPlan,
    kernels: &HashMap<NodeId, FunctionValue<'ctx>>,
) -> Result<(), CodegenError> {
    let ptr = cx.ptr_type();
    let fn_ty = cx.ctx.void_type().fn_type(&[ptr.into(), ptr.into(), ptr.into()], false);
    let f = cx.module.add_function(FORWARD, fn_ty, Some(Linkage::External));
    let entry = cx.ctx.append_basic_block(f, "entry");
    cx.builder.position_at_end(entry);
    let params: Vec<PointerValue> = f.get_param_iter().map(|p| p.into_pointer_value()).collect();
    let (ins, outs, scratch) = match params.as_slice() {
        [a, b, c] => (*a, *b, *c),
        _ => return Err(CodegenError::Llvm("forward has three parameters".into())),
    };
    let bufs = Buffers { ins, outs, scratch };
    for &n in &g.order {
        let Some(&k) = kernels.get(&n) else { continue };
        let mut args: Vec<BasicMetadataValueEnum> = Vec::new();
        for v in buffer_operands(g, n).into_iter().chain(g.nodes[n].outputs.iter().copied()) {
            args.push(bufs.pointer(cx, g, plan, v)?.into());
        }
        cx.builder.build_call(k, &args, "")?;
    }
    for &(v, j) in &plan.copies {
        let bytes = g.values[v].ty.size_bytes() as u64;
        let dst = bufs.slot(cx, outs, j)?;
        let src = match g.const_value(v) {
            Some(t) => cx.const_tensor(t)?,
            None => bufs.pointer(cx, g, plan, v)?,
        };
        crate::lower::elementwise::copy_bytes(cx, src, dst, bytes)?;
    }
    cx.builder.build_return(None)?;
    Ok(())
}

struct Buffers<'ctx> {
    ins: PointerValue<'ctx>,
    outs: PointerValue<'ctx>,
    scratch: PointerValue<'ctx>,
}

impl<'ctx> Buffers<'ctx> {
    fn slot(
        &self,
        cx: &KernelCx<'_, 'ctx>,
        arr: PointerValue<'ctx>,
        i: usize,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        let v = cx.load_at(cx.ptr_type(), arr, cx.i64(i as u64), 8)?;
        Ok(v.into_pointer_value())
    }

    fn pointer(
        &self,
        cx: &KernelCx<'_, 'ctx>,
        g: &Graph,
        plan: &ArenaPlan,
        v: ValueId,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        match plan.locs.get(&v) {
            Some(Loc::Input(i)) => self.slot(cx, self.ins, *i),
            Some(Loc::Output(j)) => self.slot(cx, self.outs, *j),
            Some(Loc::Scratch(off)) => cx.gep(cx.ctx.i8_type(), self.scratch, cx.i64(*off)),
            Some(Loc::Const) | None => {
                Err(CodegenError::Graph(format!("value {v} of graph {} has no buffer", g.name)))
            }
        }
    }
}

fn emit_info(cx: &mut KernelCx<'_, '_>, info: &ModelInfo) {
    let text = info.to_text();
    let init = cx.ctx.const_string(text.as_bytes(), true);
    let gv = cx.module.add_global(init.get_type(), None, MODEL_INFO);
    gv.set_initializer(&init);
    gv.set_constant(true);
    gv.set_linkage(Linkage::External);
}

/// The description of `g` as compiled with `plan` and `opts`.
pub fn model_info(g: &Graph, plan: &ArenaPlan, opts: &LowerOptions) -> ModelInfo {
    let tensor = |kind: &str, i: usize, v: ValueId| TensorInfo {
        name: g.values[v].name.clone().unwrap_or_else(|| format!("{kind}_{i}")),
        ty: g.values[v].ty.clone(),
    };
    let mut text = g.to_string();
    text.push('\n');
    text.push_str(&opts.fingerprint_salt);
    let mut info = ModelInfo::edge_only(
        g.name.clone(),
        fnv1a_128(text.as_bytes()),
        plan.size.max(arena::ALIGN),
        g.inputs.iter().enumerate().map(|(i, &v)| tensor("input", i, v)).collect(),
        g.outputs.iter().enumerate().map(|(i, &v)| tensor("output", i, v)).collect(),
    );
    if let Some(p) = &opts.program {
        info.role = p.role;
        info.fingerprint = p.fingerprint;
        info.model_outputs = p.model_outputs.clone();
        info.boundary = p.boundary.clone();
        info.split = p.split.clone();
        info.edge_weight_bytes = p.edge_weight_bytes;
    }
    info
}
