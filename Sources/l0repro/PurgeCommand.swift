import ArgumentParser
import Experiments
import FileSupport
import Foundation
import L0
import NeuralNet

struct PurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge",
        abstract: "Turn a finished L0 run's model into a compact plain model (DESIGN §1.11).",
        discussion: """
            Reads RUN/model.bin, keeps only the groups with ẑ > 0, folds ẑ into the weights, slices each \
            layer's inputs by its gates and its outputs by the next layer's, and writes RUN/model-purged.bin \
            (or --out) in the same model format, method "purged". Prints the weights and forward FLOPs per \
            example of the purged model beside the run log's figures. `l0repro evaluate` gives its test error.
            """)

    @Argument(help: ArgumentHelp("A finished run's directory (Reports/runs/<network>-<variant>-<id>).", valueName: "run"))
    var runDirectory: String

    @Option(help: ArgumentHelp("Where the purged model goes (default: RUN/model-purged.bin).", valueName: "file"))
    var out: String?

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        let (_, purged) = try PurgeCommand.purgedModel(ofRun: directory, command: "purge")
        let destination = out.map { URL(fileURLWithPath: $0) } ?? directory.appendingPathComponent("model-purged.bin")
        try purged.write(to: destination)
        let network = try Purge.network(for: purged, maxBatch: 1)
        let (weights, flops) = ModelCost.of(network)
        print("wrote \(destination.path)")
        print("purged: \(weights) weights, \(Int(flops)) FLOPs per example (layers: \(ModelCost.shapes(network)))")
        if let log = try Trainer.finishedLog(in: directory) {
            print(
                "run log: \(KeptWeights.count(log)) weights between kept groups, \(Int(log.result.prunedFlops.rounded())) FLOPs after pruning, \(Int(log.result.denseFlops)) dense"
            )
        }
    }
}

extension PurgeCommand {
    /// A finished L0 run's model file and its purged form; errors name the file, in one line.
    static func purgedModel(ofRun directory: URL, command: String) throws -> (model: ModelFile, purged: ModelFile) {
        let modelURL = directory.appendingPathComponent(ModelFile.fileName)
        guard FileManager.default.fileExists(atPath: modelURL.path) else {
            throw FileError(path: modelURL.path, problem: "no model file; \(command) takes a finished L0 run's directory")
        }
        let model = try ModelFile.read(from: modelURL)
        do {
            return (model, try Purge.purge(model))
        } catch let failure as Purge.Failure {
            throw FileError(path: modelURL.path, problem: failure.description)
        }
    }
}

struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Print the test error of a model file (gated, dropout, dense or purged).",
        discussion: """
            Builds the network the model file describes, loads its values and classifies the test set with \
            deterministic gates, batch 100. Prints the error, the weights and the forward FLOPs per example.
            """)

    @Argument(help: ArgumentHelp("A model file (model.bin or model-purged.bin).", valueName: "model"))
    var model: String

    @OptionGroup var data: DataOptions

    func run() throws {
        let url = URL(fileURLWithPath: model)
        let file = try ModelFile.read(from: url)
        let network: Network
        do {
            network = try Purge.evaluationNetwork(for: file, maxBatch: 100)
        } catch let failure as Purge.Failure {
            throw FileError(path: url.path, problem: failure.description)
        }
        let test = try data.load().test
        let errors = ModelCost.testErrors(network, test: test)
        let (weights, flops) = ModelCost.of(network)
        print(
            String(
                format: "%@: test error %.2f %% (%d of %d), %d weights, %d FLOPs per example", url.lastPathComponent,
                100 * Double(errors) / Double(test.count), errors, test.count, weights, Int(flops)))
    }
}
