import Datasets
import Experiments
import Foundation
import Reproduction

/// Test fixtures: a small real dataset cut from the MNIST test set committed under Tests/Fixtures,
/// temporary directories, and the built `l0repro` binary.
enum Fixtures {
    /// The real MNIST test set and training labels, committed with the tests (Tests/Fixtures/mnist).
    static let mnist = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/mnist")

    /// A fresh temporary directory; the caller removes it. If it cannot be made, the path is still
    /// returned and the test fails at its first write there, naming it.
    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-test-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes an MNIST-format directory whose training set is the first `trainCount` real MNIST test
    /// digits and whose test set is the last `testCount`, as plain IDX files.
    static func smallMNIST(trainCount: Int, testCount: Int) throws -> URL {
        let images = try IDXFile(contentsOf: mnist.appendingPathComponent("t10k-images-idx3-ubyte.gz"))
        let labels = try IDXFile(contentsOf: mnist.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let directory = temporaryDirectory()
        let splits = [("train", 0..<trainCount), ("t10k", (10_000 - testCount)..<10_000)]
        for (stem, range) in splits {
            try idx([range.count, 28, 28], Array(images.bytes[range.lowerBound * 784..<range.upperBound * 784]))
                .write(to: directory.appendingPathComponent("\(stem)-images-idx3-ubyte"))
            try idx([range.count], Array(labels.bytes[range])).write(to: directory.appendingPathComponent("\(stem)-labels-idx1-ubyte"))
        }
        return directory
    }

    static func idx(_ dimensions: [Int], _ data: [UInt8]) -> Data {
        var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
        return Data(bytes + data)
    }

    /// The `l0repro` executable built beside the test bundle.
    static var executable: URL {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates += ["debug", "release"].map { root.appendingPathComponent(".build/\($0)") }
        for directory in candidates {
            let url = directory.appendingPathComponent("l0repro")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return candidates[0].appendingPathComponent("l0repro")
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `l0repro` with `arguments` to the end.
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil, executable: URL? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = executable ?? Self.executable
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        if let directory { process.currentDirectoryURL = directory }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
