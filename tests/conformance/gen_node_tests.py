"""Writes the ONNX backend *node* test cases to disk in the backend test-data layout.

`python -m onnx.backend.test.cmd_tools generate-data` (onnx 1.23) writes only the model
cases; the per-operator node cases live in `onnx.backend.test.case.node`. This script collects
them and writes, per case, `OUT/<test_name>/model.onnx` and
`OUT/<test_name>/test_data_set_<i>/{input,output}_<j>.pb` — the layout the conformance test
reads. Cases whose inputs or outputs are sequences, maps or optionals are written with a
`SKIP` file naming the reason (asplitc handles tensors only). Reference tool only: asplitc
never runs Python.

Usage: python3 gen_node_tests.py OUT_DIR
"""

import os
import shutil
import sys
import warnings

import numpy as np
import onnx
from onnx import numpy_helper
import onnx.backend.test.case.node as node_test


def to_proto(x):
    if isinstance(x, onnx.TensorProto):
        return x
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return numpy_helper.from_array(np.asarray(x))
    return None


def write_case(out, case):
    d = os.path.join(out, case.name)
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    for i, (inputs, outputs) in enumerate(case.data_sets):
        ds = os.path.join(d, f"test_data_set_{i}")
        os.makedirs(ds)
        for kind, values in (("input", inputs), ("output", outputs)):
            for j, x in enumerate(values):
                p = to_proto(x)
                if p is None:
                    with open(os.path.join(d, "SKIP"), "w") as f:
                        f.write(f"{kind} {j} is a {type(x).__name__}, not a tensor\n")
                    continue
                with open(os.path.join(ds, f"{kind}_{j}.pb"), "wb") as f:
                    f.write(p.SerializeToString())


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = node_test.collect_testcases(None)
    for case in cases:
        write_case(out, case)
    with open(os.path.join(out, "VERSION"), "w") as f:
        f.write(f"onnx {onnx.__version__}, {len(cases)} cases\n")
    print(f"wrote {len(cases)} node test cases to {out}")


if __name__ == "__main__":
    main()
