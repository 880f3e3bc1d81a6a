import Experiments
import Foundation
import Plotting
import Reporting
import Reproduction
import Testing

/// The legends of the report's figures, drawn from the committed runs (Reports/runs, part of the
/// repository) on the recording canvas: no legend box may cover a data segment, a marker, a bar or
/// a reference line of its panel.
@Suite("Legends of the report's figures")
struct LegendPlacementTests {
    static let runs = ReportTests.root.appendingPathComponent("Reports/runs")

    /// Every figure name with the dataset whose committed runs it is drawn from (math figures once).
    static let cases: [String] = FigureCatalog.entries.flatMap { entry in
        entry.source == .math ? [entry.name] : ["mnist", "fashion-mnist"].map { "\(entry.name)@\($0)" }
    }

    @Test("No legend covers data", arguments: cases)
    func legendCoversNoData(name: String) throws {
        let parts = name.split(separator: "@").map(String.init)
        let entry = try #require(FigureCatalog.entry(named: parts[0]))
        let runs = parts.count > 1 ? try RunCollection(directory: Self.runs, dataset: parts[1]) : nil
        if let runs, runs.runs.isEmpty { return }
        let figure = try entry.figure(runs: runs)
        // Shown in the HTML at up to 1.5 CSS px per point within a desktop's text column, its tick
        // labels are at least 11 px.
        let pixelsPerPoint = min(HTMLWriter.displayScale, HTMLWriter.desktopColumn / figure.size.width)
        #expect(figure.theme.tickLabelSize * pixelsPerPoint >= 11, "\(name): ticks at \(figure.theme.tickLabelSize * pixelsPerPoint) px")
        let canvas = RecordingCanvas(measure: FigureRenderer.measure)
        let layout = figure.draw(on: canvas)
        // The marks of panel k are the operations inside its k-th clip.
        var groups: [[RecordingCanvas.Operation]] = []
        var current: [RecordingCanvas.Operation]?
        for operation in canvas.operations {
            switch operation {
            case .pushClip: current = []
            case .popClip:
                groups.append(current ?? [])
                current = nil
            default: current?.append(operation)
            }
        }
        let drawn = zip(layout.panels, figure.panels).filter { !$0.1.isBlank }.map(\.0)
        #expect(groups.count == drawn.count, "one clip per drawn panel")
        var covered: [String] = []
        for (index, (panel, operations)) in zip(drawn, groups).enumerated() {
            guard let legend = panel.legend, legend.minX < panel.frame.maxX else { continue }
            // Half a point inside the box's border: touching it is not covering.
            let box = legend.inset(top: 0.5, left: 0.5, bottom: 0.5, right: 0.5)
            for (k, operation) in operations.enumerated() {
                switch operation {
                case .stroke(let path, _) where Self.intersects(path, box):
                    covered.append("panel \(index + 1) (\(figure.panels.filter { !$0.isBlank }[index].title ?? "untitled")): line \(k)")
                case .fill(let path, let color) where color.alpha >= 0.5 && Self.intersects(path, box):
                    covered.append("panel \(index + 1) (\(figure.panels.filter { !$0.isBlank }[index].title ?? "untitled")): marker or bar \(k)")
                default: break
                }
            }
        }
        #expect(covered.isEmpty, "\(name): the legend covers \(covered.joined(separator: "; "))")
    }

    /// Whether any segment or circle of `path` (closed sub-paths closed) meets the rectangle.
    static func intersects(_ path: Path, _ r: Rect) -> Bool {
        var start: Point?
        var last: Point?
        for element in path.elements {
            switch element {
            case .move(let p):
                if r.contains(p) { return true }
                (start, last) = (p, p)
            case .line(let p):
                if let a = last, segment(a, p, meets: r) { return true }
                last = p
            case .close:
                if let a = last, let b = start, segment(a, b, meets: r) { return true }
                last = start
            case .circle(let c, let radius):
                let nearest = Point(min(max(c.x, r.minX), r.maxX), min(max(c.y, r.minY), r.maxY))
                if (nearest.x - c.x) * (nearest.x - c.x) + (nearest.y - c.y) * (nearest.y - c.y) <= radius * radius { return true }
            }
        }
        return false
    }

    /// Liang–Barsky: whether the segment a–b meets the rectangle.
    static func segment(_ a: Point, _ b: Point, meets r: Rect) -> Bool {
        let (dx, dy) = (b.x - a.x, b.y - a.y)
        var (t0, t1) = (0.0, 1.0)
        for (p, q) in [(-dx, a.x - r.minX), (dx, r.maxX - a.x), (-dy, a.y - r.minY), (dy, r.maxY - a.y)] {
            if p == 0 {
                if q < 0 { return false }
            } else {
                let t = q / p
                if p < 0 { t0 = max(t0, t) } else { t1 = min(t1, t) }
                if t0 > t1 { return false }
            }
        }
        return true
    }
}
