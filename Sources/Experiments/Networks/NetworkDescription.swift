import Foundation
import L0
import NeuralNet

/// One network the tool can train: its layers, gate groups, drop rates, default λ, the paper's rows
/// and the epochs of each profile. Adding a network is adding one type that conforms (one file, see
/// MLP.swift and LeNet5.swift) and registering it (`NetworkCatalog`); nothing else names networks.
public protocol NetworkDescription: Sendable {
    /// The name in commands, run directories and logs, e.g. "mlp".
    var name: String { get }
    /// The name in figures and tables, e.g. "LeNet-5".
    var title: String { get }
    /// One line for --help, e.g. "784-300-100-10".
    var summary: String { get }
    /// Gate groups of each gated layer with every group kept (the paper's "architecture" of the
    /// dense network), e.g. [784, 300, 100].
    var groups: [Int] { get }
    /// λ per N of each gated layer for a gated variant (the paper's, or ours where it publishes none).
    func defaultLambdas(_ variant: Variant) -> [Double]
    /// The paper's Table 1 rows for this network (competitors and L0), in the paper's order.
    var paperRows: [PaperResults.Row] { get }
    /// Epochs of the `quick` profile.
    var quickEpochs: Int { get }
    /// The name the PyTorch peer uses for it, if the peer trains it.
    var peerName: String? { get }
    /// The network for `build`, initialised from `build.random`.
    func network(_ build: NetworkBuild) -> Network
    /// The weights between the kept groups of `architecture` (groups kept per gated layer).
    func keptWeights(architecture: [Int]) -> Int
    /// Groups kept per gated layer from each layer's kept gates, counting a group only where the
    /// layers around it still use it (default: the kept gates of each layer).
    func keptArchitecture(_ kept: [[Bool]]) -> [Int]
}

extension NetworkDescription {
    public func keptArchitecture(_ kept: [[Bool]]) -> [Int] { kept.map { $0.filter { $0 }.count } }
    public var peerName: String? { nil }
}

/// How a network is made sparse or regularised, apart from which network it is: what the layers
/// are built with. (The variants of the paper's experiments are labels over these: `Variant.method`.)
public enum Method: String, Sendable, Equatable, CaseIterable {
    /// Hard concrete L0 gates on each layer's groups, with a λ per layer (`NetworkBuild.lambdas`).
    case l0Gates = "l0-gates"
    /// Dropout on the inputs of fully connected layers at the network's drop rates, and L2 decay.
    case dropout
    /// Neither: L2 decay only.
    case none
}

extension Variant {
    /// The method this variant trains with: l0 and l0-sep differ only in their λ.
    public var method: Method {
        switch self {
        case .l0, .l0Sep: .l0Gates
        case .dropout: .dropout
        case .dense, .selectiveDecay, .magnitude: .none
        }
    }
}

/// What a network is built with: the method and its settings, already in per-weight units.
public struct NetworkBuild {
    public var method: Method
    /// λ per weight (λ per N divided by the training-set size), one per gated layer.
    public var lambdas: [Float]
    /// L2 coefficient per weight.
    public var decay: Float
    public var perExampleGates: Bool
    public var maxBatch: Int
    public var random: RandomGenerator

    /// λ of gated layer `index`.
    public func lambda(_ index: Int) -> Float { lambdas[index] }
}

/// A network's name, as configurations and logs store it (a string). Known names resolve to their
/// `NetworkDescription` through `NetworkCatalog`.
public struct ModelKind: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String

    /// A registered network's name; nil for any other.
    public init?(rawValue: String) {
        guard NetworkCatalog.description(named: rawValue) != nil else { return nil }
        self.rawValue = rawValue
    }

    init(registered name: String) { rawValue = name }

    public static let mlp = ModelKind(registered: MLPNetwork().name)
    public static let lenet5 = ModelKind(registered: LeNet5Network().name)

    /// Every registered network, in registration order.
    public static var allCases: [ModelKind] { NetworkCatalog.all.map { ModelKind(registered: $0.name) } }

    /// The description of this network (a name read from a log that is no longer registered is an
    /// error where it is first used, never a crash: see `NetworkCatalog.require`).
    public var network: any NetworkDescription { NetworkCatalog.description(named: rawValue) ?? UnknownNetwork(name: rawValue) }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The networks the tool knows: the paper's two, and any a caller registers (a test's toy network).
public enum NetworkCatalog {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var registered: [any NetworkDescription] = [MLPNetwork(), LeNet5Network()]

    public static var all: [any NetworkDescription] { lock.withLock { registered } }

    public static func description(named name: String) -> (any NetworkDescription)? {
        lock.withLock { registered.first { $0.name == name } }
    }

    /// Adds `network` (replacing one of the same name) and returns its kind.
    @discardableResult
    public static func register(_ network: any NetworkDescription) -> ModelKind {
        lock.withLock {
            registered.removeAll { $0.name == network.name }
            registered.append(network)
        }
        return ModelKind(registered: network.name)
    }

    /// Removes a network registered by `register` (the built-in ones stay).
    public static func unregister(_ name: String) {
        lock.withLock { registered.removeAll { $0.name == name && $0.name != ModelKind.mlp.rawValue && $0.name != ModelKind.lenet5.rawValue } }
    }
}

/// Stands in for a name no registered network has (from a foreign log): no groups, builds nothing
/// trainable. `TrainingConfig.validate` refuses it before any training.
struct UnknownNetwork: NetworkDescription {
    let name: String
    var title: String { name }
    var summary: String { "unknown network" }
    var groups: [Int] { [] }
    func defaultLambdas(_ variant: Variant) -> [Double] { [] }
    var paperRows: [PaperResults.Row] { [] }
    var quickEpochs: Int { 1 }
    func network(_ build: NetworkBuild) -> Network { Network(layers: [], inputShape: [1], classes: 1, maxBatch: build.maxBatch) }
    func keptWeights(architecture: [Int]) -> Int { 0 }
}

/// The layers every network is made of, with the method deciding gates, dropout or neither.
public enum LayerFactory {
    /// A fully connected layer `name` (inputs → outputs) for gated layer `index`: L0 gates on its
    /// inputs with the L0 method; otherwise a Dense layer, after a ReLU when `afterReLU`
    /// (a gated layer applies that ReLU itself, `L0Dense.rectifiesInput`), and after dropout of the
    /// inputs at `dropRate` with the dropout method.
    public static func fullyConnected(
        _ name: String, inputs: Int, outputs: Int, index: Int, dropRate: Double, afterReLU: Bool, reluName: String,
        dropoutName: String, build: NetworkBuild
    ) -> [any Layer] {
        if build.method == .l0Gates {
            let layer = L0Dense(
                name: name, inputs: inputs, outputs: outputs, maxBatch: build.maxBatch, lambda: build.lambda(index), decay: build.decay,
                perExampleGates: build.perExampleGates, rectifiesInput: afterReLU)
            layer.initialize(dropRate: dropRate, random: build.random)
            return [layer]
        }
        var layers = [any Layer]()
        if afterReLU { layers.append(ReLU(name: reluName, shape: [inputs], maxBatch: build.maxBatch)) }
        if build.method == .dropout {
            layers.append(Dropout(name: dropoutName, rate: Float(dropRate), shape: [inputs], maxBatch: build.maxBatch))
        }
        let layer = Dense(name: name, inputs: inputs, outputs: outputs, maxBatch: build.maxBatch, decay: build.decay)
        layer.initialize(random: build.random)
        return layers + [layer]
    }
}

/// Builds the network of a configuration.
public enum Models {
    /// The network for `config`, initialised from `random`, for a training set of `trainingSize`
    /// examples (which scales λ and the weight decay) and batches of at most `maxBatch`.
    public static func build(_ config: TrainingConfig, trainingSize: Int, maxBatch: Int, random: RandomGenerator) -> Network {
        let effective = config.perWeight(trainingSize: trainingSize)
        let build = NetworkBuild(
            method: config.variant.method, lambdas: effective.lambdas.map { Float($0) }, decay: Float(effective.weightDecay),
            perExampleGates: config.gateSampling == .example, maxBatch: maxBatch, random: random)
        return config.model.network.network(build)
    }
}
