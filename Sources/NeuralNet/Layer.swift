/// Whether a forward pass is for training (noise on: gate samples, dropout) or evaluation.
public enum Mode: Sendable {
    case training, evaluation
}

/// A layer: a forward and backward pair over preallocated buffers.
///
/// `forward` returns the layer's own output tensor (overwritten on the next call) and remembers its
/// input for `backward`. `backward` takes the gradient of the loss with respect to that output, writes
/// (overwrites) the gradients of the layer's parameters, and returns the gradient with respect to the
/// input when asked for (the first layer is not asked, which saves a matrix product).
public protocol Layer: AnyObject {
    /// A short name used in parameter names and logs, e.g. "fc1".
    var name: String { get }
    /// The learned arrays, in a fixed order (collected once, when the model is built).
    var parameters: [Parameter] { get }
    /// The per-example output shape.
    var outputShape: [Int] { get }
    /// State that is not a parameter but must survive a checkpoint (running statistics, say).
    var state: [FloatBuffer] { get }
    func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor
    func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor?
}

extension Layer {
    public var state: [FloatBuffer] { [] }
}

/// A layer with a penalty term in the objective (weight decay, the expected L0 norm, …).
public protocol Penalized: AnyObject {
    /// Adds the penalty's gradient to the parameter gradients and returns the penalty's value.
    func accumulatePenalty() -> Double
}

/// A layer that can apply the optimiser's step to its weights during its own backward, as their
/// gradient rows become final, while they are in cache (and then its penalty's gradient too, which
/// must come before the step). Nothing after the layer's backward may read its weights in the step.
public protocol UpdatesWeightsInBackward: AnyObject {
    /// Arranges for the next `backward` to apply `step` to the layer's weights (parameter `slot` of
    /// the optimiser) and returns them, or returns nil when this training step cannot (then nothing
    /// changes). `accumulatePenalty` must follow that backward, before the next forward.
    func scheduleUpdate(_ step: InPlaceStep, slot: (Parameter) -> Int) -> Parameter?
}

/// A layer whose cost is matrix products: the FLOPs of its forward product (its weight-gradient and
/// input-gradient products cost the same), for GFLOP/s figures.
public protocol MatrixProductCounting {
    func forwardProductFlops(batch: Int) -> Double
}

extension Tensor {
    /// Points this tensor's batch at `batch` and returns it, for layers that write `batch` rows.
    @inline(__always) public func resized(to batch: Int) -> Tensor {
        self.batch = batch
        return self
    }
}
