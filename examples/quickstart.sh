#!/usr/bin/env bash
# The README's first command: sets up a fresh machine (LLVM 19, Python reference tools),
# builds asplitc, generates the tiny example CNN, imports it and writes its IR, runs it with
# the reference interpreter and as a compiled native program, and compares both with ONNX
# Runtime; then plans the edge-cloud split of the digits CNN with real accuracy validation.
# (The split edge and cloud executables talking over the network arrive with the split
# milestone.)
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

echo "== asplitc $WORK/model.onnx -o $WORK/native --split edge-only --bits f32 (native program)"
"$ASPLITC" "$WORK/model.onnx" -o "$WORK/native" --split edge-only --bits f32
"$WORK/native/edge" --info
"$WORK/native/edge" --input "$WORK/input_0.npy" --output "$WORK/native_probs.npy"

python3 - "$WORK" <<'PY'
import sys, numpy as np
w = sys.argv[1]
ref = np.load(f"{w}/expected_0.npy")
ok = True
for name, path in [("interpreter", "probs.npy"), ("native edge", "native_probs.npy")]:
    ours = np.load(f"{w}/{path}")
    err = float(np.max(np.abs(ours - ref)))
    print(f"{name:12}: {np.array2string(ours[0], precision=4)}  max |diff| = {err:.2e}, top-1 {ours.argmax()}")
    ok = ok and np.allclose(ours, ref, rtol=1e-4, atol=1e-6)
print(f"onnxruntime : {np.array2string(ref[0], precision=4)}  top-1 {ref.argmax()}")
sys.exit(0 if ok else 1)
PY

echo "== asplitc plan examples/digits/digits_cnn.onnx (calibration + real accuracy per solution)"
"$ASPLITC" plan examples/digits/digits_cnn.onnx --calibration examples/digits/calibration \
    --validate examples/digits/validation --max-accuracy-drop 1 -o "$WORK/plan.json" > "$WORK/plan.txt"
head -n 12 "$WORK/plan.txt"
echo "   (every solution in $WORK/plan.json; method: docs/plan.md)"
