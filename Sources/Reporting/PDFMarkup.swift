import Plotting

/// Inline content as Pango markup, with the byte ranges of its links in the visible text (Pango
/// indexes layouts by UTF-8 byte).
struct StyledText {
    /// Where a link points: a named destination in this PDF, or a URI.
    enum Target: Equatable {
        case destination(String)
        case uri(String)
    }

    var markup = ""
    var visibleBytes = 0
    var links: [(range: Range<Int>, target: Target)] = []

    /// Builds the markup of `content` at base font size `size` (for sub/superscript spans).
    init(_ content: [Inline], size: Double) {
        append(content, size: size)
    }

    init(plain: String) {
        appendText(plain)
    }

    mutating func appendText(_ s: String) {
        let s = Self.joiningFractions(s)
        markup += Markup.escape(s)
        visibleBytes += s.utf8.count
    }

    /// `s` with a word joiner after each slash between a digit and a letter, so that a line never
    /// breaks inside "λ = 0.1/N".
    static func joiningFractions(_ s: String) -> String {
        guard s.contains("/") else { return s }
        let characters = Array(s)
        var out = ""
        for (i, c) in characters.enumerated() {
            out.append(c)
            if c == "/", i > 0, characters[i - 1].isNumber, i + 1 < characters.count, characters[i + 1].isLetter {
                out.append("\u{2060}")
            }
        }
        return out
    }

    mutating func appendMarkup(_ open: String, _ close: String, _ body: (inout StyledText) -> Void) {
        markup += open
        body(&self)
        markup += close
    }

    mutating func append(_ content: [Inline], size: Double) {
        for inline in content {
            switch inline {
            case .text(let s): appendText(s)
            case .emphasis(let c): appendMarkup("<i>", "</i>") { $0.append(c, size: size) }
            case .strong(let c): appendMarkup("<b>", "</b>") { $0.append(c, size: size) }
            case .strikethrough(let c): appendMarkup("<s>", "</s>") { $0.append(c, size: size) }
            case .code(let s):
                appendMarkup("<span font_family=\"DejaVu Sans Mono\" size=\"\(Int(size * 0.88 * 1024))\">", "</span>") { $0.appendText(s) }
            case .link(let url, let c):
                let start = visibleBytes
                appendMarkup("<span foreground=\"#0072B2\">", "</span>") { $0.append(c, size: size) }
                let target: Target = url.hasPrefix("#") ? .destination(String(url.dropFirst())) : .uri(url)
                links.append((start..<visibleBytes, target))
            case .softBreak: appendText(" ")
            case .lineBreak: appendText("\u{2028}")
            case .footnoteReference(_, let n):
                let start = visibleBytes
                appendMarkup("<span size=\"\(Int(size * 0.7 * 1024))\" rise=\"\(Int(size * 0.38 * 1024))\" foreground=\"#0072B2\">", "</span>") {
                    $0.appendText(String(n))
                }
                links.append((start..<visibleBytes, .destination("fn-\(n)")))
            case .crossReference(let id, _): appendText("@" + id)
            case .value(let key, _): appendText("{{ \(key) }}")
            case .citation(let keys, _): appendText("[" + keys.map { "@" + $0 }.joined(separator: "; ") + "]")
            case .math(let tex, _):
                guard let node = try? MathParser.parse(tex) else {
                    appendText(tex)
                    break
                }
                // Typeset in the body's serif face; its visible text counts for the links after it.
                let formula = MathMarkup.render(node, size: size)
                markup += "<span font_family=\"DejaVu Serif\">\(formula)</span>"
                visibleBytes += Markup.plain(formula).utf8.count
            }
        }
    }
}
