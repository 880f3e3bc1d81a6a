import L0
import NeuralNet

/// Builds the paper's networks for a configuration.
public enum Models {
    /// The MLP's layer widths: 784-300-100-10.
    public static let mlpWidths = [784, 300, 100, 10]
    /// Initial drop rates of the MLP's gates (and dropout rates): inputs 0.2, hidden 0.5.
    public static let mlpDropRates = [0.2, 0.5, 0.5]

    /// The network for `config`, initialised from `random`, for a training set of `trainingSize`
    /// examples (which scales λ and the weight decay) and batches of at most `maxBatch`.
    public static func build(
        _ config: TrainingConfig, trainingSize: Int, maxBatch: Int, random: RandomGenerator
    ) -> Network {
        switch config.model {
        case .mlp: return mlp(config, trainingSize: trainingSize, maxBatch: maxBatch, random: random)
        }
    }

    static func mlp(_ config: TrainingConfig, trainingSize: Int, maxBatch: Int, random: RandomGenerator) -> Network {
        let n = Double(trainingSize)
        let decay = Float(config.weightDecay / n)
        var layers = [any Layer]()
        for index in 0..<3 {
            let (inputs, outputs) = (mlpWidths[index], mlpWidths[index + 1])
            let name = "fc\(index + 1)"
            if index > 0 { layers.append(ReLU(name: "relu\(index)", shape: [inputs], maxBatch: maxBatch)) }
            switch config.variant {
            case .l0, .l0Sep:
                let layer = L0Dense(
                    name: name, inputs: inputs, outputs: outputs, maxBatch: maxBatch,
                    lambda: Float(config.lambdas[index] / n), decay: decay,
                    perExampleGates: config.gateSampling == .example)
                layer.initialize(dropRate: mlpDropRates[index], random: random)
                layers.append(layer)
            case .dropout, .dense:
                if config.variant == .dropout {
                    layers.append(
                        Dropout(name: "drop\(index + 1)", rate: Float(mlpDropRates[index]), shape: [inputs], maxBatch: maxBatch))
                }
                let layer = Dense(name: name, inputs: inputs, outputs: outputs, maxBatch: maxBatch, decay: decay)
                layer.initialize(random: random)
                layers.append(layer)
            }
        }
        return Network(layers: layers, inputShape: [784], classes: 10, maxBatch: maxBatch)
    }
}
