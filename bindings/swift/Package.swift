// swift-tools-version:5.9
// Tutti for Swift (iOS, macOS). `Sources/Tutti/Tutti.swift` and `TuttiFFI.xcframework` are
// produced by `./build-xcframework.sh` on macOS; neither is committed.
import PackageDescription

let package = Package(
    name: "Tutti",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Tutti", targets: ["Tutti"]),
    ],
    targets: [
        // The Rust library (static, per platform) with its C header and module map.
        .binaryTarget(name: "TuttiFFI", path: "TuttiFFI.xcframework"),
        // The generated Swift API over it.
        .target(name: "Tutti", dependencies: ["TuttiFFI"], path: "Sources/Tutti"),
        .testTarget(name: "TuttiTests", dependencies: ["Tutti"], path: "Tests/TuttiTests"),
    ]
)
