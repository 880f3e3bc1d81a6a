import ArgumentParser
import Experiments
import Foundation
import Plotting
import Reproduction

/// `l0repro bench figures`: every figure's render time, and the hard concrete figure against matplotlib.
struct FigureBench {
    let python: String
    let runsDirectory: String
    let usePeer: Bool
    let requiredSpeedUp: Double

    func run() throws {
        let runs = try RunCollection(directory: URL(fileURLWithPath: runsDirectory))
        let hardConcrete = FigureCatalog.entry(named: "hard-concrete")!
        _ = try Benchmarks.figure(hardConcrete, runs: nil, formats: [.png], repeats: 1)  // load fonts once
        print("bench figures: compute + render, median of 3, seconds (runs from \(runsDirectory): \(runs.runs.count) logs)")
        print("figure                  png      svg      pdf")
        var total = 0.0
        var skipped: [String] = []
        for entry in FigureCatalog.entries {
            let timing: FigureTiming
            do {
                timing = try Benchmarks.figure(entry, runs: runs)
            } catch  where entry.source == .runs {
                skipped.append(entry.name)
                continue
            }
            total += timing.seconds.reduce(0) { $0 + $1.seconds }
            print(entry.name.padding(toLength: 20, withPad: " ", startingAt: 0) + timing.seconds.map { format($0.seconds, 4).leftPad(9) }.joined())
        }
        if !skipped.isEmpty { print("skipped (no run logs): \(skipped.joined(separator: ", "))") }
        print("all figures, all three formats: \(format(total, 3)) s (\(total < 1 ? "meets" : "misses") the 1 s target)")

        let ours = try Benchmarks.figure(hardConcrete, runs: nil, repeats: 5)
        guard usePeer else { return }
        guard FileManager.default.isExecutableFile(atPath: python), let script = Self.peerScript() else {
            print("matplotlib peer: skipped (no \(python) or scripts/matplotlib_hard_concrete.py)")
            return
        }
        let peer = try peerSeconds(script: script)
        var pngRatio = 0.0
        for (format, seconds) in ours.seconds {
            guard let theirs = peer[format.rawValue], !theirs.isEmpty else { continue }
            let median = theirs.sorted()[theirs.count / 2]
            let ratio = median / seconds
            if format == .png { pngRatio = ratio }
            print(
                "hard-concrete \(format.rawValue): l0repro \(self.format(seconds * 1000, 1)) ms, matplotlib \(self.format(median * 1000, 1)) ms: \(self.format(ratio, 1))× faster"
            )
        }
        print(
            "speed-up over matplotlib (PNG): \(format(pngRatio, 1))× (\(pngRatio >= requiredSpeedUp ? "meets" : "misses") the \(format(requiredSpeedUp, 0))× target)"
        )
        if pngRatio < requiredSpeedUp || total >= 1 { throw ExitCode(1) }
    }

    /// The matplotlib script, found from the working directory or beside the built tool.
    static func peerScript() -> String? {
        let relative = "scripts/matplotlib_hard_concrete.py"
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("../../\(relative)").standardizedFileURL.path
        return [relative, beside].first { FileManager.default.fileExists(atPath: $0) }
    }

    private func peerSeconds(script: String) throws -> [String: [Double]] {
        let bytes = try PeerRun.output(python: python, script: script, arguments: ["--repeats", "5"], what: "matplotlib")
        guard let result = try? JSONDecoder().decode([String: [Double]].self, from: bytes) else {
            throw CommandError(message: "\(script): matplotlib printed no timings; is matplotlib installed for \(python)?")
        }
        return result
    }

    func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
