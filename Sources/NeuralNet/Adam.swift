import CKernels
import Foundation

/// Adam (Kingma & Ba, 2015) with bias-corrected moments, in the arithmetic order of PyTorch's
/// `torch.optim.Adam`: θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
///
/// After updating a parameter it projects it into its `bounds` and, when given a weight average,
/// updates that parameter's average while the values are still in cache.
public final class Adam: Optimizer {
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
    private let slots: UnsafeMutablePointer<Slot>
    /// The step begun last, where `InPlaceStep` finds its constants.
    private let current: UnsafeMutablePointer<Step>

    public init(
        parameters: [Parameter], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-8, average: WeightAverage? = nil
    ) {
        precondition(
            average.map { $0.parameters.map(ObjectIdentifier.init) == parameters.map(ObjectIdentifier.init) } ?? true,
            "the average must cover the same parameters")
        self.parameters = parameters
        self.average = average
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        firstMoments = parameters.map { FloatBuffer(count: $0.count) }
        secondMoments = parameters.map { FloatBuffer(count: $0.count) }
        slots = .allocate(capacity: max(parameters.count, 1))
        current = .allocate(capacity: 1)
        for (index, parameter) in parameters.enumerated() {
            let bounds = parameter.bounds ?? 0...0
            slots[index] = Slot(
                value: parameter.value.pointer, gradient: parameter.gradient.pointer,
                first: firstMoments[index].pointer, second: secondMoments[index].pointer,
                average: average?.averages[index].pointer, count: parameter.count,
                bounded: parameter.bounds == nil ? 0 : 1, low: bounds.lowerBound, high: bounds.upperBound,
                mask: nil, shrink: 0, relevance: 0, factor: 0, limit: 0)
        }
    }

    deinit {
        slots.deallocate()
        current.deallocate()
    }

    public func state(of index: Int) -> [FloatBuffer] { [firstMoments[index], secondMoments[index]] }

    /// Fuses a pruning method's per-element step into this optimiser's for parameter `index`, so that
    /// it costs no pass of its own over the weights: selective decay (shrink by `factor` of itself
    /// each weight whose |gradient| is below `relevance` times the parameter's mean |gradient|) when
    /// `selectiveDecay` is given, then `mask` on the value, both moments and the average when given.
    /// The same bits as running them after the step (`l0_adam_step_pruned`). Only for parameters
    /// `finishStep` updates (the mean |gradient| is taken there), not ones layers update in place.
    public func fusePruning(slot index: Int, mask: FloatBuffer?, selectiveDecay: (relevance: Float, factor: Float)?) {
        precondition(mask.map { $0.count == parameters[index].count } ?? true, "the mask must match the parameter")
        slots[index].mask = mask.map { UnsafePointer($0.pointer) }
        slots[index].shrink = selectiveDecay == nil ? 0 : 1
        slots[index].relevance = selectiveDecay?.relevance ?? 0
        slots[index].factor = selectiveDecay?.factor ?? 0
    }

    /// Starts a step: counts it and returns its constants, with which a layer may update a parameter
    /// itself while its gradient is in cache; `finishStep` then updates the others. Each value gets
    /// the same update either way.
    public func beginStep() -> InPlaceStep? {
        step += 1
        average?.countUpdate()
        let correction1 = 1 - pow(Double(beta1), Double(step))
        let correction2 = 1 - pow(Double(beta2), Double(step))
        current.initialize(
            to: Step(
                slots: UnsafePointer(slots), count: parameters.count, beta1: beta1, beta2: beta2, epsilon: epsilon,
                stepSize: Float(Double(learningRate) / correction1), inverseRoot2: Float(1 / correction2.squareRoot()),
                decay: average?.decay ?? 0, parts: WorkerPool.shared.width))
        return InPlaceStep(constants: UnsafeRawPointer(current)) { constants, slot, start, count in
            constants.assumingMemoryBound(to: Step.self).pointee.update(slot: slot, range: start..<(start + count))
        }
    }

    /// Updates every parameter of the step begun last but those in `skipping` (ones layers updated
    /// themselves).
    public func finishStep(skipping: [Parameter] = []) {
        // Each thread takes the same slice of every parameter (small ones go to part 0); slices start
        // on 64-byte boundaries. The job holds only pointers and numbers, so the threads never touch
        // a shared reference count.
        var job = current.pointee
        for parameter in skipping { job.skipped.insert(slot(of: parameter)) }
        // Selective decay's relevance scale needs the whole gradient, before any slice is stepped.
        for index in 0..<parameters.count where slots[index].shrink != 0 && !job.skipped.contains(index) {
            slots[index].limit = slots[index].relevance * l0_mean_abs(slots[index].gradient, slots[index].count)
        }
        WorkerPool.shared.run(parts: job.parts, with: &job) { raw, part in
            raw.assumingMemoryBound(to: Step.self).pointee.update(part: part)
        }
    }

    /// The buffers of one parameter, for the update kernel.
    struct Slot {
        var value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>
        var first: UnsafeMutablePointer<Float>, second: UnsafeMutablePointer<Float>
        var average: UnsafeMutablePointer<Float>?
        var count: Int
        var bounded: Int32, low: Float, high: Float
        /// A fused pruning step (`fusePruning`): the mask, and selective decay's switch, τ, ηλ and
        /// this step's |gradient| limit.
        var mask: UnsafePointer<Float>?
        var shrink: Int32, relevance: Float, factor: Float, limit: Float
    }

    /// One step's constants over pointers only, so any thread may apply them: the slice of the
    /// update that part `part` of `parts` does, or a given range of one parameter.
    struct Step {
        var slots: UnsafePointer<Slot>, count: Int
        var beta1: Float, beta2: Float, epsilon: Float, stepSize: Float, inverseRoot2: Float, decay: Float
        var parts: Int
        /// Parameters `update(part:)` leaves out (ones layers updated themselves).
        var skipped = ParameterSet()

        func update(part: Int) {
            for index in 0..<count where !skipped.contains(index) {
                update(slot: index, range: ParameterSlices.range(count: slots[index].count, part: part, parts: parts))
            }
        }

        /// Updates elements `range` of parameter `slot` (its index in `Adam.parameters`).
        func update(slot index: Int, range: Range<Int>) {
            guard !range.isEmpty else { return }
            let (slot, start) = (slots[index], range.lowerBound)
            if slot.mask == nil && slot.shrink == 0 {
                l0_adam_step(
                    slot.value + start, slot.gradient + start, slot.first + start, slot.second + start,
                    slot.average.map { $0 + start }, range.count, beta1, beta2, epsilon, stepSize, inverseRoot2, decay,
                    slot.bounded, slot.low, slot.high)
            } else {
                l0_adam_step_pruned(
                    slot.value + start, slot.gradient + start, slot.first + start, slot.second + start,
                    slot.average.map { $0 + start }, slot.mask.map { $0 + start }, range.count, beta1, beta2, epsilon,
                    stepSize, inverseRoot2, decay, slot.bounded, slot.low, slot.high, slot.shrink, slot.limit, slot.factor)
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
