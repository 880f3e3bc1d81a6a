/// Cairo names SVG elements (`glyph0-1`, `surface5`, `clip2`, …) from process-wide counters, so the
/// same figure gets different ids depending on what was drawn before, and two figures inlined in one
/// HTML page can collide. This renumbers every id in order of first definition as `<prefix>-<n>` and
/// updates the references to it (`#id` in `href` attributes and `url(#id)`).
enum SVGIdentifiers {
    static func rewrite(_ svg: [UInt8], prefix: String) -> [UInt8] {
        let safePrefix = String(prefix.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        let text = String(decoding: svg, as: UTF8.self)
        var names: [Substring: String] = [:]
        // First pass: the definitions, in document order.
        var rest = text[...]
        while let r = rest.range(of: " id=\"") {
            let tail = rest[r.upperBound...]
            guard let close = tail.firstIndex(of: "\"") else { break }
            let id = tail[..<close]
            if names[id] == nil { names[id] = "\(safePrefix)-\(names.count + 1)" }
            rest = tail[close...]
        }
        // Second pass: rewrite definitions and references.
        var out = ""
        out.reserveCapacity(text.utf8.count + names.count * safePrefix.utf8.count)
        var cursor = text.startIndex
        while cursor < text.endIndex {
            let remaining = text[cursor...]
            let definition = remaining.range(of: " id=\"")
            let reference = remaining.range(of: "#")
            let next: Range<String.Index>
            if let d = definition, reference == nil || d.lowerBound <= reference!.lowerBound { next = d } else if let r = reference { next = r } else {
                out += remaining
                break
            }
            out += text[cursor..<next.upperBound]
            let tail = text[next.upperBound...]
            let end = tail.firstIndex { $0 == "\"" || $0 == ")" } ?? tail.endIndex
            let name = tail[..<end]
            if let renamed = names[name] {
                out += renamed
                cursor = end
            } else {
                cursor = next.upperBound
            }
        }
        return Array(out.utf8)
    }
}
