import Foundation
import Plotting
import Testing

/// Chart logic through the recording canvas: which series, ticks, ranges and legend entries a figure
/// produces, without pixels.
@Suite struct ChartTests {
    static let xs = (0...20).map { Double($0) / 2 }

    static func threeLines(legend: LegendPlacement = .auto) -> Panel {
        Panel(
            title: "three lines", x: Axis("x"), y: Axis("y"),
            marks: (0..<3).map { k in LineMark(x: xs, y: xs.map { $0 * Double(k + 1) }, label: "k = \(k + 1)", color: Palette.color(k)) },
            legend: legend)
    }

    @Test("A figure's plotted values: every point of every mark, axes and series named, CSV quoted where it must be")
    func plottedDataAsCSV() {
        let panel = Panel(
            title: "<b>a, b</b>", x: Axis("log <i>α</i>"), y: Axis("y"),
            marks: [
                LineMark(x: [0, 0.5], y: [1, 2], label: "say \"hi\"", color: .black),
                ReferenceLine(.horizontal, at: 3, color: .black),
                HistogramMark(values: [0.1, 0.2, 0.7], edges: [0, 0.5, 1], color: .black),
            ])
        let data = Figure(panels: [panel]).plottedData
        #expect(data.rows.count == 2 + 1 + 2)
        #expect(data.rows[0] == ["a, b", "log α", "y", "LineMark", "say \"hi\"", "0", "1", "", ""])
        #expect(data.rows[2] == ["a, b", "log α", "y", "ReferenceLine", "reference", "", "3", "", ""])
        #expect(data.rows[3] == ["a, b", "log α", "y", "HistogramMark", "histogram", "0", "2", "0.5", ""])
        let lines = data.csv.components(separatedBy: "\r\n")
        #expect(lines[1] == "\"a, b\",log α,y,LineMark,\"say \"\"hi\"\"\",0,1,,")
        #expect(Markup.plain("x &lt; <span font=\"9\">y&#945;</span> &amp; z") == "x < yα & z")
    }

    @Test func everySeriesIsStrokedInItsColour() {
        let canvas = RecordingCanvas()
        Figure(panels: [Self.threeLines()]).draw(on: canvas)
        for k in 0..<3 {
            let strokes = canvas.strokes(color: Palette.color(k))
            // The series itself (21 points) plus its legend glyph (2 points).
            #expect(strokes.map(\.points.count).sorted() == [2, 21])
        }
        #expect(Figure(panels: [Self.threeLines()]).panels[0].legendEntries.map(\.label) == ["k = 1", "k = 2", "k = 3"])
        for label in ["k = 1", "k = 2", "k = 3", "three lines", "x", "y"] { #expect(canvas.texts.contains(label)) }
    }

    @Test func axesCoverTheDataAndLabelTheirTicks() {
        let canvas = RecordingCanvas()
        let layout = Figure(panels: [Self.threeLines()]).draw(on: canvas)
        let panel = layout.panels[0]
        #expect(panel.x.lower < 0 && panel.x.upper > 10)
        #expect(panel.y.lower < 0 && panel.y.upper > 30)
        #expect(panel.y.ticks.map(\.value) == [0, 10, 20, 30])
        for tick in panel.x.ticks + panel.y.ticks { #expect(canvas.texts.contains(tick.label)) }
        // Data maps into the plot frame: the first point at the bottom left, the last at the top right.
        #expect(abs(panel.x.position(panel.x.lower) - panel.frame.minX) < 1e-9)
        #expect(abs(panel.y.position(panel.y.upper) - panel.frame.minY) < 1e-9)
    }

    @Test func fixedAndNiceLimits() {
        let mark = LineMark(x: [0.3, 9.7], y: [1, 2], color: .black)
        let fixed = Panel(x: Axis(limits: .fixed(0, 12)), y: Axis(), marks: [mark]).scales()
        #expect(fixed.x.lower == 0 && fixed.x.upper == 12)
        let nice = Panel(x: Axis(limits: .nice), y: Axis(), marks: [mark]).scales()
        #expect(nice.x.lower == 0 && nice.x.upper == 10)
        let log = Panel(x: Axis(), y: Axis(kind: .logarithmic, limits: .nice), marks: [LineMark(x: [1, 2, 3], y: [3, 0, 4000], color: .black)])
            .scales()
        #expect(log.y.lower == 1 && log.y.upper == 10_000)
        #expect(log.y.ticks.map(\.label) == ["1", "10", "100", "10<sup>3</sup>", "10<sup>4</sup>"])
    }

    /// Lines rising to the top right: the legend must go to the top left, not its preferred top right.
    @Test func legendAvoidsTheData() {
        let canvas = RecordingCanvas()
        let layout = Figure(panels: [Self.threeLines()]).draw(on: canvas)
        let panel = layout.panels[0]
        let legend = try! #require(panel.legend)
        #expect(legend.minX < panel.frame.minX + panel.frame.width / 2)
        #expect(legend.minY < panel.frame.minY + panel.frame.height / 2)
        let falling = Panel(x: Axis(), y: Axis(), marks: [LineMark(x: Self.xs, y: Self.xs.map { -$0 }, label: "down", color: .black)])
        let other = Figure(panels: [falling]).draw(on: RecordingCanvas()).panels[0]
        #expect(other.legend!.maxX > other.frame.maxX - other.frame.width / 2)
    }

    @Test func sharedLegendListsDistinctEntriesOnce() {
        let a = Panel(x: Axis(), y: Axis(), marks: [LineMark(x: [0, 1], y: [0, 1], label: "ours", color: Palette.blue)], legend: .none)
        let b = Panel(
            x: Axis(), y: Axis(),
            marks: [
                LineMark(x: [0, 1], y: [1, 0], label: "ours", color: Palette.blue), ScatterMark(x: [0.5], y: [0.5], label: "paper", color: .black),
            ], legend: .none)
        let figure = Figure(panels: [a, b], sharedLegend: true)
        #expect(figure.sharedLegendEntries.map(\.label) == ["ours", "paper"])
        let canvas = RecordingCanvas()
        let layout = figure.draw(on: canvas)
        #expect(canvas.texts.filter { $0 == "ours" }.count == 1)
        #expect(layout.panels.allSatisfy { $0.legend == nil })
    }

    @Test func histogramCountsAndFractions() {
        let values = [0.05, 0.15, 0.15, 0.95, 1.0, 1.5]
        let counts = HistogramMark(values: values, bins: 10, range: 0...1, color: .black)
        #expect(counts.heights == [1, 2, 0, 0, 0, 0, 0, 0, 0, 2])
        let fractions = HistogramMark(values: values, bins: 10, range: 0...1, normalization: .fraction, color: .black)
        #expect(abs(fractions.heights.reduce(0, +) - 1) < 1e-12)
    }

    @Test func logAxesDropNonPositiveValues() {
        let canvas = RecordingCanvas()
        let mark = LineMark(x: [1, 2, 3, 4], y: [0.1, 0, 10, 100], color: Palette.vermillion)
        Figure(panels: [Panel(x: Axis(), y: Axis(kind: .logarithmic), marks: [mark])]).draw(on: canvas)
        // The zero breaks the line: a run of one point (drawn as a dot) and a run of two.
        #expect(canvas.strokes(color: Palette.vermillion).map(\.points.count) == [2])
        #expect(canvas.fills(color: Palette.vermillion).count == 1)
    }

    /// A step line holds each value until the next x: (0,1) (1,1) (1,3) (2,3) (2,2).
    @Test func stepLinesHoldUntilTheNextPoint() {
        let canvas = RecordingCanvas()
        let mark = LineMark(x: [0, 1, 2], y: [1, 3, 2], color: Palette.blue, interpolation: .stepAfter)
        let layout = Figure(panels: [Panel(x: Axis(), y: Axis(), marks: [mark], legend: .none)]).draw(on: canvas)
        let path = try! #require(canvas.strokes(color: Palette.blue).first)
        let p = layout.panels[0]
        let expected = [(0.0, 1.0), (1, 1), (1, 3), (2, 3), (2, 2)].map { Point(p.x.position($0.0), p.y.position($0.1)) }
        #expect(path.points == expected)
    }

    @Test func pointMassesAndBandsAndReferenceLines() {
        let canvas = RecordingCanvas()
        let marks: [any Mark] = [
            PointMassMark(x: [0, 1], mass: [0.3, 0.2], color: Palette.bluishGreen),
            AreaMark.errorBand(x: [0, 1, 2], mean: [1, 2, 3], halfWidth: [0.5, 0.5, 0.5], color: Palette.orange),
            ReferenceLine(.horizontal, at: 2.5, color: Palette.reddishPurple),
            BarMark(positions: [0, 1], heights: [1, 2], color: Palette.skyBlue),
        ]
        let layout = Figure(panels: [Panel(x: Axis(), y: Axis(), marks: marks, legend: .none)]).draw(on: canvas)
        #expect(canvas.strokes(color: Palette.bluishGreen).count == 2)
        #expect(canvas.fills(color: Palette.bluishGreen).count == 2)
        #expect(canvas.fills(color: Palette.orange.withAlpha(0.25)).count == 1)
        let reference = try! #require(canvas.strokes(color: Palette.reddishPurple).first)
        #expect(reference.points.map(\.x) == [layout.panels[0].frame.minX, layout.panels[0].frame.maxX])
        #expect(canvas.fills(color: Palette.skyBlue.withAlpha(0.85)).count == 2)
        #expect(layout.panels[0].y.lower <= 0 && layout.panels[0].y.upper >= 3.5)
    }
}
