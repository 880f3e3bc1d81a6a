import Foundation
import NeuralNet

/// One hard concrete gate per parameter group: the learned log α and this step's gate values.
///
/// In training the gates are sampled once per minibatch (shared by every example) or, with
/// `perExample`, once per example; in evaluation they are the deterministic ẑ.
/// Shapes: logAlpha (groups); values and derivatives (groups), or (maxBatch, groups) per example.
public final class HardConcreteGates {
    public let logAlpha: Parameter
    public let groups: Int
    public let perExample: Bool
    /// The gate values z of the last draw.
    public let values: FloatBuffer
    /// dz/d(log α) of the last draw (zero where the gate was clamped, and in evaluation).
    public let derivatives: FloatBuffer
    /// Whether the last draw was per example (training with `perExample`); otherwise one row.
    public private(set) var lastDrawPerExample = false
    /// Scratch: each group's penalty if active and its P(z ≠ 0), for `accumulateGroupPenalty`.
    private let groupCosts: UnsafeMutablePointer<Double>
    private let groupProbabilities: UnsafeMutablePointer<Double>
    /// Scratch: the uniforms of a draw, (rows, groups).
    private let uniforms: UnsafeMutablePointer<Double>

    public init(name: String, groups: Int, perExample: Bool, maxBatch: Int) {
        self.groups = groups
        self.perExample = perExample
        logAlpha = Parameter(
            name: "\(name).logAlpha", shape: [groups], role: .gateLogAlpha,
            bounds: Float(HardConcrete.logAlphaRange.lowerBound)...Float(HardConcrete.logAlphaRange.upperBound))
        let rows = perExample ? maxBatch : 1
        values = FloatBuffer(count: rows * groups)
        derivatives = FloatBuffer(count: rows * groups)
        groupCosts = .allocate(capacity: groups)
        groupCosts.initialize(repeating: 0, count: groups)
        groupProbabilities = .allocate(capacity: groups)
        groupProbabilities.initialize(repeating: 0, count: groups)
        uniforms = .allocate(capacity: rows * groups)
        uniforms.initialize(repeating: 0, count: rows * groups)
    }

    deinit {
        groupCosts.deallocate()
        groupProbabilities.deallocate()
        uniforms.deallocate()
    }

    /// Draws log α from N(log(1 − p) − log p, 0.01²).
    public func initialize(dropRate: Double, random: RandomGenerator) {
        for g in 0..<groups {
            logAlpha.value.pointer[g] = Float(HardConcrete.initialLogAlpha(dropRate: dropRate, standardNormal: random.normal()))
        }
    }

    /// Fills `values` and `derivatives` for a batch of `batch` examples.
    public func draw(mode: Mode, batch: Int, random: RandomGenerator) {
        let a = logAlpha.value.pointer
        let z = values.pointer
        let dz = derivatives.pointer
        guard mode == .training else {
            lastDrawPerExample = false
            for g in 0..<groups {
                z[g] = Float(HardConcrete.deterministicGate(logAlpha: Double(a[g])))
                dz[g] = 0
            }
            return
        }
        lastDrawPerExample = perExample
        // The uniforms in order on this thread; the gates from them (logarithms and an exponential
        // each) split over the pool.
        let count = (perExample ? batch : 1) * groups
        for i in 0..<count { uniforms[i] = random.uniform() }
        var job = Sampling(logAlpha: a, uniforms: uniforms, values: z, derivatives: dz, groups: groups)
        WorkerPool.shared.runRanges(count, minimum: 128, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Sampling.self).pointee.sample(from: from, to: to)
        }
    }

    /// Gates from uniforms, over pointers only.
    struct Sampling {
        let logAlpha: UnsafePointer<Float>, uniforms: UnsafePointer<Double>
        let values: UnsafeMutablePointer<Float>, derivatives: UnsafeMutablePointer<Float>
        let groups: Int

        func sample(from: Int, to: Int) {
            for i in from..<to {
                let u = HardConcrete.noise(fromUniform: uniforms[i])
                let (gate, derivative) = HardConcrete.sample(logAlpha: Double(logAlpha[i % groups]), uniform: u)
                values[i] = Float(gate)
                derivatives[i] = Float(derivative)
            }
        }
    }

    /// P(z ≠ 0) of gate `g`.
    @inline(__always) public func probabilityNonZero(_ g: Int) -> Double {
        HardConcrete.probabilityNonZero(logAlpha: Double(logAlpha.value.pointer[g]))
    }

    /// Whether gate `g` survives pruning (ẑ > 0).
    @inline(__always) public func isKept(_ g: Int) -> Bool {
        HardConcrete.deterministicGate(logAlpha: Double(logAlpha.value.pointer[g])) > 0
    }

    /// The number of groups with ẑ > 0.
    public var keptCount: Int { (0..<groups).reduce(0) { $0 + (isKept($1) ? 1 : 0) } }

    /// Σ P(z ≠ 0): the expected number of active groups.
    public var expectedCount: Double { (0..<groups).reduce(0) { $0 + probabilityNonZero($1) } }

    /// Adds the expected penalty of gated weight groups, Σ_g π_g·(λ·|g| + (decay/2)·‖θ_g‖²), where
    /// group g is row g of `weights` (`groupSize` contiguous values): π_g·decay·θ_g goes to the weight
    /// gradient and π_g(1 − π_g)·cost_g to the gradient of log α_g. Returns the penalty.
    ///
    /// Rows are split over the worker pool; the costs are then summed in group order, so the total
    /// does not depend on the split.
    public func accumulateGroupPenalty(
        weights: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>, groupSize: Int, lambda: Float,
        decay: Float
    ) -> Double {
        var job = groupPenalty(weights: weights, weightGradient: weightGradient, groupSize: groupSize, lambda: lambda, decay: decay)
        WorkerPool.shared.runRanges(groups, minimum: max(1, 16_384 / max(groupSize, 1)), with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: GroupPenalty.self).pointee.costs(groups: from..<to)
        }
        return finishGroupPenalty()
    }

    /// The per-group part of `accumulateGroupPenalty`, to run on any thread over ranges of groups
    /// (`GroupPenalty.costs`); `finishGroupPenalty` then does the rest.
    func groupPenalty(
        weights: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>, groupSize: Int, lambda: Float,
        decay: Float
    ) -> GroupPenalty {
        GroupPenalty(
            weights: weights, weightGradient: weightGradient, logAlpha: logAlpha.value.pointer, costs: groupCosts,
            probabilities: groupProbabilities, groupSize: groupSize, lambda: lambda, decay: decay)
    }

    /// The end of `accumulateGroupPenalty` once `GroupPenalty.costs` has covered every group: the
    /// penalty, summed in group order, and its gradient for log α.
    func finishGroupPenalty() -> Double {
        var total = 0.0
        let gradient = logAlpha.gradient.pointer
        for g in 0..<groups {
            let p = groupProbabilities[g]
            total += p * groupCosts[g]
            gradient[g] += Float(p * (1 - p) * groupCosts[g])
        }
        return total
    }

    /// The per-group loop of `accumulateGroupPenalty`, over pointers only.
    struct GroupPenalty {
        let weights: UnsafePointer<Float>, weightGradient: UnsafeMutablePointer<Float>
        let logAlpha: UnsafePointer<Float>, costs: UnsafeMutablePointer<Double>
        let probabilities: UnsafeMutablePointer<Double>
        let groupSize: Int, lambda: Float, decay: Float

        func costs(groups: Range<Int>) {
            let groupCost = Double(lambda) * Double(groupSize)
            for g in groups {
                probabilities[g] = HardConcrete.probabilityNonZero(logAlpha: Double(logAlpha[g]))
                let scale = Float(probabilities[g]) * decay
                let offset = g * groupSize
                let squares = VectorMath.addScaledReturningSumOfSquares(
                    weights + offset, by: scale, to: weightGradient + offset, count: groupSize)
                costs[g] = groupCost + 0.5 * Double(decay) * Double(squares)
            }
        }
    }
}

/// A layer whose parameter groups are switched by hard concrete gates.
public protocol GatedLayer: AnyObject {
    var gates: HardConcreteGates { get }
}
