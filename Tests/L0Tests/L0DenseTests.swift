import Foundation
import L0
import NeuralNet
import TestSupport
import Testing

/// The gated layer against central differences of a Double re-implementation: y = (x ⊙ z)·W + b with
/// z from the same uniform noise (shared per batch or per example), L = Σ r ⊙ y + penalty.
@Suite("L0 dense layer")
struct L0DenseTests {
    static let (rows, inputs, outputs) = (3, 7, 5)
    static let (lambda, decay): (Float, Float) = (0.2, 0.3)

    @Test(
        "Gradients of the loss and penalty with respect to W, b, log α and x (or h, with the ReLU before it), with and without closed gates",
        arguments: [false, true].flatMap { a in [false, true].flatMap { b in [false, true].flatMap { c in [false, true].map { (a, b, c, $0) } } } })
    func gradients(perExample: Bool, needsInputGradient: Bool, rectified: Bool, closed: Bool) {
        let (rows, inputs, outputs) = (Self.rows, Self.inputs, Self.outputs)
        let random = RandomGenerator(seed: 21)
        let layer = L0Dense(
            name: "fc", inputs: inputs, outputs: outputs, maxBatch: rows, lambda: Self.lambda, decay: Self.decay,
            perExampleGates: perExample, rectifiesInput: rectified)
        let w = Oracle.randomize(layer.weight.value, random)
        let b = Oracle.randomize(layer.bias.value, random)
        var a = Oracle.randomize(layer.gates.logAlpha.value, random, scale: 1.5)
        if closed {
            // Gates 1 and 4 closed in every draw (P(z ≠ 0) ≈ 1e-3, and the noise is fixed), and one
            // wide open: the shared draw takes the compacted products.
            for (i, value) in [(1, -9.0), (4, -9.0), (5, 6.0)] {
                a[i] = value
                layer.gates.logAlpha.value.pointer[i] = Float(value)
            }
        }
        let x = Tensor(maxBatch: rows, featureShape: [inputs])
        var xs = Oracle.randomize(x.buffer, random)
        if closed {
            // Input 2 is 0 (or negative before the ReLU) in every example: left out of the forward
            // and dW, while its input gradient is still computed.
            for row in 0..<rows {
                xs[row * inputs + 2] = rectified ? -0.5 - Double(row) : 0
                x.buffer.pointer[row * inputs + 2] = Float(xs[row * inputs + 2])
            }
        }
        let r = Tensor(maxBatch: rows, featureShape: [outputs])
        let rs = Oracle.randomize(r.buffer, random)

        // The noise the layer will draw: one row, or one per example.
        let replay = RandomGenerator(state: random.state)
        let noise = (0..<(perExample ? rows * inputs : inputs)).map { _ in HardConcrete.noise(fromUniform: replay.uniform()) }
        func gate(_ a: [Double], row: Int, input: Int) -> Double {
            HardConcrete.sample(logAlpha: a[input], uniform: noise[perExample ? row * inputs + input : input]).gate
        }
        func loss(_ x: [Double], _ w: [Double], _ b: [Double], _ a: [Double]) -> Double {
            var gated = rectified ? x.map { max($0, 0) } : x
            for row in 0..<rows { for i in 0..<inputs { gated[row * inputs + i] *= gate(a, row: row, input: i) } }
            var total = Oracle.dot(Oracle.dense(gated, w, b, rows: rows, inputs: inputs, outputs: outputs), rs)
            for i in 0..<inputs {
                let p = HardConcrete.probabilityNonZero(logAlpha: a[i])
                let squares = (0..<outputs).reduce(0.0) { $0 + w[i * outputs + $1] * w[i * outputs + $1] }
                total += p * (Double(Self.lambda) * Double(outputs) + 0.5 * Double(Self.decay) * squares)
            }
            return total + 0.5 * Double(Self.decay) * Oracle.dot(b, b)
        }

        let y = layer.forward(x, mode: .training, random: random)
        if closed && !perExample {
            #expect(layer.gates.values.pointer[1] == 0 && layer.gates.values.pointer[4] == 0)
        }
        var gated = rectified ? xs.map { max($0, 0) } : xs
        for row in 0..<rows { for i in 0..<inputs { gated[row * inputs + i] *= gate(a, row: row, input: i) } }
        let expected = Oracle.dense(gated, w, b, rows: rows, inputs: inputs, outputs: outputs)
        for i in 0..<y.count { #expect(Oracle.close(Double(y.pointer[i]), expected[i])) }
        let dx = layer.backward(r, needsInputGradient: needsInputGradient)
        #expect((dx == nil) == !needsInputGradient)
        let penalty = layer.accumulatePenalty()
        #expect(Oracle.close(penalty + Oracle.dot(expected, rs), loss(xs, w, b, a), relative: 1e-5))

        for i in 0..<w.count {
            let numeric = Oracle.derivative(of: { loss(xs, $0, b, a) }, at: w, index: i)
            #expect(Oracle.close(Double(layer.weight.gradient.pointer[i]), numeric))
        }
        for i in 0..<b.count {
            let numeric = Oracle.derivative(of: { loss(xs, w, $0, a) }, at: b, index: i)
            #expect(Oracle.close(Double(layer.bias.gradient.pointer[i]), numeric))
        }
        for i in 0..<a.count {
            let numeric = Oracle.derivative(of: { loss(xs, w, b, $0) }, at: a, index: i, step: 1e-6)
            #expect(Oracle.close(Double(layer.gates.logAlpha.gradient.pointer[i]), numeric))
        }
        guard let dx else { return }
        for i in 0..<xs.count {
            let numeric = Oracle.derivative(of: { loss($0, w, b, a) }, at: xs, index: i)
            #expect(Oracle.close(Double(dx.pointer[i]), numeric))
        }
    }

    /// The first layer (no input gradient) finishes rows after each product piece; a later layer runs
    /// as two tasks when its products are small (300→100, 7→5) and splits them otherwise (800→500).
    @Test(
        "A step scheduled into the backward gives the bytes of backward, penalty, then the step",
        arguments: [
            (3, 7, 5, 1, false), (100, 784, 300, 1, false), (100, 784, 300, 2, false), (3, 7, 5, 1, true),
            (100, 300, 100, 2, true), (100, 800, 500, 2, true),
        ])
    func scheduledUpdate(rows: Int, inputs: Int, outputs: Int, threads: Int, needsInputGradient: Bool) throws {
        BLASRuntime.setThreads(threads)
        defer { BLASRuntime.setThreads(1) }
        func setUp() -> (L0Dense, Adam, Tensor, Tensor) {
            let random = RandomGenerator(seed: 8)
            let layer = L0Dense(
                name: "fc", inputs: inputs, outputs: outputs, maxBatch: rows, lambda: Self.lambda, decay: Self.decay)
            _ = Oracle.randomize(layer.weight.value, random, scale: 0.1)
            _ = Oracle.randomize(layer.bias.value, random)
            _ = Oracle.randomize(layer.gates.logAlpha.value, random, scale: 1.5)
            let x = Tensor(maxBatch: rows, featureShape: [inputs])
            _ = Oracle.randomize(x.buffer, random)
            let r = Tensor(maxBatch: rows, featureShape: [outputs])
            _ = Oracle.randomize(r.buffer, random)
            let average = WeightAverage(parameters: layer.parameters, decay: 0.9)
            return (layer, Adam(parameters: layer.parameters, learningRate: 0.01, average: average), x, r)
        }
        let (plain, plainAdam, x, r) = setUp()
        let (fused, fusedAdam, _, _) = setUp()
        for step in 0..<2 {
            _ = plain.forward(x, mode: .training, random: RandomGenerator(seed: UInt64(step)))
            let plainInputGradient = plain.backward(r, needsInputGradient: needsInputGradient)?.buffer.array
            let plainPenalty = plain.accumulatePenalty()
            plainAdam.update()

            _ = fused.forward(x, mode: .training, random: RandomGenerator(seed: UInt64(step)))
            let update = try #require(fusedAdam.beginStep())
            let updated = fused.scheduleUpdate(update, slot: fusedAdam.slot(of:))
            #expect(updated === fused.weight)
            let fusedInputGradient = fused.backward(r, needsInputGradient: needsInputGradient)?.buffer.array
            let fusedPenalty = fused.accumulatePenalty()
            fusedAdam.finishStep(skipping: updated.map { [$0] } ?? [])

            #expect(plainPenalty == fusedPenalty)
            #expect(plainInputGradient == fusedInputGradient)
            for (a, b) in zip(plain.parameters, fused.parameters) {
                #expect(a.value.array == b.value.array, "\(a.name) after step \(step + 1)")
                #expect(a.gradient.array == b.gradient.array, "\(a.name)'s gradient after step \(step + 1)")
            }
            for (a, b) in zip(plainAdam.firstMoments + plainAdam.secondMoments, fusedAdam.firstMoments + fusedAdam.secondMoments) {
                #expect(a.array == b.array)
            }
            for (a, b) in zip(plainAdam.average!.averages, fusedAdam.average!.averages) { #expect(a.array == b.array) }
        }
        // Per-example gates take another path: the layer declines.
        let perExample = L0Dense(name: "fc", inputs: 3, outputs: 2, maxBatch: 2, lambda: 0, decay: 0, perExampleGates: true)
        let adam = Adam(parameters: perExample.parameters, learningRate: 0.01)
        #expect(perExample.scheduleUpdate(try #require(adam.beginStep()), slot: adam.slot(of:)) == nil)
    }

    @Test("Evaluation uses the deterministic gates ẑ")
    func evaluation() {
        let layer = L0Dense(name: "fc", inputs: 3, outputs: 1, maxBatch: 1, lambda: 0, decay: 0)
        layer.weight.value.fill(1)
        let logAlphas: [Float] = [-4, 0, 4]  // ẑ = 0, 0.5, 1
        for i in 0..<3 { layer.gates.logAlpha.value.pointer[i] = logAlphas[i] }
        let x = Tensor(maxBatch: 1, featureShape: [3])
        x.buffer.fill(2)
        let y = layer.forward(x, mode: .evaluation, random: RandomGenerator(seed: 1))
        #expect(abs(y.pointer[0] - 3) < 1e-6)
    }
}

@Suite("Sparsity accounting")
struct SparsityTests {
    @Test("Kept groups, expected L0 and FLOPs on hand-set gates")
    func handSetGates() {
        let layer = L0Dense(name: "fc1", inputs: 4, outputs: 10, maxBatch: 1, lambda: 0, decay: 0)
        // Two gates far below the pruning threshold, one at log α = 0, one far above.
        let logAlphas: [Float] = [-4.6, -3, 0, 4.6]
        for i in 0..<4 { layer.gates.logAlpha.value.pointer[i] = logAlphas[i] }
        let s = layer.sparsity()
        let pi = logAlphas.map { HardConcrete.probabilityNonZero(logAlpha: Double($0)) }
        let expectedInputs = pi.reduce(0, +)
        #expect(s.groups == 4)
        #expect(s.keptGroups == 2)
        #expect(s.weights == 40)
        #expect(s.keptWeights == 20)
        #expect(abs(s.expectedGroups - expectedInputs) < 1e-6)
        #expect(abs(s.expectedL0 - 10 * expectedInputs) < 1e-5)
        #expect(abs(s.expectedFlops - ((2 * expectedInputs - 1) * 10 + 10)) < 1e-4)
        #expect(s.prunedFlops == (2 * 2 - 1) * 10 + 10)
    }

    @Test("Dense MLP forward FLOPs: (2·784−1)·300+300 + (2·300−1)·100+100 + (2·100−1)·10+10 = 532,400")
    func denseMLP() {
        let total =
            FlopCount.dense(inputs: 784, outputs: 300) + FlopCount.dense(inputs: 300, outputs: 100)
            + FlopCount.dense(inputs: 100, outputs: 10)
        #expect(total == 532_400)
        #expect(FlopCount.dense(inputs: 0, outputs: 10) == 0)
    }
}
