import Experiments
import Foundation
import Plotting

/// A figure the tool can draw by name.
public struct FigureEntry: Sendable {
    /// What the figure is computed from.
    public enum Source: Sendable {
        /// Formulas only (and a seeded Monte Carlo).
        case math
        /// The run logs under a runs directory.
        case runs
    }

    public let name: String
    public let summary: String
    public let source: Source
    let build: @Sendable (RunCollection?) throws -> Figure

    /// Draws the figure; `runs` is needed when `source` is `.runs`.
    public func figure(runs: RunCollection?) throws -> Figure {
        try build(runs)
    }
}

/// Every figure of the reproduction, in the order the report uses them.
public enum FigureCatalog {
    public static let entries: [FigureEntry] = [
        FigureEntry(name: "lp-penalty", summary: "Paper Fig. 1: the Lp penalties |θ|ᵖ for p = 2, 1, 0.5, 0.1 and the L0 norm", source: .math) { _ in
            MathFigures.penalties()
        },
        FigureEntry(
            name: "hard-concrete",
            summary: "Paper Fig. 2: hard concrete densities (log α = 0, β = 0.5) and E[z] against log α by Monte Carlo beside the noise-free gate",
            source: .math
        ) { _ in MathFigures.hardConcrete() },
        FigureEntry(name: "hard-concrete-grid", summary: "Rectified hard concrete for log α ∈ {−2, 0, 2} × β ∈ {0.25, 2/3, 1}", source: .math) { _ in
            MathFigures.hardConcreteGrid()
        },
        FigureEntry(
            name: "expected-flops", summary: "Paper Fig. 3: expected FLOPs over training, MLP and LeNet-5, L0 and L0-sep, dense as a flat line",
            source: .runs
        ) {
            try RunFigures.expectedFlops($0!)
        },
        FigureEntry(name: "kept-groups", summary: "Share of gate groups kept per layer after every epoch", source: .runs) {
            try RunFigures.keptGroups($0!)
        },
        FigureEntry(name: "gate-histograms", summary: "Histograms of P(z ≠ 0) per layer at the end of training", source: .runs) {
            try RunFigures.gateHistograms($0!)
        },
        FigureEntry(name: "architecture", summary: "Groups kept per layer against the original network, ours beside the paper's", source: .runs) {
            try RunFigures.architecture($0!)
        },
        FigureEntry(
            name: "error-vs-weights",
            summary: "Test error against weights kept, every method of ours beside the paper's Table 1 rows and published pruning results (quoted)",
            source: .runs
        ) { try RunFigures.errorAgainstWeights($0!) },
        FigureEntry(name: "training-curves", summary: "Test error and training cross-entropy per epoch for every variant", source: .runs) {
            try RunFigures.trainingCurves($0!)
        },
    ]

    public static func entry(named name: String) -> FigureEntry? { entries.first { $0.name == name } }
}

/// The date stamped into generated files: `SOURCE_DATE_EPOCH` when set, else the time of the current
/// git commit, else the Unix epoch; never the clock, so regenerated files keep their bytes.
public enum SourceDate {
    /// The date `SOURCE_DATE_EPOCH` names (whole seconds since 1970), nil when it is unset; a value
    /// that is not such a number is refused.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Date? {
        guard let value = environment["SOURCE_DATE_EPOCH"] else { return nil }
        guard let seconds = Int64(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 else {
            throw ConfigError(message: "SOURCE_DATE_EPOCH='\(value)' is not a whole number of seconds since 1970; unset it or fix it")
        }
        return Date(timeIntervalSince1970: Double(seconds))
    }

    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment, directory: URL? = nil) throws -> Date {
        if let fixed = try fromEnvironment(environment) { return fixed }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "log", "-1", "--format=%ct"]
        if let directory { process.currentDirectoryURL = directory }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        if (try? process.run()) != nil {
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            if process.terminationStatus == 0,
                let seconds = Double(String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            {
                return Date(timeIntervalSince1970: seconds)
            }
        }
        return Date(timeIntervalSince1970: 0)
    }

    /// ISO 8601 in UTC, as PDF metadata wants it.
    public static func iso8601(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
