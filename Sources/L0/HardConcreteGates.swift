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

    public init(name: String, groups: Int, perExample: Bool, maxBatch: Int) {
        self.groups = groups
        self.perExample = perExample
        logAlpha = Parameter(
            name: "\(name).logAlpha", shape: [groups], role: .gateLogAlpha,
            bounds: Float(HardConcrete.logAlphaRange.lowerBound)...Float(HardConcrete.logAlphaRange.upperBound))
        let rows = perExample ? maxBatch : 1
        values = FloatBuffer(count: rows * groups)
        derivatives = FloatBuffer(count: rows * groups)
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
        let rows = perExample ? batch : 1
        for r in 0..<rows {
            for g in 0..<groups {
                let u = HardConcrete.noise(fromUniform: random.uniform())
                let (gate, derivative) = HardConcrete.sample(logAlpha: Double(a[g]), uniform: u)
                z[r * groups + g] = Float(gate)
                dz[r * groups + g] = Float(derivative)
            }
        }
    }

    /// Clamps log α into `HardConcrete.logAlphaRange`. The optimiser does this after every step
    /// through the parameter's bounds; this is for log α set by hand.
    public func clampLogAlpha() {
        guard let bounds = logAlpha.bounds else { return }
        let a = logAlpha.value.pointer
        for g in 0..<groups { a[g] = min(max(a[g], bounds.lowerBound), bounds.upperBound) }
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

    /// Adds the expected penalty Σ_g π_g·cost_g to the objective: adds π_g(1 − π_g)·cost_g to the
    /// gradient of log α_g and returns the penalty, where `cost(g)` is the group's cost if active.
    @inline(__always) public func accumulateExpectedCost(_ cost: (Int) -> Double) -> Double {
        var total = 0.0
        let gradient = logAlpha.gradient.pointer
        for g in 0..<groups {
            let p = probabilityNonZero(g)
            let c = cost(g)
            total += p * c
            gradient[g] += Float(p * (1 - p) * c)
        }
        return total
    }
}

/// A layer whose parameter groups are switched by hard concrete gates.
public protocol GatedLayer: AnyObject {
    var gates: HardConcreteGates { get }
}
