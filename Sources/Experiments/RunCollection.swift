import FileSupport
import Foundation

/// The run logs found under a runs directory (`<runs>/<model>-<variant>-<id>/log.json`), for figures
/// and tables.
public struct RunCollection: Sendable {
    public let directory: URL
    /// Every log, ordered by model, variant and id.
    public let runs: [RunLog]

    /// Reads every finished `log.json` one level below `directory`, keeping those of `dataset` when
    /// given. A missing directory gives an empty collection; an unreadable log, or one that does not
    /// match its digest, is an error naming it (`Trainer.finishedLog`).
    public init(directory: URL, dataset: String? = nil) throws {
        self.directory = directory
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var runs: [RunLog] = []
        for entry in entries.sorted() {
            guard let log = try Trainer.finishedLog(in: directory.appendingPathComponent(entry)) else { continue }
            if dataset == nil || log.data.name == dataset { runs.append(log) }
        }
        self.runs = runs.sorted {
            ($0.config.model.rawValue, $0.config.variant.rawValue, $0.id) < ($1.config.model.rawValue, $1.config.variant.rawValue, $1.id)
        }
    }

    /// A collection of the given logs (those of one report, say); `directory` is named in errors.
    public init(runs: [RunLog], directory: URL) {
        self.directory = directory
        self.runs = runs.sorted {
            ($0.config.model.rawValue, $0.config.variant.rawValue, $0.id) < ($1.config.model.rawValue, $1.config.variant.rawValue, $1.id)
        }
    }

    /// The run of `model` and `variant` that trained longest (ties: the smallest id), if any.
    /// With several seeds of that setting, the run of median final error (`SeedGroup.medianRun`).
    public func run(_ model: ModelKind, _ variant: Variant) -> RunLog? { group(model, variant)?.medianRun }

    /// The chosen run of each variant of `model` that has one, in `Variant.allCases` order.
    public func runs(of model: ModelKind) -> [RunLog] { Variant.allCases.compactMap { run(model, $0) } }

    /// An error saying that no run of `model` is here, and how to make one.
    public func missing(_ model: ModelKind, _ variant: Variant? = nil) -> FileError {
        let what = variant.map { "\(model.rawValue) \($0.rawValue)" } ?? model.rawValue
        return FileError(
            path: directory.path,
            problem:
                "no \(what) run log here; train one with `l0repro train \(model.rawValue) --variant \((variant ?? .l0).rawValue)` or pass --runs-dir")
    }
}
