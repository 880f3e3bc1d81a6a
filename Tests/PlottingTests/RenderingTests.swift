import Foundation
import Plotting
import Testing

/// The rendered files: real pixels, real SVG paths, real PDF text, and the same bytes every time.
@Suite(.serialized) struct RenderingTests {
    /// A horizontal line at y = 5 and a falling dashed one, with a legend.
    static func sample(title: String = "sample") -> Figure {
        let xs = (0...10).map(Double.init)
        let panel = Panel(
            title: title, x: Axis("time <i>t</i> (s)"), y: Axis("value θ<sub>1</sub>"),
            marks: [
                LineMark(x: xs, y: xs.map { _ in 5 }, label: "flat", color: Palette.blue, width: 3),
                LineMark(x: xs, y: xs.map { 10 - $0 }, label: "falling", color: Palette.vermillion, dash: [4, 2]),
            ])
        return Figure(panels: [panel], size: Size(width: 300, height: 200))
    }

    static func near(_ a: Color, _ b: Color, tolerance: Double = 0.06) -> Bool {
        abs(a.red - b.red) <= tolerance && abs(a.green - b.green) <= tolerance && abs(a.blue - b.blue) <= tolerance
    }

    @Test func pngPixelsCarryTheSeriesColourAtTheirDataCoordinates() throws {
        let figure = Self.sample()
        let png = try FigureRenderer.render(figure, as: .png)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let bitmap = try #require(Bitmap(png: png))
        #expect(bitmap.width == 600 && bitmap.height == 400)
        let panel = FigureRenderer.layout(of: figure).panels[0]
        func pixel(_ x: Double, _ y: Double) -> Color {
            bitmap.color(x: Int((panel.x.position(x) * 2).rounded(.down)), y: Int((panel.y.position(y) * 2).rounded(.down)))
        }
        #expect(Self.near(pixel(2, 5), Palette.blue), "got \(pixel(2, 5))")
        #expect(Self.near(pixel(8.5, 5), Palette.blue))
        // On the falling line away from the crossing (its dashes are 4 points on, 2 off: try a few).
        let falling = [2.0, 2.1, 2.2, 2.3].map { pixel($0, 10 - $0) }
        #expect(falling.contains { Self.near($0, Palette.vermillion) }, "got \(falling)")
        // Empty data space stays the white background.
        #expect(Self.near(pixel(6.7, 1.3), .white))
    }

    @Test func svgHasTheSeriesPathsAndPrefixedUniqueIds() throws {
        let svg = String(decoding: try FigureRenderer.render(Self.sample(), as: .svg, options: RenderOptions(idPrefix: "fig-a")), as: UTF8.self)
        #expect(svg.hasPrefix("<?xml"))
        #expect(svg.contains("stroke:rgb(0%,44.705882%,69.803922%)"))  // Okabe–Ito blue, the flat line
        #expect(svg.contains("stroke-dasharray:4,2"))  // the falling line
        let ids = matches(of: " id=\"", in: svg)
        #expect(!ids.isEmpty)
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.hasPrefix("fig-a-") })
        for reference in matches(of: "href=\"#", in: svg) { #expect(ids.contains(reference), "dangling reference #\(reference)") }
        let other = String(
            decoding: try FigureRenderer.render(Self.sample(title: "other"), as: .svg, options: RenderOptions(idPrefix: "fig-b")), as: UTF8.self)
        #expect(Set(matches(of: " id=\"", in: other)).isDisjoint(with: ids))
    }

    @Test func pdfIsVectorWithTextAndPinnedDates() throws {
        let pdf = try FigureRenderer.render(Self.sample(), as: .pdf, options: RenderOptions(date: "2018-04-30T12:00:00Z", title: "sample"))
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-plot-\(UUID().uuidString).pdf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(pdf).write(to: url)
        let info = try poppler("pdfinfo", url)
        #expect(info.contains("Page size:       300 x 200 pts"))
        #expect(info.contains("CreationDate:    Mon Apr 30 12:00:00 2018"))
        let text = try poppler("pdftotext", url, "-")
        for label in ["sample", "flat", "falling", "value θ", "time t (s)", "10"] { #expect(text.contains(label), "missing \(label) in \(text)") }
    }

    @Test func sameFigureGivesSameBytesEvenAfterOtherFigures() throws {
        var first: [ImageFormat: [UInt8]] = [:]
        for format in ImageFormat.allCases { first[format] = try FigureRenderer.render(Self.sample(), as: format) }
        for format in ImageFormat.allCases { _ = try FigureRenderer.render(Self.sample(title: "something else θ₂"), as: format) }
        for format in ImageFormat.allCases {
            #expect(try FigureRenderer.render(Self.sample(), as: format) == first[format], "\(format) changed")
        }
    }

    /// A recorded drawing, stored as JSON and read back, renders to the same bytes as the figure.
    @Test func recordedDrawingsRenderLikeTheFigure() throws {
        let drawing = FigureRenderer.record(Self.sample())
        let stored = try JSONDecoder().decode(Drawing.self, from: JSONEncoder().encode(drawing))
        #expect(stored == drawing)
        for format in ImageFormat.allCases {
            #expect(try FigureRenderer.render(stored, as: format) == FigureRenderer.render(Self.sample(), as: format), "\(format)")
        }
    }

    @Test func invalidMarkupIsDrawnAsPlainText() throws {
        let figure = Figure(panels: [Panel(title: "a < b & <i>unclosed", x: Axis(), y: Axis(), marks: [])], size: Size(width: 200, height: 120))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-plot-\(UUID().uuidString).pdf")
        defer { try? FileManager.default.removeItem(at: url) }
        try FigureRenderer.write(figure, as: .pdf, to: url)
        #expect(try poppler("pdftotext", url, "-").contains("a < b & <i>unclosed"))
    }

    /// The values of every `marker…"` in `text`.
    func matches(of marker: String, in text: String) -> [String] {
        text.components(separatedBy: marker).dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    func poppler(_ tool: String, _ url: URL, _ extra: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = [url.path] + extra
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
