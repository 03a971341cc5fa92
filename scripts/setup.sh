#!/usr/bin/env bash
# Installs what asplitc needs on a fresh Debian 12 (bookworm) x86-64 machine, skipping
# whatever is already there: LLVM 19 development files (for the code generator), and the
# Python reference tools used by tests and benchmarks (onnx, onnxruntime, numpy).
# asplitc itself never runs Python. Needs root (or sudo) for apt-get; idempotent.
set -euo pipefail

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_packages=(llvm-19-dev libpolly-19-dev libzstd-dev zlib1g-dev)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
    log "LLVM 19 is installed"
fi

PYTHON="${ASPLIT_PYTHON:-python3}"
if ! "$PYTHON" - <<'PY' >/dev/null 2>&1
import onnx, onnxruntime, numpy, sklearn
assert onnx.__version__ == "1.23.2", onnx.__version__
assert onnxruntime.__version__ == "1.32.0", onnxruntime.__version__
assert sklearn.__version__ == "1.9.1", sklearn.__version__
PY
then
    log "installing onnx==1.23.2 onnxruntime==1.32.0 numpy scikit-learn==1.9.1"
    "$PYTHON" -m pip install -q onnx==1.23.2 onnxruntime==1.32.0 numpy scikit-learn==1.9.1
else
    log "Python reference tools are installed"
fi

if ! command -v cargo >/dev/null 2>&1; then
    log "cargo is missing: install Rust (rustup) first"
    exit 1
fi
log "ready"
