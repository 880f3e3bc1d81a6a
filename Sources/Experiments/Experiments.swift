import FileSupport
import Foundation

/// The runs a report needs, as its template declares them in the front matter:
///
///     experiments:
///       networks: [mlp, lenet5]
///       variants: [l0, l0-sep, dropout, dense]
///       seeds: [1, 2, 3]
///
/// Each combination is one run under the report's profile. What is not declared defaults to every
/// registered network, the paper's four variants and seed 1.
public struct ExperimentSet: Equatable, Sendable {
    public var networks: [ModelKind]
    public var variants: [Variant]
    public var seeds: [UInt64]

    public init(networks: [ModelKind] = ModelKind.allCases, variants: [Variant] = Variant.paper, seeds: [UInt64] = [1]) {
        self.networks = networks
        self.variants = variants
        self.seeds = seeds
    }

    /// Every run of the set under `profile` on `dataset`: networks, then variants, then seeds.
    public func configs(profile: Profile, dataset: String) -> [TrainingConfig] {
        networks.flatMap { network in
            variants.flatMap { variant in
                seeds.map { seed in
                    var config = profile.config(network, variant, dataset: dataset)
                    config.seed = seed
                    return config
                }
            }
        }
    }
}

/// Runs that differ only in their seed: one setting, several draws of the randomness.
public struct SeedGroup: Sendable {
    /// The runs, by seed.
    public let runs: [RunLog]

    public init(runs: [RunLog]) { self.runs = runs.sorted { $0.config.seed < $1.config.seed } }

    public var seeds: [UInt64] { runs.map(\.config.seed) }
    public var config: TrainingConfig { runs[0].config }

    /// The median of the final test errors (the mean of the middle two for an even count).
    public var medianFinalError: Double { Self.median(runs.map(\.result.finalTestError)) }
    /// The lowest and highest final test error.
    public var finalErrorRange: ClosedRange<Double> {
        let errors = runs.map(\.result.finalTestError)
        return errors.min()!...errors.max()!
    }

    /// The run whose final error is the median (the lower of the middle two), to draw and to count
    /// its groups.
    public var medianRun: RunLog {
        let sorted = runs.sorted { ($0.result.finalTestError, $0.config.seed) < ($1.result.finalTestError, $1.config.seed) }
        return sorted[(sorted.count - 1) / 2]
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}

extension RunCollection {
    /// The runs grouped by everything but the seed, in model, variant and first-run order.
    public var seedGroups: [SeedGroup] {
        var order: [String] = []
        var groups: [String: [RunLog]] = [:]
        for run in runs {
            var key = run.config
            key.seed = 0
            let text = String(decoding: CanonicalJSON.encode(key), as: UTF8.self)
            if groups[text] == nil { order.append(text) }
            groups[text, default: []].append(run)
        }
        return order.map { SeedGroup(runs: groups[$0]!) }
    }

    /// The seed group of `model` and `variant` that trained longest (then: with the most seeds).
    public func group(_ model: ModelKind, _ variant: Variant) -> SeedGroup? {
        // Ties: the group whose first run has the smallest id, as `run(_:_:)` chose before groups.
        seedGroups.filter { $0.config.model == model && $0.config.variant == variant }
            .max { ($0.config.epochs, $0.runs.count, $1.runs[0].id) < ($1.config.epochs, $1.runs.count, $0.runs[0].id) }
    }
}
