/// Passes over a document: each a function from document to document.
public enum Passes {
    /// Numbers figure and table cells, and GFM tables with a caption, in document order.
    public static func number(_ document: Document) -> Document {
        var counts: [String: Int] = [:]
        var out = document
        out.blocks = document.blocks.map { block in
            block.rewritten { inner in
                if case .table(var table) = inner, !table.caption.isEmpty {
                    counts["table", default: 0] += 1
                    table.number = counts["table"]!
                    return .table(table)
                }
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

    /// Turns every citation into author–year links ("(Louizos et al., 2018)") to the bibliography, and
    /// fills the `[REFERENCES]` block with the cited entries sorted by author and year (one is added
    /// at the end, under a "References" heading, when the template has none). A key missing from the
    /// bibliography is an error at its line.
    public static func resolveCitations(_ document: Document, bibliography: Bibliography?, file: String) throws -> Document {
        // The keys cited, in order of first citation.
        var cited: [String] = []
        func collect(_ inline: Inline) throws -> [Inline] {
            guard case .citation(let keys, let line) = inline else { return [inline] }
            guard let bibliography else {
                throw TemplateError(
                    file: file, line: line, problem: "cites [@\(keys[0])] but the front matter names no bibliography (bibliography: references.bib)")
            }
            for key in keys {
                guard bibliography[key] != nil else {
                    throw TemplateError(file: file, line: line, problem: "unknown citation key @\(key): it is not in the bibliography")
                }
                if !cited.contains(key) { cited.append(key) }
            }
            return [inline]
        }
        for block in document.blocks { _ = try mapInlines(block, collect) }
        for note in document.footnotes { for block in note.blocks { _ = try mapInlines(block, collect) } }
        guard let bibliography, !cited.isEmpty else { return document }

        let entries = cited.compactMap { bibliography[$0] }.sorted {
            ($0.familyNames.first ?? $0.key, $0.fields["year"] ?? "", $0.key) < ($1.familyNames.first ?? $1.key, $1.fields["year"] ?? "", $1.key)
        }
        // Labels, with a, b… after the year where two entries would read the same.
        var labels: [String: String] = [:]
        let groups = Dictionary(grouping: entries, by: \.label)
        for entry in entries {
            let same = groups[entry.label] ?? []
            labels[entry.key] =
                same.count > 1 ? entry.label + String(UnicodeScalar(UInt8(97 + same.firstIndex(of: entry)!))) : entry.label
        }
        func resolve(_ inline: Inline) throws -> [Inline] {
            guard case .citation(let keys, _) = inline else { return [inline] }
            var out: [Inline] = [.text("(")]
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(.text("; ")) }
                out.append(.link(url: "#ref-" + key, content: [.text(labels[key]!)]))
            }
            out.append(.text(")"))
            return out
        }
        let references = Block.references(entries.map { Reference(id: "ref-" + $0.key, content: referenceText($0, label: labels[$0.key]!)) })
        var out = document
        var placed = false
        out.blocks = try document.blocks.map { block in
            if case .references = block {
                placed = true
                return references
            }
            return try mapInlines(block, resolve)
        }
        if !placed { out.blocks += [.heading(level: 2, id: "sec-references", content: [.text("References")]), references] }
        out.footnotes = try document.footnotes.map { note in
            var note = note
            note.blocks = try note.blocks.map { try mapInlines($0, resolve) }
            return note
        }
        return out
    }

    /// "C. Louizos, M. Welling and D. P. Kingma (2018). Title. Venue. https://…"
    static func referenceText(_ entry: Bibliography.Entry, label: String) -> [Inline] {
        let names = entry.names
        let authors: String
        switch names.count {
        case 0: authors = ""
        case 1: authors = names[0]
        default: authors = names.dropLast().joined(separator: ", ") + " and " + names.last!
        }
        // The year as the label has it (with its a, b…).
        let year = label.split(separator: ",").last.map { $0.trimmingCharacters() } ?? entry.fields["year"] ?? ""
        var out: [Inline] = []
        let lead = [authors, year.isEmpty ? "" : "(\(year))"].filter { !$0.isEmpty }.joined(separator: " ")
        if !lead.isEmpty { out.append(.text(lead + ". ")) }
        if let title = entry["title"] { out.append(.text(title.hasSuffix(".") || title.hasSuffix("?") ? title + " " : title + ". ")) }
        let venue = entry["journal"] ?? entry["booktitle"] ?? entry["howpublished"] ?? entry["publisher"] ?? entry["institution"]
        if let venue {
            out.append(.emphasis([.text(venue)]))
            var details: [String] = []
            if let volume = entry["volume"] { details.append(entry["number"].map { "\(volume)(\($0))" } ?? volume) }
            if let pages = entry["pages"] { details.append(pages) }
            out.append(.text(details.isEmpty ? ". " : ", " + details.joined(separator: ", ") + ". "))
        }
        if let note = entry["note"] { out.append(.text(note.hasSuffix(".") ? note + " " : note + ". ")) }
        if let url = entry.url { out.append(.link(url: url, content: [.text(url)])) }
        if case .text(let last)? = out.last, last.hasSuffix(" ") { out[out.count - 1] = .text(String(last.dropLast())) }
        return out
    }

    /// Units that must stay on the line of their number.
    static let units = ["%", "‰", "ms", "s", "min", "h", "MB", "GB", "MiB", "GiB", "KiB", "GFLOP/s", "pt", "px", "k", "M", "epochs", "×"]

    /// Joins every number to a following unit with a no-break space ("0.5 s", "1.45 %"), in text,
    /// captions and tables, so that no writer breaks a line between them.
    public static func bindUnits(_ document: Document) -> Document {
        var out = document
        out.blocks = document.blocks.map { block in
            (try? mapInlines(block) { inline in
                guard case .text(let text) = inline else { return [inline] }
                return [.text(bindUnits(text))]
            }) ?? block
        }
        return out
    }

    /// `text` with the space between a digit and a unit (then a non-letter or the end) made a
    /// no-break space.
    public static func bindUnits(_ text: String) -> String {
        guard text.contains(" ") else { return text }
        var characters = Array(text)
        var i = 1
        while i + 1 < characters.count {
            if characters[i] == " ", characters[i - 1].isNumber {
                let rest = characters[(i + 1)...]
                for unit in units where rest.starts(with: unit) {
                    let after = i + 1 + unit.count
                    if after == characters.count || !characters[after].isLetter {
                        characters[i] = "\u{00A0}"
                        break
                    }
                }
            }
            i += 1
        }
        return String(characters)
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
        case .references(let references):
            return .references(try references.map { Reference(id: $0.id, content: try map($0.content)) })
        case .code, .rule, .tableOfContents: return block
        }
    }

    /// The table of contents: the headings of levels 2 and 3, then the Notes (when there are
    /// footnotes) and the Provenance the writers add after the body.
    public static func contents(_ document: Document) -> [(level: Int, id: String, title: String)] {
        outline(document) + (document.footnotes.isEmpty ? [] : [(2, "notes", "Notes")]) + [(2, "provenance", "Provenance")]
    }

    /// The headings of levels 2 and 3, for the table of contents.
    public static func outline(_ document: Document) -> [(level: Int, id: String, title: String)] {
        document.blocks.compactMap {
            if case .heading(let level, let id, let content) = $0, level == 2 || level == 3 { (level, id, content.plainText) } else { nil }
        }
    }
}
