import Experiments
import Foundation
import L0
import NeuralNet
import Plotting

/// The figures computed from formulas alone: the paper's Figures 1 and 2 and a grid of hard concrete
/// densities.
public enum MathFigures {
    /// Paper Figure 1: the Lp penalty |θ|ᵖ for p = 2, 1, 0.5, 0.1, and the L0 "norm" 𝟙[θ ≠ 0], which
    /// is flat except for its drop to 0 at θ = 0 (an open and a filled dot mark the jump).
    public static func penalties() -> Figure {
        let thetas = (0...600).map { -1.5 + Double($0) * 0.005 }
        var marks: [any Mark] = []
        for (i, p) in [2.0, 1, 0.5, 0.1].enumerated() {
            let label = "L<sub>p</sub>, p = \(NumberFormat.plain.labels([p])[0])"
            marks.append(LineMark(x: thetas, y: thetas.map { pow(abs($0), p) }, label: label, color: Palette.color(i)))
        }
        let l0Color = Palette.black
        marks.append(LineMark(x: thetas, y: thetas.map { abs($0) < 1e-12 ? .nan : 1 }, label: "L<sub>0</sub>", color: l0Color, width: 1.8))
        marks.append(ScatterMark(x: [0], y: [1], color: l0Color, size: 5, filled: false))
        marks.append(ScatterMark(x: [0], y: [0], color: l0Color, size: 5))
        let panel = Panel(
            x: Axis("θ"), y: Axis("penalty of θ", limits: .fixed(-0.05, 2.0), ticks: [0, 0.5, 1, 1.5, 2]), marks: marks,
            legend: .auto)
        return Figure(panels: [panel], size: Size(width: 340, height: 230))
    }

    /// Paper Figure 2: (a) the densities of the binary concrete s, the stretched s̄ and the rectified
    /// gate z (its continuous part on (0, 1) plus point masses at 0 and 1) for log α = 0, β = 0.5;
    /// (b) E[z] against log α by Monte Carlo (`samples` draws per point, with a ±2 s.e. band) beside
    /// the noise-free test-time gate ẑ, at the training temperature β = 2/3.
    public static func hardConcrete(samples: Int = 10_000, seed: UInt64 = 2018) -> Figure {
        let gamma = HardConcrete.gamma
        let zeta = HardConcrete.zeta
        let beta = 0.5
        let xs = (1...999).map { Double($0) / 1000 }
        let stretchedX = (1...1199).map { gamma + (zeta - gamma) * Double($0) / 1200 }
        let rectifiedX = (0...1000).map { Double($0) / 1000 }
        let p0 = HardConcrete.stretchedCDF(0, logAlpha: 0, beta: beta)
        let p1 = 1 - HardConcrete.stretchedCDF(1, logAlpha: 0, beta: beta)
        let density = Panel(
            title: "(a) log α = 0, β = 0.5",
            x: Axis("value", limits: .fixed(-0.15, 1.15), ticks: [0, 0.2, 0.4, 0.6, 0.8, 1]),
            y: Axis("density / probability", limits: .fixed(0, 2.2)),
            marks: [
                AreaMark(
                    x: rectifiedX, lower: rectifiedX.map { _ in 0 },
                    upper: rectifiedX.map { HardConcrete.stretchedDensity(min(max($0, 1e-9), 1 - 1e-9), logAlpha: 0, beta: beta) },
                    label: "z on (0, 1)", color: Palette.bluishGreen, opacity: 0.3),
                LineMark(
                    x: xs, y: xs.map { HardConcrete.binaryConcreteDensity($0, logAlpha: 0, beta: beta) }, label: "s (binary concrete)",
                    color: Palette.blue),
                LineMark(
                    x: stretchedX, y: stretchedX.map { HardConcrete.stretchedDensity($0, logAlpha: 0, beta: beta) }, label: "s̄ (stretched)",
                    color: Palette.vermillion, dash: [5, 3]),
                PointMassMark(x: [0, 1], mass: [p0, p1], label: "P(z = 0), P(z = 1)", color: Palette.bluishGreen),
            ], legend: .auto)

        let logAlphas = (0...48).map { -6 + Double($0) * 0.25 }
        let (means, bands) = monteCarloExpectedGate(logAlphas: logAlphas, beta: HardConcrete.beta, samples: samples, seed: seed)
        let fine = (0...480).map { -6 + Double($0) * 0.025 }
        let expectation = Panel(
            title: "(b) β = 2/3",
            x: Axis("log α"), y: Axis("gate value", limits: .fixed(-0.03, 1.03)),
            marks: [
                AreaMark.errorBand(x: logAlphas, mean: means, halfWidth: bands, color: Palette.blue),
                LineMark(
                    x: logAlphas, y: means, label: "E[z] (Monte Carlo)",
                    color: Palette.blue),
                LineMark(x: fine, y: fine.map(HardConcrete.deterministicGate), label: "test-time ẑ", color: Palette.vermillion, dash: [5, 3]),
                ReferenceLine(.vertical, at: -log(11), color: Palette.black.withAlpha(0.5), dash: [2, 2], width: 0.8),
            ], legend: .auto)
        return Figure(panels: [density, expectation], size: Size(width: 468, height: 220))
    }

    /// E[z] at each log α by Monte Carlo, with 2 standard errors, from `samples` draws of the noise
    /// shared by every log α (common random numbers: the curve is smooth and each point is still an
    /// unbiased `samples`-draw estimate). With the logistic noise L = log u − log(1 − u) sorted, the
    /// draws with z = 0 (L ≤ −β·log 11 − log α) and z = 1 (L ≥ β·log 11 − log α) are counted by binary
    /// search, so only the draws in between need the sigmoid.
    public static func monteCarloExpectedGate(logAlphas: [Double], beta: Double, samples: Int, seed: UInt64) -> (
        mean: [Double], twoStandardErrors: [Double]
    ) {
        let generator = RandomGenerator(seed: seed)
        let noise = (0..<samples).map { _ in
            let u = HardConcrete.noise(fromUniform: generator.uniform())
            return log(u) - log(1 - u)
        }.sorted()
        let threshold = beta * log(11.0)
        let scale = HardConcrete.zeta - HardConcrete.gamma
        var means: [Double] = []
        var bands: [Double] = []
        for logAlpha in logAlphas {
            let first = noise.partitioningIndex { $0 > -threshold - logAlpha }
            let ones = noise.count - noise.partitioningIndex { $0 >= threshold - logAlpha }
            var sum = Double(ones)
            var squares = Double(ones)
            for l in noise[first..<(noise.count - ones)] {
                let z = min(1, max(0, HardConcrete.sigmoid((l + logAlpha) / beta) * scale + HardConcrete.gamma))
                sum += z
                squares += z * z
            }
            let mean = sum / Double(samples)
            means.append(mean)
            bands.append(2 * (max(0, squares / Double(samples) - mean * mean) / Double(samples)).squareRoot())
        }
        return (means, bands)
    }

    /// Small multiples of the rectified hard concrete (density on (0, 1) and the atoms at 0 and 1) for
    /// log α ∈ {−2, 0, 2} (columns) and β ∈ {0.25, 2/3, 1} (rows).
    public static func hardConcreteGrid() -> Figure {
        let xs = (1...999).map { Double($0) / 1000 }
        var panels: [Panel] = []
        for (beta, betaLabel) in [(0.25, "0.25"), (2.0 / 3, "2/3"), (1.0, "1")] {
            for logAlpha in [-2.0, 0, 2] {
                let p0 = HardConcrete.stretchedCDF(0, logAlpha: logAlpha, beta: beta)
                let p1 = 1 - HardConcrete.stretchedCDF(1, logAlpha: logAlpha, beta: beta)
                let densities = xs.map { HardConcrete.stretchedDensity($0, logAlpha: logAlpha, beta: beta) }
                panels.append(
                    Panel(
                        title: "log α = \(NumberFormat.plain.labels([logAlpha])[0]), β = \(betaLabel)",
                        x: Axis(panels.count >= 6 ? "z" : nil, limits: .fixed(-0.08, 1.08), ticks: [0, 0.5, 1]),
                        y: Axis(panels.count % 3 == 0 ? "density" : nil, limits: .fixed(0, 2), ticks: [0, 1, 2]),
                        marks: [
                            AreaMark(
                                x: xs, lower: xs.map { _ in 0 }, upper: densities, label: "density of z on (0, 1)", color: Palette.bluishGreen,
                                opacity: 0.3),
                            LineMark(x: xs, y: densities, color: Palette.bluishGreen, width: 1),
                            PointMassMark(x: [0, 1], mass: [p0, p1], label: "P(z = 0) and P(z = 1)", color: Palette.vermillion),
                        ], legend: .none))
            }
        }
        return Figure(panels: panels, columns: 3, size: Size(width: 468, height: 380), sharedLegend: true)
    }
}

extension Array where Element == Double {
    /// The first index whose element satisfies `predicate`, for a predicate that is false then true
    /// along the (sorted) array; `count` when none does.
    func partitioningIndex(where predicate: (Double) -> Bool) -> Int {
        var lo = 0
        var hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if predicate(self[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}
