import CCmark
import FileSupport
import Foundation

/// Reads a markdown template (CommonMark + GFM tables and footnotes, through cmark-gfm) into a
/// `Document`. Beyond markdown it recognises:
/// - cells: a fenced block whose info string is `{.figure #fig-id key=value …}` or `{.table #tab-id …}`;
///   its text is the caption;
/// - `{{ key }}`: a value computed by the cell registry;
/// - `@fig-id`, `@tab-id`, `@sec-id`: cross-references, rendered as "Figure 3" and linked;
/// - `{#id}` at the end of a heading: the heading's anchor;
/// - `[TOC]` alone in a paragraph: the table of contents;
/// - a paragraph `Table: caption {#tab-id}` right after a GFM table: its caption (numbered with the
///   table cells; the id is optional);
/// - `[@key]`, `[@a; @b]`: citations of the BibTeX file the front matter names (`bibliography:`),
///   and `[REFERENCES]` alone in a paragraph: where the cited works are listed;
/// - a fenced block headed `{.when key=value}`: markdown kept only when the condition `key` has that
///   value (for example `{.when dataset=mnist}`: discussion written for one dataset); fence it with
///   four backticks when it holds cells of its own.
/// Raw HTML and images are refused: the PDF could not show them, and figures come from cells.
public enum TemplateReader {
    public static let cellKinds = ["figure", "table"]

    /// Reads the template at `url`; errors name `path:line`. `conditions` are the values that
    /// `{.when key=value}` blocks are held against.
    public static func read(contentsOf url: URL, conditions: [String: String] = [:]) throws -> Document {
        try read(try text(contentsOf: url), file: url.path, conditions: conditions)
    }

    /// The front matter of the template at `url` alone.
    public static func frontMatter(contentsOf url: URL) throws -> FrontMatter {
        try FrontMatterReader.read(try text(contentsOf: url), file: url.path).metadata
    }

    static func text(contentsOf url: URL) throws -> String {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TemplateError(
                file: url.path, line: 1, problem: "cannot read the template (\(FileError.describe(error, path: url.path, expecting: .file)))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TemplateError(file: url.path, line: 1, problem: "the template is not UTF-8 text")
        }
        return text
    }

    /// Reads template `text`; `file` names it in errors.
    public static func read(_ text: String, file: String, conditions: [String: String] = [:]) throws -> Document {
        let (metadata, body, bodyLine) = try FrontMatterReader.read(text, file: file)
        var converter = Converter(file: file, lineOffset: bodyLine - 1)
        converter.conditions = conditions
        let blocks = try converter.parse(body)
        return Document(metadata: metadata, blocks: blocks, footnotes: try converter.footnotes())
    }
}

/// Walks cmark-gfm's tree into `Block`s and `Inline`s.
struct Converter {
    let file: String
    let lineOffset: Int
    /// Footnote definitions: cmark-gfm moves them to the end in order of first reference (dropping
    /// unreferenced ones) and gives each reference its definition's 1-based position as literal.
    var definitions: [(label: String, blocks: [Block])] = []
    var ids: [String: Int] = [:]
    /// The values `{.when key=value}` blocks are held against.
    var conditions: [String: String] = [:]
    /// The formulas of the template, taken out before cmark reads it (`protectMath`) and put back as
    /// `.math` inlines: each placeholder is U+E000, the index, U+E001.
    var maths: [(tex: String, display: Bool)] = []

    init(file: String, lineOffset: Int) {
        self.file = file
        self.lineOffset = lineOffset
    }

    /// GFM's table and strikethrough extensions, registered once: cmark-gfm's registry is not safe
    /// to fill from two threads at once (two templates read in parallel could miss one).
    nonisolated(unsafe) static let syntaxExtensions: [OpaquePointer] = {
        cmark_gfm_core_extensions_ensure_registered()
        return ["table", "strikethrough"].compactMap { (name: String) in cmark_find_syntax_extension(name) }
    }()

    /// cmark-gfm keeps the inline parser's table of special characters in one global: attaching an
    /// extension adds its character ("~"), freeing a parser removes it again, so two templates read
    /// at once on two threads can lose strikethrough. Parsing is serialised (recursive: a
    /// conditional block is parsed inside its template's conversion).
    static let parsing = NSRecursiveLock()

    mutating func parse(_ markdown: String) throws -> [Block] {
        let markdown = try protectMath(markdown)
        Self.parsing.lock()
        defer { Self.parsing.unlock() }
        let parser = cmark_parser_new(CMARK_OPT_SOURCEPOS | CMARK_OPT_FOOTNOTES)!
        defer { cmark_parser_free(parser) }
        for extensionPointer in Self.syntaxExtensions { cmark_parser_attach_syntax_extension(parser, extensionPointer) }
        markdown.withCString { cmark_parser_feed(parser, $0, strlen($0)) }
        let root = cmark_parser_finish(parser)!
        defer { cmark_node_free(root) }
        return try blocks(of: root)
    }

    /// The footnote definitions, numbered in order of first reference.
    func footnotes() throws -> [Footnote] {
        definitions.enumerated().map { Footnote(label: $1.label, number: $0 + 1, blocks: $1.blocks) }
    }

    func line(_ node: OpaquePointer) -> Int { lineOffset + Int(cmark_node_get_start_line(node)) }

    func error(_ node: OpaquePointer, _ problem: String) -> TemplateError { TemplateError(file: file, line: line(node), problem: problem) }

    func children(_ node: OpaquePointer) -> [OpaquePointer] {
        var out: [OpaquePointer] = []
        var child = cmark_node_first_child(node)
        while let c = child {
            out.append(c)
            child = cmark_node_next(c)
        }
        return out
    }

    func literal(_ node: OpaquePointer) -> String { cmark_node_get_literal(node).map { String(cString: $0) } ?? "" }

    mutating func claim(_ id: String, at node: OpaquePointer) throws {
        if let first = ids[id] { throw error(node, "duplicate id '\(id)' (first used on line \(first))") }
        ids[id] = line(node)
    }

    mutating func blocks(of parent: OpaquePointer) throws -> [Block] {
        var out: [Block] = []
        for node in children(parent) {
            if let condition = try condition(node) {
                if condition { out += try conditionalBlocks(node) }
            } else if let block = try block(node) {
                // A paragraph "Table: caption {#tab-id}" right after a table is that table's caption.
                if case .paragraph(var content) = block, case .table(var table)? = out.last, table.caption.isEmpty,
                    case .text(let first)? = content.first, first.hasPrefix("Table: ")
                {
                    content[0] = .text(String(first.dropFirst("Table: ".count)))
                    if case .text(let last)? = content.last, last.hasSuffix("}"), let open = last.range(of: "{#", options: .backwards) {
                        let id = String(last[open.upperBound..<last.index(before: last.endIndex)])
                        try claim(id, at: node)
                        table.id = id
                        content[content.count - 1] = .text(String(last[..<open.lowerBound]).trimmingCharacters())
                    }
                    table.caption = content
                    out[out.count - 1] = .table(table)
                    continue
                }
                out.append(block)
            }
        }
        return out
    }

    /// For a `{.when key=value}` block, whether its condition holds; nil for any other node.
    func condition(_ node: OpaquePointer) throws -> Bool? {
        guard cmark_node_get_type(node) == CMARK_NODE_CODE_BLOCK,
            let info = cmark_node_get_fence_info(node).map({ String(cString: $0).trimmingCharacters() }),
            info.hasPrefix("{.when")
        else { return nil }
        let tokens = try Self.tokens(String(info.dropFirst().dropLast()), onError: { self.error(node, $0) }).dropFirst()
        guard info.hasSuffix("}"), tokens.count == 1, let eq = tokens.first!.firstIndex(of: "=") else {
            throw error(node, "a conditional block is headed {.when key=value}, e.g. {.when dataset=mnist}")
        }
        let (key, value) = (String(tokens.first![..<eq]), String(tokens.first![tokens.first!.index(after: eq)...]))
        guard let actual = conditions[key] else {
            throw error(node, "{.when \(key)=…}: unknown condition '\(key)'; known: \(conditions.keys.sorted().joined(separator: ", "))")
        }
        return actual == value
    }

    /// The markdown inside a conditional block, read with this template's ids (footnotes, which
    /// cmark-gfm numbers per parse, must stay outside).
    mutating func conditionalBlocks(_ node: OpaquePointer) throws -> [Block] {
        var inner = Converter(file: file, lineOffset: line(node))
        inner.ids = ids
        inner.maths = maths
        inner.conditions = conditions
        let blocks = try inner.parse(literal(node))
        guard inner.definitions.isEmpty else {
            throw error(node, "footnotes cannot be defined inside a {.when …} block; define them outside it")
        }
        ids = inner.ids
        return blocks
    }

    mutating func block(_ node: OpaquePointer) throws -> Block? {
        let type = cmark_node_get_type(node)
        switch type {
        case CMARK_NODE_PARAGRAPH:
            let content = try inlines(of: node)
            if content == [.text("[TOC]")] { return .tableOfContents }
            if content == [.text("[REFERENCES]")] { return .references([]) }
            return .paragraph(content)
        case CMARK_NODE_HEADING:
            var content = try inlines(of: node)
            var id: String?
            if case .text(let last)? = content.last, last.hasSuffix("}"), let open = last.range(of: "{#", options: .backwards) {
                id = String(last[open.upperBound..<last.index(before: last.endIndex)])
                let rest = String(last[..<open.lowerBound]).trimmingCharacters()
                content[content.count - 1] = .text(rest)
            }
            let anchor = id ?? Self.slug(content.plainText)
            try claim(anchor, at: node)
            return .heading(level: Int(cmark_node_get_heading_level(node)), id: anchor, content: content)
        case CMARK_NODE_LIST:
            let items = try children(node).map { try blocks(of: $0) }
            return .list(ordered: cmark_node_get_list_type(node) == CMARK_ORDERED_LIST, start: Int(cmark_node_get_list_start(node)), items: items)
        case CMARK_NODE_BLOCK_QUOTE:
            return .quote(try blocks(of: node))
        case CMARK_NODE_CODE_BLOCK:
            let info = cmark_node_get_fence_info(node).map { String(cString: $0) }?.trimmingCharacters() ?? ""
            if info.hasPrefix("{") { return .cell(try cell(info: info, text: literal(node), node: node)) }
            return .code(language: info, text: literal(node))
        case CMARK_NODE_THEMATIC_BREAK:
            return .rule
        case CMARK_NODE_FOOTNOTE_DEFINITION:
            definitions.append((literal(node), try blocks(of: node)))
            return nil
        case CMARK_NODE_HTML_BLOCK:
            throw error(node, "raw HTML is not supported (the PDF cannot show it); use markdown")
        default:
            if String(cString: cmark_node_get_type_string(node)) == "table" { return .table(try table(node)) }
            throw error(node, "unsupported markdown element '\(String(cString: cmark_node_get_type_string(node)))'")
        }
    }

    mutating func table(_ node: OpaquePointer) throws -> Table {
        let columns = Int(cmark_gfm_extensions_get_table_columns(node))
        let raw = cmark_gfm_extensions_get_table_alignments(node)
        let alignments: [Table.Alignment] = (0..<columns).map { i in
            switch raw.map({ UInt8($0[i]) }) ?? 0 {
            case UInt8(ascii: "l"): .left
            case UInt8(ascii: "c"): .center
            case UInt8(ascii: "r"): .right
            default: .none
            }
        }
        var header: [[Inline]] = []
        var rows: [[[Inline]]] = []
        for row in children(node) {
            let cells = try children(row).map { try inlines(of: $0) }
            if cmark_gfm_extensions_get_table_row_is_header(row) != 0 { header = cells } else { rows.append(cells) }
        }
        return Table(alignments: alignments, header: header, rows: rows)
    }

    /// `{.kind #id key=value key="quoted value"}` and the caption text.
    mutating func cell(info: String, text: String, node: OpaquePointer) throws -> Cell {
        guard info.hasSuffix("}") else { throw error(node, "cell header '\(info)' must end with '}'") }
        var kind: String?
        var id: String?
        var attributes: [String: String] = [:]
        for token in try Self.tokens(String(info.dropFirst().dropLast()), onError: { self.error(node, $0) }) {
            if token.hasPrefix(".") {
                guard kind == nil else { throw error(node, "cell '\(info)' names two types") }
                kind = String(token.dropFirst())
            } else if token.hasPrefix("#") {
                id = String(token.dropFirst())
            } else if let eq = token.firstIndex(of: "=") {
                attributes[String(token[..<eq])] = String(token[token.index(after: eq)...])
            } else {
                throw error(node, "cell attribute '\(token)' must be key=value")
            }
        }
        guard let kind else {
            throw error(node, "cell '\(info)' needs a type: \(TemplateReader.cellKinds.map { "." + $0 }.joined(separator: " or "))")
        }
        guard TemplateReader.cellKinds.contains(kind) else {
            throw error(node, "unknown cell type '.\(kind)'; use \(TemplateReader.cellKinds.map { "." + $0 }.joined(separator: " or "))")
        }
        let prefix = kind == "figure" ? "fig-" : "tab-"
        guard let id, id.hasPrefix(prefix), id.count > prefix.count else { throw error(node, "a .\(kind) cell needs an id like #\(prefix)name") }
        try claim(id, at: node)
        var captionParser = Converter(file: file, lineOffset: line(node))
        let captionBlocks = try captionParser.parse(text)
        var caption: [Inline] = []
        for case .paragraph(let content) in captionBlocks { caption += (caption.isEmpty ? [] : [.softBreak]) + content }
        return Cell(kind: kind, id: id, attributes: attributes, caption: caption, line: line(node))
    }

    static func tokens(_ text: String, onError: (String) -> TemplateError) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        var quote: Character?
        for c in text {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
            } else if c == "\"" || c == "'" {
                quote = c
            } else if c == " " || c == "\t" {
                if !current.isEmpty { tokens.append(current) }
                current = ""
            } else {
                current.append(c)
            }
        }
        if quote != nil { throw onError("unclosed quote in cell header '{\(text)}'") }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    mutating func inlines(of parent: OpaquePointer) throws -> [Inline] {
        var out: [Inline] = []
        var lineNumber = line(parent)
        // cmark gives "[", "@key" and "]" as separate text nodes: consecutive ones are split as one.
        var text = ""
        for node in children(parent) {
            if cmark_node_get_type(node) == CMARK_NODE_TEXT {
                text += literal(node)
                continue
            }
            if !text.isEmpty {
                out += try Self.split(text, line: lineNumber, file: file, maths: maths)
                text = ""
            }
            switch cmark_node_get_type(node) {
            case CMARK_NODE_SOFTBREAK:
                out.append(.softBreak)
                lineNumber += 1
            case CMARK_NODE_LINEBREAK:
                out.append(.lineBreak)
                lineNumber += 1
            case CMARK_NODE_CODE: out.append(.code(literal(node)))
            case CMARK_NODE_EMPH: out.append(.emphasis(try inlines(of: node)))
            case CMARK_NODE_STRONG: out.append(.strong(try inlines(of: node)))
            case CMARK_NODE_LINK: out.append(.link(url: cmark_node_get_url(node).map { String(cString: $0) } ?? "", content: try inlines(of: node)))
            case CMARK_NODE_FOOTNOTE_REFERENCE:
                let label = literal(node)
                guard let number = Int(label) else {
                    throw TemplateError(file: file, line: lineNumber, problem: "footnote reference '\(label)' has no number")
                }
                out.append(.footnoteReference(label: label, number: number))
            case CMARK_NODE_IMAGE:
                throw TemplateError(file: file, line: lineNumber, problem: "images are not supported; draw figures with a {.figure #fig-…} cell")
            case CMARK_NODE_HTML_INLINE:
                throw TemplateError(file: file, line: lineNumber, problem: "raw HTML is not supported (the PDF cannot show it); use markdown")
            default:
                if String(cString: cmark_node_get_type_string(node)) == "strikethrough" {
                    out.append(.strikethrough(try inlines(of: node)))
                } else {
                    throw TemplateError(
                        file: file, line: lineNumber, problem: "unsupported markdown element '\(String(cString: cmark_node_get_type_string(node)))'")
                }
            }
        }
        if !text.isEmpty { out += try Self.split(text, line: lineNumber, file: file, maths: maths) }
        return out
    }

    /// Splits text into plain runs, `{{ key }}` values and `@fig-…`/`@tab-…`/`@sec-…` references.
    /// Replaces each `$…$` and `$$…$$` outside code by a placeholder (`maths`), after checking that
    /// the formula parses. A formula stays on one line; `\$` is a dollar sign; an inline `$` must
    /// be followed by a non-space and its closing `$` preceded by one (so "$5 and $6" is text).
    mutating func protectMath(_ markdown: String) throws -> String {
        guard markdown.contains("$") else { return markdown }
        var out: [String] = []
        var fence: String?
        for (number, line) in markdown.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == " " }
            if let open = fence {
                if trimmed.hasPrefix(open) { fence = nil }
                out.append(String(line))
                continue
            }
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fence = String(trimmed.prefix { $0 == trimmed.first })
                out.append(String(line))
                continue
            }
            // An indented code block (four spaces, not in a list) is code too.
            if line.hasPrefix("    ") && !line.contains("$") {
                out.append(String(line))
                continue
            }
            out.append(try protectMath(line: Array(line), number: lineOffset + number + 1))
        }
        return out.joined(separator: "\n")
    }

    mutating func protectMath(line chars: [Character], number: Int) throws -> String {
        var result = ""
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1] == "$" {
                result += "\\$"
                i += 2
                continue
            }
            if c == "`" {
                // A code span: copied as it is, up to the same run of backticks.
                var run = 0
                while i + run < chars.count && chars[i + run] == "`" { run += 1 }
                var j = i + run
                var closed = -1
                while j < chars.count {
                    if chars[j] == "`" {
                        var k = 0
                        while j + k < chars.count && chars[j + k] == "`" { k += 1 }
                        if k == run {
                            closed = j + k
                            break
                        }
                        j += k
                    } else {
                        j += 1
                    }
                }
                let end = closed < 0 ? i + run : closed
                result += String(chars[i..<end])
                i = end
                continue
            }
            if c == "$" {
                let display = i + 1 < chars.count && chars[i + 1] == "$"
                let start = i + (display ? 2 : 1)
                var j = start
                while j < chars.count {
                    if chars[j] == "$" && chars[j - 1] != "\\" && (!display || j + 1 < chars.count && chars[j + 1] == "$") { break }
                    j += 1
                }
                let opensWell = start < chars.count && !chars[start].isWhitespace
                if j < chars.count, opensWell, display || !chars[j - 1].isWhitespace {
                    let tex = String(chars[start..<j]).trimmingCharacters()
                    do {
                        _ = try MathParser.parse(tex)
                    } catch let problem as MathError {
                        throw TemplateError(file: file, line: number, problem: "formula $\(tex)$: \(problem.description)")
                    }
                    result += "\u{E000}\(maths.count)\u{E001}"
                    maths.append((tex, display))
                    i = j + (display ? 2 : 1)
                    continue
                }
                if display { throw TemplateError(file: file, line: number, problem: "'$$' without a closing '$$' on the same line") }
            }
            result.append(c)
            i += 1
        }
        return result
    }

    static func split(_ text: String, line: Int, file: String, maths: [(tex: String, display: Bool)] = []) throws -> [Inline] {
        var out: [Inline] = []
        var plain = ""
        var i = text.startIndex
        func flush() {
            if !plain.isEmpty { out.append(.text(plain)) }
            plain = ""
        }
        while i < text.endIndex {
            let rest = text[i...]
            if text[i] == "\u{E000}", let close = rest.firstIndex(of: "\u{E001}"),
                let index = Int(text[text.index(after: i)..<close]), index < maths.count
            {
                flush()
                out.append(.math(tex: maths[index].tex, display: maths[index].display))
                i = text.index(after: close)
                continue
            }
            if let (keys, end) = citation(rest) {
                flush()
                out.append(.citation(keys: keys, line: line))
                i = end
                continue
            }
            if rest.hasPrefix("{{") {
                guard let close = rest.range(of: "}}") else { throw TemplateError(file: file, line: line, problem: "'{{' without a closing '}}'") }
                let key = rest[rest.index(i, offsetBy: 2)..<close.lowerBound].trimmingCharacters()
                guard !key.isEmpty else { throw TemplateError(file: file, line: line, problem: "empty value '{{ }}'") }
                flush()
                out.append(.value(key: key, line: line))
                i = close.upperBound
                continue
            }
            if text[i] == "@", i == text.startIndex || !(text[text.index(before: i)].isLetter || text[text.index(before: i)].isNumber),
                ["fig-", "tab-", "sec-"].contains(where: { rest.dropFirst().hasPrefix($0) })
            {
                var end = text.index(after: i)
                while end < text.endIndex, text[end].isLetter || text[end].isNumber || text[end] == "-" || text[end] == "_" {
                    end = text.index(after: end)
                }
                // A trailing hyphen belongs to the sentence, not the id.
                while text[text.index(before: end)] == "-" { end = text.index(before: end) }
                flush()
                out.append(.crossReference(id: String(text[text.index(after: i)..<end]), line: line))
                i = end
                continue
            }
            plain.append(text[i])
            i = text.index(after: i)
        }
        flush()
        return out
    }

    /// The keys of a citation at the start of `rest` ("[@a; @b]"), and the text after it; nil when
    /// `rest` does not start with one.
    static func citation(_ rest: Substring) -> (keys: [String], end: String.Index)? {
        guard rest.hasPrefix("[@"), let close = rest.firstIndex(of: "]") else { return nil }
        let inner = rest[rest.index(after: rest.startIndex)..<close]
        var keys: [String] = []
        for part in inner.split(separator: ";") {
            let key = part.trimmingCharacters()
            guard key.hasPrefix("@"), key.count > 1,
                key.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || "_-:.".contains($0) })
            else { return nil }
            keys.append(String(key.dropFirst()))
        }
        return keys.isEmpty ? nil : (keys, rest.index(after: close))
    }

    /// A heading's anchor: lower case, letters and digits, words joined by hyphens.
    static func slug(_ text: String) -> String {
        var out = ""
        for c in text.lowercased() {
            if c.isLetter || c.isNumber {
                out.append(c)
            } else if !out.isEmpty && out.last != "-" {
                out.append("-")
            }
        }
        while out.last == "-" { out.removeLast() }
        return out.isEmpty ? "section" : "sec-" + out
    }
}
