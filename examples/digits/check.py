#!/usr/bin/env python3
"""Checks that `asplitc run` on digits_cnn.onnx agrees with ONNX Runtime on every held-out
image (same top-1 class), and prints both accuracies against validation/labels.npy.

Usage: python3 examples/digits/check.py [PATH/TO/asplitc]
(default: target/release/asplitc, else target/debug/asplitc, from the repository root).
Exits non-zero on any disagreement. Runs asplitc once per image, as a user would; it does
not compile anything.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def asplitc_path():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for profile in ("release", "debug"):
        p = os.path.join(ROOT, "target", profile, "asplitc")
        if os.path.exists(p):
            return p
    sys.exit("asplitc not built: run `cargo build --release -p asplitc` or pass its path")


def main():
    exe = asplitc_path()
    model = os.path.join(HERE, "digits_cnn.onnx")
    images = np.load(os.path.join(HERE, "validation", "images.npy"))
    labels = np.load(os.path.join(HERE, "validation", "labels.npy"))
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    disagree, ours_ok, ref_ok, max_diff = 0, 0, 0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
        for i, (img, label) in enumerate(zip(images, labels)):
            x = img[None].astype(np.float32)
            ref = sess.run(None, {"image": x})[0]
            np.save(inp, x)
            subprocess.run([exe, "run", model, "--input", inp, "--output", out], check=True)
            ours = np.load(out)
            max_diff = max(max_diff, float(np.abs(ours - ref).max()))
            a, b = int(ours.argmax()), int(ref.argmax())
            disagree += a != b
            ours_ok += a == label
            ref_ok += b == label
            if a != b:
                print(f"image {i}: asplitc says {a}, onnxruntime {b}")
    n = len(labels)
    print(f"{n} held-out images: asplitc accuracy {ours_ok / n:.4f}, onnxruntime {ref_ok / n:.4f}")
    print(f"top-1 disagreements: {disagree}; largest logit difference {max_diff:.2e}")
    sys.exit(1 if disagree else 0)


if __name__ == "__main__":
    main()
