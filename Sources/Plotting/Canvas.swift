/// One step of a path.
public enum PathElement: Equatable, Codable, Sendable {
    case move(Point)
    case line(Point)
    /// A full circle, as its own closed sub-path.
    case circle(center: Point, radius: Double)
    case close
}

/// A sequence of sub-paths in canvas coordinates.
public struct Path: Equatable, Codable, Sendable {
    public var elements: [PathElement] = []

    public init() {}

    public mutating func move(to p: Point) { elements.append(.move(p)) }
    public mutating func line(to p: Point) { elements.append(.line(p)) }
    public mutating func close() { elements.append(.close) }

    /// An open polyline through `points`.
    public static func polyline(_ points: [Point]) -> Path {
        var path = Path()
        for (i, p) in points.enumerated() { i == 0 ? path.move(to: p) : path.line(to: p) }
        return path
    }

    /// A closed polygon through `points`.
    public static func polygon(_ points: [Point]) -> Path {
        var path = polyline(points)
        if !points.isEmpty { path.close() }
        return path
    }

    public static func rect(_ r: Rect) -> Path {
        polygon([Point(r.minX, r.minY), Point(r.maxX, r.minY), Point(r.maxX, r.maxY), Point(r.minX, r.maxY)])
    }

    public static func circle(_ center: Point, radius: Double) -> Path {
        var path = Path()
        path.elements.append(.circle(center: center, radius: radius))
        return path
    }

    /// The vertices of the path (circle centres included), for hit counting.
    public var points: [Point] {
        elements.compactMap {
            switch $0 {
            case .move(let p), .line(let p): p
            case .circle(let c, _): c
            case .close: nil
            }
        }
    }
}

/// How a path's outline is drawn.
public struct StrokeStyle: Equatable, Codable, Sendable {
    public var width: Double
    public var color: Color
    /// Alternating on/off lengths in points; empty for a solid line.
    public var dash: [Double]

    public init(width: Double, color: Color, dash: [Double] = []) {
        self.width = width
        self.color = color
        self.dash = dash
    }
}

/// The font of a piece of text. Text is Pango markup: `<i>`, `<b>`, `<sub>`, `<sup>` and Unicode
/// (Greek letters, minus signs) are all fine; `&`, `<` and `>` must be escaped (see `Markup.escape`).
public struct TextStyle: Hashable, Codable, Sendable {
    public var family: String
    public var size: Double
    public var color: Color
    public var bold: Bool

    public init(family: String = Theme.standard.fontFamily, size: Double, color: Color = .black, bold: Bool = false) {
        self.family = family
        self.size = size
        self.color = color
        self.bold = bold
    }
}

/// Which point of a text's box is placed at the given position.
public struct TextAnchor: Equatable, Codable, Sendable {
    public enum Horizontal: String, Codable, Sendable { case left, center, right }
    public enum Vertical: String, Codable, Sendable { case top, middle, bottom }

    public var horizontal: Horizontal
    public var vertical: Vertical

    public init(_ horizontal: Horizontal, _ vertical: Vertical) {
        self.horizontal = horizontal
        self.vertical = vertical
    }
}

/// The drawing surface charts are written against: a tiny core of fill, stroke, text and clipping
/// that Cairo implements for PNG, SVG and PDF, and `RecordingCanvas` implements for tests.
public protocol Canvas: AnyObject {
    func fill(_ path: Path, color: Color)
    func stroke(_ path: Path, style: StrokeStyle)
    /// Draws `markup` so that `anchor` of its (unrotated) box lands on `position`, then rotates it by
    /// `rotation` radians about that point (−π/2 reads bottom to top).
    func text(_ markup: String, style: TextStyle, at position: Point, anchor: TextAnchor, rotation: Double)
    /// The size of `markup`'s box, unrotated.
    func measure(_ markup: String, style: TextStyle) -> Size
    /// Restricts drawing to `rect` until the matching `popClip`.
    func pushClip(_ rect: Rect)
    func popClip()
}

extension Canvas {
    func text(_ markup: String, style: TextStyle, at position: Point, anchor: TextAnchor) {
        text(markup, style: style, at: position, anchor: anchor, rotation: 0)
    }
}

/// Helpers for Pango markup.
public enum Markup {
    /// Escapes `&`, `<`, `>`, `'` and `"` so that plain text can be used as markup.
    public static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&#39;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// The text of Pango markup: tags dropped, the five entities and numeric ones read back.
    public static func plain(_ markup: String) -> String {
        var out = ""
        var index = markup.startIndex
        while index < markup.endIndex {
            let c = markup[index]
            if c == "<", let close = markup[index...].firstIndex(of: ">") {
                index = markup.index(after: close)
                continue
            }
            if c == "&", let semicolon = markup[index...].prefix(10).firstIndex(of: ";") {
                let name = markup[markup.index(after: index)..<semicolon]
                let named: [Substring: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
                var decoded = named[name]
                if decoded == nil, name.hasPrefix("#") {
                    let digits = name.dropFirst()
                    let code = digits.hasPrefix("x") ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits)
                    decoded = code.flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                }
                if let decoded {
                    out += decoded
                    index = markup.index(after: semicolon)
                    continue
                }
            }
            out.append(c)
            index = markup.index(after: index)
        }
        return out
    }
}
