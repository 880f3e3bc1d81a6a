import Foundation
import L0
import NeuralNet
import TestSupport
import Testing

/// A convolution with its max-pool and ReLU inside (`ConvolutionPooling`) against the same
/// convolution followed by `MaxPool2D` and `ReLU` layers: the same outputs bit for bit (the same
/// values, compared in the same order), and the same gradients up to the order of their sums.
@Suite("Pooling inside a convolution")
struct FusedPoolingTests {
    /// Pooled widths 12 (eight windows at a time, then four), 5 (four, then one) and, for 3×3
    /// windows, 2 (the general loop; a trailing partial window dropped).
    static let cases: [(shape: ConvolutionShape, size: Int)] = [
        (ConvolutionShape(inChannels: 1, outChannels: 5, kernel: 5, inHeight: 28, inWidth: 28), 2),
        (ConvolutionShape(inChannels: 3, outChannels: 4, kernel: 3, stride: 1, padding: 1, inHeight: 6, inWidth: 10), 2),
        (ConvolutionShape(inChannels: 2, outChannels: 3, kernel: 3, stride: 2, padding: 1, inHeight: 13, inWidth: 13), 3),
    ]

    @Test("Gated and plain, shared and per-example gates, with closed gates", arguments: 0..<3, ["plain", "shared", "per example"])
    func matchesSeparateLayers(index: Int, gating: String) {
        let (shape, size) = Self.cases[index]
        let batch = 6
        let setup = RandomGenerator(seed: 51)
        let fused: any Layer & Penalized
        let plain: any Layer & Penalized
        if gating == "plain" {
            fused = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0.1, pooling: size)
            plain = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0.1)
        } else {
            let perExample = gating == "per example"
            let a = L0Conv2D(name: "conv", shape: shape, maxBatch: batch, lambda: 0.01, decay: 0.1, perExampleGates: perExample, pooling: size)
            let b = L0Conv2D(name: "conv", shape: shape, maxBatch: batch, lambda: 0.01, decay: 0.1, perExampleGates: perExample)
            _ = Oracle.randomize(a.gates.logAlpha.value, setup, scale: 1.5)
            a.gates.logAlpha.value.pointer[1] = -20  // closed
            b.gates.logAlpha.value.copy(from: a.gates.logAlpha.value)
            (fused, plain) = (a, b)
        }
        for (target, source) in zip(plain.parameters, fused.parameters) where source.role != .gateLogAlpha {
            _ = Oracle.randomize(source.value, setup)
            target.value.copy(from: source.value)
        }
        let pool = MaxPool2D(name: "pool", size: size, inputShape: shape.outputShape, maxBatch: batch)
        let relu = ReLU(name: "relu", shape: pool.outputShape, maxBatch: batch)
        #expect(fused.outputShape == pool.outputShape)
        let x = Tensor(maxBatch: batch, featureShape: shape.inputShape)
        _ = Oracle.randomize(x.buffer, setup)
        let dy = Tensor(maxBatch: batch, featureShape: pool.outputShape)
        _ = Oracle.randomize(dy.buffer, setup)

        let y = fused.forward(x, mode: .training, random: RandomGenerator(seed: 52))
        let reference = relu.forward(
            pool.forward(plain.forward(x, mode: .training, random: RandomGenerator(seed: 52)), mode: .training, random: setup),
            mode: .training, random: setup)
        #expect(y.buffer.array.prefix(y.count) == reference.buffer.array.prefix(reference.count))

        let dx = fused.backward(dy, needsInputGradient: true)!
        let dxReference = plain.backward(
            pool.backward(relu.backward(dy, needsInputGradient: true)!, needsInputGradient: true)!, needsInputGradient: true)!
        _ = fused.accumulatePenalty()
        _ = plain.accumulatePenalty()
        for (a, b) in zip(dx.buffer.array.prefix(dx.count), dxReference.buffer.array) {
            #expect(Oracle.close(Double(a), Double(b), relative: 1e-5, absolute: 1e-6))
        }
        for (p, q) in zip(fused.parameters, plain.parameters) {
            for i in 0..<p.count {
                #expect(Oracle.close(Double(p.gradient.pointer[i]), Double(q.gradient.pointer[i]), relative: 1e-4, absolute: 1e-6), "\(p.name)[\(i)]")
            }
        }
    }
}
