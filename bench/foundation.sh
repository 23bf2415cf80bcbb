#!/usr/bin/env bash
# Foundation benchmarks (issue 2): cold start to a healthy /health, idle RSS, stripped binary
# size, login time (Argon2id), and GET /api/v1/auth/me at 64 connections next to a poem
# hello-world measured in the same run. Prints one table; nothing here is a pass/fail test.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
if ! command -v wrk >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y wrk >/dev/null
fi
cargo build --release --bin photox --example hello_world >&2
target=${CARGO_TARGET_DIR:-target}/release
bin=$target/photox
hello=$target/examples/hello_world
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
wait_healthy() { until curl -sf "http://127.0.0.1:$1/health" >/dev/null; do sleep 0.002; done; }

export PHOTOX_LOG__TARGET=stderr
export PHOTOX_LIMITS__REQUESTS_PER_MINUTE=1000000000
export PHOTOX_LIMITS__LOGIN_PER_MINUTE=1000000

# Cold start: fresh data dir (creates the database and key) and existing data dir; median of 5.
cold() {
    local dir=$1 times=() port pid t0
    for i in 1 2 3 4 5; do
        [ "$dir" = fresh ] && rm -rf "$work/cold"
        port=$(free_port)
        t0=$(date +%s%N)
        "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/cold" 2>/dev/null &
        pid=$!
        wait_healthy "$port"
        times+=("$(ms_since "$t0")")
        kill -TERM "$pid"; wait "$pid"
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}
cold_fresh=$(cold fresh)
cold_existing=$(cold existing)

port=$(free_port)
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>"$work/photox.log" &
pid=$!
wait_healthy "$port"
sleep 3
idle_rss=$(rss_mb "$pid")

api="http://127.0.0.1:$port/api/v1"
token=$(curl -sf -X POST "$api/auth/register" -H 'content-type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["access_token"])')
logins=()
for i in $(seq 1 9); do
    logins+=("$(curl -s -o /dev/null -w '%{time_total}' -X POST "$api/auth/login" -H 'content-type: application/json' \
        -d '{"username":"bench","password":"bench-password"}')")
done
login_ms=$(printf '%s\n' "${logins[@]}" | sort -n | sed -n 5p | awk '{printf "%.0f", $1*1000}')

load() { # url [header] -> "req/s p99"
    local out
    if [ $# -gt 1 ]; then
        out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency -H "$2" "$1")
    else
        out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "$1")
    fi
    local rps p99 non2xx
    rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    echo "$rps $p99 ${non2xx:-0}"
}
read -r me_rps me_p99 me_bad < <(load "$api/auth/me" "Authorization: Bearer $token")
loaded_rss=$(rss_mb "$pid")
kill -TERM "$pid"; wait "$pid"

hport=$(free_port)
"$hello" "127.0.0.1:$hport" &
hpid=$!
until curl -sf "http://127.0.0.1:$hport/" >/dev/null; do sleep 0.01; done
read -r hello_rps hello_p99 _ < <(load "http://127.0.0.1:$hport/")
kill "$hpid"

size_mb=$(awk -v b="$(stat -c %s "$bin")" 'BEGIN {printf "%.1f", b/1048576}')
cat <<TABLE
| figure | photox | reference (same run) |
|---|---|---|
| cold start to healthy /health, fresh data dir (median of 5) | ${cold_fresh} ms | |
| cold start to healthy /health, existing data dir (median of 5) | ${cold_existing} ms | |
| idle RSS after start | ${idle_rss} MB | |
| RSS after the load test | ${loaded_rss} MB | |
| stripped release binary | ${size_mb} MB | |
| login (Argon2id m=19 MiB t=2 p=1), median of 9 | ${login_ms} ms | |
| GET /api/v1/auth/me, ${CONNS} connections, ${DURATION} | ${me_rps} req/s, p99 ${me_p99} (non-2xx: ${me_bad}) | poem hello-world: ${hello_rps} req/s, p99 ${hello_p99} |
TABLE
echo "machine: $(nproc) cores, $(uname -m); wrk -t2 -c${CONNS} on the same machine; photox logging each request to a file" >&2
