import CKernels
import Foundation
import NeuralNet

/// Selective weight decay with iterative pruning: our reading of Bonetta, Ribero & Cancelliere
/// (2022), whose full text we could not read, with the relevance and pruning rules of its published
/// predecessor LOBSTER (DESIGN §1.9). Each step, after the optimiser's: a weight is irrelevant when
/// |∂L/∂w| is below `relevance` times its layer's mean |∂L/∂w|, and only irrelevant weights shrink,
/// w ← w − η·λ·w (η the learning rate). Each epoch the validation loss is compared with the best;
/// after `patience` epochs without improvement the best weights come back and the largest global
/// magnitude threshold that keeps the validation loss within `tolerance` of it prunes.
public struct SelectiveDecaySettings: Codable, Equatable, Sendable {
    /// λ: the shrinkage of an irrelevant weight per step, in units of the learning rate.
    public var decay: Double
    /// τ: irrelevant when |g| < τ · mean |g| of the layer.
    public var relevance: Double
    /// twt: a pruning round keeps val_loss ≤ (1 + tolerance) · val_loss before it.
    public var tolerance: Double
    /// pwe: epochs without improvement (val_loss < best · 1.01, LOBSTER's rule) before a round.
    public var patience: Int
    /// The share of the training set held out, by a seeded permutation, for the validation loss.
    public var validationFraction: Double

    public init(decay: Double = 0.1, relevance: Double = 1, tolerance: Double = 0.05, patience: Int = 10, validationFraction: Double = 0.1) {
        self.decay = decay
        self.relevance = relevance
        self.tolerance = tolerance
        self.patience = patience
        self.validationFraction = validationFraction
    }

    /// The settings chosen on the MNIST validation split by the rule of `SelectiveDecaySweep`
    /// (fewest weights among the runs within 5 % of the lowest final validation loss), over λ ∈
    /// {0.03, 0.1, 0.3} at τ = 1 and, on the MLP, τ ∈ {0.5, 1, 2} at the chosen λ: the report's
    /// "L0 against pruning" has the table.
    public static func defaults(model: ModelKind) -> SelectiveDecaySettings {
        SelectiveDecaySettings(decay: 0.3, relevance: 1)
    }

    func validate() throws {
        if !(decay >= 0) || !decay.isFinite { throw ConfigError(message: "--decay must be a finite number ≥ 0, got \(decay)") }
        if !(relevance >= 0) || !relevance.isFinite { throw ConfigError(message: "--relevance must be a finite number ≥ 0, got \(relevance)") }
        if !(tolerance >= 0) || !tolerance.isFinite { throw ConfigError(message: "--tolerance must be a finite number ≥ 0, got \(tolerance)") }
        if patience < 1 { throw ConfigError(message: "--patience must be at least 1 epoch, got \(patience)") }
        if !(validationFraction > 0 && validationFraction < 1) {
            throw ConfigError(message: "--validation-fraction must be in (0, 1), got \(validationFraction)")
        }
    }
}

/// Gradual magnitude pruning (Zhu & Gupta 2017): every `interval` steps from the start of epoch
/// `startEpoch` to the end of epoch `endEpoch`, each weight layer's smallest-magnitude weights are
/// pruned to the sparsity s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(nΔt))³; the masks are frozen after.
public struct MagnitudeSettings: Codable, Equatable, Sendable {
    /// s_f; nil until resolved from the matching L0 run (`resolvedFinalSparsity`), which training requires.
    public var finalSparsity: Double?
    /// s_i.
    public var initialSparsity: Double
    /// The schedule starts after `startEpoch` epochs (t₀) and ends after `endEpoch` (t₀ + nΔt).
    public var startEpoch: Int
    public var endEpoch: Int
    /// Δt in steps.
    public var interval: Int

    public init(finalSparsity: Double? = nil, initialSparsity: Double = 0, startEpoch: Int = 20, endEpoch: Int = 120, interval: Int = 100) {
        self.finalSparsity = finalSparsity
        self.initialSparsity = initialSparsity
        self.startEpoch = startEpoch
        self.endEpoch = endEpoch
        self.interval = interval
    }

    /// The defaults for a run of `epochs` epochs: the schedule over the second tenth to the
    /// sixth tenth of training (epochs 20–120 of 200), so that 40 % of the budget recovers.
    public static func defaults(epochs: Int) -> MagnitudeSettings {
        MagnitudeSettings(startEpoch: epochs / 10, endEpoch: max(epochs / 10 + 1, epochs * 6 / 10))
    }

    func validate(epochs: Int) throws {
        guard let finalSparsity else {
            throw ConfigError(message: "magnitude pruning needs --final-sparsity (or a finished l0-sep run of the same network to match)")
        }
        if !(finalSparsity >= 0 && finalSparsity < 1) { throw ConfigError(message: "--final-sparsity must be in [0, 1), got \(finalSparsity)") }
        if !(initialSparsity >= 0 && initialSparsity <= finalSparsity) {
            throw ConfigError(message: "the initial sparsity must be in [0, final sparsity], got \(initialSparsity)")
        }
        if startEpoch < 0 || endEpoch <= startEpoch || endEpoch > epochs {
            throw ConfigError(message: "the pruning schedule needs 0 ≤ start < end ≤ epochs (\(epochs)), got epochs \(startEpoch)–\(endEpoch)")
        }
        if interval < 1 { throw ConfigError(message: "--prune-interval must be at least 1 step, got \(interval)") }
    }

    /// The weight sparsity of the L0 run `log` (1 − the share of weights between kept groups),
    /// rounded to 4 decimals so that the configuration, which names it, reads plainly.
    public static func sparsity(matching log: RunLog) -> Double {
        ((1 - KeptWeights.share(log)) * 10_000).rounded() / 10_000
    }

    /// The L0 run a magnitude run matches by default: `config` as an l0-sep run with its default λ
    /// (the paper's sparsest variant), everything else the same.
    public static func matchingConfig(for config: TrainingConfig) -> TrainingConfig {
        var match = config
        match.variant = .l0Sep
        match.magnitude = nil
        match.selectiveDecay = nil
        match.lambdas = TrainingConfig.defaultLambdas(model: config.model, variant: .l0Sep)
        return match
    }
}

/// The cubic schedule of gradual magnitude pruning.
public enum GradualSchedule {
    /// s_t at step t for a schedule from t₀ = `start` to `end` = t₀ + nΔt: s_i before, s_f after.
    public static func sparsity(step t: Int, start: Int, end: Int, initial: Double, final: Double) -> Double {
        if t <= start { return initial }
        if t >= end { return final }
        let progress = Double(t - start) / Double(end - start)
        let remaining = 1 - progress
        return final + (initial - final) * remaining * remaining * remaining
    }
}

/// The update rules of the two methods, on one weight array.
public enum PruningRules {
    /// Selective decay's step: shrinks each weight whose |gradient| is below `relevance` times the
    /// array's mean |gradient| by `factor` (η·λ) of itself; returns how many were shrunk.
    @discardableResult
    public static func selectiveDecay(_ weight: Parameter, relevance: Float, factor: Float) -> Int {
        l0_selective_decay(weight.value.pointer, weight.gradient.pointer, weight.count, relevance, factor)
    }

    /// Magnitude pruning's step: sets `mask` so that the round(s·count) smallest |values| are pruned
    /// (0) and the rest kept (1), ties broken by position so the result does not depend on the sort.
    public static func magnitudeMask(values: FloatBuffer, mask: FloatBuffer, sparsity: Double) {
        let histogram = UnsafeMutablePointer<UInt32>.allocate(capacity: histogramCount)
        defer { histogram.deallocate() }
        magnitudeMask(values: values, mask: mask, sparsity: sparsity, histogram: histogram)
    }

    /// The working space `magnitudeMask` needs, in counts.
    public static let histogramCount = 65_536

    /// `magnitudeMask` with caller-owned working space of `histogramCount` counts (no allocation,
    /// for use during training). A radix select on the magnitudes' bits (exact): no sort.
    public static func magnitudeMask(values: FloatBuffer, mask: FloatBuffer, sparsity: Double, histogram: UnsafeMutablePointer<UInt32>) {
        let count = values.count
        let pruned = min(count, max(0, Int((sparsity * Double(count)).rounded())))
        l0_magnitude_mask(values.pointer, mask.pointer, histogram, count, pruned)
    }
}

/// What a pruning method keeps between epochs beyond its masks, for the checkpoint (so that a
/// resumed run continues bit for bit).
public struct PrunerState: Codable, Equatable, Sendable {
    /// Best validation loss so far (selective decay).
    public var bestLoss: Double?
    public var epochsWithoutImprovement: Int
    /// Every pruning round so far.
    public var rounds: [PruningRound]

    public init(bestLoss: Double? = nil, epochsWithoutImprovement: Int = 0, rounds: [PruningRound] = []) {
        self.bestLoss = bestLoss
        self.epochsWithoutImprovement = epochsWithoutImprovement
        self.rounds = rounds
    }
}

/// One pruning round of selective decay: when, the threshold found, the weights left.
public struct PruningRound: Codable, Equatable, Sendable {
    /// After this epoch.
    public var epoch: Int
    public var threshold: Double
    /// Validation loss before the round (at the restored best weights) and after it.
    public var lossBefore: Double
    public var lossAfter: Double
    /// Non-zero weights after the round.
    public var weightsLeft: Int
}

/// The masks of a network's weight arrays (not biases, not gates) and what they cover: a pruned
/// weight, its optimiser moments and its average are 0 after every step.
public final class WeightMasks {
    /// The weight parameters, their index in the optimiser, and one mask (1 kept, 0 pruned) each.
    public let weights: [Parameter]
    /// Each weight's index among the optimiser's parameters.
    public let slots: [Int]
    public let masks: [FloatBuffer]
    /// The buffers each mask applies to: the value, the optimiser's state and the average.
    private let covered: [[FloatBuffer]]
    /// The same buffers' storage, for the kernel that masks them in one pass.
    private let coveredPointers: [[UnsafeMutablePointer<Float>?]]
    private let averages: [FloatBuffer?]

    public init(network: Network, optimizer: any Optimizer, average: WeightAverage?) {
        var weights = [Parameter]()
        var slots = [Int]()
        var covered = [[FloatBuffer]]()
        var averages = [FloatBuffer?]()
        for (index, parameter) in optimizer.parameters.enumerated() where parameter.role == .weight {
            weights.append(parameter)
            slots.append(index)
            let mean = average?.averages[index]
            averages.append(mean)
            covered.append([parameter.value] + optimizer.state(of: index) + (mean.map { [$0] } ?? []))
        }
        self.weights = weights
        self.slots = slots
        self.covered = covered
        coveredPointers = covered.map { buffers in buffers.map { Optional($0.pointer) } }
        self.averages = averages
        masks = weights.map { parameter in
            let mask = FloatBuffer(count: parameter.count)
            mask.pointer.update(repeating: 1, count: parameter.count)
            return mask
        }
    }

    /// Whether any weight is pruned.
    public var anyPruned: Bool { masks.contains { mask in (0..<mask.count).contains { mask.pointer[$0] == 0 } } }

    /// Zeroes the pruned weights in their values only (for an evaluation of the masked network when
    /// the average is swapped in; the values are restored by swapping it out).
    public func applyToValues() {
        for (mask, weight) in zip(masks, weights) { l0_apply_mask(weight.value.pointer, mask.pointer, mask.count) }
    }

    /// Has `optimizer` apply the masks in its own step (`Adam.fusePruning`), or stop (`on` false),
    /// keeping selective decay's shrinkage `selectiveDecay` fused as well when given.
    func fuse(into optimizer: Adam, on: Bool, selectiveDecay: (relevance: Float, factor: Float)? = nil) {
        for (slot, mask) in zip(slots, masks) { optimizer.fusePruning(slot: slot, mask: on ? mask : nil, selectiveDecay: selectiveDecay) }
    }

    /// Zeroes every pruned weight, its optimiser moments and its average.
    public func apply() {
        for (mask, pointers) in zip(masks, coveredPointers) {
            pointers.withUnsafeBufferPointer { l0_apply_mask_many($0.baseAddress, $0.count, mask.pointer, mask.count) }
        }
    }

    /// The values evaluation ranks weight array `index` by: its average when averaging (not yet
    /// debiased, which scales every value alike), else its value.
    func evaluated(_ index: Int) -> FloatBuffer { averages[index] ?? weights[index].value }

    /// Weights the masks keep.
    public var keptWeights: Int {
        masks.reduce(0) { total, mask in total + (0..<mask.count).reduce(0) { $0 + (mask.pointer[$1] != 0 ? 1 : 0) } }
    }
}

/// A pruning method during training: called around every optimiser step and after every epoch.
/// With Adam, a method's per-weight work is fused into the optimiser's step (`Adam.fusePruning`),
/// with the same bits as doing it after the step; with another optimiser it is a pass of its own.
protocol Pruner: AnyObject {
    var masks: WeightMasks { get }
    /// Before optimiser step `step` (1-based, counted over the whole run).
    func beforeStep(_ step: Int)
    /// After optimiser step `step`.
    func afterStep(_ step: Int)
    /// After epoch `epoch`, with the raw weights in place: may prune. `validationLoss` evaluates the
    /// network as tests do (averaged weights) with the masks applied, leaving the weights as they were.
    func afterEpoch(_ epoch: Int, loss: Double, validationLoss: () -> Double)
    /// Buffers beyond the masks that the checkpoint keeps.
    var buffers: [FloatBuffer] { get }
    var state: PrunerState { get set }
    /// After a resume has filled the masks, buffers and state.
    func restored()
}

extension Pruner {
    /// Everything the checkpoint keeps: masks first, then the method's own buffers.
    var checkpointBuffers: [FloatBuffer] { masks.masks + buffers }
}

/// Gradual magnitude pruning, per layer, on the step schedule of `MagnitudeSettings`.
final class MagnitudePruner: Pruner {
    let masks: WeightMasks
    let settings: MagnitudeSettings
    let startStep: Int
    let endStep: Int
    var state = PrunerState()
    var buffers: [FloatBuffer] { [] }
    private var pruning = false
    /// The optimiser the masks are fused into, if it is Adam.
    private let fused: Adam?
    /// Whether the masks are fused into the coming step.
    private var fusedNow = false
    /// The mask computation's working space, allocated once.
    private let histogram = UnsafeMutablePointer<UInt32>.allocate(capacity: PruningRules.histogramCount)

    init(masks: WeightMasks, settings: MagnitudeSettings, stepsPerEpoch: Int, optimizer: any Optimizer) {
        self.masks = masks
        self.settings = settings
        startStep = settings.startEpoch * stepsPerEpoch
        endStep = settings.endEpoch * stepsPerEpoch
        fused = optimizer as? Adam
    }

    /// Whether step `step` sets new masks.
    private func prunes(at step: Int) -> Bool {
        step >= startStep && step <= endStep && (step - startStep) % settings.interval == 0 || step == endStep
    }

    /// The masks are fused into every step once pruning has begun, except steps that set new masks:
    /// those rank the weights as the step left them, before any mask, and then mask.
    func beforeStep(_ step: Int) {
        guard let fused else { return }
        let fuse = pruning && !prunes(at: step)
        if fuse != fusedNow {
            masks.fuse(into: fused, on: fuse)
            fusedNow = fuse
        }
    }

    func afterStep(_ step: Int) {
        if prunes(at: step) {
            let target = GradualSchedule.sparsity(
                step: step, start: startStep, end: endStep, initial: settings.initialSparsity, final: settings.finalSparsity ?? 0)
            if target > 0 {
                for index in masks.weights.indices { prune(index, to: target) }
                pruning = true
            }
        }
        if pruning && !fusedNow { masks.apply() }
    }

    func afterEpoch(_ epoch: Int, loss: Double, validationLoss: () -> Double) {}

    func restored() { pruning = masks.anyPruned }

    func prune(_ index: Int, to sparsity: Double) {
        PruningRules.magnitudeMask(values: masks.weights[index].value, mask: masks.masks[index], sparsity: sparsity, histogram: histogram)
    }

    deinit { histogram.deallocate() }
}

/// Selective weight decay with plateau-triggered bisection pruning (`SelectiveDecaySettings`).
final class SelectiveDecayPruner: Pruner {
    let masks: WeightMasks
    let settings: SelectiveDecaySettings
    let factor: Float
    var state = PrunerState()
    /// The values (and averages) at the best validation loss, restored before a round.
    private let snapshots: [FloatBuffer]
    private let snapshotted: [FloatBuffer]
    private var anyPruned = false
    /// The optimiser the shrinkage and the masks are fused into, if it is Adam.
    private let fused: Adam?

    init(
        masks: WeightMasks, settings: SelectiveDecaySettings, learningRate: Double, optimizer: any Optimizer,
        average: WeightAverage?
    ) {
        self.masks = masks
        self.settings = settings
        factor = Float(learningRate * settings.decay)
        var originals = [FloatBuffer]()
        for (index, parameter) in optimizer.parameters.enumerated() {
            originals.append(parameter.value)
            if let average { originals.append(average.averages[index]) }
        }
        snapshotted = originals
        snapshots = originals.map { FloatBuffer(count: $0.count) }
        fused = optimizer as? Adam
        fuse()
    }

    var buffers: [FloatBuffer] { snapshots }

    /// Fuses the shrinkage, and the masks once anything is pruned, into the optimiser's step.
    private func fuse() {
        if let fused { masks.fuse(into: fused, on: anyPruned, selectiveDecay: (Float(settings.relevance), factor)) }
    }

    func beforeStep(_ step: Int) {}

    func afterStep(_ step: Int) {
        guard fused == nil else { return }
        for weight in masks.weights {
            PruningRules.selectiveDecay(weight, relevance: Float(settings.relevance), factor: factor)
        }
        if anyPruned { masks.apply() }
    }

    func afterEpoch(_ epoch: Int, loss: Double, validationLoss: () -> Double) {
        guard let best = state.bestLoss else {
            takeSnapshot(loss: loss)
            return
        }
        if loss < best * 1.01 {
            state.epochsWithoutImprovement = 0
            if loss < best { takeSnapshot(loss: loss) }
            return
        }
        state.epochsWithoutImprovement += 1
        guard state.epochsWithoutImprovement >= settings.patience else { return }
        // A plateau: back to the best weights, then the largest threshold within tolerance.
        for (target, source) in zip(snapshotted, snapshots) { target.pointer.update(from: source.pointer, count: target.count) }
        let before = validationLoss()
        let (threshold, after) = ThresholdSearch.largest(masks: masks, limit: before * (1 + settings.tolerance), validationLoss: validationLoss)
        masks.apply()
        anyPruned = true
        fuse()
        state.rounds.append(
            PruningRound(epoch: epoch, threshold: Double(threshold), lossBefore: before, lossAfter: after, weightsLeft: masks.keptWeights))
        takeSnapshot(loss: after)
    }

    private func takeSnapshot(loss: Double) {
        state.bestLoss = loss
        state.epochsWithoutImprovement = 0
        for (target, source) in zip(snapshots, snapshotted) { target.pointer.update(from: source.pointer, count: target.count) }
    }

    func restored() {
        anyPruned = !state.rounds.isEmpty
        fuse()
    }
}

/// The search of a pruning round: over the magnitudes of the unpruned evaluated weights of every
/// layer together, the largest threshold T such that masking every weight with |w| < T keeps the
/// validation loss ≤ `limit`, by bisection over the sorted magnitudes (assuming the loss grows with
/// T, as it does but for noise). `validationLoss` evaluates with the current masks applied (and
/// must leave the weights as they were). The masks are left set for the T found; returns T and the
/// loss there.
public enum ThresholdSearch {
    public static func largest(masks: WeightMasks, limit: Double, validationLoss: () -> Double) -> (threshold: Float, loss: Double) {
        var magnitudes = [Float]()
        for index in masks.weights.indices {
            let (values, mask) = (masks.evaluated(index), masks.masks[index])
            for i in 0..<values.count where mask.pointer[i] != 0 { magnitudes.append(abs(values.pointer[i])) }
        }
        magnitudes.sort()
        let saved = masks.masks.map(\.array)
        func setMasks(below threshold: Float) {
            for (index, mask) in masks.masks.enumerated() {
                let values = masks.evaluated(index)
                saved[index].withUnsafeBufferPointer { before in
                    for i in 0..<mask.count { mask.pointer[i] = before[i] != 0 && abs(values.pointer[i]) >= threshold ? 1 : 0 }
                }
            }
        }
        func threshold(pruning k: Int) -> Float { k < magnitudes.count ? magnitudes[k] : .infinity }
        // The largest k (the k smallest magnitudes pruned) whose loss is within the limit: k = low
        // is known to be acceptable, k > high not.
        var (low, high) = (0, magnitudes.count)
        setMasks(below: 0)
        var lossAtLow = validationLoss()
        while low < high {
            let middle = (low + high + 1) / 2
            setMasks(below: threshold(pruning: middle))
            let value = validationLoss()
            if value <= limit {
                (low, lossAtLow) = (middle, value)
            } else {
                high = middle - 1
            }
        }
        setMasks(below: threshold(pruning: low))
        return (threshold(pruning: low), lossAtLow)
    }
}
