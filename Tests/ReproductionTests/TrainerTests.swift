import Datasets
import Experiments
import FileSupport
import Foundation
import NeuralNet
import Reproduction
import Testing

@Suite("Training runs", .serialized)
struct TrainerTests {
    /// 3,000 training and 1,000 test digits of the committed MNIST test set; a missing fixture
    /// fails the test that asks for it, with the error naming the file.
    static let loaded = Result { try TrainingData.load(.mnist, directory: try Fixtures.smallMNIST(trainCount: 3000, testCount: 1000)) }
    static var data: TrainingData { get throws { try loaded.get() } }

    /// The log of a one-epoch run on 200 examples.
    static func exampleLog(model: ModelKind) throws -> RunLog {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        let config = TrainingConfig(model: model, variant: .l0, dataset: "mnist", epochs: 1, seed: 5, trainingLimit: 200)
        return try #require(try Trainer(config: config, data: data, runsDirectory: runs).run().log)
    }

    func config(_ variant: Variant = .l0, epochs: Int = 3) -> TrainingConfig {
        TrainingConfig(model: .mlp, variant: variant, dataset: "mnist", epochs: epochs, seed: 5)
    }

    @Test("Every variant learns real digits, and the log is complete", arguments: Variant.paper + [.selectiveDecay])
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
        // Weights between kept groups, as the paper's architectures imply them; a pruning method's
        // are its non-zero weights.
        if Variant.pruning.contains(variant) {
            #expect(KeptWeights.count(log) == log.result.keptWeights)
            #expect(log.epochs.allSatisfy { $0.validationLoss != nil } == (variant == .selectiveDecay))
            #expect(log.pruningRounds != nil)
        } else {
            #expect(KeptWeights.count(log) == KeptWeights.count(.mlp, architecture: log.result.keptGroups))
            #expect(KeptWeights.count(log) <= log.result.keptWeights)
            #expect(log.epochs.allSatisfy { $0.validationLoss == nil } && log.pruningRounds == nil)
        }
        if variant.isGated {
            #expect(log.effectiveLambdas == log.config.lambdas.map { $0 / 3000 })
            #expect(log.result.expectedFlops < log.result.denseFlops)
        } else if !Variant.pruning.contains(variant) {
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
        #expect(KeptWeights.count(log) <= KeptWeights.count(.lenet5, architecture: log.result.keptGroups))
    }

    @Test("Weights kept count only weights between kept groups (DESIGN §1.9)")
    func paperWeightsKept() {
        // MLP 219-214-100: 219·214 + 214·100 + 100·10 = 69,266 of 266,200 (26.0 %).
        #expect(KeptWeights.count(.mlp, architecture: [219, 214, 100]) == 69_266)
        #expect(String(format: "%.1f", 100 * KeptWeights.share(.mlp, architecture: [219, 214, 100])) == "26.0")
        // MLP 266-88-33 ≈ 10 %.
        #expect(abs(KeptWeights.share(.mlp, architecture: [266, 88, 33]) - 0.10) < 0.001)
        // LeNet-5 9-18-65-25: 9·25 + 18·9·25 + 65·25 + 25·10 = 6,150 weights (1.43 %).
        #expect(KeptWeights.count(.lenet5, architecture: [9, 18, 65, 25]) == 6_150)
        #expect(KeptWeights.total(.mlp) == 266_200 && KeptWeights.total(.lenet5) == 430_500)
        #expect(KeptWeights.share(.lenet5, architecture: PaperResults.originalArchitecture(.lenet5)) == 1)
    }

    @Test("An fc1 input of LeNet-5 counts only when conv2 keeps the map it reads")
    func lenetCrossLayer() throws {
        var log = try Self.exampleLog(model: .lenet5)
        let open: Float = 3
        let closed: Float = -5
        // conv1 keeps 2 maps, conv2 keeps map 0 of 50; fc1 keeps inputs 0…15 (map 0) and 16…31 (map 1,
        // closed), fc2 keeps 3 inputs.
        log.finalGates = [
            GateRecord(layer: "conv1", logAlpha: (0..<20).map { $0 < 2 ? open : closed }),
            GateRecord(layer: "conv2", logAlpha: (0..<50).map { $0 == 0 ? open : closed }),
            GateRecord(layer: "fc1", logAlpha: (0..<800).map { $0 < 32 ? open : closed }),
            GateRecord(layer: "fc2", logAlpha: (0..<500).map { $0 < 3 ? open : closed }),
        ]
        #expect(KeptWeights.count(log) == 2 * 25 + 1 * 2 * 25 + 16 * 3 + 3 * 10)
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

    @Test(
        "SGD with Nesterov momentum and a step schedule trains a small network, changes its rate at the milestones, and resumes from its checkpoint to the same bytes"
    )
    func sgdScheduleResume() throws {
        let (whole, split) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [whole, split] { try? FileManager.default.removeItem(at: url) } }
        var config = config(.dropout, epochs: 4)
        config.learningRate = 0.05
        config.averageDecay = 0
        config.trainingLimit = 1000
        config.sgd = SGDSettings(momentum: 0.9, nesterov: true, weightDecay: 5e-4, schedule: StepSchedule(milestones: [1, 3], factor: 0.2))
        // The rate at each epoch's start, as the optimiser sets it.
        let loop = TrainingLoop(config: config, train: try Self.data.train.prefix(1000))
        let sgd = try #require(loop.optimizer as? SGD)
        let rates = (0..<4).map { epoch -> Float in
            sgd.startEpoch(epoch)
            return sgd.learningRate
        }
        let expected: [Float] = [0.05, 0.01, 0.01, 0.002]
        for (rate, want) in zip(rates, expected) { #expect(abs(rate - want) < 1e-7, "\(rates)") }

        let reference = try Trainer(config: config, data: Self.data, runsDirectory: whole)
        let log = try #require(try reference.run().log)
        #expect(log.result.finalTestError < 50, "SGD did not learn: \(log.result.finalTestError) %")
        #expect(log.epochs.last!.trainLoss < log.epochs.first!.trainLoss)
        // SGD's settings are part of the configuration, so of the identity.
        var adam = config
        adam.sgd = nil
        #expect(try Trainer(config: adam, data: Self.data, runsDirectory: whole).id != reference.id)

        // Killed after epoch 2 (past the first milestone): momentum and step count come back.
        let interrupted = try Trainer(config: config, data: Self.data, runsDirectory: split)
        _ = try interrupted.run(stoppingAfter: 2)
        _ = try interrupted.run()
        #expect(try Data(contentsOf: interrupted.logURL) == Data(contentsOf: reference.logURL))
        #expect(try Data(contentsOf: interrupted.modelURL) == Data(contentsOf: reference.modelURL))
    }

    /// A checkpoint file split into its header (as a JSON object) and its float payload.
    static func split(checkpoint url: URL) throws -> (header: [String: Any], payload: Data) {
        let bytes = try Data(contentsOf: url)
        let length = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let header = try #require(try JSONSerialization.jsonObject(with: bytes[12..<12 + length]) as? [String: Any])
        return (header, Data(bytes[(12 + length)...]))
    }

    static func join(header: [String: Any], payload: Data, to url: URL) throws {
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var bytes = Data("L0RPCKPT".utf8)
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        try (bytes + json + payload).write(to: url)
    }

    @Test("A checkpoint with three flipped bytes is named and the run resumes from the one before it, to the same log")
    func flippedCheckpoint() throws {
        let (whole, split) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [whole, split] { try? FileManager.default.removeItem(at: url) } }
        let reference = try Trainer(config: config(), data: Self.data, runsDirectory: whole)
        _ = try reference.run()

        let trainer = try Trainer(config: config(), data: Self.data, runsDirectory: split)
        _ = try trainer.run(stoppingAfter: 2)
        let checkpoint = trainer.directory.appendingPathComponent("checkpoint.bin")
        var (header, payload) = try Self.split(checkpoint: checkpoint)
        for offset in [100, 5_000, payload.count - 7] { payload[offset] ^= 0x10 }
        try Self.join(header: header, payload: payload, to: checkpoint)
        var events = [String]()
        let outcome = try trainer.run { event in
            switch event {
            case .damagedCheckpoint(let problem): events.append(problem)
            case .resumed(let epochs): events.append("resumed \(epochs)")
            default: break
            }
        }
        #expect(events.count == 2 && events[1] == "resumed 1", "\(events)")
        #expect(
            events.first?.contains("checkpoint.bin: checkpoint is damaged") == true
                && events.first?.contains("checkpoint.previous.bin (epoch 1)") == true)
        #expect(outcome.log != nil)
        #expect(try Data(contentsOf: trainer.logURL) == Data(contentsOf: reference.logURL))
        #expect(!FileManager.default.fileExists(atPath: trainer.directory.appendingPathComponent("checkpoint.previous.bin").path))

        // With no earlier checkpoint to fall back on, the damage is refused in one line.
        let alone = try Trainer(config: config(epochs: 2), data: Self.data, runsDirectory: split)
        _ = try alone.run(stoppingAfter: 1)
        let only = alone.directory.appendingPathComponent("checkpoint.bin")
        (header, payload) = try Self.split(checkpoint: only)
        payload[40] ^= 0x01
        try Self.join(header: header, payload: payload, to: only)
        #expect { try alone.run() } throws: { error in
            let message = String(describing: error)
            return message.hasPrefix(only.path) && message.contains("checksum") && message.contains("no earlier good checkpoint")
                && message.contains("--fresh") && !message.contains("\n")
        }
    }

    @Test("A checkpoint holding a NaN (with a matching checksum) is refused, not resumed")
    func nanCheckpoint() throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        let trainer = try Trainer(config: config(epochs: 2), data: Self.data, runsDirectory: runs)
        _ = try trainer.run(stoppingAfter: 1)
        let checkpoint = trainer.directory.appendingPathComponent("checkpoint.bin")
        var (header, payload) = try Self.split(checkpoint: checkpoint)
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { payload.replaceSubrange(400..<404, with: $0) }
        header["payloadSHA256"] = Digest.sha256(payload)
        try Self.join(header: header, payload: payload, to: checkpoint)
        #expect { try trainer.run() } throws: { String(describing: $0).contains("checkpoint holds a NaN or infinite value") }
        #expect(!FileManager.default.fileExists(atPath: trainer.logURL.path))
    }

    @Test("An edited log of a finished run is refused, not reused: by the trainer, the run collection and the report cells")
    func editedLog() throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        let trainer = try Trainer(config: config(epochs: 1), data: Self.data, runsDirectory: runs)
        _ = try trainer.run()
        #expect(try trainer.run().reused)
        #expect(try RunCollection(directory: runs).runs.count == 1)
        var log = try JSONDecoder().decode(RunLog.self, from: Data(contentsOf: trainer.logURL))
        log.result.finalTestError = 0
        try JSONEncoder().encode(log).write(to: trainer.logURL)
        let refused = { (error: any Error) in
            let message = String(describing: error)
            return message.hasPrefix(trainer.logURL.path) && message.contains("does not match its digest") && !message.contains("\n")
        }
        #expect(performing: { try trainer.run() }, throws: refused)
        #expect(performing: { try RunCollection(directory: runs) }, throws: refused)
        // Without its digest the log is not trusted either.
        try FileManager.default.removeItem(at: Trainer.digestURL(in: trainer.directory))
        #expect { try trainer.run() } throws: { String(describing: $0).contains("has no digest beside it") }
    }

    @Test(
        "Outputs that cannot be written are found before the first epoch: a runs directory that is a file or read-only, a log path that is a directory"
    )
    func outputsCheckedFirst() throws {
        let runs = Fixtures.temporaryDirectory()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: runs.appendingPathComponent("locked").path)
            try? FileManager.default.removeItem(at: runs)
        }
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        var steps = 0
        let count = { (event: TrainingEvent) in if case .step = event { steps += 1 } }

        let file = runs.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        #expect { try Trainer(config: config(epochs: 1), data: Self.data, runsDirectory: file).run(observer: count) } throws: {
            String(describing: $0) == "\(file.path): is a file, not a directory; choose another --runs-dir"
        }

        let locked = runs.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
        if getuid() != 0 {
            #expect { try Trainer(config: config(epochs: 1), data: Self.data, runsDirectory: locked).run(observer: count) } throws: {
                String(describing: $0).contains("permission denied")
            }
        }
        // Root may write anywhere it has access rights to, but not below /sys.
        if FileManager.default.fileExists(atPath: "/sys/kernel") {
            let special = URL(fileURLWithPath: "/sys/l0repro-runs")
            #expect { try Trainer(config: config(epochs: 1), data: Self.data, runsDirectory: special).run(observer: count) } throws: {
                let message = String(describing: $0)
                return message.hasPrefix(special.path) && message.contains("choose another --runs-dir") && !message.contains("NSCocoaErrorDomain")
            }
        }

        let trainer = try Trainer(config: config(epochs: 1), data: Self.data, runsDirectory: runs)
        try FileManager.default.createDirectory(at: trainer.logURL, withIntermediateDirectories: true)
        #expect { try trainer.run(observer: count) } throws: { String(describing: $0).contains("log.json: is a directory") }
        #expect(steps == 0)
    }

    @Test("A run whose loss becomes NaN or explodes stops with one line naming epoch, step and cause, and writes no log", arguments: [1e30, 1e9])
    func divergence(learningRate: Double) throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        var config = config(epochs: 2)
        config.learningRate = learningRate
        let trainer = try Trainer(config: config, data: Self.data, runsDirectory: runs)
        do {
            _ = try trainer.run()
            Issue.record("training at learning rate \(learningRate) finished")
        } catch let error as TrainingDiverged {
            #expect(error.epoch == 1 && error.step >= 1 && error.kept == 0)
            #expect(error.description.contains("diverged in epoch 1 at step \(error.step)") && error.description.contains("--learning-rate"))
            #expect(error.description.contains(learningRate > 1e20 ? "became NaN or infinite" : "exploded"), "\(error.description)")
        }
        #expect(!FileManager.default.fileExists(atPath: trainer.logURL.path))
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
