"""Builds the tiny example CNN (seeded random weights) and a matching input.

The model is an 8x8 single-channel image classifier in the shape of the digits CNN that a
later milestone trains: Conv(3x3) → BatchNormalization → Relu → MaxPool → Conv(3x3) → Relu
→ GlobalAveragePool → Flatten → Gemm → Softmax, opset 13. It exercises the importer
(batch norm, pooling, flatten, gemm) and the interpreter end to end. Writes, into OUT_DIR:
model.onnx, input_0.npy (a seeded random image) and, when onnxruntime is installed,
expected_0.npy (ONNX Runtime's output, for comparison).

Usage: python3 make_model.py OUT_DIR [--seed N]
"""

import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)

    def init(name, *shape, scale=0.3):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    inits = [
        init("w1", 8, 1, 3, 3),
        init("b1", 8, scale=0.1),
        numpy_helper.from_array((1.0 + 0.1 * rng.standard_normal(8)).astype(np.float32), "bn_scale"),
        init("bn_bias", 8, scale=0.1),
        init("bn_mean", 8, scale=0.1),
        numpy_helper.from_array((0.5 + rng.random(8)).astype(np.float32), "bn_var"),
        init("w2", 16, 8, 3, 3, scale=0.2),
        init("b2", 16, scale=0.1),
        init("wfc", 10, 16, scale=0.5),
        init("bfc", 10, scale=0.1),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("BatchNormalization", ["c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"], ["n1"], name="bn1"),
        helper.make_node("Relu", ["n1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], name="conv2"),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["f", "wfc", "bfc"], ["logits"], transB=1, name="fc"),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1, name="softmax"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="asplitc-examples")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    model = build(args.seed)
    onnx.save(model, os.path.join(args.out_dir, "model.onnx"))
    image = np.random.default_rng(args.seed + 1).random((1, 1, 8, 8), dtype=np.float32)
    np.save(os.path.join(args.out_dir, "input_0.npy"), image)
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (probs,) = sess.run(None, {"image": image})
    np.save(os.path.join(args.out_dir, "expected_0.npy"), probs)


if __name__ == "__main__":
    main()
