import L0
import NeuralNet

/// A feed-forward classifier: a stack of layers, a softmax cross-entropy loss and the buffers for one
/// minibatch. Built once; `computeGradients`, `trainingStep` and `countErrors` allocate nothing.
public final class Network {
    public let layers: [any Layer]
    /// Every learned array, in layer order.
    public let parameters: [Parameter]
    public let loss: SoftmaxCrossEntropy
    /// The input batch (batch, features) and its labels.
    public let input: Tensor
    public let labels: UnsafeMutablePointer<Int32>
    private let penalized: [any Penalized]
    /// The weights the last `trainingStep` updated in backward.
    private var updated: [Parameter]

    public init(layers: [any Layer], inputShape: [Int], classes: Int, maxBatch: Int) {
        self.layers = layers
        parameters = layers.flatMap(\.parameters)
        penalized = layers.compactMap { $0 as? any Penalized }
        updated = []
        updated.reserveCapacity(layers.count)
        loss = SoftmaxCrossEntropy(classes: classes, maxBatch: maxBatch)
        input = Tensor(maxBatch: maxBatch, featureShape: inputShape)
        labels = .allocate(capacity: maxBatch)
        labels.initialize(repeating: 0, count: maxBatch)
    }

    deinit { labels.deallocate() }

    /// The logits for the batch in `input`.
    public func forward(mode: Mode, random: RandomGenerator) -> Tensor {
        var activation = input
        for layer in layers { activation = layer.forward(activation, mode: mode, random: random) }
        return activation
    }

    /// Forward and backward on the batch in `input`: fills every parameter gradient with the gradient
    /// of mean cross-entropy + penalties, and returns (cross-entropy, penalty, misclassified rows).
    public func computeGradients(random: RandomGenerator) -> (crossEntropy: Double, penalty: Double, errors: Int) {
        backpropagate(random: random, optimizer: nil)
    }

    /// One training step on the batch in `input`: `computeGradients`, then one step of `optimizer`.
    /// Layers that `UpdatesWeightsInBackward` apply the step to their weights while their gradients
    /// are in cache; the optimiser then updates the other parameters.
    public func trainingStep(random: RandomGenerator, optimizer: any Optimizer) -> (crossEntropy: Double, penalty: Double, errors: Int) {
        backpropagate(random: random, optimizer: optimizer)
    }

    private func backpropagate(random: RandomGenerator, optimizer: (any Optimizer)?) -> (crossEntropy: Double, penalty: Double, errors: Int) {
        let logits = forward(mode: .training, random: random)
        let step = optimizer?.beginStep()
        // Kept between steps with its capacity, so that the step allocates nothing.
        updated.removeAll(keepingCapacity: true)
        if let optimizer, let step {
            for case let layer as any UpdatesWeightsInBackward in layers where updated.count < InPlaceStep.maximumInPlace {
                if let weights = layer.scheduleUpdate(step, slot: optimizer.slot(of:)) { updated.append(weights) }
            }
        }
        let (crossEntropy, errors) = loss.evaluate(logits: logits, labels: labels, computeGradient: true)
        var gradient: Tensor? = loss.gradient
        for index in stride(from: layers.count - 1, through: 0, by: -1) {
            guard let outputGradient = gradient else { break }
            gradient = layers[index].backward(outputGradient, needsInputGradient: index > 0)
        }
        var penalty = 0.0
        for layer in penalized { penalty += layer.accumulatePenalty() }
        optimizer?.finishStep(skipping: updated)
        return (crossEntropy, penalty, errors)
    }

    /// The number of misclassified rows of the batch in `input`, with deterministic gates.
    public func countErrors(random: RandomGenerator) -> Int {
        let logits = forward(mode: .evaluation, random: random)
        return loss.evaluate(logits: logits, labels: labels, computeGradient: false).errors
    }

    /// The mean cross-entropy and the misclassified rows of the batch in `input`, with deterministic
    /// gates.
    public func evaluate(random: RandomGenerator) -> (crossEntropy: Double, errors: Int) {
        let logits = forward(mode: .evaluation, random: random)
        let result = loss.evaluate(logits: logits, labels: labels, computeGradient: false)
        return (result.loss, result.errors)
    }

    /// Sparsity of every weight layer, in order, each told the maps the previous one left active;
    /// ungated layers count all their units as kept.
    public func sparsity() -> [LayerSparsity] {
        var channels: ActiveChannels?
        var result = [LayerSparsity]()
        for case let layer as any SparsityReporting in layers {
            result.append(layer.sparsity(inputChannels: channels))
            channels = layer.activeOutputChannels
        }
        return result
    }

    /// FLOPs of one training step on `batch` examples counted over the matrix products: forward,
    /// weight gradient, and input gradient for every weight layer but the first.
    public func trainingFlops(batch: Int) -> Double {
        var total = 0.0
        var first = true
        for case let layer as any MatrixProductCounting in layers {
            let forward = layer.forwardProductFlops(batch: batch)
            total += forward * (first ? 2 : 3)
            first = false
        }
        return total
    }
}
