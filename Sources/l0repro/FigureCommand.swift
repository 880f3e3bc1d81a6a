import ArgumentParser
import Experiments
import FileSupport
import Foundation
import NeuralNet
import Plotting
import Reporting
import Reproduction

struct FigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "figure",
        abstract: "Draw one of the reproduction's figures as PNG, SVG or PDF, or rerun one figure of a report.",
        discussion: """
            With a figure id of a report template (fig-…, e.g. `l0repro figure fig-flops`): recomputes that \
            figure when its stored result is stale (--retrain deletes and retrains the runs it needs first), \
            writes Reports/<template>/figures/<id>.{png,svg,pdf,csv} (the CSV holds the plotted values) and updates the report's index.html and \
            report.pdf; other cells come from the cache. Takes the options of `l0repro report`.

            With a figure name: 
            Figures from formulas (lp-penalty, hard-concrete, hard-concrete-grid) need nothing else. Figures \
            from training (expected-flops, kept-groups, gate-histograms, architecture, error-vs-weights, training-curves) read \
            the run logs under --runs-dir and use, for each network and variant, the run that trained \
            longest. `l0repro figure --list` shows every name. PNG is drawn at 2 pixels per point; SVG ids \
            are prefixed with the figure's name; the PDF's dates come from SOURCE_DATE_EPOCH or the git \
            commit, so the same inputs give the same bytes.
            """)

    @Argument(help: "The figure's name (see --list), or a figure id of the report template (fig-…).")
    var name: String?

    @Flag(help: "List the figure names, and the figure ids of the report template (--template), and exit.")
    var list = false

    @Option(help: "png, svg, pdf, csv (the plotted values: panel, axes, mark, series, x, y), or all (writes the four).")
    var format: String = "png"

    @Option(help: ArgumentHelp("Output file (one format) or directory (default: Reports/figures/<name>.<format>).", valueName: "path"))
    var out: String?

    @Option(name: .customLong("runs-dir"), help: ArgumentHelp("Where run logs are read from.", valueName: "dir"))
    var runsDirectory: String = "Reports/runs"

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("For a figure id: the report template.", valueName: "file"))
    var template: String = "Templates/reproduction.md"

    @Option(help: "For a figure id: the profile (default: the template's).")
    var profile: Profile?

    @Option(name: .customLong("reports-dir"), help: ArgumentHelp("For a figure id: where reports go.", valueName: "dir"))
    var reportsDirectory: String = "Reports"

    @Flag(help: "For a figure id: delete and retrain the runs the figure needs, then recompute it.")
    var retrain = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("For a figure id: threads for any training it needs. \(ThreadCount.help.abstract)", valueName: "n"))
    var threads: Int = ThreadCount.default

    /// For figure names: only runs on the chosen dataset (`auto`: any).
    var datasetFilter: String? { data.dataset.flatMap { $0 == .auto ? nil : $0.rawValue } }

    var formats: [ImageFormat] { format == "all" ? ImageFormat.allCases : format == "csv" ? [] : [ImageFormat(rawValue: format)!] }
    var writesCSV: Bool { format == "all" || format == "csv" }

    func validate() throws {
        try ThreadCount.validate(threads)
        if list { return }
        guard let name else { throw ValidationError("name a figure, or pass --list") }
        guard FigureCatalog.entry(named: name) != nil || name.hasPrefix("fig-") else {
            throw ValidationError(
                "unknown figure '\(name)'; choose one of \(FigureCatalog.entries.map(\.name).joined(separator: ", ")), or a template's fig-… id")
        }
        guard format == "all" || format == "csv" || ImageFormat(rawValue: format) != nil else {
            throw ValidationError("unknown format '\(format)'; choose png, svg, pdf, csv or all")
        }
    }

    func run() throws {
        if list {
            print("Figure names (l0repro figure NAME):")
            for entry in FigureCatalog.entries {
                print(
                    "  \(entry.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(entry.source == .math ? "math" : "runs")  \(entry.summary)")
            }
            try listTemplateFigures()
            return
        }
        guard let entry = FigureCatalog.entry(named: name!) else { return try rerunReportFigure(name!) }
        let runs = entry.source == .runs ? try RunCollection(directory: URL(fileURLWithPath: runsDirectory), dataset: datasetFilter) : nil
        let figure = try entry.figure(runs: runs)
        let options = RenderOptions(idPrefix: entry.name, date: SourceDate.iso8601(try SourceDate.current()), title: entry.summary)
        for format in formats {
            let url = try destination(entry.name, format)
            do {
                try FigureRenderer.write(figure, as: format, to: url, options: options)
            } catch let error as RenderError {
                throw CommandError(message: error.description)
            }
            print("wrote \(url.path)")
        }
        if writesCSV {
            let url = try destination(entry.name, "csv")
            try AtomicFile.write(Data(figure.plottedData.csv.utf8), to: url)
            print("wrote \(url.path)")
        }
        if let runs {
            let used = ModelKind.allCases.flatMap { runs.runs(of: $0) }.map { "\($0.directoryName) (\($0.data.name), \($0.epochs.count) epochs)" }
            print("from runs in \(runsDirectory): \(used.joined(separator: ", "))")
        }
    }

    /// The report template's figure ids, their sources and the first sentence of their captions.
    private func listTemplateFigures() throws {
        let url = URL(fileURLWithPath: template)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let document = try TemplateReader.read(contentsOf: url, conditions: ["dataset": "mnist"])
        let figures = document.allBlocks.compactMap { block -> Cell? in
            if case .cell(let cell) = block, cell.kind == "figure" { return cell }
            return nil
        }
        guard !figures.isEmpty else { return }
        print("\nFigures of the report \(template) (l0repro figure ID recomputes one and updates the report):")
        for (number, cell) in figures.enumerated() {
            let caption = cell.caption.plainText
            // The first sentence: up to the first full stop followed by a space (not 0.5's).
            let sentence = caption.range(of: ". ").map { String(caption[..<$0.lowerBound]) + "." } ?? caption
            let label = "Figure \(number + 1)"
            print(
                "  \(cell.id.padding(toLength: 18, withPad: " ", startingAt: 0)) \(label.padding(toLength: 10, withPad: " ", startingAt: 0)) \((cell.attributes["source"] ?? "").padding(toLength: 18, withPad: " ", startingAt: 0)) \(sentence)"
            )
        }
    }

    /// `figure fig-…`: recompute one figure of the report template and update the report's files.
    private func rerunReportFigure(_ id: String) throws {
        BLASRuntime.setThreads(threads)
        var builder = try ReportCommand.builder(
            template: template, profile: profile, data: data, runsDirectory: runsDirectory, reportsDirectory: reportsDirectory)
        try builder.rerun(id, retrain: retrain)
        let written = try builder.build(date: try builder.sourceDate()) { Terminal.note($0) }
        Terminal.endProgress()
        for url in written { print("wrote \(url.path)") }
    }

    private func destination(_ name: String, _ format: ImageFormat) throws -> URL { try destination(name, format.rawValue) }

    /// `--out` when it names a file and one file is written, else `<out or Reports/figures>/<name>.<ext>`.
    private func destination(_ name: String, _ fileExtension: String) throws -> URL {
        var isDirectory: ObjCBool = false
        let count = formats.count + (writesCSV ? 1 : 0)
        if let out, count == 1, !(FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return URL(fileURLWithPath: out)
        }
        let directory = URL(fileURLWithPath: out ?? "Reports/figures")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError(path: directory.path, problem: "cannot create the output directory (\(error.localizedDescription))")
        }
        return directory.appendingPathComponent("\(name).\(fileExtension)")
    }
}
