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
# built from source) with apt-get if it is missing, which needs root.

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
    echo "all present (cmake, cc, c++)"
fi

stage "cargo fmt --all -- --check (workspace, then fuzz/)"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

stage "cargo clippy --workspace --all-targets --all-features -- -D warnings"
cargo clippy --workspace --all-targets --all-features -- -D warnings

stage "cargo test --workspace --all-features (unit, integration and doc tests)"
cargo test --workspace --all-features

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

stage "jitter evaluation smoke run (1 simulated minute)"
if [[ -f benches/src/bin/jitter-eval.rs ]]; then
    cargo run --release -p tutti-bench --bin jitter-eval -- --minutes 1 --json >/dev/null
    echo "jitter-eval: ok"
else
    echo "skipped: benches/src/bin/jitter-eval.rs does not exist yet"
fi

elapsed=$((SECONDS - START))
stage "done in $((elapsed / 60))m $((elapsed % 60))s"
echo "tutti tests: all stages passed"
