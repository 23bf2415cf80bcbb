#!/usr/bin/env bash
# Makes sure the tus clients that tests/tus_clients.rs drives are installed and prints the
# directory that holds them: node_modules/ with tus-js-client (npm, exactly as in
# package-lock.json) and venv/ with tuspy (PyPI, pinned in requirements.txt). .ci/run calls it
# before `cargo test`; the test calls it too when PHOTOX_TUS_CLIENTS is not set, so a plain
# `cargo test` finds (or makes) the same directory. Needs node and npm, python3 with venv, and
# the npm registry and PyPI the first time.
#
# The directory lives in ~/.cache/photox-ci (override: PHOTOX_TUS_CLIENTS_DIR), named after the
# lockfiles' checksum, so a changed pin gets a fresh one and an unchanged one is reused.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
key="$(cat "$here/package-lock.json" "$here/requirements.txt" | sha256sum | cut -c1-12)"
dir="${PHOTOX_TUS_CLIENTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/photox-ci/tus-clients-$key}"

if [ ! -f "$dir/.complete" ]; then
    mkdir -p "$(dirname "$dir")"
    # Concurrent callers (two checkouts testing at once) wait for the first one.
    exec 9>"$dir.lock"
    flock 9
    if [ ! -f "$dir/.complete" ]; then
        echo "installing tus-js-client and tuspy into $dir" >&2
        rm -rf "$dir"
        mkdir -p "$dir"
        cp "$here/package.json" "$here/package-lock.json" "$dir/"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
        python3 -m venv "$dir/venv" >&2
        "$dir/venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
            -r "$here/requirements.txt" >&2
        touch "$dir/.complete"
    fi
fi
echo "$dir"
