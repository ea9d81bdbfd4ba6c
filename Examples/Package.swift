// swift-tools-version:6.0
// Two short programs that use Locus as a library, the way a researcher's own package would:
// `.package(name: "Locus", path: "..")` here; from elsewhere, the repository URL and a version.
//
//   swift run -c release --package-path Examples steer-custom-preferences [MODEL.gguf]
//   swift run -c release --package-path Examples iti-top-vs-random [MODEL.gguf]
import PackageDescription

let package = Package(
    name: "LocusExamples",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Locus", path: ".."),
    ],
    targets: [
        // Record head activations on a small custom preference list, pick heads from them, train
        // a steering vector there with IPO and score it on held-out pairs.
        .executableTarget(
            name: "steer-custom-preferences",
            dependencies: [.product(name: "Locus", package: "Locus")],
            path: "Sources/SteerCustomPreferences"),
        // ITI on a handful of TruthfulQA questions: the probe's top-K heads against K random heads.
        .executableTarget(
            name: "iti-top-vs-random",
            dependencies: [.product(name: "Locus", package: "Locus")],
            path: "Sources/ITITopVersusRandom"),
    ]
)
