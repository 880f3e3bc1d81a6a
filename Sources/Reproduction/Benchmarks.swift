import Datasets
import Experiments
import Foundation
import NeuralNet
import Plotting

/// Timings of training epochs, measured with the same code `Trainer` runs.
public struct EpochTimings: Sendable {
    /// Wall seconds of each timed epoch (training only, no evaluation).
    public let seconds: [Double]
    /// Matrix-product FLOPs of one epoch (forward, weight and input gradients).
    public let flopsPerEpoch: Double

    /// The median epoch time.
    public var medianSeconds: Double {
        let sorted = seconds.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// GFLOP/s at the median epoch time.
    public var gigaflopsPerSecond: Double { flopsPerEpoch / medianSeconds / 1e9 }
}

/// Measurements for `l0repro bench`.
public enum Benchmarks {
    /// Trains `epochs` epochs of `config` on `train` and times each.
    public static func trainingEpochs(config: TrainingConfig, train: ImageClassificationSet, epochs: Int) -> EpochTimings {
        let loop = TrainingLoop(config: config, train: train)
        let random = RandomGenerator(seed: config.seed, stream: 1)
        var seconds = [Double]()
        for _ in 0..<epochs {
            let started = ContinuousClock.now
            _ = loop.runEpoch(random: random)
            let elapsed = ContinuousClock.now - started
            seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        var flops = 0.0
        var remaining = train.count
        while remaining > 0 {
            let rows = min(config.batchSize, remaining)
            flops += loop.network.trainingFlops(batch: rows)
            remaining -= rows
        }
        return EpochTimings(seconds: seconds, flopsPerEpoch: flops)
    }

    /// The machine's single-precision matrix-product rate through OpenBLAS: the best of `repeats`
    /// products of two `size` × `size` matrices, in GFLOP/s.
    public static func sgemmGigaflops(size: Int = 1024, repeats: Int = 5) -> Double {
        let a = FloatBuffer(count: size * size)
        let b = FloatBuffer(count: size * size)
        let c = FloatBuffer(count: size * size)
        let random = RandomGenerator(seed: 7)
        for i in 0..<(size * size) {
            a.pointer[i] = random.uniformFloat()
            b.pointer[i] = random.uniformFloat()
        }
        var best = Double.infinity
        for _ in 0..<repeats {
            let started = ContinuousClock.now
            Gemm.fast(
                transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1, a: a.pointer, lda: size,
                b: b.pointer, ldb: size, beta: 0, c: c.pointer, ldc: size)
            let elapsed = ContinuousClock.now - started
            best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return 2 * pow(Double(size), 3) / best / 1e9
    }
}

/// How long one figure takes to compute and render in each format.
public struct FigureTiming: Sendable {
    public let name: String
    /// Median wall seconds per format (computing the figure's data included).
    public let seconds: [(format: ImageFormat, seconds: Double)]
}

extension Benchmarks {
    /// Computes and renders `entry` `repeats` times per format; the median of each.
    public static func figure(_ entry: FigureEntry, runs: RunCollection?, formats: [ImageFormat] = ImageFormat.allCases, repeats: Int = 3) throws
        -> FigureTiming
    {
        var result: [(ImageFormat, Double)] = []
        for format in formats {
            var seconds: [Double] = []
            for _ in 0..<repeats {
                let started = ContinuousClock.now
                _ = try FigureRenderer.render(try entry.figure(runs: runs), as: format)
                let elapsed = ContinuousClock.now - started
                seconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
            result.append((format, seconds.sorted()[seconds.count / 2]))
        }
        return FigureTiming(name: entry.name, seconds: result)
    }
}
