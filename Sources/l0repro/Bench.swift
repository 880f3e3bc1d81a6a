import ArgumentParser
import Experiments
import Foundation
import NeuralNet
import Reproduction

/// What `bench` measures.
enum BenchTarget: String, ExpressibleByArgument, CaseIterable {
    case mlp, lenet5, figures
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training epochs against the PyTorch peer, or figure rendering against matplotlib, in the same run.",
        discussion: """
            `bench figures` computes and renders every figure as PNG, SVG and PDF (the median of 3 each; run \
            figures use the logs under --runs-dir and are skipped when there are none) and prints the total \
            (target: under 1 s). It then times the hard concrete figure against the same figure drawn by \
            matplotlib (scripts/matplotlib_hard_concrete.py with --peer-python, which needs matplotlib and \
            numpy) and prints the ratio per format (target: 10× on PNG).

            `bench mlp` and `bench lenet5`: 
            Trains the L0 network (λ = 0.1/N, batch 100) on the chosen dataset's full training set and prints \
            seconds per epoch, the GFLOP/s of its matrix products, the machine's own sgemm rate (the ceiling) \
            and peak resident memory. When Python with PyTorch and the peer script are found \
            (../shared/bench/torch_l0_ref.py, set up as its README says), the peer trains the same network \
            with the same thread count right after, and the speed ratio is printed. Timings on shared \
            machines drift: compare ratios from one run, not seconds across runs.
            """)

    @Argument(help: "mlp, lenet5 (training speed) or figures (rendering speed).")
    var target: BenchTarget = .mlp

    /// The network a training benchmark times (the target's name).
    var model: ModelKind { ModelKind(rawValue: target.rawValue) ?? .mlp }

    @OptionGroup var data: DataOptions

    @Option(parsing: .unconditional, help: "Epochs to time (the median is reported).")
    var epochs: Int = 3

    @Option(parsing: .unconditional, help: ThreadCount.help)
    var threads: Int = ThreadCount.default

    @Option(name: .customLong("peer-python"), help: ArgumentHelp("Python with torch installed.", valueName: "path"))
    var peerPython: String = "/tmp/venv-torch/bin/python"

    @Option(name: .customLong("peer-script"), help: ArgumentHelp("The peer's training script.", valueName: "path"))
    var peerScript: String = "../shared/bench/torch_l0_ref.py"

    @Flag(name: .customLong("no-peer"), help: "Skip the PyTorch peer.")
    var noPeer = false

    @Option(
        name: .customLong("target"), parsing: .unconditional,
        help: "Required speed-up over the peer (default: 4 for mlp, 2.5 for lenet5, 10 for figures); exit 1 when missed.")
    var requiredRatio: Double?

    @Option(name: .customLong("runs-dir"), help: ArgumentHelp("Run logs for the figures bench.", valueName: "dir"))
    var runsDirectory: String = "Reports/runs"

    var requiredSpeedUp: Double { requiredRatio ?? [.mlp: 4, .lenet5: 2.5, .figures: 10][target]! }

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        try ThreadCount.validate(threads)
    }

    func run() throws {
        if target == .figures {
            return try FigureBench(python: peerPython, runsDirectory: runsDirectory, usePeer: !noPeer, requiredSpeedUp: requiredSpeedUp).run()
        }
        BLASRuntime.setThreads(threads)
        let trainingData = try data.load()
        let config = TrainingConfig(model: model, variant: .l0, dataset: trainingData.record.name, epochs: epochs)
        print(
            "bench \(model.rawValue): L0, λ = 0.1/N, \(trainingData.train.count) examples, batch \(config.batchSize), \(threads) threads, \(BLASRuntime.coreName) kernels"
        )
        let ceiling = Benchmarks.sgemmGigaflops()
        print("sgemm 1024³ (ceiling):  \(format(ceiling, 1)) GFLOP/s")
        let ours = Benchmarks.trainingEpochs(config: config, train: trainingData.train, epochs: epochs)
        let memory = MachineInfo.peakResidentBytes.map { "\(format(Double($0) / 1e6, 0)) MB" } ?? "unknown"
        print(
            "l0repro:  \(format(ours.medianSeconds, 3)) s/epoch (median of \(ours.seconds.map { format($0, 3) }.joined(separator: ", "))), \(format(ours.gigaflopsPerSecond, 1)) GFLOP/s = \(format(100 * ours.gigaflopsPerSecond / ceiling, 0)) % of sgemm, peak RSS \(memory)"
        )
        guard !noPeer else { return }
        guard FileManager.default.isExecutableFile(atPath: peerPython), FileManager.default.fileExists(atPath: peerScript) else {
            print("PyTorch peer: skipped (no \(peerPython) or \(peerScript); see ../shared/bench/README.md)")
            return
        }
        let peer = try PeerRun.run(
            python: peerPython, script: peerScript,
            arguments: [
                "--model", model.network.peerName ?? model.rawValue, "--data", trainingData.location?.directory ?? ".", "--epochs", String(epochs),
                "--threads", String(threads),
            ])
        let sorted = peer.seconds.sorted()
        let median = sorted[sorted.count / 2]
        print(
            "PyTorch peer:  \(format(median, 3)) s/epoch (median of \(peer.seconds.map { format($0, 3) }.joined(separator: ", "))), peak RSS \(format(Double(peer.peakResidentBytes) / 1e6, 0)) MB"
        )
        let ratio = median / ours.medianSeconds
        let verdict = ratio >= requiredSpeedUp ? "meets" : "misses"
        print("speed-up over PyTorch: \(format(ratio, 2))× (\(verdict) the \(format(requiredSpeedUp, 1))× target)")
        if ratio < requiredSpeedUp { throw ExitCode(1) }
    }
}

/// Runs the PyTorch peer script and reads its per-epoch JSON lines.
enum PeerRun {
    struct Result {
        var seconds: [Double]
        var peakResidentBytes: Int
    }

    /// Runs `python script arguments…` to the end (its stderr passed through) and returns its stdout;
    /// `what` names it in errors.
    static func output(python: String, script: String, arguments: [String], what: String) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            throw CommandError(message: "\(python): cannot start \(what) (\(error.localizedDescription))")
        }
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandError(message: "\(script): \(what) exited with status \(process.terminationStatus)")
        }
        return bytes
    }

    static func run(python: String, script: String, arguments: [String]) throws -> Result {
        let bytes = try output(python: python, script: script, arguments: arguments, what: "the peer")
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        let seconds = String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line -> Double? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return object["train_s"] as? Double
        }
        guard !seconds.isEmpty else { throw CommandError(message: "\(script): the peer printed no epoch timings") }
        return Result(seconds: seconds, peakResidentBytes: usage.ru_maxrss * 1024)
    }
}
