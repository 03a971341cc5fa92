//! Fused epilogues of the compute ops: `conv`'s optional `skip` operand (a residual add),
//! `matmul`'s optional `bias` operand and the `activation` attribute of `conv`,
//! `conv_transpose`, `gemm` and `matmul` ([`crate::activation`]); and the fused elementwise
//! op `affine` (`x · scale`, then `+ shift` and the activation the same way).
//!
//! Each entry point runs the op's plain kernel, then adds the bias with the `add` kernel and
//! applies the activation with the kernel of the equivalent unary op. Running exactly the
//! kernels the unfused graph would run keeps fused and unfused results bit-identical; it
//! does not try to be faster than the unfused form.

use super::common::{input, invalid, opt_input, KResult};
use super::{conv as conv_k, eval_node, matmul as matmul_k, EvalCx};
use crate::activation::Activation;
use crate::attr::Attrs;
use crate::ops::OpKind;
use crate::tensor::Tensor;

/// Convolution (with its bias), then `+ skip` (when given) and its fused activation; an
/// exact convolution (`exact_bound`, which has neither) runs [`conv_k::conv_exact`].
pub fn conv(cx: &EvalCx) -> KResult {
    if cx.attrs.get("exact_bound").is_some() {
        return conv_k::conv_exact(cx);
    }
    with_epilogue(cx, conv_k::conv, opt_input(cx, 3))
}

/// Transposed convolution (with its bias), then its fused activation.
pub fn conv_transpose(cx: &EvalCx) -> KResult {
    with_epilogue(cx, conv_k::conv_transpose, None)
}

/// `x · scale` with the `mul` kernel, then `+ shift` and the fused activation.
pub fn affine(cx: &EvalCx) -> KResult {
    with_epilogue(cx, scale, opt_input(cx, 2))
}

fn scale(cx: &EvalCx) -> KResult {
    let (x, s) = (input(cx, 0)?, input(cx, 1)?);
    eval_node(OpKind::Mul, &Attrs::new(), &[x, s], &[x.ty()])
}

/// Gemm, then its fused activation; an exact gemm (`exact_bound`, which has none) runs
/// [`matmul_k::gemm_exact`].
pub fn gemm(cx: &EvalCx) -> KResult {
    if cx.attrs.get("exact_bound").is_some() {
        return matmul_k::gemm_exact(cx);
    }
    with_epilogue(cx, matmul_k::gemm, None)
}

/// MatMul, then `+ bias` (when given) and its fused activation. (The added operand is
/// named `bias` for matmul and `skip` for conv, whose `b` is the per-channel bias.)
pub fn matmul(cx: &EvalCx) -> KResult {
    with_epilogue(cx, matmul_k::matmul, opt_input(cx, 2))
}

fn with_epilogue(cx: &EvalCx, core: fn(&EvalCx) -> KResult, bias: Option<&Tensor>) -> KResult {
    let act = Activation::from_attrs(cx.attrs).map_err(|e| invalid(cx, e.to_string()))?;
    let mut results = core(cx)?;
    let Some(y) = results.pop() else { return Err(invalid(cx, "the kernel gave no result")) };
    if !results.is_empty() {
        return Err(invalid(cx, "the kernel gave more than one result"));
    }
    let ty = y.ty();
    let mut y = y;
    if let Some(b) = bias {
        y = single(
            cx,
            eval_node(OpKind::Add, &Attrs::new(), &[&y, b], std::slice::from_ref(&ty))?,
        )?;
    }
    if let Some((op, attrs)) = act.as_unary() {
        y = single(cx, eval_node(op, &attrs, &[&y], &[ty])?)?;
    }
    Ok(vec![y])
}

fn single(cx: &EvalCx, mut v: Vec<Tensor>) -> Result<Tensor, super::InterpError> {
    match (v.pop(), v.is_empty()) {
        (Some(t), true) => Ok(t),
        _ => Err(invalid(cx, "an epilogue kernel gave other than one result")),
    }
}

#[cfg(test)]
mod tests {
    use crate::activation::Activation;
    use crate::graph::Graph;
    use crate::interp::run;
    use crate::ops::OpKind;
    use crate::tensor::{seeded_uniform, Tensor};
    use crate::types::{DType, TensorType};
    use crate::Attrs;

    fn input(shape: &[usize], seed: u64) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_f32(shape.to_vec(), seeded_uniform(seed, n, -2.0, 2.0)).expect("sized")
    }

    /// `act(op(x, w) [+ bias])`, fused into one node or as separate nodes.
    fn build(
        op: OpKind,
        xs: &[usize],
        w: Tensor,
        bias: Option<Tensor>,
        act: Activation,
        fused: bool,
    ) -> Graph {
        let mut g = Graph::new("g");
        let x = g.add_input(None, TensorType::new(DType::F32, xs.to_vec()));
        let w = g.add_const(w);
        let b = bias.map(|b| g.add_const(b));
        let mut attrs = match op {
            OpKind::Conv => Attrs::new()
                .with("strides", crate::Attr::Ints(vec![1, 1]))
                .with("pads", crate::Attr::Ints(vec![1, 1, 1, 1]))
                .with("dilations", crate::Attr::Ints(vec![1, 1])),
            _ => Attrs::new(),
        };
        let mut operands = vec![x, w];
        if fused {
            act.write(&mut attrs);
            operands.extend(b);
        }
        let attrs = op.def().with_defaults(attrs);
        let n = g.add_node(op, attrs, operands).expect("types");
        let mut y = g.nodes[n].outputs[0];
        if !fused {
            if let Some(b) = b {
                let n = g.add_node(OpKind::Add, Attrs::new(), vec![y, b]).expect("types");
                y = g.nodes[n].outputs[0];
            }
            if let Some((op, ua)) = act.as_unary() {
                let n = g.add_node(op, op.def().with_defaults(ua), vec![y]).expect("types");
                y = g.nodes[n].outputs[0];
            }
        }
        g.outputs.push(y);
        crate::verify::verify(&g).expect("verifies");
        g
    }

    fn same(op: OpKind, xs: &[usize], w: Tensor, bias: Option<Tensor>, act: Activation) {
        let x = input(xs, 9);
        let a = run(&build(op, xs, w.clone(), bias.clone(), act, true), std::slice::from_ref(&x));
        let b = run(&build(op, xs, w, bias, act, false), &[x]);
        let (a, b) = (a.expect("fused runs"), b.expect("unfused runs"));
        assert_eq!(a, b, "{op} with {act:?}");
    }

    #[test]
    fn fused_activations_match_separate_nodes_bit_for_bit() {
        let acts = [
            Activation::Relu,
            Activation::LeakyRelu { alpha: 0.2 },
            Activation::Clip { min: 0.0, max: 0.5 },
            Activation::Sigmoid,
            Activation::HardSwish,
            Activation::Gelu { tanh: false },
            Activation::Gelu { tanh: true },
        ];
        for act in acts {
            same(OpKind::Conv, &[1, 2, 5, 5], input(&[3, 2, 3, 3], 1), None, act);
            same(OpKind::Gemm, &[2, 4], input(&[4, 3], 2), None, act);
            same(OpKind::MatMul, &[2, 3, 4], input(&[4, 5], 3), Some(input(&[5], 4)), act);
        }
    }

    #[test]
    fn a_fused_skip_matches_a_separate_add() {
        let text = |fused: bool| {
            let body = if fused {
                "%y = conv(%x, %w, %b, %s) {activation = \"relu\", dilations = [1, 1], pads = [1, 1, 1, 1], strides = [1, 1]} : f32[1,3,4,4]"
            } else {
                "%c = conv(%x, %w, %b) {dilations = [1, 1], pads = [1, 1, 1, 1], strides = [1, 1]} : f32[1,3,4,4]
                 %a = add(%s, %c) : f32[1,3,4,4]
                 %y = relu(%a) : f32[1,3,4,4]"
            };
            format!(
                "graph @g(%x: f32[1,2,4,4], %s: f32[1,3,4,4]) {{
                   %w = const {{value = tensor<f32[3,2,3,3]: random(seed = 3)>}} : f32[3,2,3,3]
                   %b = const {{value = tensor<f32[3]: [0.5, -1.0, 0.25]>}} : f32[3]
                   {body}
                   return %y
                 }}"
            )
        };
        let run_text = |t: String| {
            let g = crate::parse::parse(&t).expect("parses");
            crate::verify::verify(&g).expect("verifies");
            run(&g, &[input(&[1, 2, 4, 4], 1), input(&[1, 3, 4, 4], 2)]).expect("runs")
        };
        assert_eq!(run_text(text(true)), run_text(text(false)));
    }

    /// Runs `.air` text on seeded inputs of the given shapes.
    fn run_air(text: &str, shapes: &[&[usize]]) -> Vec<Tensor> {
        let g = crate::parse::parse(text).expect("parses");
        crate::verify::verify(&g).expect("verifies");
        let inputs: Vec<Tensor> =
            shapes.iter().enumerate().map(|(i, s)| input(s, i as u64 + 1)).collect();
        run(&g, &inputs).expect("runs")
    }

    #[test]
    fn a_fused_conv_transpose_matches_separate_nodes() {
        let text = |fused: bool| {
            let body = if fused {
                "%y = conv_transpose(%x, %w, %b) {activation = \"leaky_relu\", activation_params = [0.1], dilations = [1, 1], output_padding = [0, 0], pads = [0, 0, 0, 0], strides = [2, 2]} : f32[1,3,7,7]"
            } else {
                "%c = conv_transpose(%x, %w, %b) {dilations = [1, 1], output_padding = [0, 0], pads = [0, 0, 0, 0], strides = [2, 2]} : f32[1,3,7,7]
                 %y = leaky_relu(%c) {alpha = 0.1} : f32[1,3,7,7]"
            };
            format!(
                "graph @g(%x: f32[1,2,3,3]) {{
                   %w = const {{value = tensor<f32[2,3,3,3]: random(seed = 3)>}} : f32[2,3,3,3]
                   %b = const {{value = tensor<f32[3]: [0.5, -1.0, 0.25]>}} : f32[3]
                   {body}
                   return %y
                 }}"
            )
        };
        let shapes: &[&[usize]] = &[&[1, 2, 3, 3]];
        assert_eq!(run_air(&text(true), shapes), run_air(&text(false), shapes));
    }

    #[test]
    fn affine_matches_mul_add_and_activation_bit_for_bit() {
        let text = |fused: bool| {
            let body = if fused {
                "%y = affine(%x, %s, %t) {activation = \"clip\", activation_params = [-0.5, 1.0]} : f32[1,3,2,2]"
            } else {
                "%m = mul(%x, %s) : f32[1,3,2,2]
                 %a = add(%m, %t) : f32[1,3,2,2]
                 %y = clip(%a) {max = 1.0, min = -0.5} : f32[1,3,2,2]"
            };
            format!(
                "graph @g(%x: f32[1,3,2,2]) {{
                   %s = const {{value = tensor<f32[3,1,1]: [1.5, -0.75, 0.3]>}} : f32[3,1,1]
                   %t = const {{value = tensor<f32[1,3,1,1]: [0.5, -1.0, 0.25]>}} : f32[1,3,1,1]
                   {body}
                   return %y
                 }}"
            )
        };
        let shapes: &[&[usize]] = &[&[1, 3, 2, 2]];
        assert_eq!(run_air(&text(true), shapes), run_air(&text(false), shapes));
    }

    #[test]
    fn a_bad_activation_is_an_error() {
        let mut g = build(OpKind::Gemm, &[2, 4], input(&[4, 3], 2), None, Activation::Relu, true);
        let n = g.order[1];
        g.nodes[n].attrs.set("activation", crate::Attr::Str("swish".into()));
        assert!(crate::verify::verify(&g).is_err());
        let err = run(&g, &[input(&[2, 4], 1)]).unwrap_err();
        assert!(err.to_string().contains("\"swish\" is not supported"), "{err}");
    }
}
