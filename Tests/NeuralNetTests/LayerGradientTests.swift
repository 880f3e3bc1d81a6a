import Foundation
import NeuralNet
import TestSupport
import Testing

/// Backward passes against central differences of a Double re-implementation of the forward pass.
/// The loss is L = Σ r ⊙ y for a fixed random r, so dL/dy = r.
@Suite("Layer gradients")
struct LayerGradientTests {
    @Test("Dense: weight, bias, input and L2 penalty gradients")
    func dense() {
        let (rows, inputs, outputs) = (4, 6, 5)
        let random = RandomGenerator(seed: 11)
        let layer = Dense(name: "fc", inputs: inputs, outputs: outputs, maxBatch: rows, decay: 0.3)
        let w = Oracle.randomize(layer.weight.value, random)
        let b = Oracle.randomize(layer.bias.value, random)
        let x = Tensor(maxBatch: rows, featureShape: [inputs])
        let xs = Oracle.randomize(x.buffer, random)
        let r = Tensor(maxBatch: rows, featureShape: [outputs])
        let rs = Oracle.randomize(r.buffer, random)

        let y = layer.forward(x, mode: .training, random: random)
        let expected = Oracle.dense(xs, w, b, rows: rows, inputs: inputs, outputs: outputs)
        for i in 0..<y.count { #expect(Oracle.close(Double(y.pointer[i]), expected[i])) }
        let dx = layer.backward(r, needsInputGradient: true)!
        let penalty = layer.accumulatePenalty()

        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            Oracle.dot(Oracle.dense(x, w, b, rows: rows, inputs: inputs, outputs: outputs), rs)
                + 0.5 * 0.3 * (Oracle.dot(w, w) + Oracle.dot(b, b))
        }
        #expect(Oracle.close(penalty, 0.15 * (Oracle.dot(w, w) + Oracle.dot(b, b))))
        for i in 0..<w.count {
            let numeric = Oracle.derivative(of: { loss(xs, $0, b) }, at: w, index: i)
            #expect(Oracle.close(Double(layer.weight.gradient.pointer[i]), numeric))
        }
        for i in 0..<b.count {
            let numeric = Oracle.derivative(of: { loss(xs, w, $0) }, at: b, index: i)
            #expect(Oracle.close(Double(layer.bias.gradient.pointer[i]), numeric))
        }
        for i in 0..<xs.count {
            let numeric = Oracle.derivative(of: { loss($0, w, b) }, at: xs, index: i)
            #expect(Oracle.close(Double(dx.pointer[i]), numeric))
        }
        #expect(layer.backward(r, needsInputGradient: false) == nil)
    }

    @Test("ReLU passes gradients where the output is positive")
    func relu() {
        let random = RandomGenerator(seed: 12)
        let count = 37  // not a multiple of the SIMD width: exercises the scalar tail
        let layer = ReLU(name: "relu", shape: [count], maxBatch: 2)
        let x = Tensor(maxBatch: 2, featureShape: [count])
        let xs = Oracle.randomize(x.buffer, random)
        let r = Tensor(maxBatch: 2, featureShape: [count])
        let rs = Oracle.randomize(r.buffer, random)
        let y = layer.forward(x, mode: .training, random: random)
        let dx = layer.backward(r, needsInputGradient: true)!
        let f = { (x: [Double]) in Oracle.dot(x.map { max($0, 0) }, rs) }
        for i in 0..<xs.count {
            #expect(y.pointer[i] == max(x.pointer[i], 0))
            #expect(Oracle.close(Double(dx.pointer[i]), Oracle.derivative(of: f, at: xs, index: i)))
        }
    }

    @Test("Dropout scales kept units by 1/(1−p), masks the gradient the same way, and is off in evaluation")
    func dropout() {
        let random = RandomGenerator(seed: 13)
        let count = 10_000
        let layer = Dropout(name: "drop", rate: 0.25, shape: [count], maxBatch: 1)
        let x = Tensor(maxBatch: 1, featureShape: [count])
        x.buffer.fill(2)
        let y = layer.forward(x, mode: .training, random: random)
        var kept = 0
        for i in 0..<count {
            #expect(y.pointer[i] == 0 || y.pointer[i] == 2 / 0.75)
            if y.pointer[i] != 0 { kept += 1 }
        }
        // Binomial(10000, 0.75): standard deviation 43; allow 5 of them.
        #expect(abs(kept - 7500) < 217)
        let r = Tensor(maxBatch: 1, featureShape: [count])
        r.buffer.fill(3)
        let dx = layer.backward(r, needsInputGradient: true)!
        for i in 0..<count { #expect(dx.pointer[i] == (y.pointer[i] == 0 ? 0 : 3 / 0.75)) }
        #expect(layer.forward(x, mode: .evaluation, random: random) === x)
    }

    /// The C kernel must draw what `uniformFloat()` draws, in order, and leave the generator where
    /// that many draws leave it (the committed dropout runs' bits depend on it).
    @Test("Dropout's C kernel keeps exactly where uniformFloat() draws ≥ rate, and advances the generator as many draws")
    func dropoutDraws() {
        let (count, rate, scale) = (1_001, Float(0.3), Float(1 / 0.7))
        let (kernel, loop) = (RandomGenerator(seed: 21, stream: 3), RandomGenerator(seed: 21, stream: 3))
        let x = FloatBuffer(count: count)
        for i in 0..<count { x.pointer[i] = Float(i) - 400.5 }
        let (mask, y) = (FloatBuffer(count: count), FloatBuffer(count: count))
        kernel.dropout(input: x.pointer, mask: mask.pointer, output: y.pointer, count: count, rate: rate, scale: scale)
        for i in 0..<count {
            let m: Float = loop.uniformFloat() < rate ? 0 : scale
            #expect(mask.pointer[i] == m && y.pointer[i] == x.pointer[i] * m, "element \(i)")
        }
        #expect(kernel.state == loop.state)
    }

    @Test("Softmax cross-entropy: loss, error count and gradient")
    func softmaxCrossEntropy() {
        let random = RandomGenerator(seed: 14)
        let (rows, classes) = (5, 10)
        let loss = SoftmaxCrossEntropy(classes: classes, maxBatch: rows)
        let logits = Tensor(maxBatch: rows, featureShape: [classes])
        let z = Oracle.randomize(logits.buffer, random, scale: 3)
        let labels: [Int32] = [0, 3, 9, 3, 7]
        func reference(_ z: [Double]) -> Double {
            var total = 0.0
            for r in 0..<rows {
                let row = Array(z[r * classes..<(r + 1) * classes])
                let m = row.max()!
                let sum = row.map { exp($0 - m) }.reduce(0, +)
                total += log(sum) + m - row[Int(labels[r])]
            }
            return total / Double(rows)
        }
        let (value, errors) = labels.withUnsafeBufferPointer {
            loss.evaluate(logits: logits, labels: $0.baseAddress!, computeGradient: true)
        }
        #expect(Oracle.close(value, reference(z), relative: 1e-5))
        var expectedErrors = 0
        for r in 0..<rows {
            let row = Array(z[r * classes..<(r + 1) * classes])
            if row.firstIndex(of: row.max()!)! != Int(labels[r]) { expectedErrors += 1 }
        }
        #expect(errors == expectedErrors)
        for i in 0..<z.count {
            #expect(Oracle.close(Double(loss.gradient.pointer[i]), Oracle.derivative(of: reference, at: z, index: i)))
        }
    }
}
