import ArgumentParser
import Experiments
import Foundation
import NeuralNet
import Reproduction

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train one of the paper's networks and write its run log.",
        discussion: """
            Evaluates on the test set after every epoch (deterministic gates, averaged weights) and writes \
            Reports/runs/<model>-<variant>-<id>/log.json, where <id> is a hash of the configuration and the \
            data. A finished run is reused (use --fresh to retrain); an interrupted run resumes from its \
            last epoch checkpoint and ends with the log it would have had. Progress goes to stderr when it \
            is a terminal; the summary goes to stdout.

            λ is given "per N", as in the paper: --lambda 0.1 means 0.1/N per weight, N = training examples.
            Defaults follow the paper: 200 epochs, batch 100, Adam 1e-3, weight average 0.999, weight \
            decay 5e-4/N; l0 uses λ = 0.1 on every layer, l0-sep on the MLP (0.05, 0.5, 1) (our choice: \
            the paper does not publish it).
            """)

    @Argument(
        help: ArgumentHelp(
            "The network: \(ModelKind.allCases.map { "\($0.rawValue) (\($0.network.summary))" }.joined(separator: ", ")).", valueName: "network"))
    var model: ModelKind

    @Option(
        name: [.long, .customLong("method")],
        help: "l0 (one λ), l0-sep (λ per layer), dropout, dense, or a pruning method: selective-decay, magnitude.")
    var variant: Variant = .l0

    @OptionGroup var data: DataOptions

    @Option(parsing: .unconditional, help: "Training epochs.")
    var epochs: Int = 200

    @Option(
        name: .customLong("lambda"), parsing: .unconditional,
        help: ArgumentHelp("λ per N: one value for every layer, or one per gated layer, comma-separated.", valueName: "λ[,λ…]"))
    var lambdas: String?

    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 coefficient per N (default 5e-4; 0 for selective-decay).")
    var weightDecay: Double?

    @OptionGroup(title: "Pruning methods") var pruning: PruningOptions

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Examples per minibatch.")
    var batchSize: Int = 100

    @Option(name: .customLong("learning-rate"), parsing: .unconditional, help: "Adam learning rate.")
    var learningRate: Double = 1e-3

    @Option(name: .customLong("average-decay"), parsing: .unconditional, help: "Decay of the weight average used for evaluation; 0 turns it off.")
    var averageDecay: Double = 0.999

    @Option(parsing: .unconditional, help: "Random seed (initialisation, shuffling, gate noise, dropout).")
    var seed: UInt64 = 1

    @Option(name: .customLong("gate-sampling"), help: "batch: one gate sample per minibatch; example: one per example.")
    var gateSampling: GateSampling = .batch

    @Option(parsing: .unconditional, help: ArgumentHelp("Train on the first N training examples only.", valueName: "N"))
    var limit: Int?

    @Option(parsing: .unconditional, help: ThreadCount.help)
    var threads: Int = ThreadCount.default

    @Option(name: .customLong("runs-dir"), help: ArgumentHelp("Where run directories go.", valueName: "dir"))
    var runsDirectory: String = "Reports/runs"

    @Flag(help: "Discard any finished or partial run with this configuration and train from scratch.")
    var fresh = false

    func validate() throws {
        try ThreadCount.validate(threads)
        _ = try parsedLambdas()
    }

    func parsedLambdas() throws -> [Double]? {
        guard let lambdas else { return nil }
        let values = lambdas.split(separator: ",", omittingEmptySubsequences: false).map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--lambda '\(lambdas)' is not a number or a comma-separated list of numbers")
        }
        return values.map { $0! }
    }

    func run() throws {
        BLASRuntime.setThreads(threads)
        // The configuration is checked before any data is read.
        var config = TrainingConfig(
            model: model, variant: variant, dataset: try data.datasetName().rawValue, epochs: epochs, batchSize: batchSize,
            learningRate: learningRate, averageDecay: averageDecay, seed: seed, gateSampling: gateSampling,
            trainingLimit: limit)
        if let weightDecay { config.weightDecay = weightDecay }
        if let values = try parsedLambdas() { config.setLambdas(values) }
        try pruning.apply(to: &config)
        // A magnitude run without s_f was checked with a stand-in (`PruningOptions.apply`).
        if config.magnitude == nil || config.magnitude?.finalSparsity != nil { try config.validate() }
        let trainingData = try data.load()
        if config.magnitude != nil, config.magnitude?.finalSparsity == nil {
            let matched = try PruningOptions.matchedSparsity(config, data: trainingData, runsDirectory: URL(fileURLWithPath: runsDirectory))
            config.magnitude?.finalSparsity = matched
        }
        let trainer = try Trainer(config: config, data: trainingData, runsDirectory: URL(fileURLWithPath: runsDirectory))
        if fresh { try trainer.discard() }
        let display = ProgressDisplay(totalEpochs: epochs)
        let outcome = try trainer.run(observer: display.handle)
        guard let log = outcome.log else { return }
        print(Summary.lines(for: log, directory: outcome.directory, reused: outcome.reused).joined(separator: "\n"))
    }
}

/// The settings of the pruning methods (`train … --method selective-decay|magnitude`).
struct PruningOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help:
            "selective-decay: λ, an irrelevant weight's shrinkage per step in units of the learning rate (default 0.3, chosen on the MNIST validation split for both networks; see the report)."
    )
    var decay: Double?
    @Option(parsing: .unconditional, help: "selective-decay: τ, irrelevant when |g| < τ·(layer mean |g|) (default 1).")
    var relevance: Double?
    @Option(
        parsing: .unconditional,
        help: "selective-decay: a pruning round keeps the validation loss within (1 + tolerance) of its value before (default 0.05).")
    var tolerance: Double?
    @Option(parsing: .unconditional, help: "selective-decay: epochs without improvement before a pruning round (default 10).")
    var patience: Int?
    @Option(
        name: .customLong("validation-fraction"), parsing: .unconditional,
        help: "selective-decay: share of the training set held out, seeded, for validation (default 0.1).")
    var validationFraction: Double?
    @Option(
        name: .customLong("final-sparsity"), parsing: .unconditional,
        help: "magnitude: s_f, the share of weights pruned at the end (default: that of the matching finished l0-sep run in --runs-dir).")
    var finalSparsity: Double?
    @Option(
        name: .customLong("prune-start"), parsing: .unconditional, help: "magnitude: epochs before the schedule starts (default a tenth of --epochs)."
    )
    var pruneStart: Int?
    @Option(
        name: .customLong("prune-end"), parsing: .unconditional, help: "magnitude: the epoch the schedule ends at (default six tenths of --epochs).")
    var pruneEnd: Int?
    @Option(name: .customLong("prune-interval"), parsing: .unconditional, help: "magnitude: steps between pruning steps, Δt (default 100).")
    var pruneInterval: Int?

    /// Puts the options into `config`, refusing those of the other method.
    func apply(to config: inout TrainingConfig) throws {
        let selective = [decay, relevance, tolerance, validationFraction].contains { $0 != nil } || patience != nil
        let magnitude = finalSparsity != nil || [pruneStart, pruneEnd, pruneInterval].contains { $0 != nil }
        if selective && config.variant != .selectiveDecay {
            throw CommandError(message: "--decay, --relevance, --tolerance, --patience and --validation-fraction belong to --method selective-decay")
        }
        if magnitude && config.variant != .magnitude {
            throw CommandError(message: "--final-sparsity and --prune-start/-end/-interval belong to --method magnitude")
        }
        if var settings = config.selectiveDecay {
            settings.decay = decay ?? settings.decay
            settings.relevance = relevance ?? settings.relevance
            settings.tolerance = tolerance ?? settings.tolerance
            settings.patience = patience ?? settings.patience
            settings.validationFraction = validationFraction ?? settings.validationFraction
            config.selectiveDecay = settings
        }
        if config.magnitude != nil {
            var settings = MagnitudeSettings.defaults(epochs: config.epochs)
            settings.finalSparsity = finalSparsity
            settings.startEpoch = pruneStart ?? settings.startEpoch
            settings.endEpoch = pruneEnd ?? settings.endEpoch
            settings.interval = pruneInterval ?? settings.interval
            config.magnitude = settings
            if finalSparsity == nil {
                // Checked with a stand-in; s_f comes from the matching run once the data is known.
                var check = config
                check.magnitude?.finalSparsity = 0
                try check.validate()
            }
        }
    }

    /// s_f of a magnitude run: the weight sparsity of the matching finished l0-sep run.
    static func matchedSparsity(_ config: TrainingConfig, data: TrainingData, runsDirectory: URL) throws -> Double {
        let match = MagnitudeSettings.matchingConfig(for: config)
        let directory = runsDirectory.appendingPathComponent(match.runDirectoryName(dataDigest: data.record.sha256))
        guard let log = try Trainer.finishedLog(in: directory), log.config == match else {
            throw CommandError(
                message:
                    "no finished l0-sep run with these settings in \(runsDirectory.path) (\(directory.lastPathComponent)) to match its sparsity; train it first or pass --final-sparsity"
            )
        }
        return MagnitudeSettings.sparsity(matching: log)
    }
}

/// The result of a run as a few lines for stdout.
enum Summary {
    static func lines(for log: RunLog, directory: URL, reused: Bool) -> [String] {
        let result = log.result
        let full = result.groups.map(String.init).joined(separator: "-")
        let kept = KeptWeights.count(log)
        let keptPercent = 100 * Double(kept) / Double(result.weights)
        return [
            "run \(directory.lastPathComponent) (\(reused ? "reused: already finished" : "trained"))",
            "log: \(Trainer.logURL(in: directory).path)",
            "dataset: \(log.data.name), \(log.config.trainingLimit.map { "first \(min($0, log.data.trainingExamples)) of " } ?? "")\(log.data.trainingExamples) training / \(log.data.testExamples) test examples",
            "test error after epoch \(log.epochs.count): \(format(result.finalTestError, 2)) %   best: \(format(result.bestTestError, 2)) % (epoch \(result.bestEpoch))",
            "architecture (groups kept): \(result.architecture) of \(full)",
            "weights kept (between kept groups): \(kept) of \(result.weights) (\(format(keptPercent, 1)) %)",
            "FLOPs per example: expected \(Int(result.expectedFlops.rounded())), after pruning \(Int(result.prunedFlops.rounded())), dense \(Int(result.denseFlops.rounded()))",
        ]
    }
}
