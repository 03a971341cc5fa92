#!/usr/bin/env bash
# The README's first command: sets up a fresh machine (LLVM 19, Python reference tools),
# builds asplitc, generates the tiny example CNN, imports it and writes its IR, runs it with
# the reference interpreter and as a compiled native program, and compares both with ONNX
# Runtime; then compiles the digits CNN for a small edge device: asplitc chooses the split and
# the bits, writes out/edge and out/cloud, and the two programs classify held-out digits over
# TCP on 127.0.0.1 (results, bytes sent, timings); finally the plan with real accuracy
# validation of every solution.
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

DIGITS=examples/digits
echo "== asplitc $DIGITS/digits_cnn.onnx -o $WORK/digits --edge-memory 1KiB (auto split → edge + cloud)"
"$ASPLITC" "$DIGITS/digits_cnn.onnx" -o "$WORK/digits" --calibration "$DIGITS/calibration" \
    --edge-memory 1KiB
"$WORK/digits/edge" --info
python3 - "$WORK" "$DIGITS/validation" <<'PY'
import sys, numpy as np
w, v = sys.argv[1], sys.argv[2]
x, y = np.load(f"{v}/images.npy"), np.load(f"{v}/labels.npy")
for i in range(5):
    np.save(f"{w}/digit_{i}.npy", x[i:i + 1])
np.save(f"{w}/digit_labels.npy", y[:5])
PY
"$WORK/digits/cloud" --listen 127.0.0.1:0 --workers 2 2> "$WORK/cloud.log" &
CLOUD=$!
trap 'kill $CLOUD 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q " on " "$WORK/cloud.log" && break; sleep 0.1; done
ADDR=$(sed -n 's/.* on \([^ ]*\) with.*/\1/p' "$WORK/cloud.log" | head -n 1)
echo "== cloud listening on $ADDR; edge --connect $ADDR for 5 held-out digits"
for i in 0 1 2 3 4; do
    "$WORK/digits/edge" --input "$WORK/digit_$i.npy" --connect "$ADDR" --output "$WORK/logits_$i.npy"
done
python3 - "$WORK" <<'PY'
import sys, numpy as np
w = sys.argv[1]
labels = np.load(f"{w}/digit_labels.npy")
for i in range(5):
    print(f"digit {i}: predicted {int(np.load(f'{w}/logits_{i}.npy').argmax())}, label {int(labels[i])}")
PY
echo "== edge --bench 20 --connect $ADDR (edge compute, transmit, round trip)"
"$WORK/digits/edge" --input "$WORK/digit_0.npy" --connect "$ADDR" --bench 20
kill $CLOUD 2>/dev/null || true

echo "== asplitc plan $DIGITS/digits_cnn.onnx (calibration + real accuracy per solution)"
"$ASPLITC" plan examples/digits/digits_cnn.onnx --calibration examples/digits/calibration \
    --validate examples/digits/validation --max-accuracy-drop 1 -o "$WORK/plan.json" > "$WORK/plan.txt"
head -n 12 "$WORK/plan.txt"
echo "   (every solution in $WORK/plan.json; method: docs/plan.md)"
