#!/usr/bin/env python3
"""Trains a small CNN on scikit-learn's 8x8 digits with a hand-written numpy backward pass and
exports it as ONNX, with a calibration folder and a held-out validation folder for asplitc.

Model (opset 13, input `image` f32[1,1,8,8] with pixels scaled to [0, 1], output `logits`
f32[1,10]): Conv 3x3 8ch (pad 1) -> Relu -> MaxPool 2x2 -> Conv 3x3 16ch (pad 1) -> Relu ->
MaxPool 2x2 -> Flatten -> Gemm 64->10.

Writes, next to this script:
  digits_cnn.onnx
  calibration/train_images.npy     64 training images, f32[64,1,8,8]
  validation/images.npy            the held-out images, f32[N,1,8,8]
  validation/labels.npy            their classes, int64[N]

Everything is seeded: rerunning reproduces the same files. Needs numpy, onnx and scikit-learn
(only for `load_digits`, which ships the data; nothing is downloaded). Does not use
onnxruntime; check.py compares asplitc with it.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

SEED = 0
HELD_OUT = 0.2
EPOCHS = 40
BATCH = 32
LR = 0.01
CALIBRATION_IMAGES = 64
HERE = os.path.dirname(os.path.abspath(__file__))


def split(x, y, rng):
    """Stratified split: HELD_OUT of each class goes to the test set."""
    test = []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test.extend(idx[: int(round(len(idx) * HELD_OUT))])
    test = np.sort(np.array(test))
    train = np.setdiff1d(np.arange(len(y)), test)
    rng.shuffle(train)
    return x[train], y[train], x[test], y[test]


def im2col(x):
    """[N,C,H,W] -> [N, H*W, C*9] patches of a 3x3 'same' convolution."""
    n, c, h, w = x.shape
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, c, 3, 3, h, w), dtype=x.dtype)
    for i in range(3):
        for j in range(3):
            cols[:, :, i, j] = p[:, :, i : i + h, j : j + w]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n, h * w, c * 9)


def col2im(dcols, shape):
    """Adjoint of im2col."""
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 3, 3).transpose(0, 3, 4, 5, 1, 2)
    dp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    for i in range(3):
        for j in range(3):
            dp[:, :, i : i + h, j : j + w] += d[:, :, i, j]
    return dp[:, :, 1:-1, 1:-1]


def conv_forward(x, w, b):
    n, _, h, wd = x.shape
    cols = im2col(x)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.reshape(n, h, wd, -1).transpose(0, 3, 1, 2), cols


def conv_backward(dout, cols, x_shape, w):
    n, oc, h, wd = dout.shape
    d = dout.transpose(0, 2, 3, 1).reshape(n, h * wd, oc)
    dw = np.einsum("npo,npk->ok", d, cols).reshape(w.shape)
    db = d.sum(axis=(0, 1))
    dx = col2im(d @ w.reshape(oc, -1), x_shape)
    return dx, dw, db


def pool_forward(x):
    n, c, h, w = x.shape
    r = x.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    mask = r == out[:, :, :, None, :, None]
    return out, mask


def pool_backward(dout, mask):
    d = mask * dout[:, :, :, None, :, None]
    n, c, h2, _, w2, _ = mask.shape
    return d.reshape(n, c, h2 * 2, w2 * 2)


def init_params(rng):
    def he(shape, fan_in):
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    return {
        "w1": he((8, 1, 3, 3), 9),
        "b1": np.zeros(8, np.float32),
        "w2": he((16, 8, 3, 3), 72),
        "b2": np.zeros(16, np.float32),
        "w3": he((10, 64), 64),
        "b3": np.zeros(10, np.float32),
    }


def forward(p, x):
    c1, cols1 = conv_forward(x, p["w1"], p["b1"])
    r1 = np.maximum(c1, 0)
    p1, m1 = pool_forward(r1)
    c2, cols2 = conv_forward(p1, p["w2"], p["b2"])
    r2 = np.maximum(c2, 0)
    p2, m2 = pool_forward(r2)
    f = p2.reshape(len(x), -1)
    logits = f @ p["w3"].T + p["b3"]
    cache = (x, c1, cols1, m1, p1, c2, cols2, m2, p2, f)
    return logits, cache


def backward(p, cache, dlogits):
    x, c1, cols1, m1, p1, c2, cols2, m2, p2, f = cache
    g = {"w3": dlogits.T @ f, "b3": dlogits.sum(axis=0)}
    dp2 = (dlogits @ p["w3"]).reshape(p2.shape)
    dc2 = pool_backward(dp2, m2) * (c2 > 0)
    dp1, g["w2"], g["b2"] = conv_backward(dc2, cols2, p1.shape, p["w2"])
    dc1 = pool_backward(dp1, m1) * (c1 > 0)
    _, g["w1"], g["b1"] = conv_backward(dc1, cols1, x.shape, p["w1"])
    return g


def softmax_xent(logits, y):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    prob = e / e.sum(axis=1, keepdims=True)
    loss = -np.log(prob[np.arange(len(y)), y] + 1e-12).mean()
    d = prob.copy()
    d[np.arange(len(y)), y] -= 1
    return loss, d / len(y)


def train(x, y, rng):
    p = init_params(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    step = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(x))
        losses = []
        for s in range(0, len(x), BATCH):
            idx = order[s : s + BATCH]
            logits, cache = forward(p, x[idx])
            loss, d = softmax_xent(logits, y[idx])
            losses.append(loss)
            grads = backward(p, cache, d)
            step += 1
            for k in p:  # Adam
                m[k] = 0.9 * m[k] + 0.1 * grads[k]
                v[k] = 0.999 * v[k] + 0.001 * grads[k] ** 2
                mh = m[k] / (1 - 0.9**step)
                vh = v[k] / (1 - 0.999**step)
                p[k] = (p[k] - LR * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: loss {np.mean(losses):.4f}")
    return p


def accuracy(p, x, y):
    logits, _ = forward(p, x)
    return float((logits.argmax(axis=1) == y).mean())


def export(p, path):
    inits = [numpy_helper.from_array(p[k], k) for k in ("w1", "b1", "w2", "b2", "w3", "b3")]
    pool = dict(kernel_shape=[2, 2], strides=[2, 2])
    conv = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", **conv),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", **pool),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", **conv),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", **pool),
        helper.make_node("Flatten", ["p2"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="asplitc-digits"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    y = digits.target.astype(np.int64)
    xtr, ytr, xte, yte = split(x, y, rng)
    p = train(xtr, ytr, rng)
    train_acc, test_acc = accuracy(p, xtr, ytr), accuracy(p, xte, yte)
    print(f"train accuracy {train_acc:.4f}, held-out accuracy {test_acc:.4f} ({len(yte)} images)")
    if test_acc < 0.95:
        sys.exit(f"held-out accuracy {test_acc:.4f} is below 0.95")
    export(p, os.path.join(HERE, "digits_cnn.onnx"))
    os.makedirs(os.path.join(HERE, "calibration"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "validation"), exist_ok=True)
    np.save(os.path.join(HERE, "calibration", "train_images.npy"), xtr[:CALIBRATION_IMAGES])
    np.save(os.path.join(HERE, "validation", "images.npy"), xte)
    np.save(os.path.join(HERE, "validation", "labels.npy"), yte)


if __name__ == "__main__":
    main()
