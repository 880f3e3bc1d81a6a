/// How much training a report does.
public enum Profile: String, CaseIterable, Codable, Sendable {
    /// Seconds: one epoch on the first 1,000 training examples (for tests and a first look).
    case smoke
    /// Under 15 minutes on 2 cores: the full training set, fewer epochs (MLP 30, LeNet-5 12).
    case quick
    /// The paper's protocol: 200 epochs, batch 100, Adam 1e-3, weight average 0.999.
    case paper

    /// The configuration of `model` in `variant` on `dataset` under this profile.
    public func config(_ model: ModelKind, _ variant: Variant, dataset: String) -> TrainingConfig {
        switch self {
        case .smoke:
            TrainingConfig(model: model, variant: variant, dataset: dataset, epochs: 1, averageDecay: 0.9, trainingLimit: 1000)
        case .quick:
            TrainingConfig(model: model, variant: variant, dataset: dataset, epochs: model.network.quickEpochs)
        case .paper:
            TrainingConfig(model: model, variant: variant, dataset: dataset, epochs: 200)
        }
    }

    /// One line saying what the profile trains.
    public var summary: String {
        switch self {
        case .smoke: "smoke: 1 epoch on 1,000 training examples (weight average 0.9); not a result"
        case .quick:
            "quick: full training set, " + ModelKind.allCases.map { "\($0.network.title) \($0.network.quickEpochs) epochs" }.joined(separator: ", ")
        case .paper: "paper: the paper's protocol, 200 epochs, batch 100, Adam 1e-3, weight average 0.999"
        }
    }
}
