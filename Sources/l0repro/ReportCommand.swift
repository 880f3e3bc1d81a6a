import ArgumentParser
import Datasets
import Experiments
import FileSupport
import Foundation
import NeuralNet
import Reporting
import Reproduction

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Build a report from a markdown template: train what it needs, compute its cells, write HTML.",
        discussion: """
            Reads the template (default Templates/reproduction.md), trains or reuses the runs of the chosen \
            profile, computes each figure and table cell once (stored in Reports/<name>/cache under a hash of \
            its inputs) and writes Reports/<name>/index.html: one self-contained page with the figures inline \
            as SVG. `l0repro report status` says which cells are fresh and why the others are stale.

            Templates are CommonMark with GFM tables and footnotes, front matter between '---' lines, figure \
            and table cells as fenced blocks headed {.figure #fig-id source=NAME} (the text is the caption), \
            values as {{ key }}, cross-references as @fig-id, @tab-id or @sec-id, and [TOC]. \
            The date comes from SOURCE_DATE_EPOCH, else the git commit, never the clock.
            """,
        subcommands: [Build.self, Status.self], defaultSubcommand: Build.self)

    struct Options: ParsableArguments {
        @Option(help: ArgumentHelp("The markdown template.", valueName: "file"))
        var template: String = "Templates/reproduction.md"

        @Option(help: "smoke (seconds), quick (under 15 minutes) or paper (the paper's 200 epochs); default: the template's 'profile:', else smoke.")
        var profile: Profile?

        @OptionGroup var data: DataOptions

        @Option(name: .customLong("runs-dir"), help: ArgumentHelp("Where run directories go.", valueName: "dir"))
        var runsDirectory: String = "Reports/runs"

        @Option(name: .customLong("reports-dir"), help: ArgumentHelp("Where reports go (as <dir>/<template name>/).", valueName: "dir"))
        var reportsDirectory: String = "Reports"

        @Option(parsing: .unconditional, help: ThreadCount.help)
        var threads: Int = ThreadCount.default

        func validate() throws {
            try ThreadCount.validate(threads)
        }

        func builder() throws -> ReportBuilder {
            BLASRuntime.setThreads(threads)
            return try ReportCommand.builder(
                template: template, profile: profile, data: data, runsDirectory: runsDirectory, reportsDirectory: reportsDirectory)
        }
    }

    /// The builder for `template` with the profile given (else the template's, else smoke).
    static func builder(template: String, profile: Profile?, data: DataOptions, runsDirectory: String, reportsDirectory: String) throws
        -> ReportBuilder
    {
        let url = URL(fileURLWithPath: template)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TemplateError(file: url.path, line: 1, problem: "no such template; pass --template FILE")
        }
        let front = try TemplateReader.frontMatter(contentsOf: url)
        var chosen = profile ?? .smoke
        if profile == nil, let named = front.profile {
            guard let value = Profile(rawValue: named) else {
                throw TemplateError(file: url.path, line: 1, problem: "front matter profile '\(named)' is not smoke, quick or paper")
            }
            chosen = value
        }
        var templateDataset = DataOptions.Choice.auto
        if let named = front.dataset {
            guard let value = DataOptions.Choice(rawValue: named) else {
                throw TemplateError(file: url.path, line: 1, problem: "front matter dataset '\(named)' is not mnist, fashion-mnist or auto")
            }
            templateDataset = value
        }
        let dataset = try data.datasetName(fallback: templateDataset)
        let cells = ReportCells(
            profile: chosen, dataset: dataset.rawValue, runsDirectory: URL(fileURLWithPath: runsDirectory),
            data: { try data.load(fallback: templateDataset) })
        cells.experiments = try ExperimentSet(frontMatter: front, file: url.path)
        cells.progress = { Terminal.progress($0) }
        cells.note = { Terminal.note($0) }
        let name = ReportBuilder.reportName(template: url, dataset: dataset.rawValue, templateDataset: front.dataset)
        return ReportBuilder(
            template: url, reportsDirectory: URL(fileURLWithPath: reportsDirectory), cells: cells, toolVersion: L0Repro.version,
            name: name)
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "build", abstract: "Write the report (the default).")

        @OptionGroup var options: Options

        @Flag(help: "Retrain every run of the profile from scratch and recompute every cell, ignoring stored results.")
        var fresh = false

        func run() throws {
            var builder = try options.builder()
            if fresh { try builder.refreshAll() }
            let written = try builder.build(date: try builder.sourceDate()) { Terminal.note($0) }
            Terminal.endProgress()
            for url in written { print("wrote \(url.path)") }
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List each cell of the template: fresh, or stale and why.")

        @OptionGroup var options: Options

        func run() throws {
            for (cell, status) in try options.builder().status() {
                switch status {
                case .fresh: print("fresh  \(cell.id)")
                case .stale(let why): print("stale  \(cell.id): \(why)")
                }
            }
        }
    }
}

extension Profile: ExpressibleByArgument {}
