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
    public var outputShape: [Int] { [outChannels, outHeight, outWidth] }
}

/// The arithmetic of a convolution, shared by the plain and the gated layer: the whole batch is unfolded
/// into columns (im2col), so that forward and backward are three large matrix products.
///
/// Shapes: input (batch, Cin, H, W); weight (Cout, Cin, k, k) = (Cout, patch); bias (Cout);
/// output (batch, Cout, Hout, Wout); columns (patch, batch·positions), column j = b·positions + q.
public final class ConvolutionCore {
    public let shape: ConvolutionShape
    public let maxBatch: Int
    let columns: FloatBuffer  // (patch, maxBatch·positions)
    let product: FloatBuffer  // (Cout, maxBatch·positions): W·columns, then its gradient
    let columnGradient: FloatBuffer  // (patch, maxBatch·positions)
    /// Pieces of the weight gradient's long inner dimension, when its output is too small to split:
    /// partial products go to `partialWeightGradients` and are summed in order.
    let weightGradientPieces: Int
    /// How many pieces the weight gradient is split into (1: one product).
    public var weightGradientPieceCount: Int { weightGradientPieces }
    let partialWeightGradients: FloatBuffer  // (pieces, Cout, patch)

    public init(shape: ConvolutionShape, maxBatch: Int) {
        self.shape = shape
        self.maxBatch = maxBatch
        columns = FloatBuffer(count: shape.patch * maxBatch * shape.positions)
        product = FloatBuffer(count: shape.outChannels * maxBatch * shape.positions)
        columnGradient = FloatBuffer(count: shape.patch * maxBatch * shape.positions)
        let smallOutput = max(shape.outChannels, shape.patch) < 128
        weightGradientPieces = smallOutput ? max(1, min(4, maxBatch * shape.positions / 4096)) : 1
        partialWeightGradients = FloatBuffer(count: weightGradientPieces > 1 ? weightGradientPieces * shape.outChannels * shape.patch : 0)
    }

    /// output = weight ∗ input + bias for `batch` examples.
    public func forward(
        input: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        var job = Job(core: self, batch: batch, image: UnsafeMutablePointer(mutating: input), other: output, bias: bias)
        WorkerPool.shared.runRanges(batch, minimum: 1, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.unfold(images: from..<to)
        }
        let columnsCount = batch * shape.positions
        Gemm.fast(
            transposeA: false, transposeB: false, m: shape.outChannels, n: columnsCount, k: shape.patch, alpha: 1,
            a: weight, lda: shape.patch, b: columns.pointer, ldb: columnsCount, beta: 0, c: product.pointer,
            ldc: columnsCount)
        WorkerPool.shared.runRanges(batch, minimum: 1, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.productToOutput(images: from..<to)
        }
    }

    /// From d(output): dW = d(product)·columnsᵀ, db = row sums of d(product), and when `inputGradient`
    /// is given, d(columns) = Wᵀ·d(product) folded back into d(input) (col2im). Uses the columns of
    /// the last `forward`, which must have had the same batch.
    public func backward(
        outputGradient: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?
    ) {
        var job = Job(
            core: self, batch: batch, image: inputGradient ?? product.pointer,
            other: UnsafeMutablePointer(mutating: outputGradient), bias: biasGradient)
        WorkerPool.shared.runRanges(batch, minimum: 1, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.outputGradientToProduct(images: from..<to)
        }
        let columnsCount = batch * shape.positions
        if weightGradientPieces > 1 {
            // dW = Σ_pieces d(product)[:, piece]·columns[:, piece]ᵀ, pieces fixed by shape and batch.
            var pieces = WeightGradientPieces(
                core: self, columnsCount: columnsCount, pieces: weightGradientPieces,
                threads: min(weightGradientPieces, WorkerPool.shared.width), output: weightGradient)
            WorkerPool.shared.run(parts: pieces.threads, with: &pieces) { raw, part in
                let job = raw.assumingMemoryBound(to: WeightGradientPieces.self).pointee
                for piece in stride(from: part, to: job.pieces, by: job.threads) { job.multiply(piece: piece) }
            }
            pieces.sum()
        } else {
            Gemm.fast(
                transposeA: false, transposeB: true, m: shape.outChannels, n: shape.patch, k: columnsCount, alpha: 1,
                a: product.pointer, lda: columnsCount, b: columns.pointer, ldb: columnsCount, beta: 0, c: weightGradient,
                ldc: shape.patch)
        }
        WorkerPool.shared.runRanges(shape.outChannels, minimum: 1, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.biasGradient(channels: from..<to)
        }
        guard inputGradient != nil else { return }
        Gemm.fast(
            transposeA: true, transposeB: false, m: shape.patch, n: columnsCount, k: shape.outChannels, alpha: 1,
            a: weight, lda: shape.patch, b: product.pointer, ldb: columnsCount, beta: 0, c: columnGradient.pointer,
            ldc: columnsCount)
        WorkerPool.shared.runRanges(batch, minimum: 1, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.fold(images: from..<to)
        }
    }

    /// The weight gradient split along its inner dimension (batch·positions) into fixed pieces.
    struct WeightGradientPieces {
        let outChannels: Int, patch: Int, columnsCount: Int, pieces: Int, threads: Int
        let product: UnsafeMutablePointer<Float>, columns: UnsafeMutablePointer<Float>
        let partials: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>

        init(core: ConvolutionCore, columnsCount: Int, pieces: Int, threads: Int, output: UnsafeMutablePointer<Float>) {
            (outChannels, patch, self.columnsCount, self.pieces) = (core.shape.outChannels, core.shape.patch, columnsCount, pieces)
            self.threads = threads
            (product, columns, partials, self.output) = (core.product.pointer, core.columns.pointer, core.partialWeightGradients.pointer, output)
        }

        var pieceLength: Int { (columnsCount + pieces - 1) / pieces }

        func multiply(piece: Int) {
            let start = piece * pieceLength
            let length = max(0, min(pieceLength, columnsCount - start))
            Gemm.serial(
                transposeA: false, transposeB: true, m: outChannels, n: patch, k: length, alpha: 1, a: product + start,
                lda: columnsCount, b: columns + start, ldb: columnsCount, beta: 0, c: partials + piece * outChannels * patch,
                ldc: patch)
        }

        func sum() {
            let count = outChannels * patch
            output.update(from: partials, count: count)
            for piece in 1..<pieces { VectorMath.add(partials + piece * count, to: output, count: count) }
        }
    }

    /// The per-image loops, over pointers only. `image` is the input (forward) or the input gradient
    /// (backward); `other` is the output (forward) or the output gradient (backward); `bias` is the
    /// bias (forward) or where the bias gradient goes (backward).
    struct Job {
        let shape: ConvolutionShape
        let batch: Int
        let image: UnsafeMutablePointer<Float>, other: UnsafeMutablePointer<Float>
        let bias: UnsafePointer<Float>
        let columns: UnsafeMutablePointer<Float>, product: UnsafeMutablePointer<Float>
        let columnGradient: UnsafeMutablePointer<Float>

        init(core: ConvolutionCore, batch: Int, image: UnsafeMutablePointer<Float>, other: UnsafeMutablePointer<Float>,
             bias: UnsafePointer<Float>) {
            (shape, self.batch, self.image, self.other, self.bias) = (core.shape, batch, image, other, bias)
            (columns, product, columnGradient) = (core.columns.pointer, core.product.pointer, core.columnGradient.pointer)
        }

        /// columns[(c, i, j), b·P + (oh, ow)] = x[b, c, oh·s − pad + i, ow·s − pad + j], 0 outside.
        func unfold(images: Range<Int>) {
            let s = shape
            let width = batch * s.positions
            for b in images {
                let x = image + b * s.inChannels * s.inHeight * s.inWidth
                for c in 0..<s.inChannels {
                    for i in 0..<s.kernel {
                        for j in 0..<s.kernel {
                            let row = columns + ((c * s.kernel + i) * s.kernel + j) * width + b * s.positions
                            for oh in 0..<s.outHeight {
                                let ih = oh * s.stride - s.padding + i
                                let out = row + oh * s.outWidth
                                guard ih >= 0 && ih < s.inHeight else {
                                    out.update(repeating: 0, count: s.outWidth)
                                    continue
                                }
                                let source = x + (c * s.inHeight + ih) * s.inWidth
                                if s.stride == 1 {
                                    // One contiguous run: iw = ow − pad + j, zero where it falls outside.
                                    let (first, end) = validColumns(offset: j)
                                    let shifted = source - s.padding + j
                                    for ow in 0..<s.outWidth { out[ow] = ow >= first && ow < end ? shifted[ow] : 0 }
                                    continue
                                }
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

        /// For stride 1 and kernel column j: the output columns ow in first..<end whose input column
        /// ow − pad + j lies inside the image.
        @inline(__always) func validColumns(offset j: Int) -> (first: Int, end: Int) {
            let first = max(0, shape.padding - j)
            let end = min(shape.outWidth, shape.inWidth + shape.padding - j)
            return (first, end)
        }

        /// output[b, c, q] = product[c, b·P + q] + bias[c].
        func productToOutput(images: Range<Int>) {
            let (p, width) = (shape.positions, batch * shape.positions)
            for b in images {
                for c in 0..<shape.outChannels {
                    let from = product + c * width + b * p
                    let to = other + (b * shape.outChannels + c) * p
                    let offset = bias[c]
                    for q in 0..<p { to[q] = from[q] + offset }
                }
            }
        }

        /// product[c, b·P + q] = d(output)[b, c, q].
        func outputGradientToProduct(images: Range<Int>) {
            let (p, width) = (shape.positions, batch * shape.positions)
            for b in images {
                for c in 0..<shape.outChannels {
                    (product + c * width + b * p).update(from: other + (b * shape.outChannels + c) * p, count: p)
                }
            }
        }

        /// db[c] = Σ_j product[c, j], summed in order.
        func biasGradient(channels: Range<Int>) {
            let width = batch * shape.positions
            let db = UnsafeMutablePointer(mutating: bias)
            for c in channels {
                var sum: Float = 0
                let row = product + c * width
                for j in 0..<width { sum += row[j] }
                db[c] = sum
            }
        }

        /// d(input)[b] = Σ over receptive fields of d(columns) (col2im), image by image.
        func fold(images: Range<Int>) {
            let s = shape
            let width = batch * s.positions
            for b in images {
                let dx = image + b * s.inChannels * s.inHeight * s.inWidth
                dx.update(repeating: 0, count: s.inChannels * s.inHeight * s.inWidth)
                for c in 0..<s.inChannels {
                    for i in 0..<s.kernel {
                        for j in 0..<s.kernel {
                            let row = columnGradient + ((c * s.kernel + i) * s.kernel + j) * width + b * s.positions
                            for oh in 0..<s.outHeight {
                                let ih = oh * s.stride - s.padding + i
                                guard ih >= 0 && ih < s.inHeight else { continue }
                                let target = dx + (c * s.inHeight + ih) * s.inWidth
                                let source = row + oh * s.outWidth
                                if s.stride == 1 {
                                    let (first, end) = validColumns(offset: j)
                                    let shifted = target - s.padding + j
                                    for ow in first..<max(first, end) { shifted[ow] += source[ow] }
                                    continue
                                }
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
