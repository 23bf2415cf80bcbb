#!/usr/bin/env bash
# Makes sure the Python venv with the schemathesis pinned in tests/requirements.txt exists and
# prints the path of its `st` command. .ci/run calls it before `cargo test`; tests/openapi.rs
# calls it too when PHOTOX_SCHEMATHESIS is not set, so a plain `cargo test` finds (or makes)
# the same venv. Needs python3 (with venv) and access to PyPI the first time.
#
# The venv lives in ~/.cache/photox-ci (override: PHOTOX_SCHEMATHESIS_VENV), named after the
# requirements' checksum, so a changed pin gets a fresh venv and an unchanged one is reused.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
requirements="$here/requirements.txt"
key="$(sha256sum "$requirements" | cut -c1-12)"
venv="${PHOTOX_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/photox-ci/schemathesis-$key}"

if [ ! -f "$venv/.complete" ]; then
    mkdir -p "$(dirname "$venv")"
    # Concurrent callers (two checkouts testing at once) wait for the first one.
    exec 9>"$venv.lock"
    flock 9
    if [ ! -f "$venv/.complete" ]; then
        echo "installing schemathesis into $venv" >&2
        rm -rf "$venv"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
            -r "$requirements" >&2
        touch "$venv/.complete"
    fi
fi
echo "$venv/bin/st"
