import CKernels

/// Stochastic gradient descent with momentum, optionally Nesterov's, and coupled weight decay, in
/// the arithmetic of PyTorch's `torch.optim.SGD` (dampening 0):
/// g ← ∇ + wd·θ;  b ← μ·b + g;  θ ← θ − lr·(g + μ·b) with Nesterov, θ − lr·b without.
/// The learning rate follows a `StepSchedule` by epoch (the wide ResNets' protocol, DESIGN §1.4).
/// Like `Adam`, it projects bounded parameters and updates the weight average in the same pass.
public final class SGD: Optimizer {
    public let parameters: [Parameter]
    public let average: WeightAverage?
    public let baseLearningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let schedule: StepSchedule?
    /// The rate of the current epoch.
    public private(set) var learningRate: Float
    public private(set) var step: Int = 0
    /// The momentum buffers, one per parameter (zero before the first step, which makes the first
    /// b = g as in PyTorch).
    public let momenta: [FloatBuffer]
    private let slots: UnsafeMutablePointer<Slot>
    private let current: UnsafeMutablePointer<Step>

    public init(
        parameters: [Parameter], learningRate: Float, momentum: Float = 0.9, nesterov: Bool = true, weightDecay: Float = 0,
        schedule: StepSchedule? = nil, average: WeightAverage? = nil
    ) {
        self.parameters = parameters
        self.average = average
        baseLearningRate = learningRate
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.schedule = schedule
        momenta = parameters.map { FloatBuffer(count: $0.count) }
        slots = .allocate(capacity: max(parameters.count, 1))
        current = .allocate(capacity: 1)
        for (index, parameter) in parameters.enumerated() {
            let bounds = parameter.bounds ?? 0...0
            slots[index] = Slot(
                value: parameter.value.pointer, gradient: parameter.gradient.pointer, momentum: momenta[index].pointer,
                average: average?.averages[index].pointer, count: parameter.count,
                bounded: parameter.bounds != nil, low: bounds.lowerBound, high: bounds.upperBound)
        }
    }

    deinit {
        slots.deallocate()
        current.deallocate()
    }

    public func state(of index: Int) -> [FloatBuffer] { [momenta[index]] }

    public func restore(step: Int) { self.step = max(0, step) }

    public func startEpoch(_ completed: Int) {
        learningRate = Float(schedule?.rate(base: Double(baseLearningRate), completed: completed) ?? Double(baseLearningRate))
    }

    public func beginStep() -> InPlaceStep? {
        step += 1
        average?.countUpdate()
        current.initialize(
            to: Step(
                slots: UnsafePointer(slots), count: parameters.count, rate: learningRate, momentum: momentum, nesterov: nesterov,
                weightDecay: weightDecay, decay: average?.decay ?? 0, parts: WorkerPool.shared.width))
        return InPlaceStep(constants: UnsafeRawPointer(current)) { constants, slot, start, count in
            constants.assumingMemoryBound(to: Step.self).pointee.update(slot: slot, range: start..<(start + count))
        }
    }

    public func finishStep(skipping: [Parameter] = []) {
        var job = current.pointee
        for parameter in skipping { job.skipped.insert(slot(of: parameter)) }
        WorkerPool.shared.run(parts: job.parts, with: &job) { raw, part in
            let step = raw.assumingMemoryBound(to: Step.self).pointee
            for index in 0..<step.count where !step.skipped.contains(index) {
                step.update(slot: index, range: ParameterSlices.range(count: step.slots[index].count, part: part, parts: step.parts))
            }
        }
    }

    struct Slot {
        var value: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>, momentum: UnsafeMutablePointer<Float>
        var average: UnsafeMutablePointer<Float>?
        var count: Int
        var bounded: Bool, low: Float, high: Float
    }

    struct Step {
        var slots: UnsafePointer<Slot>, count: Int
        var rate: Float, momentum: Float, nesterov: Bool, weightDecay: Float, decay: Float
        var parts: Int
        var skipped = ParameterSet()

        func update(slot index: Int, range: Range<Int>) {
            guard !range.isEmpty else { return }
            let slot = slots[index]
            for i in range {
                let g = slot.gradient[i] + weightDecay * slot.value[i]
                let b = momentum * slot.momentum[i] + g
                slot.momentum[i] = b
                var theta = slot.value[i] - rate * (nesterov ? g + momentum * b : b)
                if slot.bounded { theta = min(max(theta, slot.low), slot.high) }
                slot.value[i] = theta
            }
            if let average = slot.average {
                l0_moving_average(average + range.lowerBound, slot.value + range.lowerBound, range.count, decay)
            }
        }
    }
}

/// How an optimiser's step is split over the worker pool: each part takes the same slice of every
/// parameter, starting on 64-byte boundaries; parameters under 4,096 values go whole to part 0.
enum ParameterSlices {
    static func range(count: Int, part: Int, parts: Int) -> Range<Int> {
        if count < 4096 { return part == 0 ? 0..<count : 0..<0 }
        let chunk = (count / parts + 15) / 16 * 16
        let start = min(count, part * chunk)
        return start..<(start + min(chunk, count - start))
    }
}

/// Up to `InPlaceStep.maximumInPlace` parameter slots, held inline (the step allocates nothing and
/// holds no reference).
struct ParameterSet {
    private var slots = (-1, -1, -1, -1, -1, -1, -1, -1)
    private var count = 0

    init() {}

    mutating func insert(_ index: Int) {
        precondition(count < InPlaceStep.maximumInPlace, "at most \(InPlaceStep.maximumInPlace) parameters can be updated in place")
        let at = count
        withUnsafeMutableBytes(of: &slots) { $0.storeBytes(of: index, toByteOffset: at * MemoryLayout<Int>.stride, as: Int.self) }
        count += 1
    }

    func contains(_ index: Int) -> Bool {
        withUnsafeBytes(of: slots) { $0.bindMemory(to: Int.self).prefix(count).contains(index) }
    }
}
