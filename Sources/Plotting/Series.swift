/// A line through (x[i], y[i]); non-finite values (or values ≤ 0 on a log axis) break it.
public struct LineMark: Mark {
    /// How consecutive points are joined.
    public enum Interpolation: Sendable {
        case linear
        /// Horizontal to the next x, then vertical (a step function that changes at each x).
        case stepAfter
    }

    public var x: [Double]
    public var y: [Double]
    public var label: String?
    public var color: Color
    /// Stroke width in points; nil for the theme's.
    public var width: Double?
    public var dash: [Double]
    public var interpolation: Interpolation

    public init(
        x: [Double], y: [Double], label: String? = nil, color: Color, width: Double? = nil, dash: [Double] = [],
        interpolation: Interpolation = .linear
    ) {
        precondition(x.count == y.count, "LineMark needs as many x as y values")
        self.x = x
        self.y = y
        self.label = label
        self.color = color
        self.width = width
        self.dash = dash
        self.interpolation = interpolation
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        (range(of: x, on: xKind), range(of: y, on: yKind))
    }

    public var legendEntry: LegendEntry? {
        label.map { LegendEntry(label: $0, glyph: .line(StrokeStyle(width: width ?? Theme.standard.lineWidth, color: color, dash: dash))) }
    }

    /// The unbroken runs of the line, in canvas coordinates.
    func runs(in area: PlotArea) -> [[Point]] {
        var runs: [[Point]] = []
        var current: [Point] = []
        for i in x.indices {
            guard area.x.accepts(x[i]), area.y.accepts(y[i]) else {
                if !current.isEmpty { runs.append(current) }
                current = []
                continue
            }
            let p = area.point(x[i], y[i])
            if interpolation == .stepAfter, let last = current.last { current.append(Point(p.x, last.y)) }
            current.append(p)
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    public func draw(in area: PlotArea) {
        let style = StrokeStyle(width: width ?? area.theme.lineWidth, color: color, dash: dash)
        for run in runs(in: area) {
            // A lone point (a one-epoch run, say) would vanish as a line: show it as a dot.
            if run.count == 1 {
                area.canvas.fill(.circle(run[0], radius: style.width * 1.6), color: color)
            } else {
                area.canvas.stroke(.polyline(run), style: style)
            }
        }
    }

    public func occupied(in area: PlotArea) -> [Point] { runs(in: area).flatMap { densify($0) } }
}

/// Markers at (x[i], y[i]).
public struct ScatterMark: Mark {
    public var x: [Double]
    public var y: [Double]
    public var label: String?
    public var color: Color
    public var shape: MarkerShape
    /// Marker diameter in points.
    public var size: Double
    /// Filled, or an outline on a white fill (an open circle marks an excluded point).
    public var filled: Bool

    public init(
        x: [Double], y: [Double], label: String? = nil, color: Color, shape: MarkerShape = .circle, size: Double = 4.5,
        filled: Bool = true
    ) {
        precondition(x.count == y.count, "ScatterMark needs as many x as y values")
        self.x = x
        self.y = y
        self.label = label
        self.color = color
        self.shape = shape
        self.size = size
        self.filled = filled
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        (range(of: x, on: xKind), range(of: y, on: yKind))
    }

    public var legendEntry: LegendEntry? { label.map { LegendEntry(label: $0, glyph: .marker(shape, color, filled: filled)) } }

    func centres(in area: PlotArea) -> [Point] {
        x.indices.filter { area.x.accepts(x[$0]) && area.y.accepts(y[$0]) }.map { area.point(x[$0], y[$0]) }
    }

    public func draw(in area: PlotArea) {
        for c in centres(in: area) {
            let path = shape.path(at: c, size: size)
            area.canvas.fill(path, color: filled ? color : area.theme.background)
            area.canvas.stroke(path, style: StrokeStyle(width: filled ? 0.5 : 1.1, color: color))
        }
    }

    public func occupied(in area: PlotArea) -> [Point] { centres(in: area) }
}

/// The region between two curves over the same x (fill-between; an error band when the curves are a
/// mean ± its uncertainty).
public struct AreaMark: Mark {
    public var x: [Double]
    public var lower: [Double]
    public var upper: [Double]
    public var label: String?
    public var color: Color
    public var opacity: Double

    public init(x: [Double], lower: [Double], upper: [Double], label: String? = nil, color: Color, opacity: Double = 0.25) {
        precondition(x.count == lower.count && x.count == upper.count, "AreaMark needs equal-length x, lower and upper")
        self.x = x
        self.lower = lower
        self.upper = upper
        self.label = label
        self.color = color
        self.opacity = opacity
    }

    /// A band of `mean ± halfWidth`.
    public static func errorBand(x: [Double], mean: [Double], halfWidth: [Double], label: String? = nil, color: Color) -> AreaMark {
        AreaMark(
            x: x, lower: zip(mean, halfWidth).map { $0 - $1 }, upper: zip(mean, halfWidth).map { $0 + $1 }, label: label,
            color: color)
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        (range(of: x, on: xKind), range(of: lower + upper, on: yKind))
    }

    public var legendEntry: LegendEntry? { label.map { LegendEntry(label: $0, glyph: .band(color.withAlpha(opacity), nil)) } }

    func outline(in area: PlotArea) -> (top: [Point], bottom: [Point]) {
        let valid = x.indices.filter { area.x.accepts(x[$0]) && area.y.accepts(lower[$0]) && area.y.accepts(upper[$0]) }
        return (valid.map { area.point(x[$0], upper[$0]) }, valid.map { area.point(x[$0], lower[$0]) })
    }

    public func draw(in area: PlotArea) {
        let (top, bottom) = outline(in: area)
        guard top.count > 1 else { return }
        area.canvas.fill(.polygon(top + bottom.reversed()), color: color.withAlpha(opacity))
    }

    public func occupied(in area: PlotArea) -> [Point] {
        let (top, bottom) = outline(in: area)
        var points = densify(top) + densify(bottom)
        for (t, b) in zip(top, bottom) { points += densify([t, b], spacing: 4) }
        return points
    }
}

/// A horizontal or vertical line across the whole plot area, for a reference value.
public struct ReferenceLine: Mark {
    public enum Orientation: Sendable { case horizontal, vertical }

    public var orientation: Orientation
    public var value: Double
    public var label: String?
    public var color: Color
    public var dash: [Double]
    public var width: Double?

    public init(_ orientation: Orientation, at value: Double, label: String? = nil, color: Color, dash: [Double] = [4, 3], width: Double? = nil) {
        self.orientation = orientation
        self.value = value
        self.label = label
        self.color = color
        self.dash = dash
        self.width = width
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        orientation == .horizontal ? (nil, range(of: [value], on: yKind)) : (range(of: [value], on: xKind), nil)
    }

    public var legendEntry: LegendEntry? {
        label.map { LegendEntry(label: $0, glyph: .line(StrokeStyle(width: width ?? 1, color: color, dash: dash))) }
    }

    func ends(in area: PlotArea) -> [Point] {
        let f = area.frame
        switch orientation {
        case .horizontal:
            guard area.y.accepts(value) else { return [] }
            let y = area.y.position(value)
            return [Point(f.minX, y), Point(f.maxX, y)]
        case .vertical:
            guard area.x.accepts(value) else { return [] }
            let x = area.x.position(value)
            return [Point(x, f.minY), Point(x, f.maxY)]
        }
    }

    public func draw(in area: PlotArea) {
        let ends = ends(in: area)
        guard ends.count == 2 else { return }
        area.canvas.stroke(.polyline(ends), style: StrokeStyle(width: width ?? 1, color: color, dash: dash))
    }

    public func occupied(in area: PlotArea) -> [Point] { densify(ends(in: area)) }
}

/// Point masses of a distribution drawn as stems from zero up to the probability, capped by a dot: the
/// atoms at 0 and 1 of the hard concrete gate.
public struct PointMassMark: Mark {
    public var x: [Double]
    public var mass: [Double]
    public var label: String?
    public var color: Color

    public init(x: [Double], mass: [Double], label: String? = nil, color: Color) {
        precondition(x.count == mass.count, "PointMassMark needs as many positions as masses")
        self.x = x
        self.mass = mass
        self.label = label
        self.color = color
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        (range(of: x, on: xKind), range(of: mass + (yKind == .linear ? [0] : []), on: yKind))
    }

    public var legendEntry: LegendEntry? { label.map { LegendEntry(label: $0, glyph: .marker(.circle, color, filled: true)) } }

    func stems(in area: PlotArea) -> [(Point, Point)] {
        x.indices.filter { area.x.accepts(x[$0]) && area.y.accepts(mass[$0]) }.map { i in
            let base = area.y.accepts(0) ? area.y.position(0) : area.frame.maxY
            let top = area.point(x[i], mass[i])
            return (Point(top.x, base), top)
        }
    }

    public func draw(in area: PlotArea) {
        for (base, top) in stems(in: area) {
            area.canvas.stroke(.polyline([base, top]), style: StrokeStyle(width: 2, color: color))
            area.canvas.fill(.circle(top, radius: 3), color: color)
        }
    }

    public func occupied(in area: PlotArea) -> [Point] { stems(in: area).flatMap { densify([$0.0, $0.1]) } }
}

/// Text beside data points, so that quoted or annotated points can be named on the plot itself
/// rather than in the legend. Each label goes right of its point, vertically centred, unless that
/// overlaps a label already placed or leaves the plot area; then it tries left, above and below,
/// in that order, and keeps the first free place (or the first place when none is free).
public struct PointLabels: Mark {
    public var x: [Double]
    public var y: [Double]
    public var labels: [String]
    public var color: Color
    /// Distance from the point's centre to the label, in points.
    public var offset: Double
    /// Other data points (markers of other series) that labels should not cover, and the radius in
    /// points they take; every labelled point is one as well.
    public var avoiding: [(x: Double, y: Double)]
    public var radius: Double

    public init(
        x: [Double], y: [Double], labels: [String], color: Color, offset: Double = 4, avoiding: [(x: Double, y: Double)] = [], radius: Double = 3.5
    ) {
        precondition(x.count == y.count && y.count == labels.count, "PointLabels needs as many x, y and labels")
        self.x = x
        self.y = y
        self.labels = labels
        self.color = color
        self.offset = offset
        self.avoiding = avoiding
        self.radius = radius
    }

    public func extent(x xKind: Axis.Kind, y yKind: Axis.Kind) -> (x: ClosedRange<Double>?, y: ClosedRange<Double>?) {
        (range(of: x, on: xKind), range(of: y, on: yKind))
    }

    public var legendEntry: LegendEntry? { nil }

    private func style(_ area: PlotArea) -> TextStyle { TextStyle(family: area.theme.fontFamily, size: area.theme.tickLabelSize, color: color) }

    /// Each label's box, in canvas coordinates.
    func boxes(in area: PlotArea) -> [(text: String, box: Rect)] {
        var placed: [(text: String, box: Rect)] = []
        // Every marker but the label's own (which the offset already clears).
        let points = zip(x, y).enumerated().map { ($0.offset, $0.element.0, $0.element.1) } + avoiding.map { (-1, $0.x, $0.y) }
        let markers = points.filter { area.x.accepts($0.1) && area.y.accepts($0.2) }.map { (index, px, py) in
            let p = area.point(px, py)
            return (index, Rect(x: p.x - radius, y: p.y - radius, width: 2 * radius, height: 2 * radius))
        }
        for i in x.indices where area.x.accepts(x[i]) && area.y.accepts(y[i]) {
            let p = area.point(x[i], y[i])
            let size = area.canvas.measure(labels[i], style: style(area))
            let (w, h) = (size.width, size.height)
            // Beside the point, then above and below it, then further up and down on either side.
            var candidates = [
                Rect(x: p.x + offset, y: p.y - h / 2, width: w, height: h),
                Rect(x: p.x - offset - w, y: p.y - h / 2, width: w, height: h),
                Rect(x: p.x - w / 2, y: p.y - offset - h, width: w, height: h),
                Rect(x: p.x - w / 2, y: p.y + offset, width: w, height: h),
            ]
            for step in 1...4 {
                let shift = Double(step) * (h + 1)
                for dy in [-shift, shift] {
                    candidates.append(Rect(x: p.x + offset, y: p.y - h / 2 + dy, width: w, height: h))
                    candidates.append(Rect(x: p.x - offset - w, y: p.y - h / 2 + dy, width: w, height: h))
                }
            }
            let free = candidates.first { box in
                box.x >= area.frame.x && box.x + box.width <= area.frame.x + area.frame.width && box.y >= area.frame.y
                    && box.y + box.height <= area.frame.y + area.frame.height && !placed.contains { Self.overlap($0.box, box) }
                    && !markers.contains { $0.0 != i && Self.overlap($0.1, box) }
            }
            placed.append((labels[i], free ?? candidates[0]))
        }
        return placed
    }

    /// Whether the boxes come closer than 2 points.
    static func overlap(_ a: Rect, _ b: Rect) -> Bool {
        let gap = 2.0
        return a.x < b.x + b.width + gap && b.x < a.x + a.width + gap && a.y < b.y + b.height + gap && b.y < a.y + a.height + gap
    }

    public func draw(in area: PlotArea) {
        for label in boxes(in: area) {
            area.canvas.text(label.text, style: style(area), at: Point(label.box.x, label.box.y), anchor: TextAnchor(.left, .top))
        }
    }

    public func occupied(in area: PlotArea) -> [Point] {
        boxes(in: area).flatMap { label -> [Point] in
            let b = label.box
            return stride(from: b.x, through: b.x + b.width, by: 3).flatMap { [Point($0, b.y), Point($0, b.y + b.height)] }
        }
    }
}
