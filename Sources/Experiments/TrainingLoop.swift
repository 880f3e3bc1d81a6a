import Datasets
import NeuralNet

/// One network, its optimiser and weight average, and a training set: runs epochs of minibatch
/// training. Shared by `Trainer` and the benchmarks, so both time the same code.
public final class TrainingLoop {
    public let network: Network
    public let optimizer: any Optimizer
    public let average: WeightAverage?
    public let train: ImageClassificationSet
    public let batchSize: Int
    /// The pruning method of a selective-decay or magnitude run, applied after every step.
    let pruner: (any Pruner)?
    private let order: UnsafeMutableBufferPointer<Int32>

    /// Sums over one epoch's steps.
    public struct EpochSums: Sendable {
        public var crossEntropy = 0.0
        public var penalty = 0.0
        public var errors = 0
        public var steps = 0
        /// The step (1-based) whose loss was NaN or infinite, where the epoch stopped; nil when none was.
        public var divergedAt: Int?
    }

    public init(config: TrainingConfig, train: ImageClassificationSet) {
        self.train = train
        batchSize = config.batchSize
        network = Models.build(
            config, trainingSize: train.count, maxBatch: config.batchSize,
            random: RandomGenerator(seed: config.seed, stream: 0))
        average =
            config.averageDecay > 0
            ? WeightAverage(parameters: network.parameters, decay: Float(config.averageDecay)) : nil
        if let sgd = config.sgd {
            optimizer = SGD(
                parameters: network.parameters, learningRate: Float(config.learningRate), momentum: Float(sgd.momentum),
                nesterov: sgd.nesterov, weightDecay: Float(sgd.weightDecay), schedule: sgd.schedule, average: average)
        } else {
            optimizer = Adam(parameters: network.parameters, learningRate: Float(config.learningRate), average: average)
        }
        order = .allocate(capacity: train.count)
        let steps = (train.count + config.batchSize - 1) / config.batchSize
        if let settings = config.selectiveDecay {
            let masks = WeightMasks(network: network, optimizer: optimizer, average: average)
            pruner = SelectiveDecayPruner(
                masks: masks, settings: settings, learningRate: config.learningRate, optimizer: optimizer, average: average)
        } else if let settings = config.magnitude {
            pruner = MagnitudePruner(
                masks: WeightMasks(network: network, optimizer: optimizer, average: average), settings: settings, stepsPerEpoch: steps,
                optimizer: optimizer)
        } else {
            pruner = nil
        }
    }

    deinit { order.deallocate() }

    /// Steps per epoch (the last batch may be smaller).
    public var stepsPerEpoch: Int { (train.count + batchSize - 1) / batchSize }

    /// One pass over the shuffled training set: per step, gradients and an optimiser step, which also
    /// clamps log α (its parameter bounds) and updates the weight average, with subnormals flushed to
    /// zero (`SubnormalFlushing`). `onStep` gets the step number (1-based) and the sums so far.
    public func runEpoch(random: RandomGenerator, onStep: (Int, EpochSums) -> Void = { _, _ in }) -> EpochSums {
        for i in 0..<train.count { order[i] = Int32(i) }
        random.shuffle(order)
        var sums = EpochSums()
        SubnormalFlushing.apply {
            train.images.withUnsafeBufferPointer { images in
                train.labels.withUnsafeBufferPointer { labels in
                    for step in 0..<stepsPerEpoch {
                        let start = step * batchSize
                        let rows = min(batchSize, train.count - start)
                        network.input.batch = rows
                        var job = BatchFill(
                            images: images.baseAddress!, labels: labels.baseAddress!, imageSize: train.imageSize,
                            order: UnsafePointer(order.baseAddress! + start), batchImages: network.input.pointer,
                            batchLabels: network.labels)
                        WorkerPool.shared.runRanges(rows, minimum: 16, with: &job) { raw, from, to in
                            raw.assumingMemoryBound(to: BatchFill.self).pointee.fill(from: from, to: to)
                        }
                        pruner?.beforeStep(optimizer.step + 1)
                        let (crossEntropy, penalty, errors) = network.trainingStep(random: random, optimizer: optimizer)
                        pruner?.afterStep(optimizer.step)
                        guard crossEntropy.isFinite && penalty.isFinite else {
                            sums.divergedAt = step + 1
                            return
                        }
                        sums.crossEntropy += crossEntropy
                        sums.penalty += penalty
                        sums.errors += errors
                        sums.steps += 1
                        onStep(step + 1, sums)
                    }
                }
            }
        }
        return sums
    }

    /// Converts rows from..<to of a batch (byte / 255, as the peer does), with pointers only.
    struct BatchFill {
        let images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, imageSize: Int
        let order: UnsafePointer<Int32>
        let batchImages: UnsafeMutablePointer<Float>, batchLabels: UnsafeMutablePointer<Int32>

        func fill(from: Int, to: Int) {
            ImageClassificationSet.convert(
                images: images, labels: labels, imageSize: imageSize,
                indices: UnsafeBufferPointer(start: order + from, count: to - from),
                into: batchImages + from * imageSize, labels: batchLabels + from)
        }
    }
}
