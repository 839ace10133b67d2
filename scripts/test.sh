#!/usr/bin/env bash
# Tutti's single test command: formatting, lints, unit/integration/doc tests, fuzz smoke runs and
# the jitter-evaluation smoke run. Local runs and CI (.ci/run) both call exactly this.
#
# Run with: bash scripts/test.sh
#
# Knobs:
#   FUZZ_SECONDS=N   seconds per fuzz target (default 20)
#   SKIP_FUZZ=1      skip the fuzz smoke runs
# Needs: Debian 12 with rustup (stable; nightly for the fuzzers). Installs `cmake` (libopus is
# built from source), `libasound2-dev`/`pkg-config` (cpal, the sound-card feature),
# `postgresql` (server tests), `chromium`/`nodejs`/`npm` (browser tests),
# `valgrind` (C API test), `iproute2` and `iptables` (netns test), `python3-pytest`,
# `default-jdk-headless` and `maven` (binding tests; Maven downloads its plugins from Maven
# Central on the first run) with apt-get if missing, which needs root.
#   TUTTI_PG_PORT=N  port of the private PostgreSQL cluster for the server tests (default: the
#                    first free port from 55432)

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
START=$SECONDS
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SKIP_FUZZ=${SKIP_FUZZ:-0}

stage() {
    printf '\n==> [%s] %s (%ss elapsed)\n' "$(date +%H:%M:%S)" "$*" "$((SECONDS - START))"
}

stage "system packages"
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
# cc links every Rust binary; c++ builds libFuzzer (libfuzzer-sys) for the fuzz stage.
{ command -v cc && command -v c++; } >/dev/null 2>&1 || missing+=(build-essential)
# ALSA headers (through pkg-config) for cpal: the `device` feature (jam's sound card; clippy and
# tests run with --all-features; core/tests/device.rs uses ALSA's null/file PCMs, no card).
pkg-config --exists alsa 2>/dev/null || missing+=(libasound2-dev pkg-config)
# The server's storage and API tests run against a private PostgreSQL cluster too.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# The browser tests drive Debian's Chromium from Node (playwright-core).
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
{ command -v node && command -v npm; } >/dev/null 2>&1 || missing+=(nodejs npm)
# The C API's test runs the C host under valgrind memcheck (ffi/tests/c_host.rs).
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
# `ip netns` and `tc` for the jam network test (examples/tests/jam_netns.rs; it skips without root).
{ command -v ip && command -v tc; } >/dev/null 2>&1 || missing+=(iproute2)
# Where the kernel has no sch_netem, that test queues the peers' UDP to the userspace
# `netem-queue` with `iptables-nft … -j NFQUEUE` (nft's own `queue` needs CONFIG_NFT_QUEUE).
command -v iptables-nft >/dev/null 2>&1 || missing+=(iptables)
# The binding tests (bindings/test.sh): pytest for Python, a JDK and Maven for Kotlin.
python3 -c 'import pytest' >/dev/null 2>&1 || missing+=(python3-pytest)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]] && ! command -v sudo >/dev/null 2>&1; then
        echo "missing: ${missing[*]} (install them, or run as root)" >&2
        exit 1
    fi
    SUDO=()
    [[ $(id -u) -ne 0 ]] && SUDO=(sudo)
    echo "installing: ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "all present (cmake, cc, c++, alsa, postgresql, valgrind, chromium, node, npm, iproute2, iptables, pytest, javac, mvn)"
fi

stage "cargo fmt --all -- --check (workspace, then fuzz/)"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

stage "cargo clippy --workspace --all-targets --all-features -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

stage "PostgreSQL: private cluster for the server tests"
# initdb/pg_ctl from Debian's package, in a temp dir, as a non-root user (postgres refuses root),
# listening only on 127.0.0.1. Tests create one database each; the cluster is removed at exit.
# fsync=off only speeds up the throwaway cluster: the durability test kills tutti-server, not it.
PG_BIN=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1)
PG_PORT=${TUTTI_PG_PORT:-}
if [[ -z $PG_PORT ]]; then # the first free port from 55432 (other checkouts may run tests too)
    for PG_PORT in $(seq 55432 55482); do
        (exec 3<>"/dev/tcp/127.0.0.1/$PG_PORT") 2>/dev/null || break
    done
fi
PG_DIR=$(mktemp -d /tmp/tutti-pg.XXXXXX)
PG_AS=()
if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$PG_DIR"
    PG_AS=(runuser -u postgres --)
fi
pg_stop() {
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
trap pg_stop EXIT
"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust --no-sync >/dev/null
"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -c max_connections=200" >/dev/null
export TUTTI_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export TUTTI_REQUIRE_POSTGRES=1
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT"

stage "cargo test --workspace --all-features (unit, integration and doc tests)"
cargo test --workspace --all-features
pg_stop
trap - EXIT

stage "bindings: generate Kotlin/Swift/Python from libtutti_ffi, run pytest and mvn test"
# Two clients per language join a real tutti-server and exchange tones (bindings/test.sh).
bash bindings/test.sh

stage "fuzz smoke runs (${FUZZ_SECONDS}s per target)"
if [[ $SKIP_FUZZ == 1 ]]; then
    echo "skipped: SKIP_FUZZ=1"
elif ! cargo +nightly --version >/dev/null 2>&1; then
    echo "skipped: no nightly toolchain"
else
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        echo "installing cargo-fuzz"
        cargo +nightly install cargo-fuzz --locked --quiet
    fi
    cd "$ROOT/fuzz"
    mapfile -t targets < <(cargo +nightly fuzz list)
    ((${#targets[@]})) || { echo "no fuzz targets found" >&2; exit 1; }
    log=$(mktemp)
    trap 'rm -f "$log"' EXIT
    for target in "${targets[@]}"; do
        echo "--- fuzz: $target (${FUZZ_SECONDS}s)"
        # A crash makes libFuzzer exit non-zero and saves the input under fuzz/artifacts/.
        if cargo +nightly fuzz run "$target" -- -max_total_time="$FUZZ_SECONDS" >"$log" 2>&1; then
            grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$log" || tail -n 3 "$log"
        else
            tail -n 60 "$log"
            echo "fuzz target $target FAILED (input saved under fuzz/artifacts/$target/)" >&2
            exit 1
        fi
    done
    cd "$ROOT"
fi

stage "browser tests (web-tests/: headless Chromium, playwright-core, node --test)"
# Debian's chromium (a test tool's own browser download does not work offline); playwright-core
# from the committed lock file. The harness starts the debug tutti-server built here.
cargo build -p tutti-server -p tutti-examples --bins
cd "$ROOT/web-tests"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
node --test --test-concurrency=1
cd "$ROOT"

stage "jitter evaluation smoke run (1 simulated minute)"
if [[ -f benches/src/bin/jitter-eval.rs ]]; then
    # --no-default-features: the jitter evaluation needs neither the server nor WebRTC.
    cargo run --release -p tutti-bench --no-default-features --bin jitter-eval -- --minutes 1 --json >/dev/null
    echo "jitter-eval: ok"
else
    echo "skipped: benches/src/bin/jitter-eval.rs does not exist yet"
fi

elapsed=$((SECONDS - START))
stage "done in $((elapsed / 60))m $((elapsed % 60))s"
echo "tutti tests: all stages passed"
