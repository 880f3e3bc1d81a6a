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
        case .lenet5: return lenet5(config, trainingSize: trainingSize, maxBatch: maxBatch, random: random)
        }
    }

    /// Initial drop rate of LeNet-5's gates (all layers), and its dropout rate on the FC inputs.
    public static let lenetDropRate = 0.5

    /// LeNet-5-Caffe on 1×28×28 inputs: conv 5×5 1→20, ReLU, max-pool 2; conv 5×5 20→50, ReLU, max-pool 2;
    /// flatten (800); FC 800→500, ReLU; FC 500→10. Gated variants gate the conv output maps and the FC
    /// inputs; the dropout variant drops the FC inputs.
    static func lenet5(_ config: TrainingConfig, trainingSize: Int, maxBatch: Int, random: RandomGenerator) -> Network {
        let n = Double(trainingSize)
        let decay = Float(config.weightDecay / n)
        let perExample = config.gateSampling == .example
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
            if config.variant.isGated {
                let layer = L0Conv2D(
                    name: name, shape: shape, maxBatch: maxBatch, lambda: Float(config.lambdas[index] / n), decay: decay,
                    perExampleGates: perExample, pooling: 2, rectifiedInput: index > 0)
                layer.initialize(dropRate: lenetDropRate, random: random)
                layers.append(layer)
            } else {
                let layer = Conv2D(name: name, shape: shape, maxBatch: maxBatch, decay: decay, pooling: 2, rectifiedInput: index > 0)
                layer.initialize(random: random)
                layers.append(layer)
            }
        }
        layers.append(Flatten(name: "flatten", inputShape: [50, 4, 4]))
        for (index, (inputs, outputs)) in [(800, 500), (500, 10)].enumerated() {
            let name = "fc\(index + 1)"
            // A gated layer applies the ReLU before it itself (`L0Dense.rectifiesInput`).
            if index > 0 && !config.variant.isGated {
                layers.append(ReLU(name: "relu\(index + 3)", shape: [inputs], maxBatch: maxBatch))
            }
            if config.variant.isGated {
                let layer = L0Dense(
                    name: name, inputs: inputs, outputs: outputs, maxBatch: maxBatch,
                    lambda: Float(config.lambdas[index + 2] / n), decay: decay, perExampleGates: perExample,
                    rectifiesInput: index > 0)
                layer.initialize(dropRate: lenetDropRate, random: random)
                layers.append(layer)
            } else {
                if config.variant == .dropout {
                    layers.append(Dropout(name: "drop\(index + 1)", rate: Float(lenetDropRate), shape: [inputs], maxBatch: maxBatch))
                }
                let layer = Dense(name: name, inputs: inputs, outputs: outputs, maxBatch: maxBatch, decay: decay)
                layer.initialize(random: random)
                layers.append(layer)
            }
        }
        return Network(layers: layers, inputShape: [1, 28, 28], classes: 10, maxBatch: maxBatch)
    }

    static func mlp(_ config: TrainingConfig, trainingSize: Int, maxBatch: Int, random: RandomGenerator) -> Network {
        let n = Double(trainingSize)
        let decay = Float(config.weightDecay / n)
        var layers = [any Layer]()
        for index in 0..<3 {
            let (inputs, outputs) = (mlpWidths[index], mlpWidths[index + 1])
            let name = "fc\(index + 1)"
            // A gated layer applies the ReLU before it itself (`L0Dense.rectifiesInput`).
            if index > 0 && !config.variant.isGated {
                layers.append(ReLU(name: "relu\(index)", shape: [inputs], maxBatch: maxBatch))
            }
            switch config.variant {
            case .l0, .l0Sep:
                let layer = L0Dense(
                    name: name, inputs: inputs, outputs: outputs, maxBatch: maxBatch,
                    lambda: Float(config.lambdas[index] / n), decay: decay,
                    perExampleGates: config.gateSampling == .example, rectifiesInput: index > 0)
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
