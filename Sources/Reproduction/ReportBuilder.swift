import Datasets
import Experiments
import FileSupport
import Foundation
import Plotting
import Reporting

/// Builds a report from a template: read, number, resolve cross-references, evaluate cells through
/// the cache, and write `<reports>/<name>/index.html`. Nothing is written unless every step succeeds.
public struct ReportBuilder {
    public let template: URL
    public let outputDirectory: URL
    public let cells: ReportCells
    public let toolVersion: String
    /// Cells to recompute although their stored results are fresh.
    public var force: Set<String> = []
    /// Write only this figure's files (beside the HTML and PDF); nil: every figure's.
    public var only: String?

    /// Writes to `<reportsDirectory>/<name>/`; `name` defaults to `reportName(template:dataset:default:)`.
    public init(template: URL, reportsDirectory: URL, cells: ReportCells, toolVersion: String, name: String? = nil) {
        self.template = template
        outputDirectory = reportsDirectory.appendingPathComponent(name ?? template.deletingPathExtension().lastPathComponent)
        self.cells = cells
        self.toolVersion = toolVersion
    }

    public var cache: CellCache { CellCache(directory: outputDirectory.appendingPathComponent("cache")) }
    public var htmlURL: URL { outputDirectory.appendingPathComponent("index.html") }
    public var pdfURL: URL { outputDirectory.appendingPathComponent("report.pdf") }
    public var figuresDirectory: URL { outputDirectory.appendingPathComponent("figures") }

    static func figures(_ document: Document) -> [FigureBlock] {
        document.allBlocks.compactMap { if case .figure(let figure) = $0 { figure } else { nil } }
    }

    /// Makes the figure cell `id` recompute on the next build (and, with `retrain`, retrains the runs
    /// it draws from); an id that is not a figure cell of the template is an error.
    public mutating func rerun(_ id: String, retrain: Bool) throws {
        let evaluator = Evaluator(registry: cells, cache: cache)
        let figures = evaluator.cells(try document()).filter { $0.kind == "figure" }
        guard let cell = figures.first(where: { $0.id == id }) else {
            throw TemplateError(
                file: template.path, line: 1,
                problem: "no figure cell #\(id) in this template; its figures are \(figures.map(\.id).joined(separator: ", "))")
        }
        // A figure from runs needs every run of the profile; one from formulas needs none.
        cells.retrain = try retrain && evaluator.inputs(cell, file: template.path)["runs"] != nil
        // A stale cell is recomputed anyway; a fresh one only when its runs are retrained.
        force = retrain ? [id] : []
        only = id
    }

    /// Makes the next build retrain every run of the profile from scratch and recompute every cell.
    public mutating func refreshAll() throws {
        cells.retrain = true
        force = Set(Evaluator(registry: cells, cache: cache).cells(try document()).map(\.id))
        only = nil
    }

    /// The options `l0repro figure` needs beyond the id to recompute a figure of this report: the
    /// template and dataset when they are not the defaults.
    var rerunOptions: String {
        var options = ""
        if template.standardizedFileURL.path != URL(fileURLWithPath: "Templates/reproduction.md").standardizedFileURL.path {
            options += " --template \(template.path)"
        }
        let templateDataset = (try? TemplateReader.frontMatter(contentsOf: template))?.dataset
        if let templateDataset, templateDataset != "auto", templateDataset != cells.dataset { options += " --dataset \(cells.dataset)" }
        return options
    }

    /// What the template's `{.when key=value}` blocks are held against: the report's dataset.
    public var conditions: [String: String] { ["dataset": cells.dataset] }

    /// The directory name of a report: the template's name, followed by the dataset's when it is not
    /// the one the template's front matter names (`reproduction`, `reproduction-fashion-mnist`).
    public static func reportName(template: URL, dataset: String, templateDataset: String?) -> String {
        let base = template.deletingPathExtension().lastPathComponent
        guard let templateDataset, templateDataset != "auto", templateDataset != dataset else { return base }
        return base + "-" + dataset
    }

    /// The template read, numbered and cross-referenced (cells not yet evaluated).
    public func document() throws -> Document {
        let read = try TemplateReader.read(contentsOf: template, conditions: conditions)
        let referenced = try Passes.resolveCrossReferences(Passes.number(read), file: template.path)
        return try Passes.resolveCitations(referenced, bibliography: try bibliography(read.metadata), file: template.path)
    }

    /// The BibTeX file the front matter names (`bibliography: references.bib`, beside the template).
    func bibliography(_ metadata: FrontMatter) throws -> Bibliography? {
        guard let name = metadata.fields["bibliography"] else { return nil }
        let url = bibliographyURL(name)
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TemplateError(
                file: template.path, line: 1, problem: "cannot read the bibliography \(url.path); the front matter names it (bibliography: \(name))")
        }
        return try Bibliography.parse(text, file: url.path)
    }

    func bibliographyURL(_ name: String) -> URL {
        template.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Each cell of the template: fresh or stale, and why.
    public func status() throws -> [(cell: Cell, status: CellCache.Status)] {
        try Evaluator(registry: cells, cache: cache).status(document(), file: template.path)
    }

    /// A figure of the report as a rerun would find it: its number, fresh or stale and why, and the
    /// runs a rerun would train first, with an estimate of how long from the timings of finished runs.
    public struct FigureState: Codable, Equatable, Sendable {
        public var id: String
        public var number: Int
        public var fresh: Bool
        /// Why it is stale (nil when fresh).
        public var reason: String?
        /// Run directories the figure needs that have no finished log.
        public var untrainedRuns: [String]
        /// Seconds those runs would take, from the median seconds per epoch of finished runs of the
        /// same network under the runs directory; nil when none has a timing.
        public var estimatedSeconds: Double?
    }

    /// Every figure of the template in report order, with its state.
    public func figureStates() throws -> [FigureState] {
        let evaluator = Evaluator(registry: cells, cache: cache)
        var states: [FigureState] = []
        for (cell, status) in try evaluator.status(try document(), file: template.path) where cell.kind == "figure" {
            let inputs = try evaluator.inputs(cell, file: template.path)
            let untrained = (inputs["runs"] ?? "").split(separator: " ").filter { $0.hasSuffix("@untrained") }.map {
                String($0.dropLast("@untrained".count))
            }
            var reason: String?
            if case .stale(let why) = status { reason = why }
            states.append(
                FigureState(
                    id: cell.id, number: states.count + 1, fresh: reason == nil, reason: reason, untrainedRuns: untrained,
                    estimatedSeconds: untrained.isEmpty ? 0 : try estimatedSeconds(untrained)))
        }
        return states
    }

    /// The seconds training the runs `names` would take: each run's epochs times the median seconds
    /// per epoch (training and evaluation) of the finished runs of its network; nil if one has none.
    func estimatedSeconds(_ names: [String]) throws -> Double? {
        let configs = Dictionary(try cells.configs().map { (try cells.runName($0), $0) }, uniquingKeysWith: { first, _ in first })
        let finished = (try? FileManager.default.contentsOfDirectory(atPath: cells.runsDirectory.path)) ?? []
        var perEpoch: [ModelKind: Double] = [:]
        for model in ModelKind.allCases {
            let seconds = finished.filter { $0.hasPrefix(model.rawValue + "-") }.compactMap { name -> Double? in
                let url = cells.runsDirectory.appendingPathComponent(name).appendingPathComponent("timing.json")
                guard let timing = try? JSONDecoder().decode(RunTiming.self, from: Data(contentsOf: url)), !timing.epochSeconds.isEmpty else {
                    return nil
                }
                return (timing.epochSeconds.reduce(0, +) + timing.evaluationSeconds.reduce(0, +)) / Double(timing.epochSeconds.count)
            }.sorted()
            if !seconds.isEmpty { perEpoch[model] = seconds[seconds.count / 2] }
        }
        var total = 0.0
        for name in names {
            guard let config = configs[name], let seconds = perEpoch[config.model] else { return nil }
            total += seconds * Double(config.epochs)
        }
        return total
    }

    /// Evaluates and writes the report; returns the files written.
    @discardableResult
    public func build(date: Date, progress: @escaping (String) -> Void = { _ in }) throws -> [URL] {
        let document = try document()
        // Before any training: the report must be writable where it goes.
        if let cause = FileError.cause(at: outputDirectory.path, expecting: .directory) {
            throw FileError(path: outputDirectory.path, problem: "cannot write the report here (\(cause)); choose another --reports-dir")
        }
        var evaluator = Evaluator(registry: cells, cache: cache)
        evaluator.force = force
        evaluator.progress = progress
        var evaluated = Passes.bindUnits(try evaluator.evaluate(document, file: template.path))
        // The title block states what was actually used, whatever the template asked for.
        evaluated.metadata.profile = cells.profile.rawValue
        evaluated.metadata.dataset = DatasetName(rawValue: cells.dataset)?.displayName ?? cells.dataset
        let context = ReportContext(
            date: Self.format(date), provenance: try provenance(document), isoDate: SourceDate.iso8601(date), figureDirectory: "figures",
            figureCommand: "l0repro figure {id}" + rerunOptions, generator: "l0repro \(toolVersion)")
        let html = try HTMLWriter.write(evaluated, context: context)
        let pdf = try PDFWriter.write(evaluated, context: context)
        var files: [(URL, Data)] = [(htmlURL, Data(html.utf8)), (pdfURL, Data(pdf))]
        for figure in Self.figures(evaluated) where only == nil || only == figure.id {
            for format in ImageFormat.allCases {
                let options = RenderOptions(idPrefix: figure.id, date: context.isoDate, title: figure.caption.plainText)
                files.append(
                    (
                        figuresDirectory.appendingPathComponent("\(figure.id).\(format.rawValue)"),
                        Data(try FigureRenderer.render(figure.drawing, as: format, options: options))
                    ))
            }
            if let data = figure.drawing.data {
                files.append((figuresDirectory.appendingPathComponent("\(figure.id).csv"), Data(data.csv.utf8)))
            }
        }
        // Everything is computed before the first file is written, and the report is replaced
        // whole: a reader sees the old one or the new one, never new pages beside old figures.
        if only == nil { try cache.prune(keeping: Set(evaluator.cells(document).map(\.id))) }
        try publish(files)
        return files.map(\.0)
    }

    /// Writes `files` (under the output directory) into a staging directory beside it, carries over
    /// what they do not replace (the cache; the other figures when writing only one), and swaps it in.
    func publish(_ files: [(URL, Data)]) throws {
        let stage = StagedDirectory(destination: outputDirectory)
        try stage.begin()
        var carried: [String] = []
        do {
            if only != nil { try stage.copyFromPublished("figures") }
            let base = outputDirectory.path + "/"
            for (url, data) in files {
                try AtomicFile.write(data, to: stage.stagedURL(String(url.path.dropFirst(base.count))))
            }
            // Old figures are not carried into a full build: the new report has all of its own.
            for entry in stage.publishedOnly() where only != nil || entry != "figures" {
                try stage.moveFromPublished(entry)
                carried.append(entry)
            }
            try stage.commit()
        } catch {
            // Put back what was moved, so the old report stays as it was.
            for entry in carried {
                _ = rename(stage.stagedURL(entry).path, outputDirectory.appendingPathComponent(entry).path)
            }
            stage.abandon()
            throw error
        }
    }

    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "d MMMM yyyy"
        return formatter.string(from: date)
    }

    /// Where the numbers came from: code, data, profile, seeds, machine and time of every run used.
    func provenance(_ document: Document) throws -> [(String, String)] {
        var rows: [(String, String)] = []
        rows.append(("code", Self.gitDescription(revision())))
        rows.append(("tool", "l0repro \(toolVersion)"))
        rows.append(
            (
                "figure and table code",
                "version \(ReportCells.codeVersion.split(separator: "-").last ?? "") (stored results of another version are recomputed)"
            ))
        rows.append(("template", template.lastPathComponent))
        rows.append(("profile", cells.profile.summary))
        let data = try cells.dataRecord()
        rows.append(("dataset", "\(data.name): \(data.trainingExamples) training and \(data.testExamples) test examples"))
        rows.append(("data SHA-256", data.sha256))
        let logs = cells.loadedRuns()
        if !logs.isEmpty {
            rows.append(("seeds", Set(logs.map(\.config.seed)).sorted().map(String.init).joined(separator: ", ")))
            for log in logs {
                let name = log.directoryName
                let timingURL = cells.runsDirectory.appendingPathComponent(name).appendingPathComponent("timing.json")
                if let timing = try? JSONDecoder().decode(RunTiming.self, from: Data(contentsOf: timingURL)) {
                    let seconds = timing.epochSeconds.reduce(0, +) + timing.evaluationSeconds.reduce(0, +)
                    rows.append(
                        (
                            "run \(name)",
                            String(
                                format: "%d epoch%@ in %.1f s; %@; %d thread%@; %@", log.epochs.count, log.epochs.count == 1 ? "" : "s", seconds,
                                timing.blas, timing.threads, timing.threads == 1 ? "" : "s", timing.cpu)
                        ))
                } else {
                    rows.append(("run \(name)", "\(log.epochs.count) epochs; timing not recorded"))
                }
            }
        }
        return rows
    }

    /// The files a report is made from: the code, the template and the runs it uses.
    func sources() -> [URL] {
        let root = template.deletingLastPathComponent().deletingLastPathComponent()
        let runs = cells.configs().compactMap { try? cells.runName($0) }.map { cells.runsDirectory.appendingPathComponent($0) }
        let bibliography = (try? TemplateReader.read(contentsOf: template, conditions: conditions))?.metadata.fields["bibliography"].map(
            bibliographyURL)
        return [root.appendingPathComponent("Sources"), root.appendingPathComponent("Package.swift"), template] + (bibliography.map { [$0] } ?? [])
            + runs
    }

    /// The revision of the report's sources: the last commit that changed any of them, so that a
    /// commit elsewhere (the report itself, say) leaves the report's bytes alone.
    public func revision() -> SourceRevision? { SourceRevision.of(sources(), in: template.deletingLastPathComponent()) }

    /// The date a report carries: `SOURCE_DATE_EPOCH` when set, else the date of `revision()`, else
    /// the Unix epoch; never the clock.
    public func sourceDate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Date {
        if let fixed = try SourceDate.fromEnvironment(environment) { return fixed }
        return revision()?.date ?? Date(timeIntervalSince1970: 0)
    }

    static func gitDescription(_ revision: SourceRevision?) -> String {
        guard let revision else { return "not a git checkout" }
        return revision.commit + (revision.changed ? " with uncommitted changes to the code, template or runs" : "")
    }
}

/// The last commit that changed a set of files, and whether the working tree changes them still.
public struct SourceRevision: Equatable, Sendable {
    public var commit: String
    public var date: Date
    /// Whether any of the files differs from that commit in the working tree.
    public var changed: Bool

    /// The revision of `files` in the git checkout holding `directory`; files outside it are left
    /// out; nil outside a checkout.
    public static func of(_ files: [URL], in directory: URL) -> SourceRevision? {
        guard let top = git(["rev-parse", "--show-toplevel"], in: directory) else { return nil }
        let root = URL(fileURLWithPath: top).standardizedFileURL.resolvingSymlinksInPath().path + "/"
        let paths = files.map { $0.standardizedFileURL.resolvingSymlinksInPath().path }.filter { $0.hasPrefix(root) }
            .map { String($0.dropFirst(root.count)) }
        // Paths are relative to the top of the checkout, so git runs there.
        let checkout = URL(fileURLWithPath: top)
        guard !paths.isEmpty, let line = git(["log", "-1", "--format=%H %ct", "--"] + paths, in: checkout),
            let space = line.firstIndex(of: " "), let seconds = Double(line[line.index(after: space)...])
        else { return nil }
        let status = git(["status", "--porcelain", "--untracked-files=no", "--"] + paths, in: checkout) ?? ""
        return SourceRevision(commit: String(line[..<space]), date: Date(timeIntervalSince1970: seconds), changed: !status.isEmpty)
    }

    static func git(_ arguments: [String], in directory: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git"] + arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !text.isEmpty ? text : nil
    }
}

extension ReportCells {
    /// The profile's runs that have finished logs under the runs directory, in model and variant
    /// order (whether or not this process trained them, so a warm cache gives the same page).
    func loadedRuns() -> [RunLog] {
        return configs().compactMap { config in
            guard let name = try? runName(config) else { return nil }
            if let log = loadedLog(name) { return log }
            // A damaged log has already failed the cell that needed it.
            return (try? Trainer.finishedLog(in: runsDirectory.appendingPathComponent(name))) ?? nil
        }
    }
}
