/// The plot area of a laid-out panel: where marks draw, and how data maps onto it.
public struct PlotArea {
    public let canvas: any Canvas
    public let x: Scale
    public let y: Scale
    public let frame: Rect
    public let theme: Theme

    /// The canvas position of the data point (x, y).
    public func point(_ x: Double, _ y: Double) -> Point { Point(self.x.position(x), self.y.position(y)) }
}

/// How a series looks in the legend.
public enum LegendGlyph: Equatable, Sendable {
    case line(StrokeStyle)
    case swatch(Color)
    case marker(MarkerShape, Color, filled: Bool)
    /// A translucent band with its centre line.
    case band(Color, StrokeStyle?)
}

/// One legend row.
public struct LegendEntry: Equatable, Sendable {
    public var label: String
    public var glyph: LegendGlyph
}

/// Something drawn in a panel's plot area: a series, a band, bars, a reference line.
public protocol Mark: Sendable {
    /// The data ranges the mark spans on each axis, counting only values the axis can show.
    func extent(x: Axis.Kind, y: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?)
    /// Its legend row, when it has a label.
    var legendEntry: LegendEntry? { get }
    func draw(in area: PlotArea)
    /// Canvas points the mark covers, sampled densely enough for the legend to avoid them.
    func occupied(in area: PlotArea) -> [Point]
    /// The values it plots, for the figure's CSV (`Figure.plottedData`).
    var plotted: [PlottedValue] { get }
}

/// Marker shapes for scatter plots and point masses.
public enum MarkerShape: Sendable {
    case circle, square, triangle, diamond

    func path(at c: Point, size: Double) -> Path {
        let r = size / 2
        switch self {
        case .circle: return .circle(c, radius: r)
        case .square: return .rect(Rect(x: c.x - r * 0.9, y: c.y - r * 0.9, width: 1.8 * r, height: 1.8 * r))
        case .triangle:
            return .polygon([Point(c.x, c.y - 1.15 * r), Point(c.x + r, c.y + 0.75 * r), Point(c.x - r, c.y + 0.75 * r)])
        case .diamond: return .polygon([Point(c.x, c.y - 1.2 * r), Point(c.x + r, c.y), Point(c.x, c.y + 1.2 * r), Point(c.x - r, c.y)])
        }
    }
}

/// The range of the values an axis of `kind` can show, or nil when there are none.
func range(of values: [Double], on kind: Axis.Kind) -> ClosedRange<Double>? {
    var lo = Double.infinity
    var hi = -Double.infinity
    for v in values where v.isFinite && (kind == .linear || v > 0) {
        lo = min(lo, v)
        hi = max(hi, v)
    }
    return lo <= hi ? lo...hi : nil
}

/// Points along the polyline through `points`, at most `spacing` apart.
func densify(_ points: [Point], spacing: Double = 3) -> [Point] {
    guard var previous = points.first else { return [] }
    var out = [previous]
    for p in points.dropFirst() {
        let dx = p.x - previous.x
        let dy = p.y - previous.y
        let n = Int(min(2000, ((dx * dx + dy * dy).squareRoot() / spacing).rounded(.up)))
        if n > 1 { for i in 1..<n { out.append(Point(previous.x + dx * Double(i) / Double(n), previous.y + dy * Double(i) / Double(n))) } }
        out.append(p)
        previous = p
    }
    return out
}

/// A grid of points covering `rect`, `spacing` apart.
func samples(covering rect: Rect, spacing: Double = 4) -> [Point] {
    var out: [Point] = []
    let nx = min(500, Int((abs(rect.width) / spacing).rounded(.up)))
    let ny = min(500, Int((abs(rect.height) / spacing).rounded(.up)))
    for i in 0...nx {
        for j in 0...ny {
            out.append(Point(rect.x + rect.width * Double(i) / Double(max(nx, 1)), rect.y + rect.height * Double(j) / Double(max(ny, 1))))
        }
    }
    return out
}

/// The rectangle between two canvas points, whatever their order.
func rect(between a: Point, _ b: Point) -> Rect {
    Rect(x: min(a.x, b.x), y: min(a.y, b.y), width: abs(a.x - b.x), height: abs(a.y - b.y))
}
