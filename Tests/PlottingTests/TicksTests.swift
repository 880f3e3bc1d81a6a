import Foundation
import Plotting
import Testing

@Suite struct TicksTests {
    /// The example in the documentation of Talbot's own implementation (R package `labeling`):
    /// extended(8.1, 14.1, 4) gives 8 10 12 14.
    @Test func publishedExample() {
        #expect(Ticks.extended(8.1, 14.1, m: 4) == [8, 10, 12, 14])
    }

    /// Breaks that ggplot2 is known to draw: it calls the same algorithm with m = 5 on the data range
    /// widened by 5% each side and keeps the breaks inside. Data 0–100 gives quarters, data 1–10 gives
    /// 2.5 … 10, mtcars' weight (1.513–5.424) gives 2 … 5 and its mileage (10.4–33.9) 10 … 35.
    @Test(arguments: [
        (0.0, 100.0, [0.0, 25, 50, 75, 100]),
        (1.0, 10.0, [2.5, 5, 7.5, 10]),
        (1.513, 5.424, [2.0, 3, 4, 5]),
        (10.4, 33.9, [10.0, 15, 20, 25, 30, 35]),
    ])
    func knownBreaks(lo: Double, hi: Double, expected: [Double]) {
        let (a, b) = (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
        #expect(Ticks.extended(a, b, m: 5).filter { $0 >= a && $0 <= b } == expected)
    }

    /// Over many ranges: evenly spaced, a nice step (q·10^z with q in Q, or a multiple), near the data,
    /// and enclosing it when asked.
    @Test func propertiesOverRandomRanges() {
        var state: UInt64 = 12345
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) * 0x1.0p-53
        }
        for _ in 0..<300 {
            let scale = pow(10, (uniform() * 8).rounded(.down) - 4)
            let lo = (uniform() * 20 - 10) * scale
            let hi = lo + (0.01 + uniform() * 10) * scale
            let m = 3 + Int(uniform() * 6)
            let ticks = Ticks.extended(lo, hi, m: m)
            #expect(ticks.count >= 2 && ticks.count <= 3 * m, "\(lo)...\(hi), m = \(m): \(ticks)")
            let step = ticks[1] - ticks[0]
            for (a, b) in zip(ticks, ticks.dropFirst()) { #expect(abs((b - a) - step) <= 1e-9 * abs(step) * 10) }
            let mantissa = step / pow(10, floor(log10(step) + 1e-9))
            // j·q with q in Q = (1, 5, 2, 2.5, 4, 3) and a small skip j.
            #expect([1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 9].contains { abs($0 - mantissa) < 1e-6 }, "step \(step) for \(lo)...\(hi)")
            #expect(ticks.first! <= lo + (hi - lo) * 0.5 && ticks.last! >= hi - (hi - lo) * 0.5)
            let loose = Ticks.extended(lo, hi, m: m, onlyLoose: true)
            #expect(loose.first! <= lo && loose.last! >= hi, "loose \(loose) for \(lo)...\(hi)")
        }
    }

    @Test func logarithmicTicks() {
        #expect(Ticks.logarithmic(1, 1000) == [1, 10, 100, 1000])
        #expect(Ticks.logarithmic(0.5, 2e6, m: 4) == [1, 100, 10_000, 1_000_000])
        #expect(Ticks.logarithmic(2, 60) == [2, 5, 10, 20, 50])
        let narrow = Ticks.logarithmic(0.3, 0.8)
        #expect(narrow.count >= 3 && narrow.allSatisfy { $0 >= 0.3 && $0 <= 0.8 })
        #expect(Ticks.logarithmicMinor(1, 100) == [2, 3, 4, 5, 6, 7, 8, 9, 20, 30, 40, 50, 60, 70, 80, 90])
    }

    @Test func integerTicks() {
        #expect(Ticks.integers(1, 3) == [1, 2, 3])
        #expect(Ticks.integers(1, 2.5) == [1, 2])
        #expect(Ticks.integers(0, 200) == [0, 50, 100, 150, 200])
        let enclosing = Ticks.integers(0.5, 6.5, enclosing: true)
        #expect(enclosing.first! <= 0.5 && enclosing.last! >= 6.5 && enclosing.allSatisfy { $0 == $0.rounded() })
    }

    @Test func numberFormats() {
        #expect(NumberFormat.plain.labels([0, 0.25, 0.5]) == ["0.00", "0.25", "0.50"])
        #expect(NumberFormat.plain.labels([-1, 0, 1]) == ["\u{2212}1", "0", "1"])
        #expect(NumberFormat.plain.labels([0.1 + 0.2, 0.6]) == ["0.3", "0.6"])
        #expect(NumberFormat.si.labels([0, 250_000, 500_000]) == ["0", "250k", "500k"])
        #expect(NumberFormat.si.labels([0, 1_000_000, 2_500_000]) == ["0", "1.0M", "2.5M"])
        #expect(NumberFormat.si.labels([0, 500]) == ["0", "500"])
        #expect(NumberFormat.percent.labels([0, 0.5, 1]) == ["0%", "50%", "100%"])
        #expect(NumberFormat.powerOfTen.labels([1, 10, 1000, 0.001]) == ["1", "10", "10<sup>3</sup>", "10<sup>\u{2212}3</sup>"])
    }
}
