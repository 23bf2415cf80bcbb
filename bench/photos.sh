#!/usr/bin/env bash
# Photo library benchmarks (issue 3): a 50 MB upload over loopback next to `cp` of the same
# file on the same disk (plain, and followed by a sync of the copy: photox fsyncs), next to the
# same curl upload into a poem handler that only drains the body, the daemon's RSS during it,
# and GET /api/v1/photos?per_page=50 on a library of 10,000 photos at 64 connections next to a
# poem hello-world in the same run. RUNS (default 7) uploads; medians. LIST=0 skips the listing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
RUNS=${RUNS:-7}
LIST=${LIST:-1} # 0: uploads only
if ! command -v wrk >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y wrk >/dev/null
fi
cargo build --release --bin photox --example hello_world >&2
target=${CARGO_TARGET_DIR:-target}/release
# BENCH_BIN: another photox binary to measure (e.g. an older build, for a before/after). Not
# PHOTOX_*: the daemon reads those as configuration.
bin=${BENCH_BIN:-$target/photox}
hello=$target/examples/hello_world
# Keep everything on one disk: the work dir sits beside the build output.
work=$(mktemp -d "${BENCH_DIR:-$PWD}/.bench-XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_healthy() {
    until curl -sf "http://127.0.0.1:$1/health" >/dev/null; do
        kill -0 "$pid" || { echo "photox did not start:" >&2; cat "$work/photox.log" >&2; exit 1; }
        sleep 0.01
    done
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

export PHOTOX_LOG__TARGET=stderr PHOTOX_LOG__LEVEL=warn
export PHOTOX_LIMITS__REQUESTS_PER_MINUTE=1000000000 PHOTOX_LIMITS__UPLOAD_PER_MINUTE=1000000
export PHOTOX_STORAGE__MAX_UPLOAD_MB=100 PHOTOX_STORAGE__MIN_FREE_MB=64

# A 50 MB file that is a valid JPEG: a real small JPEG followed by 50 MB of data after its end
# marker (decoders stop at the marker; the bytes are stored and hashed like any photo).
python3 - "$work/big.jpg" <<'PY'
import os, struct, sys, zlib
# Smallest useful baseline JPEG: 8x8 grey, written out by hand.
jpeg = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432"
    "ffc0000b080008000801011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa"
    "ffda0008010100003f00d2cf20ffd9")
with open(sys.argv[1], "wb") as f:
    f.write(jpeg)
    f.write(os.urandom(50 * 1024 * 1024))
PY
size=$(stat -c %s "$work/big.jpg")

port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>"$work/photox.log" &
pid=$!
wait_healthy "$port"
api="http://127.0.0.1:$port/api/v1"
token=$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
# The reference server: POST /drain reads a body and throws it away (client + HTTP floor).
hport=$(free_port)
"$hello" "127.0.0.1:$hport" &
hpid=$!
until curl -sf "http://127.0.0.1:$hport/" >/dev/null; do sleep 0.01; done
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# Peak RSS during one upload: VmHWM after resetting it (clear_refs 5), else sampled every 5 ms.
if echo 5 2>/dev/null >"/proc/$pid/clear_refs"; then
    peak_start() { echo 5 >"/proc/$pid/clear_refs"; }
    peak_end() { awk '/VmHWM/ {print $2}' "/proc/$pid/status"; }
else
    peak_start() { ( while kill -0 "$pid" 2>/dev/null; do rss_kb "$pid"; sleep 0.005; done ) >"$work/rss.txt" & sampler=$!; }
    peak_end() { kill "$sampler"; wait "$sampler" 2>/dev/null || true; sort -n "$work/rss.txt" | tail -1; }
fi
ms() { awk '{printf "%.0f", $1 * 1000}'; }

# Upload vs cp, cp + sync and a drain, RUNS times each, interleaved; medians. Each upload is a
# new photo (the duplicate check would short-cut a repeat), so the file's tail differs per run.
cp_times=(); cps_times=(); drain_times=(); up_times=(); growth=()
rss_first=$(rss_kb "$pid"); rss_peak=$rss_first
for i in $(seq "$RUNS"); do
    printf '%08d' "$i" | dd of="$work/big.jpg" bs=1 seek=$((size - 8)) conv=notrunc status=none
    sync
    t0=$(date +%s%N); cp "$work/big.jpg" "$work/copy.jpg"; t1=$(date +%s%N)
    cp_times+=("$(( (t1 - t0) / 1000000 ))"); rm -f "$work/copy.jpg"; sync
    # The durable baseline: photox fsyncs every original before acknowledging it.
    t0=$(date +%s%N); cp "$work/big.jpg" "$work/copy.jpg"; sync "$work/copy.jpg"; t1=$(date +%s%N)
    cps_times+=("$(( (t1 - t0) / 1000000 ))"); rm -f "$work/copy.jpg"; sync
    drain_times+=("$(curl -sf -o /dev/null -w '%{time_total}' \
        -F "file=@$work/big.jpg;filename=big.jpg" "http://127.0.0.1:$hport/drain" | ms)")
    before=$(rss_kb "$pid")
    peak_start
    up_times+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
        -F "file=@$work/big.jpg;filename=big.jpg" "$api/photos" | ms)")
    peak=$(peak_end)
    growth+=("$(( (peak - before) / 1024 ))")
    (( peak > rss_peak )) && rss_peak=$peak
done
rss_after=$(rss_kb "$pid")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cp_ms=$(printf '%s\n' "${cp_times[@]}" | median)
cps_ms=$(printf '%s\n' "${cps_times[@]}" | median)
drain_ms=$(printf '%s\n' "${drain_times[@]}" | median)
up_ms=$(printf '%s\n' "${up_times[@]}" | median)
growth_mb=$(printf '%s\n' "${growth[@]}" | sort -n | tail -1)
mbps() { awk -v b="$size" -v ms="$1" 'BEGIN {printf "%.0f", b / 1048576 / (ms / 1000)}'; }
ratio() { awk -v c="$1" -v u="$up_ms" 'BEGIN {printf "%.2f", c / u}'; }
kill -TERM "$pid"; wait "$pid" || true
echo "upload runs (ms): ${up_times[*]}; cp: ${cp_times[*]}; cp+sync: ${cps_times[*]}; drain: ${drain_times[*]}" >&2

total=-; list_rps=-; list_p99=-; list_rss=-; hello_rps=-; hello_p99=-
if [[ $LIST == 1 ]]; then
# A library of 10,000 photos (rows only: listing never opens files).
python3 - "$work/data/photox.db" <<'PY'
import sqlite3, sys, uuid, random
db = sqlite3.connect(sys.argv[1])
sys.path.insert(0, "bench")
from search_library import fill_grams
owner = db.execute("SELECT id FROM users WHERE username = 'bench'").fetchone()[0]
now = 1_790_000_000
rows = []
for i in range(10_000):
    u = uuid.uuid4().hex
    rows.append((owner, u, "jpg", f"IMG_{i:05}.jpg", "image/jpeg", 3_000_000 + i, 4000, 3000,
                 f"{i:064x}", now - random.randint(0, 10 * 365 * 86400), now - i, now - i,
                 "Canon", "EOS R5", 200, 2.8, "1/250", 50.0, 1))
db.executemany("""INSERT INTO photos (owner_id, uuid, ext, original_filename, mime_type, size, width, height,
    checksum, taken_at, created_at, updated_at, status, camera_make, camera_model, iso, aperture,
    exposure_time, focal_length, orientation)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'ready',?,?,?,?,?,?,?)""", rows)
db.execute("""INSERT INTO photo_tags (photo_id, name, source, confidence)
    SELECT id, 'beach', 'ai', 0.9 FROM photos WHERE id % 3 = 0""")
fill_grams(db)
db.commit()
PY
port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>>"$work/photox.log" &
pid=$!
wait_healthy "$port"
list_url="http://127.0.0.1:$port/api/v1/photos?per_page=50"
total=$(curl -sf -H "Authorization: Bearer $token" "$list_url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["pagination"]["total_items"])')
out=$(wrk -t2 -c64 -d"$DURATION" --latency -H "Authorization: Bearer $token" "$list_url")
list_rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
list_p99=$(awk '$1=="99%" {print $2}' <<<"$out")
list_bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
list_rss=$(( $(rss_kb "$pid") / 1024 ))
kill -TERM "$pid"; wait "$pid" || true

out=$(wrk -t2 -c64 -d"$DURATION" --latency "http://127.0.0.1:$hport/")
hello_rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
hello_p99=$(awk '$1=="99%" {print $2}' <<<"$out")
fi
kill "$hpid"

cat <<TABLE
| figure | photox | reference (same run) |
|---|---|---|
| 50 MB upload over loopback with curl (median of $RUNS) | ${up_ms} ms = $(mbps "$up_ms") MB/s | cp of the same file: ${cp_ms} ms = $(mbps "$cp_ms") MB/s (ratio $(ratio "$cp_ms")); cp + sync of the file: ${cps_ms} ms = $(mbps "$cps_ms") MB/s (ratio $(ratio "$cps_ms")); the same curl upload to a poem handler that drains the body: ${drain_ms} ms = $(mbps "$drain_ms") MB/s (ratio $(ratio "$drain_ms")) |
| daemon RSS during the uploads | before $(( rss_first / 1024 )) MB, peak $(( rss_peak / 1024 )) MB, after $(( rss_after / 1024 )) MB; largest growth during one upload ${growth_mb} MB | |
| GET /api/v1/photos?per_page=50, ${total} photos, 64 connections, ${DURATION} | ${list_rps} req/s, p99 ${list_p99} (non-2xx: ${list_bad:-0}); RSS after ${list_rss} MB | poem hello-world: ${hello_rps} req/s, p99 ${hello_p99} |

Load average (1, 5, 15 min): ${load_before} before the uploads, ${load_after} after them, $(cut -d' ' -f1-3 /proc/loadavg) at the end.
TABLE
