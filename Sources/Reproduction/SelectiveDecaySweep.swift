import Experiments
import FileSupport
import Foundation
import Reporting

/// The choice of selective decay's λ and τ on the validation split (DESIGN §1.9): runs of the
/// paper profile that differ only in λ and τ, and the rule that picks one — the fewest weights kept
/// among the runs whose final validation loss is within `tolerance` of the lowest.
public enum SelectiveDecaySweep {
    /// Within this share of the lowest final validation loss, fewer weights win.
    public static let tolerance = 0.05

    /// One run of the sweep.
    public struct Point: Equatable, Sendable {
        public var model: ModelKind
        public var decay: Double
        public var relevance: Double
        public var validationLoss: Double
        public var keptWeights: Int
        public var finalTestError: Double
        public var rounds: Int
    }

    /// The points of `model` the rule picks from, and the chosen one.
    public static func choice(_ points: [Point]) -> Point? {
        guard let lowest = points.map(\.validationLoss).min() else { return nil }
        let near = points.filter { $0.validationLoss <= lowest * (1 + tolerance) }
        return near.min { ($0.keptWeights, $0.decay, $0.relevance) < ($1.keptWeights, $1.decay, $1.relevance) }
    }

    /// The names and log digests of the runs under `directory`, for a cell's inputs.
    static func digests(_ directory: URL) -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
        return names.compactMap { name in
            (try? Data(contentsOf: Trainer.logURL(in: directory.appendingPathComponent(name)))).map { "\(name)@\(Digest.sha256($0).prefix(16))" }
        }.joined(separator: " ")
    }

    /// The selective-decay runs of the report (`runs`) and the finished ones under `sweep` on the
    /// same dataset whose configuration equals a report run's but for λ and τ.
    static func runs(_ runs: RunCollection, sweep: URL?, dataset: String) throws -> [Point] {
        var logs = runs.runs.filter { $0.config.variant == .selectiveDecay }
        guard let sweep else { return points(logs) }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: sweep.path)) ?? []).sorted()
        for name in names {
            guard let log = try Trainer.finishedLog(in: sweep.appendingPathComponent(name)), log.config.dataset == dataset else { continue }
            guard
                logs.contains(where: { reference in
                    var a = reference.config
                    var b = log.config
                    a.selectiveDecay?.decay = 0
                    a.selectiveDecay?.relevance = 0
                    b.selectiveDecay?.decay = 0
                    b.selectiveDecay?.relevance = 0
                    return a == b
                }), !logs.contains(where: { $0.config == log.config })
            else { continue }
            logs.append(log)
        }
        return points(logs)
    }

    static func points(_ logs: [RunLog]) -> [Point] {
        logs.compactMap { log in
            guard let settings = log.config.selectiveDecay, let loss = log.epochs.last?.validationLoss else { return nil }
            return Point(
                model: log.config.model, decay: settings.decay, relevance: settings.relevance, validationLoss: loss,
                keptWeights: KeptWeights.count(log), finalTestError: log.result.finalTestError, rounds: log.pruningRounds?.count ?? 0)
        }
    }

    static func table(_ points: [Point], models: [ModelKind]) throws -> StoredTable {
        var rows: [[String]] = []
        for model in models {
            let mine = points.filter { $0.model == model }.sorted { ($0.decay, $0.relevance) < ($1.decay, $1.relevance) }
            let chosen = choice(mine)
            for point in mine {
                rows.append([
                    model.network.title, ReportTables.number(point.decay), ReportTables.number(point.relevance),
                    String(format: "%.4f", point.validationLoss),
                    String(format: "%.1f %%", 100 * Double(point.keptWeights) / Double(KeptWeights.total(model))),
                    String(format: "%.2f", point.finalTestError), String(point.rounds), point == chosen ? "chosen" : "",
                ])
            }
        }
        guard !rows.isEmpty else {
            throw CellError("no selective-decay runs to compare; train them first (l0repro train … --method selective-decay)")
        }
        return StoredTable(
            alignments: [.left, .right, .right, .right, .right, .right, .right, .left],
            header: ["network", "λ", "τ", "final validation loss", "weights kept", "test error %", "rounds", "rule"], rows: rows)
    }
}
