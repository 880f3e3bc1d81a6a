import Datasets
import Experiments
import FileSupport
import Foundation
import NeuralNet
import Plotting

/// Timings of training epochs, measured with the same code `Trainer` runs.
public struct EpochTimings: Sendable {
    /// Wall seconds of each timed epoch (training only, no evaluation).
    public let seconds: [Double]
    /// Matrix-product FLOPs of one epoch (forward, weight and input gradients).
    public let flopsPerEpoch: Double

    /// The median epoch time.
    public var medianSeconds: Double { InferenceTiming.median(seconds) }

    /// GFLOP/s at the median epoch time.
    public var gigaflopsPerSecond: Double { flopsPerEpoch / medianSeconds / 1e9 }
}

/// Measurements for `l0repro bench`.
public enum Benchmarks {
    /// Trains `epochs` epochs of `config` on `train` and times each; with `start`, from a model
    /// file's values (a finished run's final state, where its gates have closed) instead of the
    /// initial ones.
    public static func trainingEpochs(config: TrainingConfig, train: ImageClassificationSet, epochs: Int, start: ModelFile? = nil) throws
        -> EpochTimings
    {
        let loop = TrainingLoop(config: config, train: train)
        if let start { try Purge.load(start, into: loop.network) }
        let random = RandomGenerator(seed: config.seed, stream: 1)
        var seconds = [Double]()
        for _ in 0..<epochs {
            let started = ContinuousClock.now
            _ = loop.runEpoch(random: random)
            seconds.append(elapsed(since: started))
        }
        return EpochTimings(seconds: seconds, flopsPerEpoch: epochFlops(loop))
    }

    /// The training FLOPs of one epoch of `loop`: its minibatches, the last one partial.
    static func epochFlops(_ loop: TrainingLoop) -> Double {
        var flops = 0.0
        var remaining = loop.train.count
        while remaining > 0 {
            let rows = min(loop.batchSize, remaining)
            flops += loop.network.trainingFlops(batch: rows)
            remaining -= rows
        }
        return flops
    }

    /// The machine's single-precision matrix-product rate through OpenBLAS: the best of `repeats`
    /// products of two `size` × `size` matrices, in GFLOP/s.
    public static func sgemmGigaflops(size: Int = 1024, repeats: Int = 5) -> Double {
        let a = FloatBuffer(count: size * size)
        let b = FloatBuffer(count: size * size)
        let c = FloatBuffer(count: size * size)
        let random = RandomGenerator(seed: 7)
        for i in 0..<(size * size) {
            a.pointer[i] = random.uniformFloat()
            b.pointer[i] = random.uniformFloat()
        }
        var best = Double.infinity
        for _ in 0..<repeats {
            let started = ContinuousClock.now
            Gemm.fast(
                transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1, a: a.pointer, lda: size,
                b: b.pointer, ldb: size, beta: 0, c: c.pointer, ldc: size)
            let elapsed = ContinuousClock.now - started
            best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return 2 * pow(Double(size), 3) / best / 1e9
    }
}

/// How long one figure takes to compute and render in each format.
public struct FigureTiming: Sendable {
    public let name: String
    /// Median wall seconds per format (computing the figure's data included).
    public let seconds: [(format: ImageFormat, seconds: Double)]
}

extension Benchmarks {
    /// Computes and renders `entry` `repeats` times per format; the median of each.
    public static func figure(_ entry: FigureEntry, runs: RunCollection?, formats: [ImageFormat] = ImageFormat.allCases, repeats: Int = 3) throws
        -> FigureTiming
    {
        var result: [(ImageFormat, Double)] = []
        for format in formats {
            var seconds: [Double] = []
            for _ in 0..<repeats {
                let started = ContinuousClock.now
                _ = try FigureRenderer.render(try entry.figure(runs: runs), as: format)
                let elapsed = ContinuousClock.now - started
                seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
            result.append((format, seconds.sorted()[seconds.count / 2]))
        }
        return FigureTiming(name: entry.name, seconds: result)
    }
}

/// Forward-pass timings of one finished L0 run's networks (`l0repro bench inference`): the dense
/// network with the run's weights, the gated network (deterministic gates, closed groups skipped) and
/// the purged one, and PyTorch's dense forward when the peer ran. Written beside the run as
/// `inference-timing.json`: machine facts, never part of the bytes that reproduce.
public struct InferenceTiming: Codable, Equatable, Sendable {
    public static let fileName = "inference-timing.json"

    /// One batch size on one thread count: wall seconds of each timed forward.
    public struct Case: Codable, Equatable, Sendable {
        public var batch: Int
        public var threads: Int
        public var dense: [Double]
        public var gated: [Double]
        public var purged: [Double]
        public var pytorch: [Double]?

        public init(batch: Int, threads: Int, dense: [Double], gated: [Double], purged: [Double], pytorch: [Double]? = nil) {
            (self.batch, self.threads, self.dense, self.gated, self.purged, self.pytorch) = (batch, threads, dense, gated, purged, pytorch)
        }
    }

    public var run: String
    public var network: String
    public var cpu: String
    public var blas: String
    /// Forward FLOPs per example (DESIGN §1.5): every weight; the kept groups (the log's "after
    /// pruning"); the purged network's.
    public var denseFlops: Double
    public var gatedFlops: Double
    public var purgedFlops: Double
    public var cases: [Case]
    /// The peer's PyTorch version, when it ran.
    public var pytorch: String?

    public init(
        run: String, network: String, cpu: String, blas: String, denseFlops: Double, gatedFlops: Double, purgedFlops: Double,
        cases: [Case], pytorch: String?
    ) {
        (self.run, self.network, self.cpu, self.blas) = (run, network, cpu, blas)
        (self.denseFlops, self.gatedFlops, self.purgedFlops, self.cases, self.pytorch) = (denseFlops, gatedFlops, purgedFlops, cases, pytorch)
    }

    /// The median of a case's timings.
    public static func median(_ seconds: [Double]) -> Double {
        let sorted = seconds.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Reads a timing file; nil when there is none.
    public static func read(in directory: URL) throws -> InferenceTiming? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(InferenceTiming.self, from: Data(contentsOf: url))
        } catch {
            throw FileError(path: url.path, problem: "not an inference timing file (\(error.localizedDescription)); rerun `l0repro bench inference`")
        }
    }
}

extension Benchmarks {
    /// The three networks of a gated model for batches of `batch`: dense (the run's weights, no
    /// gates), gated, purged.
    public static func inferenceNetworks(_ model: ModelFile, purged: ModelFile, batch: Int) throws -> (
        dense: Network, gated: Network, purged: Network
    ) {
        let dense = try Purge.denseNetwork(for: model, maxBatch: batch)
        return (dense, try Purge.evaluationNetwork(for: model, maxBatch: batch), try Purge.network(for: purged, maxBatch: batch))
    }

    /// Wall seconds of `repeats` forward passes (after one untimed) of `network` on the first `batch`
    /// images of `images` (repeated when there are fewer).
    public static func forwardSeconds(_ network: Network, images: ImageClassificationSet, batch: Int, repeats: Int) -> [Double] {
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: batch)
        defer { indices.deallocate() }
        for r in 0..<batch { indices[r] = Int32(r % images.count) }
        network.input.batch = batch
        images.fillBatch(indices: UnsafeBufferPointer(indices), images: network.input.pointer, labels: network.labels)
        let random = RandomGenerator(seed: 0)
        var seconds: [Double] = []
        SubnormalFlushing.apply {
            _ = network.forward(mode: .evaluation, random: random)
            for _ in 0..<repeats {
                let started = ContinuousClock.now
                _ = network.forward(mode: .evaluation, random: random)
                let elapsed = ContinuousClock.now - started
                seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
        }
        return seconds
    }
}

/// What `l0repro bench pruning` measures for one network: training epochs of the dense network and
/// of each pruning method while it prunes, the validation pass selective decay adds to every
/// epoch, and one threshold search (a pruning round).
public struct PruningTimings: Sendable {
    public let dense: EpochTimings
    public let selectiveDecay: EpochTimings
    public let magnitude: EpochTimings
    /// One validation-loss pass of selective decay (after every epoch), median of three.
    public let validationSeconds: Double
    /// One threshold search after the timed selective-decay epochs, and the evaluations it took.
    public let searchSeconds: Double
    public let searchEvaluations: Int
    public let weightsLeft: Int

    /// Selective decay's epoch: training plus its validation pass.
    public var selectiveDecayEpoch: Double { selectiveDecay.medianSeconds + validationSeconds }
}

extension Benchmarks {
    /// Times `epochs` epochs each of the dense network, of selective decay and of magnitude
    /// pruning with its schedule over exactly the timed epochs (so that every epoch prunes every
    /// 100 steps), all on the same training split and taking turns epoch by epoch, then one pruning
    /// round of selective decay.
    public static func pruning(model: ModelKind, data: TrainingData, epochs: Int) throws -> PruningTimings {
        let dataset = data.record.name
        let settings = SelectiveDecaySettings.defaults(model: model)
        let (train, validation) = Trainer.split(data.train, fraction: settings.validationFraction, seed: 1)
        var magnitudeConfig = TrainingConfig(model: model, variant: .magnitude, dataset: dataset, epochs: epochs)
        magnitudeConfig.magnitude = MagnitudeSettings(finalSparsity: 0.9, startEpoch: 0, endEpoch: epochs, interval: 100)
        let config = TrainingConfig(model: model, variant: .selectiveDecay, dataset: dataset, epochs: epochs)
        let configs = [TrainingConfig(model: model, variant: .dense, dataset: dataset, epochs: epochs), magnitudeConfig, config]
        // The three take turns, one epoch each, so that a slow spell of a shared machine falls on
        // all of them alike, not on whichever ran then.
        let loops = configs.map { TrainingLoop(config: $0, train: train) }
        let randoms = configs.map { RandomGenerator(seed: $0.seed, stream: 1) }
        var seconds = [[Double]](repeating: [], count: configs.count)
        for _ in 0..<epochs {
            for k in loops.indices {
                let started = ContinuousClock.now
                _ = loops[k].runEpoch(random: randoms[k])
                seconds[k].append(elapsed(since: started))
            }
        }
        let flops = epochFlops(loops[0])
        let dense = EpochTimings(seconds: seconds[0], flopsPerEpoch: flops)
        let magnitudeTimings = EpochTimings(seconds: seconds[1], flopsPerEpoch: flops)
        let selective = EpochTimings(seconds: seconds[2], flopsPerEpoch: flops)
        let (loop, random) = (loops[2], randoms[2])
        let masks = WeightMasks(network: loop.network, optimizer: loop.optimizer, average: loop.average)
        var evaluations = 0
        // As a pruning round measures it.
        let measure = { () -> Double in
            evaluations += 1
            return Trainer.validationLoss(
                loop.network, average: loop.average, masks: masks, on: validation, batchSize: config.batchSize, random: random)
        }
        var passes = [Double]()
        var before = 0.0
        for _ in 0..<3 {
            let started = ContinuousClock.now
            before = measure()
            passes.append(elapsed(since: started))
        }
        evaluations = 0
        let started = ContinuousClock.now
        _ = ThresholdSearch.largest(masks: masks, limit: before * (1 + settings.tolerance), validationLoss: measure)
        masks.apply()
        let search = elapsed(since: started)
        return PruningTimings(
            dense: dense, selectiveDecay: selective, magnitude: magnitudeTimings, validationSeconds: InferenceTiming.median(passes),
            searchSeconds: search, searchEvaluations: evaluations, weightsLeft: masks.keptWeights)
    }

    static func elapsed(since start: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - start
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
