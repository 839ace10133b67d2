#!/usr/bin/env bash
# Builds libtutti_ffi (debug), generates the Kotlin, Swift and Python bindings from it with the
# workspace's uniffi-bindgen, and runs the Python (pytest) and Kotlin (Maven, JUnit 5) tests
# against a real tutti-server. Generated sources are written under the target directory at every
# run and never committed (so there is nothing to drift).
#
# Run with: bash bindings/test.sh            (scripts/test.sh runs it as a stage)
# Knobs: SKIP_KOTLIN=1, SKIP_PYTHON=1. Needs python3 with pytest, a JDK ≥ 17 and Maven;
# scripts/test.sh installs them with apt-get when missing.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT="$TARGET/bindings"

# The same features as scripts/test.sh's `cargo test --workspace --all-features`, so after it
# nothing is rebuilt (a narrower `-p` build would unify features differently and recompile).
cargo build --workspace --all-features
LIB="$TARGET/debug/libtutti_ffi.so"
rm -rf "$OUT"
mkdir -p "$OUT"
for lang in python kotlin swift; do
    "$TARGET/debug/uniffi-bindgen" generate --no-format --language "$lang" \
        --out-dir "$OUT/$lang" "$LIB" >/dev/null
done
# The Python module loads the library from its own directory.
cp "$LIB" "$OUT/python/"
export TUTTI_SERVER="$TARGET/debug/tutti-server"

if [[ ${SKIP_PYTHON:-0} != 1 ]]; then
    echo "--- python: pytest bindings/python"
    TUTTI_PY_BINDINGS="$OUT/python" python3 -m pytest -q -p no:cacheprovider bindings/python
fi

if [[ ${SKIP_KOTLIN:-0} != 1 ]]; then
    echo "--- kotlin: mvn test (bindings/kotlin)"
    mvn -q -B -Dstyle.color=never -f bindings/kotlin/pom.xml test \
        -Dtutti.generated="$OUT/kotlin" -Dtutti.library.dir="$TARGET/debug" \
        -Dtutti.server="$TUTTI_SERVER" -Dtutti.build.dir="$OUT/kotlin-build"
    grep -ho 'tests="[0-9]*" errors="0" skipped="0" failures="0"' \
        "$OUT"/kotlin-build/surefire-reports/TEST-*.xml | sed 's/^/kotlin: /'
fi
