import FileSupport
import Foundation
import Plotting

/// What a figure or table cell computes to: stored in the cache, then drawn by every writer.
public enum CellResult: Codable, Equatable, Sendable {
    case figure(Drawing)
    case table(StoredTable)
}

/// A table's contents as plain text (writers escape it).
public struct StoredTable: Codable, Equatable, Sendable {
    public var alignments: [Table.Alignment]
    public var header: [String]
    public var rows: [[String]]

    public init(alignments: [Table.Alignment], header: [String], rows: [[String]]) {
        precondition(alignments.count == header.count && rows.allSatisfy { $0.count == header.count }, "every table row needs one entry per column")
        self.alignments = alignments
        self.header = header
        self.rows = rows
    }
}

/// A failure of a cell or value that the registry reports; the engine adds the template line.
public struct CellError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// What fills the cells of a template. The report engine knows only this protocol; the reproduction
/// module implements it (figures, tables and values of the paper's experiments).
public protocol CellRegistry {
    /// Everything `cell`'s result depends on (runs by configuration, data checksums, parameters, code
    /// version), as named strings. Cheap: nothing is computed. Throws `CellError` for an unknown source.
    func inputs(of cell: Cell) throws -> [String: String]
    /// Computes `cell`, training what it needs; `progress` takes one-line status messages.
    func evaluate(_ cell: Cell, progress: (String) -> Void) throws -> CellResult
    /// The text of `{{ key }}`; throws `CellError` for an unknown key.
    func value(_ key: String) throws -> String
}

/// Results of cells stored under a hash of their inputs, so a report is computed once and every
/// writer draws from the same stored results. `index.json` remembers each cell's last inputs, to say
/// why a cell is stale.
public struct CellCache {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Whether a cell's stored result matches its current inputs, and if not, why.
    public enum Status: Equatable, Sendable {
        case fresh
        case stale(String)
    }

    struct Entry: Codable {
        var id: String
        var kind: String
        var attributes: [String: String]
        var inputs: [String: String]
        var result: CellResult?
    }

    /// The cache key of `cell` with `inputs`: SHA-256 of its kind, attributes and inputs (not its id
    /// or caption, which do not change the result).
    public static func key(_ cell: Cell, inputs: [String: String]) -> String {
        key(kind: cell.kind, attributes: cell.attributes, inputs: inputs)
    }

    static func key(kind: String, attributes: [String: String], inputs: [String: String]) -> String {
        let entry = Entry(id: "", kind: kind, attributes: attributes, inputs: inputs, result: nil)
        return String(Digest.sha256(Self.encode(entry)).prefix(24))
    }

    public func result(for cell: Cell, inputs: [String: String]) -> CellResult? {
        let url = directory.appendingPathComponent(Self.key(cell, inputs: inputs) + ".json")
        guard let data = try? Data(contentsOf: url), let entry = try? JSONDecoder().decode(Entry.self, from: data) else { return nil }
        return entry.result
    }

    public func store(_ result: CellResult, for cell: Cell, inputs: [String: String]) throws {
        let entry = Entry(id: cell.id, kind: cell.kind, attributes: cell.attributes, inputs: inputs, result: result)
        try AtomicFile.write(Self.encode(entry), to: directory.appendingPathComponent(Self.key(cell, inputs: inputs) + ".json"))
        var index = self.index()
        index[cell.id] = Entry(id: cell.id, kind: cell.kind, attributes: cell.attributes, inputs: inputs, result: nil)
        try AtomicFile.write(Self.encode(index), to: directory.appendingPathComponent("index.json"))
    }

    public func status(of cell: Cell, inputs: [String: String]) -> Status {
        if result(for: cell, inputs: inputs) != nil { return .fresh }
        guard let last = index()[cell.id] else { return .stale("never computed") }
        var changed = Set(inputs.keys).symmetricDifference(last.inputs.keys)
        for (key, value) in inputs where last.inputs[key] != nil && last.inputs[key] != value { changed.insert(key) }
        if last.attributes != cell.attributes { changed.insert("attributes") }
        return .stale(changed.isEmpty ? "stored result missing" : "changed since last computed: \(changed.sorted().joined(separator: ", "))")
    }

    /// Deletes stored results that are not the latest of one of the cells `ids` (results of older
    /// inputs, of cells no longer in the template) and forgets those cells, so a committed cache holds
    /// only what the report uses.
    public func prune(keeping ids: Set<String>) throws {
        let index = self.index().filter { ids.contains($0.key) }
        let keep = Set(index.values.map { Self.key(kind: $0.kind, attributes: $0.attributes, inputs: $0.inputs) + ".json" })
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for file in files where file.hasSuffix(".json") && file != "index.json" && !keep.contains(file) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
        try AtomicFile.write(Self.encode(index), to: directory.appendingPathComponent("index.json"))
    }

    private func index() -> [String: Entry] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("index.json")) else { return [:] }
        return (try? JSONDecoder().decode([String: Entry].self, from: data)) ?? [:]
    }

    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(value)
    }
}

/// Evaluates a document's cells and values through a registry and a cache.
public struct Evaluator {
    public let registry: any CellRegistry
    public let cache: CellCache
    /// Cells to recompute even when their stored result is fresh.
    public var force: Set<String> = []
    public var progress: (String) -> Void = { _ in }

    public init(registry: any CellRegistry, cache: CellCache) {
        self.registry = registry
        self.cache = cache
    }

    /// Every cell with its inputs and cache status, in document order.
    public func status(_ document: Document, file: String) throws -> [(cell: Cell, status: CellCache.Status)] {
        try cells(document).map { cell in (cell, cache.status(of: cell, inputs: try inputs(cell, file: file))) }
    }

    /// The document with each cell replaced by its figure or table and each `{{ key }}` by its text.
    public func evaluate(_ document: Document, file: String) throws -> Document {
        var out = document
        out.blocks = try document.blocks.map { try evaluate($0, file: file) }
        out.footnotes = try document.footnotes.map { note in
            var note = note
            note.blocks = try note.blocks.map { try evaluate($0, file: file) }
            return note
        }
        return out
    }

    /// The cells of `document`, in order.
    public func cells(_ document: Document) -> [Cell] {
        document.allBlocks.compactMap { if case .cell(let cell) = $0 { cell } else { nil } }
    }

    /// The registry's inputs for `cell`, errors placed at its line.
    public func inputs(_ cell: Cell, file: String) throws -> [String: String] {
        do {
            return try registry.inputs(of: cell)
        } catch let error as CellError {
            throw TemplateError(file: file, line: cell.line, problem: "\(cell.id): \(error.description)")
        }
    }

    private func evaluate(_ block: Block, file: String) throws -> Block {
        try block.rewritten { inner in
            switch inner {
            case .quote, .list: inner  // their blocks are done already
            default: try evaluateLeaf(inner, file: file)
            }
        }
    }

    /// Values in a block's inlines, and a cell's result in its place.
    private func evaluateLeaf(_ block: Block, file: String) throws -> Block {
        let valued = try Passes.mapInlines(block) { inline in
            guard case .value(let key, let line) = inline else { return [inline] }
            do {
                return [.text(try registry.value(key))]
            } catch let error as CellError {
                throw TemplateError(file: file, line: line, problem: "{{ \(key) }}: \(error.description)")
            }
        }
        switch valued {
        case .cell(let cell):
            let inputs = try inputs(cell, file: file)
            var result = force.contains(cell.id) ? nil : cache.result(for: cell, inputs: inputs)
            if result == nil {
                progress("computing \(cell.id)")
                do {
                    result = try registry.evaluate(cell, progress: progress)
                } catch let error as CellError {
                    throw TemplateError(file: file, line: cell.line, problem: "\(cell.id): \(error.description)")
                }
                try cache.store(result!, for: cell, inputs: inputs)
            }
            switch result! {
            case .figure(let drawing):
                guard cell.kind == "figure" else {
                    throw TemplateError(file: file, line: cell.line, problem: "\(cell.id): a .table cell got a figure")
                }
                return .figure(FigureBlock(id: cell.id, number: cell.number, caption: cell.caption, drawing: drawing))
            case .table(let stored):
                guard cell.kind == "table" else {
                    throw TemplateError(file: file, line: cell.line, problem: "\(cell.id): a .figure cell got a table")
                }
                return .table(
                    Table(
                        id: cell.id, number: cell.number, caption: cell.caption, alignments: stored.alignments,
                        header: stored.header.map { [.text($0)] },
                        rows: stored.rows.map { $0.map { [.text($0)] } }))
            }
        default: return valued
        }
    }
}
