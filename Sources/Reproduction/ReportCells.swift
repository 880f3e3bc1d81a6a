import Datasets
import Experiments
import FileSupport
import Foundation
import Plotting
import Reporting

/// The cells and values of the reproduction report: figures from `FigureCatalog`, the paper's Table 1
/// beside ours, and numbers from the runs of one profile on one dataset. Runs are trained on demand
/// (a finished run is reused from its log).
public final class ReportCells: CellRegistry {
    /// Bump when figure or table code changes what a cell draws, to invalidate stored results.
    public static let codeVersion = "cells-11"

    public let profile: Profile
    /// The dataset's name, e.g. "mnist".
    public let dataset: String
    public let runsDirectory: URL
    private let loadData: () throws -> TrainingData
    private var data: TrainingData?
    /// The data record the finished runs share (see `recordedData`), looked up once.
    private lazy var recorded: Result<DataRecord?, Error> = Result { try recordedData() }
    private var logs: [String: RunLog] = [:]
    /// Called with one-line progress messages (each training epoch).
    public var progress: (String) -> Void = { _ in }
    /// Called when a run starts training or is reused, and when it finishes.
    public var note: (String) -> Void = { _ in }
    /// Retrain every run from scratch (once per process) instead of reusing finished logs.
    public var retrain = false
    /// The runs the template declares (every network and variant, seed 1, unless it says otherwise).
    public var experiments = ExperimentSet()

    /// `data` loads the dataset called `dataset`; it is called only when a run must be trained (or
    /// the runs directory lacks some of the profile's runs), so a report whose runs are all finished
    /// renders on a machine without the data.
    public init(profile: Profile, dataset: String, runsDirectory: URL, data: @escaping () throws -> TrainingData) {
        self.profile = profile
        self.dataset = dataset
        self.runsDirectory = runsDirectory
        loadData = data
    }

    func trainingData() throws -> TrainingData {
        if let data { return data }
        let loaded = try loadData()
        guard loaded.record.name == dataset else {
            throw CellError("the report is on \(dataset) but the data loaded is \(loaded.record.name)")
        }
        data = loaded
        return loaded
    }

    /// The data the report's runs were trained on: from their logs when every run of the profile is
    /// finished under the runs directory with one and the same data digest, else from the data itself.
    public func dataRecord() throws -> DataRecord {
        if let data { return data.record }
        if !retrain, let recorded = try recorded.get() { return recorded }
        return try trainingData().record
    }

    /// The data record that the finished logs of all of the profile's runs share, if they do.
    private func recordedData() throws -> DataRecord? {
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: runsDirectory.path)) ?? []).sorted()
        var found: [DataRecord] = []
        for config in declaredConfigs() where !Self.isOpen(config) {
            let prefix = config.runDirectoryPrefix
            // A run of this configuration whose directory is named by its own identity.
            let matches = try entries.filter { $0.hasPrefix(prefix) }.compactMap { entry -> RunLog? in
                guard let log = try Trainer.finishedLog(in: runsDirectory.appendingPathComponent(entry)), log.config == config,
                    entry == config.runDirectoryName(dataDigest: log.data.sha256)
                else { return nil }
                return log
            }
            guard matches.count == 1 else { return nil }
            found.append(matches[0].data)
        }
        guard let first = found.first, found.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    /// The configuration of each run the template declares, under the profile.
    /// A magnitude run's s_f is the weight sparsity of its matching l0-sep run (`MagnitudeSettings`),
    /// filled in here when that run has finished, else by `run` after training it.
    public func configs() -> [TrainingConfig] { declaredConfigs().map { (try? resolved($0)) ?? $0 } }

    /// The configurations as the template declares them, a magnitude run's s_f still open.
    private func declaredConfigs() -> [TrainingConfig] { experiments.configs(profile: profile, dataset: dataset) }

    /// Whether `config` still needs its matching run to be complete.
    private static func isOpen(_ config: TrainingConfig) -> Bool { config.variant == .magnitude && config.magnitude?.finalSparsity == nil }

    /// `config` with a magnitude run's s_f taken from its finished matching run; `config` itself when
    /// nothing is open or the matching run has not finished (`train` decides whether to train it).
    private func resolved(_ config: TrainingConfig, train: Bool = false) throws -> TrainingConfig {
        guard Self.isOpen(config) else { return config }
        let match = MagnitudeSettings.matchingConfig(for: config)
        let log: RunLog
        if train {
            log = try run(match)
        } else {
            let name = try runName(match)
            guard let found = try logs[name] ?? Trainer.finishedLog(in: runsDirectory.appendingPathComponent(name)), found.config == match else {
                return config
            }
            log = found
        }
        var config = config
        config.magnitude?.finalSparsity = MagnitudeSettings.sparsity(matching: log)
        return config
    }

    /// Where the selective-decay sweep's runs are: `sweeps/selective-decay` beside the runs directory.
    public var sweepDirectory: URL {
        runsDirectory.standardizedFileURL.deletingLastPathComponent().appendingPathComponent("sweeps/selective-decay")
    }

    /// The run directory name of `config` (`<model>-<variant>-<id>`).
    public func runName(_ config: TrainingConfig) throws -> String {
        config.runDirectoryName(dataDigest: try dataRecord().sha256)
    }

    /// Trains (or reuses) every run of the profile and returns their logs.
    public func runs() throws -> RunCollection {
        var out: [RunLog] = []
        for config in configs() { out.append(try run(config)) }
        return RunCollection(runs: out, directory: runsDirectory)
    }

    func loadedLog(_ name: String) -> RunLog? { logs[name] }

    func run(_ config: TrainingConfig) throws -> RunLog {
        let config = try resolved(config, train: true)
        let name = try runName(config)
        if let log = logs[name] { return log }
        if !retrain, let log = try Trainer.finishedLog(in: runsDirectory.appendingPathComponent(name)), log.config == config {
            logs[name] = log
            return log
        }
        let trainer = try Trainer(config: config, data: try trainingData(), runsDirectory: runsDirectory)
        if retrain { try trainer.discard() }
        let started = Date()
        let fresh = !FileManager.default.fileExists(atPath: trainer.logURL.path)
        if fresh {
            note(
                "training \(name): \(config.epochs) epoch\(config.epochs == 1 ? "" : "s") on \(min(config.trainingLimit ?? Int.max, try trainingData().train.count)) examples"
            )
        }
        let outcome = try trainer.run { event in
            if case .epochFinished(let record, _) = event {
                self.progress("\(name): epoch \(record.epoch)/\(config.epochs), test error \(String(format: "%.2f", record.testError)) %")
            }
        }
        guard let log = outcome.log else { throw CellError("training \(name) stopped before its last epoch") }
        if fresh {
            note(
                String(
                    format: "finished %@ in %.0f s: test error %.2f %%, groups kept %@", name, Date().timeIntervalSince(started),
                    log.result.finalTestError, log.result.architecture))
        }
        logs[name] = log
        return log
    }

    public func inputs(of cell: Cell) throws -> [String: String] {
        guard let source = cell.attributes["source"] else { throw CellError("needs source=… (\(sources(cell.kind)))") }
        var inputs = ["source": source, "code": Self.codeVersion]
        let needsRuns: Bool
        if cell.kind == "figure" {
            guard let entry = FigureCatalog.entry(named: source) else {
                throw CellError("unknown figure source '\(source)'; choose one of \(sources("figure"))")
            }
            needsRuns = entry.source == .runs
        } else {
            guard TableSource(rawValue: source) != nil else { throw CellError("unknown table source '\(source)'; choose one of \(sources("table"))") }
            if let network = cell.attributes["network"], ModelKind(rawValue: network) == nil {
                throw CellError("unknown network '\(network)'; choose one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            needsRuns = true
        }
        if let table = TableSource(rawValue: source), table.readsTimings {
            inputs["timings"] = RunTimings.digests(try configs().map { try runName($0) }, in: runsDirectory)
        }
        if source == TableSource.selectiveDecaySweep.rawValue { inputs["sweep"] = SelectiveDecaySweep.digests(sweepDirectory) }
        if needsRuns {
            let data = try dataRecord()
            inputs["profile"] = profile.rawValue
            inputs["data"] = "\(data.name) \(data.sha256)"
            // Each run by name and the digest of its log, so that a retrained run (same configuration,
            // other bytes: a changed engine) makes the cells that use it stale.
            inputs["runs"] = try configs().map { config in
                let name = try runName(config)
                guard let bytes = try? Data(contentsOf: Trainer.logURL(in: runsDirectory.appendingPathComponent(name))) else {
                    return name + "@untrained"
                }
                return name + "@" + Digest.sha256(bytes).prefix(16)
            }.joined(separator: " ")
        }
        return inputs
    }

    private func sources(_ kind: String) -> String {
        kind == "figure" ? FigureCatalog.entries.map(\.name).joined(separator: ", ") : TableSource.allCases.map(\.rawValue).joined(separator: ", ")
    }

    public func evaluate(_ cell: Cell, progress: (String) -> Void) throws -> CellResult {
        let source = cell.attributes["source"]!
        if cell.kind == "figure" {
            let entry = FigureCatalog.entry(named: source)!
            let figure = try entry.figure(runs: entry.source == .runs ? try runs() : nil)
            return .figure(FigureRenderer.record(figure))
        }
        let models = cell.attributes["network"].flatMap(ModelKind.init(rawValue:)).map { [$0] } ?? ModelKind.allCases
        if source == TableSource.selectiveDecaySweep.rawValue {
            return .table(
                try SelectiveDecaySweep.table(try SelectiveDecaySweep.runs(runs(), sweep: sweepDirectory, dataset: dataset), models: models))
        }
        return .table(try ReportTables.table(TableSource(rawValue: source)!, runs: try runs(), models: models))
    }

    /// The kernel family in OpenBLAS's configuration string ("… NO_AFFINITY Haswell MAX_THREADS=64").
    static func kernels(_ configuration: String) -> String {
        let words = configuration.split(separator: " ")
        guard let index = words.firstIndex(where: { $0.hasPrefix("MAX_THREADS") }), index > 0 else { return configuration }
        return String(words[index - 1])
    }

    public func value(_ key: String) throws -> String {
        let parts = key.split(separator: ".").map(String.init)
        switch parts.first {
        case "profile": return profile.rawValue
        case "verdict-rule": return Verdict.rule
        case "dataset": return DatasetName(rawValue: dataset)?.displayName ?? dataset
        case "training-time" where parts.count == 2 && parts[1] == "total":
            // The training seconds (evaluation excluded) of every run of the report, summed.
            let collection = try runs()
            let total = collection.runs.reduce(0.0) { sum, run in sum + (RunTimings.training(run, in: runsDirectory)?.epochSeconds.reduce(0, +) ?? 0)
            }
            return String(format: "%d h %02d min", Int(total) / 3600, (Int(total) % 3600) / 60)
        case "machines" where parts.count == 2 && (parts[1] == "training" || parts[1] == "inference"):
            // The CPUs and kernels the timings were measured on.
            let collection = try runs()
            var seen: [String] = []
            for run in collection.runs {
                let machine: String?
                if parts[1] == "training" {
                    machine = RunTimings.training(run, in: runsDirectory).map {
                        "\($0.cpu), OpenBLAS \(Self.kernels($0.blas)) kernels, \($0.threads) thread\($0.threads == 1 ? "" : "s")"
                    }
                } else {
                    machine = try RunTimings.inference(run, in: runsDirectory).map { "\($0.cpu), OpenBLAS \(Self.kernels($0.blas)) kernels" }
                }
                if let machine, !seen.contains(machine) { seen.append(machine) }
            }
            return seen.isEmpty ? "no timing file" : seen.joined(separator: "; ")
        case "epochs" where parts.count == 2:
            guard let model = ModelKind(rawValue: parts[1]) else { break }
            return String(profile.config(model, .l0, dataset: "").epochs)
        case "paper" where parts.count == 4:
            guard let model = ModelKind(rawValue: parts[1]), let variant = Variant(rawValue: parts[2]), let row = PaperResults.row(model, variant)
            else { break }
            switch parts[3] {
            case "error": return String(format: "%.1f %%", row.error)
            case "architecture": return row.architecture.map(String.init).joined(separator: "-")
            case "weights-kept": return String(format: "%.1f %%", 100 * KeptWeights.share(model, architecture: row.architecture))
            default: break
            }
        default:
            guard parts.count == 3, let model = ModelKind(rawValue: parts[0]), let variant = Variant(rawValue: parts[1]) else { break }
            let log = try run(profile.config(model, variant, dataset: dataset))
            switch parts[2] {
            case "final-error": return String(format: "%.2f %%", log.result.finalTestError)
            case "best-error": return String(format: "%.2f %% (epoch %d)", log.result.bestTestError, log.result.bestEpoch)
            case "architecture": return log.result.architecture
            case "weights-kept": return String(format: "%.1f %%", 100 * KeptWeights.share(log))
            case "expected-flops": return ReportTables.count(log.result.expectedFlops)
            case "flops-reduction": return String(format: "%.1f×", log.result.denseFlops / log.result.expectedFlops)
            case "rounds" where variant == .selectiveDecay:
                let rounds = log.pruningRounds ?? []
                guard !rounds.isEmpty else { return "no pruning round" }
                let epochs = rounds.map { String($0.epoch) }.joined(separator: ", ")
                return "\(rounds.count) pruning round\(rounds.count == 1 ? "" : "s") (after epoch\(rounds.count == 1 ? "" : "s") \(epochs))"
            case "setting" where variant == .selectiveDecay:
                let settings = log.config.selectiveDecay ?? SelectiveDecaySettings()
                return "λ = \(ReportTables.number(settings.decay)), τ = \(ReportTables.number(settings.relevance))"
            case "final-sparsity" where variant == .magnitude:
                return String(format: "%.1f %%", 100 * (log.config.magnitude?.finalSparsity ?? 0))
            case "verdict" where PaperResults.row(model, variant) != nil: return Verdict(log, against: PaperResults.row(model, variant)!).rawValue
            case "delta-error" where PaperResults.row(model, variant) != nil:
                return String(format: "%+.2f points", log.result.finalTestError - PaperResults.row(model, variant)!.error)
            default: break
            }
        }
        throw CellError(
            "unknown value; use profile, dataset, epochs.<model>, verdict-rule, training-time.total, machines.(training|inference), <model>.<variant>.(final-error|best-error|architecture|weights-kept|expected-flops|flops-reduction|verdict|delta-error|rounds|setting|final-sparsity) or paper.<model>.<l0|l0-sep>.(error|architecture|weights-kept)"
        )
    }
}

/// The tables a report can show.
public enum TableSource: String, CaseIterable, Sendable {
    /// The paper's Table 1 rows beside ours, per network.
    case table1
    /// Every run of the report: configuration and outcome.
    case runs
    /// What the sparsity buys, per L0 run: FLOPs dense, expected, after pruning and purged, and the
    /// measured seconds per training epoch at the start and the end of training.
    case savings
    /// Forward-pass timings of each L0 run's dense, gated and purged networks and PyTorch's dense one
    /// (`l0repro bench inference`), from the timing file beside each run.
    case inference

    /// L0 against pruning, per network: error, weights kept, structured and unstructured FLOPs and
    /// the groups kept of every run, beside the published pruning results, quoted.
    case pruning

    /// The selective-decay runs over λ and τ (the runs directory's and those under the sweeps
    /// directory beside it, `SelectiveDecaySweep`), with the setting the rule chooses.
    case selectiveDecaySweep = "selective-decay-sweep"

    /// Whether the table reads machine timings (timing files), which its inputs must then include.
    var readsTimings: Bool { self == .savings || self == .inference }
}

/// Machine timings beside the runs: each run's `timing.json` (seconds per training epoch) and, when
/// `l0repro bench inference` was run on it, `inference-timing.json`.
enum RunTimings {
    static func training(_ run: RunLog, in directory: URL) -> RunTiming? {
        let url = directory.appendingPathComponent(run.directoryName).appendingPathComponent("timing.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode(RunTiming.self, from: $0) }
    }

    static func inference(_ run: RunLog, in directory: URL) throws -> InferenceTiming? {
        try InferenceTiming.read(in: directory.appendingPathComponent(run.directoryName))
    }

    /// The median of the first (or last) `count` epochs' training seconds.
    static func epochSeconds(_ timing: RunTiming, last: Bool, count: Int = 5) -> Double {
        let seconds = last ? Array(timing.epochSeconds.suffix(count)) : Array(timing.epochSeconds.prefix(count))
        return InferenceTiming.median(seconds)
    }

    /// The files a timing table reads, by name and digest (for the cell's inputs).
    static func digests(_ runs: [String], in directory: URL) -> String {
        runs.flatMap { name in
            ["timing.json", InferenceTiming.fileName].map { file -> String in
                let url = directory.appendingPathComponent(name).appendingPathComponent(file)
                guard let bytes = try? Data(contentsOf: url) else { return "\(name)/\(file)@none" }
                return "\(name)/\(file)@" + Digest.sha256(bytes).prefix(16)
            }
        }
        .joined(separator: " ")
    }
}

enum ReportTables {
    /// A count to three significant digits with k or M: 532.4k, 3.36M.
    static func count(_ value: Double) -> String {
        if value >= 1e6 { return String(format: "%.2fM", value / 1e6) }
        if value >= 1e3 { return String(format: "%.1fk", value / 1e3) }
        return String(format: "%.0f", value)
    }

    /// A share 0…1 as a percentage with one decimal: 26.0.
    static func percent(_ share: Double) -> String { String(format: "%.1f", 100 * share) }

    /// A setting as written on the command line: 0.3, 1, 0.03.
    static func number(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(v) }

    /// +4, −3, 0.
    static func signed(_ value: Int) -> String { value > 0 ? "+\(value)" : value < 0 ? "−\(-value)" : "0" }

    /// `models`: the networks a table1 shows (one table per network reads best).
    static func table(_ source: TableSource, runs: RunCollection, models: [ModelKind] = ModelKind.allCases) throws -> StoredTable {
        switch source {
        case .selectiveDecaySweep:
            // The report's own runs only; `ReportCells` adds the sweep directory's.
            return try SelectiveDecaySweep.table(try SelectiveDecaySweep.runs(runs, sweep: nil, dataset: ""), models: models)
        case .table1:
            var rows: [[String]] = []
            for model in models {
                let joined = { (groups: [Int]) in groups.map(String.init).joined(separator: "-") }
                // The paper's other methods, quoted.
                for row in PaperResults.table1 where row.model == model && row.variant == nil {
                    rows.append([
                        "paper: \(row.method)", joined(row.architecture), "", String(format: "%.1f", row.error), "–", "",
                        percent(KeptWeights.share(model, architecture: row.architecture)), "–", "quoted",
                    ])
                }
                // Each of our runs, after the paper's row it reproduces when there is one.
                for group in Variant.paper.compactMap({ runs.group(model, $0) }) {
                    let run = group.medianRun
                    let r = run.result
                    // Several seeds: the median error, and the range beside it.
                    let error = group.runs.count == 1 ? r.finalTestError : group.medianFinalError
                    let errorText =
                        group.runs.count == 1
                        ? String(format: "%.2f", error)
                        : String(
                            format: "%.2f (%.2f–%.2f, %d seeds)", error, group.finalErrorRange.lowerBound, group.finalErrorRange.upperBound,
                            group.runs.count)
                    var delta = ["", ""]
                    var verdict = "–"
                    if let paper = PaperResults.row(model, run.config.variant) {
                        rows.append([
                            "paper: \(paper.method)", joined(paper.architecture), "", String(format: "%.1f", paper.error), "–", "",
                            percent(KeptWeights.share(model, architecture: paper.architecture)), "–", "",
                        ])
                        delta = [
                            zip(r.keptGroups, paper.architecture).map { signed($0 - $1) }.joined(separator: " "),
                            String(format: "%+.2f", error - paper.error),
                        ]
                        verdict = Verdict(run, against: paper).rawValue
                    }
                    rows.append([
                        "ours: \(Style.plainName(run.config.variant))", r.architecture, delta[0], errorText,
                        String(format: "%.2f (%d)", r.bestTestError, r.bestEpoch), delta[1], percent(KeptWeights.share(run)),
                        count(r.expectedFlops), verdict,
                    ])
                }
            }
            return StoredTable(
                alignments: [.left, .left, .right, .right, .right, .right, .right, .right, .left],
                header: ["method", "groups kept", "Δ groups", "error %", "best error % (epoch)", "Δ error", "weights kept %", "E[FLOPs]", "verdict"],
                rows: rows)
        case .runs:
            // Every run, seeds included, in network and variant order.
            let all = ModelKind.allCases.flatMap { model in Variant.allCases.flatMap { runs.group(model, $0)?.runs ?? [] } }
            let rows = all.map { run -> [String] in
                let c = run.config
                let lambdas = c.lambdas.isEmpty ? "–" : c.lambdas.map { String(format: "%g", $0) }.joined(separator: ", ")
                // Selective decay holds out its validation split (`Trainer.split`).
                var examples = min(c.trainingLimit ?? Int.max, run.data.trainingExamples)
                if let fraction = c.selectiveDecay?.validationFraction { examples -= Int((Double(examples) * fraction).rounded()) }
                return [
                    run.directoryName, DatasetName(rawValue: run.data.name)?.displayName ?? run.data.name, String(examples), String(c.epochs),
                    lambdas,
                    String(c.seed), String(format: "%.2f", run.result.finalTestError), count(run.result.expectedFlops),
                ]
            }
            return StoredTable(
                alignments: [.left, .left, .right, .right, .left, .right, .right, .right],
                header: ["run", "dataset", "training examples", "epochs", "λ (per N)", "seed", "error %", "E[FLOPs]"], rows: rows)
        case .pruning:
            var rows: [[String]] = []
            for model in models {
                let total = KeptWeights.total(model)
                // Published MNIST results: beside runs on MNIST only.
                let onMNIST = runs.runs.allSatisfy { $0.config.dataset == "mnist" }
                for quoted in PaperResults.quotedPruning where quoted.model == model && onMNIST {
                    rows.append([
                        model.network.title, "\(quoted.method), quoted", String(format: "%.2f", quoted.error), "–",
                        String(format: "%.0f×", quoted.compression), percent(quoted.weightsKept), "–", "–", "–",
                    ])
                }
                for variant in [Variant.l0, .l0Sep, .selectiveDecay, .magnitude, .dense] {
                    guard let run = runs.run(model, variant) else { continue }
                    let r = run.result
                    let kept = KeptWeights.count(run)
                    rows.append([
                        model.network.title, Style.plainName(variant), String(format: "%.2f", r.finalTestError),
                        String(format: "%.2f (%d)", r.bestTestError, r.bestEpoch), String(format: "%.1f×", Double(total) / Double(max(kept, 1))),
                        percent(Double(kept) / Double(total)), count(r.prunedFlops), count(run.unstructuredFlops), r.architecture,
                    ])
                }
            }
            return StoredTable(
                alignments: [.left, .left, .right, .right, .right, .right, .right, .right, .left],
                header: ["network", "method", "error %", "best (epoch)", "ratio", "kept %", "FLOPs struct.", "FLOPs unstr.", "groups kept"],
                rows: rows)
        case .savings:
            var rows: [[String]] = []
            for model in models {
                for variant in Variant.allCases where variant.isGated {
                    guard let run = runs.run(model, variant) else { continue }
                    let r = run.result
                    let modelURL = runs.directory.appendingPathComponent(run.directoryName).appendingPathComponent(ModelFile.fileName)
                    let purged = try? Purge.network(for: Purge.purge(ModelFile.read(from: modelURL)), maxBatch: 1)
                    let timing = RunTimings.training(run, in: runs.directory)
                    let seconds = { (last: Bool) in timing.map { String(format: "%.2f", RunTimings.epochSeconds($0, last: last)) } ?? "–" }
                    let speedUp = timing.map {
                        String(format: "%.1f×", RunTimings.epochSeconds($0, last: false) / RunTimings.epochSeconds($0, last: true))
                    }
                    rows.append([
                        "\(model.network.title), \(Style.plainName(variant))", count(r.denseFlops), count(r.expectedFlops), count(r.prunedFlops),
                        purged.map { count(ModelCost.of($0).flops) } ?? "–", String(format: "%.1f×", r.denseFlops / r.prunedFlops), seconds(false),
                        seconds(true), speedUp ?? "–",
                    ])
                }
            }
            return StoredTable(
                alignments: [.left, .right, .right, .right, .right, .right, .right, .right, .right],
                header: [
                    "run", "FLOPs dense", "E[FLOPs] at the end", "after pruning", "purged", "dense / pruned", "s/epoch, first 5", "s/epoch, last 5",
                    "first / last",
                ], rows: rows)
        case .inference:
            var rows: [[String]] = []
            for model in models {
                for variant in Variant.allCases where variant.isGated {
                    guard let run = runs.run(model, variant), let timing = try RunTimings.inference(run, in: runs.directory) else { continue }
                    for c in timing.cases {
                        let (dense, gated, purged) = (
                            InferenceTiming.median(c.dense), InferenceTiming.median(c.gated), InferenceTiming.median(c.purged)
                        )
                        let torch = c.pytorch.map(InferenceTiming.median)
                        let ms = { (s: Double) -> String in String(format: s < 0.001 ? "%.3f" : "%.2f", 1000 * s) }
                        let name = "\(model.network.title), \(Style.plainName(variant))"
                        let times: [String] = [ms(dense), ms(gated), ms(purged), torch.map(ms) ?? "–"]
                        let versusTorch: String = torch.map { String(format: "%.1f×", $0 / purged) } ?? "–"
                        let ratios: [String] = [
                            String(format: "%.1f×", dense / purged), versusTorch, String(format: "%.1f×", timing.denseFlops / timing.purgedFlops),
                        ]
                        rows.append([name, String(c.batch), String(c.threads)] + times + ratios)
                    }
                }
            }
            if rows.isEmpty {
                rows.append(["no inference timing beside the L0 runs (`l0repro bench inference RUN`)"] + Array(repeating: "–", count: 9))
            }
            return StoredTable(
                alignments: [.left, .right, .right, .right, .right, .right, .right, .right, .right, .right],
                header: [
                    "run", "batch", "threads", "dense ms", "gated ms", "purged ms", "PyTorch dense ms", "purged vs dense", "purged vs PyTorch",
                    "FLOP ratio",
                ], rows: rows)
        }
    }
}
