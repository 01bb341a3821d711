// swift-tools-version:5.9
// Swift suite for the generated bindings (bindings/swift) and the iOS module's bridge
// (ios/NatterBridge.swift), run on Linux by scripts/test-swift.sh against the real cdylib and a
// real natter-server. The script stages the sources under Sources/ before building; only
// Package.swift and Tests/ live in git.
import PackageDescription

let package = Package(
    name: "NatterSwiftTests",
    targets: [
        .systemLibrary(name: "NatterFFI", path: "Sources/NatterFFI"),
        .target(name: "Natter", dependencies: ["NatterFFI"], path: "Sources/Natter"),
        .target(name: "NatterBridge", dependencies: ["Natter"], path: "Sources/NatterBridge"),
        .testTarget(name: "NatterTests", dependencies: ["Natter", "NatterBridge"], path: "Tests/NatterTests"),
    ]
)
