import CKernels
import Foundation

/// Adam (Kingma & Ba, 2015) with bias-corrected moments, in the arithmetic order of PyTorch's
/// `torch.optim.Adam`: θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
///
/// After updating a parameter it projects it into its `bounds` and, when given a weight average,
/// updates that parameter's average while the values are still in cache.
public final class Adam {
    public let parameters: [Parameter]
    /// The moving average updated after each step, if any.
    public let average: WeightAverage?
    public let learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    /// The number of steps taken.
    public private(set) var step: Int = 0
    /// First and second moment estimates, one buffer per parameter.
    public let firstMoments: [FloatBuffer]
    public let secondMoments: [FloatBuffer]

    public init(
        parameters: [Parameter], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, average: WeightAverage? = nil
    ) {
        precondition(average.map { $0.parameters.map(ObjectIdentifier.init) == parameters.map(ObjectIdentifier.init) } ?? true,
            "the average must cover the same parameters")
        self.parameters = parameters
        self.average = average
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = parameters.map { FloatBuffer(count: $0.count) }
        secondMoments = parameters.map { FloatBuffer(count: $0.count) }
    }

    /// Applies one update from the current gradients, projects onto the bounds, updates the average.
    public func update() {
        step += 1
        average?.countUpdate()
        let correction1 = 1 - pow(Double(beta1), Double(step))
        let correction2 = 1 - pow(Double(beta2), Double(step))
        let stepSize = Float(Double(learningRate) / correction1)
        let inverseRoot2 = Float(1 / correction2.squareRoot())
        let (beta1, beta2, epsilon, decay) = (self.beta1, self.beta2, self.epsilon, average?.decay ?? 0)
        // Memory-bound: each thread takes the same slice of every parameter (small ones go to part 0);
        // slices start on 64-byte boundaries.
        let pool = WorkerPool.shared
        pool.run(parts: pool.width) { part in
            for (index, parameter) in parameters.enumerated() {
                let count = parameter.count
                let (start, length): (Int, Int)
                if count < 4096 {
                    (start, length) = (0, part == 0 ? count : 0)
                } else {
                    let chunk = (count / pool.width + 15) / 16 * 16
                    start = min(count, part * chunk)
                    length = min(chunk, count - start)
                }
                guard length > 0 else { continue }
                let bounds = parameter.bounds ?? 0...0
                l0_adam_step(
                    parameter.value.pointer + start, parameter.gradient.pointer + start,
                    firstMoments[index].pointer + start, secondMoments[index].pointer + start,
                    average.map { $0.averages[index].pointer + start }, length, beta1, beta2, epsilon, stepSize,
                    inverseRoot2, decay, parameter.bounds == nil ? 0 : 1, bounds.lowerBound, bounds.upperBound)
            }
        }
    }

    /// Restores the step count when resuming from a checkpoint (the moments are restored by copying
    /// into `firstMoments` and `secondMoments`).
    public func restore(step: Int) {
        precondition(step >= 0, "step must be non-negative")
        self.step = step
    }
}
