import L0

/// The record of one training run, written as `log.json` in the run's directory. Its bytes depend only
/// on the configuration and the data (wall-clock times live in `timing.json` beside it), so the same
/// run on the same data gives the same file.
public struct RunLog: Codable, Equatable, Sendable {
    /// Format 2 names the data by name and digest only (format 1 also recorded where the files were
    /// read from, which made the bytes depend on the machine).
    public static let currentFormat = "l0repro-run/2"

    public var format: String
    /// The run's identity (see `TrainingConfig.runIdentity`).
    public var id: String
    public var config: TrainingConfig
    public var data: DataRecord
    /// λ and the weight decay as used in the objective (divided by the training-set size).
    public var effectiveLambdas: [Double]
    public var effectiveWeightDecay: Double
    public var epochs: [EpochRecord]
    public var result: RunResult
    /// The learned log α of each gated layer at the end (from the averaged weights when averaging).
    public var finalGates: [GateRecord]
    /// The pruning rounds of a selective-decay run (absent for every other variant).
    public var pruningRounds: [PruningRound]? = nil

    /// Forward FLOPs per example at the end when each zero weight's multiply-add is skipped: for an
    /// ungated run, the non-zero weights' share of each layer's dense FLOPs (2 per weight and position).
    /// A gated run's weights between kept groups are non-zero, so for it this is the structured
    /// count (its per-layer kept weights count a layer's kept groups against every output).
    public var unstructuredFlops: Double {
        if config.variant.isGated { return result.prunedFlops }
        return (epochs.last?.layers ?? []).reduce(0) { $0 + $1.denseFlops * Double($1.keptWeights) / Double(max($1.weights, 1)) }
    }

    /// The name of the run's directory (`TrainingConfig.runDirectoryName`).
    public var directoryName: String { TrainingConfig.runDirectoryName(model: config.model, variant: config.variant, id: id) }
}

/// Which data a run used: its name and digest, never where the files were found (that is in
/// `RunTiming`), so that the same run trained from another directory gives the same log.
public struct DataRecord: Codable, Equatable, Sendable {
    /// The dataset's name, e.g. "fashion-mnist".
    public var name: String
    public var trainingExamples: Int
    public var testExamples: Int
    /// SHA-256 of the decompressed training images, training labels, test images and test labels, in
    /// that order (before any --limit).
    public var sha256: String
}

/// What one epoch measured. Test error uses the deterministic gates and, when averaging, the averaged
/// weights; training loss and error are the running means over the epoch's minibatches.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    /// Mean of cross-entropy + penalty over the epoch's steps.
    public var trainLoss: Double
    public var trainCrossEntropy: Double
    /// Percent of training examples misclassified during the epoch (with noisy gates / dropout).
    public var trainError: Double
    /// Percent of test examples misclassified.
    public var testError: Double
    public var layers: [LayerSparsity]
    /// Sums over the layers of the per-layer values.
    public var expectedFlops: Double
    public var prunedFlops: Double
    public var expectedL0: Double
    public var keptWeights: Int
    /// Mean cross-entropy on the held-out validation split, for runs that have one (selective decay).
    public var validationLoss: Double? = nil
}

/// The run's outcome.
public struct RunResult: Codable, Equatable, Sendable {
    /// Test error % after the last epoch (what the paper reports).
    public var finalTestError: Double
    /// The lowest test error % over all epochs (what the official code reports), and its epoch.
    public var bestTestError: Double
    public var bestEpoch: Int
    /// Kept groups per layer joined by "-", e.g. "219-214-100" (the paper's Table 1 "architecture").
    public var architecture: String
    public var keptGroups: [Int]
    public var groups: [Int]
    public var keptWeights: Int
    public var weights: Int
    public var expectedFlops: Double
    public var prunedFlops: Double
    /// Forward FLOPs of the same network with every group kept.
    public var denseFlops: Double

    init(epochs: [EpochRecord]) {
        let last = epochs[epochs.count - 1]
        let best = epochs.min { $0.testError < $1.testError }!
        finalTestError = last.testError
        bestTestError = best.testError
        bestEpoch = best.epoch
        keptGroups = last.layers.map(\.keptGroups)
        groups = last.layers.map(\.groups)
        architecture = keptGroups.map(String.init).joined(separator: "-")
        keptWeights = last.keptWeights
        weights = last.layers.reduce(0) { $0 + $1.weights }
        expectedFlops = last.expectedFlops
        prunedFlops = last.prunedFlops
        denseFlops = last.layers.reduce(0) { $0 + $1.denseFlops }
    }
}

/// The gates of one layer at the end of training.
public struct GateRecord: Codable, Equatable, Sendable {
    public var layer: String
    public var logAlpha: [Float]

    public init(layer: String, logAlpha: [Float]) {
        self.layer = layer
        self.logAlpha = logAlpha
    }
}

/// Wall-clock facts about a run, kept out of `log.json` so that the log is reproducible.
public struct RunTiming: Codable, Equatable, Sendable {
    public var id: String
    /// Seconds of training (without evaluation) per epoch.
    public var epochSeconds: [Double]
    /// Seconds of evaluation per epoch.
    public var evaluationSeconds: [Double]
    public var threads: Int
    public var blas: String
    public var cpu: String
    /// Where the data was read from and how that directory was found (absent in older timing files).
    public var data: DataLocation?
}

/// Where a dataset's files were found: machine facts, kept out of the reproducible log.
public struct DataLocation: Codable, Equatable, Sendable {
    /// The directory the files were read from.
    public var directory: String
    /// How that directory was found: "--data-dir", "L0REPRO_DATA_DIR", "user cache" or a system location.
    public var source: String

    public init(directory: String, source: String) {
        self.directory = directory
        self.source = source
    }
}
