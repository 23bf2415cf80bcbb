#!/usr/bin/env bash
# Watched-folder import benchmark (issue "Watched import folders"), all figures from one run:
#
#   import      N (default 1000) 12 MP JPEGs (4000x3000, ~3 MB, made by vips from a real photo
#               with grain, like bench/thumbnails.sh) in a folder watched in place, from the
#               daemon's start until every photo is `ready` (thumbnail, preview and, with
#               tagging, AI tags): photos per minute, with tagging and without, and the daemon's
#               peak RSS (VmHWM).
#   reference   the same work through the upload path (`POST /photos` of the first REF files,
#               default 200, two clients) in the same run, until ready: photos per minute.
#   split       where the time goes: the daemon's CPU seconds per photo, and how long the
#               folder scan (hash + row for every file) took before processing caught up.
#   rescan      an unchanged folder of SMALL (default 100000) small files: the time of a rescan
#               (stat only, no contents read) next to `find -printf '%s %T@'` of the same
#               folder (a walk that stats every file), the daemon's RSS after it, and its CPU
#               time while idle for 20 s with that folder watched by events.
#
# Usage: bench/import.sh   (N, REF, SMALL; BENCH_DIR for the scratch directory, which needs
# about N x 3 MB; CARGO_TARGET_DIR as for cargo)
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1000}
REF=${REF:-200}
SMALL=${SMALL:-100000}
WORK=${BENCH_DIR:-/tmp/photox-import-bench}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$WORK"

apt_install() {
    if [ ! -f "$WORK/.apt-updated" ]; then
        apt-get update -qq && touch "$WORK/.apt-updated"
    fi
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}
command -v vips >/dev/null || apt_install libvips-tools
command -v bc >/dev/null || apt_install bc

cargo build --release --bin photox >&2
bin=$TARGET/release/photox

# The source photo (GIMP's splash screen), unpacked from the package rather than installed.
SPLASH=/usr/share/gimp/2.0/images/gimp-splash.png
if [ ! -f "$SPLASH" ]; then
    SPLASH="$WORK/gimp-data/usr/share/gimp/2.0/images/gimp-splash.png"
    if [ ! -f "$SPLASH" ]; then
        [ -f "$WORK/.apt-updated" ] || { apt-get update -qq && touch "$WORK/.apt-updated"; }
        (cd "$WORK" && apt-get download -qq gimp-data 2>/dev/null)
        dpkg -x "$WORK"/gimp-data_*.deb "$WORK/gimp-data"
    fi
fi

# Eight different 12 MP photos (other grain per seed); the N files are these with a distinct
# JPEG comment each, so every file is a new photo to the duplicate rule.
bases="$WORK/bases"
mkdir -p "$bases"
for seed in 1 2 3 4 5 6 7 8; do
    out="$bases/base$seed.jpg"
    [ -f "$out" ] && continue
    tmp="$WORK/tmp"
    mkdir -p "$tmp"
    vips crop "$SPLASH" "$tmp/crop.v" $((seed * 20)) 0 1440 1080
    vips flatten "$tmp/crop.v" "$tmp/flat.v"
    vips resize "$tmp/flat.v" "$tmp/big.v" "$(echo "scale=7; 4000 / 1440" | bc)" --kernel lanczos3
    vips extract_area "$tmp/big.v" "$tmp/exact.v" 0 0 4000 3000
    vips gaussnoise "$tmp/noise.v" 4000 3000 --sigma 6 --mean 0 --seed "$seed"
    vips add "$tmp/exact.v" "$tmp/noise.v" "$tmp/sum.v"
    vips cast "$tmp/sum.v" "$tmp/cast.v" uchar
    vips jpegsave "$tmp/cast.v" "$out" --Q 90 --subsample-mode on
    rm -rf "$tmp"
done
make_folder() { # make_folder DIR COUNT
    python3 - "$bases" "$1" "$2" <<'PY'
import os, struct, sys
bases, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
photos = [open(os.path.join(bases, f"base{i}.jpg"), "rb").read() for i in range(1, 9)]
os.makedirs(out, exist_ok=True)
for i in range(count):
    data = photos[i % 8]
    comment = f"photox import bench {i}".encode()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    sub = os.path.join(out, f"{i // 250:02d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"IMG_{i:05d}.jpg"), "wb") as f:
        f.write(data[:2] + segment + data[2:])
PY
}
photos="$WORK/photos"
[ -d "$photos" ] && [ "$(find "$photos" -type f | wc -l)" -eq "$N" ] || { rm -rf "$photos"; make_folder "$photos" "$N"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
now_ms() { date +%s%3N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

export PHOTOX_LOG__TARGET=stderr PHOTOX_LOG__LEVEL=warn
export PHOTOX_LIMITS__REQUESTS_PER_MINUTE=1000000000 PHOTOX_LIMITS__UPLOAD_PER_MINUTE=1000000
export PHOTOX_STORAGE__MIN_FREE_MB=64

# start_daemon DATA CONFIG TAGGING: starts photox with a fresh user `bench` (admin).
start_daemon() {
    local data=$1 config=$2 tagging=$3
    rm -rf "$data"
    echo "bench-password" | "$bin" --config "$config" user add bench --admin --password-stdin >/dev/null
    port=$(free_port)
    PHOTOX_TAGGING__ENABLED=$tagging "$bin" --config "$config" serve --listen "127.0.0.1:$port" \
        2>"$WORK/photox.log" &
    pid=$!
    api="http://127.0.0.1:$port/api/v1"
    until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do
        kill -0 "$pid" || { cat "$WORK/photox.log" >&2; exit 1; }
        sleep 0.01
    done
    token=$(curl -sf -X POST "$api/auth/login" -H 'content-type: application/json' \
        -d '{"username":"bench","password":"bench-password"}' | json 'd["data"]["access_token"]')
}
stop_daemon() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
jobs_left() {
    curl -sf "$api/admin/jobs?per_page=1" -H "Authorization: Bearer $token" \
        | json 'd["data"]["counts"]["pending"] + d["data"]["counts"]["running"]'
}
imported() {
    curl -sf "$api/admin/imports" -H "Authorization: Bearer $token" | json 'd["data"]["items"][0]["imported"]'
}
photo_total() {
    curl -sf "$api/photos?per_page=1" -H "Authorization: Bearer $token" | json 'd["data"]["pagination"]["total_items"]'
}
# wait_all_ready COUNT: until COUNT photos exist and no job is pending or running.
wait_all_ready() {
    while :; do
        if [ "$(photo_total)" -ge "$1" ] && [ "$(jobs_left)" -eq 0 ]; then return; fi
        kill -0 "$pid" || { cat "$WORK/photox.log" >&2; exit 1; }
        sleep 0.2
    done
}

import_run() { # import_run TAGGING -> "photos_per_min peak_mb cpu_s_per_photo scan_s"
    local tagging=$1 data="$WORK/data-import" config="$WORK/import.toml" t0 t1 scanned
    cat >"$config" <<EOF
[storage]
data_dir = "$data"
[[import]]
path = "$photos"
owner = "bench"
mode = "in-place"
watch = "poll"
settle = "0s"
EOF
    t0=$(now_ms)
    start_daemon "$data" "$config" "$tagging"
    scanned=""
    while :; do
        [ -z "$scanned" ] && [ "$(imported)" -ge "$N" ] && scanned=$(( $(now_ms) - t0 ))
        if [ -n "$scanned" ] && [ "$(jobs_left)" -eq 0 ]; then break; fi
        kill -0 "$pid" || { cat "$WORK/photox.log" >&2; exit 1; }
        sleep 0.2
    done
    t1=$(now_ms)
    local peak cpu
    peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    cpu=$(cpu_ticks "$pid")
    stop_daemon
    echo "$(echo "scale=0; $N * 60000 / ($t1 - $t0)" | bc) $((peak / 1024)) $(echo "scale=3; $cpu / $hz / $N" | bc) $(echo "scale=1; $scanned / 1000" | bc)"
}

upload_run() { # upload_run TAGGING -> photos per minute through POST /photos
    local tagging=$1 data="$WORK/data-upload" config="$WORK/upload.toml" t0 t1
    printf '[storage]\ndata_dir = "%s"\n' "$data" >"$config"
    start_daemon "$data" "$config" "$tagging"
    mapfile -t files < <(find "$photos" -type f | sort | head -n "$REF")
    t0=$(now_ms)
    printf '%s\n' "${files[@]}" | xargs -P 2 -I{} curl -sf -o /dev/null "$api/photos" \
        -H "Authorization: Bearer $token" -F "file=@{}"
    wait_all_ready "$REF"
    t1=$(now_ms)
    stop_daemon
    echo "scale=0; $REF * 60000 / ($t1 - $t0)" | bc
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r imp_tag peak_tag cpu_tag scan_tag <<<"$(import_run true)"
read -r imp_plain peak_plain cpu_plain scan_plain <<<"$(import_run false)"
ref_tag=$(upload_run true)
ref_plain=$(upload_run false)

# Rescan of an unchanged folder of many small files (not photos: skipped after one look).
small="$WORK/small"
if [ ! -d "$small" ] || [ "$(find "$small" -type f | wc -l)" -ne "$SMALL" ]; then
    rm -rf "$small"
    python3 - "$small" "$SMALL" <<'PY'
import os, sys
root, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    d = os.path.join(root, f"{i // 1000:03d}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.txt"), "w") as f:
        f.write("x")
PY
fi
data="$WORK/data-small"
config="$WORK/small.toml"
cat >"$config" <<EOF
[storage]
data_dir = "$data"
[[import]]
path = "$small"
owner = "bench"
watch = "events"
settle = "0s"
EOF
start_daemon "$data" "$config" false
until [ "$(curl -sf "$api/admin/imports" -H "Authorization: Bearer $token" | json 'd["data"]["items"][0]["skipped"]')" -ge "$SMALL" ]; do sleep 0.5; done
while [ "$(jobs_left)" -ne 0 ]; do sleep 0.2; done
id=$(curl -sf "$api/admin/imports" -H "Authorization: Bearer $token" | json 'd["data"]["items"][0]["id"]')
last() { curl -sf "$api/admin/imports" -H "Authorization: Bearer $token" | json 'd["data"]["items"][0]["last_scan_at"]'; }
sleep 1.1 # last_scan_at has whole seconds
before=$(last)
t0=$(now_ms)
curl -sf -X POST "$api/admin/imports/$id/rescan" -H "Authorization: Bearer $token" >/dev/null
while [ "$(last)" = "$before" ] || [ "$(jobs_left)" -ne 0 ]; do sleep 0.05; done
t1=$(now_ms)
rescan_ms=$((t1 - t0))
rss_mb=$(( $(awk '/VmRSS/ {print $2}' "/proc/$pid/status") / 1024 ))
c0=$(cpu_ticks "$pid")
sleep 20
c1=$(cpu_ticks "$pid")
idle_cpu=$(echo "scale=2; ($c1 - $c0) * 100 / $hz / 20" | bc)
stop_daemon
sync
t0=$(now_ms)
find "$small" -type f -printf '%s %T@\n' >/dev/null
t1=$(now_ms)
find_ms=$((t1 - t0))

echo
echo "== watched-folder import: $N x 12 MP JPEG, in place, until every photo is ready =="
echo "load average before: $load_before; $(nproc) cores"
printf '%-38s %10s %10s %12s %10s\n' "" "photos/min" "peak RSS" "CPU s/photo" "scan s"
printf '%-38s %10s %7s MB %12s %10s\n' "import, tagging on" "$imp_tag" "$peak_tag" "$cpu_tag" "$scan_tag"
printf '%-38s %10s %7s MB %12s %10s\n' "import, tagging off" "$imp_plain" "$peak_plain" "$cpu_plain" "$scan_plain"
printf '%-38s %10s\n' "reference: POST /photos x$REF, tagging on" "$ref_tag"
printf '%-38s %10s\n' "reference: POST /photos x$REF, tagging off" "$ref_plain"
echo "goals: >= 600 photos/min with tagging; peak RSS <= 150 MB"
echo
echo "== rescan of an unchanged folder of $SMALL small files =="
printf '%-38s %8s ms\n' "photox rescan (stat, compare, no reads)" "$rescan_ms"
printf '%-38s %8s ms\n' "reference: find -printf '%s %T@'" "$find_ms"
printf '%-38s %8s MB\n' "daemon RSS after the rescan" "$rss_mb"
printf '%-38s %8s %%\n' "daemon CPU idle, 20 s, folder watched" "$idle_cpu"
