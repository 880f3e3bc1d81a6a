import Foundation

// Tick placement by the "extended" Wilkinson algorithm of Talbot, Lin & Hanrahan, "An Extension of
// Wilkinson's Algorithm for Positioning Tick Labels on Axes", InfoVis 2010.
//
// A labelling is an arithmetic sequence lmin, lmin + step, …, lmax with step = j·q·10^z (q from the
// "nice" list Q, j a skip factor). It is scored as a weighted sum of
//   simplicity  1 − (i − 1)/(|Q| − 1) − j + v   (i: rank of q in Q; v = 1 when zero is a label)
//   coverage    1 − ½·((dmax − lmax)² + (dmin − lmin)²) / (0.1·(dmax − dmin))²
//   density     2 − max(r/rt, rt/r)             (r: labels per unit, rt: the target m per unit)
//   legibility  1                                (fonts and orientation are fixed here)
// with weights (0.25, 0.2, 0.5, 0.05). The search enumerates j, q, the label count k and the power z
// in an order in which each factor's upper bound only decreases, so it can stop as soon as the best
// possible remaining score is below the best found.

/// Tick positions for linear and logarithmic axes.
public enum Ticks {
    /// The nice step multipliers, most preferred first.
    public static let niceNumbers: [Double] = [1, 5, 2, 2.5, 4, 3]
    /// Weights of simplicity, coverage, density and legibility.
    public static let weights = (simplicity: 0.25, coverage: 0.2, density: 0.5, legibility: 0.05)

    /// The best labelling of the data range [`dmin`, `dmax`] with about `m` labels; with `onlyLoose`
    /// the labels enclose the range.
    public static func extended(_ dmin: Double, _ dmax: Double, m: Int = 5, onlyLoose: Bool = false) -> [Double] {
        precondition(dmin.isFinite && dmax.isFinite && dmin <= dmax && m >= 2)
        if dmax - dmin < 1e-12 * max(1, abs(dmin)) {
            return dmin == 0 ? [0] : extended(dmin - abs(dmin) * 0.1, dmax + abs(dmax) * 0.1, m: m, onlyLoose: onlyLoose)
        }
        let w = weights
        let target = Double(m)
        var bestScore = -2.0
        var best: (lmin: Double, lstep: Double, k: Int)?
        var j = 1.0
        search: while true {
            for (index, q) in niceNumbers.enumerated() {
                let sm = simplicityMax(index: index, j: j)
                if w.simplicity * sm + w.coverage + w.density + w.legibility < bestScore { break search }
                var k = 2.0
                while true {
                    let dm = densityMax(k: k, m: target)
                    if w.simplicity * sm + w.coverage + w.density * dm + w.legibility < bestScore { break }
                    let delta = (dmax - dmin) / (k + 1) / j / q
                    var z = ceil(log10(delta))
                    while true {
                        let step = j * q * pow(10, z)
                        let cm = coverageMax(dmin, dmax, span: step * (k - 1))
                        if w.simplicity * sm + w.coverage * cm + w.density * dm + w.legibility < bestScore { break }
                        let minStart = floor(dmax / step) * j - (k - 1) * j
                        let maxStart = ceil(dmin / step) * j
                        if minStart <= maxStart {
                            var start = minStart
                            while start <= maxStart {
                                let lmin = start * (step / j)
                                let lmax = lmin + step * (k - 1)
                                let s = simplicity(index: index, j: j, lmin: lmin, lmax: lmax, lstep: step)
                                let c = coverage(dmin, dmax, lmin, lmax)
                                let g = density(k: k, m: target, dmin, dmax, lmin, lmax)
                                let score = w.simplicity * s + w.coverage * c + w.density * g + w.legibility
                                if score > bestScore && (!onlyLoose || (lmin <= dmin && lmax >= dmax)) {
                                    bestScore = score
                                    best = (lmin, step, Int(k))
                                }
                                start += 1
                            }
                        }
                        z += 1
                    }
                    k += 1
                }
            }
            j += 1
        }
        guard let best else { return [dmin, dmax] }
        return (0..<best.k).map { clean(best.lmin + Double($0) * best.lstep, step: best.lstep) }
    }

    private static func simplicity(index: Int, j: Double, lmin: Double, lmax: Double, lstep: Double) -> Double {
        let eps = 1e-10
        let remainder = lmin - lstep * floor(lmin / lstep)
        let zeroIncluded = (remainder < eps || lstep - remainder < eps) && lmin <= 0 && lmax >= 0
        return 1 - Double(index) / Double(niceNumbers.count - 1) - j + (zeroIncluded ? 1 : 0)
    }

    private static func simplicityMax(index: Int, j: Double) -> Double {
        2 - Double(index) / Double(niceNumbers.count - 1) - j
    }

    private static func coverage(_ dmin: Double, _ dmax: Double, _ lmin: Double, _ lmax: Double) -> Double {
        let range = dmax - dmin
        return 1 - 0.5 * ((dmax - lmax) * (dmax - lmax) + (dmin - lmin) * (dmin - lmin)) / ((0.1 * range) * (0.1 * range))
    }

    private static func coverageMax(_ dmin: Double, _ dmax: Double, span: Double) -> Double {
        let range = dmax - dmin
        guard span > range else { return 1 }
        let half = (span - range) / 2
        return 1 - half * half / ((0.1 * range) * (0.1 * range))
    }

    private static func density(k: Double, m: Double, _ dmin: Double, _ dmax: Double, _ lmin: Double, _ lmax: Double)
        -> Double
    {
        let r = (k - 1) / (lmax - lmin)
        let rt = (m - 1) / (max(lmax, dmax) - min(dmin, lmin))
        return 2 - max(r / rt, rt / r)
    }

    private static func densityMax(k: Double, m: Double) -> Double { k >= m ? 2 - (k - 1) / (m - 1) : 1 }

    /// Rounds away the binary noise of `lmin + i·step` (so 0.1·3 gives 0.3, not 0.30000000000000004).
    static func clean(_ value: Double, step: Double) -> Double {
        let unit = pow(10, floor(log10(step)) - 6)
        let rounded = (value / unit).rounded() * unit
        return abs(rounded) < unit ? 0 : Double(String(format: "%.12g", rounded))!
    }

    /// Major ticks of a base-10 log axis over [lo, hi] (both > 0): the powers of ten inside, thinned
    /// to at most about `m`; when fewer than two powers fit, the 1-2-5 sequence instead.
    public static func logarithmic(_ lo: Double, _ hi: Double, m: Int = 6) -> [Double] {
        precondition(lo > 0 && hi >= lo)
        let first = Int(ceil(log10(lo) - 1e-9))
        let last = Int(floor(log10(hi) + 1e-9))
        if last - first >= 1 {
            let stride = max(1, Int(ceil(Double(last - first + 1) / Double(m))))
            return Swift.stride(from: first, through: last, by: stride).map { pow(10, Double($0)) }
        }
        var ticks: [Double] = []
        for e in (first - 1)...(last + 1) {
            for f in [1.0, 2, 5] {
                let v = Double(String(format: "%.12g", f * pow(10, Double(e))))!
                if v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) { ticks.append(v) }
            }
        }
        // Less than a decade wide: label it like a linear axis.
        return ticks.count >= 3 ? ticks : extended(lo, hi, m: min(m, 4)).filter { $0 > 0 }
    }

    /// Whole-number ticks over [lo, hi]: the extended labelling when its step is whole, otherwise
    /// every 1, 2, 5, 10, … so that at most about `m` + 1 fit; `enclosing` widens them to cover the range.
    public static func integers(_ lo: Double, _ hi: Double, m: Int = 5, enclosing: Bool = false) -> [Double] {
        let nice = extended(lo, hi, m: m, onlyLoose: enclosing)
        if nice.count >= 2, nice[1] - nice[0] >= 1, nice.allSatisfy({ $0 == $0.rounded() }) { return nice }
        let steps = (0..<36).map { [1.0, 2, 5][$0 % 3] * pow(10, Double($0 / 3)) }
        let step = steps.first { (hi - lo) / $0 <= Double(m) } ?? steps[steps.count - 1]
        let first = enclosing ? floor(lo / step) * step : ceil(lo / step) * step
        let last = enclosing ? ceil(hi / step) * step : floor(hi / step) * step
        return Swift.stride(from: first, through: last + step / 2, by: step).map { $0 }
    }

    /// Minor ticks of a log axis: 2…9 times each power of ten inside [lo, hi].
    public static func logarithmicMinor(_ lo: Double, _ hi: Double) -> [Double] {
        var ticks: [Double] = []
        for e in Int(floor(log10(lo)))...Int(ceil(log10(hi))) {
            for f in 2...9 {
                let v = Double(f) * pow(10, Double(e))
                if v >= lo && v <= hi { ticks.append(v) }
            }
        }
        return ticks
    }
}
