import Plotting

/// A report as plain data: what the template reader produces, the passes transform, and the writers
/// turn into HTML and PDF. No I/O here.
public struct Document: Equatable, Sendable {
    public var metadata: FrontMatter
    public var blocks: [Block]
    /// Footnotes in order of first reference, numbered from 1.
    public var footnotes: [Footnote]

    public init(metadata: FrontMatter, blocks: [Block], footnotes: [Footnote] = []) {
        self.metadata = metadata
        self.blocks = blocks
        self.footnotes = footnotes
    }
}

/// The template's front matter.
public struct FrontMatter: Equatable, Sendable {
    public var title: String
    public var subtitle: String?
    public var authors: [String]
    public var profile: String?
    public var dataset: String?
    /// Other `key: value` pairs, and the `parameters:` block flattened as `parameters.key`.
    public var fields: [String: String]

    public init(
        title: String, subtitle: String? = nil, authors: [String] = [], profile: String? = nil, dataset: String? = nil, fields: [String: String] = [:]
    ) {
        self.title = title
        self.subtitle = subtitle
        self.authors = authors
        self.profile = profile
        self.dataset = dataset
        self.fields = fields
    }
}

/// A block-level element.
public indirect enum Block: Equatable, Sendable {
    /// `id` is the anchor (a slug of the text unless given as `{#id}`).
    case heading(level: Int, id: String, content: [Inline])
    case paragraph([Inline])
    case list(ordered: Bool, start: Int, items: [[Block]])
    case quote([Block])
    case code(language: String, text: String)
    case table(Table)
    case figure(FigureBlock)
    /// A cell of the template not yet evaluated; the evaluation pass replaces it.
    case cell(Cell)
    case rule
    /// Where the table of contents goes (`[TOC]` on a line of its own).
    case tableOfContents
    /// The bibliography: the cited works, each with its anchor (`[REFERENCES]` on a line of its own
    /// until the citation pass fills it).
    case references([Reference])
}

/// One entry of the bibliography: its anchor ("ref-louizos2018") and its text.
public struct Reference: Equatable, Sendable {
    public var id: String
    public var content: [Inline]

    public init(id: String, content: [Inline]) {
        self.id = id
        self.content = content
    }
}

/// An inline element.
public indirect enum Inline: Equatable, Sendable {
    case text(String)
    case emphasis([Inline])
    case strong([Inline])
    case strikethrough([Inline])
    case code(String)
    case link(url: String, content: [Inline])
    case softBreak
    case lineBreak
    /// `[^label]`; the footnote pass numbers it.
    case footnoteReference(label: String, number: Int)
    /// `@fig-…`, `@tab-…` or `@sec-…`; the cross-reference pass turns it into a link.
    case crossReference(id: String, line: Int)
    /// `{{ key }}`; the evaluation pass replaces it by the computed text.
    case value(key: String, line: Int)
    /// `[@key]` or `[@a; @b]`: the citation pass turns it into author–year links to the references.
    case citation(keys: [String], line: Int)
    /// TeX between `$…$` (inline) or `$$…$$` (display), checked by `MathParser` when read.
    case math(tex: String, display: Bool)
}

/// A table: from a table cell, or written in the template in GFM syntax.
public struct Table: Equatable, Sendable {
    public enum Alignment: String, Codable, Sendable { case left, center, right, none }

    public var id: String?
    public var number: Int?
    public var caption: [Inline]
    public var alignments: [Alignment]
    public var header: [[Inline]]
    public var rows: [[[Inline]]]

    public init(id: String? = nil, number: Int? = nil, caption: [Inline] = [], alignments: [Alignment], header: [[Inline]], rows: [[[Inline]]]) {
        self.id = id
        self.number = number
        self.caption = caption
        self.alignments = alignments
        self.header = header
        self.rows = rows
    }
}

/// A figure with its number, caption and drawing.
public struct FigureBlock: Equatable, Sendable {
    public var id: String
    public var number: Int
    public var caption: [Inline]
    public var drawing: Drawing
}

/// A figure or table cell as written in the template: a fenced block whose info string is
/// `{.figure #fig-id key=value …}` and whose text is the caption (markdown).
public struct Cell: Equatable, Sendable {
    /// `figure` or `table`.
    public var kind: String
    public var id: String
    public var attributes: [String: String]
    public var caption: [Inline]
    /// Where the cell starts in the template (1-based).
    public var line: Int
    /// Its number among the cells of its kind (set by the numbering pass).
    public var number: Int

    public init(kind: String, id: String, attributes: [String: String], caption: [Inline], line: Int, number: Int = 0) {
        self.kind = kind
        self.id = id
        self.attributes = attributes
        self.caption = caption
        self.line = line
        self.number = number
    }
}

/// A footnote's text.
public struct Footnote: Equatable, Sendable {
    public var label: String
    public var number: Int
    public var blocks: [Block]
}

/// A problem in a template, located at `file:line`.
public struct TemplateError: Error, CustomStringConvertible, Equatable {
    public let file: String
    public let line: Int
    public let problem: String

    public init(file: String, line: Int, problem: String) {
        self.file = file
        self.line = line
        self.problem = problem
    }

    public var description: String { "\(file):\(line): \(problem)" }
}

extension [Inline] {
    /// The text without markup (for ids, titles and the PDF outline).
    public var plainText: String {
        map { inline in
            switch inline {
            case .text(let s), .code(let s): s
            case .emphasis(let c), .strong(let c), .strikethrough(let c), .link(_, let c): c.plainText
            case .softBreak, .lineBreak: " "
            case .footnoteReference: ""
            case .crossReference(let id, _): "@" + id
            case .value(let key, _): "{{ \(key) }}"
            case .citation(let keys, _): "[" + keys.map { "@" + $0 }.joined(separator: "; ") + "]"
            case .math(let tex, _): tex
            }
        }.joined()
    }
}

// MARK: walking the document

extension Block {
    /// This block and every block inside it (a quote's, a list's items'), depth first, in document
    /// order: the one walk that finds cells, figures, headings and ids.
    public var descendants: [Block] {
        switch self {
        case .quote(let blocks): [self] + blocks.flatMap(\.descendants)
        case .list(_, _, let items): [self] + items.joined().flatMap(\.descendants)
        default: [self]
        }
    }

    /// This block rebuilt bottom up: `transform` applied to each block inside it first, then to the
    /// block itself. Containers keep their shape.
    public func rewritten(_ transform: (Block) throws -> Block) rethrows -> Block {
        switch self {
        case .quote(let blocks): try transform(.quote(try blocks.map { try $0.rewritten(transform) }))
        case .list(let ordered, let start, let items):
            try transform(.list(ordered: ordered, start: start, items: try items.map { try $0.map { try $0.rewritten(transform) } }))
        default: try transform(self)
        }
    }
}

extension Document {
    /// Every block of the body, depth first, in document order (footnotes not included).
    public var allBlocks: [Block] { blocks.flatMap(\.descendants) }
}
