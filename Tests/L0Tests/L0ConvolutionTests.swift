import Foundation
import L0
import NeuralNet
import TestSupport
import Testing

@Suite("L0 convolution")
struct L0ConvolutionTests {
    static let shape = ConvolutionShape(inChannels: 2, outChannels: 4, kernel: 3, stride: 1, padding: 1, inHeight: 5, inWidth: 4)

    /// With shared gates, closed ones (here forced by log α = −20) leave their maps out of the matrix
    /// products; the gradients must not change.
    @Test(
        "Gradients of loss and penalty with respect to W, b, log α and x",
        arguments: [false, true], [(needsInputGradient: false, closed: [Int]()), (true, []), (true, [1, 3]), (false, [0, 1, 2, 3])])
    func gradients(perExample: Bool, setting: (needsInputGradient: Bool, closed: [Int])) {
        let needsInputGradient = setting.needsInputGradient
        let (shape, batch) = (Self.shape, 3)
        let (lambda, decay): (Float, Float) = (0.05, 0.3)
        let random = RandomGenerator(seed: 41)
        let layer = L0Conv2D(name: "conv", shape: shape, maxBatch: batch, lambda: lambda, decay: decay, perExampleGates: perExample)
        let w = Oracle.randomize(layer.weight.value, random)
        let b = Oracle.randomize(layer.bias.value, random)
        var a = Oracle.randomize(layer.gates.logAlpha.value, random, scale: 1.5)
        for c in setting.closed {
            a[c] = -20
            layer.gates.logAlpha.value.pointer[c] = -20
        }
        let x = Tensor(maxBatch: batch, featureShape: shape.inputShape)
        let xs = Oracle.randomize(x.buffer, random)
        let r = Tensor(maxBatch: batch, featureShape: shape.outputShape)
        let rs = Oracle.randomize(r.buffer, random)
        let replay = RandomGenerator(state: random.state)
        let noise = (0..<(perExample ? batch * 4 : 4)).map { _ in HardConcrete.noise(fromUniform: replay.uniform()) }
        func loss(_ x: [Double], _ w: [Double], _ b: [Double], _ a: [Double]) -> Double {
            var y = Oracle.convolution(x, w, b, shape: shape, batch: batch)
            for n in 0..<batch {
                for c in 0..<4 {
                    let z = HardConcrete.sample(logAlpha: a[c], uniform: noise[perExample ? n * 4 + c : c]).gate
                    for q in 0..<shape.positions { y[(n * 4 + c) * shape.positions + q] *= z }
                }
            }
            var total = Oracle.dot(y, rs)
            for c in 0..<4 {
                let filter = Array(w[c * shape.patch..<(c + 1) * shape.patch])
                total +=
                    HardConcrete.probabilityNonZero(logAlpha: a[c])
                    * (Double(lambda) * Double(shape.patch) + 0.5 * Double(decay) * Oracle.dot(filter, filter))
            }
            return total + 0.5 * Double(decay) * Oracle.dot(b, b)
        }
        let y = layer.forward(x, mode: .training, random: random)
        for c in setting.closed where !perExample {
            #expect(layer.gates.values.pointer[c] == 0)
            for n in 0..<batch { #expect((0..<shape.positions).allSatisfy { y.pointer[(n * 4 + c) * shape.positions + $0] == 0 }) }
        }
        let dx = layer.backward(r, needsInputGradient: needsInputGradient)
        #expect((dx == nil) == !needsInputGradient)
        _ = layer.accumulatePenalty()
        for i in 0..<w.count {
            #expect(Oracle.close(Double(layer.weight.gradient.pointer[i]), Oracle.derivative(of: { loss(xs, $0, b, a) }, at: w, index: i)))
        }
        for i in 0..<b.count {
            #expect(Oracle.close(Double(layer.bias.gradient.pointer[i]), Oracle.derivative(of: { loss(xs, w, $0, a) }, at: b, index: i)))
        }
        for i in 0..<a.count {
            let numeric = Oracle.derivative(of: { loss(xs, w, b, $0) }, at: a, index: i, step: 1e-6)
            #expect(Oracle.close(Double(layer.gates.logAlpha.gradient.pointer[i]), numeric))
        }
        guard let dx else { return }
        for i in 0..<xs.count {
            #expect(Oracle.close(Double(dx.pointer[i]), Oracle.derivative(of: { loss($0, w, b, a) }, at: xs, index: i)))
        }
    }

    @Test("Conv FLOPs and kept maps on hand-set gates; the next conv sees Σπ of this one's maps")
    func accounting() {
        let first = L0Conv2D(
            name: "conv1", shape: ConvolutionShape(inChannels: 1, outChannels: 4, kernel: 5, inHeight: 28, inWidth: 28),
            maxBatch: 1, lambda: 0, decay: 0)
        let second = L0Conv2D(
            name: "conv2", shape: ConvolutionShape(inChannels: 4, outChannels: 3, kernel: 5, inHeight: 12, inWidth: 12),
            maxBatch: 1, lambda: 0, decay: 0)
        let firstAlphas: [Float] = [-4.6, 4.6, 4.6, 0]  // one pruned
        let secondAlphas: [Float] = [4.6, -4.6, -3]  // two pruned
        for (i, a) in firstAlphas.enumerated() { first.gates.logAlpha.value.pointer[i] = a }
        for (i, a) in secondAlphas.enumerated() { second.gates.logAlpha.value.pointer[i] = a }
        let s1 = first.sparsity(inputChannels: nil)
        let channels = first.activeOutputChannels!
        let s2 = second.sparsity(inputChannels: channels)
        let pi1 = firstAlphas.map { HardConcrete.probabilityNonZero(logAlpha: Double($0)) }.reduce(0, +)
        let pi2 = secondAlphas.map { HardConcrete.probabilityNonZero(logAlpha: Double($0)) }.reduce(0, +)
        #expect(s1.keptGroups == 3 && s2.keptGroups == 1)
        #expect(channels.kept == 3 && abs(channels.expected - pi1) < 1e-9)
        let expected1: Double = 576 * pi1 * 49 + 576 * pi1
        let expected2: Double = 64 * pi2 * (50 * pi1 - 1) + 64 * pi2
        #expect(abs(s1.expectedFlops - expected1) < 1e-3)
        let pruned1: Double = 576 * 3 * 49 + 576 * 3
        let pruned2: Double = 64 * 1 * 149 + 64 * 1
        let dense1: Double = 576 * 4 * 49 + 576 * 4
        #expect(s1.prunedFlops == pruned1)
        #expect(abs(s2.expectedFlops - expected2) < 1e-3)
        #expect(s2.prunedFlops == pruned2)
        #expect(s2.weights == 3 * 100 && s2.keptWeights == 100)
        #expect(s1.denseFlops == dense1)
    }
}
