"""Builds larger reference models from seeds, for tests and benchmarks (never committed).

- mobilenetv2: MobileNetV2 (width 1.0, 224x224, 1000 classes) as torchvision exports it:
  Conv+BatchNormalization+Clip(0,6) blocks, depthwise 3x3 convolutions, inverted residuals with
  Add, GlobalAveragePool, Flatten, Gemm. Opset 13.
- bert_block: one BERT-base encoder layer (sequence 128, hidden 768, 12 heads, FFN 3072):
  MatMul+Add projections, Reshape/Transpose into heads, scaled dot-product attention with
  Softmax and an additive mask, residual Adds, LayerNormalization, and GELU written as
  0.5·x·(1 + Erf(x/√2)) as exporters emit it. Opset 17.

Weights are seeded (numpy default_rng), batch-norm statistics are realistic (positive
variances), so outputs are well conditioned. For each model, OUT_DIR gets NAME.onnx,
NAME_input_<i>.npy and, when onnxruntime is installed, NAME_expected_<i>.npy.

Usage: python3 make_models.py OUT_DIR [--only mobilenetv2|bert_block] [--seed N]
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, base, shape, fan_in):
        w = self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        return self.const(base, w.astype(np.float32))

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def conv_bn(b, x, cin, cout, k, stride, groups, relu6):
    w = b.weight("w", (cout, cin // groups, k, k), cin // groups * k * k)
    pad = k // 2
    y = b.op("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=groups)
    scale = b.const("gamma", (1.0 + 0.1 * b.rng.standard_normal(cout)).astype(np.float32))
    bias = b.const("beta", (0.1 * b.rng.standard_normal(cout)).astype(np.float32))
    mean = b.const("mean", (0.1 * b.rng.standard_normal(cout)).astype(np.float32))
    var = b.const("var", (0.5 + b.rng.random(cout)).astype(np.float32))
    y = b.op("BatchNormalization", [y, scale, bias, mean, var], epsilon=1e-5)
    if relu6:
        lo, hi = b.const("zero", np.float32(0.0)), b.const("six", np.float32(6.0))
        y = b.op("Clip", [y, lo, hi])
    return y


def mobilenetv2(seed):
    b = Builder(seed)
    x = conv_bn(b, "input", 3, 32, 3, 2, 1, True)
    cin = 32
    # (expansion t, channels c, repeats n, first stride s), as in the paper.
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x
            if t != 1:
                y = conv_bn(b, y, cin, hidden, 1, 1, 1, True)
            y = conv_bn(b, y, hidden, hidden, 3, stride, hidden, True)
            y = conv_bn(b, y, hidden, c, 1, 1, 1, False)
            x = b.op("Add", [x, y]) if stride == 1 and cin == c else y
            cin = c
    x = conv_bn(b, x, cin, 1280, 1, 1, 1, True)
    x = b.op("GlobalAveragePool", [x])
    x = b.op("Flatten", [x], axis=1)
    w = b.weight("fc_w", (1000, 1280), 1280)
    bias = b.const("fc_b", np.zeros(1000, np.float32))
    y = b.op("Gemm", [x, w, bias], transB=1)
    graph = helper.make_graph(
        b.nodes, "mobilenetv2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 1000])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="asplitc-examples")
    inputs = [np.random.default_rng(seed + 1).random((1, 3, 224, 224), dtype=np.float32)]
    return model, inputs


def bert_block(seed, seq=128, hidden=768, heads=12, ffn=3072):
    b = Builder(seed)
    dh = hidden // heads

    def dense(x, fin, fout):
        w = b.weight("w", (fin, fout), fin)
        bias = b.const("b", (0.02 * b.rng.standard_normal(fout)).astype(np.float32))
        return b.op("Add", [b.op("MatMul", [x, w]), bias])

    def heads_of(x):
        shape = b.const("shape", np.array([1, seq, heads, dh], np.int64))
        return b.op("Transpose", [b.op("Reshape", [x, shape])], perm=[0, 2, 1, 3])

    def layer_norm(x):
        g = b.const("ln_g", (1.0 + 0.05 * b.rng.standard_normal(hidden)).astype(np.float32))
        beta = b.const("ln_b", (0.05 * b.rng.standard_normal(hidden)).astype(np.float32))
        return b.op("LayerNormalization", [x, g, beta], axis=-1, epsilon=1e-12)

    x = "hidden_states"
    q, k, v = (heads_of(dense(x, hidden, hidden)) for _ in range(3))
    kt = b.op("Transpose", [k], perm=[0, 1, 3, 2])
    scores = b.op("Div", [b.op("MatMul", [q, kt]), b.const("sqrt_dh", np.float32(np.sqrt(dh)))])
    scores = b.op("Add", [scores, "attention_mask"])
    probs = b.op("Softmax", [scores], axis=-1)
    ctx = b.op("Transpose", [b.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    ctx = b.op("Reshape", [ctx, b.const("shape", np.array([1, seq, hidden], np.int64))])
    x = layer_norm(b.op("Add", [dense(ctx, hidden, hidden), x]))
    h = dense(x, hidden, ffn)
    erf = b.op("Erf", [b.op("Div", [h, b.const("sqrt2", np.float32(np.sqrt(2.0)))])])
    gelu = b.op("Mul", [b.op("Mul", [h, b.op("Add", [erf, b.const("one", np.float32(1.0))])]), b.const("half", np.float32(0.5))])
    y = layer_norm(b.op("Add", [dense(gelu, ffn, hidden), x]))
    graph = helper.make_graph(
        b.nodes, "bert_block",
        [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, [1, seq, hidden]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, [1, 1, 1, seq])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, seq, hidden])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="asplitc-examples")
    rng = np.random.default_rng(seed + 1)
    mask = np.zeros((1, 1, 1, seq), np.float32)
    mask[..., seq - 16:] = -10000.0
    inputs = [rng.standard_normal((1, seq, hidden)).astype(np.float32), mask]
    return model, inputs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--only", choices=["mobilenetv2", "bert_block"])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    for name, build in [("mobilenetv2", mobilenetv2), ("bert_block", bert_block)]:
        if args.only and args.only != name:
            continue
        model, inputs = build(args.seed)
        model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(args.out_dir, f"{name}.onnx"))
        for i, x in enumerate(inputs):
            np.save(os.path.join(args.out_dir, f"{name}_input_{i}.npy"), x)
        try:
            import onnxruntime as ort
        except ImportError:
            continue
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = {inp.name: x for inp, x in zip(model.graph.input, inputs)}
        for i, y in enumerate(sess.run(None, feeds)):
            np.save(os.path.join(args.out_dir, f"{name}_expected_{i}.npy"), y)


if __name__ == "__main__":
    main()
