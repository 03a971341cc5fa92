//! Lowering of IR nodes to LLVM kernel functions: the [`KernelCx`] every generator works in,
//! its IR-building helpers, and THE table from [`OpKind`] to generator ([`generator`]).
//!
//! Convention (docs/codegen.md): every live non-`const` node becomes one function with
//! internal linkage and signature `void(ptr noalias %in0, …, ptr noalias %out0, …)`: one
//! pointer per operand that is not a constant, then one per result. Buffers are dense,
//! row-major, at the value's static shape and dtype (bool is one byte 0/1, f16 `half`, bf16
//! `i16` bits, coded dtypes one byte per code). Constants a kernel reads become private
//! constant globals that the generator emits itself, in whatever layout it wants; the default
//! ([`Kernel::operand`]) is the dense layout.
//!
//! This file builds no kernel itself; the generators live in one file per op family. It does
//! not decide where buffers live (see `arena`) nor call the kernels (see `forward`).

pub mod boundary;
pub mod cast;
pub mod conv;
pub mod elementwise;
pub mod gemm;
pub mod layout;
pub mod math;
pub mod microkernel;
pub mod movement;
pub mod nary;
pub mod norm;
pub mod pack;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod resize;

use crate::error::CodegenError;
use asplit_ir::{DType, Graph, NodeId, OpKind, Tensor, ValueId};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicType, BasicTypeEnum, FloatType, IntType, VectorType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FunctionValue, IntValue, PointerValue,
};
use inkwell::{AddressSpace, IntPredicate};
use std::sync::Arc;

/// A kernel generator: emits the function of node `node` of `g` and returns it.
pub type Generator = for<'a, 'ctx> fn(
    &mut KernelCx<'a, 'ctx>,
    &Graph,
    NodeId,
) -> Result<FunctionValue<'ctx>, CodegenError>;

/// THE table: the generator of each op, `None` for ops without one (and for `const`, which
/// never becomes a kernel). One line per op.
pub fn generator(op: OpKind) -> Option<Generator> {
    let g: Generator = match op {
        OpKind::Conv => conv::lower_conv,
        OpKind::ConvTranspose => conv::lower_conv_transpose,
        OpKind::Gemm => gemm::lower_gemm,
        OpKind::MatMul => gemm::lower_matmul,
        OpKind::Identity
        | OpKind::Relu
        | OpKind::LeakyRelu
        | OpKind::Clip
        | OpKind::Sigmoid
        | OpKind::Tanh
        | OpKind::HardSigmoid
        | OpKind::HardSwish
        | OpKind::Erf
        | OpKind::Gelu
        | OpKind::Exp
        | OpKind::Log
        | OpKind::Sqrt => elementwise::lower_unary,
        OpKind::Add
        | OpKind::Sub
        | OpKind::Mul
        | OpKind::Div
        | OpKind::Pow
        | OpKind::Max
        | OpKind::Min
        | OpKind::Sum
        | OpKind::Equal
        | OpKind::Less
        | OpKind::Greater
        | OpKind::Where
        | OpKind::Affine => nary::lower_nary,
        OpKind::Reshape
        | OpKind::Transpose
        | OpKind::Expand
        | OpKind::Slice
        | OpKind::Concat
        | OpKind::Split
        | OpKind::Pad
        | OpKind::Gather => movement::lower_movement,
        OpKind::ReduceMean | OpKind::ReduceSum | OpKind::ReduceMax => reduce::lower_reduce,
        OpKind::Softmax | OpKind::LogSoftmax => reduce::lower_softmax,
        OpKind::BatchNorm | OpKind::LayerNorm | OpKind::Lrn => norm::lower_norm,
        OpKind::MaxPool | OpKind::AvgPool => pool::lower_pool,
        OpKind::Cast => cast::lower_cast,
        OpKind::Resize => resize::lower_resize,
        OpKind::QuantizeLinear | OpKind::DequantizeLinear => quant::lower_quant,
        OpKind::Quantize => boundary::lower_quantize,
        OpKind::Dequantize => boundary::lower_dequantize,
        OpKind::Pack => boundary::lower_pack,
        OpKind::Unpack => boundary::lower_unpack,
        _ => return None,
    };
    Some(g)
}

/// What a generator builds in: the LLVM context, module and builder, the target's vector
/// width, and naming.
pub struct KernelCx<'a, 'ctx> {
    /// The LLVM context.
    pub ctx: &'ctx Context,
    /// The module every kernel goes into.
    pub module: &'a Module<'ctx>,
    /// The builder; generators leave it wherever they like.
    pub builder: Builder<'ctx>,
    /// Vector width of the target in f32 lanes (16 with AVX-512, 8 with AVX2, 4 with SSE/NEON).
    pub lanes: u32,
    next_name: u32,
}

/// A kernel function being built: its operands (buffer parameters or constants) and result
/// pointers.
pub struct Kernel<'ctx> {
    /// The function.
    pub func: FunctionValue<'ctx>,
    /// One per node operand.
    pub operands: Vec<Operand<'ctx>>,
    /// One pointer parameter per node result.
    pub results: Vec<PointerValue<'ctx>>,
    /// The node.
    pub node: NodeId,
    /// The op.
    pub op: OpKind,
}

/// A kernel operand: a pointer parameter, or a constant the kernel embeds.
#[derive(Clone)]
pub enum Operand<'ctx> {
    /// A buffer passed by the caller.
    Buffer(PointerValue<'ctx>),
    /// A constant; [`Kernel::operand`] emits it as a dense global on first use.
    Const(Arc<Tensor>, Option<PointerValue<'ctx>>),
}

impl<'ctx> Kernel<'ctx> {
    /// Pointer to operand `i` in the dense layout, emitting a constant operand as a private
    /// global the first time it is asked for.
    pub fn operand(
        &mut self,
        cx: &mut KernelCx<'_, 'ctx>,
        i: usize,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        let op = self.op;
        let node = self.node;
        let slot = self.operands.get_mut(i).ok_or_else(|| CodegenError::Invalid {
            op,
            node: node.to_string(),
            msg: format!("operand {i} does not exist"),
        })?;
        match slot {
            Operand::Buffer(p) => Ok(*p),
            Operand::Const(_, Some(p)) => Ok(*p),
            Operand::Const(t, cached) => {
                let p = cx.const_tensor(t)?;
                *cached = Some(p);
                Ok(p)
            }
        }
    }

    /// The constant value of operand `i`, if it is one.
    pub fn const_operand(&self, i: usize) -> Option<&Arc<Tensor>> {
        match self.operands.get(i) {
            Some(Operand::Const(t, _)) => Some(t),
            _ => None,
        }
    }

    /// Pointer to result `i`.
    pub fn result(&self, i: usize) -> Result<PointerValue<'ctx>, CodegenError> {
        self.results.get(i).copied().ok_or_else(|| CodegenError::Invalid {
            op: self.op,
            node: self.node.to_string(),
            msg: format!("result {i} does not exist"),
        })
    }
}

/// The node's non-constant operands, in order: the values the caller passes to its kernel.
pub fn buffer_operands(g: &Graph, node: NodeId) -> Vec<ValueId> {
    g.nodes[node].inputs.iter().copied().filter(|&v| g.const_value(v).is_none()).collect()
}

impl<'a, 'ctx> KernelCx<'a, 'ctx> {
    /// A context building into `module` for a target with `lanes` f32 vector lanes.
    pub fn new(ctx: &'ctx Context, module: &'a Module<'ctx>, lanes: u32) -> Self {
        KernelCx { ctx, module, builder: ctx.create_builder(), lanes: lanes.max(1), next_name: 0 }
    }

    /// A module-unique symbol name starting with `base`.
    pub fn unique_name(&mut self, base: &str) -> String {
        self.next_name += 1;
        let clean: String =
            base.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("{clean}.{}", self.next_name)
    }

    /// An `Unsupported` error for `node`.
    pub fn unsupported(&self, g: &Graph, node: NodeId, what: impl Into<String>) -> CodegenError {
        CodegenError::Unsupported {
            op: g.nodes[node].op,
            node: node_label(g, node),
            what: what.into(),
        }
    }

    /// An `Invalid` error for `node`.
    pub fn invalid(&self, g: &Graph, node: NodeId, msg: impl Into<String>) -> CodegenError {
        CodegenError::Invalid { op: g.nodes[node].op, node: node_label(g, node), msg: msg.into() }
    }

    /// Starts the kernel of `node`: declares the function with the calling convention of
    /// this module and positions the builder in its entry block.
    pub fn begin_kernel(&mut self, g: &Graph, node: NodeId) -> Result<Kernel<'ctx>, CodegenError> {
        let data = &g.nodes[node];
        let n_buf = buffer_operands(g, node).len();
        let n_params = n_buf + data.outputs.len();
        let ptr = self.ptr_type();
        let params: Vec<_> = (0..n_params).map(|_| ptr.into()).collect();
        let fn_ty = self.ctx.void_type().fn_type(&params, false);
        let name = self.unique_name(&format!("k_{}_{node}", data.op.mnemonic()));
        let func = self.module.add_function(&name, fn_ty, Some(Linkage::Internal));
        let noalias = self.enum_attr("noalias");
        let nounwind = self.enum_attr("nounwind");
        func.add_attribute(AttributeLoc::Function, nounwind);
        for i in 0..n_params as u32 {
            func.add_attribute(AttributeLoc::Param(i), noalias);
        }
        let entry = self.ctx.append_basic_block(func, "entry");
        self.builder.position_at_end(entry);
        let mut params = func.get_param_iter().map(|p| p.into_pointer_value());
        let mut operands = Vec::with_capacity(data.inputs.len());
        for &v in &data.inputs {
            match g.const_value(v) {
                Some(t) => operands.push(Operand::Const(t.clone(), None)),
                None => operands.push(Operand::Buffer(
                    params
                        .next()
                        .ok_or_else(|| self.invalid(g, node, "parameter count mismatch"))?,
                )),
            }
        }
        let results: Vec<_> = params.collect();
        Ok(Kernel { func, operands, results, node, op: data.op })
    }

    /// Ends the kernel: returns from the current block and hands back the function.
    pub fn finish_kernel(&mut self, k: Kernel<'ctx>) -> Result<FunctionValue<'ctx>, CodegenError> {
        self.builder.build_return(None)?;
        Ok(k.func)
    }

    fn enum_attr(&self, name: &str) -> Attribute {
        self.ctx.create_enum_attribute(Attribute::get_named_enum_kind_id(name), 0)
    }

    /// The (opaque) pointer type.
    pub fn ptr_type(&self) -> inkwell::types::PointerType<'ctx> {
        self.ctx.ptr_type(AddressSpace::default())
    }

    /// `i64`.
    pub fn i64_type(&self) -> IntType<'ctx> {
        self.ctx.i64_type()
    }

    /// `f32`.
    pub fn f32_type(&self) -> FloatType<'ctx> {
        self.ctx.f32_type()
    }

    /// `<n x f32>`.
    pub fn f32_vec(&self, n: u32) -> VectorType<'ctx> {
        self.ctx.f32_type().vec_type(n)
    }

    /// An `i64` constant.
    pub fn i64(&self, v: u64) -> IntValue<'ctx> {
        self.ctx.i64_type().const_int(v, false)
    }

    /// An `i64` constant from a (possibly negative) `i64`.
    pub fn i64s(&self, v: i64) -> IntValue<'ctx> {
        self.ctx.i64_type().const_int(v as u64, true)
    }

    /// The in-memory element type of `d`: f32/f64/half, iN for integers, i8 for bool and
    /// the coded dtypes, i16 for bf16 (its bits).
    pub fn elem_type(&self, d: DType) -> BasicTypeEnum<'ctx> {
        match d {
            DType::F32 => self.ctx.f32_type().into(),
            DType::F64 => self.ctx.f64_type().into(),
            DType::F16 => self.ctx.f16_type().into(),
            DType::BF16 | DType::I16 | DType::U16 => self.ctx.i16_type().into(),
            DType::I64 | DType::U64 => self.ctx.i64_type().into(),
            DType::I32 | DType::U32 => self.ctx.i32_type().into(),
            _ => self.ctx.i8_type().into(),
        }
    }

    /// `&ptr[idx]` for elements of type `ty` (an in-bounds GEP).
    #[allow(unsafe_code)]
    pub fn gep(
        &self,
        ty: impl BasicType<'ctx>,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        // SAFETY: this only builds a `getelementptr inbounds` instruction; no Rust memory is
        // touched. The generators keep indices within the buffers they address.
        Ok(unsafe { self.builder.build_in_bounds_gep(ty, ptr, &[idx], "p") }?)
    }

    /// Loads `ptr[idx]` as `ty`, with alignment `align` bytes.
    pub fn load_at(
        &self,
        ty: impl BasicType<'ctx>,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
        align: u32,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        let elem = ty.as_basic_type_enum();
        let p = self.gep(elem, ptr, idx)?;
        let v = self.builder.build_load(elem, p, "v")?;
        set_align(v.as_instruction_value(), align);
        Ok(v)
    }

    /// Stores `v` to `ptr[idx]` (elements of `v`'s type), with alignment `align` bytes.
    pub fn store_at(
        &self,
        v: BasicValueEnum<'ctx>,
        ptr: PointerValue<'ctx>,
        idx: IntValue<'ctx>,
        align: u32,
    ) -> Result<(), CodegenError> {
        let p = self.gep(v.get_type(), ptr, idx)?;
        let st = self.builder.build_store(p, v)?;
        set_align(Some(st), align);
        Ok(())
    }

    /// A counted loop `for (i = start; i < end; i += step) body(i)` with `i64` bounds, built
    /// in rotated form (guard, then a do-while); the builder ends after the loop.
    pub fn for_range<F>(
        &mut self,
        start: IntValue<'ctx>,
        end: IntValue<'ctx>,
        step: u64,
        mut body: F,
    ) -> Result<(), CodegenError>
    where
        F: FnMut(&mut Self, IntValue<'ctx>) -> Result<(), CodegenError>,
    {
        let func = self.current_function()?;
        let pre = self.current_block()?;
        let head = self.ctx.append_basic_block(func, "loop");
        let exit = self.ctx.append_basic_block(func, "loop.end");
        let guard = self.builder.build_int_compare(IntPredicate::SLT, start, end, "guard")?;
        self.builder.build_conditional_branch(guard, head, exit)?;
        self.builder.position_at_end(head);
        let phi = self.builder.build_phi(self.i64_type(), "i")?;
        phi.add_incoming(&[(&start, pre)]);
        let i = phi.as_basic_value().into_int_value();
        body(self, i)?;
        let latch = self.current_block()?;
        let next = self.builder.build_int_nuw_add(i, self.i64(step.max(1)), "i.next")?;
        phi.add_incoming(&[(&next, latch)]);
        let more = self.builder.build_int_compare(IntPredicate::SLT, next, end, "more")?;
        self.builder.build_conditional_branch(more, head, exit)?;
        self.builder.position_at_end(exit);
        Ok(())
    }

    /// [`KernelCx::for_range`] over constant bounds `0..n`.
    pub fn for_n<F>(&mut self, n: u64, step: u64, body: F) -> Result<(), CodegenError>
    where
        F: FnMut(&mut Self, IntValue<'ctx>) -> Result<(), CodegenError>,
    {
        if n == 0 {
            return Ok(());
        }
        self.for_range(self.i64(0), self.i64(n), step, body)
    }

    /// The function the builder is in.
    pub fn current_function(&self) -> Result<FunctionValue<'ctx>, CodegenError> {
        self.current_block()?
            .get_parent()
            .ok_or_else(|| CodegenError::Llvm("builder block has no function".into()))
    }

    /// The block the builder is in.
    pub fn current_block(&self) -> Result<BasicBlock<'ctx>, CodegenError> {
        self.builder
            .get_insert_block()
            .ok_or_else(|| CodegenError::Llvm("builder is not positioned".into()))
    }

    /// A private constant global holding `bytes`, aligned to 64 bytes; returns its address.
    pub fn const_bytes(&mut self, bytes: &[u8]) -> PointerValue<'ctx> {
        let init = self.ctx.const_string(bytes, false);
        let name = self.unique_name("const");
        let gv = self.module.add_global(init.get_type(), None, &name);
        gv.set_initializer(&init);
        gv.set_constant(true);
        gv.set_linkage(Linkage::Private);
        gv.set_unnamed_addr(true);
        gv.set_alignment(64);
        gv.as_pointer_value()
    }

    /// A private constant global holding `t` densely in its in-memory layout.
    pub fn const_tensor(&mut self, t: &Tensor) -> Result<PointerValue<'ctx>, CodegenError> {
        let mut bytes = Vec::new();
        asplit_runtime::npy::encode_le(t.data(), &mut bytes);
        Ok(self.const_bytes(&bytes))
    }

    /// A private constant global holding `v` (e.g. weights packed by a generator).
    pub fn const_f32s(&mut self, v: &[f32]) -> PointerValue<'ctx> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.const_bytes(&bytes)
    }

    /// Declaration of the overloaded intrinsic `name` (e.g. `llvm.fmuladd`) at `types`.
    pub fn intrinsic(
        &self,
        name: &str,
        types: &[BasicTypeEnum<'ctx>],
    ) -> Result<FunctionValue<'ctx>, CodegenError> {
        let i = inkwell::intrinsics::Intrinsic::find(name)
            .ok_or_else(|| CodegenError::Llvm(format!("no intrinsic {name}")))?;
        i.get_declaration(self.module, types)
            .ok_or_else(|| CodegenError::Llvm(format!("cannot declare {name} at {types:?}")))
    }

    /// Calls intrinsic `name` overloaded on the type of its first argument.
    pub fn call_intrinsic(
        &self,
        name: &str,
        args: &[BasicValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        let first = args.first().ok_or_else(|| CodegenError::Llvm(format!("{name}: no args")))?;
        let f = self.intrinsic(name, &[first.get_type()])?;
        let args: Vec<BasicMetadataValueEnum> = args.iter().map(|&a| a.into()).collect();
        let call = self.builder.build_call(f, &args, "r")?;
        call.try_as_basic_value()
            .basic()
            .ok_or_else(|| CodegenError::Llvm(format!("{name} returns nothing")))
    }

    /// `a * b + c` through `llvm.fmuladd` (scalars or vectors of the same type).
    pub fn fmuladd(
        &self,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
        c: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        self.call_intrinsic("llvm.fmuladd", &[a, b, c])
    }

    /// `c ? a : b` for an `i1` or `<n x i1>` condition.
    pub fn select(
        &self,
        c: BasicValueEnum<'ctx>,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        Ok(match c {
            BasicValueEnum::IntValue(c) => self.builder.build_select(c, a, b, "sel")?,
            BasicValueEnum::VectorValue(c) => self.builder.build_select(c, a, b, "sel")?,
            other => return Err(CodegenError::Llvm(format!("select on {other:?}"))),
        })
    }

    /// A stack slot of type `ty` in the current function's entry block (mem2reg turns it
    /// into a register): accumulators of reductions.
    pub fn entry_alloca(
        &self,
        ty: BasicTypeEnum<'ctx>,
    ) -> Result<PointerValue<'ctx>, CodegenError> {
        let entry = self
            .current_function()?
            .get_first_basic_block()
            .ok_or_else(|| CodegenError::Llvm("function without entry block".into()))?;
        let b = self.ctx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => b.position_before(&i),
            None => b.position_at_end(entry),
        }
        Ok(b.build_alloca(ty, "acc")?)
    }

    /// A vector with every lane `x`.
    pub fn splat(
        &self,
        x: BasicValueEnum<'ctx>,
        lanes: u32,
    ) -> Result<BasicValueEnum<'ctx>, CodegenError> {
        let vt = match x.get_type() {
            BasicTypeEnum::FloatType(t) => t.vec_type(lanes),
            BasicTypeEnum::IntType(t) => t.vec_type(lanes),
            other => return Err(CodegenError::Llvm(format!("cannot splat {other:?}"))),
        };
        let undef = vt.get_undef();
        let v0 = self.builder.build_insert_element(undef, x, self.i64(0), "s")?;
        let zeros = self.ctx.i32_type().vec_type(lanes).const_zero();
        Ok(self.builder.build_shuffle_vector(v0, undef, zeros, "splat")?.into())
    }
}

fn set_align(inst: Option<inkwell::values::InstructionValue<'_>>, align: u32) {
    if let Some(i) = inst {
        // Alignment is a hint here; an error means the instruction takes none.
        let _ = i.set_alignment(align.max(1));
    }
}

/// `"name"` of a node when it has one, else its id.
pub fn node_label(g: &Graph, node: NodeId) -> String {
    match &g.nodes[node].name {
        Some(n) => format!("\"{n}\""),
        None => node.to_string(),
    }
}
