import Foundation

// The hard concrete distribution (Louizos, Welling & Kingma 2018, §2.2 and Appendix).
//
// With u ~ U(ε, 1 − ε) (ε = 1e-6 keeps the logits finite):
//   s  = σ((log u − log(1 − u) + log α) / β)        binary concrete on (0, 1)
//   s̄  = s·(ζ − γ) + γ                               stretched to (γ, ζ) = (−0.1, 1.1)
//   z  = min(1, max(0, s̄))                            rectified: point masses at 0 and 1
// Its CDF on the stretched scale is Q(x) = σ(β·log((x − γ)/(ζ − x)) − log α), so
//   P(z = 0) = Q(0),  P(z = 1) = 1 − Q(1),  P(z ≠ 0) = σ(log α − β·log(−γ/ζ)).
// The test-time gate drops the noise: ẑ = min(1, max(0, σ(log α)·(ζ − γ) + γ)); it is exactly 0 for
// log α ≤ logit(−γ/(ζ − γ)) = −log 11 ≈ −2.398, which is when a group counts as pruned.
// Edge cases: σ is evaluated in the form that never overflows exp; the derivative of z with respect to
// log α is zero outside (0, 1), where the clamp is flat.

/// Formulas of the hard concrete gate, in Double.
public enum HardConcrete {
    /// Lower end of the stretch interval, γ.
    public static let gamma = -0.1
    /// Upper end of the stretch interval, ζ.
    public static let zeta = 1.1
    /// Temperature β used for training.
    public static let beta = 2.0 / 3.0
    /// Uniform noise is drawn from (ε, 1 − ε).
    public static let epsilon = 1e-6
    /// log α is clamped to this range after every optimiser step.
    public static let logAlphaRange: ClosedRange<Double> = log(0.01)...log(100)

    /// The logistic sigmoid, stable for large |x|.
    @inline(__always) public static func sigmoid(_ x: Double) -> Double {
        if x >= 0 { return 1 / (1 + exp(-x)) }
        let e = exp(x)
        return e / (1 + e)
    }

    /// A training-time sample of the gate from uniform noise `u` in (0, 1), and dz/d(log α).
    @inline(__always)
    public static func sample(logAlpha: Double, uniform u: Double, beta: Double = beta)
        -> (gate: Double, derivative: Double)
    {
        let s = sigmoid((log(u) - log(1 - u) + logAlpha) / beta)
        let stretched = s * (zeta - gamma) + gamma
        if stretched <= 0 { return (0, 0) }
        if stretched >= 1 { return (1, 0) }
        return (stretched, (zeta - gamma) * s * (1 - s) / beta)
    }

    /// Maps a uniform draw in [0, 1) to the open interval (ε, 1 − ε) the sampler uses.
    @inline(__always) public static func noise(fromUniform v: Double) -> Double {
        epsilon + (1 - 2 * epsilon) * v
    }

    /// P(z ≠ 0) = σ(log α − β·log(−γ/ζ)): the differentiable L0 penalty per group.
    @inline(__always) public static func probabilityNonZero(logAlpha: Double, beta: Double = beta) -> Double {
        sigmoid(logAlpha - beta * log(-gamma / zeta))
    }

    /// P(z = 1) = 1 − Q(1) = σ(log α − β·log((1 − γ)/(ζ − 1))).
    public static func probabilityOne(logAlpha: Double, beta: Double = beta) -> Double {
        sigmoid(logAlpha - beta * log((1 - gamma) / (zeta - 1)))
    }

    /// The test-time gate ẑ = min(1, max(0, σ(log α)·(ζ − γ) + γ)).
    @inline(__always) public static func deterministicGate(logAlpha: Double) -> Double {
        min(1, max(0, sigmoid(logAlpha) * (zeta - gamma) + gamma))
    }

    /// The CDF of the stretched variable s̄ at x in (γ, ζ): Q(x) = σ(β·log((x − γ)/(ζ − x)) − log α).
    public static func stretchedCDF(_ x: Double, logAlpha: Double, beta: Double = beta) -> Double {
        if x <= gamma { return 0 }
        if x >= zeta { return 1 }
        return sigmoid(beta * log((x - gamma) / (zeta - x)) - logAlpha)
    }

    /// The density of the binary concrete variable s at s in (0, 1):
    /// β·α·s^(−β−1)·(1 − s)^(−β−1) / (α·s^(−β) + (1 − s)^(−β))².
    public static func binaryConcreteDensity(_ s: Double, logAlpha: Double, beta: Double = beta) -> Double {
        guard s > 0, s < 1 else { return 0 }
        // Written through t = β·logit(s) − log α: density = β·σ(t)(1 − σ(t)) / (s(1 − s)).
        let t = beta * (log(s) - log(1 - s)) - logAlpha
        let q = sigmoid(t)
        return beta * q * (1 - q) / (s * (1 - s))
    }

    /// The density of the stretched variable s̄ at x in (γ, ζ).
    public static func stretchedDensity(_ x: Double, logAlpha: Double, beta: Double = beta) -> Double {
        guard x > gamma, x < zeta else { return 0 }
        let s = (x - gamma) / (zeta - gamma)
        return binaryConcreteDensity(s, logAlpha: logAlpha, beta: beta) / (zeta - gamma)
    }

    /// E[z], by the midpoint rule on the continuous part plus the point mass at 1.
    public static func expectedGate(logAlpha: Double, beta: Double = beta, steps: Int = 20_000) -> Double {
        let h = 1.0 / Double(steps)
        var integral = 0.0
        for i in 0..<steps {
            let x = (Double(i) + 0.5) * h
            integral += x * stretchedDensity(x, logAlpha: logAlpha, beta: beta) * h
        }
        return integral + probabilityOne(logAlpha: logAlpha, beta: beta)
    }

    /// The initial log α for a gate whose "drop rate" is p: the mean log(1 − p) − log p plus N(0, 0.01²)
    /// noise, as in the paper's code.
    public static func initialLogAlpha(dropRate p: Double, standardNormal: Double) -> Double {
        log(1 - p) - log(p) + 0.01 * standardNormal
    }
}
