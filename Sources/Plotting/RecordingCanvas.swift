/// A canvas that records what is drawn instead of drawing it, so that chart logic (which series,
/// which ticks, which legend entries, where) can be tested without pixels.
public final class RecordingCanvas: Canvas {
    /// One recorded call.
    public enum Operation: Equatable, Codable, Sendable {
        case fill(Path, Color)
        case stroke(Path, StrokeStyle)
        case text(String, TextStyle, Point, TextAnchor, Double)
        case pushClip(Rect)
        case popClip
    }

    public private(set) var operations: [Operation] = []
    private let measureText: (String, TextStyle) -> Size

    /// Text is measured by `measure`, by default an estimate from the character count (0.6 em per
    /// character, 1.2 em high) so that recording needs no fonts.
    public init(measure: @escaping (String, TextStyle) -> Size = RecordingCanvas.estimatedSize) {
        measureText = measure
    }

    public func fill(_ path: Path, color: Color) { operations.append(.fill(path, color)) }
    public func stroke(_ path: Path, style: StrokeStyle) { operations.append(.stroke(path, style)) }
    public func text(_ markup: String, style: TextStyle, at position: Point, anchor: TextAnchor, rotation: Double) {
        operations.append(.text(markup, style, position, anchor, rotation))
    }
    public func measure(_ markup: String, style: TextStyle) -> Size { measureText(markup, style) }
    public func pushClip(_ rect: Rect) { operations.append(.pushClip(rect)) }
    public func popClip() { operations.append(.popClip) }

    /// Every text drawn, in order.
    public var texts: [String] {
        operations.compactMap { if case .text(let s, _, _, _, _) = $0 { s } else { nil } }
    }

    /// Every stroked path drawn in `color`.
    public func strokes(color: Color) -> [Path] {
        operations.compactMap { if case .stroke(let p, let s) = $0, s.color == color { p } else { nil } }
    }

    /// Every filled path drawn in `color`.
    public func fills(color: Color) -> [Path] {
        operations.compactMap { if case .fill(let p, let c) = $0, c == color { p } else { nil } }
    }

    /// Draws the recorded operations on `canvas`, in order.
    public static func replay(_ operations: [Operation], on canvas: any Canvas) {
        for operation in operations {
            switch operation {
            case .fill(let path, let color): canvas.fill(path, color: color)
            case .stroke(let path, let style): canvas.stroke(path, style: style)
            case .text(let markup, let style, let position, let anchor, let rotation):
                canvas.text(markup, style: style, at: position, anchor: anchor, rotation: rotation)
            case .pushClip(let rect): canvas.pushClip(rect)
            case .popClip: canvas.popClip()
            }
        }
    }

    public static func estimatedSize(_ markup: String, _ style: TextStyle) -> Size {
        var characters = 0
        var inTag = false
        for c in markup {
            if c == "<" { inTag = true } else if c == ">" { inTag = false } else if !inTag { characters += 1 }
        }
        return Size(width: 0.6 * style.size * Double(characters), height: 1.2 * style.size)
    }
}
