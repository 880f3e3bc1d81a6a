/// Where a panel's legend goes.
public enum LegendPlacement: Sendable, Equatable {
    /// Inside the plot area, at whichever of `LegendPosition.allCases` covers the fewest data points.
    case auto
    case inside(LegendPosition)
    /// To the right of the plot area, top-aligned; the panel's right margin grows to make room.
    case outsideRight
    case none
}

/// Spots inside the plot area, in the order `auto` prefers them when several are equally free.
public enum LegendPosition: CaseIterable, Sendable {
    case topRight, topLeft, bottomRight, bottomLeft, top, bottom, right, left
}

/// A legend box: one row per labelled mark, glyph then text.
struct Legend {
    let entries: [LegendEntry]
    let theme: Theme
    let glyphWidth = 16.0
    let padding = 4.0
    let inset = 4.0

    /// Draws the legend and returns its box, or nil when there is nothing to show.
    func draw(_ placement: LegendPlacement, area: PlotArea, marks: [any Mark]) -> Rect? {
        guard !entries.isEmpty, placement != .none else { return nil }
        let canvas = area.canvas
        let style = theme.legendStyle
        let measured = size(on: canvas)
        let (width, height) = (measured.width, measured.height)
        let rowHeight = (height - 2 * padding) / Double(entries.count)
        let box: Rect
        switch placement {
        case .inside(let position): box = rect(at: position, width: width, height: height, in: area.frame)
        case .outsideRight: box = Rect(x: area.frame.maxX + 2 * theme.gap, y: area.frame.minY, width: width, height: height)
        default: box = bestBox(width: width, height: height, area: area, marks: marks)
        }
        canvas.fill(.rect(box), color: theme.background.withAlpha(0.88))
        canvas.stroke(.rect(box), style: StrokeStyle(width: 0.5, color: Color(hex: 0xBBBBBB)))
        for (i, entry) in entries.enumerated() {
            let midY = box.minY + padding + rowHeight * (Double(i) + 0.5)
            drawGlyph(entry.glyph, x: box.minX + padding, midY: midY, canvas: canvas)
            canvas.text(entry.label, style: style, at: Point(box.minX + padding + glyphWidth + theme.gap, midY), anchor: TextAnchor(.left, .middle))
        }
        return box
    }

    /// Draws the entries side by side in centred rows no wider than `width`, the last row ending at
    /// `bottom`; returns the height used.
    @discardableResult
    func drawRow(on canvas: any Canvas, width: Double, bottom: Double, centreX: Double) -> Double {
        guard !entries.isEmpty else { return 0 }
        let spacing = 12.0
        let widths = entries.map { glyphWidth + theme.gap + canvas.measure($0.label, style: theme.legendStyle).width }
        let rowHeight = max(9, entries.map { canvas.measure($0.label, style: theme.legendStyle).height }.max()!)
        var rows: [[Int]] = [[]]
        var used = 0.0
        for (i, w) in widths.enumerated() {
            if !rows[rows.count - 1].isEmpty && used + spacing + w > width {
                rows.append([])
                used = 0
            }
            used += (rows[rows.count - 1].isEmpty ? 0 : spacing) + w
            rows[rows.count - 1].append(i)
        }
        let top = bottom - rowHeight * Double(rows.count)
        for (r, row) in rows.enumerated() {
            let total = row.map { widths[$0] }.reduce(0, +) + spacing * Double(row.count - 1)
            var x = centreX - total / 2
            let midY = top + rowHeight * (Double(r) + 0.5)
            for i in row {
                drawGlyph(entries[i].glyph, x: x, midY: midY, canvas: canvas)
                canvas.text(
                    entries[i].label, style: theme.legendStyle, at: Point(x + glyphWidth + theme.gap, midY), anchor: TextAnchor(.left, .middle))
                x += widths[i] + spacing
            }
        }
        return rowHeight * Double(rows.count)
    }

    /// The legend box's size.
    func size(on canvas: any Canvas) -> Size {
        guard !entries.isEmpty else { return Size(width: 0, height: 0) }
        let sizes = entries.map { canvas.measure($0.label, style: theme.legendStyle) }
        let rowHeight = max(9, sizes.map(\.height).max()!)
        return Size(width: 2 * padding + glyphWidth + theme.gap + sizes.map(\.width).max()!, height: 2 * padding + rowHeight * Double(entries.count))
    }

    /// The candidate box that covers the fewest points the marks occupy.
    /// The eight named positions first, in order; when each covers data, any position on a grid
    /// of 3-point steps inside the plot area, the one covering fewest data points (nearest the
    /// top right among equals).
    func bestBox(width: Double, height: Double, area: PlotArea, marks: [any Mark]) -> Rect {
        let occupied = marks.flatMap { $0.occupied(in: area) }
        func covered(_ box: Rect) -> Int {
            let grown = box.inset(top: -2, left: -2, bottom: -2, right: -2)
            return occupied.reduce(0) { $0 + (grown.contains($1) ? 1 : 0) }
        }
        var best: (box: Rect, covered: Int)?
        for position in LegendPosition.allCases {
            let box = rect(at: position, width: width, height: height, in: area.frame)
            let count = covered(box)
            if count == 0 { return box }
            if best == nil || count < best!.covered { best = (box, count) }
        }
        let f = area.frame
        let (left, right) = (f.minX + inset, f.maxX - inset - width)
        let (top, bottom) = (f.minY + inset, f.maxY - inset - height)
        guard right >= left, bottom >= top else { return best!.box }
        var y = top
        while y <= bottom {
            var x = right
            while x >= left {
                let box = Rect(x: x, y: y, width: width, height: height)
                let count = covered(box)
                if count < best!.covered { best = (box, count) }
                if count == 0 { return box }
                x -= 3
            }
            y += 3
        }
        return best!.box
    }

    func rect(at position: LegendPosition, width: Double, height: Double, in f: Rect) -> Rect {
        let left = f.minX + inset
        let right = f.maxX - inset - width
        let centreX = f.minX + (f.width - width) / 2
        let top = f.minY + inset
        let bottom = f.maxY - inset - height
        let middle = f.minY + (f.height - height) / 2
        let (x, y): (Double, Double) =
            switch position {
            case .topRight: (right, top)
            case .topLeft: (left, top)
            case .bottomRight: (right, bottom)
            case .bottomLeft: (left, bottom)
            case .top: (centreX, top)
            case .bottom: (centreX, bottom)
            case .right: (right, middle)
            case .left: (left, middle)
            }
        return Rect(x: x, y: y, width: width, height: height)
    }

    func drawGlyph(_ glyph: LegendGlyph, x: Double, midY: Double, canvas: any Canvas) {
        switch glyph {
        case .line(let style):
            canvas.stroke(.polyline([Point(x, midY), Point(x + glyphWidth, midY)]), style: style)
        case .swatch(let color):
            canvas.fill(.rect(Rect(x: x + 2, y: midY - 4, width: glyphWidth - 4, height: 8)), color: color)
        case .marker(let shape, let color, let filled):
            let path = shape.path(at: Point(x + glyphWidth / 2, midY), size: 5)
            canvas.fill(path, color: filled ? color : theme.background)
            canvas.stroke(path, style: StrokeStyle(width: filled ? 0.5 : 1.1, color: color))
        case .band(let color, let line):
            canvas.fill(.rect(Rect(x: x, y: midY - 4, width: glyphWidth, height: 8)), color: color)
            if let line { canvas.stroke(.polyline([Point(x, midY), Point(x + glyphWidth, midY)]), style: line) }
        }
    }
}
