import Experiments
import Foundation
import Reproduction
import Testing

/// The benchmarks' commands on a small trained run (timings are printed, never checked: these
/// machines are shared and noisy).
@Suite("Benchmarks", .serialized)
struct BenchTests {
    /// A one-epoch L0 and dense MLP on 300 examples, and the data directory.
    static func trainedRuns() throws -> (runs: URL, data: URL, gated: URL, dense: URL) {
        let runs = Fixtures.temporaryDirectory()
        let data = try Fixtures.smallMNIST(trainCount: 300, testCount: 200)
        for variant in ["l0", "dense"] {
            let trained = try Fixtures.run([
                "train", "mlp", "--variant", variant, "--dataset", "mnist", "--data-dir", data.path, "--epochs", "1", "--runs-dir", runs.path,
            ])
            try #require(trained.status == 0, "\(trained.stderr)")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: runs.path)
        let gated = runs.appendingPathComponent(try #require(names.first { $0.hasPrefix("mlp-l0-") }))
        let dense = runs.appendingPathComponent(try #require(names.first { $0.hasPrefix("mlp-dense-") }))
        return (runs, data, gated, dense)
    }

    @Test("bench inference times the dense, gated and purged forward at batch 1, 100 and 10,000 and writes the timing file beside the run")
    func inference() throws {
        let (runs, data, gated, dense) = try Self.trainedRuns()
        defer { for url in [runs, data] { try? FileManager.default.removeItem(at: url) } }
        let logBefore = try Data(contentsOf: gated.appendingPathComponent("log.json"))
        let outcome = try Fixtures.run([
            "bench", "inference", gated.path, "--dataset", "mnist", "--data-dir", data.path, "--repeats", "2", "--threads", "2", "--no-peer",
        ])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("FLOP ratio dense / purged") && outcome.stdout.contains("purged/dense"))
        let timing = try #require(try InferenceTiming.read(in: gated))
        #expect(timing.cases.map(\.batch) == [1, 100, 10_000, 1, 100, 10_000] && timing.cases.map(\.threads) == [1, 1, 1, 2, 2, 2])
        #expect(timing.cases.allSatisfy { $0.dense.count == 2 && $0.gated.count == 2 && $0.purged.count == 2 && $0.pytorch == nil })
        #expect(timing.denseFlops == 532_400 && timing.purgedFlops <= timing.gatedFlops && timing.gatedFlops <= timing.denseFlops)
        // The run itself is untouched: timings never go into the bytes that reproduce.
        #expect(try Data(contentsOf: gated.appendingPathComponent("log.json")) == logBefore)

        let refused = try Fixtures.run(["bench", "inference", dense.path, "--dataset", "mnist", "--data-dir", data.path, "--no-peer"])
        #expect(refused.status == 1 && refused.stderr.contains("only the model of an L0 run can be purged"))
        #expect(!FileManager.default.fileExists(atPath: dense.appendingPathComponent(InferenceTiming.fileName).path))
        let missing = try Fixtures.run(["bench", "inference"])
        #expect(missing.status != 0 && missing.stderr.contains("needs a finished L0 run's directory"))
    }

    @Test("bench mlp --from RUN times epochs from a finished L0 run's final state, and refuses other runs in one line")
    func fromFinalState() throws {
        let (runs, data, gated, dense) = try Self.trainedRuns()
        defer { for url in [runs, data] { try? FileManager.default.removeItem(at: url) } }
        let common = ["--dataset", "mnist", "--data-dir", data.path, "--epochs", "1", "--no-peer"]
        let outcome = try Fixtures.run(["bench", "mlp", "--from", gated.path] + common)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("from the final state of \(gated.lastPathComponent)") && outcome.stdout.contains("dense-equivalent GFLOP/s"))
        for (run, message) in [(dense, "--from takes an L0 run"), (runs, "no finished run log")] {
            let refused = try Fixtures.run(["bench", "mlp", "--from", run.path] + common)
            #expect(refused.status == 1 && refused.stderr.contains(message) && refused.stderr.split(separator: "\n").count == 1, "\(refused.stderr)")
        }
        let wrongNetwork = try Fixtures.run(["bench", "lenet5", "--from", gated.path] + common)
        #expect(wrongNetwork.status == 1 && wrongNetwork.stderr.contains("a mlp run, not a lenet5 one"))
    }

    @Test("bench mlp --variant dense times dense-cost epochs at the products' own rate; a gated variant's rate is dense-equivalent")
    func variants() throws {
        let (runs, data, gated, _) = try Self.trainedRuns()
        defer { for url in [runs, data] { try? FileManager.default.removeItem(at: url) } }
        let common = ["--dataset", "mnist", "--data-dir", data.path, "--epochs", "1", "--no-peer"]
        let dense = try Fixtures.run(["bench", "mlp", "--variant", "dense"] + common)
        #expect(dense.status == 0, "\(dense.stderr)")
        #expect(
            dense.stdout.contains("bench mlp: dense, 300 examples") && dense.stdout.contains(" GFLOP/s = ")
                && !dense.stdout.contains("dense-equivalent"))
        let sep = try Fixtures.run(["bench", "mlp", "--variant", "l0-sep"] + common)
        #expect(
            sep.status == 0 && sep.stdout.contains("bench mlp: l0-sep, λ = (") && sep.stdout.contains("dense-equivalent GFLOP/s"), "\(sep.stderr)")
        // A variant the benchmark does not time, or one other than the --from run's: one line, no timing.
        for (arguments, message) in [
            (["bench", "mlp", "--variant", "magnitude"], "bench pruning times the pruning methods"),
            (["bench", "figures", "--variant", "dense"], "--variant is an option of bench mlp and bench lenet5, not of bench figures"),
            (["bench", "mlp", "--variant", "dense", "--from", gated.path], "--from starts from its variant, so drop --variant dense"),
        ] {
            let refused = try Fixtures.run(arguments + common)
            #expect(refused.status != 0 && refused.stderr.contains(message) && !refused.stdout.contains("s/epoch"), "\(refused.stderr)")
        }
    }
}
