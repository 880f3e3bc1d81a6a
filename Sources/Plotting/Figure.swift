import Foundation

/// One chart: two axes and the marks drawn against them.
public struct Panel: Sendable {
    public var title: String?
    public var x: Axis
    public var y: Axis
    public var marks: [any Mark]
    public var legend: LegendPlacement

    public init(title: String? = nil, x: Axis, y: Axis, marks: [any Mark], legend: LegendPlacement = .auto) {
        self.title = title
        self.x = x
        self.y = y
        self.marks = marks
        self.legend = legend
    }

    /// An empty cell, to leave a gap in a grid of panels.
    public static var blank: Panel {
        var panel = Panel(x: Axis(), y: Axis(), marks: [], legend: .none)
        panel.isBlank = true
        return panel
    }

    /// Whether this is an empty cell (see `blank`).
    public private(set) var isBlank = false

    /// The legend rows, in mark order.
    public var legendEntries: [LegendEntry] { marks.compactMap(\.legendEntry) }

    /// Both axes resolved against the marks' data.
    public func scales() -> (x: Scale, y: Scale) {
        var xr: ClosedRange<Double>?
        var yr: ClosedRange<Double>?
        for mark in marks {
            let e = mark.extent(x: x.kind, y: y.kind)
            xr = union(xr, e.x)
            yr = union(yr, e.y)
        }
        return (Scale(x, extent: xr), Scale(y, extent: yr))
    }
}

private func union(_ a: ClosedRange<Double>?, _ b: ClosedRange<Double>?) -> ClosedRange<Double>? {
    guard let a else { return b }
    guard let b else { return a }
    return min(a.lowerBound, b.lowerBound)...max(a.upperBound, b.upperBound)
}

/// A figure: panels on a grid, an optional title, one size. The same value draws onto any canvas.
public struct Figure: Sendable {
    public var panels: [Panel]
    /// Panels per row; they fill the grid row by row.
    public var columns: Int
    /// The page size in points (72 per inch).
    public var size: Size
    public var title: String?
    /// One legend for the whole figure, in rows under the panels: the distinct entries of every panel
    /// (whose own legends are then usually `.none`).
    public var sharedLegend: Bool
    public var theme: Theme

    public init(
        panels: [Panel], columns: Int? = nil, size: Size = Size(width: 468, height: 216), title: String? = nil, sharedLegend: Bool = false,
        theme: Theme = .standard
    ) {
        precondition(!panels.isEmpty, "a figure needs at least one panel")
        self.panels = panels
        self.columns = max(1, min(columns ?? panels.count, panels.count))
        self.size = size
        self.title = title
        self.sharedLegend = sharedLegend
        self.theme = theme
    }

    /// The distinct legend entries of all panels, in order of first appearance.
    public var sharedLegendEntries: [LegendEntry] {
        var seen: [LegendEntry] = []
        for entry in panels.flatMap(\.legendEntries) where !seen.contains(entry) { seen.append(entry) }
        return seen
    }

    /// Where each panel went.
    public struct Layout: Sendable {
        public var panels: [PanelLayout]
    }

    /// A drawn panel: its plot area, its resolved axes and its legend box.
    public struct PanelLayout: Sendable {
        public var frame: Rect
        public var x: Scale
        public var y: Scale
        public var legend: Rect?
    }

    /// Draws the figure on `canvas`, whose origin is the figure's top-left corner.
    @discardableResult
    public func draw(on canvas: any Canvas) -> Layout {
        let t = theme
        canvas.fill(.rect(Rect(x: 0, y: 0, width: size.width, height: size.height)), color: t.background)
        var content = Rect(x: 0, y: 0, width: size.width, height: size.height).inset(top: t.margin, left: t.margin, bottom: t.margin, right: t.margin)
        if let title {
            let h = canvas.measure(title, style: t.figureTitleStyle).height
            canvas.text(title, style: t.figureTitleStyle, at: Point(content.x + content.width / 2, content.minY), anchor: TextAnchor(.center, .top))
            content = content.inset(top: h + 2 * t.gap)
        }
        if sharedLegend {
            let legend = Legend(entries: sharedLegendEntries, theme: t)
            let height = legend.drawRow(on: canvas, width: content.width, bottom: content.maxY, centreX: content.x + content.width / 2)
            content = content.inset(bottom: height + 2 * t.gap)
        }
        let rows = (panels.count + columns - 1) / columns
        let hGap = 14.0
        let vGap = 10.0
        let cellWidth = (content.width - hGap * Double(columns - 1)) / Double(columns)
        let cellHeight = (content.height - vGap * Double(rows - 1)) / Double(rows)

        let resolved = panels.map { $0.scales() }
        // Panels in one column share left and right margins, panels in one row share top and bottom
        // margins, so the plot areas of a grid line up.
        var left = [Double](repeating: 0, count: columns)
        var right = [Double](repeating: 0, count: columns)
        var top = [Double](repeating: 0, count: rows)
        var bottom = [Double](repeating: 0, count: rows)
        for (index, (panel, scales)) in zip(panels, resolved).enumerated() where !panel.isBlank {
            let m = self.margins(panel, scales, canvas)
            let (row, column) = (index / columns, index % columns)
            left[column] = max(left[column], m.left)
            right[column] = max(right[column], m.right)
            top[row] = max(top[row], m.top)
            bottom[row] = max(bottom[row], m.bottom)
        }

        var layouts: [PanelLayout] = []
        for (index, panel) in panels.enumerated() {
            let cell = Rect(
                x: content.x + Double(index % columns) * (cellWidth + hGap), y: content.y + Double(index / columns) * (cellHeight + vGap),
                width: cellWidth, height: cellHeight)
            let frame = cell.inset(
                top: top[index / columns], left: left[index % columns], bottom: bottom[index / columns], right: right[index % columns])
            var (x, y) = resolved[index]
            x.start = frame.minX
            x.end = frame.maxX
            y.start = frame.maxY
            y.end = frame.minY
            let legend = panel.isBlank ? nil : drawPanel(panel, in: cell, frame: frame, x: x, y: y, on: canvas)
            layouts.append(PanelLayout(frame: frame, x: x, y: y, legend: legend))
        }
        return Layout(panels: layouts)
    }

    private func margins(_ panel: Panel, _ scales: (x: Scale, y: Scale), _ canvas: any Canvas) -> (
        top: Double, left: Double, bottom: Double, right: Double
    ) {
        let t = theme
        let tickHeight = canvas.measure("0", style: t.tickStyle).height
        let yTickWidth = scales.y.ticks.map { canvas.measure($0.label, style: t.tickStyle).width }.max() ?? 0
        let yLabel = panel.y.label.map { canvas.measure($0, style: t.axisLabelStyle).height + t.gap } ?? 0
        let xLabel = panel.x.label.map { canvas.measure($0, style: t.axisLabelStyle).height + t.gap } ?? 0
        let title = panel.title.map { canvas.measure($0, style: t.titleStyle).height + t.gap } ?? 0
        let lastX = scales.x.ticks.last.map { canvas.measure($0.label, style: t.tickStyle).width / 2 } ?? 0
        return (
            top: title + max(tickHeight / 2, 3), left: yLabel + yTickWidth + t.gap + t.tickLength,
            bottom: t.tickLength + t.gap + tickHeight + xLabel,
            right: max(lastX, 4)
                + (panel.legend == .outsideRight ? Legend(entries: panel.legendEntries, theme: t).size(on: canvas).width + 2 * t.gap : 0)
        )
    }

    private func drawPanel(_ panel: Panel, in cell: Rect, frame: Rect, x: Scale, y: Scale, on canvas: any Canvas) -> Rect? {
        let t = theme
        let grid = StrokeStyle(width: t.gridWidth, color: t.gridColor)
        if panel.x.grid {
            for tick in x.ticks {
                let p = x.position(tick.value)
                canvas.stroke(.polyline([Point(p, frame.minY), Point(p, frame.maxY)]), style: grid)
            }
        }
        if panel.y.grid {
            for tick in y.ticks {
                let p = y.position(tick.value)
                canvas.stroke(.polyline([Point(frame.minX, p), Point(frame.maxX, p)]), style: grid)
            }
        }

        let area = PlotArea(canvas: canvas, x: x, y: y, frame: frame, theme: t)
        canvas.pushClip(frame.inset(top: -3, left: -3, bottom: -3, right: -3))
        for mark in panel.marks { mark.draw(in: area) }
        canvas.popClip()

        let axisStyle = StrokeStyle(width: t.axisWidth, color: t.axisColor)
        canvas.stroke(.polyline([Point(frame.minX, frame.minY), Point(frame.minX, frame.maxY), Point(frame.maxX, frame.maxY)]), style: axisStyle)
        for tick in x.ticks {
            let p = x.position(tick.value)
            canvas.stroke(.polyline([Point(p, frame.maxY), Point(p, frame.maxY + t.tickLength)]), style: axisStyle)
            canvas.text(tick.label, style: t.tickStyle, at: Point(p, frame.maxY + t.tickLength + t.gap), anchor: TextAnchor(.center, .top))
        }
        for tick in y.ticks {
            let p = y.position(tick.value)
            canvas.stroke(.polyline([Point(frame.minX - t.tickLength, p), Point(frame.minX, p)]), style: axisStyle)
            canvas.text(tick.label, style: t.tickStyle, at: Point(frame.minX - t.tickLength - t.gap, p), anchor: TextAnchor(.right, .middle))
        }
        for v in x.minorTicks {
            let p = x.position(v)
            canvas.stroke(.polyline([Point(p, frame.maxY), Point(p, frame.maxY + t.minorTickLength)]), style: axisStyle)
        }
        for v in y.minorTicks {
            let p = y.position(v)
            canvas.stroke(.polyline([Point(frame.minX - t.minorTickLength, p), Point(frame.minX, p)]), style: axisStyle)
        }
        if let label = panel.x.label {
            canvas.text(label, style: t.axisLabelStyle, at: Point(frame.minX + frame.width / 2, cell.maxY), anchor: TextAnchor(.center, .bottom))
        }
        if let label = panel.y.label {
            canvas.text(
                label, style: t.axisLabelStyle, at: Point(cell.minX, frame.minY + frame.height / 2), anchor: TextAnchor(.center, .top),
                rotation: -Double.pi / 2)
        }
        if let title = panel.title {
            canvas.text(title, style: t.titleStyle, at: Point(frame.minX + frame.width / 2, cell.minY), anchor: TextAnchor(.center, .top))
        }
        return Legend(entries: panel.legendEntries, theme: t).draw(panel.legend, area: area, marks: panel.marks)
    }
}
