import Experiments
import Foundation
import NeuralNet
import Reproduction
import Testing

/// A third network, described in this file only: 784-16-10 with gates on both layers' inputs.
/// That it trains, logs, counts its weights and gets a profile without any edit elsewhere is what
/// `NetworkDescription` is for.
/// A layer with state that is not a parameter (like batch norm's running statistics): it counts the
/// training batches it has seen, and passes its input through.
final class Tally: Layer {
    let name = "tally"
    let outputShape = [784]
    var parameters: [Parameter] { [] }
    let counts: FloatBuffer

    init(size: Int) { counts = FloatBuffer(count: size) }

    var state: [FloatBuffer] { [counts] }

    func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        if mode == .training { counts.pointer[0] += 1 }
        return input
    }

    func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? { needsInputGradient ? outputGradient : nil }
}

struct ToyNetwork: NetworkDescription {
    let name = "toy"
    let title = "Toy"
    let summary = "784-16-10"
    let groups = [784, 16]
    let quickEpochs = 2
    var paperRows: [PaperResults.Row] { [] }

    func defaultLambdas(_ variant: Variant) -> [Double] { variant == .l0Sep ? [0.05, 0.5] : [0.1, 0.1] }

    func network(_ build: NetworkBuild) -> Network {
        let layers =
            LayerFactory.fullyConnected(
                "fc1", inputs: 784, outputs: 16, index: 0, dropRate: 0.2, afterReLU: false, reluName: "relu0", dropoutName: "drop1", build: build)
            + LayerFactory.fullyConnected(
                "fc2", inputs: 16, outputs: 10, index: 1, dropRate: 0.5, afterReLU: true, reluName: "relu1", dropoutName: "drop2", build: build)
        return Network(layers: [Tally(size: 100)] + layers, inputShape: [784], classes: 10, maxBatch: build.maxBatch)
    }

    func keptWeights(architecture a: [Int]) -> Int { a[0] * a[1] + a[1] * 10 }
}

@Suite("A third network from its description alone", .serialized)
struct ToyNetworkTests {
    @Test("The toy network registers, trains with gates and with dropout, logs its groups and counts its weights")
    func toy() throws {
        let toy = NetworkCatalog.register(ToyNetwork())
        defer { NetworkCatalog.unregister("toy") }
        #expect(ModelKind(rawValue: "toy") == toy && ModelKind.allCases.contains(toy))
        #expect(Profile.quick.config(toy, .l0, dataset: "mnist").epochs == 2)
        #expect(TrainingConfig(model: toy, variant: .l0Sep, dataset: "mnist", epochs: 1).lambdas == [0.05, 0.5])
        var spread = TrainingConfig(model: toy, variant: .l0, dataset: "mnist", epochs: 1)
        spread.setLambdas([0.3])
        #expect(spread.lambdas == [0.3, 0.3])
        #expect(KeptWeights.total(toy) == 784 * 16 + 160)

        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        for variant in [Variant.l0, .dropout] {
            var config = TrainingConfig(model: toy, variant: variant, dataset: "mnist", epochs: 2, averageDecay: 0.9, seed: 2)
            config.trainingLimit = 2000
            let trainer = try Trainer(config: config, data: TrainerTests.data, runsDirectory: runs)
            #expect(trainer.directory.lastPathComponent.hasPrefix("toy-\(variant.rawValue)-"))
            let log = try #require(try trainer.run().log)
            #expect(log.result.groups == [784, 16])
            #expect(log.result.denseFlops > 0 && log.result.finalTestError < 60, "\(log.result.finalTestError)")
            #expect(log.finalGates.map(\.layer) == (variant.isGated ? ["fc1", "fc2"] : []))
            #expect(KeptWeights.count(log) <= KeptWeights.total(toy))
            #expect(try ModelFile.read(from: trainer.modelURL).network == "toy")
        }
        // The layer's state is part of the checkpoint: 100 floats after every parameter's value,
        // Adam moments and average, holding the 20 steps of the first epoch.
        var config = TrainingConfig(model: toy, variant: .l0, dataset: "mnist", epochs: 2, averageDecay: 0.9, seed: 4)
        config.trainingLimit = 2000
        let stopped = try Trainer(config: config, data: TrainerTests.data, runsDirectory: runs)
        _ = try stopped.run(stoppingAfter: 1)
        let (header, payload) = try TrainerTests.split(checkpoint: stopped.directory.appendingPathComponent("checkpoint.bin"))
        let parameterFloats = (784 * 16 + 16 + 784) + (16 * 10 + 10 + 16)
        #expect(header["floatCount"] as? Int == 4 * parameterFloats + 100)
        let tally = payload.subdata(in: (4 * 4 * parameterFloats)..<(4 * 4 * parameterFloats + 4))
        #expect(tally.withUnsafeBytes { $0.loadUnaligned(as: Float.self) } == 20)
        // A name that no network has is refused before training, in one line.
        var unknown = TrainingConfig(model: .mlp, variant: .dense, dataset: "mnist", epochs: 1)
        unknown.model = try JSONDecoder().decode(ModelKind.self, from: Data("\"resnet\"".utf8))
        #expect(throws: ConfigError.self) { try unknown.validate() }
    }
}
