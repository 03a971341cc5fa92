//! Test support: compile a graph, run it in-process through LLVM's MCJIT, and compare the
//! results with the reference interpreter.
//!
//! [`run_jit`] ([`run_jit_many`]: compiled once, run on many input sets) lowers a graph exactly as the compiler does (same generators, arena plan and
//! `forward`, `default<O3>` for the host), then calls `forward` on host buffers. [`check_node`]
//! is the one-liner a generator's test needs: seeded inputs, compiled vs interpreted, within
//! tolerances. The executables themselves are tested end to end elsewhere; this module does
//! not link anything.

use crate::error::CodegenError;
use crate::forward::{lower_graph, LowerOptions, FORWARD};
use crate::target::Target;
use asplit_ir::{DType, Graph, Tensor, TensorData};
use asplit_runtime::npy::{decode_le, encode_le};
use inkwell::context::Context;
use inkwell::OptimizationLevel;

/// A 64-byte-aligned block: buffers are vectors of these.
#[derive(Copy, Clone)]
#[repr(C, align(64))]
struct Block([u8; 64]);

struct Buffer(Vec<Block>);

impl Buffer {
    fn zeroed(bytes: usize) -> Buffer {
        Buffer(vec![Block([0; 64]); bytes.div_ceil(64).max(1)])
    }
    fn from_bytes(bytes: &[u8]) -> Buffer {
        let mut b = Buffer::zeroed(bytes.len());
        for (blk, chunk) in b.0.iter_mut().zip(bytes.chunks(64)) {
            blk.0[..chunk.len()].copy_from_slice(chunk);
        }
        b
    }
    fn bytes(&self, n: usize) -> Vec<u8> {
        self.0.iter().flat_map(|b| b.0).take(n).collect()
    }
    fn ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr().cast()
    }
}

type ForwardFn = unsafe extern "C" fn(*const *mut u8, *const *mut u8, *mut u8);

/// Compiles `g` for the host and runs it on `inputs` (bound to the graph inputs in order).
pub fn run_jit(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, CodegenError> {
    run_jit_many(g, std::slice::from_ref(&inputs.to_vec())).map(|mut v| v.remove(0))
}

/// Compiles `g` once for the host and runs it on every input set of `sets`.
#[allow(unsafe_code)]
pub fn run_jit_many(g: &Graph, sets: &[Vec<Tensor>]) -> Result<Vec<Vec<Tensor>>, CodegenError> {
    for inputs in sets {
        check_inputs(g, inputs)?;
    }
    let target = Target::host()?;
    let ctx = Context::create();
    let opts = LowerOptions { lanes: target.lanes, ..LowerOptions::default() };
    let lowered = lower_graph(&ctx, g, &opts, &mut |_, _| {})?;
    target.configure(&lowered.module);
    target.optimize(&lowered.module)?;
    let engine = lowered
        .module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(|e| CodegenError::llvm(format!("JIT: {e}")))?;
    let addr = engine
        .get_function_address(FORWARD)
        .map_err(|e| CodegenError::llvm(format!("JIT: no forward ({e:?})")))?;
    let out_tys: Vec<_> = g.outputs.iter().map(|&v| g.values[v].ty.clone()).collect();
    let mut scratch = Buffer::zeroed(lowered.info.scratch_bytes as usize);
    let mut results = Vec::with_capacity(sets.len());
    for inputs in sets {
        let mut in_bufs: Vec<Buffer> =
            inputs.iter().map(|t| Buffer::from_bytes(&tensor_bytes(t))).collect();
        let mut out_bufs: Vec<Buffer> =
            out_tys.iter().map(|t| Buffer::zeroed(t.size_bytes())).collect();
        let in_ptrs: Vec<*mut u8> = in_bufs.iter_mut().map(Buffer::ptr).collect();
        let out_ptrs: Vec<*mut u8> = out_bufs.iter_mut().map(Buffer::ptr).collect();
        // SAFETY: `addr` is the address of `forward` in the live engine, whose signature is
        // `void(ptr, ptr, ptr)` (built in forward.rs). The pointer arrays hold one buffer per
        // graph input/output, each at least its value's byte size, and the scratch buffer is
        // `scratch_bytes` long and 64-aligned, which is what the generated code assumes.
        unsafe {
            let f: ForwardFn = std::mem::transmute::<usize, ForwardFn>(addr);
            f(in_ptrs.as_ptr(), out_ptrs.as_ptr(), scratch.ptr());
        }
        let outs = out_tys
            .iter()
            .zip(&out_bufs)
            .map(|(ty, b)| tensor_from_bytes(ty.dtype, &ty.shape, &b.bytes(ty.size_bytes())))
            .collect::<Result<Vec<_>, _>>()?;
        results.push(outs);
    }
    drop(engine);
    Ok(results)
}

fn check_inputs(g: &Graph, inputs: &[Tensor]) -> Result<(), CodegenError> {
    if inputs.len() != g.inputs.len() {
        return Err(CodegenError::Graph(format!(
            "{} inputs given, the graph has {}",
            inputs.len(),
            g.inputs.len()
        )));
    }
    for (i, (t, &v)) in inputs.iter().zip(&g.inputs).enumerate() {
        if t.ty() != g.values[v].ty {
            return Err(CodegenError::Graph(format!("input {i} is not {}", g.values[v].ty)));
        }
    }
    Ok(())
}

/// A tensor's elements as the compiled code stores them (little-endian, bool as 0/1).
pub fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    let mut out = Vec::new();
    encode_le(t.data(), &mut out);
    out
}

/// The inverse of [`tensor_bytes`].
pub fn tensor_from_bytes(d: DType, shape: &[usize], bytes: &[u8]) -> Result<Tensor, CodegenError> {
    Tensor::new(shape.to_vec(), decode_le(d, bytes)).map_err(|e| CodegenError::Graph(e.to_string()))
}

/// Deterministic inputs for `g`: uniform in [-2, 2) for floats, small integers otherwise.
pub fn seeded_inputs(g: &Graph, seed: u64) -> Vec<Tensor> {
    g.inputs
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let ty = &g.values[v].ty;
            let vals = asplit_ir::tensor::seeded_uniform(seed + i as u64, ty.numel(), -2.0, 2.0);
            let t = Tensor::new(ty.shape.clone(), TensorData::F32(vals))
                .unwrap_or_else(|_| Tensor::splat(ty, 0.0));
            if ty.dtype.is_float() {
                t.cast(ty.dtype)
            } else {
                t.cast(DType::I64).cast(ty.dtype)
            }
        })
        .collect()
}

/// Checks `got` against `want` elementwise: `|g - w| <= atol + rtol·|w|`, NaN matching NaN.
pub fn compare(want: &Tensor, got: &Tensor, rtol: f64, atol: f64) -> Result<(), String> {
    if want.ty() != got.ty() {
        return Err(format!("type {} expected, got {}", want.ty(), got.ty()));
    }
    let (w, g) = (want.data().to_f64_vec(), got.data().to_f64_vec());
    for (i, (a, b)) in w.iter().zip(&g).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= atol + rtol * a.abs();
        if !ok {
            return Err(format!("element {i}: expected {a}, got {b}"));
        }
    }
    Ok(())
}

/// Runs `g` compiled and interpreted on `inputs` and compares every output.
pub fn check_graph(g: &Graph, inputs: &[Tensor], rtol: f64, atol: f64) -> Result<(), String> {
    let want = asplit_ir::interp::run(g, inputs).map_err(|e| format!("interpreter: {e}"))?;
    let got = run_jit(g, inputs).map_err(|e| format!("compiled: {e}"))?;
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        compare(w, o, rtol, atol).map_err(|e| format!("output {i}: {e}"))?;
    }
    Ok(())
}

/// [`check_graph`] on seeded inputs with rtol 1e-4, atol 1e-5: a generator's unit test.
pub fn check_node(g: &Graph) -> Result<(), String> {
    check_graph(g, &seeded_inputs(g, 7), 1e-4, 1e-5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use asplit_ir::{Attrs, OpKind, TensorType};

    #[test]
    fn relu_chain_compiles_and_matches_the_interpreter() {
        let mut g = Graph::new("g");
        let ty = TensorType::new(DType::F32, [3, 37]);
        let x = g.add_input(Some("x".into()), ty.clone());
        let a = g.add_node_typed(OpKind::Relu, Attrs::new(), vec![x], vec![ty.clone()]);
        let a = g.nodes[a].outputs[0];
        let b = g.add_node_typed(OpKind::Identity, Attrs::new(), vec![a], vec![ty.clone()]);
        let b = g.nodes[b].outputs[0];
        let c = g.add_node_typed(OpKind::Relu, Attrs::new(), vec![b], vec![ty]);
        g.outputs.push(g.nodes[c].outputs[0]);
        g.outputs.push(x);
        check_node(&g).expect("matches");
        let out = run_jit(&g, &seeded_inputs(&g, 1)).expect("runs");
        assert!(out[0].data().to_f64_vec().iter().all(|&v| v >= 0.0));
        assert_eq!(out[1], seeded_inputs(&g, 1)[0]);
    }

    #[test]
    fn a_wrong_answer_is_detected() {
        let a = Tensor::from_f32([2], vec![1.0, 2.0]).expect("2");
        let b = Tensor::from_f32([2], vec![1.0, 2.1]).expect("2");
        assert!(compare(&a, &b, 1e-3, 1e-5).is_err());
        assert!(compare(&a, &a, 0.0, 0.0).is_ok());
    }
}
