import Experiments
import FileSupport
import Foundation
import Reproduction
import Testing

@Suite("Model files", .serialized)
struct ModelFileTests {
    @Test("A finished run writes model.bin: its averaged weights and every gate's log α, read back exactly")
    func trainerWritesModel() throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        let config = TrainingConfig(model: .mlp, variant: .l0, dataset: "mnist", epochs: 1, seed: 5, trainingLimit: 300)
        let trainer = try Trainer(config: config, data: try TrainerTests.data, runsDirectory: runs)
        let log = try #require(try trainer.run().log)
        let model = try ModelFile.read(from: trainer.modelURL)
        #expect(model.network == "mlp" && model.method == "l0" && model.runID == log.id)
        #expect(model.tensors.filter { $0.role == "weight" }.map(\.name) == ["fc1.weight", "fc2.weight", "fc3.weight"])
        #expect(model.tensors.filter { $0.role == "gateLogAlpha" }.count == 3)
        #expect(model.tensors.first { $0.name == "fc1.weight" }?.shape == [784, 300])
        // The gates in the model are the ones the log records.
        for gates in log.finalGates {
            let name = try #require(model.tensors.first { $0.role == "gateLogAlpha" && $0.name.hasPrefix(gates.layer + ".") }?.name)
            #expect(Array(try #require(model.values(of: name))) == gates.logAlpha)
        }
        #expect(model.values.count == model.tensors.reduce(0) { $0 + $1.count })
    }

    func sample() -> ModelFile {
        ModelFile(
            network: "toy", method: "dense", runID: "abc",
            tensors: [.init(name: "w", role: "weight", shape: [2, 3]), .init(name: "b", role: "bias", shape: [3])],
            values: [1, -2, 3.5, 0, .leastNonzeroMagnitude, -0.0, 7, 8, 9])
    }

    @Test("Encoding round-trips bit for bit")
    func roundTrip() throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.bin")
        try sample().write(to: url)
        let back = try ModelFile.read(from: url)
        #expect(back.values.map(\.bitPattern) == sample().values.map(\.bitPattern))
        #expect(back.tensors == sample().tensors && back.network == "toy")
        #expect(Array(try #require(back.values(of: "b"))) == [7, 8, 9])
    }

    @Test(
        "A truncated, foreign, newer or damaged file is refused in one line naming it",
        arguments: ["truncated", "foreign", "newer", "flipped", "header"])
    func refused(damage: String) throws {
        let directory = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.bin")
        var bytes = [UInt8](sample().encoded())
        let expected: String
        switch damage {
        case "truncated":
            bytes.removeLast(5)
            expected = "the file is truncated or damaged"
        case "foreign":
            bytes[0] = UInt8(ascii: "X")
            expected = "not an l0repro model file"
        case "newer":
            bytes[8] = 9
            expected = "model format version 9; this l0repro reads version 1"
        case "flipped":
            bytes[bytes.count - 3] ^= 0x10
            expected = "does not match its checksum"
        default:
            bytes[17] = UInt8(ascii: "!")
            expected = "model header is unreadable"
        }
        try Data(bytes).write(to: url)
        do {
            _ = try ModelFile.read(from: url)
            Issue.record("a \(damage) model file was read")
        } catch let error as FileError {
            #expect(error.path == url.path)
            #expect(error.problem.contains(expected), "\(error.problem)")
            #expect(!error.description.contains("\n"))
        }
    }
}
