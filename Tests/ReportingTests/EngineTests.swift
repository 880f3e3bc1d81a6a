import Foundation
import Plotting
import Reporting
import Testing

/// A registry for the engine's tests: one figure source (a real chart), one table source and one
/// value, with a version input the tests can change, counting evaluations.
final class SmallRegistry: CellRegistry {
    var version = "1"
    var evaluations = 0

    func inputs(of cell: Cell) throws -> [String: String] {
        guard let source = cell.attributes["source"], ["curve", "numbers"].contains(source) else { throw CellError("unknown source") }
        return ["source": source, "version": version]
    }

    func evaluate(_ cell: Cell, progress: (String) -> Void) throws -> CellResult {
        evaluations += 1
        if cell.attributes["source"] == "curve" {
            let xs = (0...10).map(Double.init)
            let panel = Panel(x: Axis("x"), y: Axis("y"), marks: [LineMark(x: xs, y: xs.map { $0 * $0 }, label: "x²", color: Palette.blue)])
            return .figure(FigureRenderer.record(Figure(panels: [panel], size: Size(width: 300, height: 180))))
        }
        return .table(StoredTable(alignments: [.left, .right], header: ["n", "n²"], rows: [["2", "4"], ["3", "9"]]))
    }

    func value(_ key: String) throws -> String {
        guard key == "answer" else { throw CellError("unknown value") }
        return "42"
    }
}

@Suite(.serialized) struct EngineTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/small.html")

    func render(_ registry: SmallRegistry, cache: CellCache) throws -> String {
        let document = try Passes.resolveCrossReferences(Passes.number(TemplateReader.read(ReaderTests.small, file: "small.md")), file: "small.md")
        let evaluated = try Evaluator(registry: registry, cache: cache).evaluate(document, file: "small.md")
        return try HTMLWriter.write(evaluated, context: ReportContext(date: "1 May 2018", provenance: [("commit", "abc123"), ("profile", "smoke")]))
    }

    /// The whole page against a golden file; re-record on purpose with L0REPRO_RECORD_GOLDEN=1.
    @Test func goldenHTML() throws {
        let cache = CellCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-cache-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: cache.directory) }
        let html = try render(SmallRegistry(), cache: cache)
        if ProcessInfo.processInfo.environment["L0REPRO_RECORD_GOLDEN"] != nil { try html.write(to: Self.golden, atomically: true, encoding: .utf8) }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        #expect(html == expected, "HTML differs from Golden/small.html; if the change is intended, re-record with L0REPRO_RECORD_GOLDEN=1")
        for piece in [
            "<a href=\"#fig-curve\">Figure 1</a>", "<a href=\"#tab-numbers\">Table 1</a>", "the value is 42.",
            "<span class=\"label\">Figure 1.</span> A rising <em>line</em>.",
            "<figcaption class=\"caption\"><span class=\"label\">Table 1.</span> Numbers.</figcaption>",
            "<li class=\"toc-2\"><a href=\"#sec-intro\">Intro</a></li>",
            "id=\"fig-curve-1\"",
            "<li id=\"fn-1\"><p>A footnote with 42.", "<th>commit</th><td>abc123</td>", "<del>gone</del>", "@media print",
        ] {
            #expect(html.contains(piece), "missing \(piece)")
        }
        // Nothing is loaded from elsewhere: no src attributes, no stylesheets, and the only http
        // addresses are the SVG namespaces and the template's own link.
        let addresses = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
            .replacingOccurrences(of: "xmlns:xlink=\"http://www.w3.org/1999/xlink\"", with: "").replacingOccurrences(
                of: "href=\"https://example.org\"", with: "")
        #expect(!addresses.contains("http") && !html.contains("src=") && !html.contains("<link"), "the page must not load anything")
    }

    /// The PDF: real pages with the text, figure and table captions, notes, provenance and page
    /// numbers, links and an outline, and the same bytes twice.
    @Test func pdfReadsWellAndIsReproducible() throws {
        let cache = CellCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-cache-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: cache.directory) }
        let document = try Passes.resolveCrossReferences(Passes.number(TemplateReader.read(ReaderTests.small, file: "small.md")), file: "small.md")
        let evaluated = try Evaluator(registry: SmallRegistry(), cache: cache).evaluate(document, file: "small.md")
        let context = ReportContext(date: "1 May 2018", provenance: [("commit", "abc123")], isoDate: "2018-05-01T00:00:00Z")
        let pdf = try PDFWriter.write(evaluated, context: context)
        #expect(try PDFWriter.write(evaluated, context: context) == pdf)
        let text = String(decoding: pdf, as: UTF8.self)
        #expect(text.contains("/Outlines") && text.contains("/Link") && text.contains("/Dests"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-report-\(UUID().uuidString).pdf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(pdf).write(to: url)
        let info = try poppler("pdfinfo", url)
        #expect(info.contains("Title:           A small report") && info.contains("Page size:       595.28 x 841.89 pts (A4)"))
        #expect(info.contains("CreationDate:    Tue May  1 00:00:00 2018"))
        // Words as read from the pages, whitespace (line ends, column gaps) collapsed.
        let body = try poppler("pdftotext", url).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for piece in [
            "A small report", "every feature, once", "Contents", "Intro", "Details", "Figure 1", "Table 1. Numbers", "the value is 42",
            "Figure 1. A rising line.", "1. one", "quoted, see Intro", "R = L + λ·Σ π", "Notes", "1. A footnote with 42.", "Provenance", "abc123",
        ] {
            #expect(body.contains(piece), "missing \(piece)")
        }
    }

    /// Cells "a… 0.1/N" with 1 to 40 a's in a squeezed column: in some of them "a… 0.1/" fits on a
    /// line and "N" does not, where the line breaker could break after the slash; it must not.
    @Test func pdfLinesNeverBreakInsideAFraction() throws {
        let wide = Array(repeating: "a neighbouring cell of many words that wants the width", count: 3).joined(separator: " | ")
        let rows = (1...40).map { "| \(String(repeating: "a", count: $0)) 0.1/N | \(wide) |" }.joined(separator: "\n")
        let markdown = "---\ntitle: Fractions\n---\n\n| run | a | b | c |\n|---|---|---|---|\n\(rows)\n"
        let document = try Passes.number(TemplateReader.read(markdown, file: "fractions.md"))
        let context = ReportContext(date: "1 May 2018", provenance: [], isoDate: "2018-05-01T00:00:00Z")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-fractions-\(UUID().uuidString).pdf")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(try PDFWriter.write(document, context: context)).write(to: url)
        let lines = try poppler("pdftotext", url).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(lines.contains("0.1/N"), "some cell should wrap before 0.1/N")
        #expect(!lines.contains { $0.hasSuffix("0.1/") }, "a line broke inside 0.1/N")
    }

    func poppler(_ tool: String, _ url: URL, _ extra: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        process.arguments = extra + [url.path] + (tool == "pdftotext" ? ["-"] : [])
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test func cacheComputesOnceAndSaysWhyCellsAreStale() throws {
        let cache = CellCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-cache-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: cache.directory) }
        let registry = SmallRegistry()
        let document = try Passes.number(TemplateReader.read(ReaderTests.small, file: "small.md"))
        let evaluator = Evaluator(registry: registry, cache: cache)
        #expect(try evaluator.status(document, file: "small.md").map(\.status) == [.stale("never computed"), .stale("never computed")])
        let first = try render(registry, cache: cache)
        #expect(registry.evaluations == 2)
        #expect(try render(registry, cache: cache) == first)
        #expect(registry.evaluations == 2)
        #expect(try evaluator.status(document, file: "small.md").map(\.status) == [.fresh, .fresh])
        registry.version = "2"
        #expect(
            try evaluator.status(document, file: "small.md").map(\.status) == [
                .stale("changed since last computed: version"), .stale("changed since last computed: version"),
            ])
        _ = try render(registry, cache: cache)
        #expect(registry.evaluations == 4)
    }

    @Test func unknownSourcesAndValuesFailAtTheirLine() throws {
        let cache = CellCache(directory: FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-cache-\(UUID().uuidString)"))
        defer { try? FileManager.default.removeItem(at: cache.directory) }
        let evaluator = Evaluator(registry: SmallRegistry(), cache: cache)
        let badCell = try TemplateReader.read("---\ntitle: x\n---\n\n```{.figure #fig-a source=nope}\nc\n```\n", file: "t.md")
        #expect(throws: TemplateError(file: "t.md", line: 5, problem: "fig-a: unknown source")) { try evaluator.evaluate(badCell, file: "t.md") }
        let badValue = try TemplateReader.read("---\ntitle: x\n---\n\nIt is {{ question }}.\n", file: "t.md")
        #expect(throws: TemplateError(file: "t.md", line: 5, problem: "{{ question }}: unknown value")) {
            try evaluator.evaluate(badValue, file: "t.md")
        }
    }
}
