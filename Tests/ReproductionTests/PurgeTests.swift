import Experiments
import Foundation
import NeuralNet
import Reproduction
import Testing

@Suite("Purged models", .serialized)
struct PurgeTests {
    @Test(
        "A purged model's logits equal the gated model's deterministic logits to 1e-5, with the same errors and the weights between kept groups",
        arguments: [ModelKind.mlp, .lenet5])
    func purge(model: ModelKind) throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        // A heavy λ and a fast learning rate close groups within a few epochs.
        var config = TrainingConfig(model: model, variant: .l0Sep, dataset: "mnist", epochs: model == .mlp ? 4 : 3, averageDecay: 0.9, seed: 3)
        config.setLambdas(model == .mlp ? [2, 20, 20] : [5, 5, 2, 5])
        config.learningRate = model == .mlp ? 0.02 : 0.03
        let trainer = try Trainer(config: config, data: TrainerTests.data, runsDirectory: runs)
        let log = try #require(try trainer.run().log)
        #expect(log.result.keptGroups != log.result.groups, "no group closed: \(log.result.architecture)")

        let gatedFile = try ModelFile.read(from: trainer.modelURL)
        let purgedFile = try Purge.purge(gatedFile)
        #expect(purgedFile.method == "purged" && purgedFile.network == model.rawValue)
        // Written and read back in the same format.
        let url = runs.appendingPathComponent("purged.bin")
        try purgedFile.write(to: url)
        #expect(try ModelFile.read(from: url) == purgedFile)

        let test = try TrainerTests.data.test
        let gated = try Purge.evaluationNetwork(for: gatedFile, maxBatch: 100)
        let purged = try Purge.evaluationNetwork(for: purgedFile, maxBatch: 100)
        let (a, b) = (ModelCost.logits(gated, test: test), ModelCost.logits(purged, test: test))
        #expect(a.count == test.count * 10 && a.count == b.count)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-5, "largest logit difference \(worst)")
        let errors = ModelCost.testErrors(purged, test: test)
        #expect(errors == ModelCost.testErrors(gated, test: test))
        #expect(100 * Double(errors) / Double(test.count) == log.result.finalTestError)
        #expect(ModelCost.of(purged).weights == KeptWeights.count(log))
        #expect(ModelCost.of(purged).flops <= log.result.prunedFlops)
    }

    @Test("purge refuses what is not an L0 run's model, in one line; evaluate prints a model's error")
    func commands() throws {
        let runs = Fixtures.temporaryDirectory()
        let data = try Fixtures.smallMNIST(trainCount: 300, testCount: 200)
        defer { for url in [runs, data] { try? FileManager.default.removeItem(at: url) } }
        for variant in ["dense", "l0"] {
            let trained = try Fixtures.run([
                "train", "mlp", "--variant", variant, "--dataset", "mnist", "--data-dir", data.path, "--epochs", "1", "--runs-dir", runs.path,
            ])
            try #require(trained.status == 0, "\(trained.stderr)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: runs.path).sorted()
        let dense = runs.appendingPathComponent(try #require(names.first { $0.hasPrefix("mlp-dense-") }))
        let gated = runs.appendingPathComponent(try #require(names.first { $0.hasPrefix("mlp-l0-") }))
        let refused = try Fixtures.run(["purge", dense.path])
        #expect(
            refused.status == 1 && refused.stderr.contains("only the model of an L0 run can be purged")
                && refused.stderr.split(separator: "\n").count == 1)
        let purged = try Fixtures.run(["purge", gated.path])
        #expect(purged.status == 0 && purged.stdout.contains("weights between kept groups"), "\(purged.stderr)")
        let evaluated = try Fixtures.run([
            "evaluate", gated.appendingPathComponent("model-purged.bin").path, "--dataset", "mnist", "--data-dir", data.path,
        ])
        #expect(evaluated.status == 0 && evaluated.stdout.contains("test error") && evaluated.stdout.contains("of 200"), "\(evaluated.stderr)")
        let missing = try Fixtures.run(["purge", runs.path])
        #expect(missing.status == 1 && missing.stderr.contains("no model file"))
    }
}
