// swift-tools-version:6.0
import PackageDescription
let flags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let package = Package(
    name: "kernel-bench", platforms: [.macOS(.v14)],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "LocusTensor", dependencies: ["CBLAS"], swiftSettings: flags),
        .executableTarget(name: "kernel-bench", dependencies: ["LocusTensor"], swiftSettings: flags),
    ])
