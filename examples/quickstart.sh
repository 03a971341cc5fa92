#!/usr/bin/env bash
# The README's first command: sets up a fresh machine (LLVM 19, Python reference tools),
# builds asplitc, generates the tiny example CNN, imports it and writes its IR, runs it with
# the reference interpreter, and compares the result with ONNX Runtime.
# (Compiling into edge and cloud executables arrives with the codegen and split milestones.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cargo build --release --locked -p asplitc
ASPLITC=target/release/asplitc
WORK=target/quickstart
rm -rf "$WORK" && mkdir -p "$WORK"

echo "== generating the example model (examples/tiny_cnn/make_model.py)"
python3 examples/tiny_cnn/make_model.py "$WORK"

echo "== asplitc $WORK/model.onnx -o $WORK/out --emit ir"
"$ASPLITC" "$WORK/model.onnx" -o "$WORK/out" --emit ir
head -n 12 "$WORK/out/model.air"
echo "   … ($(wc -l < "$WORK/out/model.air") lines in $WORK/out/model.air)"

echo "== asplitc run (reference interpreter)"
"$ASPLITC" run "$WORK/model.onnx" --input "$WORK/input_0.npy" --output "$WORK/probs.npy"

python3 - "$WORK" <<'PY'
import sys, numpy as np
w = sys.argv[1]
ours, ref = np.load(f"{w}/probs.npy"), np.load(f"{w}/expected_0.npy")
print("asplitc      :", np.array2string(ours[0], precision=4))
print("onnxruntime  :", np.array2string(ref[0], precision=4))
err = float(np.max(np.abs(ours - ref)))
print(f"max |difference| = {err:.2e}; top-1 asplitc={ours.argmax()} ort={ref.argmax()}")
sys.exit(0 if np.allclose(ours, ref, rtol=1e-4, atol=1e-6) else 1)
PY
