/// Passes over a document: each a function from document to document.
public enum Passes {
    /// Numbers figure and table cells (and GFM tables that carry an id) in document order.
    public static func number(_ document: Document) -> Document {
        var counts: [String: Int] = [:]
        var out = document
        out.blocks = document.blocks.map { block in
            block.rewritten { inner in
                guard case .cell(var cell) = inner else { return inner }
                counts[cell.kind, default: 0] += 1
                cell.number = counts[cell.kind]!
                return .cell(cell)
            }
        }
        return out
    }

    /// What each id refers to: "Figure 3", "Table 1", or a section's title.
    public static func labels(_ document: Document) -> [String: String] {
        var labels: [String: String] = [:]
        for block in document.allBlocks {
            switch block {
            case .cell(let cell): labels[cell.id] = "\(cell.kind == "figure" ? "Figure" : "Table") \(cell.number)"
            case .figure(let figure): labels[figure.id] = "Figure \(figure.number)"
            case .table(let table): if let id = table.id, let n = table.number { labels[id] = "Table \(n)" }
            case .heading(_, let id, let content): labels[id] = content.plainText
            default: break
            }
        }
        return labels
    }

    /// Turns every `@id` into a link to its target labelled "Figure 3"; an id with no target is an
    /// error at its line.
    public static func resolveCrossReferences(_ document: Document, file: String) throws -> Document {
        let labels = labels(document)
        var out = document
        out.blocks = try document.blocks.map { try mapInlines($0) { try resolve($0, labels, file) } }
        out.footnotes = try document.footnotes.map { note in
            var note = note
            note.blocks = try note.blocks.map { try mapInlines($0) { try resolve($0, labels, file) } }
            return note
        }
        return out
    }

    private static func resolve(_ inline: Inline, _ labels: [String: String], _ file: String) throws -> [Inline] {
        guard case .crossReference(let id, let line) = inline else { return [inline] }
        guard let label = labels[id] else {
            throw TemplateError(file: file, line: line, problem: "dangling cross-reference @\(id): no figure, table or section has that id")
        }
        return [.link(url: "#" + id, content: [.text(label)])]
    }

    /// Applies `transform` to every inline of `block` (recursively), each inline giving zero or more.
    public static func mapInlines(_ block: Block, _ transform: (Inline) throws -> [Inline]) throws -> Block {
        func map(_ inlines: [Inline]) throws -> [Inline] {
            try inlines.flatMap { inline -> [Inline] in
                switch inline {
                case .emphasis(let c): return [.emphasis(try map(c))]
                case .strong(let c): return [.strong(try map(c))]
                case .strikethrough(let c): return [.strikethrough(try map(c))]
                case .link(let url, let c): return [.link(url: url, content: try map(c))]
                default: return try transform(inline)
                }
            }
        }
        switch block {
        case .heading(let level, let id, let content): return .heading(level: level, id: id, content: try map(content))
        case .paragraph(let content): return .paragraph(try map(content))
        case .list(let ordered, let start, let items):
            return .list(ordered: ordered, start: start, items: try items.map { try $0.map { try mapInlines($0, transform) } })
        case .quote(let blocks): return .quote(try blocks.map { try mapInlines($0, transform) })
        case .table(var table):
            table.caption = try map(table.caption)
            table.header = try table.header.map(map)
            table.rows = try table.rows.map { try $0.map(map) }
            return .table(table)
        case .figure(var figure):
            figure.caption = try map(figure.caption)
            return .figure(figure)
        case .cell(var cell):
            cell.caption = try map(cell.caption)
            return .cell(cell)
        case .code, .rule, .tableOfContents: return block
        }
    }

    /// The headings of levels 2 and 3, for the table of contents.
    public static func outline(_ document: Document) -> [(level: Int, id: String, title: String)] {
        document.blocks.compactMap {
            if case .heading(let level, let id, let content) = $0, level == 2 || level == 3 { (level, id, content.plainText) } else { nil }
        }
    }
}
