import Foundation
import NeuralNet
import TestSupport
import Testing

@Suite("Convolution and pooling")
struct ConvolutionTests {
    static let shapes: [ConvolutionShape] = [
        ConvolutionShape(inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1, inHeight: 7, inWidth: 9),
        ConvolutionShape(inChannels: 1, outChannels: 2, kernel: 5, inHeight: 10, inWidth: 10),
        ConvolutionShape(inChannels: 2, outChannels: 3, kernel: 2, stride: 3, padding: 2, inHeight: 8, inWidth: 5),
        ConvolutionShape(inChannels: 2, outChannels: 5, kernel: 3, stride: 1, padding: 2, inHeight: 4, inWidth: 6),
        ConvolutionShape(inChannels: 20, outChannels: 50, kernel: 5, inHeight: 12, inWidth: 12),
    ]

    /// Random input, filters, bias and output gradient for a batch of `shape`.
    static func operands(_ shape: ConvolutionShape, batch: Int, seed: UInt64) -> (
        x: FloatBuffer, w: FloatBuffer, b: FloatBuffer, dy: FloatBuffer
    ) {
        let random = RandomGenerator(seed: seed)
        let x = FloatBuffer(count: batch * shape.inputSize)
        let w = FloatBuffer(count: shape.outChannels * shape.patch)
        let b = FloatBuffer(count: shape.outChannels)
        let dy = FloatBuffer(count: batch * shape.outChannels * shape.positions)
        for buffer in [x, w, b, dy] { _ = Oracle.randomize(buffer, random) }
        return (x, w, b, dy)
    }

    /// Batch 21 cuts into chunks of 5 and 6 images, each worked in blocks of several images when a map
    /// is small (the last shape: blocks of 2 and 3).
    @Test("The unfolded convolution agrees with the direct one", arguments: shapes, [(1, 3), (2, 3), (2, 21)])
    func forwardMatchesNaive(shape: ConvolutionShape, setting: (threads: Int, batch: Int)) {
        BLASRuntime.setThreads(setting.threads)
        defer { BLASRuntime.setThreads(1) }
        let batch = setting.batch
        let random = RandomGenerator(seed: 31)
        let core = ConvolutionCore(shape: shape)
        let x = FloatBuffer(count: batch * shape.inputShape.reduce(1, *))
        let w = FloatBuffer(count: shape.outChannels * shape.patch)
        let b = FloatBuffer(count: shape.outChannels)
        for buffer in [x, w, b] { _ = Oracle.randomize(buffer, random) }
        if shape.inChannels > 1 {
            // Input channel 1 is 0 in every image: left out of the product.
            let mapSize = shape.inHeight * shape.inWidth
            for n in 0..<batch { (x.pointer + (n * shape.inChannels + 1) * mapSize).update(repeating: 0, count: mapSize) }
        }
        let fast = FloatBuffer(count: batch * shape.outChannels * shape.positions)
        let naive = FloatBuffer(count: fast.count)
        core.forward(input: x.pointer, batch: batch, weight: w.pointer, bias: b.pointer, output: fast.pointer)
        ConvolutionCore.naiveForward(shape: shape, input: x.pointer, batch: batch, weight: w.pointer, bias: b.pointer, output: naive.pointer)
        let worst = zip(fast.array, naive.array).map { abs($0 - $1) / max(1, abs($1)) }.max()!
        #expect(worst < 1e-4)
    }

    /// The backward unfolds each block again, with the live channels its forward found, into
    /// scratch the core reuses: a forward of another batch before (other live channels, other maps
    /// closed) must leave no trace in a forward and backward's bytes. conv1's shape on 28×28 images
    /// takes the unfold's 24-wide rows, conv2's its 8-wide ones.
    @Test(
        "A forward of another batch before leaves no trace in a forward and backward's bytes, with and without a per-map scale",
        arguments: [shapes[1], shapes[4], ConvolutionShape(inChannels: 1, outChannels: 3, kernel: 5, inHeight: 28, inWidth: 28)],
        [false, true])
    func reusedScratch(shape: ConvolutionShape, scaled: Bool) {
        BLASRuntime.setThreads(2)
        defer { BLASRuntime.setThreads(1) }
        let batch = 21
        let (x, w, b, dy) = Self.operands(shape, batch: batch, seed: 43)
        let (other, _, _, _) = Self.operands(shape, batch: batch, seed: 44)
        (other.pointer + shape.inHeight * shape.inWidth).update(repeating: 0, count: other.count - shape.inHeight * shape.inWidth)
        // One map scaled by 0 (left out of every product), the others by 0.5…1.5; the other batch
        // closes another map.
        let z = FloatBuffer(count: shape.outChannels)
        let otherZ = FloatBuffer(count: shape.outChannels)
        for c in 0..<shape.outChannels {
            z.pointer[c] = c == 1 ? 0 : 0.5 + Float(c) / Float(shape.outChannels)
            otherZ.pointer[c] = c == 0 ? 0 : 1
        }
        func run(after previous: FloatBuffer?) -> [[Float]] {
            let core = ConvolutionCore(shape: shape)
            let output = FloatBuffer(count: dy.count)
            let scaledOutput = FloatBuffer(count: dy.count)
            let (dw, db, dx) = (FloatBuffer(count: w.count), FloatBuffer(count: b.count), FloatBuffer(count: x.count))
            let products = FloatBuffer(count: batch * shape.outChannels)
            if let previous {
                let scale = scaled ? MapScale(values: otherZ.pointer, perExample: false, maps: scaledOutput.pointer) : nil
                core.forward(input: previous.pointer, batch: batch, weight: w.pointer, bias: b.pointer, output: output.pointer, scale: scale)
            }
            let forwardScale = scaled ? MapScale(values: z.pointer, perExample: false, maps: scaledOutput.pointer) : nil
            core.forward(input: x.pointer, batch: batch, weight: w.pointer, bias: b.pointer, output: output.pointer, scale: forwardScale)
            let backwardScale = scaled ? MapScale(values: z.pointer, perExample: false, maps: output.pointer, products: products.pointer) : nil
            core.backward(
                input: x.pointer, outputGradient: dy.pointer, batch: batch, weight: w.pointer, weightGradient: dw.pointer,
                biasGradient: db.pointer, inputGradient: dx.pointer, scale: backwardScale)
            return [output.array, scaledOutput.array, dw.array, db.array, dx.array, products.array]
        }
        let fresh = run(after: nil)
        #expect(fresh == run(after: other))
        guard !scaled else { return }  // a zero scale's map is 0, not the convolution
        let naive = FloatBuffer(count: dy.count)
        ConvolutionCore.naiveForward(shape: shape, input: x.pointer, batch: batch, weight: w.pointer, bias: b.pointer, output: naive.pointer)
        #expect(zip(fresh[0], naive.array).map { abs($0 - $1) / max(1, abs($1)) }.max()! < 1e-4)
    }

    @Test("A core holds a few MB of columns for a wide ResNet's 3×3 convolutions, whatever the batch")
    func columnFootprint() {
        // WRN-28-10's widest 3×3 convolutions: 160 channels at 32×32, 320 at 16×16, 640 at 8×8; a
        // batch of 128 such images would take 150–190 MB of columns per layer if they were kept.
        let shapes = [(160, 32), (320, 16), (640, 8)].map { channels, size in
            ConvolutionShape(inChannels: channels, outChannels: channels, kernel: 3, padding: 1, inHeight: size, inWidth: size)
        }
        for shape in shapes {
            let bytes = ConvolutionCore.columnBytes(shape: shape)
            #expect(bytes <= 25_000_000, "\(shape): \(bytes) bytes of columns")
        }
    }

    /// Every input channel 0 in the whole batch (all gates of the layer before closed): no channel is
    /// unfolded, and the maps must be the bias, not what the previous batch left in the scratch.
    @Test("A batch that is 0 throughout gives the bias and no weight gradient", arguments: [1, 2])
    func zeroBatch(pooling: Int) {
        let shape = ConvolutionShape(inChannels: 20, outChannels: 50, kernel: 5, inHeight: 12, inWidth: 12)
        let batch = 6
        let random = RandomGenerator(seed: 35)
        let layer = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0, pooling: pooling)
        _ = Oracle.randomize(layer.weight.value, random)
        let bias = Oracle.randomize(layer.bias.value, random)
        let x = Tensor(maxBatch: batch, featureShape: shape.inputShape)
        _ = Oracle.randomize(x.buffer, random)
        _ = layer.forward(x, mode: .training, random: random)  // leaves this batch's maps behind
        x.buffer.fill(0)
        let y = layer.forward(x, mode: .training, random: random)
        let perMap = y.featureCount / shape.outChannels
        for i in 0..<y.count {
            let b = Float(bias[i / perMap % shape.outChannels])
            #expect(y.pointer[i] == (pooling > 1 ? max(b, 0) : b))
        }
        let dy = Tensor(maxBatch: batch, featureShape: layer.outputShape)
        _ = Oracle.randomize(dy.buffer, random)
        _ = layer.backward(dy, needsInputGradient: true)
        #expect((0..<layer.weight.count).allSatisfy { layer.weight.gradient.pointer[$0] == 0 })
    }

    @Test(
        "With a rectified input, a channel 0 throughout gets input gradient 0, the others the same values",
        arguments: shapes.filter { $0.inChannels > 1 }, [1, 2])
    func rectifiedInput(shape: ConvolutionShape, threads: Int) {
        BLASRuntime.setThreads(threads)
        defer { BLASRuntime.setThreads(1) }
        let batch = 9
        let random = RandomGenerator(seed: 41)
        let plain = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0)
        let rectified = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0, rectifiedInput: true)
        _ = Oracle.randomize(plain.weight.value, random)
        _ = Oracle.randomize(plain.bias.value, random)
        rectified.weight.value.copy(from: plain.weight.value)
        rectified.bias.value.copy(from: plain.bias.value)
        let x = Tensor(maxBatch: batch, featureShape: shape.inputShape)
        _ = Oracle.randomize(x.buffer, random)
        let mapSize = shape.inHeight * shape.inWidth
        let dead: Set<Int> = [0, shape.inChannels - 1]
        for n in 0..<batch {
            for c in dead { for q in 0..<mapSize { x.pointer[(n * shape.inChannels + c) * mapSize + q] = 0 } }
        }
        let dy = Tensor(maxBatch: batch, featureShape: shape.outputShape)
        _ = Oracle.randomize(dy.buffer, random)
        _ = plain.forward(x, mode: .training, random: random)
        let full = plain.backward(dy, needsInputGradient: true)!.buffer.array
        _ = rectified.forward(x, mode: .training, random: random)
        let live = rectified.backward(dy, needsInputGradient: true)!.buffer.array
        // The live channels' input gradient is a product of another shape (fewer rows of Wᵀ). On
        // some OpenBLAS kernels (Haswell's sgemm) that rounds differently from the full product in
        // the last bits, on others (SkylakeX) not; so equal to 1e-5 of the largest value, and dead
        // channels exactly 0.
        let scale = full.map(abs).max() ?? 1
        var worst: Float = 0
        for i in 0..<(batch * shape.inputSize) {
            let channel = i / mapSize % shape.inChannels
            if dead.contains(channel) {
                #expect(live[i] == 0, "value \(i), channel \(channel)")
            } else {
                worst = max(worst, abs(live[i] - full[i]))
            }
        }
        #expect(worst <= 1e-5 * scale, "largest difference \(worst) of \(scale)")
        #expect(plain.weight.gradient.array == rectified.weight.gradient.array)
        #expect(plain.bias.gradient.array == rectified.bias.gradient.array)
    }

    @Test("Conv2D: weight, bias, input and L2 gradients", arguments: Array(shapes.prefix(4)))
    func convolutionGradients(shape: ConvolutionShape) {
        let batch = 2
        let random = RandomGenerator(seed: 32)
        let layer = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0.2)
        let w = Oracle.randomize(layer.weight.value, random)
        let b = Oracle.randomize(layer.bias.value, random)
        let x = Tensor(maxBatch: batch, featureShape: shape.inputShape)
        var xs = Oracle.randomize(x.buffer, random)
        if shape.inChannels > 1 {
            // Input channel 0 is 0 in every image: left out of the forward and weight-gradient products,
            // but its input gradient is still computed.
            let mapSize = shape.inHeight * shape.inWidth
            for n in 0..<batch {
                for q in 0..<mapSize {
                    x.pointer[n * shape.inChannels * mapSize + q] = 0
                    xs[n * shape.inChannels * mapSize + q] = 0
                }
            }
        }
        let r = Tensor(maxBatch: batch, featureShape: shape.outputShape)
        let rs = Oracle.randomize(r.buffer, random)
        func loss(_ x: [Double], _ w: [Double], _ b: [Double]) -> Double {
            Oracle.dot(Oracle.convolution(x, w, b, shape: shape, batch: batch), rs) + 0.1 * (Oracle.dot(w, w) + Oracle.dot(b, b))
        }
        _ = layer.forward(x, mode: .training, random: random)
        let dx = layer.backward(r, needsInputGradient: true)!
        _ = layer.accumulatePenalty()
        for i in 0..<w.count {
            #expect(Oracle.close(Double(layer.weight.gradient.pointer[i]), Oracle.derivative(of: { loss(xs, $0, b) }, at: w, index: i)))
        }
        for i in 0..<b.count {
            #expect(Oracle.close(Double(layer.bias.gradient.pointer[i]), Oracle.derivative(of: { loss(xs, w, $0) }, at: b, index: i)))
        }
        for i in 0..<xs.count {
            #expect(Oracle.close(Double(dx.pointer[i]), Oracle.derivative(of: { loss($0, w, b) }, at: xs, index: i)))
        }
        #expect(layer.backward(r, needsInputGradient: false) == nil)
    }

    @Test("The weight gradient summed over chunks of images (conv1's shape, batch 16) matches a Double sum", arguments: [1, 2])
    func splitWeightGradient(threads: Int) {
        BLASRuntime.setThreads(threads)
        defer { BLASRuntime.setThreads(1) }
        let shape = ConvolutionShape(inChannels: 1, outChannels: 20, kernel: 5, inHeight: 28, inWidth: 28)
        let batch = 16
        let random = RandomGenerator(seed: 34)
        let layer = Conv2D(name: "conv", shape: shape, maxBatch: batch, decay: 0)
        #expect(ConvolutionCore.chunks(forBatch: batch) == 4)
        _ = Oracle.randomize(layer.weight.value, random)
        let x = Tensor(maxBatch: batch, featureShape: shape.inputShape)
        let xs = Oracle.randomize(x.buffer, random)
        let dy = Tensor(maxBatch: batch, featureShape: shape.outputShape)
        let dys = Oracle.randomize(dy.buffer, random)
        _ = layer.forward(x, mode: .training, random: random)
        _ = layer.backward(dy, needsInputGradient: false)
        var worst = 0.0
        for o in 0..<20 {
            for i in 0..<5 {
                for j in 0..<5 {
                    var sum = 0.0
                    for b in 0..<batch {
                        for oh in 0..<24 {
                            for ow in 0..<24 {
                                sum += dys[((b * 20 + o) * 24 + oh) * 24 + ow] * xs[(b * 28 + oh + i) * 28 + ow + j]
                            }
                        }
                    }
                    let actual = Double(layer.weight.gradient.pointer[(o * 5 + i) * 5 + j])
                    worst = max(worst, abs(actual - sum) / max(1, abs(sum)))
                }
            }
        }
        #expect(worst < 1e-4)
    }

    @Test("Max pooling passes each window's gradient to its maximum")
    func pooling() {
        let (channels, height, width, batch) = (3, 6, 5, 2)  // width 5: the last column is dropped
        let random = RandomGenerator(seed: 33)
        let layer = MaxPool2D(name: "pool", inputShape: [channels, height, width], maxBatch: batch)
        #expect(layer.outputShape == [3, 3, 2])
        let x = Tensor(maxBatch: batch, featureShape: [channels, height, width])
        let xs = Oracle.randomize(x.buffer, random)
        let r = Tensor(maxBatch: batch, featureShape: layer.outputShape)
        let rs = Oracle.randomize(r.buffer, random)
        func pool(_ x: [Double]) -> [Double] {
            var y = [Double]()
            for map in 0..<(batch * channels) {
                for oh in 0..<3 {
                    for ow in 0..<2 {
                        var best = -Double.infinity
                        for i in 0..<2 { for j in 0..<2 { best = max(best, x[map * height * width + (2 * oh + i) * width + 2 * ow + j]) } }
                        y.append(best)
                    }
                }
            }
            return y
        }
        let y = layer.forward(x, mode: .training, random: random)
        #expect(y.buffer.array.prefix(y.count).map(Double.init) == pool(xs.map { Double(Float($0)) }))
        let dx = layer.backward(r, needsInputGradient: true)!
        for i in 0..<xs.count {
            #expect(Oracle.close(Double(dx.pointer[i]), Oracle.derivative(of: { Oracle.dot(pool($0), rs) }, at: xs, index: i)))
        }
    }
}

extension ConvolutionShape: CustomTestStringConvertible {
    public var testDescription: String {
        "\(inChannels)→\(outChannels) k\(kernel) s\(stride) p\(padding) \(inHeight)×\(inWidth)"
    }
}
