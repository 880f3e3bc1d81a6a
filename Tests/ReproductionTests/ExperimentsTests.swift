import Experiments
import Foundation
import Reporting
import Reproduction
import Testing

@Suite("Experiments as data", .serialized)
struct ExperimentsTests {
    @Test("A template declares its experiments; undeclared parts default to every network, the paper's four variants, seed 1; bad names are refused")
    func declared() throws {
        let none = ExperimentSet()
        #expect(none.networks == ModelKind.allCases && none.variants == Variant.paper && none.seeds == [1])
        #expect(none.configs(profile: .paper, dataset: "mnist").count == ModelKind.allCases.count * 4)

        let front = FrontMatter(
            title: "t", fields: ["experiments.networks": "[mlp]", "experiments.seeds": "[1, 2, 3]", "experiments.variants": "l0"])
        let set = try ExperimentSet(frontMatter: front, file: "t.md")
        let configs = set.configs(profile: .quick, dataset: "mnist")
        #expect(configs.map(\.seed) == [1, 2, 3] && configs.allSatisfy { $0.model == .mlp && $0.variant == .l0 && $0.epochs == 30 })

        for (key, value, message) in [
            ("networks", "[mlp, resnet]", "unknown network 'resnet'"), ("variants", "[pruned]", "unknown variant 'pruned'"),
            ("seeds", "[one]", "seed 'one' is not a whole number"),
        ] {
            let bad = FrontMatter(title: "t", fields: ["experiments.\(key)": value])
            #expect { try ExperimentSet(frontMatter: bad, file: "t.md") } throws: { String(describing: $0).contains(message) }
        }
    }

    @Test("Runs that differ only in seed form one group with its median and range; no run is silently dropped")
    func seedGroups() throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        var logs: [RunLog] = []
        for seed in [3, 1, 2] as [UInt64] {
            let config = TrainingConfig(model: .mlp, variant: .l0, dataset: "mnist", epochs: 1, averageDecay: 0.9, seed: seed, trainingLimit: 300)
            logs.append(try #require(try Trainer(config: config, data: TrainerTests.data, runsDirectory: runs).run().log))
        }
        // Another setting (other λ) is another group.
        var other = TrainingConfig(model: .mlp, variant: .l0, dataset: "mnist", epochs: 1, averageDecay: 0.9, seed: 1, trainingLimit: 300)
        other.setLambdas([0.5])
        _ = try Trainer(config: other, data: TrainerTests.data, runsDirectory: runs).run()

        let collection = try RunCollection(directory: runs)
        #expect(collection.seedGroups.count == 2)
        let group = try #require(collection.seedGroups.first { $0.runs.count == 3 })
        #expect(group.seeds == [1, 2, 3])
        let errors = logs.map(\.result.finalTestError).sorted()
        #expect(group.medianFinalError == errors[1])
        #expect(group.finalErrorRange == errors[0]...errors[2])
        #expect(group.medianRun.result.finalTestError == errors[1])
    }
}
