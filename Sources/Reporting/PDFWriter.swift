import CCairo
import Foundation
import Plotting

/// Lays a document out natively as an A4 PDF with Cairo and Pango: title block, headings, paragraphs
/// with bold, italic, code and links, lists, quotes, code blocks, tables (split between rows, header
/// repeated), vector figures with captions, endnotes, provenance, page numbers, a clickable outline
/// and a table of contents with page numbers. Two passes: the first finds the page of every heading
/// for the contents, the second draws.
public enum PDFWriter {
    public static func write(_ document: Document, context: ReportContext) throws -> [UInt8] {
        let first = try PDFPass(document: document, context: context, knownPages: [:], drawing: false).run()
        return try PDFPass(document: document, context: context, knownPages: first.pages, drawing: true).run().bytes
    }
}

private final class PDFPass {
    let document: Document
    let context: ReportContext
    let knownPages: [String: Int]
    let drawing: Bool

    let pageWidth = 595.28
    let pageHeight = 841.89
    let left = 72.0
    let top = 64.0
    let bottomLimit = 841.89 - 72.0
    var textWidth: Double { pageWidth - 2 * left }

    let sink = ByteSink()
    var surface: OpaquePointer!
    var cr: OpaquePointer!
    var layout: OpaquePointer!
    var page = 1
    var y = 64.0
    var pages: [String: Int] = [:]
    var outlineParent: Int32 = 0

    let body = "DejaVu Serif"
    let sans = "DejaVu Sans"
    let mono = "DejaVu Sans Mono"
    let bodySize = 10.0
    let muted = Color(hex: 0x55555A)
    let accent = Color(hex: 0x0072B2)

    init(document: Document, context: ReportContext, knownPages: [String: Int], drawing: Bool) {
        self.document = document
        self.context = context
        self.knownPages = knownPages
        self.drawing = drawing
    }

    func run() throws -> (bytes: [UInt8], pages: [String: Int]) {
        surface = cairo_pdf_surface_create_for_stream(ByteSink.write, sink.closure, pageWidth, pageHeight)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, document.metadata.title)
        if !document.metadata.authors.isEmpty { cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, document.metadata.authors.joined(separator: ", ")) }
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "l0repro")
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, context.isoDate)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, context.isoDate)
        cr = cairo_create(surface)
        layout = makeLayout()
        defer {
            g_object_unref(UnsafeMutableRawPointer(layout))
            cairo_destroy(cr)
            cairo_surface_destroy(surface)
        }
        titleBlock()
        for block in document.blocks { render(block, x: left, width: textWidth) }
        notes()
        provenance()
        footer()
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError(description: "PDF: \(String(cString: cairo_status_to_string(status)))") }
        return (sink.bytes, pages)
    }

    func makeLayout() -> OpaquePointer {
        let layout = pango_cairo_create_layout(cr)!
        let pango = pango_layout_get_context(layout)
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        pango_cairo_context_set_font_options(pango, options)
        cairo_font_options_destroy(options)
        pango_context_set_round_glyph_positions(pango, 0)
        pango_cairo_context_set_resolution(pango, 72)
        pango_layout_context_changed(layout)
        return layout
    }

    // MARK: pages

    func newPage() {
        footer()
        cairo_show_page(cr)
        page += 1
        y = top
    }

    func ensure(_ height: Double) {
        if y + height > bottomLimit && y > top { newPage() }
    }

    func footer() {
        let footerLayout = makeLayout()
        defer { g_object_unref(UnsafeMutableRawPointer(footerLayout)) }
        setFont(footerLayout, sans, 8)
        pango_layout_set_text(footerLayout, String(page), -1)
        var logical = PangoRectangle()
        pango_layout_get_extents(footerLayout, nil, &logical)
        if drawing {
            setColor(muted)
            cairo_move_to(cr, pageWidth / 2 - Double(logical.width) / Double(PANGO_SCALE) / 2, pageHeight - 44)
            pango_cairo_show_layout(cr, footerLayout)
        }
    }

    func setColor(_ c: Color) { cairo_set_source_rgb(cr, c.red, c.green, c.blue) }

    func setFont(_ layout: OpaquePointer, _ family: String, _ size: Double, bold: Bool = false, italic: Bool = false) {
        let font = pango_font_description_new()
        pango_font_description_set_family(font, family)
        pango_font_description_set_size(font, Int32(size * Double(PANGO_SCALE)))
        if bold { pango_font_description_set_weight(font, PANGO_WEIGHT_BOLD) }
        if italic { pango_font_description_set_style(font, PANGO_STYLE_ITALIC) }
        pango_layout_set_font_description(layout, font)
        pango_font_description_free(font)
    }

    /// Marks `id` as a link destination at the current position.
    func destination(_ id: String, x: Double) {
        pages[id] = page
        guard drawing else { return }
        cairo_tag_begin(cr, CAIRO_TAG_DEST, "name='\(id)' x=\(x) y=\(max(0, y - 4))")
        cairo_tag_end(cr, CAIRO_TAG_DEST)
    }

    func link(_ target: StyledText.Target, rect: (Double, Double, Double, Double)) {
        guard drawing else { return }
        let where_: String
        switch target {
        case .destination(let name):
            guard knownPages[name] != nil else { return }
            where_ = "dest='\(name)'"
        case .uri(let uri): where_ = "uri='\(uri.replacingOccurrences(of: "'", with: "\\'"))'"
        }
        cairo_tag_begin(cr, CAIRO_TAG_LINK, "rect=[\(rect.0) \(rect.1) \(rect.2) \(rect.3)] \(where_)")
        cairo_tag_end(cr, CAIRO_TAG_LINK)
    }

    // MARK: text

    /// Flows styled text line by line from the current position, breaking pages between lines.
    func paragraph(
        _ text: StyledText, x: Double, width: Double, family: String, size: Double, bold: Bool = false, italic: Bool = false, color: Color? = nil,
        alignment: PangoAlignment = PANGO_ALIGN_LEFT, lineBackground: Color? = nil, after: Double = 6
    ) {
        setFont(layout, family, size, bold: bold, italic: italic)
        pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        pango_layout_set_alignment(layout, alignment)
        pango_layout_set_spacing(layout, 0)
        pango_layout_set_markup(layout, text.markup, -1)
        let iter = pango_layout_get_iter(layout)!
        defer { pango_layout_iter_free(iter) }
        let scale = Double(PANGO_SCALE)
        repeat {
            var logical = PangoRectangle()
            pango_layout_iter_get_line_extents(iter, nil, &logical)
            let baseline = Double(pango_layout_iter_get_baseline(iter)) / scale
            let lineTop = Double(logical.y) / scale
            let height = Double(logical.height) / scale * 1.18
            ensure(height)
            if drawing {
                let line = pango_layout_iter_get_line_readonly(iter)!
                if let background = lineBackground {
                    setColor(background)
                    cairo_rectangle(cr, x - 4, y, width + 8, height)
                    cairo_fill(cr)
                }
                setColor(color ?? Color(hex: 0x1D1D1F))
                let lineX = x + Double(logical.x) / scale
                cairo_move_to(cr, lineX, y + (baseline - lineTop) + height * 0.09)
                pango_cairo_show_layout_line(cr, line)
                let start = Int(line.pointee.start_index)
                let end = start + Int(line.pointee.length)
                for (range, target) in text.links where range.lowerBound < end && range.upperBound > start {
                    var x0: Int32 = 0
                    var x1: Int32 = 0
                    pango_layout_line_index_to_x(line, Int32(max(range.lowerBound, start)), 0, &x0)
                    pango_layout_line_index_to_x(line, Int32(min(range.upperBound, end)), 0, &x1)
                    link(target, rect: (lineX + Double(x0) / scale, y, Double(x1 - x0) / scale, height))
                }
            }
            y += height
        } while pango_layout_iter_next_line(iter) != 0
        y += after
    }

    func measureWidth(_ text: StyledText, family: String, size: Double, bold: Bool = false) -> Double {
        setFont(layout, family, size, bold: bold)
        pango_layout_set_width(layout, -1)
        pango_layout_set_markup(layout, text.markup, -1)
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        return Double(logical.width) / Double(PANGO_SCALE)
    }

    func measureHeight(_ text: StyledText, width: Double, family: String, size: Double, bold: Bool = false) -> Double {
        setFont(layout, family, size, bold: bold)
        pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
        pango_layout_set_markup(layout, text.markup, -1)
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        return Double(logical.height) / Double(PANGO_SCALE) * 1.18
    }

    // MARK: blocks

    func titleBlock() {
        let meta = document.metadata
        paragraph(StyledText(plain: meta.title), x: left, width: textWidth, family: sans, size: 19, bold: true, after: 6)
        if let subtitle = meta.subtitle { paragraph(StyledText(plain: subtitle), x: left, width: textWidth, family: body, size: 12, color: muted, after: 4) }
        if !meta.authors.isEmpty { paragraph(StyledText(plain: meta.authors.joined(separator: ", ")), x: left, width: textWidth, family: sans, size: 9, color: muted, after: 2) }
        var facts = [context.date]
        if let profile = meta.profile { facts.append("profile: \(profile)") }
        if let dataset = meta.dataset { facts.append("dataset: \(dataset)") }
        paragraph(StyledText(plain: facts.joined(separator: " · ")), x: left, width: textWidth, family: sans, size: 9, color: muted, after: 14)
    }

    func heading(_ level: Int, id: String, content: [Inline], x: Double, width: Double) {
        let size = [1: 16.0, 2: 13.5, 3: 11.5][level] ?? 10.5
        y += level <= 2 ? 10 : 6
        ensure(size * 1.3 + 3 * bodySize * 1.4)  // keep with the next lines
        destination(id, x: x)
        if drawing {
            let parent: Int32 = level <= 2 ? 0 : outlineParent
            let outlineID = cairo_pdf_surface_add_outline(surface, parent, content.plainText, "dest='\(id)'", CAIRO_PDF_OUTLINE_FLAG_OPEN)
            if level <= 2 { outlineParent = outlineID }
        }
        paragraph(StyledText(content, size: size), x: x, width: width, family: sans, size: size, bold: true, after: 4)
    }

    func render(_ block: Block, x: Double, width: Double) {
        switch block {
        case .heading(let level, let id, let content):
            heading(level, id: id, content: content, x: x, width: width)
        case .paragraph(let content):
            paragraph(StyledText(content, size: bodySize), x: x, width: width, family: body, size: bodySize, after: 7)
        case .list(let ordered, let start, let items):
            for (i, item) in items.enumerated() {
                // Room for the item's first line, so that its marker and that line share a page.
                ensure(bodySize * 1.5)
                if drawing {
                    let markerLayout = makeLayout()
                    setFont(markerLayout, body, bodySize)
                    pango_layout_set_text(markerLayout, ordered ? "\(start + i)." : "•", -1)
                    setColor(Color(hex: 0x1D1D1F))
                    cairo_move_to(cr, x + 2, y + bodySize * 0.09)
                    pango_cairo_show_layout(cr, markerLayout)
                    g_object_unref(UnsafeMutableRawPointer(markerLayout))
                }
                render(itemBlocks: item, x: x + 16, width: width - 16)
            }
            y += 3
        case .quote(let blocks):
            for b in blocks {
                if case .paragraph(let content) = b {
                    paragraph(StyledText(content, size: bodySize), x: x + 14, width: width - 14, family: body, size: bodySize, italic: true, color: muted, after: 7)
                } else {
                    render(b, x: x + 14, width: width - 14)
                }
            }
        case .code(_, let text):
            y += 2
            let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
            paragraph(StyledText(plain: trimmed), x: x + 4, width: width - 8, family: mono, size: 8.2, lineBackground: Color(hex: 0xF4F4F6), after: 9)
        case .rule:
            y += 4
            if drawing {
                setColor(Color(hex: 0xD9D9DE))
                cairo_set_line_width(cr, 0.6)
                cairo_move_to(cr, x, y)
                cairo_line_to(cr, x + width, y)
                cairo_stroke(cr)
            }
            y += 8
        case .tableOfContents:
            contents(x: x, width: width)
        case .table(let table):
            self.table(table, x: x, width: width)
        case .figure(let figure):
            self.figure(figure, x: x, width: width)
        case .cell(let cell):
            preconditionFailure("cell \(cell.id) reached the PDF writer unevaluated")
        }
    }

    func render(itemBlocks: [Block], x: Double, width: Double) {
        for (i, b) in itemBlocks.enumerated() {
            if case .paragraph(let content) = b {
                paragraph(StyledText(content, size: bodySize), x: x, width: width, family: body, size: bodySize, after: i == itemBlocks.count - 1 ? 2 : 5)
            } else {
                render(b, x: x, width: width)
            }
        }
    }

    func contents(x: Double, width: Double) {
        let entries = Passes.outline(document)
        guard !entries.isEmpty else { return }
        paragraph(StyledText(plain: "Contents"), x: x, width: width, family: sans, size: 11, bold: true, after: 3)
        for entry in entries {
            let indent = entry.level == 3 ? 14.0 : 0
            let number = knownPages[entry.id].map(String.init) ?? ""
            let top = y
            var text = StyledText(plain: entry.title)
            text.links = [(0..<entry.title.utf8.count, .destination(entry.id))]
            paragraph(text, x: x + indent, width: width - indent - 30, family: sans, size: 9.5, after: 1)
            if drawing {
                let pageLayout = makeLayout()
                setFont(pageLayout, sans, 9.5)
                pango_layout_set_text(pageLayout, number, -1)
                var logical = PangoRectangle()
                pango_layout_get_extents(pageLayout, nil, &logical)
                setColor(Color(hex: 0x1D1D1F))
                cairo_move_to(cr, x + width - Double(logical.width) / Double(PANGO_SCALE), top + 9.5 * 0.09)
                pango_cairo_show_layout(cr, pageLayout)
                g_object_unref(UnsafeMutableRawPointer(pageLayout))
            }
        }
        y += 10
    }

    func caption(_ label: String?, _ content: [Inline], x: Double, width: Double, after: Double) {
        var text = StyledText(plain: "")
        if let label { text.appendMarkup("<b>", "</b> ") { $0.appendText(label) } }
        text.append(content, size: 8.5)
        paragraph(text, x: x, width: width, family: sans, size: 8.5, color: muted, after: after)
    }

    func figure(_ figure: FigureBlock, x: Double, width: Double) {
        let size = figure.drawing.size
        var scale = min(1, width / size.width)
        let captionHeight = measureHeight(StyledText(figure.caption, size: 8.5), width: width, family: sans, size: 8.5) + 12
        scale = min(scale, (bottomLimit - top - captionHeight) / size.height)
        let w = size.width * scale
        let h = size.height * scale
        y += 6
        ensure(h + captionHeight)
        destination(figure.id, x: x)
        if drawing {
            cairo_save(cr)
            cairo_translate(cr, x + (width - w) / 2, y)
            cairo_scale(cr, scale, scale)
            FigureRenderer.draw(figure.drawing, onCairoContext: cr)
            cairo_restore(cr)
        }
        y += h + 4
        caption("Figure \(figure.number).", figure.caption, x: x, width: width, after: 12)
    }

    func table(_ table: Table, x: Double, width: Double) {
        let size = 8.3
        let padding = 5.0
        let columns = max(table.header.count, table.rows.map(\.count).max() ?? 0)
        guard columns > 0 else { return }
        let allRows = (table.header.isEmpty ? [] : [table.header]) + table.rows
        // Each column gets at least its longest word, then the rest of the width in proportion to how
        // much more its longest cell wants.
        var natural = [Double](repeating: 20, count: columns)
        var minimum = [Double](repeating: 20, count: columns)
        for (r, row) in allRows.enumerated() {
            for (c, cell) in row.enumerated() {
                let bold = r == 0 && !table.header.isEmpty
                natural[c] = max(natural[c], measureWidth(StyledText(cell, size: size), family: sans, size: size, bold: bold) + 2 * padding)
                for word in cell.plainText.split(separator: " ") {
                    minimum[c] = max(minimum[c], measureWidth(StyledText(plain: String(word)), family: sans, size: size, bold: bold) + 2 * padding)
                }
            }
        }
        // Cells of up to 64 points are never wrapped if it can be helped.
        for c in 0..<columns { minimum[c] = max(minimum[c], min(natural[c], 64)) }
        var widths = natural
        if natural.reduce(0, +) > width {
            // Short columns (numbers, names) keep their natural width; the long ones share the rest,
            // each at least its longest word, then in proportion to how much more it wants.
            let flexible = natural.indices.filter { natural[$0] > 64 }
            let remaining = width - natural.indices.filter { natural[$0] <= 64 }.map { natural[$0] }.reduce(0, +)
            let minimumTotal = flexible.map { minimum[$0] }.reduce(0, +)
            if remaining <= 0 || flexible.isEmpty {
                widths = natural.map { $0 * width / natural.reduce(0, +) }
            } else if minimumTotal >= remaining {
                // Even the longest words do not fit (a hash, say): shrink them; they break anywhere.
                for c in flexible { widths[c] = minimum[c] * remaining / minimumTotal }
            } else {
                let wants = flexible.map { max(0, natural[$0] - minimum[$0]) }
                let totalWant = max(1e-9, wants.reduce(0, +))
                for (k, c) in flexible.enumerated() { widths[c] = minimum[c] + (remaining - minimumTotal) * wants[k] / totalWant }
            }
        }
        let tableWidth = min(width, widths.reduce(0, +))
        let x0 = x + (width - tableWidth) / 2
        y += 4
        if table.number != nil || !table.caption.isEmpty {
            ensure(60)
            if let id = table.id { destination(id, x: x) }
            caption(table.number.map { "Table \($0)." }, table.caption, x: x0, width: tableWidth, after: 4)
        }
        func rowHeight(_ row: [[Inline]], bold: Bool) -> Double {
            row.enumerated().map { c, cell in measureHeight(StyledText(cell, size: size), width: widths[c] - 2 * padding, family: sans, size: size, bold: bold) }.max()! + 4
        }
        func drawRow(_ row: [[Inline]], bold: Bool, rule: Double) {
            let height = rowHeight(row, bold: bold)
            let rowTop = y
            var cx = x0
            for (c, cell) in row.enumerated() {
                y = rowTop + 2
                let alignment: PangoAlignment =
                    switch c < table.alignments.count ? table.alignments[c] : .none {
                    case .right: PANGO_ALIGN_RIGHT
                    case .center: PANGO_ALIGN_CENTER
                    default: PANGO_ALIGN_LEFT
                    }
                paragraph(StyledText(cell, size: size), x: cx + padding, width: widths[c] - 2 * padding, family: sans, size: size, bold: bold, alignment: alignment, after: 0)
                cx += widths[c]
            }
            y = rowTop + height
            if drawing {
                setColor(rule > 0.5 ? Color(hex: 0x1D1D1F) : Color(hex: 0xD9D9DE))
                cairo_set_line_width(cr, rule)
                cairo_move_to(cr, x0, y)
                cairo_line_to(cr, x0 + tableWidth, y)
                cairo_stroke(cr)
            }
        }
        let hasHeader = !table.header.isEmpty
        if hasHeader {
            ensure(rowHeight(table.header, bold: true) + rowHeight(table.rows.first ?? table.header, bold: false))
            drawRow(table.header, bold: true, rule: 0.8)
        }
        for row in table.rows {
            let height = rowHeight(row, bold: false)
            if y + height > bottomLimit {
                newPage()
                if hasHeader { drawRow(table.header, bold: true, rule: 0.8) }
            }
            drawRow(row, bold: false, rule: 0.3)
        }
        y += 12
    }

    func notes() {
        guard !document.footnotes.isEmpty else { return }
        heading(2, id: "notes", content: [.text("Notes")], x: left, width: textWidth)
        for note in document.footnotes {
            ensure(bodySize * 1.4)
            destination("fn-\(note.number)", x: left)
            for (i, block) in note.blocks.enumerated() {
                if case .paragraph(let content) = block {
                    var text = StyledText(plain: i == 0 ? "\(note.number). " : "")
                    text.append(content, size: 9)
                    paragraph(text, x: left, width: textWidth, family: body, size: 9, after: 4)
                } else {
                    render(block, x: left + 14, width: textWidth - 14)
                }
            }
        }
    }

    func provenance() {
        guard !context.provenance.isEmpty else { return }
        heading(2, id: "provenance", content: [.text("Provenance")], x: left, width: textWidth)
        let rows = context.provenance.map { [[Inline.text($0.0)], [Inline.text($0.1)]] }
        var table = Table(alignments: [.left, .left], header: [], rows: rows)
        table.caption = []
        self.table(table, x: left, width: textWidth)
    }
}

