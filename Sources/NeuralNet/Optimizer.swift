/// An optimiser: owns the state it keeps per parameter and applies one step from the gradients.
///
/// A training step is `beginStep`, then the backward (during which layers that
/// `UpdatesWeightsInBackward` may apply the returned `InPlaceStep` to their own weights while the
/// gradients are in cache), then `finishStep`, which updates every parameter the layers did not.
/// Each value gets the same arithmetic either way.
public protocol Optimizer: AnyObject {
    /// The parameters it updates, in a fixed order (their index is their slot).
    var parameters: [Parameter] { get }
    /// Steps taken so far.
    var step: Int { get }
    /// The optimiser's own state for `parameters[index]` (moments, momentum), which a checkpoint
    /// saves and restores by copying.
    func state(of index: Int) -> [FloatBuffer]
    /// Restores the step count when resuming (the state buffers are restored by copying).
    func restore(step: Int)
    /// Sets what the learning rate depends on at the start of each epoch (0-based epochs completed).
    func startEpoch(_ completed: Int)
    /// Starts a step: counts it and returns the form a layer may apply to ranges of its own weights,
    /// or nil when this optimiser offers none.
    func beginStep() -> InPlaceStep?
    /// Updates every parameter of the step begun last except those in `skipping`.
    func finishStep(skipping: [Parameter])
}

extension Optimizer {
    /// One whole step from the current gradients.
    public func update() {
        _ = beginStep()
        finishStep(skipping: [])
    }

    /// The index of `parameter` among `parameters`, for `InPlaceStep.update(slot:range:)`.
    public func slot(of parameter: Parameter) -> Int {
        guard let index = parameters.firstIndex(where: { $0 === parameter }) else {
            preconditionFailure("\(parameter.name) is not optimised here")
        }
        return index
    }

    public func startEpoch(_ completed: Int) {}
}

/// The current step of an optimiser as plain data: a pointer to its constants and a C function that
/// updates a range of one parameter with them. Any thread may apply it (nothing is reference
/// counted), for as long as the step lasts (until `finishStep`).
public struct InPlaceStep {
    let constants: UnsafeRawPointer
    let function: @convention(c) (UnsafeRawPointer, Int, Int, Int) -> Void

    public init(constants: UnsafeRawPointer, function: @escaping @convention(c) (UnsafeRawPointer, Int, Int, Int) -> Void) {
        self.constants = constants
        self.function = function
    }

    /// Updates elements `range` of the parameter in `slot`.
    @inline(__always) public func update(slot: Int, range: Range<Int>) {
        guard !range.isEmpty else { return }
        function(constants, slot, range.lowerBound, range.count)
    }

    /// The most parameters that layers may update themselves in one step.
    public static let maximumInPlace = 8
}

/// A learning rate that changes by epoch: multiplied by `factor` at each of `milestones` (epochs
/// completed), as PyTorch's MultiStepLR (the wide ResNets' 0.1, ×0.2 at 60, 120 and 160).
public struct StepSchedule: Sendable, Equatable, Codable {
    public var milestones: [Int]
    public var factor: Double

    public init(milestones: [Int], factor: Double) {
        self.milestones = milestones
        self.factor = factor
    }

    /// The learning rate after `completed` epochs.
    public func rate(base: Double, completed: Int) -> Double {
        var rate = base
        for milestone in milestones where completed >= milestone { rate *= factor }
        return rate
    }
}
