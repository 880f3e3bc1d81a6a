import Foundation

/// One axis of a panel: its scale, range, ticks and label.
public struct Axis: Sendable {
    public enum Kind: Sendable { case linear, logarithmic }

    /// How the visible range is chosen.
    public enum Limits: Sendable {
        /// The data's range plus a 4% margin on each side.
        case data
        /// The data's range widened to the nearest ticks (the labels enclose the data).
        case nice
        /// Exactly this range.
        case fixed(Double, Double)
    }

    /// The axis title, Pango markup.
    public var label: String?
    public var kind: Kind
    public var limits: Limits
    public var format: NumberFormat
    /// About how many labelled ticks to aim for.
    public var tickCount: Int
    /// Ticks to use instead of the computed ones.
    public var ticks: [Double]?
    /// Names of categories placed at 0, 1, 2, … (for bar charts); replaces the numeric labels.
    public var categories: [String]?
    /// Values the range must include besides the data (e.g. 0 for a quantity that starts at zero).
    public var including: [Double]
    /// Whether to draw grid lines at the labelled ticks.
    public var grid: Bool
    /// Whether ticks must be whole numbers (epochs, counts).
    public var integerTicks: Bool

    public init(
        _ label: String? = nil, kind: Kind = .linear, limits: Limits = .data, format: NumberFormat? = nil,
        tickCount: Int = 5, ticks: [Double]? = nil, categories: [String]? = nil, including: [Double] = [],
        grid: Bool = true, integerTicks: Bool = false
    ) {
        self.label = label
        self.kind = kind
        self.limits = limits
        self.format = format ?? (kind == .logarithmic ? .powerOfTen : .plain)
        self.tickCount = tickCount
        self.ticks = ticks
        self.categories = categories
        self.including = including
        self.grid = grid
        self.integerTicks = integerTicks
    }
}

/// A labelled tick.
public struct Tick: Equatable, Sendable {
    public var value: Double
    public var label: String
}

/// An axis resolved against its data: the visible range in data units, the ticks, and (once the panel
/// is laid out) the mapping from data to canvas coordinates.
public struct Scale: Sendable {
    public let kind: Axis.Kind
    /// The visible range, in data units.
    public let lower: Double
    public let upper: Double
    public let ticks: [Tick]
    public let minorTicks: [Double]
    /// Canvas coordinates of `lower` and `upper`.
    var start = 0.0
    var end = 1.0

    /// Resolves `axis` for data spanning `extent` (nil when the panel has no data on this axis).
    init(_ axis: Axis, extent: ClosedRange<Double>?) {
        kind = axis.kind
        var lo = extent?.lowerBound ?? (axis.kind == .logarithmic ? 1 : 0)
        var hi = extent?.upperBound ?? (axis.kind == .logarithmic ? 10 : 1)
        for v in axis.including where axis.kind == .linear || v > 0 {
            lo = min(lo, v)
            hi = max(hi, v)
        }
        if let categories = axis.categories, !categories.isEmpty {
            lo = min(lo, 0)
            hi = max(hi, Double(categories.count - 1))
        }
        switch axis.kind {
        case .linear:
            if hi - lo < 1e-12 * max(1, abs(lo)) {
                let half = lo == 0 ? 0.5 : abs(lo) * 0.1
                lo -= half
                hi += half
            }
            switch axis.limits {
            case .fixed(let a, let b):
                (lo, hi) = (a, b)
            case .nice:
                let t =
                    axis.integerTicks
                    ? Ticks.integers(lo, hi, m: axis.tickCount, enclosing: true) : Ticks.extended(lo, hi, m: axis.tickCount, onlyLoose: true)
                (lo, hi) = (min(lo, t.first!), max(hi, t.last!))
            case .data:
                let pad = axis.categories == nil ? 0.04 * (hi - lo) : 0.6
                (lo, hi) = (lo - pad, hi + pad)
            }
        case .logarithmic:
            lo = max(lo, 1e-300)
            hi = max(hi, lo)
            if hi / lo < 1 + 1e-9 {
                lo /= 2
                hi *= 2
            }
            switch axis.limits {
            case .fixed(let a, let b):
                (lo, hi) = (a, b)
            case .nice:
                (lo, hi) = (pow(10, floor(log10(lo) + 1e-9)), pow(10, ceil(log10(hi) - 1e-9)))
            case .data:
                let pad = 0.04 * (log10(hi) - log10(lo))
                (lo, hi) = (pow(10, log10(lo) - pad), pow(10, log10(hi) + pad))
            }
        }
        lower = lo
        upper = hi
        let values: [Double]
        if let categories = axis.categories {
            values = categories.indices.map(Double.init)
        } else if let explicit = axis.ticks {
            values = explicit
        } else if axis.kind == .logarithmic {
            values = Ticks.logarithmic(lo, hi, m: axis.tickCount)
        } else {
            values = axis.integerTicks ? Ticks.integers(lo, hi, m: axis.tickCount) : Ticks.extended(lo, hi, m: axis.tickCount)
        }
        let slack = 1e-9 * (axis.kind == .linear ? hi - lo : 1)
        let inside = values.filter {
            axis.kind == .linear ? ($0 >= lo - slack && $0 <= hi + slack) : ($0 >= lo * (1 - 1e-9) && $0 <= hi * (1 + 1e-9))
        }
        let labels = axis.categories ?? axis.format.labels(inside)
        ticks = zip(inside, labels).map { Tick(value: $0, label: $1) }
        minorTicks = axis.kind == .logarithmic && axis.ticks == nil ? Ticks.logarithmicMinor(lo, hi) : []
    }

    /// The canvas coordinate of data value `v`.
    public func position(_ v: Double) -> Double {
        let t: Double
        switch kind {
        case .linear: t = (v - lower) / (upper - lower)
        case .logarithmic: t = v > 0 ? (log10(v) - log10(lower)) / (log10(upper) - log10(lower)) : -1e3
        }
        return start + t * (end - start)
    }

    /// Whether `v` can be placed on this axis (log axes cannot show values ≤ 0).
    func accepts(_ v: Double) -> Bool { v.isFinite && (kind == .linear || v > 0) }
}
