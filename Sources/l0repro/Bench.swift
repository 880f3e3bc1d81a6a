import ArgumentParser
import Experiments
import Foundation
import NeuralNet
import Reproduction

/// What `bench` measures.
enum BenchTarget: String, ExpressibleByArgument, CaseIterable {
    case mlp, lenet5, figures, inference, pruning
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time training epochs or inference against the PyTorch peer, or figure rendering against matplotlib, in the same run.",
        discussion: """
            `bench inference RUN` times the forward pass of a finished L0 run's networks: the dense network \
            with the run's weights, the gated one (deterministic gates, closed groups skipped) and the \
            purged one (`l0repro purge`), on the first test images at batch 1, 100 and 10,000, on 1 and \
            --threads threads (the median of --repeats, at least 20), then PyTorch's dense forward of the \
            same network (the peer's inference mode). It prints the medians, the speed-ups and the FLOP \
            ratio, and writes RUN/inference-timing.json (machine facts, not part of what reproduces).

            `bench figures` computes and renders every figure as PNG, SVG and PDF (the median of 3 each; run \
            figures use the logs under --runs-dir and are skipped when there are none) and prints the total \
            (target: under 1 s). It then times the hard concrete figure against the same figure drawn by \
            matplotlib (scripts/matplotlib_hard_concrete.py with --peer-python, which needs matplotlib and \
            numpy) and prints the ratio per format (target: 10× on PNG).

            `bench pruning [--network mlp|lenet5]` times --epochs epochs each of the dense network, of \
            selective decay and of magnitude pruning (its schedule over the timed epochs, so every epoch \
            prunes), on the same 90 % of the training set, then selective decay's validation pass and one \
            pruning round's threshold search; it prints each method's epoch cost over the dense one \
            (target: at most 1.2×) and the search's seconds.

            `bench mlp` and `bench lenet5`: 
            Trains the network of --variant (default l0: λ = 0.1/N; batch 100) on the chosen dataset's full \
            training set and prints seconds per epoch, the GFLOP/s of its matrix products, the machine's own \
            sgemm rate (the ceiling) and peak resident memory. --variant dense times dense-cost epochs: \
            a gated network leaves out the groups whose gate sampled 0 (about a sixth of them at the \
            start, most of them late in training), so its rate is "dense-equivalent": the dense \
            network's FLOPs over its time. With --from RUN the epochs start from a finished L0 run's final \
            state (its model.bin: weights and log α, where the gates have closed) with that run's variant \
            and λ. When Python with PyTorch is found (--peer-python), the project's peer \
            (scripts/torch_peer.py) trains the same network, from the same state, with the same thread \
            count right after, and the speed ratio is printed; --peer-script ../shared/bench/torch_l0_ref.py \
            runs the reference peer instead (L0 only, not with --from). Timings on shared machines drift: \
            compare ratios from one run, not seconds across runs.
            """)

    @Argument(
        help: "mlp, lenet5 (training speed), inference (forward speed of a run), figures (rendering speed) or pruning (the pruning methods' cost).")
    var target: BenchTarget = .mlp

    @Argument(help: ArgumentHelp("For inference: a finished L0 run's directory.", valueName: "run"))
    var inferenceRun: String?

    @Option(parsing: .unconditional, help: "For inference: timed forwards per case (the median is reported; at least 20).")
    var repeats: Int = 20

    /// The network a training benchmark times (the target's name, or --network for pruning).
    var model: ModelKind { ModelKind(rawValue: target.rawValue) ?? network }

    @Option(parsing: .unconditional, help: "For pruning: the network, mlp or lenet5.")
    var network: ModelKind = .mlp

    @OptionGroup var data: DataOptions

    @Option(parsing: .unconditional, help: "Epochs to time (the median is reported).")
    var epochs: Int = 3

    @Option(parsing: .unconditional, help: ThreadCount.help)
    var threads: Int = ThreadCount.default

    @Option(name: .customLong("peer-python"), help: ArgumentHelp("Python with torch installed.", valueName: "path"))
    var peerPython: String = "/tmp/venv-torch/bin/python"

    @Option(name: .customLong("peer-script"), help: ArgumentHelp("The peer's training script.", valueName: "path"))
    var peerScript: String = "scripts/torch_peer.py"

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp("Start from a finished L0 run's final state (its directory) instead of the initial one.", valueName: "run"))
    var startRun: String?

    @Option(
        name: .customLong("variant"),
        help: ArgumentHelp(
            "For mlp and lenet5: l0, l0-sep, dropout or dense (default: l0, or the --from run's).", valueName: "variant"))
    var variant: Variant?

    @Flag(name: .customLong("no-peer"), help: "Skip the PyTorch peer.")
    var noPeer = false

    @Option(
        name: .customLong("target"), parsing: .unconditional,
        help:
            "Required speed-up over the peer (default: 4 for mlp, 2.5 for lenet5, 10 for figures; with --from, 5 for mlp and 4 for lenet5); exit 1 when missed."
    )
    var requiredRatio: Double?

    @Option(name: .customLong("runs-dir"), help: ArgumentHelp("Run logs for the figures bench.", valueName: "dir"))
    var runsDirectory: String = "Reports/runs"

    var requiredSpeedUp: Double {
        if let requiredRatio { return requiredRatio }
        // Late in training (from a finished run's final state) the closed groups are skipped.
        if startRun != nil, target == .mlp || target == .lenet5 { return target == .mlp ? 5 : 4 }
        return [.mlp: 4, .lenet5: 2.5, .figures: 10, .inference: 1][target]!
    }

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        if target == .inference && inferenceRun == nil && startRun == nil {
            throw ValidationError("bench inference needs a finished L0 run's directory: l0repro bench inference Reports/runs/<run>")
        }
        if target != .inference && inferenceRun != nil {
            throw ValidationError("a run directory is an argument of bench inference only; bench \(target.rawValue) takes --from RUN")
        }
        if let variant {
            guard target == .mlp || target == .lenet5 else {
                throw ValidationError("--variant is an option of bench mlp and bench lenet5, not of bench \(target.rawValue)")
            }
            guard Variant.paper.contains(variant) else {
                throw ValidationError(
                    "--variant \(variant.rawValue): bench \(target.rawValue) times l0, l0-sep, dropout or dense; bench pruning times the pruning methods"
                )
            }
        }
        try ThreadCount.validate(threads)
    }

    func run() throws {
        if target == .figures {
            return try FigureBench(python: peerPython, runsDirectory: runsDirectory, usePeer: !noPeer, requiredSpeedUp: requiredSpeedUp).run()
        }
        if target == .inference {
            BLASRuntime.setThreads(threads)
            return try InferenceBench(
                runDirectory: inferenceRun ?? startRun ?? "", data: data, threads: threads, repeats: repeats, python: peerPython, script: peerScript,
                usePeer: !noPeer
            ).run()
        }
        BLASRuntime.setThreads(threads)
        if target == .pruning { return try pruningBench() }
        let start = try startRun.map(startingState)
        if let start, let variant, variant != start.config.variant {
            throw CommandError(
                message:
                    "\(start.name) is an \(start.config.variant.rawValue) run; --from starts from its variant, so drop --variant \(variant.rawValue)")
        }
        let trainingData = try data.load()
        var config = TrainingConfig(
            model: model, variant: start?.config.variant ?? variant ?? .l0, dataset: trainingData.record.name, epochs: epochs)
        if let start { config.setLambdas(start.config.lambdas) }
        let lambdas = config.variant.isGated ? ", λ = (\(config.lambdas.map { format($0, 2) }.joined(separator: ", ")))/N" : ""
        let origin = start.map { " from the final state of \($0.name)" } ?? ""
        print(
            "bench \(model.rawValue): \(config.variant.rawValue)\(lambdas)\(origin), \(trainingData.train.count) examples, batch \(config.batchSize), \(threads) threads, \(BLASRuntime.coreName) kernels"
        )
        let ceiling = Benchmarks.sgemmGigaflops()
        print("sgemm 1024³ (ceiling):  \(format(ceiling, 1)) GFLOP/s")
        let ours = try Benchmarks.trainingEpochs(config: config, train: trainingData.train, epochs: epochs, start: start?.model)
        let memory = MachineInfo.peakResidentBytes.map { "\(format(Double($0) / 1e6, 0)) MB" } ?? "unknown"
        // A gated network skips the groups whose gate sampled 0: the rate is of the dense products' FLOPs.
        let rate = config.variant.isGated ? "dense-equivalent GFLOP/s" : "GFLOP/s"
        print(
            "l0repro:  \(format(ours.medianSeconds, 3)) s/epoch (median of \(ours.seconds.map { format($0, 3) }.joined(separator: ", "))), \(format(ours.gigaflopsPerSecond, 1)) \(rate) = \(format(100 * ours.gigaflopsPerSecond / ceiling, 0)) % of sgemm, peak RSS \(memory)"
        )
        guard !noPeer else { return }
        guard FileManager.default.isExecutableFile(atPath: peerPython), FileManager.default.fileExists(atPath: peerScript) else {
            print("PyTorch peer: skipped (no \(peerPython) or \(peerScript); see the README's bench section)")
            return
        }
        var arguments = [
            "--model", model.network.peerName ?? model.rawValue, "--data", trainingData.location?.directory ?? ".", "--epochs", String(epochs),
            "--threads", String(threads),
        ]
        if let start { arguments += ["--from", start.modelPath] }
        if config.variant.isGated {
            arguments += ["--lambdas", config.lambdas.map { "\($0)" }.joined(separator: ",")]
        } else {
            arguments += ["--variant", config.variant.rawValue]
        }
        let peer = try PeerRun.run(python: peerPython, script: peerScript, arguments: arguments)
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

extension Bench {
    func pruningBench() throws {
        let trainingData = try data.load()
        print(
            "bench pruning \(model.rawValue): \(epochs) epochs per method, batch 100, \(threads) threads, \(BLASRuntime.coreName) kernels, \(MachineInfo.cpuModel)"
        )
        let t = try Benchmarks.pruning(model: model, data: trainingData, epochs: epochs)
        let list = { (timing: EpochTimings) in timing.seconds.map { format($0, 3) }.joined(separator: ", ") }
        print("dense:              \(format(t.dense.medianSeconds, 3)) s/epoch (median of \(list(t.dense)))")
        let limit = 1.2
        var met = true
        for (name, timing, total) in [
            ("selective decay", t.selectiveDecay, t.selectiveDecayEpoch), ("magnitude pruning", t.magnitude, t.magnitude.medianSeconds),
        ] {
            let ratio = total / t.dense.medianSeconds
            met = met && ratio <= limit
            let validation = name == "selective decay" ? " + \(format(t.validationSeconds, 3)) s validation" : ""
            print(
                "\(name):\(String(repeating: " ", count: max(1, 19 - name.count)))\(format(timing.medianSeconds, 3)) s/epoch (median of \(list(timing)))\(validation) = \(format(ratio, 2))× dense (\(ratio <= limit ? "meets" : "misses") the \(format(limit, 1))× target)"
            )
        }
        print(
            "threshold search:   \(format(t.searchSeconds, 2)) s for one round (\(t.searchEvaluations) validation passes; \(t.weightsLeft) of \(KeptWeights.total(model)) weights left)"
        )
        if !met { throw ExitCode(1) }
    }

    /// A finished L0 run to start from: its log's configuration and its model file.
    struct StartingState {
        let name: String
        let config: TrainingConfig
        let model: ModelFile
        let modelPath: String
    }

    func startingState(_ run: String) throws -> StartingState {
        let directory = URL(fileURLWithPath: run)
        guard let log = try Trainer.finishedLog(in: directory) else {
            throw CommandError(message: "\(run): no finished run log; --from takes a finished run's directory")
        }
        let url = directory.appendingPathComponent(ModelFile.fileName)
        let model = try ModelFile.read(from: url)
        guard log.config.model == self.model, model.network == self.model.rawValue else {
            throw CommandError(
                message: "\(run): a \(log.config.model.rawValue) run, not a \(self.model.rawValue) one; bench \(log.config.model.rawValue) --from it")
        }
        guard log.config.variant.isGated else {
            throw CommandError(message: "\(run): a \(log.config.variant.rawValue) run; --from takes an L0 run (l0 or l0-sep)")
        }
        return StartingState(name: directory.lastPathComponent, config: log.config, model: model, modelPath: url.path)
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
