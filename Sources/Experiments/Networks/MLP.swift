import NeuralNet

/// The paper's MLP on MNIST: 784-300-100-10 with ReLU, gates on the inputs of each of its three
/// fully connected layers (initial drop rates 0.2 on the pixels, 0.5 on the hidden units).
public struct MLPNetwork: NetworkDescription {
    public init() {}

    public let name = "mlp"
    public let title = "MLP"
    public let summary = "784-300-100-10"
    public let widths = [784, 300, 100, 10]
    public var groups: [Int] { Array(widths.dropLast()) }
    /// Initial drop rates of the gates, and the dropout variant's rates.
    public let dropRates = [0.2, 0.5, 0.5]
    public let quickEpochs = 30
    public let peerName: String? = "mlp"

    /// l0: 0.1 on every layer (the paper). l0-sep: the paper does not publish its values; ours,
    /// (0.05, 0.5, 1), put a lighter penalty on the input layer and heavier ones on the hidden
    /// layers, the pattern of its 266-88-33 result.
    public func defaultLambdas(_ variant: Variant) -> [Double] {
        switch variant {
        case .l0: [0.1, 0.1, 0.1]
        case .l0Sep: [0.05, 0.5, 1.0]
        case .dropout, .dense, .selectiveDecay, .magnitude: []
        }
    }

    public var paperRows: [PaperResults.Row] {
        [
            .init(model: .mlp, method: "Sparse VD", architecture: [512, 114, 72], error: 1.8),
            .init(model: .mlp, method: "BC-GNJ", architecture: [278, 98, 13], error: 1.8),
            .init(model: .mlp, method: "BC-GHS", architecture: [311, 86, 14], error: 1.8),
            .init(model: .mlp, method: "L0, λ = 0.1/N", architecture: [219, 214, 100], error: 1.4, variant: .l0),
            .init(model: .mlp, method: "L0, λ sep.", architecture: [266, 88, 33], error: 1.8, variant: .l0Sep),
        ]
    }

    public func network(_ build: NetworkBuild) -> Network {
        var layers = [any Layer]()
        for index in 0..<3 {
            layers += LayerFactory.fullyConnected(
                "fc\(index + 1)", inputs: widths[index], outputs: widths[index + 1], index: index, dropRate: dropRates[index],
                afterReLU: index > 0, reluName: "relu\(index)", dropoutName: "drop\(index + 1)", build: build)
        }
        return Network(layers: layers, inputShape: [784], classes: 10, maxBatch: build.maxBatch)
    }

    /// 784·300 + 300·100 + 100·10 = 266,200 when every group is kept.
    public func keptWeights(architecture a: [Int]) -> Int { a[0] * a[1] + a[1] * a[2] + a[2] * 10 }
}
