#!/usr/bin/env bash
# Resumable upload benchmarks (issue 12): a 50 MB tus upload in one PATCH and in 10 PATCHes of
# 5 MB, next to the multipart POST /photos of the same file in the same run (the reference);
# the daemon's peak RSS growth during each tus upload; and the time to finish an upload cut
# off at 50 % (HEAD + PATCH of the rest) next to a whole one. RUNS (default 7) of each,
# interleaved; medians. The client is bench/tus_measure.py (Python's http.client, keep-alive,
# bodies from memory), the same for every path.
#
#   BENCH_DIR=<dir on the data disk> bash bench/tus.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-7}
cargo build --release --bin photox >&2
bin=${BENCH_BIN:-${CARGO_TARGET_DIR:-target}/release/photox}
work=$(mktemp -d "${BENCH_DIR:-$PWD}/.bench-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export PHOTOX_LOG__TARGET=stderr PHOTOX_LOG__LEVEL=warn
export PHOTOX_LIMITS__REQUESTS_PER_MINUTE=1000000000 PHOTOX_LIMITS__UPLOAD_PER_MINUTE=1000000
export PHOTOX_STORAGE__MAX_UPLOAD_MB=100 PHOTOX_STORAGE__MIN_FREE_MB=64
export PHOTOX_UPLOADS__MAX_PENDING_PER_USER=1000
# No tagging: each upload queues the same jobs either way, but the tagger (its model loads on
# first use, ~1 s of one core) would compete for the 2 cores with whichever upload comes next.
export PHOTOX_TAGGING__ENABLED=false

# A 50 MB file that is a valid JPEG: a real 8x8 JPEG followed by 50 MB of data after its end
# marker (as bench/photos.sh): stored and hashed like any photo, cheap to thumbnail.
python3 - "$work/big.jpg" <<'PY'
import os, sys
jpeg = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432"
    "ffc0000b080008000801011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
    "ffda0008010100003f00d2cf20ffd9")
with open(sys.argv[1], "wb") as f:
    f.write(jpeg)
    f.write(os.urandom(50 * 1024 * 1024))
PY

port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>"$work/photox.log" &
pid=$!
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
    kill -0 "$pid" || { echo "photox did not start:" >&2; cat "$work/photox.log" >&2; exit 1; }
    sleep 0.01
done
token=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/auth/register" \
    -H 'content-type: application/json' -d '{"username":"bench","password":"bench-password"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
peak_pid=$pid
echo 5 2>/dev/null >"/proc/$pid/clear_refs" || peak_pid=""
result=$(python3 bench/tus_measure.py "$port" "$token" "$work/big.jpg" "$RUNS" $peak_pid)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
leftover=$(find "$work/data/uploads" -type f | wc -l)
kill -TERM "$pid"; wait "$pid" || true
echo "$result" >&2

python3 - "$result" "$load_before" "$load_after" "$leftover" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
m, runs = r["median_ms"], r["runs"]
mb = r["size"] / 1048576
rate = lambda ms: f"{mb / (ms / 1000):.0f} MB/s"
print("| figure (median of %d) | tus | reference (same run) | ratio | goal |" % runs)
print("|---|---|---|---|---|")
print(f"| 50 MB, creation + 1 PATCH | {m['tus_one_patch']} ms = {rate(m['tus_one_patch'])} | multipart POST /photos: {m['multipart']} ms = {rate(m['multipart'])} | {r['ratio_one_patch_to_multipart']} | ≤ 1.1 |")
print(f"| 50 MB, creation + 10 PATCHes of 5 MB | {m['tus_10_patches']} ms | multipart POST /photos: {m['multipart']} ms | {r['ratio_10_patches_to_multipart']} | ≤ 1.5 |")
print(f"| finishing after a cut at 50 % (HEAD + PATCH of the rest) | {m['tus_resume_after_cut']} ms | tus in 1 PATCH: {m['tus_one_patch']} ms | {r['ratio_resume_to_tus_one_patch']} (to multipart: {r['ratio_resume_to_multipart']}) | ≤ 0.6 |")
print(f"| daemon RSS, largest peak growth during one tus upload | {r['max_rss_growth_mb']} MB | | | ≤ 16 MB |")
print()
print(f"Resumed from (bytes): {sorted(set(r['resumed_from_bytes']))}, in {r['resume_attempts']} attempts (HEAD + PATCH); files left in uploads/: {sys.argv[4]}.")
print(f"Load average (1, 5, 15 min): {sys.argv[2]} before, {sys.argv[3]} after.")
PY
