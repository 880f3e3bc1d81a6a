// swift-tools-version: 6.0
import PackageDescription

// The numeric modules are compiled for AVX2 + FMA on x86_64 (any Intel or AMD CPU from 2013–2015 on):
// Swift's SIMD types lower to scalar code on the SSE2 baseline. Build with L0REPRO_PORTABLE=1 for
// older CPUs. Other architectures keep their own baseline (NEON on arm64).
#if arch(x86_64)
    let portable = Context.environment["L0REPRO_PORTABLE"] != nil
    let vectorFlags: [SwiftSetting] = portable ? [] : [.unsafeFlags(["-target-cpu", "haswell"])]
    let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno"] + (portable ? [] : ["-mavx2", "-mfma"]))]
#else
    let vectorFlags: [SwiftSetting] = []
    let kernelFlags: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno"])]
#endif

let package = Package(
    name: "l0repro",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "l0repro", targets: ["l0repro"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CCmark", pkgConfig: "libcmark-gfm", providers: [.apt(["libcmark-gfm-dev", "libcmark-gfm-extensions-dev"])]),
        .systemLibrary(
            name: "CCairo", pkgConfig: "pangocairo", providers: [.apt(["libcairo2-dev", "libpango1.0-dev"])]),
        .target(name: "CFileSystem"),
        .target(name: "FileSupport", dependencies: ["CFileSystem", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "CKernels", cSettings: kernelFlags),
        .target(name: "NeuralNet", dependencies: ["CBLAS", "CKernels"], swiftSettings: vectorFlags),
        .target(name: "L0", dependencies: ["NeuralNet"], swiftSettings: vectorFlags),
        .target(name: "Plotting", dependencies: ["CCairo", "CZlib", "FileSupport"], swiftSettings: vectorFlags),
        .target(name: "Reporting", dependencies: ["CCmark", "CCairo", "Plotting", "FileSupport"]),
        .target(name: "Datasets", dependencies: ["CZlib", "FileSupport"], swiftSettings: vectorFlags),
        .target(name: "Experiments", dependencies: ["NeuralNet", "L0", "Datasets", "FileSupport"], swiftSettings: vectorFlags),
        .target(
            name: "Reproduction", dependencies: ["Experiments", "NeuralNet", "L0", "Datasets", "Plotting", "Reporting", "FileSupport"],
            swiftSettings: vectorFlags),
        .executableTarget(
            name: "l0repro",
            dependencies: [
                "Reproduction", "Experiments", "Datasets", "NeuralNet", "Plotting", "Reporting", "FileSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "TestSupport", dependencies: ["NeuralNet"], path: "Tests/TestSupport"),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TestSupport"]),
        .testTarget(name: "L0Tests", dependencies: ["L0", "NeuralNet", "TestSupport"]),
        .testTarget(name: "PlottingTests", dependencies: ["Plotting"]),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "Plotting"], exclude: ["Golden"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "FileSupport"]),
        .testTarget(
            name: "ReproductionTests",
            dependencies: ["Reproduction", "Experiments", "Datasets", "NeuralNet", "L0", "FileSupport", "l0repro"]),
    ]
)
