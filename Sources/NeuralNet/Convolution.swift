/// The geometry of a 2-D convolution over (channels, height, width) inputs.
public struct ConvolutionShape: Equatable, Sendable {
    public let inChannels: Int, outChannels: Int
    public let kernel: Int, stride: Int, padding: Int
    public let inHeight: Int, inWidth: Int
    public let outHeight: Int, outWidth: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, inHeight: Int, inWidth: Int) {
        precondition(inChannels > 0 && outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0, "bad convolution")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.inHeight = inHeight
        self.inWidth = inWidth
        outHeight = (inHeight + 2 * padding - kernel) / stride + 1
        outWidth = (inWidth + 2 * padding - kernel) / stride + 1
        precondition(outHeight > 0 && outWidth > 0, "kernel larger than the padded input")
    }

    /// Values in one receptive field: inChannels·kernel² (the group size of one filter).
    public var patch: Int { inChannels * kernel * kernel }
    /// Output positions per map: outHeight·outWidth.
    public var positions: Int { outHeight * outWidth }
    public var inputShape: [Int] { [inChannels, inHeight, inWidth] }
    /// Multiply-adds of one example's forward product: Cout·positions·patch.
    public var forwardProductFlopsPerExample: Double { Double(outChannels * positions * patch) }
    public var outputShape: [Int] { [outChannels, outHeight, outWidth] }
}

/// One multiplicative gate per output map, applied inside the convolution while an image's output is
/// still in cache: forward, gated[b, c] = z·o[b, c]; backward, d(o)[b, c] = z·dy[b, c], with the
/// products Σ_q dy·o per image and map that the gate's own gradient needs.
public struct ConvolutionGating {
    /// z: (outChannels), or (batch, outChannels) when `perExample`.
    public let values: UnsafePointer<Float>
    public let perExample: Bool
    /// Forward: where z·o goes. Backward: the pre-gate output o.
    public let maps: UnsafeMutablePointer<Float>
    /// Backward: Σ_q dy[b, c, q]·o[b, c, q], (batch, outChannels).
    public let products: UnsafeMutablePointer<Float>?

    public init(values: UnsafePointer<Float>, perExample: Bool, maps: UnsafeMutablePointer<Float>, products: UnsafeMutablePointer<Float>? = nil) {
        (self.values, self.perExample, self.maps, self.products) = (values, perExample, maps, products)
    }
}

/// The arithmetic of a convolution, shared by the plain and the gated layer. Images are unfolded one at
/// a time (im2col) into a scratch that stays in cache, and each is a few small matrix products.
///
/// The batch is cut into at most `maxChunks` chunks of consecutive images, fixed by the batch size
/// alone; one thread takes a chunk, and the weight and bias gradients are summed per chunk and then
/// over chunks in order, so results do not depend on the thread count.
///
/// Shapes: input (batch, Cin, H, W); weight (Cout, Cin, k, k) = (Cout, patch); bias (Cout);
/// output (batch, Cout, Hout, Wout); an image's columns (patch, positions).
public final class ConvolutionCore {
    public let shape: ConvolutionShape
    public let maxBatch: Int
    /// The most chunks a batch is cut into.
    public static let maxChunks = 4
    let columns: FloatBuffer  // (chunks, patch, positions)
    let columnGradients: FloatBuffer  // (chunks, patch, positions)
    let weightGradients: FloatBuffer  // (chunks, Cout, patch)
    let biasGradients: FloatBuffer  // (chunks, Cout)
    let gatedGradients: FloatBuffer  // (chunks, Cout, positions): z·dy of one image

    public init(shape: ConvolutionShape, maxBatch: Int) {
        self.shape = shape
        self.maxBatch = maxBatch
        let chunks = Self.maxChunks
        columns = FloatBuffer(count: chunks * shape.patch * shape.positions)
        columnGradients = FloatBuffer(count: chunks * shape.patch * shape.positions)
        weightGradients = FloatBuffer(count: chunks * shape.outChannels * shape.patch)
        biasGradients = FloatBuffer(count: chunks * shape.outChannels)
        gatedGradients = FloatBuffer(count: chunks * shape.outChannels * shape.positions)
    }

    /// The number of chunks a batch of `batch` images is cut into.
    public static func chunks(forBatch batch: Int) -> Int { max(1, min(maxChunks, batch)) }

    /// output = weight ∗ input + bias for `batch` examples, and with `gating`, gating.maps = z·output.
    public func forward(
        input: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, gating: ConvolutionGating? = nil
    ) {
        var job = Job(
            core: self, batch: batch, input: input, weight: weight, bias: bias, output: output, outputGradient: nil,
            inputGradient: nil, gating: gating, threads: min(Self.chunks(forBatch: batch), WorkerPool.shared.width))
        WorkerPool.shared.run(parts: job.threads, with: &job) { raw, part in
            let job = raw.assumingMemoryBound(to: Job.self).pointee
            for chunk in stride(from: part, to: job.chunks, by: job.threads) { job.forward(chunk: chunk) }
        }
    }

    /// From d(output): dW = Σ_b d(output)_b·columns_bᵀ, db = Σ_b Σ_q d(output)_b, and when
    /// `inputGradient` is given, d(input)_b = fold(Wᵀ·d(output)_b) (col2im). With `gating`, the
    /// gradient given is that of the gated maps: d(output) = z·dy, and gating.products gets Σ_q dy·o.
    public func backward(
        input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, gating: ConvolutionGating? = nil
    ) {
        var job = Job(
            core: self, batch: batch, input: input, weight: weight, bias: biasGradient, output: nil,
            outputGradient: outputGradient, inputGradient: inputGradient, gating: gating,
            threads: min(Self.chunks(forBatch: batch), WorkerPool.shared.width))
        WorkerPool.shared.run(parts: job.threads, with: &job) { raw, part in
            let job = raw.assumingMemoryBound(to: Job.self).pointee
            for chunk in stride(from: part, to: job.chunks, by: job.threads) { job.backward(chunk: chunk) }
        }
        // Sum the chunks' partial gradients in chunk order.
        let (weights, chunks) = (shape.outChannels * shape.patch, job.chunks)
        weightGradient.update(from: weightGradients.pointer, count: weights)
        biasGradient.update(from: biasGradients.pointer, count: shape.outChannels)
        for chunk in 1..<chunks {
            VectorMath.add(weightGradients.pointer + chunk * weights, to: weightGradient, count: weights)
            VectorMath.add(biasGradients.pointer + chunk * shape.outChannels, to: biasGradient, count: shape.outChannels)
        }
    }

    /// One chunk of images, over pointers only.
    struct Job {
        let shape: ConvolutionShape
        let batch: Int, chunks: Int, threads: Int
        let input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>?
        let outputGradient: UnsafePointer<Float>?, inputGradient: UnsafeMutablePointer<Float>?
        let columns: UnsafeMutablePointer<Float>, columnGradients: UnsafeMutablePointer<Float>
        let weightGradients: UnsafeMutablePointer<Float>, biasGradients: UnsafeMutablePointer<Float>
        let gatedGradients: UnsafeMutablePointer<Float>
        let gating: ConvolutionGating?

        init(
            core: ConvolutionCore, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
            bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>?, outputGradient: UnsafePointer<Float>?,
            inputGradient: UnsafeMutablePointer<Float>?, gating: ConvolutionGating?, threads: Int
        ) {
            (gatedGradients, self.gating) = (core.gatedGradients.pointer, gating)
            (shape, self.batch, chunks, self.threads) = (core.shape, batch, ConvolutionCore.chunks(forBatch: batch), threads)
            (self.input, self.weight, self.bias, self.output) = (input, weight, bias, output)
            (self.outputGradient, self.inputGradient) = (outputGradient, inputGradient)
            (columns, columnGradients) = (core.columns.pointer, core.columnGradients.pointer)
            (weightGradients, biasGradients) = (core.weightGradients.pointer, core.biasGradients.pointer)
        }

        /// The images of chunk `chunk`: consecutive, as even as possible.
        func images(of chunk: Int) -> Range<Int> {
            (chunk * batch / chunks)..<((chunk + 1) * batch / chunks)
        }

        var imageSize: Int { shape.inChannels * shape.inHeight * shape.inWidth }
        var outputSize: Int { shape.outChannels * shape.positions }

        func forward(chunk: Int) {
            guard let output else { return }
            let (p, patch) = (shape.positions, shape.patch)
            let cols = columns + chunk * patch * p
            for b in images(of: chunk) {
                unfold(input + b * imageSize, into: cols)
                let y = output + b * outputSize
                for c in 0..<shape.outChannels { (y + c * p).update(repeating: bias[c], count: p) }
                Gemm.serial(
                    transposeA: false, transposeB: false, m: shape.outChannels, n: p, k: patch, alpha: 1, a: weight,
                    lda: patch, b: cols, ldb: p, beta: 1, c: y, ldc: p)
                if let gating {
                    let gated = gating.maps + b * outputSize
                    let z = gating.values + (gating.perExample ? b * shape.outChannels : 0)
                    for c in 0..<shape.outChannels { VectorMath.scale(y + c * p, by: z[c], into: gated + c * p, count: p) }
                }
            }
        }

        func backward(chunk: Int) {
            guard let outputGradient else { return }
            let (p, patch, outChannels) = (shape.positions, shape.patch, shape.outChannels)
            let cols = columns + chunk * patch * p
            let dcols = columnGradients + chunk * patch * p
            let dw = weightGradients + chunk * outChannels * patch
            let db = biasGradients + chunk * outChannels
            dw.update(repeating: 0, count: outChannels * patch)
            db.update(repeating: 0, count: outChannels)
            for b in images(of: chunk) {
                var dy = outputGradient + b * outputSize
                if let gating {
                    // d(o) = z·dy, and the gate's Σ_q dy·o, while this image's maps are in cache.
                    let z = gating.values + (gating.perExample ? b * outChannels : 0)
                    let (o, scaled) = (gating.maps + b * outputSize, gatedGradients + chunk * outChannels * p)
                    for c in 0..<outChannels {
                        gating.products?[b * outChannels + c] = VectorMath.dot(dy + c * p, o + c * p, count: p)
                        VectorMath.scale(dy + c * p, by: z[c], into: scaled + c * p, count: p)
                    }
                    dy = UnsafePointer(scaled)
                }
                unfold(input + b * imageSize, into: cols)
                Gemm.serial(
                    transposeA: false, transposeB: true, m: outChannels, n: patch, k: p, alpha: 1, a: dy, lda: p,
                    b: cols, ldb: p, beta: 1, c: dw, ldc: patch)
                for c in 0..<outChannels {
                    var sum: Float = 0
                    for q in 0..<p { sum += dy[c * p + q] }
                    db[c] += sum
                }
                guard let inputGradient else { continue }
                Gemm.serial(
                    transposeA: true, transposeB: false, m: patch, n: p, k: outChannels, alpha: 1, a: weight, lda: patch,
                    b: dy, ldb: p, beta: 0, c: dcols, ldc: p)
                fold(dcols, into: inputGradient + b * imageSize)
            }
        }

        /// For stride 1 and kernel column j: the output columns ow in first..<end whose input column
        /// ow − pad + j lies inside the image.
        @inline(__always) func validColumns(offset j: Int) -> (first: Int, end: Int) {
            (max(0, shape.padding - j), min(shape.outWidth, shape.inWidth + shape.padding - j))
        }

        /// For an unpadded stride-1 convolution, where every receptive field lies inside the image: calls
        /// `body(image offset, columns offset)` for each row of outWidth values, in (c, i, j, oh) order.
        @inline(__always) func forEachInteriorRow(_ body: (Int, Int) -> Void) {
            let s = shape
            var row = 0
            for c in 0..<s.inChannels {
                for i in 0..<s.kernel {
                    for j in 0..<s.kernel {
                        var at = (c * s.inHeight + i) * s.inWidth + j
                        for _ in 0..<s.outHeight {
                            body(at, row)
                            at += s.inWidth
                            row += s.outWidth
                        }
                    }
                }
            }
        }

        /// columns[(c, i, j), (oh, ow)] = x[c, oh·s − pad + i, ow·s − pad + j], 0 outside.
        func unfold(_ x: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>) {
            let s = shape
            if s.stride == 1 && s.padding == 0 {
                forEachInteriorRow { copyRow(from: x + $0, to: columns + $1, count: s.outWidth) }
                return
            }
            for c in 0..<s.inChannels {
                for i in 0..<s.kernel {
                    for j in 0..<s.kernel {
                        let row = columns + ((c * s.kernel + i) * s.kernel + j) * s.positions
                        let (first, end) = validColumns(offset: j)
                        for oh in 0..<s.outHeight {
                            let ih = oh * s.stride - s.padding + i
                            let out = row + oh * s.outWidth
                            guard ih >= 0 && ih < s.inHeight else {
                                for ow in 0..<s.outWidth { out[ow] = 0 }
                                continue
                            }
                            let source = x + (c * s.inHeight + ih) * s.inWidth
                            if s.stride == 1 {
                                let shifted = source - s.padding + j
                                if first == 0 && end == s.outWidth {
                                    copyRow(from: shifted, to: out, count: s.outWidth)
                                } else {
                                    for ow in 0..<s.outWidth { out[ow] = ow >= first && ow < end ? shifted[ow] : 0 }
                                }
                            } else {
                                for ow in 0..<s.outWidth {
                                    let iw = ow * s.stride - s.padding + j
                                    out[ow] = iw >= 0 && iw < s.inWidth ? source[iw] : 0
                                }
                            }
                        }
                    }
                }
            }
        }

        /// Copies a short row, eight floats at a time.
        @inline(__always) func copyRow(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
            var k = 0
            while k + 8 <= count {
                UnsafeMutableRawPointer(target + k).storeBytes(
                    of: UnsafeRawPointer(source + k).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
                k += 8
            }
            while k < count {
                target[k] = source[k]
                k += 1
            }
        }

        /// dx = Σ over receptive fields of d(columns) (col2im).
        func fold(_ columns: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
            let s = shape
            dx.update(repeating: 0, count: imageSize)
            if s.stride == 1 && s.padding == 0 {
                // The same sums in the same order as below, without the bounds checks.
                forEachInteriorRow { VectorMath.add(columns + $1, to: dx + $0, count: s.outWidth) }
                return
            }
            for c in 0..<s.inChannels {
                for i in 0..<s.kernel {
                    for j in 0..<s.kernel {
                        let row = columns + ((c * s.kernel + i) * s.kernel + j) * s.positions
                        let (first, end) = validColumns(offset: j)
                        for oh in 0..<s.outHeight {
                            let ih = oh * s.stride - s.padding + i
                            guard ih >= 0 && ih < s.inHeight else { continue }
                            let target = dx + (c * s.inHeight + ih) * s.inWidth
                            let source = row + oh * s.outWidth
                            if s.stride == 1 {
                                let shifted = target - s.padding + j
                                for ow in first..<max(first, end) { shifted[ow] += source[ow] }
                            } else {
                                for ow in 0..<s.outWidth {
                                    let iw = ow * s.stride - s.padding + j
                                    if iw >= 0 && iw < s.inWidth { target[iw] += source[ow] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The direct convolution, output[b, o, oh, ow] = bias[o] + Σ_{c,i,j} w[o, c, i, j]·x[b, c, ·, ·],
    /// accumulated in Double: the reference the tests compare `forward` against.
    public static func naiveForward(
        shape s: ConvolutionShape, input x: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        for b in 0..<batch {
            for o in 0..<s.outChannels {
                for oh in 0..<s.outHeight {
                    for ow in 0..<s.outWidth {
                        var sum = Double(bias[o])
                        for c in 0..<s.inChannels {
                            for i in 0..<s.kernel {
                                for j in 0..<s.kernel {
                                    let (ih, iw) = (oh * s.stride - s.padding + i, ow * s.stride - s.padding + j)
                                    guard ih >= 0 && ih < s.inHeight && iw >= 0 && iw < s.inWidth else { continue }
                                    sum += Double(w[((o * s.inChannels + c) * s.kernel + i) * s.kernel + j])
                                        * Double(x[((b * s.inChannels + c) * s.inHeight + ih) * s.inWidth + iw])
                                }
                            }
                        }
                        y[((b * s.outChannels + o) * s.outHeight + oh) * s.outWidth + ow] = Float(sum)
                    }
                }
            }
        }
    }
}
