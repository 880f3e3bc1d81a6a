import Experiments
import FileSupport
import Foundation
import NeuralNet
import Reproduction

/// `l0repro bench inference RUN`: forward-pass timings of a finished L0 run's dense, gated and purged
/// networks, and of PyTorch's dense forward, at several batch sizes and thread counts.
struct InferenceBench {
    let runDirectory: String
    let data: DataOptions
    let threads: Int
    let repeats: Int
    let python: String
    let script: String
    let usePeer: Bool
    let batches = [1, 100, 10_000]

    func run() throws {
        let directory = URL(fileURLWithPath: runDirectory)
        let modelURL = directory.appendingPathComponent(ModelFile.fileName)
        let (model, purged) = try PurgeCommand.purgedModel(ofRun: directory, command: "bench inference")
        let loaded = try data.load()
        let test = loaded.test
        let counts = Array(Set([1, threads])).sorted()
        let sample = try Benchmarks.inferenceNetworks(model, purged: purged, batch: 1)
        let flops = (ModelCost.of(sample.dense).flops, ModelCost.of(sample.gated).flops, ModelCost.of(sample.purged).flops)
        print(
            "bench inference \(directory.lastPathComponent): forward FLOPs per example dense \(Int(flops.0)), gated \(Int(flops.1)), purged \(Int(flops.2)); \(BLASRuntime.coreName) kernels, median of \(repeats)"
        )
        var cases: [InferenceTiming.Case] = []
        for count in counts {
            BLASRuntime.setThreads(count)
            for batch in batches {
                let networks = try Benchmarks.inferenceNetworks(model, purged: purged, batch: batch)
                let times = [networks.dense, networks.gated, networks.purged].map {
                    Benchmarks.forwardSeconds($0, images: test, batch: batch, repeats: repeats)
                }
                cases.append(InferenceTiming.Case(batch: batch, threads: count, dense: times[0], gated: times[1], purged: times[2]))
                FileHandle.standardError.write(Data("  timed batch \(batch) on \(count) thread\(count == 1 ? "" : "s")\n".utf8))
            }
        }
        var version: String?
        if usePeer {
            if FileManager.default.isExecutableFile(atPath: python), FileManager.default.fileExists(atPath: script) {
                let peer = try peerTimings(model: modelURL.path, counts: counts, network: model.network, data: loaded.location?.directory)
                version = peer.version
                for index in cases.indices { cases[index].pytorch = peer.seconds["\(cases[index].batch)/\(cases[index].threads)"] }
            } else {
                print("PyTorch peer: skipped (no \(python) or \(script); see the README's bench section)")
            }
        }
        let timing = InferenceTiming(
            run: model.runID, network: model.network, cpu: MachineInfo.cpuModel, blas: BLASRuntime.configuration, denseFlops: flops.0,
            gatedFlops: flops.1, purgedFlops: flops.2, cases: cases, pytorch: version)
        print(Self.table(timing))
        let url = directory.appendingPathComponent(InferenceTiming.fileName)
        try AtomicFile.write(CanonicalJSON.encode(timing, pretty: true), to: url)
        print("wrote \(url.path)")
    }

    /// The peer's dense forward timings by "batch/threads", and its PyTorch version.
    func peerTimings(model: String, counts: [Int], network: String, data directory: String?) throws -> (seconds: [String: [Double]], version: String?)
    {
        var arguments = [
            "inference", "--model", network, "--from", model, "--batches", batches.map(String.init).joined(separator: ","),
            "--thread-counts", counts.map(String.init).joined(separator: ","), "--repeats", String(repeats), "--threads", String(threads),
        ]
        if let directory { arguments += ["--data", directory] }
        let bytes = try PeerRun.output(python: python, script: script, arguments: arguments, what: "the peer")
        var seconds: [String: [Double]] = [:]
        var version: String?
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            if let torch = object["torch"] as? String { version = torch }
            if let batch = object["batch"] as? Int, let threads = object["threads"] as? Int, let times = object["seconds"] as? [Double] {
                seconds["\(batch)/\(threads)"] = times
            }
        }
        guard !seconds.isEmpty else { throw CommandError(message: "\(script): the peer printed no inference timings") }
        return (seconds, version)
    }

    /// Median milliseconds per forward and the speed-ups, one row per batch size and thread count.
    static func table(_ timing: InferenceTiming) -> String {
        let ratio = timing.denseFlops / timing.purgedFlops
        let widths = [5, 8, 10, 10, 10, 11, 16, 9, 11]
        let header = ["batch", "threads", "dense ms", "gated ms", "purged ms", "PyTorch ms", "purged/dense", "/gated", "/PyTorch"]
        var lines = [
            "FLOP ratio dense / purged: \(format(ratio, 1))×", zip(header, widths).map { $0.padding($1) }.joined(separator: " "),
        ]
        for c in timing.cases {
            let (dense, gated, purged) = (InferenceTiming.median(c.dense), InferenceTiming.median(c.gated), InferenceTiming.median(c.purged))
            let torch = c.pytorch.map(InferenceTiming.median)
            func ms(_ s: Double) -> String { format(1000 * s, s < 0.001 ? 3 : 2) }
            let columns = [
                String(c.batch), String(c.threads), ms(dense), ms(gated), ms(purged), torch.map(ms) ?? "–", "\(format(dense / purged, 1))×",
                "\(format(gated / purged, 1))×", torch.map { "\(format($0 / purged, 1))×" } ?? "–",
            ]
            lines.append(zip(columns, widths).map { $0.padding($1) }.joined(separator: " "))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    /// Right-aligned to `width` characters.
    fileprivate func padding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
