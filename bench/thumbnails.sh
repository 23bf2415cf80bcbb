#!/usr/bin/env bash
# Thumbnail benchmark: photox::media::thumbnail::render against libvips' vipsthumbnail.
#
# What is compared, for a 12 MP (4000x3000) and a 48 MP (8000x6000) photo-like JPEG:
#   photox  one `render` call that writes the 1600 preview and the 320 thumbnail from ONE decode
#           (examples/thumbnail_bench.rs). Timed two ways: inside the process (median of RUNS
#           renders, warm) and as a whole process doing one render (like the vips figure).
#   vips    `vipsthumbnail -s 1600` plus `vipsthumbnail -s 320` (two processes, two decodes: the
#           tool makes one size per call), JPEG Q=82 like photox. Timed as wall time of the pair.
#   ratio   photox time / vips time; the goal is <= 0.6 for 12 MP.
#   pyvips  the same two libvips thumbnail calls inside one Python process (pyvips from PyPI in a
#           venv, operation cache off): libvips' work without its ~0.1 s process start-up, for
#           an in-process to in-process ratio. Also "vips 1 decode": thumbnail 1600, then the 320
#           from that in memory, i.e. what photox does.
#   quality PSNR of each 1600 preview against a reference made without shrink-on-load (full
#           decode, Lanczos3 in vips), so that speed is not bought with a blurrier preview.
#   RSS     peak resident set size (/usr/bin/time -v) of one photox process rendering both sizes,
#           and of the larger of the two vipsthumbnail processes; the goal is <= 32 MB at 48 MP.
#
# Test images: the photo in GIMP's splash screen (Debian gimp-data, 1920x1080), cropped to 4:3,
# upscaled with Lanczos3 and given luminance grain (sigma 6) so that the entropy data is as dense
# as a camera's (about 2.4 bits per pixel), saved by vips at Q 90 with 4:2:0 chroma like phones.
#
# Usage: bench/thumbnails.sh            (RUNS=9 by default; BENCH_DIR for the scratch directory)
# Builds with cargo in release mode; set CARGO_TARGET_DIR to keep it apart from other builds.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-9}
WORK=${BENCH_DIR:-/tmp/photox-thumbnail-bench}
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$WORK"

apt_install() {
    if [ ! -f "$WORK/.apt-updated" ]; then
        apt-get update -qq && touch "$WORK/.apt-updated"
    fi
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}
command -v vipsthumbnail >/dev/null || apt_install libvips-tools
[ -x /usr/bin/time ] || apt_install time

# The source photo, unpacked from the package rather than installed.
SPLASH=/usr/share/gimp/2.0/images/gimp-splash.png
if [ ! -f "$SPLASH" ]; then
    SPLASH="$WORK/gimp-data/usr/share/gimp/2.0/images/gimp-splash.png"
    if [ ! -f "$SPLASH" ]; then
        [ -f "$WORK/.apt-updated" ] || { apt-get update -qq && touch "$WORK/.apt-updated"; }
        (cd "$WORK" && apt-get download -qq gimp-data 2>/dev/null)
        dpkg -x "$WORK"/gimp-data_*.deb "$WORK/gimp-data"
    fi
fi

make_photo() { # make_photo OUT WIDTH HEIGHT
    local out=$1 width=$2 height=$3 tmp="$WORK/tmp"
    [ -f "$out" ] && return
    mkdir -p "$tmp"
    vips crop "$SPLASH" "$tmp/crop.v" 240 0 1440 1080
    vips flatten "$tmp/crop.v" "$tmp/flat.v"
    vips resize "$tmp/flat.v" "$tmp/big.v" "$(echo "scale=7; $width / 1440" | bc)" --kernel lanczos3
    vips extract_area "$tmp/big.v" "$tmp/exact.v" 0 0 "$width" "$height"
    vips gaussnoise "$tmp/noise.v" "$width" "$height" --sigma 6 --mean 0
    vips add "$tmp/exact.v" "$tmp/noise.v" "$tmp/sum.v"
    vips cast "$tmp/sum.v" "$tmp/cast.v" uchar
    vips jpegsave "$tmp/cast.v" "$out" --Q 90 --subsample-mode on
    rm -rf "$tmp"
}
command -v bc >/dev/null || apt_install bc
if [ ! -x "$WORK/venv/bin/python" ]; then
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q pyvips
fi
make_photo "$WORK/photo12.jpg" 4000 3000
make_photo "$WORK/photo48.jpg" 8000 6000

echo "building examples/thumbnail_bench (release) ..." >&2
cargo build --release --quiet --example thumbnail_bench
BENCH="$TARGET/release/examples/thumbnail_bench"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
wall_ms() { # wall_ms CMD...: wall time of one run, in ms
    local start
    start=$(now_ms)
    "$@" >/dev/null
    echo $(($(now_ms) - start))
}
vips_pair() {
    vipsthumbnail "$1" -s 1600 -o "$WORK/out/vips-preview.jpg[Q=82]"
    vipsthumbnail "$1" -s 320 -o "$WORK/out/vips-thumbnail.jpg[Q=82]"
}
peak_rss_mb() { # peak_rss_mb CMD...: maximum resident set size in MB
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk '/Maximum resident set size/ {printf "%.1f", $6 / 1024}'
}
mkdir -p "$WORK/out"

pyvips() { # pyvips PHOTO: "two_calls_ms one_decode_ms" (medians), in-process
    "$WORK/venv/bin/python" - "$1" "$WORK/out" "$RUNS" <<'PY'
import statistics, sys, time
import pyvips
path, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
pyvips.cache_set_max(0)
two, one = [], []
for _ in range(runs + 1):  # the first round warms up
    start = time.perf_counter()
    pyvips.Image.thumbnail(path, 1600).write_to_file(out + "/pyvips-preview.jpg[Q=82]")
    pyvips.Image.thumbnail(path, 320).write_to_file(out + "/pyvips-thumbnail.jpg[Q=82]")
    two.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    preview = pyvips.Image.thumbnail(path, 1600).copy_memory()
    preview.write_to_file(out + "/pyvips-preview.jpg[Q=82]")
    preview.thumbnail_image(320).write_to_file(out + "/pyvips-thumbnail.jpg[Q=82]")
    one.append((time.perf_counter() - start) * 1000)
print(f"{statistics.median(two[1:]):.1f} {statistics.median(one[1:]):.1f}")
PY
}
psnr() { # psnr PHOTO: PSNR (dB) of the photox and the vipsthumbnail 1600 previews vs a reference
    "$WORK/venv/bin/python" - "$1" "$WORK/out" <<'PY'
import math, sys
import pyvips
path, out = sys.argv[1], sys.argv[2]
full = pyvips.Image.new_from_file(path)
def score(name):
    img = pyvips.Image.new_from_file(out + "/" + name)
    ref = full.resize(img.width / full.width, vscale=img.height / full.height, kernel="lanczos3")
    mse = ((img.cast("float") - ref.cast("float")) ** 2).avg()
    return 10 * math.log10(255 ** 2 / mse)
print(f"photox {score('preview.jpg'):.2f} dB, vipsthumbnail {score('vips-preview.jpg'):.2f} dB")
PY
}

rows=()
quality=()
for mp in 12 48; do
    photo="$WORK/photo$mp.jpg"
    # Warm the page cache and both programs once.
    "$BENCH" "$photo" "$WORK/out" 1 >/dev/null
    vips_pair "$photo"
    inproc=$("$BENCH" "$photo" "$WORK/out" "$RUNS" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
    # Alternate the two tools so that background load hits both alike.
    : >"$WORK/photox.ms"
    : >"$WORK/vips.ms"
    for _ in $(seq "$RUNS"); do
        wall_ms "$BENCH" "$photo" "$WORK/out" 1 >>"$WORK/photox.ms"
        wall_ms vips_pair "$photo" >>"$WORK/vips.ms"
    done
    process=$(median <"$WORK/photox.ms")
    vips=$(median <"$WORK/vips.ms")
    rss=$(peak_rss_mb "$BENCH" "$photo" "$WORK/out" 1)
    vips_rss_a=$(peak_rss_mb vipsthumbnail "$photo" -s 1600 -o "$WORK/out/vips-preview.jpg[Q=82]")
    vips_rss_b=$(peak_rss_mb vipsthumbnail "$photo" -s 320 -o "$WORK/out/vips-thumbnail.jpg[Q=82]")
    vips_rss=$(printf '%s\n%s\n' "$vips_rss_a" "$vips_rss_b" | sort -n | tail -1)
    rss6=$(peak_rss_mb "$BENCH" "$photo" "$WORK/out" 1 6)
    read -r py_two py_one < <(pyvips "$photo")
    "$BENCH" "$photo" "$WORK/out" 1 >/dev/null
    vips_pair "$photo"
    quality+=("${mp} MP preview PSNR vs full-decode Lanczos3 reference: $(psnr "$photo")")
    size=$(du -k "$photo" | cut -f1)
    ratio() { echo "$1 / $2" | bc -l; }
    rows+=("$(printf '| %s MP (%.1f MB) | %s | %s | %s | **%.2f** | %s | %.2f | %s | %.2f | %s (%s with orientation 6) | %s |' \
        "$mp" "$(echo "$size / 1024" | bc -l)" "$inproc" "$process" "$vips" "$(ratio "$process" "$vips")" \
        "$py_two" "$(ratio "$inproc" "$py_two")" "$py_one" "$(ratio "$inproc" "$py_one")" \
        "$rss" "$rss6" "$vips_rss")")
done

# The fixed cost of starting vipsthumbnail, for reading the table.
vips copy "$WORK/photo12.jpg[shrink=8]" "$WORK/tiny.jpg"
: >"$WORK/tiny.ms"
for _ in $(seq "$RUNS"); do wall_ms vipsthumbnail "$WORK/tiny.jpg" -s 32 -o "$WORK/out/tiny.jpg" >>"$WORK/tiny.ms"; done

echo
echo "$(nproc) cores; $(vips --version); medians of $RUNS runs; times in ms, RSS in MB"
echo
echo "| image | photox in-process | photox process | vipsthumbnail 1600 + 320 (2 processes) | ratio photox process / vipsthumbnail | pyvips 2 thumbnail calls | ratio in-process | pyvips 1 decode | ratio in-process | photox peak RSS | vipsthumbnail peak RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
printf '%s\n' "${quality[@]}"
echo
echo "vipsthumbnail start-up and exit on a 500x375 JPEG: $(median <"$WORK/tiny.ms") ms per process (twice in each vips figure)"
