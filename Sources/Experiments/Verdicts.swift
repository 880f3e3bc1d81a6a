import L0

/// Weights kept by a pruned network, counted as the paper's architectures imply: only weights
/// between kept groups on both sides of a layer (a kept input row of a fully connected layer keeps
/// only its weights to outputs that the next layer still reads). Biases are not counted.
public enum KeptWeights {
    /// All weights of the network: 266,200 (MLP) and 430,500 (LeNet-5).
    public static func total(_ model: ModelKind) -> Int { count(model, architecture: PaperResults.originalArchitecture(model)) }

    /// The weights between the kept groups of `architecture` (groups kept per gated layer, as in
    /// Table 1). For LeNet-5 the kept inputs of fc1 are taken to lie in kept maps of conv2.
    public static func count(_ model: ModelKind, architecture: [Int]) -> Int {
        model.network.keptWeights(architecture: architecture)
    }

    /// The weights between kept groups of a finished run, from its final gates (ẑ > 0); an ungated
    /// run keeps its non-zero weights (all of them unless a pruning method zeroed some). For LeNet-5
    /// an fc1 input counts only when conv2 keeps the map it reads.
    public static func count(_ log: RunLog) -> Int {
        let model = log.config.model
        guard !log.finalGates.isEmpty else { return log.result.keptWeights }
        let kept = log.finalGates.map { gates in gates.logAlpha.map { HardConcrete.deterministicGate(logAlpha: Double($0)) > 0 } }
        return count(model, architecture: model.network.keptArchitecture(kept))
    }

    /// The share of weights kept, 0…1.
    public static func share(_ log: RunLog) -> Double { Double(count(log)) / Double(total(log.config.model)) }

    /// The share of weights the paper's `architecture` keeps, 0…1.
    public static func share(_ model: ModelKind, architecture: [Int]) -> Double {
        Double(count(model, architecture: architecture)) / Double(total(model))
    }
}

/// How one of our runs compares with the paper's row, under the rule the report states.
public enum Verdict: String, Sendable {
    case reproduced, close, differs

    /// |Δ error| at most this many points, and weights kept within this factor, for "reproduced".
    public static let reproducedError = 0.2
    public static let reproducedFactor = 1.5
    /// The same bounds for "close"; anything beyond is "differs".
    public static let closeError = 0.5
    public static let closeFactor = 3.0

    /// The rule in one sentence, for the report.
    public static var rule: String {
        "reproduced when the error after the last epoch is within \(format(reproducedError)) points of the paper's and the weights kept within a factor \(format(reproducedFactor)); close within \(format(closeError)) points and a factor \(format(closeFactor)); differs otherwise"
    }

    /// The verdict for `log` against the paper's `row`.
    public init(_ log: RunLog, against row: PaperResults.Row) {
        let deltaError = abs(log.result.finalTestError - row.error)
        let ours = KeptWeights.share(log)
        let theirs = KeptWeights.share(row.model, architecture: row.architecture)
        let factor = max(ours, theirs) / max(min(ours, theirs), 1e-12)
        if deltaError <= Self.reproducedError + 1e-9 && factor <= Self.reproducedFactor {
            self = .reproduced
        } else if deltaError <= Self.closeError + 1e-9 && factor <= Self.closeFactor {
            self = .close
        } else {
            self = .differs
        }
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
