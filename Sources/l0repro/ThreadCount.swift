import ArgumentParser
import Foundation

/// How many threads the engine runs on.
enum ThreadCount {
    /// The machine's cores, at most 8: the products of these networks gain little beyond a few
    /// threads, and a many-core cluster node is usually shared.
    static let `default` = min(ProcessInfo.processInfo.activeProcessorCount, 8)

    /// The most a command accepts; more threads than this cannot help and would only exhaust memory.
    static let maximum = 1024

    /// Help text for a `--threads` option.
    static let help = ArgumentHelp(
        "Threads for training (default: the machine's cores, at most 8 — these networks gain little beyond that, and a cluster node is shared); run logs do not depend on it.",
        valueName: "n")

    /// Throws unless `count` is in 1…`maximum`.
    static func validate(_ count: Int) throws {
        guard (1...maximum).contains(count) else {
            throw ValidationError("--threads must be in 1…\(maximum), got \(count)")
        }
    }
}
