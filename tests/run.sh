#!/usr/bin/env bash
# greenlight's test command: installs the servers the tests start (when
# missing), builds every binary, runs every test. Extra arguments go to
# `cargo test`, e.g. `bash tests/run.sh redis` or `bash tests/run.sh -- --nocapture`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What the test bed runs, as "debian-package:program" pairs. The program is a
# path (a glob is fine) or a name looked up on PATH. Add new servers here
# (e.g. "haproxy:/usr/sbin/haproxy", "nginx:/usr/sbin/nginx",
# "prometheus-alertmanager:/usr/bin/prometheus-alertmanager").
REQUIRED=(
    "redis-server:/usr/bin/redis-server"
    "postgresql:/usr/lib/postgresql/*/bin/initdb"
    "haproxy:/usr/sbin/haproxy"
    "nginx:/usr/sbin/nginx"
    "socat:/usr/bin/socat"
    "faketime:/usr/bin/faketime"
    "prometheus-alertmanager:/usr/bin/prometheus-alertmanager"
    "chromium:/usr/bin/chromium"
    "jq:/usr/bin/jq"
)

say() { printf '==> %s\n' "$*"; }

# True when the program of a REQUIRED entry is installed.
installed() {
    local program=$1 path
    if command -v "$(basename "$program")" >/dev/null 2>&1; then
        return 0
    fi
    for path in $program; do
        [[ -x $path ]] && return 0
    done
    return 1
}

missing=()
for entry in "${REQUIRED[@]}"; do
    package=${entry%%:*}
    program=${entry#*:}
    if installed "$program"; then
        say "found $package"
    else
        say "missing $package (no $program)"
        missing+=("$package")
    fi
done

# Python with venv and pip, for the tests' venv below.
if python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    say "found python3 with venv"
else
    say "missing python3-venv"
    missing+=(python3-venv python3-pip)
fi

if ((${#missing[@]} > 0)); then
    if ((EUID != 0)); then
        echo "error: the tests need these Debian packages; install them as root and run again:" >&2
        echo "    apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # The postgresql package may start a cluster on port 5432 and
    # redis-server one on 6379; the tests never use them.
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The Python the tests run (an SMTP server, grpcio-reflection's client): a
# venv in target/pytools, made again when the requirements change.
venv=target/pytools
requirements=tests/python-requirements.txt
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
    say "making the tests' Python venv in $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo is not on PATH: install Rust from https://rustup.rs" >&2
    exit 1
fi

# Tests start the binaries as processes; cargo builds them only for their own
# package's tests, so build them all first.
say "cargo build --workspace --bins"
cargo build --workspace --bins

say "cargo test --workspace $*"
cargo test --workspace "$@"
