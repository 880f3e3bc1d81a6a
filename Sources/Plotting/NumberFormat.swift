import Foundation

/// How tick values become labels.
public enum NumberFormat: Equatable, Sendable {
    /// Plain decimals, with as many digits as the ticks need to differ (0, 0.25, 0.5 …).
    case plain
    /// Thousands, millions and billions shortened to k, M and G once the values reach 10,000.
    case si
    /// Powers of ten as 10ⁿ (for log axes); other values plain.
    case powerOfTen
    /// Values shown as percentages of 1 (0.25 → 25%).
    case percent

    /// Labels for `values`, formatted together so that they share a number of decimals.
    public func labels(_ values: [Double]) -> [String] {
        switch self {
        case .plain:
            return NumberFormat.decimalLabels(values)
        case .percent:
            return NumberFormat.decimalLabels(values.map { $0 * 100 }).map { $0 + "%" }
        case .si:
            let largest = values.map(abs).max() ?? 0
            guard largest >= 10_000 else { return NumberFormat.decimalLabels(values) }
            let exponent = min(9, Int(floor(log10(largest) / 3)) * 3)
            let suffix = [3: "k", 6: "M", 9: "G"][exponent]!
            let scale = pow(10, Double(exponent))
            return zip(values, NumberFormat.decimalLabels(values.map { $0 / scale })).map { $0 == 0 ? "0" : $1 + suffix }
        case .powerOfTen:
            return values.map { value in
                let e = log10(value)
                if value > 0, abs(e - e.rounded()) < 1e-9 {
                    let n = Int(e.rounded())
                    return (0...2).contains(n) ? NumberFormat.decimalLabels([value])[0] : "10<sup>\(NumberFormat.minus(String(n)))</sup>"
                }
                return NumberFormat.decimalLabels([value])[0]
            }
        }
    }

    /// The fewest decimals (up to 10) with which every value prints exactly, then each value with them.
    static func decimalLabels(_ values: [Double]) -> [String] {
        var decimals = 0
        while decimals < 10 {
            let scale = pow(10, Double(decimals))
            if values.allSatisfy({ v in abs(v * scale - (v * scale).rounded()) <= 1e-6 * max(1, abs(v * scale)) }) { break }
            decimals += 1
        }
        return values.map { v in
            let text = String(format: "%.\(decimals)f", v)
            return minus(Double(text) == 0 ? String(format: "%.\(decimals)f", 0.0) : text)
        }
    }

    /// Typographic minus sign (U+2212) instead of a hyphen.
    static func minus(_ text: String) -> String { text.replacingOccurrences(of: "-", with: "\u{2212}") }
}
