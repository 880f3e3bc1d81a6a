/// Cairo names SVG elements (`glyph0-1`, `surface5`, `clip2`, …) from process-wide counters, so the
/// same figure gets different ids depending on what was drawn before, and two figures inlined in one
/// HTML page can collide. This renumbers every id in order of first definition as `<prefix>-<n>` and
/// updates the references to it (`#id` in `href` attributes and `url(#id)`). One pass over the bytes
/// to collect the definitions, one to rewrite.
enum SVGIdentifiers {
    private static let definition = Array(" id=\"".utf8)
    private static let quote = UInt8(ascii: "\"")
    private static let hash = UInt8(ascii: "#")
    private static let closingParenthesis = UInt8(ascii: ")")

    static func rewrite(_ svg: [UInt8], prefix: String) -> [UInt8] {
        let safePrefix = Array(String(prefix.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }).utf8)
        return svg.withUnsafeBufferPointer { bytes in
            var names: [ArraySlice<UInt8>: [UInt8]] = [:]
            var i = 0
            while let start = find(definition, in: bytes, from: i) {
                let end = scan(bytes, from: start) { $0 == quote }
                let id = ArraySlice(bytes[start..<end])
                if names[id] == nil { names[id] = safePrefix + Array("-\(names.count + 1)".utf8) }
                i = end
            }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + names.count * safePrefix.count)
            i = 0
            while i < bytes.count {
                let byte = bytes[i]
                if byte == hash || (byte == definition[0] && matches(definition, in: bytes, at: i)) {
                    let start = byte == hash ? i + 1 : i + definition.count
                    let end = scan(bytes, from: start) { $0 == quote || $0 == closingParenthesis }
                    if let renamed = names[ArraySlice(bytes[start..<end])] {
                        out.append(contentsOf: bytes[i..<start])
                        out.append(contentsOf: renamed)
                        i = end
                        continue
                    }
                }
                out.append(byte)
                i += 1
            }
            return out
        }
    }

    /// The index just after the next occurrence of `pattern` at or after `from`.
    private static func find(_ pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var i = from
        while i + pattern.count <= bytes.count {
            if bytes[i] == pattern[0] && matches(pattern, in: bytes, at: i) { return i + pattern.count }
            i += 1
        }
        return nil
    }

    private static func matches(_ pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        guard i + pattern.count <= bytes.count else { return false }
        for k in 0..<pattern.count where bytes[i + k] != pattern[k] { return false }
        return true
    }

    /// The first index at or after `from` whose byte satisfies `stop`, or the end.
    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, until stop: (UInt8) -> Bool) -> Int {
        var i = from
        while i < bytes.count && !stop(bytes[i]) { i += 1 }
        return i
    }
}
