#!/usr/bin/env bash
# Tagging benchmark: photox's in-process tagging (tract) next to onnxruntime on the same model
# and the same preprocessed input, both on ONE core (taskset -c 0, one thread each).
#
# What is measured, per photo: ROUNDS rounds, each running photox then onnxruntime (RUNS runs
# each after one warm-up, median), so that both see the same background load; the figures are
# the medians of the round medians:
#   photox preprocess  decode (JPEG at a DCT scale keeping the short side >= 256), orientation,
#                      centre 224 crop resized in one pass, normalised NCHW tensor
#   photox inference   tract, the embedded int8-weight model, optimised plan built once
#   onnxruntime        InferenceSession.run on the tensor photox produced (dumped to a file),
#                      one intra-op thread (it runs on the calling thread), all graph
#                      optimisations on
#   ratio              photox inference / onnxruntime (the goal is <= 1.5), on wall time and
#                      on the thread's CPU time (CPU time is not inflated when other processes
#                      share the core, which wall time is on a busy machine)
#   max |dlogit|       largest difference between tract's and onnxruntime's logits
# and for the process: RSS before the model is loaded, after loading + the inferences, and after
# the idle unload (anonymous memory shown too: the rest is the binary's own code pages).
#
# Photos: the real ones in tests/fixtures/tagging/ plus a 12 MP JPEG (rocket.jpg upscaled to
# 3000x4000 with Pillow, quality 90) for the cost of decoding a camera-sized file.
#
# Usage: bench/tagging.sh     (RUNS=21, ROUNDS=5 by default; BENCH_DIR for the scratch directory)
# Builds examples/tag_bench in release mode; set CARGO_TARGET_DIR to keep it apart.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-21}
ROUNDS=${ROUNDS:-5}
WORK=${BENCH_DIR:-/tmp/photox-tagging-bench}
TARGET=${CARGO_TARGET_DIR:-target}
ORT_VERSION=1.31.1
mkdir -p "$WORK/dump"

if [ ! -x "$WORK/venv/bin/python" ] || ! "$WORK/venv/bin/python" -c "import onnxruntime" 2>/dev/null; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q "onnxruntime==$ORT_VERSION" numpy==2.4.6 pillow==13.0.0
fi
PY="$WORK/venv/bin/python"

FIXTURES=tests/fixtures/tagging
BIG="$WORK/rocket_12mp.jpg"
[ -f "$BIG" ] || "$PY" - "$FIXTURES/rocket.jpg" "$BIG" <<'PY'
import sys
from PIL import Image
Image.open(sys.argv[1]).convert("RGB").resize((3000, 4000), Image.LANCZOS).save(sys.argv[2], quality=90)
PY
IMAGES=("$FIXTURES/chelsea.png" "$FIXTURES/coffee.png" "$FIXTURES/flower2.jpg" "$FIXTURES/rocket.jpg" "$BIG")

echo "building examples/tag_bench (release) ..." >&2
cargo build --release --quiet --example tag_bench
BENCH="$TARGET/release/examples/tag_bench"

names=()
for image in "${IMAGES[@]}"; do names+=("$(basename "$image")"); done
cat >"$WORK/ort.py" <<'PY'
import statistics, sys, time
import numpy as np
import onnxruntime as ort
runs, dump, model, names = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.inter_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
for name in names:
    x = np.fromfile(f"{dump}/{name}.input.f32", dtype="<f4").reshape(1, 3, 224, 224)
    tract = np.fromfile(f"{dump}/{name}.logits.f32", dtype="<f4")
    logits = session.run(None, {"input": x})[0][0]
    times, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        session.run(None, {"input": x})
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    print(f"{name} {statistics.median(times):.2f} {np.abs(logits - tract).max():.2e} {statistics.median(cpu):.2f}")
PY
: >"$WORK/photox.txt"
: >"$WORK/ort.txt"
for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS ..." >&2
    taskset -c 0 "$BENCH" --runs "$RUNS" --dump "$WORK/dump" "${IMAGES[@]}" >>"$WORK/photox.txt"
    taskset -c 0 "$PY" "$WORK/ort.py" "$RUNS" "$WORK/dump" assets/model/efficientnet_lite0_int8.onnx \
        "${names[@]}" >>"$WORK/ort.txt"
done

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); one core (taskset -c 0); medians of $ROUNDS rounds of $RUNS runs; times in ms"
echo "load: $(uptime | sed 's/.*load average: //')"
echo
echo "| photo | photox preprocess | photox inference | photox total | onnxruntime inference | ratio | photox inference CPU | onnxruntime CPU | ratio CPU | max abs logit diff | tags |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for name in "${names[@]}"; do
    lines=$(grep "^image=$name " "$WORK/photox.txt")
    inference=$(field inference_ms <<<"$lines" | median)
    ort=$(grep "^$name " "$WORK/ort.txt" | cut -d' ' -f2 | median)
    diff=$(grep "^$name " "$WORK/ort.txt" | cut -d' ' -f3 | sort -g | tail -1)
    cpu=$(field inference_cpu_ms <<<"$lines" | median)
    ort_cpu=$(grep "^$name " "$WORK/ort.txt" | cut -d' ' -f4 | median)
    printf '| %s | %s | %s | %s | %s | %.2f | %s | %s | **%.2f** | %s | %s |\n' "$name" \
        "$(field preprocess_ms <<<"$lines" | median)" "$inference" \
        "$(field total_ms <<<"$lines" | median)" "$ort" "$(echo "$inference / $ort" | bc -l)" \
        "$cpu" "$ort_cpu" "$(echo "$cpu / $ort_cpu" | bc -l)" \
        "$diff" "$(field tags <<<"$lines" | head -1)"
done
all_photox=$(grep '^image=' "$WORK/photox.txt" | field inference_ms | median)
all_ort=$(cut -d' ' -f2 "$WORK/ort.txt" | median)
all_cpu=$(grep '^image=' "$WORK/photox.txt" | field inference_cpu_ms | median)
all_ort_cpu=$(cut -d' ' -f4 "$WORK/ort.txt" | median)
printf '| all photos | | %s | | %s | %.2f | %s | %s | **%.2f** | | |\n' "$all_photox" "$all_ort" \
    "$(echo "$all_photox / $all_ort" | bc -l)" "$all_cpu" "$all_ort_cpu" \
    "$(echo "$all_cpu / $all_ort_cpu" | bc -l)"
mem=$(grep -m1 '^rss_before_kb' "$WORK/photox.txt")
kb() { printf '%.1f' "$(echo "$(field "$1" <<<"$mem") / 1024" | bc -l)"; }
echo
echo "model load (parse + optimise): $(field load_ms <<<"$mem") ms"
echo "RSS: before load $(kb rss_before_kb) MB; loaded + inferences $(kb rss_loaded_kb) MB; after idle unload $(kb rss_unloaded_kb) MB"
echo "anonymous RSS: before $(kb anon_before_kb) MB; loaded $(kb anon_loaded_kb) MB; after unload $(kb anon_unloaded_kb) MB"
