import Plotting

/// Facts printed with a report that are not part of its template.
public struct ReportContext: Sendable {
    /// The report's date, already formatted (from SOURCE_DATE_EPOCH or the commit, never the clock).
    public var date: String
    /// Label and value rows for the provenance section.
    public var provenance: [(String, String)]
    /// The same date in ISO 8601, for the PDF's metadata.
    public var isoDate: String
    /// The directory, relative to the page, holding `<figure id>.png`, `.svg`, `.pdf` and `.csv`:
    /// the HTML links each figure to them (its image opens the SVG full size). nil: no links.
    public var figureDirectory: String?
    /// The program that computed the report ("l0repro 0.9"), named on the title block, not as an author.
    public var generator: String?
    /// The command that recomputes one figure, `{id}` standing for its id (`l0repro figure {id}`),
    /// shown under it.
    public var figureCommand: String?

    public init(
        date: String, provenance: [(String, String)], isoDate: String = "1970-01-01T00:00:00Z", figureDirectory: String? = nil,
        figureCommand: String? = nil, generator: String? = nil
    ) {
        self.generator = generator
        self.date = date
        self.provenance = provenance
        self.isoDate = isoDate
        self.figureDirectory = figureDirectory
        self.figureCommand = figureCommand
    }
}

/// Writes a document as one self-contained HTML page: inline CSS, figures inline as SVG, no network
/// resources, a print stylesheet, readable on a phone.
public enum HTMLWriter {
    public static func write(_ document: Document, context: ReportContext) throws -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="l0repro">
            <title>\(escape(document.metadata.title))</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <header>
            <h1>\(escape(document.metadata.title))</h1>

            """
        let meta = document.metadata
        if let subtitle = meta.subtitle { html += "<p class=\"subtitle\">\(escape(subtitle))</p>\n" }
        if !meta.authors.isEmpty { html += "<p class=\"authors\">\(meta.authors.map(escape).joined(separator: ", "))</p>\n" }
        var facts = [context.date]
        if let profile = meta.profile { facts.append("profile: <strong>\(escape(profile))</strong>") }
        if let dataset = meta.dataset { facts.append("dataset: <strong>\(escape(dataset))</strong>") }
        if let generator = context.generator { facts.append("computed with \(escape(generator))") }
        html += "<p class=\"meta\">\(facts.joined(separator: " · "))</p>\n</header>\n<main>\n"
        for block in document.blocks { html += try write(block, document, context) }
        if !document.footnotes.isEmpty {
            html += "<section id=\"notes\" class=\"footnotes\">\n<hr>\n<h2>Notes</h2>\n<ol>\n"
            for note in document.footnotes {
                var body = note.blocks.map { (try? write($0, document, context)) ?? "" }.joined()
                let back = " <a href=\"#fnref-\(note.number)\" class=\"back\" aria-label=\"back to the text\">↩</a>"
                if body.hasSuffix("</p>\n") { body = String(body.dropLast(5)) + back + "</p>\n" } else { body += back }
                html += "<li id=\"fn-\(note.number)\">\(body)</li>\n"
            }
            html += "</ol>\n</section>\n"
        }
        if !context.provenance.isEmpty {
            html += "<section id=\"provenance\" class=\"provenance\">\n<h2>Provenance</h2>\n<table>\n"
            for (label, value) in context.provenance { html += "<tr><th>\(escape(label))</th><td>\(escape(value))</td></tr>\n" }
            html += "</table>\n</section>\n"
        }
        html += "</main>\n</body>\n</html>\n"
        return html
    }

    static func write(_ block: Block, _ document: Document, _ context: ReportContext) throws -> String {
        switch block {
        case .heading(let level, let id, let content):
            return "<h\(level) id=\"\(escape(id))\">\(inline(content))</h\(level)>\n"
        case .paragraph(let content):
            return "<p>\(inline(content))</p>\n"
        case .list(let ordered, let start, let items):
            let tag = ordered ? "ol" : "ul"
            let open = ordered && start != 1 ? "<ol start=\"\(start)\">" : "<\(tag)>"
            let body = try items.map { item in
                // Tight lists come as single paragraphs: drop the <p> for them.
                if item.count == 1, case .paragraph(let content) = item[0] { return "<li>\(inline(content))</li>\n" }
                return "<li>\(try item.map { try write($0, document, context) }.joined())</li>\n"
            }.joined()
            return "\(open)\n\(body)</\(tag)>\n"
        case .quote(let blocks):
            return "<blockquote>\n\(try blocks.map { try write($0, document, context) }.joined())</blockquote>\n"
        case .code(let language, let text):
            let cls = language.isEmpty ? "" : " class=\"language-\(escape(language))\""
            return "<pre><code\(cls)>\(escape(text))</code></pre>\n"
        case .rule:
            return "<hr>\n"
        case .references(let references):
            var html = "<ol class=\"references\">\n"
            for reference in references { html += "<li id=\"\(escape(reference.id))\">\(inline(reference.content))</li>\n" }
            return html + "</ol>\n"
        case .tableOfContents:
            let entries = Passes.contents(document)
            guard !entries.isEmpty else { return "" }
            var html = "<nav class=\"toc\" aria-label=\"contents\">\n<p class=\"toc-title\">Contents</p>\n<ul>\n"
            for entry in entries { html += "<li class=\"toc-\(entry.level)\"><a href=\"#\(escape(entry.id))\">\(escape(entry.title))</a></li>\n" }
            return html + "</ul>\n</nav>\n"
        case .table(let table):
            // The caption sits outside the scroll box, so that it wraps on a phone while a wide
            // table scrolls.
            var html = "<figure class=\"tablefig\"\(table.id.map { " id=\"\(escape($0))\"" } ?? "")>\n"
            if table.number != nil || !table.caption.isEmpty {
                let label = table.number.map { "<span class=\"label\">Table \($0).</span> " } ?? ""
                html += "<figcaption class=\"caption\">\(label)\(inline(table.caption))</figcaption>\n"
            }
            html += "<div class=\"table\"><table>\n"
            func cells(_ row: [[Inline]], _ tag: String) -> String {
                row.enumerated().map { i, content in
                    let align =
                        i < table.alignments.count && table.alignments[i] != .none ? " style=\"text-align:\(table.alignments[i].rawValue)\"" : ""
                    // A body cell of one word (a number, an architecture like 219-214-100) never breaks.
                    let oneWord = tag == "td" && !content.plainText.contains(where: \.isWhitespace)
                    return "<\(tag)\(oneWord ? " class=\"nw\"" : "")\(align)>\(inline(content))</\(tag)>"
                }.joined()
            }
            if !table.header.isEmpty { html += "<thead><tr>\(cells(table.header, "th"))</tr></thead>\n" }
            html += "<tbody>\n" + table.rows.map { "<tr>\(cells($0, "td"))</tr>\n" }.joined() + "</tbody>\n</table></div>\n</figure>\n"
            return html
        case .figure(let figure):
            var image = try svg(figure)
            var tools = ""
            if let directory = context.figureDirectory {
                let base = escape(directory + "/" + figure.id)
                image = "<a class=\"zoom\" href=\"\(base).svg\" title=\"open full size\">\n\(image)</a>\n"
                var links = ["png", "svg", "pdf"].map { "<a href=\"\(base).\($0)\">\($0.uppercased())</a>" }
                if figure.drawing.data != nil { links.append("<a href=\"\(base).csv\" title=\"the plotted values\">CSV</a>") }
                tools += "<span class=\"files\">\(links.joined(separator: " "))</span>"
            }
            if let command = context.figureCommand {
                let line = command.replacingOccurrences(of: "{id}", with: figure.id)
                tools += " <span class=\"command\">recompute: <code>\(escape(line))</code></span>"
            }
            if !tools.isEmpty { tools = "<p class=\"figure-tools\"><span class=\"figure-id\">#\(escape(figure.id))</span> \(tools)</p>\n" }
            return
                "<figure id=\"\(escape(figure.id))\">\n\(image)<figcaption><span class=\"label\">Figure \(figure.number).</span> \(inline(figure.caption))</figcaption>\n\(tools)</figure>\n"
        case .cell(let cell):
            preconditionFailure("cell \(cell.id) reached the HTML writer unevaluated")
        }
    }

    /// The figure as an inline SVG element scaled to the page width, ids prefixed with the figure's id.
    static func svg(_ figure: FigureBlock) throws -> String {
        let bytes = try FigureRenderer.render(figure.drawing, as: .svg, options: RenderOptions(idPrefix: figure.id))
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("<?xml"), let end = text.firstIndex(of: "\n") { text = String(text[text.index(after: end)...]) }
        let size = figure.drawing.size
        let width = "width=\"\(format(size.width))pt\" height=\"\(format(size.height))pt\""
        let label = escape(figure.caption.plainText)
        text = text.replacingOccurrences(
            of: width,
            with: "width=\"100%\" style=\"max-width:\(format(size.width * displayScale))px\" role=\"img\" aria-label=\"\(label)\"")
        return text.hasSuffix("\n") ? text : text + "\n"
    }

    /// CSS pixels per figure point at most (a figure is as wide as the text column up to this):
    /// 1.5, so that 7.5-point tick labels show at 11 px or more on a desktop, whose text column
    /// (`desktopColumn`) is at least as wide as a 468-point figure at this scale, nearly.
    public static let displayScale = 1.5
    /// The text column's width on a desktop, in CSS px: the body's 46rem less its padding.
    public static let desktopColumn = 46 * 16 - 2 * 1.1 * 16

    static func format(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(v) }

    static func inline(_ content: [Inline]) -> String {
        content.map { inline in
            switch inline {
            case .text(let s): escape(s)
            case .emphasis(let c): "<em>\(self.inline(c))</em>"
            case .strong(let c): "<strong>\(self.inline(c))</strong>"
            case .strikethrough(let c): "<del>\(self.inline(c))</del>"
            case .code(let s): "<code>\(escape(s))</code>"
            case .link(let url, let c): "<a href=\"\(escape(url))\">\(self.inline(c))</a>"
            case .softBreak: "\n"
            case .lineBreak: "<br>\n"
            case .footnoteReference(_, let n): "<sup class=\"fnref\"><a href=\"#fn-\(n)\" id=\"fnref-\(n)\">\(n)</a></sup>"
            case .crossReference(let id, _): "@" + escape(id)
            case .value(let key, _): "{{ \(escape(key)) }}"
            case .citation(let keys, _): escape("[" + keys.map { "@" + $0 }.joined(separator: "; ") + "]")
            case .math(let tex, let display):
                (try? MathParser.parse(tex)).map { MathML.render($0, display: display, source: tex) } ?? "<code>\(escape(tex))</code>"
            }
        }.joined()
    }

    static func escape(_ s: String) -> String { Markup.escape(s) }

    static let stylesheet = """

        :root{--text:#1d1d1f;--muted:#5a5a60;--rule:#d9d9de;--accent:#0072B2;--code:#f4f4f6}
        *{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%}
        body{margin:0 auto;max-width:46rem;padding:1.5rem 1.1rem 4rem;font:17px/1.6 "DejaVu Serif",Georgia,serif;color:var(--text);background:#fff}
        h1,h2,h3,h4{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;line-height:1.25;margin:2rem 0 .6rem}
        h1{font-size:1.9rem;margin-top:.5rem}
        h2{font-size:1.35rem;border-bottom:1px solid var(--rule);padding-bottom:.2rem}
        h3{font-size:1.1rem}
        header .subtitle{font-size:1.15rem;color:var(--muted);margin:.2rem 0}
        header .authors,header .meta{color:var(--muted);margin:.2rem 0;font-family:"DejaVu Sans",sans-serif;font-size:.9rem}
        a{color:var(--accent)}
        code,pre{font-family:"DejaVu Sans Mono",Menlo,monospace;font-size:.86em;background:var(--code);border-radius:3px}
        code{padding:.05em .25em}
        pre{padding:.7rem .9rem;overflow-x:auto;line-height:1.45}
        pre code{padding:0;background:none}
        blockquote{margin:1rem 0;padding:.1rem 1rem;border-left:3px solid var(--rule);color:var(--muted)}
        figure{margin:1.6rem 0;text-align:center}
        figure svg{height:auto;display:block;margin:0 auto}
        figure a.zoom{display:block;cursor:zoom-in}
        .figure-tools{font-family:"DejaVu Sans",sans-serif;font-size:.78rem;color:var(--muted);text-align:left;margin:.25rem 0 0;overflow-wrap:anywhere}
        .figure-tools .figure-id{font-family:"DejaVu Sans Mono",monospace;margin-right:.4rem}
        .figure-tools .files a{margin-right:.35rem}
        .figure-tools code{font-size:.95em}
        figcaption{font-family:"DejaVu Sans",sans-serif;font-size:.88rem;color:var(--muted);text-align:left;margin-top:.4rem;line-height:1.45}
        math{font-family:"DejaVu Serif","STIX Two Math",math}
        math[display="block"]{margin:.8rem 0;overflow-x:auto;overflow-y:hidden;max-width:100%;padding:.2rem 0}
        figure.tablefig{margin:1.4rem 0;text-align:left}
        figure.tablefig .caption{margin:0 0 .4rem}
        figure.tablefig .table{margin:0}
        .label{font-weight:bold;color:var(--text)}
        .table{overflow-x:auto;margin:1.4rem 0}
        table{border-collapse:collapse;font-family:"DejaVu Sans",sans-serif;font-size:.86rem;margin:0 auto}
        th,td{padding:.3rem .6rem;border-bottom:1px solid var(--rule);text-align:left;vertical-align:top}
        thead th{border-bottom:2px solid var(--text)}
        .nw{white-space:nowrap}
        @media (min-width:1000px){figure.tablefig{margin-left:-5rem;margin-right:-5rem}}
        .toc{background:#fafafb;border:1px solid var(--rule);border-radius:4px;padding:.6rem 1rem;margin:1.2rem 0;font-family:"DejaVu Sans",sans-serif;font-size:.92rem}
        .toc ul{list-style:none;margin:0;padding:0}
        .toc .toc-3{padding-left:1.2rem}
        ol.references{list-style:none;padding-left:0}
        .references li{padding-left:1.5rem;text-indent:-1.5rem;margin:.35rem 0}
        .toc-title{font-weight:bold;margin:0 0 .3rem}
        .footnotes{font-size:.9rem;color:var(--muted)}
        .fnref{line-height:0}
        .provenance table{margin:0;width:100%}
        .provenance th{width:30%;font-weight:normal;color:var(--muted)}
        @media (max-width:600px){body{font-size:16px;padding:1rem .8rem 3rem}h1{font-size:1.5rem}}
        @media print{body{max-width:none;padding:0;font-size:11pt}a{color:inherit;text-decoration:none}.toc{display:none}
        figure,table,pre{break-inside:avoid}h2,h3{break-after:avoid}.back{display:none}.figure-tools{display:none}}

        """
}
