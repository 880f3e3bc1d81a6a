import Experiments
import NeuralNet
import Reproduction
import Testing

/// `Network.trainingStep`, where gated dense layers apply Adam's step to their weights inside their
/// backward (some as two tasks side by side), against `computeGradients` followed by `Adam.update`.
@Suite("Training step", .serialized)
struct TrainingStepTests {
    @Test(
        "trainingStep gives the bytes of computeGradients then Adam.update",
        arguments: [(ModelKind.mlp, 1), (.mlp, 2), (.lenet5, 2)])
    func matchesGradientsThenUpdate(model: ModelKind, threads: Int) {
        BLASRuntime.setThreads(threads)
        defer { BLASRuntime.setThreads(1) }
        let config = TrainingConfig(model: model, variant: .l0, dataset: "mnist", epochs: 1, seed: 4)
        func setUp() -> (Network, Adam) {
            let network = Models.build(config, trainingSize: 1000, maxBatch: 20, random: RandomGenerator(seed: 4))
            let average = WeightAverage(parameters: network.parameters, decay: 0.999)
            return (network, Adam(parameters: network.parameters, learningRate: 0.001, average: average))
        }
        let (plain, plainAdam) = setUp()
        let (fused, fusedAdam) = setUp()
        let images = RandomGenerator(seed: 9)
        for step in 0..<3 {
            let batch = (0..<(20 * plain.input.featureCount)).map { _ in Float(images.uniform()) }
            for network in [plain, fused] {
                network.input.batch = 20
                network.input.pointer.update(from: batch, count: batch.count)
                for r in 0..<20 { network.labels[r] = Int32((r + step) % 10) }
            }
            let expected = plain.computeGradients(random: RandomGenerator(seed: UInt64(10 + step)))
            plainAdam.update()
            let actual = fused.trainingStep(random: RandomGenerator(seed: UInt64(10 + step)), optimizer: fusedAdam)
            #expect(expected.crossEntropy == actual.crossEntropy)
            #expect(expected.penalty == actual.penalty)
            // Compared as Bools: a failed array comparison would be diffed element by element.
            for (a, b) in zip(plain.parameters, fused.parameters) {
                let same = a.value.array == b.value.array
                #expect(same, "\(a.name) after step \(step + 1)")
            }
            for (a, b) in zip(plainAdam.average!.averages, fusedAdam.average!.averages) {
                let same = a.array == b.array
                #expect(same)
            }
        }
    }
}
