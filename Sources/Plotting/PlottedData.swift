import Foundation

/// One value a mark plots: its series (the legend label, or the mark's kind), x and y, an upper y
/// for bands and histogram bins' right edges, and a text for labelled points.
public struct PlottedValue: Equatable, Sendable {
    public var series: String
    public var x: Double
    public var y: Double
    /// A band's upper edge, or a bar's or bin's other x edge.
    public var other: Double?
    public var text: String?

    public init(series: String, x: Double, y: Double, other: Double? = nil, text: String? = nil) {
        self.series = series
        self.x = x
        self.y = y
        self.other = other
        self.text = text
    }
}

/// What a figure plots, as a table to write as CSV beside its images: one row per plotted value,
/// with the panel and its axes' titles, so that a reader can redraw the figure or check a point.
public struct PlottedData: Codable, Equatable, Sendable {
    public static let header = ["panel", "x_axis", "y_axis", "mark", "series", "x", "y", "other", "text"]
    public var rows: [[String]]

    public init(rows: [[String]]) { self.rows = rows }

    /// RFC 4180 CSV: a header, then the rows; fields with commas, quotes or line breaks quoted.
    public var csv: String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return ([Self.header] + rows).map { $0.map(field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    /// A number as the shortest text that reads back to it; empty for NaN.
    static func number(_ v: Double) -> String {
        if v.isNaN { return "" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        if v == v.rounded() && abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

extension Figure {
    /// Every value the figure's marks plot, panel by panel, in drawing order.
    public var plottedData: PlottedData {
        var rows = [[String]]()
        for (index, panel) in panels.enumerated() where !panel.isBlank {
            let name = panel.title.map(Markup.plain) ?? "panel \(index + 1)"
            let (xTitle, yTitle) = (panel.x.label.map(Markup.plain) ?? "", panel.y.label.map(Markup.plain) ?? "")
            for mark in panel.marks {
                let kind = String(describing: type(of: mark))
                for value in mark.plotted {
                    rows.append([
                        name, xTitle, yTitle, kind, Markup.plain(value.series), PlottedData.number(value.x), PlottedData.number(value.y),
                        value.other.map(PlottedData.number) ?? "", value.text.map(Markup.plain) ?? "",
                    ])
                }
            }
        }
        return PlottedData(rows: rows)
    }
}

extension LineMark {
    public var plotted: [PlottedValue] { zip(x, y).map { PlottedValue(series: label ?? "line", x: $0, y: $1) } }
}

extension ScatterMark {
    public var plotted: [PlottedValue] { zip(x, y).map { PlottedValue(series: label ?? "points", x: $0, y: $1) } }
}

extension AreaMark {
    public var plotted: [PlottedValue] { x.indices.map { PlottedValue(series: label ?? "band", x: x[$0], y: lower[$0], other: upper[$0]) } }
}

extension ReferenceLine {
    /// A horizontal line is a y value (x empty), a vertical one an x value.
    public var plotted: [PlottedValue] {
        let series = label ?? "reference"
        return [orientation == .horizontal ? PlottedValue(series: series, x: .nan, y: value) : PlottedValue(series: series, x: value, y: .nan)]
    }
}

extension PointMassMark {
    public var plotted: [PlottedValue] { zip(x, mass).map { PlottedValue(series: label ?? "point mass", x: $0, y: $1) } }
}

extension PointLabels {
    public var plotted: [PlottedValue] { x.indices.map { PlottedValue(series: "labels", x: x[$0], y: y[$0], text: labels[$0]) } }
}

extension BarMark {
    /// x is the bar's centre, other its width.
    public var plotted: [PlottedValue] {
        zip(positions, heights).map { PlottedValue(series: label ?? "bars", x: $0, y: $1, other: width) }
    }
}

extension HistogramMark {
    /// x is a bin's left edge, other its right edge, y its height.
    public var plotted: [PlottedValue] {
        heights.indices.map { PlottedValue(series: label ?? "histogram", x: edges[$0], y: heights[$0], other: edges[$0 + 1]) }
    }
}
