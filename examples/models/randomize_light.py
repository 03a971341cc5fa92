#!/usr/bin/env python3
"""Give an ONNX backend "light" model seeded random weights.

The light models (light_resnet50.onnx, …) build every weight with ConstantOfShape: each tensor
holds one repeated value. That is enough to test operators, but a constant tensor quantizes
without error at any bit-width, so the planner would see zero weight distortion everywhere.
This script replaces each ConstantOfShape weight by a seeded random initializer of the same
shape, keeping the network numerically sane:

- conv / gemm weights (rank ≥ 2): He-normal, N(0, 2 / fan_in);
- batch-norm variance (`*_riv_*`, `*_var*`): the constant × U(0.5, 1.5) (stays positive);
- every other rank-1 tensor (scales, biases, means): the constant + 0.1·N(0, 1) (scales
  around their value).

Usage: python3 examples/models/randomize_light.py IN.onnx OUT.onnx [--seed N]
The output is a few tens of MB for ResNet-50: generate it, do not commit it.
"""

import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper


def constant_of_shape(node, inits):
    """(shape, fill value) of a ConstantOfShape node with a constant shape, else None."""
    if node.op_type != "ConstantOfShape" or node.input[0] not in inits:
        return None
    shape = [int(d) for d in numpy_helper.to_array(inits[node.input[0]])]
    value = 0.0
    for a in node.attribute:
        if a.name == "value":
            value = float(numpy_helper.to_array(a.t).reshape(-1)[0])
    return shape, value


def random_weight(name, shape, value, rng):
    """A random tensor standing in for a constant weight (see the module doc)."""
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        return rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), size=shape).astype(np.float32)
    if "riv" in name or "var" in name:
        return (value * rng.uniform(0.5, 1.5, size=shape)).astype(np.float32)
    return (value + 0.1 * rng.normal(size=shape)).astype(np.float32)


def randomize(model, seed):
    """Replaces every ConstantOfShape weight of `model` in place; returns how many."""
    rng = np.random.default_rng(seed)
    inits = {t.name: t for t in model.graph.initializer}
    kept, replaced = [], 0
    for node in model.graph.node:
        found = constant_of_shape(node, inits)
        if found is None:
            kept.append(node)
            continue
        shape, value = found
        out = node.output[0]
        array = random_weight(out, shape, value, rng)
        model.graph.initializer.append(numpy_helper.from_array(array, out))
        if model.ir_version < 4:
            # Before IR version 4 every initializer must also be a graph input.
            model.graph.input.append(helper.make_tensor_value_info(out, onnx.TensorProto.FLOAT, shape))
        replaced += 1
    del model.graph.node[:]
    model.graph.node.extend(kept)
    return replaced


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = onnx.load(args.input)
    n = randomize(model, args.seed)
    onnx.checker.check_model(model)
    onnx.save(model, args.output)
    print(f"{args.output}: {n} weights randomized (seed {args.seed})")


if __name__ == "__main__":
    main()
