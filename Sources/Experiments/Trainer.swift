import Datasets
import FileSupport
import Foundation
import L0
import NeuralNet

/// What a trainer reports while it works.
public enum TrainingEvent: Sendable {
    /// Continuing from the checkpoint written after `completedEpochs` epochs.
    case resumed(completedEpochs: Int)
    /// The newest checkpoint failed its checks (`problem`, one line) and the run resumes from the one
    /// before it instead.
    case damagedCheckpoint(problem: String)
    /// A training step finished: (epoch, 1-based), step within the epoch, steps per epoch, and the
    /// epoch's mean objective so far.
    case step(epoch: Int, step: Int, steps: Int, meanLoss: Double)
    /// An epoch finished and was evaluated.
    case epochFinished(EpochRecord, trainingSeconds: Double)
}

/// Training stopped because a loss or a weight became NaN or infinite; the run's checkpoint (if
/// any) is the last good state, and no log is written.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let run: String
    public let epoch: Int
    public let step: Int
    /// "the loss" or the parameter's name, e.g. "fc1.weight".
    public let what: String
    /// Epochs completed before it, which the checkpoint holds.
    public let kept: Int
    /// Whether the values were still finite (an exploded loss) rather than NaN or infinite.
    public var finite = false

    public var description: String {
        let checkpoint = kept > 0 ? "its checkpoint after epoch \(kept) is kept" : "nothing was written"
        let how = finite ? "exploded" : "became NaN or infinite"
        return "run \(run) diverged in epoch \(epoch) at step \(step): \(what) \(how); \(checkpoint); try a smaller --learning-rate"
    }
}

/// The outcome of `Trainer.run`.
public struct TrainingOutcome: Sendable {
    /// The finished log, or nil when the run stopped early on request.
    public let log: RunLog?
    /// Whether an existing finished log was returned without training.
    public let reused: Bool
    public let directory: URL
}

/// Trains one configuration on one dataset, evaluating after every epoch, checkpointing so that an
/// interrupted run resumes to the same result, and writing the run log atomically at the end.
///
/// Random streams: stream 0 of the seed initialises the network; stream 1 shuffles the data and draws
/// gate noise and dropout masks. Its state is part of the checkpoint.
public final class Trainer {
    public let config: TrainingConfig
    public let data: TrainingData
    public let id: String
    /// Where the log, timing and checkpoint go: `<runs>/<model>-<variant>-<id>`.
    public let directory: URL

    private let train: ImageClassificationSet
    /// The held-out part of the training set, for methods that validate (selective decay).
    private let validation: ImageClassificationSet?

    public init(config: TrainingConfig, data: TrainingData, runsDirectory: URL) throws {
        try config.validate()
        self.config = config
        self.data = data
        let all = config.trainingLimit.map { data.train.prefix($0) } ?? data.train
        if let settings = config.selectiveDecay {
            (train, validation) = Self.split(all, fraction: settings.validationFraction, seed: config.seed)
            guard train.count > 0, validation!.count > 0 else {
                throw ConfigError(
                    message: "--validation-fraction \(settings.validationFraction) leaves no training or no validation examples of \(all.count)")
            }
        } else {
            (train, validation) = (all, nil)
        }
        id = config.runIdentity(dataDigest: data.record.sha256)
        directory = runsDirectory.appendingPathComponent(TrainingConfig.runDirectoryName(model: config.model, variant: config.variant, id: id))
    }

    /// A seeded split of `set`: a permutation from stream 2 of `seed`, its last `fraction` held out
    /// for validation; both parts keep the training set's order.
    public static func split(_ set: ImageClassificationSet, fraction: Double, seed: UInt64) -> (
        train: ImageClassificationSet, validation: ImageClassificationSet
    ) {
        let order = UnsafeMutableBufferPointer<Int32>.allocate(capacity: set.count)
        defer { order.deallocate() }
        for i in 0..<set.count { order[i] = Int32(i) }
        RandomGenerator(seed: seed, stream: 2).shuffle(order)
        let held = Int((Double(set.count) * fraction).rounded())
        let validation = Set(order.suffix(held).map(Int.init))
        let trainIndices = (0..<set.count).filter { !validation.contains($0) }
        return (set.subset(trainIndices), set.subset(validation.sorted()))
    }

    /// An epoch's mean cross-entropy above this stops the run as diverged.
    static let explodedLoss = 1e4

    public var logURL: URL { Self.logURL(in: directory) }
    /// Where a run directory keeps its log.
    public static func logURL(in runDirectory: URL) -> URL { runDirectory.appendingPathComponent("log.json") }
    public var timingURL: URL { directory.appendingPathComponent("timing.json") }
    /// The finished run's parameters (`ModelFile`).
    public var modelURL: URL { directory.appendingPathComponent(ModelFile.fileName) }
    var checkpointURL: URL { directory.appendingPathComponent("checkpoint.bin") }
    /// The checkpoint before the newest, kept so that a damaged newest one costs one epoch.
    var previousCheckpointURL: URL { directory.appendingPathComponent("checkpoint.previous.bin") }
    /// The SHA-256 of `log.json`, in `sha256sum` format.
    public static func digestURL(in runDirectory: URL) -> URL { runDirectory.appendingPathComponent("log.json.sha256") }

    /// The finished log of this run, if one exists and belongs to it; throws when it is damaged.
    public func existingLog() throws -> RunLog? {
        try Self.finishedLog(in: directory).flatMap { $0.id == id ? $0 : nil }
    }

    /// The finished log in a run directory: nil when there is none (or one of an older format, which
    /// is retrained), and an error naming the file when one is there but cannot be trusted: not a
    /// file, unreadable, or not matching the digest written beside it when it was finished.
    public static func finishedLog(in directory: URL) throws -> RunLog? {
        let url = logURL(in: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        let retrain = "move it away or rerun with --fresh to retrain"
        guard !isDirectory.boolValue else { throw FileError(path: url.path, problem: "is a directory, not a run log; \(retrain)") }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: url)
        } catch {
            throw FileError(path: url.path, problem: "cannot read run log (\(FileError.describe(error, path: url.path, expecting: .file)))")
        }
        guard let log = try? JSONDecoder().decode(RunLog.self, from: bytes) else {
            throw FileError(path: url.path, problem: "is not a readable run log; \(retrain)")
        }
        guard log.format == RunLog.currentFormat else { return nil }
        let digestURL = digestURL(in: directory)
        guard let recorded = try? String(contentsOf: digestURL, encoding: .utf8) else {
            throw FileError(path: url.path, problem: "has no digest beside it (\(digestURL.lastPathComponent)); \(retrain)")
        }
        guard recorded == digestLine(bytes) else {
            throw FileError(path: url.path, problem: "does not match its digest in \(digestURL.lastPathComponent) (edited or damaged); \(retrain)")
        }
        return log
    }

    /// The digest file's content for log bytes: "<sha256>  log.json", as `sha256sum` writes it.
    static func digestLine(_ bytes: Data) -> String { "\(Digest.sha256(bytes))  log.json\n" }

    /// Fails before any work when the run's outputs cannot be written: the runs directory is a file
    /// or not writable, or a path the run writes is a directory.
    func checkOutputs() throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        var ancestor = directory
        while !manager.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) {
            let parent = ancestor.deletingLastPathComponent()
            if parent.path == ancestor.path { break }
            ancestor = parent
        }
        guard isDirectory.boolValue else {
            throw FileError(path: ancestor.path, problem: "is a file, not a directory; choose another --runs-dir")
        }
        guard manager.isWritableFile(atPath: ancestor.path) else {
            throw FileError(path: ancestor.path, problem: "permission denied: cannot create run directories here; choose another --runs-dir")
        }
        // Access rights do not tell everything (root, read-only or special file systems): make it.
        do {
            try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError(
                path: directory.path,
                problem:
                    "cannot create the run directory (\(FileError.describe(error, path: directory.path, expecting: .directory))); choose another --runs-dir"
            )
        }
        for url in [logURL, Self.digestURL(in: directory), timingURL, modelURL, checkpointURL, previousCheckpointURL] {
            if manager.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw FileError(path: url.path, problem: "is a directory, but the run writes a file there; move it away")
            }
        }
    }

    /// Removes this run's directory, so the next `run` starts from scratch.
    public func discard() throws {
        guard FileManager.default.fileExists(atPath: directory.path) else { return }
        do {
            try FileManager.default.removeItem(at: directory)
        } catch {
            throw FileError(path: directory.path, problem: "cannot remove old run (\(error.localizedDescription))")
        }
    }

    /// Trains to the end (or, with `stoppingAfter`, until that many epochs are complete), reusing a
    /// finished log and resuming from a checkpoint when there is one.
    public func run(stoppingAfter stopEpoch: Int? = nil, observer: (TrainingEvent) -> Void = { _ in }) throws
        -> TrainingOutcome
    {
        if let log = try existingLog() { return TrainingOutcome(log: log, reused: true, directory: directory) }
        try checkOutputs()
        let loop = TrainingLoop(config: config, train: train)
        let (network, optimizer, average) = (loop.network, loop.optimizer, loop.average)
        var random = RandomGenerator(seed: config.seed, stream: 1)
        var records = [EpochRecord]()
        var timing = RunTiming(
            id: id, epochSeconds: [], evaluationSeconds: [], threads: BLASRuntime.threads,
            blas: BLASRuntime.configuration, cpu: MachineInfo.cpuModel, data: data.location)

        let pruner = loop.pruner
        let buffers =
            Checkpoint.buffers(optimizer: optimizer, average: average, layers: network.layers) + (pruner?.checkpointBuffers ?? [])
        if let header = try resumableCheckpoint(into: buffers, observer: observer) {
            if let pruner {
                pruner.state = header.pruner ?? PrunerState()
                pruner.restored()
            }
            optimizer.restore(step: header.optimizerSteps)
            average?.restore(updates: header.averageUpdates)
            random = RandomGenerator(state: header.random)
            records = header.epochs
            timing = header.timing
            observer(.resumed(completedEpochs: header.completedEpochs))
        }

        while records.count < config.epochs {
            if let stopEpoch, records.count >= stopEpoch {
                return TrainingOutcome(log: nil, reused: false, directory: directory)
            }
            let epoch = records.count + 1
            let started = ContinuousClock.now
            optimizer.startEpoch(records.count)
            let sums = loop.runEpoch(random: random) { step, sums in
                observer(.step(epoch: epoch, step: step, steps: loop.stepsPerEpoch, meanLoss: (sums.crossEntropy + sums.penalty) / Double(step)))
            }
            if let step = sums.divergedAt {
                throw TrainingDiverged(run: directory.lastPathComponent, epoch: epoch, step: step, what: "the loss", kept: records.count)
            }
            if let bad = network.parameters.first(where: { parameter in !parameter.value.elements.allSatisfy(\.isFinite) }) {
                throw TrainingDiverged(run: directory.lastPathComponent, epoch: epoch, step: sums.steps, what: bad.name, kept: records.count)
            }
            // Cross-entropy starts near log 10 ≈ 2.3: an epoch's mean above 10⁴ means logits of
            // thousands pointing the wrong way, a run that has blown up although still finite.
            if sums.crossEntropy / Double(max(sums.steps, 1)) > Self.explodedLoss {
                throw TrainingDiverged(
                    run: directory.lastPathComponent, epoch: epoch, step: sums.steps, what: "the mean cross-entropy (above 10⁴)",
                    kept: records.count, finite: true)
            }
            let steps = sums.steps
            let trained = ContinuousClock.now
            var validationLoss: Double?
            if let pruner, let validation {
                let batch = config.batchSize
                let measure = {
                    Self.validationLoss(network, average: average, masks: pruner.masks, on: validation, batchSize: batch, random: random)
                }
                let loss = measure()
                validationLoss = loss
                pruner.afterEpoch(epoch, loss: loss, validationLoss: measure)
            }
            average?.swapIn()
            let testErrors = countTestErrors(network, random: random)
            let layers = network.sparsity()
            average?.swapOut()
            let record = EpochRecord(
                epoch: epoch, trainLoss: (sums.crossEntropy + sums.penalty) / Double(steps),
                trainCrossEntropy: sums.crossEntropy / Double(steps),
                trainError: 100 * Double(sums.errors) / Double(train.count),
                testError: 100 * Double(testErrors) / Double(data.test.count), layers: layers,
                expectedFlops: layers.reduce(0) { $0 + $1.expectedFlops }, prunedFlops: layers.reduce(0) { $0 + $1.prunedFlops },
                expectedL0: layers.reduce(0) { $0 + $1.expectedL0 }, keptWeights: layers.reduce(0) { $0 + $1.keptWeights },
                validationLoss: validationLoss)
            records.append(record)
            timing.epochSeconds.append(seconds(trained - started))
            timing.evaluationSeconds.append(seconds(ContinuousClock.now - trained))
            observer(.epochFinished(record, trainingSeconds: seconds(trained - started)))
            if records.count < config.epochs {
                let header = Checkpoint.Header(
                    format: Checkpoint.format, runID: id, completedEpochs: records.count, optimizerSteps: optimizer.step,
                    averageUpdates: average?.updates ?? 0, random: random.state, epochs: records, timing: timing,
                    floatCount: 0, pruner: pruner?.state)
                if FileManager.default.fileExists(atPath: checkpointURL.path) {
                    try? FileManager.default.removeItem(at: previousCheckpointURL)
                    try? FileManager.default.moveItem(at: checkpointURL, to: previousCheckpointURL)
                }
                try Checkpoint.write(header: header, buffers: buffers, to: checkpointURL)
            }
        }

        average?.swapIn()
        let gates = network.layers.compactMap { layer in
            (layer as? any GatedLayer).map { GateRecord(layer: layer.name, logAlpha: $0.gates.logAlpha.value.array) }
        }
        var model = ModelFile(
            network: config.model.rawValue, method: config.variant.rawValue, runID: id, parameters: network.parameters)
        if let masks = pruner?.masks { model.append(masks: masks) }
        average?.swapOut()
        let effective = config.perWeight(trainingSize: train.count)
        let log = RunLog(
            format: RunLog.currentFormat, id: id, config: config,
            data: data.record, effectiveLambdas: effective.lambdas, effectiveWeightDecay: effective.weightDecay,
            epochs: records, result: RunResult(epochs: records),
            finalGates: gates, pruningRounds: config.selectiveDecay == nil ? nil : pruner?.state.rounds)
        // The model and the log's digest first: a directory with a log is a finished run.
        try model.write(to: modelURL)
        let logBytes = CanonicalJSON.encode(log, pretty: true)
        try AtomicFile.write(Self.digestLine(logBytes), to: Self.digestURL(in: directory))
        try AtomicFile.write(logBytes, to: logURL)
        try AtomicFile.write(CanonicalJSON.encode(timing, pretty: true), to: timingURL)
        for url in [checkpointURL, previousCheckpointURL] { try? FileManager.default.removeItem(at: url) }
        return TrainingOutcome(log: log, reused: false, directory: directory)
    }

    /// The newest checkpoint that passes its checks, read into `buffers`: the newest one, or the one
    /// before it when the newest is damaged (reported to the observer). Nil when there is none; an
    /// error naming the damage when neither can be used.
    private func resumableCheckpoint(into buffers: [FloatBuffer], observer: (TrainingEvent) -> Void) throws -> Checkpoint.Header? {
        let manager = FileManager.default
        guard manager.fileExists(atPath: checkpointURL.path) else {
            // Killed between moving the newest aside and writing its successor.
            guard manager.fileExists(atPath: previousCheckpointURL.path) else { return nil }
            return try Checkpoint.read(from: previousCheckpointURL, runID: id, into: buffers)
        }
        do {
            return try Checkpoint.read(from: checkpointURL, runID: id, into: buffers)
        } catch let newest as FileError {
            guard manager.fileExists(atPath: previousCheckpointURL.path),
                let header = try? Checkpoint.read(from: previousCheckpointURL, runID: id, into: buffers)
            else {
                throw FileError(
                    path: newest.path,
                    problem: newest.problem.replacingOccurrences(
                        of: "; delete it or rerun with --fresh", with: "; no earlier good checkpoint: delete it or rerun with --fresh"))
            }
            observer(
                .damagedCheckpoint(
                    problem: "\(newest.description); resuming from \(previousCheckpointURL.lastPathComponent) (epoch \(header.completedEpochs))"))
            return header
        }
    }

    private func countTestErrors(_ network: Network, random: RandomGenerator) -> Int {
        evaluate(network, on: data.test, random: random).errors
    }

    /// The mean validation cross-entropy of the network as tests see it (averaged weights, masks
    /// applied); the weights are as they were afterwards.
    public static func validationLoss(
        _ network: Network, average: WeightAverage?, masks: WeightMasks, on set: ImageClassificationSet, batchSize: Int, random: RandomGenerator
    ) -> Double {
        let saved = average == nil ? masks.weights.map(\.value.array) : []
        average?.swapIn()
        masks.applyToValues()
        let loss = evaluate(network, on: set, batchSize: batchSize, random: random).crossEntropy / Double(set.count)
        if let average {
            average.swapOut()
        } else {
            for (weight, values) in zip(masks.weights, saved) { weight.value.pointer.update(from: values, count: values.count) }
        }
        return loss
    }

    /// Summed cross-entropy and misclassified examples of `set`, in batches of the run's size.
    private func evaluate(_ network: Network, on test: ImageClassificationSet, random: RandomGenerator) -> (crossEntropy: Double, errors: Int) {
        Self.evaluate(network, on: test, batchSize: config.batchSize, random: random)
    }

    /// Summed cross-entropy and misclassified examples of `test` in batches of `batchSize`, with the
    /// network's weights as they are (deterministic gates).
    public static func evaluate(_ network: Network, on test: ImageClassificationSet, batchSize batch: Int, random: RandomGenerator) -> (
        crossEntropy: Double, errors: Int
    ) {
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: batch)
        defer { indices.deallocate() }
        // As in training (`TrainingLoop.runEpoch`), subnormals are flushed to zero.
        return SubnormalFlushing.apply {
            var errors = 0
            var crossEntropy = 0.0
            var start = 0
            while start < test.count {
                let rows = min(batch, test.count - start)
                for r in 0..<rows { indices[r] = Int32(start + r) }
                network.input.batch = rows
                test.fillBatch(
                    indices: UnsafeBufferPointer(rebasing: indices[0..<rows]), images: network.input.pointer,
                    labels: network.labels)
                let result = network.evaluate(random: random)
                errors += result.errors
                crossEntropy += result.crossEntropy * Double(rows)
                start += rows
            }
            return (crossEntropy, errors)
        }
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

/// Facts about the machine, for timing records and reports.
public enum MachineInfo {
    /// The CPU's model name from /proc/cpuinfo, or "unknown".
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }

    /// The process's peak resident memory in bytes (VmHWM), or nil where /proc is unavailable.
    public static var peakResidentBytes: Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }
}
