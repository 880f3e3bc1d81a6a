import FileSupport
import Foundation
import NeuralNet

/// How a network is regularised.
public enum Variant: String, Codable, CaseIterable, Sendable {
    /// L0 gates, the same λ on every layer.
    case l0
    /// L0 gates, a separate λ per layer.
    case l0Sep = "l0-sep"
    /// Dropout at the gates' initial drop rates, L2 weight decay.
    case dropout
    /// No gates, no dropout, L2 weight decay.
    case dense
    /// Selective weight decay with plateau-triggered iterative pruning (after Bonetta et al. 2022,
    /// with the relevance and pruning rules of LOBSTER; DESIGN §1.9). Not one of the paper's variants.
    case selectiveDecay = "selective-decay"
    /// Gradual magnitude pruning (Zhu & Gupta 2017). Not one of the paper's variants.
    case magnitude

    /// The paper's four variants, in its order.
    public static let paper: [Variant] = [.l0, .l0Sep, .dropout, .dense]
    /// The pruning methods the reproduction compares L0 with.
    public static let pruning: [Variant] = [.selectiveDecay, .magnitude]

    /// Whether the variant trains hard concrete gates.
    public var isGated: Bool { method == .l0Gates }
}

/// Whether each minibatch shares one gate sample or every example draws its own.
public enum GateSampling: String, Codable, CaseIterable, Sendable {
    case batch, example
}

/// SGD with momentum instead of Adam (the wide ResNets' protocol): the learning rate is the
/// configuration's, changed by `schedule`.
public struct SGDSettings: Codable, Equatable, Sendable {
    public var momentum: Double
    public var nesterov: Bool
    /// Coupled L2 weight decay (added to the gradient, as PyTorch's `weight_decay`), not per N.
    public var weightDecay: Double
    public var schedule: StepSchedule?

    public init(momentum: Double = 0.9, nesterov: Bool = true, weightDecay: Double = 0, schedule: StepSchedule? = nil) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.schedule = schedule
    }
}

/// Everything that decides a run's result. Its canonical JSON, with the data's digest, is the run's
/// identity: the same configuration on the same data is the same run.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var model: ModelKind
    public var variant: Variant
    /// The dataset's name, e.g. "fashion-mnist".
    public var dataset: String
    /// λ per gated layer in "per N" units: the objective uses λ/N (DESIGN §1.1). Empty when ungated.
    public var lambdas: [Double]
    /// The L2 coefficient in "per N" units (the objective uses weightDecay/N).
    public var weightDecay: Double
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    /// Decay of the moving average of weights used for evaluation; 0 evaluates the raw weights.
    public var averageDecay: Double
    public var seed: UInt64
    public var gateSampling: GateSampling
    /// Train on the first `trainingLimit` examples only (nil: all of them).
    public var trainingLimit: Int?
    /// SGD instead of Adam when set. Absent from the JSON when nil, so Adam runs keep their bytes
    /// and identities.
    public var sgd: SGDSettings?
    /// The selective-decay variant's settings (nil for every other variant; absent from the JSON).
    public var selectiveDecay: SelectiveDecaySettings?
    /// The magnitude variant's settings (nil for every other variant; absent from the JSON).
    public var magnitude: MagnitudeSettings?

    public init(
        model: ModelKind, variant: Variant, dataset: String, lambdas: [Double]? = nil, weightDecay: Double? = nil,
        epochs: Int, batchSize: Int = 100, learningRate: Double = 1e-3, averageDecay: Double = 0.999,
        seed: UInt64 = 1, gateSampling: GateSampling = .batch, trainingLimit: Int? = nil
    ) {
        self.model = model
        self.variant = variant
        self.dataset = dataset
        self.lambdas = lambdas ?? TrainingConfig.defaultLambdas(model: model, variant: variant)
        // Selective decay replaces L2 decay; every other variant has the paper's 5e-4 per N.
        self.weightDecay = weightDecay ?? (variant == .selectiveDecay ? 0 : 5e-4)
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.averageDecay = averageDecay
        self.seed = seed
        self.gateSampling = gateSampling
        self.trainingLimit = trainingLimit
        switch variant {
        case .selectiveDecay: selectiveDecay = SelectiveDecaySettings.defaults(model: model)
        case .magnitude: magnitude = MagnitudeSettings.defaults(epochs: epochs)
        default: break
        }
    }

    /// The network's λ (per N) for each gated layer (`NetworkDescription.defaultLambdas`).
    public static func defaultLambdas(model: ModelKind, variant: Variant) -> [Double] {
        variant.isGated ? model.network.defaultLambdas(variant) : []
    }

    /// The number of gated (or, ungated, weight) layers.
    public var weightLayerCount: Int { model.network.groups.count }

    /// λ for every gated layer from `values`: one value is spread over all of them; otherwise the
    /// values are taken as given (`validate` checks their number).
    public mutating func setLambdas(_ values: [Double]) {
        lambdas = values.count == 1 && variant.isGated ? Array(repeating: values[0], count: weightLayerCount) : values
    }

    /// Checks the values a user can set; the message names the offending value.
    public func validate() throws {
        func fail(_ message: String) -> ConfigError { ConfigError(message: message) }
        if NetworkCatalog.description(named: model.rawValue) == nil {
            throw fail("unknown network '\(model.rawValue)'; choose one of \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if variant.isGated && lambdas.count != weightLayerCount {
            throw fail("--lambda needs one value or \(weightLayerCount) comma-separated values for \(model.rawValue), got \(lambdas.count)")
        }
        if !variant.isGated && !lambdas.isEmpty {
            throw fail("--lambda applies to the l0 and l0-sep variants only, not \(variant.rawValue)")
        }
        if let bad = lambdas.first(where: { !($0 >= 0) || !$0.isFinite }) { throw fail("λ must be a finite number ≥ 0, got \(bad)") }
        if epochs < 1 { throw fail("--epochs must be at least 1, got \(epochs)") }
        if batchSize < 1 || batchSize > 10_000 { throw fail("--batch-size must be in 1…10000, got \(batchSize)") }
        if !(learningRate > 0) || !learningRate.isFinite { throw fail("--learning-rate must be positive, got \(learningRate)") }
        if !(averageDecay >= 0 && averageDecay < 1) { throw fail("--average-decay must be in [0, 1), got \(averageDecay)") }
        if !(weightDecay >= 0) || !weightDecay.isFinite { throw fail("--weight-decay must be ≥ 0, got \(weightDecay)") }
        if let limit = trainingLimit, limit < 1 { throw fail("--limit must be at least 1, got \(limit)") }
        if (variant == .selectiveDecay) != (selectiveDecay != nil) || (variant == .magnitude) != (magnitude != nil) {
            throw fail("pruning settings belong to the selective-decay and magnitude variants only, not \(variant.rawValue)")
        }
        try selectiveDecay?.validate()
        try magnitude?.validate(epochs: epochs)
        if let sgd {
            if !(sgd.momentum >= 0 && sgd.momentum < 1) { throw fail("SGD momentum must be in [0, 1), got \(sgd.momentum)") }
            if !(sgd.weightDecay >= 0) || !sgd.weightDecay.isFinite { throw fail("SGD weight decay must be ≥ 0, got \(sgd.weightDecay)") }
            if let schedule = sgd.schedule, !(schedule.factor > 0) || schedule.milestones.contains(where: { $0 < 1 }) {
                throw fail("a step schedule needs a positive factor and milestones ≥ 1")
            }
        }
    }

    /// λ and the weight decay as the objective uses them, per weight: "per N" divided by the
    /// training-set size N (DESIGN §1.1). The one place that converts.
    public func perWeight(trainingSize: Int) -> (lambdas: [Double], weightDecay: Double) {
        let n = Double(trainingSize)
        return (lambdas.map { $0 / n }, weightDecay / n)
    }

    /// The start of the directory names of this network and variant: "mlp-l0-".
    public var runDirectoryPrefix: String { "\(model.rawValue)-\(variant.rawValue)-" }

    /// The name of a run directory: `<network>-<variant>-<identity>`; the one place that makes it.
    public static func runDirectoryName(model: ModelKind, variant: Variant, id: String) -> String {
        "\(model.rawValue)-\(variant.rawValue)-\(id)"
    }

    /// This run's directory name on the data with `dataDigest`.
    public func runDirectoryName(dataDigest: String) -> String {
        Self.runDirectoryName(model: model, variant: variant, id: runIdentity(dataDigest: dataDigest))
    }

    /// The run's identity: the first 16 hex digits of the SHA-256 of this configuration's canonical
    /// JSON and the data digest.
    public func runIdentity(dataDigest: String) -> String {
        let identity = RunIdentity(config: self, dataSHA256: dataDigest)
        return String(Digest.sha256(CanonicalJSON.encode(identity)).prefix(16))
    }
}

private struct RunIdentity: Codable {
    var config: TrainingConfig
    var dataSHA256: String
}

/// A bad value in a training configuration.
public struct ConfigError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(message: String) { self.message = message }
}

/// JSON with sorted keys and a fixed layout, so equal values give equal bytes.
public enum CanonicalJSON {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch {
            preconditionFailure("encoding \(T.self) failed: \(error)")
        }
    }
}
