import Foundation
import L0
import NeuralNet
import Testing

@Suite("Hard concrete distribution")
struct HardConcreteTests {
    /// Monte Carlo estimates from `n` samples against the closed forms; tolerances are 5 standard errors.
    static let cases: [(logAlpha: Double, beta: Double)] = [
        (-3, 2.0 / 3.0), (-1, 2.0 / 3.0), (0, 2.0 / 3.0), (1.5, 2.0 / 3.0), (4, 2.0 / 3.0), (0, 0.5), (-2, 0.5),
    ]

    @Test("Sampling agrees with P(z≠0), P(z=1) and E[z]", arguments: cases)
    func monteCarlo(logAlpha: Double, beta: Double) {
        let random = RandomGenerator(seed: 1234)
        let n = 200_000
        var nonZero = 0
        var one = 0
        var sum = 0.0
        for _ in 0..<n {
            let u = HardConcrete.noise(fromUniform: random.uniform())
            let z = HardConcrete.sample(logAlpha: logAlpha, uniform: u, beta: beta).gate
            #expect(z >= 0 && z <= 1)
            if z > 0 { nonZero += 1 }
            if z == 1 { one += 1 }
            sum += z
        }
        let pNonZero = HardConcrete.probabilityNonZero(logAlpha: logAlpha, beta: beta)
        let pOne = HardConcrete.probabilityOne(logAlpha: logAlpha, beta: beta)
        let mean = HardConcrete.expectedGate(logAlpha: logAlpha, beta: beta)
        func standardError(_ p: Double) -> Double { (p * (1 - p) / Double(n)).squareRoot() }
        #expect(abs(Double(nonZero) / Double(n) - pNonZero) <= 5 * standardError(pNonZero) + 1e-4)
        #expect(abs(Double(one) / Double(n) - pOne) <= 5 * standardError(pOne) + 1e-4)
        #expect(abs(sum / Double(n) - mean) <= 5 * 0.5 / Double(n).squareRoot())
    }

    @Test("P(z≠0) = σ(log α + 1.5986) for β = 2/3")
    func penaltyConstant() {
        #expect(abs(HardConcrete.beta * log(-HardConcrete.gamma / HardConcrete.zeta) + 1.5986) < 1e-4)
        #expect(abs(HardConcrete.probabilityNonZero(logAlpha: 0) - HardConcrete.sigmoid(1.5986)) < 1e-4)
    }

    @Test("The deterministic gate is zero exactly for log α ≤ −log 11, one for log α ≥ log 11")
    func deterministicGate() {
        let threshold = -log(11.0)
        #expect(HardConcrete.deterministicGate(logAlpha: threshold - 1e-9) == 0)
        #expect(HardConcrete.deterministicGate(logAlpha: threshold + 1e-6) > 0)
        #expect(HardConcrete.deterministicGate(logAlpha: -threshold + 1e-9) == 1)
        #expect(abs(HardConcrete.deterministicGate(logAlpha: 0) - 0.5) < 1e-12)
    }

    @Test("The density integrates with the point masses to one, and the CDF matches it")
    func densityNormalisation() {
        for (logAlpha, beta) in [(0.0, 0.5), (2.0, 2.0 / 3.0), (-2.0, 2.0 / 3.0)] {
            let steps = 40_000
            let h = 1.0 / Double(steps)
            var mass = 0.0
            for i in 0..<steps { mass += HardConcrete.stretchedDensity((Double(i) + 0.5) * h, logAlpha: logAlpha, beta: beta) * h }
            let p0 = HardConcrete.stretchedCDF(0, logAlpha: logAlpha, beta: beta)
            let p1 = HardConcrete.probabilityOne(logAlpha: logAlpha, beta: beta)
            #expect(abs(mass + p0 + p1 - 1) < 1e-4)
            #expect(abs(p0 - (1 - HardConcrete.probabilityNonZero(logAlpha: logAlpha, beta: beta))) < 1e-12)
            let cdfStep =
                HardConcrete.stretchedCDF(0.6, logAlpha: logAlpha, beta: beta) - HardConcrete.stretchedCDF(0.4, logAlpha: logAlpha, beta: beta)
            var integral = 0.0
            for i in 0..<2000 { integral += HardConcrete.stretchedDensity(0.4 + (Double(i) + 0.5) * 1e-4, logAlpha: logAlpha, beta: beta) * 1e-4 }
            #expect(abs(cdfStep - integral) < 1e-6)
        }
    }

    @Test("The sample's derivative with respect to log α matches finite differences")
    func sampleDerivative() {
        let random = RandomGenerator(seed: 99)
        for _ in 0..<200 {
            let u = HardConcrete.noise(fromUniform: random.uniform())
            let logAlpha = random.normal() * 2
            let (z, derivative) = HardConcrete.sample(logAlpha: logAlpha, uniform: u)
            let h = 1e-6
            let numeric =
                (HardConcrete.sample(logAlpha: logAlpha + h, uniform: u).gate - HardConcrete.sample(logAlpha: logAlpha - h, uniform: u).gate)
                / (2 * h)
            if z > 1e-4 && z < 1 - 1e-4 { #expect(abs(derivative - numeric) < 1e-5 * max(1, abs(numeric))) }
            if z == 0 || z == 1 { #expect(derivative == 0) }
        }
    }

    @Test("Initial log α is centred on log(1−p) − log p with spread 0.01, and the clamp holds it in [log 0.01, log 100]")
    func initialisationAndClamp() throws {
        let random = RandomGenerator(seed: 5)
        let gates = HardConcreteGates(name: "g", groups: 5000, perExample: false, maxBatch: 1)
        gates.initialize(dropRate: 0.2, random: random)
        let values = gates.logAlpha.value.array.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let spread = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        #expect(abs(mean - log(4.0)) < 0.001)
        #expect(abs(spread - 0.01) < 0.001)
        // The optimiser projects every step onto these bounds (tested with Adam).
        let bounds = try #require(gates.logAlpha.bounds)
        #expect(abs(Double(bounds.upperBound) - log(100)) < 1e-5)
        #expect(abs(Double(bounds.lowerBound) - log(0.01)) < 1e-5)
    }
}
