import CKernels
import Foundation

/// An exponential moving average of parameters, used in place of the weights for evaluation.
///
/// The average starts from zero and is divided by (1 − decayᵗ) when used — the standard debiasing.
/// (The official code starts it from the initial weights and still divides, which overweights them.)
public final class WeightAverage {
    public let parameters: [Parameter]
    public let decay: Float
    /// The running averages, one buffer per parameter.
    public let averages: [FloatBuffer]
    /// The number of updates so far.
    public private(set) var updates: Int = 0
    private let saved: [FloatBuffer]
    private var isSwappedIn = false

    public init(parameters: [Parameter], decay: Float) {
        precondition(decay > 0 && decay < 1, "average decay must be in (0, 1)")
        self.parameters = parameters
        self.decay = decay
        averages = parameters.map { FloatBuffer(count: $0.count) }
        saved = parameters.map { FloatBuffer(count: $0.count) }
    }

    /// avg ← decay·avg + (1 − decay)·θ for every parameter.
    public func update() {
        countUpdate()
        for (index, parameter) in parameters.enumerated() {
            l0_moving_average(averages[index].pointer, parameter.value.pointer, parameter.count, decay)
        }
    }

    /// Counts one update whose arithmetic someone else did (`Adam` updates the averages in its own
    /// pass, while the values are in cache).
    public func countUpdate() {
        precondition(!isSwappedIn, "update while the average is swapped in")
        updates += 1
    }

    /// Replaces the parameters by their debiased averages, keeping the current values aside.
    public func swapIn() {
        precondition(!isSwappedIn && updates > 0, "swapIn needs at least one update and no swap in progress")
        isSwappedIn = true
        let scale = Float(1 / (1 - pow(Double(decay), Double(updates))))
        for (index, parameter) in parameters.enumerated() {
            saved[index].copy(from: parameter.value)
            let theta = parameter.value.pointer
            let average = averages[index].pointer
            for i in 0..<parameter.count { theta[i] = average[i] * scale }
        }
    }

    /// Puts back the values kept aside by `swapIn`.
    public func swapOut() {
        precondition(isSwappedIn, "swapOut without swapIn")
        isSwappedIn = false
        for (index, parameter) in parameters.enumerated() { parameter.value.copy(from: saved[index]) }
    }

    /// Restores the update count when resuming from a checkpoint.
    public func restore(updates: Int) {
        precondition(updates >= 0, "updates must be non-negative")
        self.updates = updates
    }
}
