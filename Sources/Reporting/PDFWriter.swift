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

/// One layout pass over a document (see `PDFWriter`); the block renderers are in PDFBlocks.swift.
final class PDFPass {
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
    /// Figures that did not fit on the page where they came, placed as soon as they fit (after a page
    /// break, at the latest before the next section), while the text after them fills the page.
    var deferred: [(figure: FigureBlock, x: Double, width: Double)] = []
    /// Whether the block being rendered is at the top level, where a figure may be deferred.
    var topLevel = false

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
        if !document.metadata.authors.isEmpty {
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, document.metadata.authors.joined(separator: ", "))
        }
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
        let blocks = document.blocks
        for (index, block) in blocks.enumerated() {
            // Deferred figures stay in their section: a new section begins after them.
            var section = false
            if case .heading(let level, _, _) = block, level <= 3 { section = true }
            placeDeferredFigures(all: section)
            topLevel = true
            render(block, x: left, width: textWidth, next: index + 1 < blocks.count ? blocks[index + 1] : nil)
            topLevel = false
        }
        placeDeferredFigures(all: true)
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
        let attribute: String
        switch target {
        case .destination(let name):
            guard knownPages[name] != nil else { return }
            attribute = "dest='\(name)'"
        case .uri(let uri): attribute = "uri='\(uri.replacingOccurrences(of: "'", with: "\\'"))'"
        }
        cairo_tag_begin(cr, CAIRO_TAG_LINK, "rect=[\(rect.0) \(rect.1) \(rect.2) \(rect.3)] \(attribute)")
        cairo_tag_end(cr, CAIRO_TAG_LINK)
    }

    // MARK: text

    /// Flows styled text line by line from the current position, breaking pages between lines.
    func paragraph(
        _ text: StyledText, x: Double, width: Double, family: String, size: Double, bold: Bool = false, italic: Bool = false, color: Color? = nil,
        alignment: PangoAlignment = PANGO_ALIGN_LEFT, lineBackground: Color? = nil, after: Double = 6, hyphenate: Bool = true
    ) {
        setFont(layout, family, size, bold: bold, italic: italic)
        pango_layout_set_width(layout, Int32(width * Double(PANGO_SCALE)))
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        pango_layout_set_alignment(layout, alignment)
        pango_layout_set_spacing(layout, 0)
        // A word broken across lines gets no hyphen where `hyphenate` is off (table cells).
        pango_layout_set_markup(layout, hyphenate ? text.markup : "<span insert_hyphens=\"false\">\(text.markup)</span>", -1)
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
}
