import Foundation

/// Adam (Kingma & Ba, 2015) with bias-corrected moments, in the arithmetic order of PyTorch's
/// `torch.optim.Adam`: θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
public final class Adam {
    public let parameters: [Parameter]
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
        epsilon: Float = 1e-8
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = parameters.map { FloatBuffer(count: $0.count) }
        secondMoments = parameters.map { FloatBuffer(count: $0.count) }
    }

    /// Applies one update from the current gradients.
    public func update() {
        step += 1
        let correction1 = 1 - pow(Double(beta1), Double(step))
        let correction2 = 1 - pow(Double(beta2), Double(step))
        let stepSize = Float(Double(learningRate) / correction1)
        let root2 = Float(correction2.squareRoot())
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
        for (index, parameter) in parameters.enumerated() {
            let theta = parameter.value.pointer
            let g = parameter.gradient.pointer
            let m = firstMoments[index].pointer
            let v = secondMoments[index].pointer
            VectorMath.adam(
                theta: theta, gradient: g, first: m, second: v, count: parameter.count, beta1: beta1, beta2: beta2,
                epsilon: epsilon, stepSize: stepSize, root2: root2)
        }
    }

    /// Restores the step count when resuming from a checkpoint (the moments are restored by copying
    /// into `firstMoments` and `secondMoments`).
    public func restore(step: Int) {
        precondition(step >= 0, "step must be non-negative")
        self.step = step
    }
}
