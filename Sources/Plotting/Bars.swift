/// Vertical bars of `heights` centred on `positions`, `width` data units wide, from `baseline` up.
public struct BarMark: Mark {
    public var positions: [Double]
    public var heights: [Double]
    public var width: Double
    public var baseline: Double
    public var label: String?
    public var color: Color
    public var opacity: Double

    public init(
        positions: [Double], heights: [Double], width: Double = 0.8, baseline: Double = 0, label: String? = nil, color: Color,
        opacity: Double = 0.85
    ) {
        precondition(positions.count == heights.count, "BarMark needs as many positions as heights")
        self.positions = positions
        self.heights = heights
        self.width = width
        self.baseline = baseline
        self.label = label
        self.color = color
        self.opacity = opacity
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        let edges = positions.flatMap { [$0 - width / 2, $0 + width / 2] }
        return (range(of: edges, on: xKind), range(of: heights + [baseline], on: yKind))
    }

    public var legendEntry: LegendEntry? { label.map { LegendEntry(label: $0, glyph: .swatch(color.withAlpha(opacity))) } }

    func rects(in area: PlotArea) -> [Rect] {
        positions.indices.compactMap { i in
            let left = positions[i] - width / 2
            let right = positions[i] + width / 2
            guard area.x.accepts(left), area.x.accepts(right), area.y.accepts(heights[i]) else { return nil }
            let base = area.y.accepts(baseline) ? area.y.position(baseline) : area.frame.maxY
            return rect(between: Point(area.x.position(left), base), area.point(right, heights[i]))
        }
    }

    public func draw(in area: PlotArea) {
        for r in rects(in: area) {
            area.canvas.fill(.rect(r), color: color.withAlpha(opacity))
            area.canvas.stroke(.rect(r), style: StrokeStyle(width: 0.6, color: color))
        }
    }

    public func occupied(in area: PlotArea) -> [Point] { rects(in: area).flatMap { samples(covering: $0) } }
}

/// A histogram of `values` over bins with the given edges (values outside are dropped; the last bin
/// includes its right edge).
public struct HistogramMark: Mark {
    /// What the bar heights measure.
    public enum Normalization: Sendable {
        case count
        /// Share of all values, so the bars sum to 1.
        case fraction
    }

    public let edges: [Double]
    public let heights: [Double]
    public var label: String?
    public var color: Color
    /// For histograms drawn side by side: this one's place among `of` in each bin (its bars take
    /// that share of the bin's width), so that bars never overlap and colours never blend.
    public var slot: (index: Int, of: Int) = (0, 1)

    public init(values: [Double], edges: [Double], normalization: Normalization = .count, label: String? = nil, color: Color) {
        precondition(edges.count >= 2 && zip(edges, edges.dropFirst()).allSatisfy { $0 < $1 }, "histogram edges must increase")
        var counts = [Double](repeating: 0, count: edges.count - 1)
        for v in values where v >= edges[0] && v <= edges[edges.count - 1] {
            var lo = 0
            var hi = edges.count - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if v >= edges[mid] { lo = mid } else { hi = mid }
            }
            counts[lo] += 1
        }
        let total = counts.reduce(0, +)
        self.edges = edges
        heights = normalization == .fraction && total > 0 ? counts.map { $0 / total } : counts
        self.label = label
        self.color = color
    }

    /// `bins` equal bins spanning `range`.
    public init(
        values: [Double], bins: Int, range: ClosedRange<Double>, normalization: Normalization = .count, label: String? = nil,
        color: Color
    ) {
        let step = (range.upperBound - range.lowerBound) / Double(bins)
        let edges = (0...bins).map { range.lowerBound + Double($0) * step }
        self.init(values: values, edges: edges, normalization: normalization, label: label, color: color)
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        (range(of: edges, on: xKind), range(of: heights + (yKind == .linear ? [0] : []), on: yKind))
    }

    public var legendEntry: LegendEntry? {
        label.map { LegendEntry(label: $0, glyph: .swatch(color.withAlpha(slot.of > 1 ? 0.85 : 0.4))) }
    }

    func rects(in area: PlotArea) -> [Rect] {
        heights.indices.compactMap { i in
            guard heights[i] > 0, area.y.accepts(heights[i]) else { return nil }
            let base = area.y.accepts(0) ? area.y.position(0) : area.frame.maxY
            let width = (edges[i + 1] - edges[i]) / Double(max(1, slot.of))
            let left = edges[i] + width * Double(slot.index)
            return rect(between: Point(area.x.position(left), base), area.point(left + width, heights[i]))
        }
    }

    public func draw(in area: PlotArea) {
        // Opaque when side by side (nothing to blend with), translucent when overlaid.
        let fill = slot.of > 1 ? color.withAlpha(0.85) : color.withAlpha(0.4)
        for r in rects(in: area) {
            area.canvas.fill(.rect(r), color: fill)
            area.canvas.stroke(.rect(r), style: StrokeStyle(width: 0.7, color: color))
        }
    }

    public func occupied(in area: PlotArea) -> [Point] { rects(in: area).flatMap { samples(covering: $0) } }
}
