#!/usr/bin/env python3
"""Benchmark: asplitc-compiled programs against ONNX Runtime, single-threaded (issue 4).

For each model (ResNet-50 and VGG-19 from the ONNX backend "light" models, whose weights are
seeded random constants; MobileNetV2 and the BERT encoder block of
examples/models/make_models.py) this script:

1. compiles it with `asplitc MODEL -o OUT --split edge-only --bits f32` under
   `/usr/bin/time -v` (compile wall time and the compiler's peak RSS);
2. runs `OUT/edge --input … --bench N` under `/usr/bin/time -v` (the program's median
   latency as it reports it, and its peak RSS), and once more with `--output-dir` to check the
   result against ONNX Runtime;
3. runs ONNX Runtime (CPU provider, `intra_op_num_threads = 1`, same inputs, a warm-up, then
   N timed runs) in this same process and run;

and writes the table to docs/performance.md (or prints it with --print-only). It is a
measurement, not a test: nothing here fails on a slow result.

With --layers it times single Conv+ReLU layers typical of the models instead (same protocol,
one compiled program per layer) and fills the second table of docs/performance.md.

Usage: python3 bench/run.py [--runs N] [--models resnet50,mobilenetv2,...] [--layers]
       [--print-only] [--asplitc PATH] [--no-build]
"""

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
GENERATED = os.path.join(ROOT, "target", "models")
MODELS = ["resnet50", "mobilenetv2", "vgg19", "bert_block"]


def model_path(name):
    """The ONNX file of a benchmark model, generating the make_models.py ones if needed."""
    if name in ("resnet50", "vgg19"):
        return os.path.join(LIGHT, f"light_{name}.onnx")
    path = os.path.join(GENERATED, f"{name}.onnx")
    if not os.path.exists(path):
        script = os.path.join(ROOT, "examples", "models", "make_models.py")
        subprocess.run([sys.executable, script, GENERATED, "--only", name], check=True)
    return path


def model_inputs(name, path):
    """The inputs: make_models.py's saved ones, or the light-model arange convention."""
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {}
    for i, inp in enumerate(sess.get_inputs()):
        saved = os.path.join(GENERATED, f"{name}_input_{i}.npy")
        if name not in ("resnet50", "vgg19") and os.path.exists(saved):
            feeds[inp.name] = np.load(saved)
            continue
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        n = int(np.prod(shape))
        feeds[inp.name] = (np.arange(n, dtype=np.float64) / n).reshape(shape).astype(np.float32)
    return feeds


# Single conv layers (+ ReLU) typical of the benchmark models:
# (name, N, C, H, W, M, kernel, stride, pad, group).
LAYERS = [
    ("resnet 7x7/2 stem", 1, 3, 224, 224, 64, 7, 2, 3, 1),
    ("resnet 1x1 256>64 56²", 1, 256, 56, 56, 64, 1, 1, 0, 1),
    ("resnet 3x3 64 56²", 1, 64, 56, 56, 64, 3, 1, 1, 1),
    ("resnet 3x3/2 128 56²", 1, 128, 56, 56, 128, 3, 2, 1, 1),
    ("resnet 3x3 256 14²", 1, 256, 14, 14, 256, 3, 1, 1, 1),
    ("resnet 3x3 512 7²", 1, 512, 7, 7, 512, 3, 1, 1, 1),
    ("resnet 1x1/2 1024>2048 14²", 1, 1024, 14, 14, 2048, 1, 2, 0, 1),
    ("mobilenet dw 3x3 32 112²", 1, 32, 112, 112, 32, 3, 1, 1, 32),
    ("mobilenet dw 3x3/2 96 112²", 1, 96, 112, 112, 96, 3, 2, 1, 96),
    ("mobilenet dw 3x3 144 56²", 1, 144, 56, 56, 144, 3, 1, 1, 144),
]


def layer_model(spec, work):
    """An ONNX model of one Conv + Relu with seeded weights; returns (path, feeds, MFLOP)."""
    from onnx import TensorProto, helper

    name, n, c, h, w, m, k, s, p, g = spec
    rng = np.random.default_rng(0)
    wt = rng.uniform(-0.1, 0.1, (m, c // g, k, k)).astype(np.float32)
    b = rng.uniform(-0.1, 0.1, m).astype(np.float32)
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    conv = helper.make_node("Conv", ["x", "W", "B"], ["c"], strides=[s, s], pads=[p] * 4, group=g)
    relu = helper.make_node("Relu", ["c"], ["y"])
    graph = helper.make_graph(
        [conv, relu],
        "layer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, m, oh, ow])],
        [numpy_helper.from_array(wt, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(work, "layer_" + re.sub(r"[^A-Za-z0-9]+", "_", name) + ".onnx")
    onnx.save(model, path)
    x = rng.uniform(-1, 1, (n, c, h, w)).astype(np.float32)
    mflop = 2 * n * m * (c // g) * k * k * oh * ow / 1e6
    return path, {"x": x}, mflop


def bench_layer(spec, asplitc, runs, work):
    path, feeds, mflop = layer_model(spec, work)
    f = os.path.join(work, "layer_in.npy")
    np.save(f, feeds["x"])
    out_dir = os.path.join(work, "layer_out")
    shutil.rmtree(out_dir, ignore_errors=True)
    time_v([asplitc, path, "-o", out_dir, "--split", "edge-only", "--bits", "f32"])
    text, _, _ = time_v([os.path.join(out_dir, "edge"), "--input", f, "--bench", str(runs)])
    ours = parse_median_ms(text)
    theirs, _ = ort_median_ms(path, feeds, runs)
    return {"layer": spec[0], "mflop": mflop, "ours": ours, "ort": theirs}


def layer_table(rows):
    lines = [
        "| layer (+ReLU) | MFLOP | asplitc (ms) | GFLOP/s | ORT (ms) | GFLOP/s | asplitc / ORT |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layer']} | {r['mflop']:.0f} | {r['ours']:.3f} | {r['mflop'] / r['ours']:.0f} "
            f"| {r['ort']:.3f} | {r['mflop'] / r['ort']:.0f} | {r['ours'] / r['ort']:.2f} |"
        )
    return "\n".join(lines)


def weight_bytes(path):
    """Bytes of the weights: initializers, Constant tensors and ConstantOfShape results (the
    light models build their weights that way)."""
    m = onnx.shape_inference.infer_shapes(onnx.load(path))
    total = sum(numpy_helper.to_array(t).nbytes for t in m.graph.initializer if t.dims)
    shapes = {}
    for vi in m.graph.value_info:
        dims = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = int(np.prod(dims)) * 4 if dims and all(dims) else 0
    for node in m.graph.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    total += numpy_helper.to_array(a.t).nbytes
        elif node.op_type == "ConstantOfShape":
            total += shapes.get(node.output[0], 0)
    return total


def time_v(cmd, cwd=None):
    """Runs `cmd` under /usr/bin/time -v: (stdout, wall seconds, peak RSS in KiB)."""
    full = ["/usr/bin/time", "-v"] + cmd
    t0 = time.perf_counter()
    p = subprocess.run(full, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    return p.stdout + p.stderr, wall, int(m.group(1)) if m else -1


def parse_median_ms(text):
    """The median the program's --bench reports (`median 12.3 ms`, `median: 0.0123 s`, …)."""
    m = re.search(r"median[^0-9]*([0-9.]+)\s*(ms|us|µs|s)\b", text)
    if not m:
        raise RuntimeError(f"no median in --bench output:\n{text}")
    v, unit = float(m.group(1)), m.group(2)
    return v * {"ms": 1.0, "us": 1e-3, "µs": 1e-3, "s": 1e3}[unit]


def ort_median_ms(path, feeds, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out = sess.run(None, feeds)
    for _ in range(2):
        sess.run(None, feeds)
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        ts.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(ts)), out


def bench_model(name, asplitc, runs, work):
    path = model_path(name)
    feeds = model_inputs(name, path)
    in_files = []
    for i, arr in enumerate(feeds.values()):
        f = os.path.join(work, f"{name}_in{i}.npy")
        np.save(f, arr)
        in_files.append(f)
    out_dir = os.path.join(work, name)
    compile_cmd = [asplitc, path, "-o", out_dir, "--split", "edge-only", "--bits", "f32"]
    _, compile_s, compile_rss = time_v(compile_cmd)
    edge = os.path.join(out_dir, "edge")
    res_dir = os.path.join(work, f"{name}_out")
    os.makedirs(res_dir, exist_ok=True)
    time_v([edge, "--input", *in_files, "--output-dir", res_dir])
    text, _, run_rss = time_v([edge, "--input", *in_files, "--bench", str(runs)])
    ours = parse_median_ms(text)
    theirs, ort_out = ort_median_ms(path, feeds, runs)
    diff = 0.0
    for i, want in enumerate(ort_out):
        got = numpy_helper.to_array(onnx.load_tensor(os.path.join(res_dir, f"output_{i}.pb")))
        scale = max(1.0, float(np.max(np.abs(want))))
        diff = max(diff, float(np.max(np.abs(got.astype(np.float64) - want))) / scale)
    return {
        "model": name,
        "ours": ours,
        "ort": theirs,
        "compile_s": compile_s,
        "compile_rss": compile_rss,
        "run_rss": run_rss,
        "weights": weight_bytes(path),
        "diff": diff,
    }


def table(rows, runs, cmd):
    mib = lambda kib: f"{kib / 1024:.0f}"
    lines = [
        "| model | asplitc median (ms) | ORT median (ms) | asplitc / ORT | compile (s) "
        "| compile peak RSS (MiB) | program peak RSS (MiB) | weights (MiB) | max rel. diff vs ORT |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['ours']:.2f} | {r['ort']:.2f} | {r['ours'] / r['ort']:.2f} "
            f"| {r['compile_s']:.1f} | {mib(r['compile_rss'])} | {mib(r['run_rss'])} "
            f"| {r['weights'] / 2**20:.0f} | {r['diff']:.1e} |"
        )
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "\n".join(lines), (
        f"Measured by `{cmd}` on {cpu} ({os.cpu_count()} cores), one thread each, "
        f"{runs} timed runs after a warm-up, ONNX Runtime {ort.__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
    )


def write_doc(body, note, marker="bench"):
    path = os.path.join(ROOT, "docs", "performance.md")
    with open(path) as f:
        text = f.read()
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise RuntimeError(f"{path} lacks the {start} … {end} markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as f:
        f.write(f"{head}{start}\n{note}\n\n{body}\n{end}{tail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--asplitc", default=os.path.join(ROOT, "target", "release", "asplitc"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--print-only", action="store_true")
    ap.add_argument("--layers", action="store_true",
                    help="time single conv layers instead of the models")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "asplitc"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="asplitc-bench-")
    cmd = ("python3 bench/run.py " + " ".join(sys.argv[1:])).strip()
    if args.layers:
        try:
            rows = []
            for spec in LAYERS:
                r = bench_layer(spec, args.asplitc, args.runs, work)
                print(f"{r['layer']}: asplitc {r['ours']:.3f} ms, ORT {r['ort']:.3f} ms", flush=True)
                rows.append(r)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _, note = table([], args.runs, cmd)
        body = layer_table(rows)
        print(note + "\n\n" + body)
        if not args.print_only:
            write_doc(body, note, "layers")
        return
    rows = []
    try:
        for name in args.models.split(","):
            r = bench_model(name, args.asplitc, args.runs, work)
            print(f"{name}: asplitc {r['ours']:.2f} ms, ORT {r['ort']:.2f} ms, "
                  f"ratio {r['ours'] / r['ort']:.2f}, compile {r['compile_s']:.1f} s", flush=True)
            rows.append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body, note = table(rows, args.runs, cmd)
    print(note + "\n\n" + body)
    if not args.print_only:
        write_doc(body, note)


if __name__ == "__main__":
    main()
