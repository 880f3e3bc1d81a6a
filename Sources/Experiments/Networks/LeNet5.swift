import L0
import NeuralNet

/// LeNet-5-Caffe on 1×28×28 inputs: conv 5×5 1→20, ReLU, max-pool 2; conv 5×5 20→50, ReLU, max-pool
/// 2; flatten (800); FC 800→500, ReLU; FC 500→10. Gated variants gate the conv output maps and the
/// FC inputs (initial drop rate 0.5 everywhere); the dropout variant drops the FC inputs.
public struct LeNet5Network: NetworkDescription {
    public init() {}

    public let name = "lenet5"
    public let title = "LeNet-5"
    public let summary = "LeNet-5-Caffe, 20-50-800-500"
    public let groups = [20, 50, 800, 500]
    /// Initial drop rate of the gates (all layers), and the dropout variant's rate on the FC inputs.
    public let dropRate = 0.5
    public let quickEpochs = 12
    public let peerName: String? = "lenet"

    /// l0: 0.1 on every layer (the paper). l0-sep: (10, 0.5, 0.1, 10), the values consistent with
    /// the paper's result, from a later replication.
    public func defaultLambdas(_ variant: Variant) -> [Double] {
        switch variant {
        case .l0: [0.1, 0.1, 0.1, 0.1]
        case .l0Sep: [10, 0.5, 0.1, 10]
        case .dropout, .dense, .selectiveDecay, .magnitude: []
        }
    }

    public var paperRows: [PaperResults.Row] {
        [
            .init(model: .lenet5, method: "Sparse VD", architecture: [14, 19, 242, 131], error: 1.0),
            .init(model: .lenet5, method: "GL", architecture: [3, 12, 192, 500], error: 1.0),
            .init(model: .lenet5, method: "GD", architecture: [7, 13, 208, 16], error: 1.1),
            .init(model: .lenet5, method: "SBP", architecture: [3, 18, 284, 283], error: 0.9),
            .init(model: .lenet5, method: "BC-GNJ", architecture: [8, 13, 88, 13], error: 1.0),
            .init(model: .lenet5, method: "BC-GHS", architecture: [5, 10, 76, 16], error: 1.0),
            .init(model: .lenet5, method: "L0, λ = 0.1/N", architecture: [20, 25, 45, 462], error: 0.9, variant: .l0),
            .init(model: .lenet5, method: "L0, λ sep.", architecture: [9, 18, 65, 25], error: 1.0, variant: .l0Sep),
        ]
    }

    public func network(_ build: NetworkBuild) -> Network {
        let convolutions = [
            ConvolutionShape(inChannels: 1, outChannels: 20, kernel: 5, inHeight: 28, inWidth: 28),
            ConvolutionShape(inChannels: 20, outChannels: 50, kernel: 5, inHeight: 12, inWidth: 12),
        ]
        var layers = [any Layer]()
        // Each convolution is followed by a ReLU and a 2×2 max-pool, both done inside the layer
        // (`ConvolutionPooling`), pooling first: the same function and the same gradient (max
        // commutes with max(0, ·), and a window whose maximum is ≤ 0 passes no gradient either way).
        // So conv2's input is a ReLU's output, and a channel that is 0 in the whole batch needs no
        // input gradient (`ConvolutionCore.rectifiedInput`).
        for (index, shape) in convolutions.enumerated() {
            let name = "conv\(index + 1)"
            if build.method == .l0Gates {
                let layer = L0Conv2D(
                    name: name, shape: shape, maxBatch: build.maxBatch, lambda: build.lambda(index), decay: build.decay,
                    perExampleGates: build.perExampleGates, pooling: 2, rectifiedInput: index > 0)
                layer.initialize(dropRate: dropRate, random: build.random)
                layers.append(layer)
            } else {
                let layer = Conv2D(name: name, shape: shape, maxBatch: build.maxBatch, decay: build.decay, pooling: 2, rectifiedInput: index > 0)
                layer.initialize(random: build.random)
                layers.append(layer)
            }
        }
        layers.append(Flatten(name: "flatten", inputShape: [50, 4, 4]))
        for (index, (inputs, outputs)) in [(800, 500), (500, 10)].enumerated() {
            layers += LayerFactory.fullyConnected(
                "fc\(index + 1)", inputs: inputs, outputs: outputs, index: index + 2, dropRate: dropRate, afterReLU: index > 0,
                reluName: "relu\(index + 3)", dropoutName: "drop\(index + 1)", build: build)
        }
        return Network(layers: layers, inputShape: [1, 28, 28], classes: 10, maxBatch: build.maxBatch)
    }

    /// 20·25 + 50·20·25 + 800·500 + 500·10 = 430,500 when every group is kept; fc1's kept inputs are
    /// taken to lie in kept maps of conv2.
    public func keptWeights(architecture a: [Int]) -> Int { a[0] * 25 + a[1] * a[0] * 25 + a[2] * a[3] + a[3] * 10 }

    /// An fc1 input counts only when conv2 keeps the map it reads (16 inputs per map).
    public func keptArchitecture(_ kept: [[Bool]]) -> [Int] {
        var architecture = kept.map { $0.filter { $0 }.count }
        if kept.count == 4, kept[1].count * 16 == kept[2].count {
            architecture[2] = kept[2].indices.filter { kept[2][$0] && kept[1][$0 / 16] }.count
        }
        return architecture
    }
}
