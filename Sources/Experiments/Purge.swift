import Datasets
import FileSupport
import Foundation
import L0
import NeuralNet

/// Purging (DESIGN §1.11): a finished L0 run's gated model becomes a plain, smaller one. Only groups
/// with ẑ > 0 stay; ẑ is folded into the weights (a gate on an input scales its row, a gate on a map
/// scales its filter and bias); each layer's inputs are sliced by its own gates and its outputs by
/// the next layer's. The result is written in the same model format with method "purged", and its
/// logits equal the gated model's deterministic-gate logits to rounding.
public enum Purge {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The purged model of `model` (a gated run's model file).
    public static func purge(_ model: ModelFile) throws -> ModelFile {
        guard let variant = Variant(rawValue: model.method), variant.isGated else {
            throw Failure(description: "only the model of an L0 run can be purged; this one's method is '\(model.method)'")
        }
        guard let network = NetworkCatalog.description(named: model.network) as? any PurgeableNetwork else {
            throw Failure(description: "no purge is defined for the network '\(model.network)'")
        }
        return try network.purged(Tensors(model))
    }

    /// The plain network a purged model describes, with its values loaded.
    public static func network(for model: ModelFile, maxBatch: Int) throws -> Network {
        guard let network = NetworkCatalog.description(named: model.network) as? any PurgeableNetwork else {
            throw Failure(description: "no purged form is defined for the network '\(model.network)'")
        }
        let built = try network.purgedNetwork(Tensors(model), maxBatch: maxBatch)
        try load(model, into: built)
        return built
    }

    /// The network a model file holds (gated, dropout, dense or purged), with its values loaded.
    public static func evaluationNetwork(for model: ModelFile, maxBatch: Int) throws -> Network {
        if model.method == "purged" { return try network(for: model, maxBatch: maxBatch) }
        guard let description = NetworkCatalog.description(named: model.network) else {
            throw Failure(description: "unknown network '\(model.network)'")
        }
        guard let variant = Variant(rawValue: model.method) else { throw Failure(description: "unknown method '\(model.method)'") }
        let build = NetworkBuild(
            method: variant.method, lambdas: Array(repeating: 0, count: description.groups.count), decay: 0, perExampleGates: false,
            maxBatch: maxBatch, random: RandomGenerator(seed: 0))
        let network = description.network(build)
        try load(model, into: network)
        return network
    }

    /// The plain network (no gates, no dropout) of a model's architecture with its weights and biases:
    /// for a gated model, the dense network that every gate open would give.
    public static func denseNetwork(for model: ModelFile, maxBatch: Int) throws -> Network {
        guard let description = NetworkCatalog.description(named: model.network) else {
            throw Failure(description: "unknown network '\(model.network)'")
        }
        let build = NetworkBuild(
            method: .none, lambdas: Array(repeating: 0, count: description.groups.count), decay: 0, perExampleGates: false,
            maxBatch: maxBatch, random: RandomGenerator(seed: 0))
        let network = description.network(build)
        try load(model, into: network)
        return network
    }

    /// Copies the model's tensors into the network's parameters by name; a missing tensor or another
    /// shape is an error.
    public static func load(_ model: ModelFile, into network: Network) throws {
        for parameter in network.parameters {
            guard let tensor = model.tensors.first(where: { $0.name == parameter.name }), let values = model.values(of: parameter.name)
            else { throw Failure(description: "the model has no tensor \(parameter.name)") }
            guard tensor.shape == parameter.shape else {
                throw Failure(description: "\(parameter.name) has shape \(tensor.shape) in the model, \(parameter.shape) in the network")
            }
            values.withUnsafeBufferPointer { parameter.value.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
    }

    /// Named tensors of a model file, read as Floats.
    public struct Tensors {
        public let model: ModelFile

        public init(_ model: ModelFile) { self.model = model }

        public func values(_ name: String) throws -> [Float] {
            guard let values = model.values(of: name) else { throw Failure(description: "the model has no tensor \(name)") }
            return Array(values)
        }

        public func shape(_ name: String) throws -> [Int] {
            guard let tensor = model.tensors.first(where: { $0.name == name }) else { throw Failure(description: "the model has no tensor \(name)") }
            return tensor.shape
        }

        /// ẑ of each group of the layer `name`.
        public func gates(_ name: String) throws -> [Float] {
            try values("\(name).logAlpha").map { Float(HardConcrete.deterministicGate(logAlpha: Double($0))) }
        }
    }

    /// The kept indices (ẑ > 0) of `gates`, or an error naming the layer when none is kept.
    static func kept(_ gates: [Float], layer: String) throws -> [Int] {
        let kept = gates.indices.filter { gates[$0] > 0 }
        guard !kept.isEmpty else { throw Failure(description: "\(layer) keeps no group: the network computes a constant, nothing to purge") }
        return kept
    }

    /// Rows `rows` × columns `columns` of a row-major (inputs, outputs) matrix, row i scaled by `scale[i]`.
    static func slice(_ w: [Float], outputs: Int, rows: [Int], columns: [Int], scale: [Float]) -> [Float] {
        rows.flatMap { i in columns.map { j in w[i * outputs + j] * scale[i] } }
    }

    /// An index tensor stored as floats (exact below 2²⁴).
    static func indices(_ values: [Float]) -> [Int] { values.map { Int($0) } }
}

/// A network that knows its purged form.
public protocol PurgeableNetwork: NetworkDescription {
    func purged(_ tensors: Purge.Tensors) throws -> ModelFile
    func purgedNetwork(_ tensors: Purge.Tensors, maxBatch: Int) throws -> Network
}

extension MLPNetwork: PurgeableNetwork {
    /// input → gather (kept pixels) → fc1 → ReLU → fc2 → ReLU → fc3.
    public func purged(_ t: Purge.Tensors) throws -> ModelFile {
        let z = try (1...3).map { try t.gates("fc\($0)") }
        let kept = try (0..<3).map { try Purge.kept(z[$0], layer: "fc\($0 + 1)") }
        var tensors: [ModelFile.Tensor] = [.init(name: "input.indices", role: "index", shape: [kept[0].count])]
        var values = kept[0].map(Float.init)
        for layer in 0..<3 {
            let name = "fc\(layer + 1)"
            let outputs = widths[layer + 1]
            let columns = layer < 2 ? kept[layer + 1] : Array(0..<outputs)
            let w = Purge.slice(try t.values("\(name).weight"), outputs: outputs, rows: kept[layer], columns: columns, scale: z[layer])
            let bias = try t.values("\(name).bias")
            tensors += [
                .init(name: "\(name).weight", role: "weight", shape: [kept[layer].count, columns.count]),
                .init(name: "\(name).bias", role: "bias", shape: [columns.count]),
            ]
            values += w + columns.map { bias[$0] }
        }
        return ModelFile(network: name, method: "purged", runID: t.model.runID, tensors: tensors, values: values)
    }

    public func purgedNetwork(_ t: Purge.Tensors, maxBatch: Int) throws -> Network {
        let indices = Purge.indices(try t.values("input.indices"))
        var layers: [any Layer] = [Gather(name: "input", indices: indices, inputCount: 784, maxBatch: maxBatch)]
        for layer in 0..<3 {
            let shape = try t.shape("fc\(layer + 1).weight")
            if layer > 0 { layers.append(ReLU(name: "relu\(layer)", shape: [shape[0]], maxBatch: maxBatch)) }
            layers.append(Dense(name: "fc\(layer + 1)", inputs: shape[0], outputs: shape[1], maxBatch: maxBatch, decay: 0))
        }
        return Network(layers: layers, inputShape: [784], classes: 10, maxBatch: maxBatch)
    }
}

extension LeNet5Network: PurgeableNetwork {
    /// conv1 (kept maps, ẑ folded) → pool, ReLU → conv2 (kept input and output maps) → pool, ReLU →
    /// flatten (kept maps × 16) → gather (fc1's kept inputs in those maps) → fc1 (outputs kept by
    /// fc2's gates) → ReLU → fc2.
    public func purged(_ t: Purge.Tensors) throws -> ModelFile {
        let z = try ["conv1", "conv2", "fc1", "fc2"].map { try t.gates($0) }
        let maps1 = try Purge.kept(z[0], layer: "conv1")
        let maps2 = try Purge.kept(z[1], layer: "conv2")
        let patch = 25
        // Filters of kept maps on kept inputs, each scaled (bias too) by its map's gate.
        let w1 = try t.values("conv1.weight")
        let b1 = try t.values("conv1.bias")
        let w2 = try t.values("conv2.weight")
        let b2 = try t.values("conv2.bias")
        let conv1 = maps1.flatMap { o in (0..<patch).map { w1[o * patch + $0] * z[0][o] } }
        let conv2 = maps2.flatMap { o in maps1.flatMap { c in (0..<patch).map { w2[(o * 20 + c) * patch + $0] * z[1][o] } } }
        // fc1's inputs: position p of kept conv2 map m is input m·16 + p; kept when its own gate is open.
        var gathered: [Int] = []  // into the flattened kept maps
        var rows: [Int] = []  // of fc1's original inputs
        for (slot, m) in maps2.enumerated() {
            for p in 0..<16 where z[2][m * 16 + p] > 0 {
                gathered.append(slot * 16 + p)
                rows.append(m * 16 + p)
            }
        }
        guard !rows.isEmpty else { throw Purge.Failure(description: "fc1 keeps no input in a kept map of conv2: nothing to purge") }
        let hidden = try Purge.kept(z[3], layer: "fc2")
        let fc1 = Purge.slice(try t.values("fc1.weight"), outputs: 500, rows: rows, columns: hidden, scale: z[2])
        let fc1Bias = try t.values("fc1.bias")
        let fc2 = Purge.slice(try t.values("fc2.weight"), outputs: 10, rows: hidden, columns: Array(0..<10), scale: z[3])
        let tensors: [ModelFile.Tensor] = [
            .init(name: "conv1.weight", role: "weight", shape: [maps1.count, 1, 5, 5]),
            .init(name: "conv1.bias", role: "bias", shape: [maps1.count]),
            .init(name: "conv2.weight", role: "weight", shape: [maps2.count, maps1.count, 5, 5]),
            .init(name: "conv2.bias", role: "bias", shape: [maps2.count]),
            .init(name: "fc1.indices", role: "index", shape: [gathered.count]),
            .init(name: "fc1.weight", role: "weight", shape: [rows.count, hidden.count]),
            .init(name: "fc1.bias", role: "bias", shape: [hidden.count]),
            .init(name: "fc2.weight", role: "weight", shape: [hidden.count, 10]),
            .init(name: "fc2.bias", role: "bias", shape: [10]),
        ]
        let values =
            conv1 + maps1.map { b1[$0] * z[0][$0] } + conv2 + maps2.map { b2[$0] * z[1][$0] } + gathered.map(Float.init) + fc1
            + hidden.map { fc1Bias[$0] } + fc2 + (try t.values("fc2.bias"))
        return ModelFile(network: name, method: "purged", runID: t.model.runID, tensors: tensors, values: values)
    }

    public func purgedNetwork(_ t: Purge.Tensors, maxBatch: Int) throws -> Network {
        let (maps1, maps2) = (try t.shape("conv1.bias")[0], try t.shape("conv2.bias")[0])
        let hidden = try t.shape("fc1.bias")[0]
        let indices = Purge.indices(try t.values("fc1.indices"))
        let layers: [any Layer] = [
            Conv2D(
                name: "conv1", shape: ConvolutionShape(inChannels: 1, outChannels: maps1, kernel: 5, inHeight: 28, inWidth: 28),
                maxBatch: maxBatch, decay: 0, pooling: 2),
            Conv2D(
                name: "conv2", shape: ConvolutionShape(inChannels: maps1, outChannels: maps2, kernel: 5, inHeight: 12, inWidth: 12),
                maxBatch: maxBatch, decay: 0, pooling: 2, rectifiedInput: true),
            Flatten(name: "flatten", inputShape: [maps2, 4, 4]),
            Gather(name: "fc1.inputs", indices: indices, inputCount: maps2 * 16, maxBatch: maxBatch),
            Dense(name: "fc1", inputs: indices.count, outputs: hidden, maxBatch: maxBatch, decay: 0),
            ReLU(name: "relu3", shape: [hidden], maxBatch: maxBatch),
            Dense(name: "fc2", inputs: hidden, outputs: 10, maxBatch: maxBatch, decay: 0),
        ]
        return Network(layers: layers, inputShape: [1, 28, 28], classes: 10, maxBatch: maxBatch)
    }
}

/// What a network costs and how it classifies, for `purge`, `evaluate` and the tests.
public enum ModelCost {
    /// Weights (biases and gate parameters excluded) and forward FLOPs per example of a network's
    /// dense and convolution layers (DESIGN §1.5 counting: a gated layer counts its kept groups).
    public static func of(_ network: Network) -> (weights: Int, flops: Double) {
        var weights = 0
        for parameter in network.parameters where parameter.role == .weight { weights += parameter.count }
        let flops = network.sparsity().reduce(0) { $0 + $1.prunedFlops }
        return (weights, flops)
    }

    /// The weight shapes, e.g. "fc1 412×220, fc2 220×100".
    public static func shapes(_ network: Network) -> String {
        network.parameters.filter { $0.role == .weight }.map {
            "\($0.name.replacingOccurrences(of: ".weight", with: "")) \($0.shape.map(String.init).joined(separator: "×"))"
        }
        .joined(separator: ", ")
    }

    /// The test images `network` misclassifies, in batches of the network's input capacity.
    public static func testErrors(_ network: Network, test: ImageClassificationSet) -> Int {
        var errors = 0
        forEachBatch(network, test) { _, _ in errors += network.countErrors(random: RandomGenerator(seed: 0)) }
        return errors
    }

    /// The logits of every test image, row by row.
    public static func logits(_ network: Network, test: ImageClassificationSet) -> [Float] {
        var out: [Float] = []
        forEachBatch(network, test) { _, rows in
            let logits = network.forward(mode: .evaluation, random: RandomGenerator(seed: 0))
            out += Array(UnsafeBufferPointer(start: logits.pointer, count: rows * 10))
        }
        return out
    }

    static func forEachBatch(_ network: Network, _ test: ImageClassificationSet, _ body: (Int, Int) -> Void) {
        let batch = network.input.maxBatch
        let indices = UnsafeMutableBufferPointer<Int32>.allocate(capacity: batch)
        defer { indices.deallocate() }
        SubnormalFlushing.apply {
            var start = 0
            while start < test.count {
                let rows = min(batch, test.count - start)
                for r in 0..<rows { indices[r] = Int32(start + r) }
                network.input.batch = rows
                test.fillBatch(indices: UnsafeBufferPointer(rebasing: indices[0..<rows]), images: network.input.pointer, labels: network.labels)
                body(start, rows)
                start += rows
            }
        }
    }
}
