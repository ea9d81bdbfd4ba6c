// swift-tools-version:6.0
import PackageDescription

/// Swift settings shared by every target. Deliberately empty: no `unsafeFlags` (SwiftPM refuses a
/// package that sets them when another package depends on it by version) and no `-target-cpu`, so
/// the Swift code builds for the platform's baseline (x86-64 SSE2, arm64). The hot loops that need
/// AVX2, FMA or F16C (quantised matrix-vector products, dequantisation at load) are C in
/// `CLocusKernels`, compiled with function-level `target("avx2,fma,f16c")` attributes and chosen at
/// run time, with portable fallbacks (BENCHMARKS.md, "No unsafe flags").
let cpuFlags: [SwiftSetting] = []

/// The library modules a Swift program can depend on, one product each, and re-exported together
/// by the umbrella module `Locus` (`import Locus`).
let libraryModules = [
    "LocusTensor", "LocusCore", "LocusCheckpoint", "LocusWeights", "LocusTokenizer", "LocusModel",
    "LocusInterventions", "LocusData", "LocusFigures", "LocusProbing", "LocusSteering",
    "LocusTracing", "LocusEditing", "LocusScrubbing", "LocusEvaluation", "LocusRecipes", "LocusExperiments",
]

let package = Package(
    name: "Locus",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "locus", targets: ["LocusCLI"]),
        .library(name: "Locus", targets: ["Locus"]),
    ] + libraryModules.map { .library(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // SHA-256 of checkpoints and data files (LocusData.SHA256).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // `swift package generate-documentation` for the library products (scripts/docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(name: "LocusTensor", dependencies: ["CBLAS"], swiftSettings: cpuFlags),
        // The vocabulary every layer speaks: JSON values, attention heads and head-set
        // selections, statistics, the Adam/AdamW optimizer, progress, atomic file writes.
        .target(
            name: "LocusCore",
            dependencies: ["LocusTensor", .product(name: "OrderedCollections", package: "swift-collections")],
            swiftSettings: cpuFlags),
        // Quantised matrix-vector kernels and dequantisers in C: AVX2/FMA/F16C by function
        // attribute + run-time dispatch, portable scalar fallback; no global -march (no unsafe flags).
        .target(name: "CLocusKernels"),
        .target(
            name: "LocusCheckpoint", dependencies: ["LocusTensor", "LocusCore", "CLocusKernels"],
            swiftSettings: cpuFlags),
        // Weight matrices kept in their stored type (dense fp32 or ggml blocks).
        .target(
            name: "LocusWeights", dependencies: ["LocusTensor", "LocusCheckpoint", "CLocusKernels"],
            swiftSettings: cpuFlags),
        .target(name: "LocusTokenizer", dependencies: ["LocusCheckpoint"], swiftSettings: cpuFlags),
        .target(
            name: "LocusModel",
            dependencies: ["LocusTensor", "LocusCore", "LocusCheckpoint", "LocusTokenizer", "LocusWeights"],
            swiftSettings: cpuFlags),
        .target(
            name: "LocusInterventions", dependencies: ["LocusModel", "LocusCore"], swiftSettings: cpuFlags),
        // Data sets (TruthfulQA, preference pairs, CounterFact, known facts, text corpora).
        .target(
            name: "LocusData",
            dependencies: ["LocusTensor", "LocusCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: cpuFlags),
        // SVG figures: no model dependency, so reports can be redrawn from records alone.
        .target(name: "LocusFigures", swiftSettings: cpuFlags),
        // Methods, each on the interventions layer; none reaches into another.
        .target(
            name: "LocusProbing", dependencies: ["LocusCore", "LocusInterventions", "LocusData"],
            swiftSettings: cpuFlags),
        .target(
            name: "LocusSteering", dependencies: ["LocusCore", "LocusInterventions", "LocusData"],
            swiftSettings: cpuFlags),
        .target(
            name: "LocusTracing", dependencies: ["LocusCore", "LocusInterventions", "LocusData", "LocusFigures"],
            swiftSettings: cpuFlags),
        .target(
            name: "LocusEditing", dependencies: ["LocusCore", "LocusInterventions", "LocusData"],
            swiftSettings: cpuFlags),
        .target(
            name: "LocusScrubbing", dependencies: ["LocusCore", "LocusInterventions", "LocusData"],
            swiftSettings: cpuFlags),
        // Evaluation of any intervention (hooks) on TruthfulQA and side-effect text.
        .target(
            name: "LocusEvaluation", dependencies: ["LocusCore", "LocusInterventions", "LocusData"],
            swiftSettings: cpuFlags),
        // Experiment recipes, the resumable sharded sweep runner and reports; methods plug in.
        .target(
            name: "LocusRecipes",
            dependencies: [
                "LocusCore", "LocusData", "LocusFigures",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: cpuFlags),
        // The experiments every command runs, as a library: sweep executors (ITI, IPO/DPO, scrub,
        // ablate), the Hase and interchange analyses, ROME/FT-L edit sessions. Above every method
        // target and LocusRecipes; the CLI only parses options and wires these.
        .target(
            name: "LocusExperiments",
            dependencies: [
                "LocusCore", "LocusModel", "LocusInterventions", "LocusData", "LocusFigures", "LocusProbing", "LocusSteering",
                "LocusEvaluation", "LocusTracing", "LocusEditing", "LocusScrubbing", "LocusRecipes",
            ],
            swiftSettings: cpuFlags),
        // `import Locus`: every library module at once (`@_exported import`s only).
        .target(
            name: "Locus", dependencies: libraryModules.map { .target(name: $0) },
            swiftSettings: cpuFlags),
        .executableTarget(
            name: "LocusCLI",
            dependencies: [
                .product(name: "OrderedCollections", package: "swift-collections"),
                "LocusCore",
                "LocusModel",
                "LocusInterventions",
                "LocusData",
                "LocusFigures",
                "LocusProbing",
                "LocusSteering",
                "LocusEvaluation",
                "LocusTracing",
                "LocusEditing",
                "LocusRecipes",
                "LocusScrubbing",
                "LocusWeights",
                "LocusExperiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: cpuFlags),
        // Shared by the test targets: package root, real and tiny models, data folder, scratch dirs.
        .target(
            name: "LocusTestSupport",
            dependencies: ["LocusModel", "LocusTokenizer", "LocusData", "LocusTensor"],
            path: "Tests/LocusTestSupport", swiftSettings: cpuFlags),
        .testTarget(name: "LocusTensorTests", dependencies: ["LocusTensor"], swiftSettings: cpuFlags),
        .testTarget(name: "LocusCoreTests", dependencies: ["LocusCore"], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusCheckpointTests", dependencies: ["LocusCheckpoint"],
            resources: [.copy("Fixtures")], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusTokenizerTests", dependencies: ["LocusTokenizer"],
            resources: [.copy("Fixtures")], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusWeightsTests", dependencies: ["LocusWeights", "LocusCheckpoint"],
            swiftSettings: cpuFlags),
        .testTarget(name: "LocusDataTests", dependencies: ["LocusData"], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusFiguresTests", dependencies: ["LocusFigures"], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusProbingTests", dependencies: ["LocusProbing", "LocusModel", "LocusTestSupport"],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusSteeringTests",
            dependencies: ["LocusSteering", "LocusModel", "LocusTestSupport", "LocusEvaluation", "LocusData"],
            resources: [.copy("Fixtures")], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusEvaluationTests", dependencies: ["LocusEvaluation", "LocusModel", "LocusTestSupport"],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusTracingTests", dependencies: ["LocusTracing", "LocusModel", "LocusTestSupport"],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusEditingTests", dependencies: ["LocusEditing", "LocusModel", "LocusTestSupport"],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusScrubbingTests", dependencies: ["LocusScrubbing", "LocusModel", "LocusTestSupport"],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusRecipesTests", dependencies: ["LocusRecipes"], swiftSettings: cpuFlags),
        // `locus slurm` on the local one-node Slurm of scripts/slurm (started by scripts/test.sh).
        .testTarget(
            name: "LocusSlurmTests", dependencies: ["LocusRecipes", "LocusTestSupport"], swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusInterventionsTests", dependencies: ["LocusInterventions"],
            swiftSettings: cpuFlags),
        // Runs the built `locus` binary: help and bad arguments of every command, run-time
        // validation (issue 10).
        .testTarget(
            name: "LocusCLITests", dependencies: ["LocusCheckpoint", "LocusSteering", "LocusTestSupport", "LocusEvaluation"],
            swiftSettings: cpuFlags),
        .testTarget(
            name: "LocusModelTests",
            dependencies: ["LocusModel", "LocusInterventions", "LocusTestSupport", "LocusWeights", "LocusCheckpoint"],
            resources: [.copy("Fixtures")], swiftSettings: cpuFlags),
        // Every method end to end on the GPT-2 and GPT-J parity fixtures (issue 12 item 4).
        .testTarget(
            name: "LocusFamilyMethodsTests",
            dependencies: [
                "LocusModel", "LocusInterventions", "LocusTracing", "LocusEditing", "LocusProbing",
                "LocusEvaluation", "LocusSteering", "LocusScrubbing", "LocusData", "LocusTensor", "LocusWeights", "LocusCore",
                "LocusTestSupport",
            ],
            swiftSettings: cpuFlags),
        // Seeded mutations of every file format Locus reads, fed to its loader (LOCUS_FUZZ_CASES).
        .testTarget(
            name: "LocusFuzzTests",
            dependencies: [
                "LocusCheckpoint", "LocusTokenizer", "LocusModel", "LocusData", "LocusRecipes",
                "LocusSteering", "LocusTestSupport",
            ],
            swiftSettings: cpuFlags),
    ]
)
