#!/usr/bin/env bash
# Builds TuttiFFI.xcframework (static libtutti_ffi for iOS devices, the iOS simulator and macOS)
# and generates Sources/Tutti/Tutti.swift with the workspace's uniffi-bindgen.
# macOS with Xcode and rustup only — it cannot run on Linux (no Apple SDKs there).
#
# Run with: bash bindings/swift/build-xcframework.sh   (then `swift build` / `swift test` here)
set -euo pipefail
[[ $(uname) == Darwin ]] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }
cd "$(dirname "${BASH_SOURCE[0]}")"
SWIFT=$(pwd)
ROOT=$(cd ../.. && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)

rustup target add "${TARGETS[@]}"
for t in "${TARGETS[@]}"; do
    cargo build --manifest-path "$ROOT/Cargo.toml" -p tutti-ffi --release --target "$t"
done
cargo build --manifest-path "$ROOT/Cargo.toml" -p uniffi-bindgen

GEN=$(mktemp -d)
"$TARGET/debug/uniffi-bindgen" generate --language swift --out-dir "$GEN" \
    "$TARGET/aarch64-apple-darwin/release/libtutti_ffi.dylib"
mkdir -p Sources/Tutti
cp "$GEN/Tutti.swift" Sources/Tutti/Tutti.swift
mkdir -p "$GEN/include"
cp "$GEN/TuttiFFI.h" "$GEN/include/"
cp "$GEN/TuttiFFI.modulemap" "$GEN/include/module.modulemap"

# One library per platform: simulator and macOS slices are fat (arm64 + x86_64).
lib() { echo "$TARGET/$1/release/libtutti_ffi.a"; }
mkdir -p "$GEN/ios-sim" "$GEN/macos"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$GEN/ios-sim/libtutti_ffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$GEN/macos/libtutti_ffi.a"

rm -rf "$SWIFT/TuttiFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$(lib aarch64-apple-ios)" -headers "$GEN/include" \
    -library "$GEN/ios-sim/libtutti_ffi.a" -headers "$GEN/include" \
    -library "$GEN/macos/libtutti_ffi.a" -headers "$GEN/include" \
    -output "$SWIFT/TuttiFFI.xcframework"
rm -rf "$GEN"
echo "built $SWIFT/TuttiFFI.xcframework and Sources/Tutti/Tutti.swift"
