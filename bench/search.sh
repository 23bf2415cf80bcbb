#!/usr/bin/env bash
# Search benchmark (issue 5): p50/p95/p99 latency of GET /search/photos with `q` and a filter on a
# generated library of 100,000 photos, one request at a time, next to a plain photo listing on
# the same library in the same run (the reference).
#
#   bash bench/search.sh            # 100,000 photos, 400 timed requests per kind
#   PHOTOS=20000 REQUESTS=100 bash bench/search.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PHOTOS=${PHOTOS:-100000}
REQUESTS=${REQUESTS:-400}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --bin photox >&2
bin=$target/release/photox

work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_healthy() {
    for _ in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0
        sleep 0.05
    done
    echo "daemon did not start" >&2; exit 1
}
export PHOTOX_LIMITS__REQUESTS_PER_MINUTE=1000000000 PHOTOX_LIMITS__LOGIN_PER_MINUTE=1000
export PHOTOX_TAGGING__ENABLED=false

# 1. Schema and users through the daemon itself.
port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>>"$work/photox.log" &
pid=$!
wait_healthy "$port"
for u in bench kin; do
    curl -sf -X POST -H 'Content-Type: application/json' \
        -d "{\"username\":\"$u\",\"password\":\"bench-password-1\"}" \
        "http://127.0.0.1:$port/api/v1/auth/register" >/dev/null
done
kill -TERM "$pid"; wait "$pid" || true

# 2. The library: rows only (search never opens files); the triggers fill the FTS index.
t0=$(date +%s.%N)
python3 bench/search_library.py "$work/data/photox.db" "$PHOTOS"
t1=$(date +%s.%N)
gen_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')

# 3. Measure.
port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>>"$work/photox.log" &
pid=$!
wait_healthy "$port"
python3 bench/search_measure.py "http://127.0.0.1:$port" "$REQUESTS"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
db_mb=$(du -sm "$work/data/photox.db" | cut -f1)
echo "library: $PHOTOS photos generated in ${gen_s}s; database ${db_mb} MB; daemon RSS after the run $((rss_kb / 1024)) MB"
echo "machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
