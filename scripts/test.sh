#!/usr/bin/env bash
# Runs asplitc's whole test suite, as CI does: installs what is missing, then formatting,
# clippy, and every test (unit, filetests, diagnostics, ONNX conformance) with snapshots
# locked (INSTA_UPDATE=no). Fails on stray .snap.new files.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export INSTA_UPDATE=no
export LLVM_SYS_191_PREFIX="${LLVM_SYS_191_PREFIX:-/usr/lib/llvm-19}"
# A one-off build: incremental caches would double target/'s size on CI's small disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked --no-fail-fast 2>&1 | tee target/test-output.txt

stray=$(find . -name '*.snap.new' -not -path './target/*' | head -n 5)
if [ -n "$stray" ]; then
    echo "stray insta snapshots (run cargo insta review):" >&2
    echo "$stray" >&2
    exit 1
fi
grep -E '^test result:' target/test-output.txt | awk '{p+=$4; f+=$6; i+=$8} END {printf "%d passed, %d failed, %d skipped\n", p, f, i}'
echo "disk: target/ holds $(du -sh target | cut -f1)"
