import CCairo
import Foundation

/// A `Canvas` on a Cairo context, with text laid out by Pango. Hinting is off and glyph positions are
/// not rounded, so text measures the same on every surface and a figure lays out identically as PNG,
/// SVG and PDF.
final class CairoCanvas: Canvas {
    private let cr: OpaquePointer
    private let layout: OpaquePointer
    private var fonts: [TextStyle: OpaquePointer] = [:]

    init(_ cr: OpaquePointer) {
        self.cr = cr
        layout = pango_cairo_create_layout(cr)
        let context = pango_layout_get_context(layout)
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        pango_cairo_context_set_font_options(context, options)
        cairo_font_options_destroy(options)
        pango_context_set_round_glyph_positions(context, 0)
        // One point per user-space unit, so font sizes and markup sizes (<sub>, <sup>) are in points.
        pango_cairo_context_set_resolution(context, 72)
        pango_layout_context_changed(layout)
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT)
    }

    deinit {
        for font in fonts.values { pango_font_description_free(font) }
        g_object_unref(UnsafeMutableRawPointer(layout))
    }

    private func setColor(_ c: Color) { cairo_set_source_rgba(cr, c.red, c.green, c.blue, c.alpha) }

    private func trace(_ path: Path) {
        cairo_new_path(cr)
        for element in path.elements {
            switch element {
            case .move(let p): cairo_move_to(cr, p.x, p.y)
            case .line(let p): cairo_line_to(cr, p.x, p.y)
            case .close: cairo_close_path(cr)
            case .circle(let c, let r):
                cairo_new_sub_path(cr)
                cairo_arc(cr, c.x, c.y, r, 0, 2 * Double.pi)
                cairo_close_path(cr)
            }
        }
    }

    func fill(_ path: Path, color: Color) {
        trace(path)
        setColor(color)
        cairo_fill(cr)
    }

    func stroke(_ path: Path, style: StrokeStyle) {
        trace(path)
        setColor(style.color)
        cairo_set_line_width(cr, style.width)
        style.dash.withUnsafeBufferPointer { cairo_set_dash(cr, $0.baseAddress, Int32($0.count), 0) }
        cairo_stroke(cr)
    }

    /// Sets the layout's text and font and returns its logical box: (x, y, width, height) in points.
    private func prepare(_ markup: String, _ style: TextStyle) -> (Double, Double, Double, Double) {
        pango_layout_set_font_description(layout, font(style))
        if Self.isValidMarkup(markup) {
            pango_layout_set_markup(layout, Self.expandScripts(markup, size: style.size), -1)
        } else {
            pango_layout_set_text(layout, markup, -1)
        }
        var ink = PangoRectangle()
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, &ink, &logical)
        let scale = Double(PANGO_SCALE)
        return (Double(logical.x) / scale, Double(logical.y) / scale, Double(logical.width) / scale, Double(logical.height) / scale)
    }

    private func font(_ style: TextStyle) -> OpaquePointer {
        if let font = fonts[style] { return font }
        let font = pango_font_description_new()!
        pango_font_description_set_family(font, style.family)
        pango_font_description_set_weight(font, style.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        pango_font_description_set_size(font, Int32((style.size * Double(PANGO_SCALE)).rounded()))
        fonts[style] = font
        return font
    }

    /// Replaces `<sub>` and `<sup>` by spans with explicit sizes and rises: Pango 1.50 scales its own
    /// sub- and superscripts from the context's default size, not the layout's font, which draws them
    /// (and the text around them) at the wrong size.
    static func expandScripts(_ markup: String, size: Double) -> String {
        guard markup.contains("<su") else { return markup }
        let small = Int((size * 0.72 * Double(PANGO_SCALE)).rounded())
        let sub = Int((size * 0.22 * Double(PANGO_SCALE)).rounded())
        let sup = Int((size * 0.38 * Double(PANGO_SCALE)).rounded())
        return markup.replacingOccurrences(of: "<sub>", with: "<span size=\"\(small)\" rise=\"-\(sub)\">")
            .replacingOccurrences(of: "<sup>", with: "<span size=\"\(small)\" rise=\"\(sup)\">")
            .replacingOccurrences(of: "</sub>", with: "</span>").replacingOccurrences(of: "</sup>", with: "</span>")
    }

    /// Whether Pango accepts `markup` (checked quietly: invalid markup is drawn as plain text instead
    /// of making Pango log a warning).
    static func isValidMarkup(_ markup: String) -> Bool {
        guard markup.contains("<") || markup.contains("&") else { return true }
        var error: UnsafeMutablePointer<GError>?
        let ok = pango_parse_markup(markup, -1, 0, nil, nil, nil, &error) != 0
        if let error { g_error_free(error) }
        return ok
    }

    func text(_ markup: String, style: TextStyle, at position: Point, anchor: TextAnchor, rotation: Double) {
        let (x, y, width, height) = prepare(markup, style)
        let dx: Double =
            switch anchor.horizontal {
            case .left: 0
            case .center: width / 2
            case .right: width
            }
        let dy: Double =
            switch anchor.vertical {
            case .top: 0
            case .middle: height / 2
            case .bottom: height
            }
        cairo_save(cr)
        cairo_translate(cr, position.x, position.y)
        if rotation != 0 { cairo_rotate(cr, rotation) }
        cairo_move_to(cr, -x - dx, -y - dy)
        setColor(style.color)
        pango_cairo_update_layout(cr, layout)
        pango_cairo_show_layout(cr, layout)
        cairo_restore(cr)
    }

    func measure(_ markup: String, style: TextStyle) -> Size {
        let (_, _, width, height) = prepare(markup, style)
        return Size(width: width, height: height)
    }

    func pushClip(_ rect: Rect) {
        cairo_save(cr)
        cairo_new_path(cr)
        cairo_rectangle(cr, rect.x, rect.y, rect.width, rect.height)
        cairo_clip(cr)
    }

    func popClip() { cairo_restore(cr) }
}
