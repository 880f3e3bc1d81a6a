import Datasets
import Foundation
import Reproduction
import Testing

@Suite("Training runs", .serialized)
struct TrainerTests {
    static let data: TrainingData = {
        let directory = try! Fixtures.smallMNIST(trainCount: 3000, testCount: 1000)
        return try! TrainingData.load(.mnist, directory: directory)
    }()

    func config(_ variant: Variant = .l0, epochs: Int = 3) -> TrainingConfig {
        TrainingConfig(model: .mlp, variant: variant, dataset: "mnist", epochs: epochs, seed: 5)
    }

    @Test("Every variant learns real digits, and the log is complete", arguments: Variant.allCases)
    func learns(variant: Variant) throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        // A 0.999 average over 240 steps is mostly the first weights; 0.9 follows training.
        var short = config(variant, epochs: 8)
        short.averageDecay = 0.9
        let outcome = try Trainer(config: short, data: Self.data, runsDirectory: runs).run()
        let log = try #require(outcome.log)
        #expect(log.epochs.count == 8)
        #expect(log.data.trainingExamples == 3000 && log.data.testExamples == 1000)
        // 3000 training digits, 8 epochs: far below the 90 % of guessing.
        #expect(log.result.finalTestError < 20)
        #expect(log.epochs.last!.trainLoss < log.epochs.first!.trainLoss)
        #expect(log.result.bestTestError == log.epochs.map(\.testError).min())
        #expect(log.result.groups == [784, 300, 100])
        #expect(log.result.architecture == log.result.keptGroups.map(String.init).joined(separator: "-"))
        #expect(log.result.denseFlops == 532_400)
        #expect(log.finalGates.count == (variant.isGated ? 3 : 0))
        // The paper's rows of Table 1 count kept weights the same way as our logs.
        #expect(abs(PaperResults.weightsKept(.mlp, architecture: log.result.keptGroups) - Double(log.result.keptWeights) / Double(log.result.weights)) < 1e-12)
        if variant.isGated {
            #expect(log.effectiveLambdas == log.config.lambdas.map { $0 / 3000 })
            #expect(log.result.expectedFlops < log.result.denseFlops)
        } else {
            #expect(log.result.keptWeights == log.result.weights)
        }
    }

    @Test("LeNet-5 learns real digits; its log has the 20-50-800-500 groups and 4,586,000 dense FLOPs", arguments: [Variant.l0, .dropout])
    func lenet(variant: Variant) throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        var config = TrainingConfig(model: .lenet5, variant: variant, dataset: "mnist", epochs: 3, seed: 5)
        config.averageDecay = 0.9
        let log = try #require(try Trainer(config: config, data: Self.data, runsDirectory: runs).run().log)
        #expect(log.result.finalTestError < 25)
        #expect(log.result.groups == [20, 50, 800, 500])
        #expect(log.result.denseFlops == 4_586_000)
        #expect(log.epochs.map(\.layers.count) == [4, 4, 4])
        #expect(log.finalGates.map(\.layer) == (variant.isGated ? ["conv1", "conv2", "fc1", "fc2"] : []))
        if variant.isGated { #expect(log.config.lambdas == [0.1, 0.1, 0.1, 0.1]) }
        #expect(abs(PaperResults.weightsKept(.lenet5, architecture: log.result.keptGroups) - Double(log.result.keptWeights) / Double(log.result.weights)) < 1e-12)
    }

    @Test("The paper's architectures give the weights kept that follow from the group sizes")
    func paperWeightsKept() {
        // MLP 219-214-100: 219·300 + 214·100 + 100·10 of 266,200 weights.
        #expect(abs(PaperResults.weightsKept(.mlp, architecture: [219, 214, 100]) - 88_100.0 / 266_200) < 1e-12)
        // LeNet-5 20-25-45-462: 20·25 + 25·500 + 45·500 + 462·10 of 430,500.
        #expect(abs(PaperResults.weightsKept(.lenet5, architecture: [20, 25, 45, 462]) - 40_120.0 / 430_500) < 1e-12)
        #expect(PaperResults.weightsKept(.lenet5, architecture: PaperResults.originalArchitecture(.lenet5)) == 1)
    }

    @Test("The same configuration and data give identical log bytes")
    func determinism() throws {
        let (first, second) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [first, second] { try? FileManager.default.removeItem(at: url) } }
        let a = try Trainer(config: config(epochs: 2), data: Self.data, runsDirectory: first)
        let b = try Trainer(config: config(epochs: 2), data: Self.data, runsDirectory: second)
        _ = try a.run()
        _ = try b.run()
        #expect(try Data(contentsOf: a.logURL) == Data(contentsOf: b.logURL))
        var other = config(epochs: 2)
        other.seed = 6
        #expect(try Trainer(config: other, data: Self.data, runsDirectory: first).id != a.id)
    }

    @Test("A run stopped after an epoch resumes from its checkpoint to the same log; a finished run is reused")
    func resume() throws {
        let (whole, split) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [whole, split] { try? FileManager.default.removeItem(at: url) } }
        let reference = try Trainer(config: config(.l0Sep), data: Self.data, runsDirectory: whole)
        _ = try reference.run()

        let interrupted = try Trainer(config: config(.l0Sep), data: Self.data, runsDirectory: split)
        let stopped = try interrupted.run(stoppingAfter: 1)
        #expect(stopped.log == nil)
        #expect(!FileManager.default.fileExists(atPath: interrupted.logURL.path))
        var events = [String]()
        let resumed = try interrupted.run { if case .resumed(let n) = $0 { events.append("resumed \(n)") } }
        #expect(events == ["resumed 1"])
        #expect(try Data(contentsOf: interrupted.logURL) == Data(contentsOf: reference.logURL))
        #expect(resumed.log?.epochs.count == 3)
        #expect(!FileManager.default.fileExists(atPath: interrupted.directory.appendingPathComponent("checkpoint.bin").path))
        #expect(try interrupted.run().reused)
    }

    @Test("A corrupt checkpoint is refused with a message that names it and says what to do")
    func corruptCheckpoint() throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        let trainer = try Trainer(config: config(), data: Self.data, runsDirectory: runs)
        _ = try trainer.run(stoppingAfter: 1)
        let checkpoint = trainer.directory.appendingPathComponent("checkpoint.bin")
        let bytes = try Data(contentsOf: checkpoint)
        try bytes.prefix(bytes.count - 100).write(to: checkpoint)
        do {
            _ = try trainer.run()
            Issue.record("resumed from a truncated checkpoint")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("checkpoint.bin") && message.contains("--fresh") && !message.contains("\n"))
        }
    }

    @Test("Bad configuration values are refused with their name and value")
    func badConfig() {
        var bad = config()
        bad.lambdas = [0.1, 0.1]
        #expect(throws: ConfigError.self) { try Trainer(config: bad, data: Self.data, runsDirectory: URL(fileURLWithPath: "/tmp")) }
        bad = config()
        bad.epochs = 0
        #expect(throws: ConfigError.self) { try bad.validate() }
    }
}
