import CKernels

/// The arithmetic of a convolution, shared by the plain and the scaled layer.
///
/// The batch is cut into at most `maxChunks` chunks of consecutive images, fixed by the batch size
/// alone; one thread takes a chunk, and the weight and bias gradients are summed per chunk and then
/// over chunks in order, so results do not depend on the thread count. A chunk is worked in blocks of
/// a few images (about `blockColumns` output positions, fixed by the shape and the batch size): the
/// block's images are unfolded side by side (im2col) into the chunk's own block of columns, and each
/// product covers the whole block, so that OpenBLAS packs the weights once per block, not per image.
/// The backward unfolds each block again for its weight gradient rather than keeping the forward's
/// columns: the same values, so the same results, with columns that stay in cache (a batch's columns
/// were out of cache by the time the backward read them: LeNet-5's epochs took 13–20 % longer)
/// and a footprint that does not grow with the batch (for 3×3 convolutions of 160–640 channels on
/// 128 CIFAR images, a few MB instead of about 10 GB).
///
/// Shapes: input (batch, Cin, H, W); weight (Cout, Cin, k, k) = (Cout, patch); bias (Cout);
/// output (batch, Cout, Hout, Wout); a block's columns (live inputs·k², images·positions), image i's
/// positions at columns i·positions..<(i + 1)·positions.
public final class ConvolutionCore {
    public let shape: ConvolutionShape
    /// The most chunks a batch is cut into.
    public static let maxChunks = 4
    /// The output positions a block of images aims at (one image when a map has more).
    public static let blockColumns = 256
    /// The most images in a block.
    public let blockImages: Int
    let columns: FloatBuffer  // (chunks, patch, block columns): a chunk's block, unfolded
    let columnGradients: FloatBuffer  // (chunks, patch, block columns)
    let blockMaps: FloatBuffer  // (chunks, Cout, block columns): a block's outputs, or z·dy in backward
    let weightGradients: FloatBuffer  // (chunks, Cout, patch)
    let openWeightGradients: FloatBuffer  // (chunks, Cout, patch): the open maps' rows of dW
    let biasGradients: FloatBuffer  // (chunks, Cout)
    let openWeights: FloatBuffer  // (Cout, patch): the open maps' filters, in order
    let rowOfMap: UnsafeMutablePointer<Int>  // (Cout): a map's row among the open ones, or −1
    let inputChannels: UnsafeMutablePointer<Int>  // (2·Cin): the live input channels, then every channel
    var liveInputCount = 0  // how many of `inputChannels` the last forward unfolded
    let liveWeights: FloatBuffer  // (Cout, patch): the open filters' taps on the live inputs
    /// Whether the input is a ReLU's output (as after a convolution with `ConvolutionPooling`): then an
    /// input channel that is 0 in the whole batch gets input gradient 0 without computing it, since
    /// the ReLU passes no gradient back where its output is 0.
    public let rectifiedInput: Bool

    /// Bytes of the unfolded columns a core of `shape` holds, whatever the batch.
    public static func columnBytes(shape: ConvolutionShape) -> Int {
        4 * maxChunks * max(1, blockColumns / shape.positions) * shape.patch * shape.positions
    }

    /// A core for batches of any size: its scratch is per chunk and block, not per image.
    public init(shape: ConvolutionShape, rectifiedInput: Bool = false) {
        self.shape = shape
        self.rectifiedInput = rectifiedInput
        blockImages = max(1, Self.blockColumns / shape.positions)
        let (chunks, width, weights) = (Self.maxChunks, blockImages * shape.positions, shape.outChannels * shape.patch)
        columns = FloatBuffer(count: Self.columnBytes(shape: shape) / 4)
        columnGradients = FloatBuffer(count: chunks * shape.patch * width)
        blockMaps = FloatBuffer(count: chunks * shape.outChannels * width)
        weightGradients = FloatBuffer(count: chunks * weights)
        openWeightGradients = FloatBuffer(count: chunks * weights)
        biasGradients = FloatBuffer(count: chunks * shape.outChannels)
        openWeights = FloatBuffer(count: weights)
        rowOfMap = .allocate(capacity: shape.outChannels)
        rowOfMap.initialize(repeating: 0, count: shape.outChannels)
        inputChannels = .allocate(capacity: 2 * shape.inChannels)
        for c in 0..<shape.inChannels { (inputChannels[c], inputChannels[shape.inChannels + c]) = (c, c) }
        liveWeights = FloatBuffer(count: weights)
    }

    deinit {
        rowOfMap.deallocate()
        inputChannels.deallocate()
    }

    /// The number of chunks a batch of `batch` images is cut into.
    public static func chunks(forBatch batch: Int) -> Int { max(1, min(maxChunks, batch)) }

    /// With one scale per map shared by the batch, a zero scale (z = 0) makes its map 0 whatever the
    /// filter, and passes no gradient to the filter, the input or its own scale:
    /// such maps are left out of every product. Fills `rowOfMap` and, when some map is closed, copies
    /// the open filters to `openWeights`; returns the filters to multiply by and their number.
    func openMaps(weight: UnsafePointer<Float>, scale: MapScale?) -> (UnsafePointer<Float>, Int) {
        let (channels, patch) = (shape.outChannels, shape.patch)
        guard let scale, !scale.perExample else {
            for c in 0..<channels { rowOfMap[c] = c }
            return (weight, channels)
        }
        var open = 0
        for c in 0..<channels {
            rowOfMap[c] = scale.values[c] == 0 ? -1 : open
            if scale.values[c] != 0 { open += 1 }
        }
        guard open < channels else { return (weight, channels) }
        for c in 0..<channels where rowOfMap[c] >= 0 {
            (openWeights.pointer + rowOfMap[c] * patch).update(from: weight + c * patch, count: patch)
        }
        return (UnsafePointer(openWeights.pointer), open)
    }

    /// An input channel that is 0 in every image of the batch (behind a zero scale of the layer
    /// before, or a ReLU that is off everywhere) adds nothing to the output or to the weight
    /// gradient: its rows of the columns are left out of those products. (Its input gradient is still
    /// computed, unless `rectifiedInput`.) Lists the live channels first in `inputChannels` and, when some are not, copies the
    /// filters' taps on them to `liveWeights`; returns the filters to multiply by and their row length.
    func liveInputs(input: UnsafePointer<Float>, batch: Int, filters: UnsafePointer<Float>, open: Int) -> (UnsafePointer<Float>, Int) {
        let (channels, mapSize, taps) = (shape.inChannels, shape.inHeight * shape.inWidth, shape.kernel * shape.kernel)
        let imageSize = channels * mapSize
        liveInputCount = 0
        for c in 0..<channels {
            let live =
                channels == 1
                || (0..<batch).contains { b in
                    let map = input + b * imageSize + c * mapSize
                    return (0..<mapSize).contains { map[$0] != 0 }
                }
            if live {
                inputChannels[liveInputCount] = c
                liveInputCount += 1
            }
        }
        let live = liveInputCount * taps
        guard liveInputCount < channels else { return (filters, shape.patch) }
        for row in 0..<open {
            for n in 0..<liveInputCount {
                (liveWeights.pointer + row * live + n * taps).update(from: filters + row * shape.patch + inputChannels[n] * taps, count: taps)
            }
        }
        return (UnsafePointer(liveWeights.pointer), live)
    }

    /// output = weight ∗ input + bias for `batch` examples, and with `scale`, scale.maps = z·output.
    /// With shared scales, a zero scale's map is 0 in both (`openMaps`). With `pooling`, neither is
    /// written: pooling.output = max(0, maxpool(z·output)) instead.
    public func forward(
        input: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>?, scale: MapScale? = nil, pooling: ConvolutionPooling? = nil
    ) {
        precondition(output != nil || pooling != nil, "a convolution needs somewhere to write")
        let (filters, open) = openMaps(weight: weight, scale: scale)
        let (liveFilters, live) = liveInputs(input: input, batch: batch, filters: filters, open: open)
        var job = Job(
            core: self, batch: batch, input: input, weight: filters, open: open, liveWeight: liveFilters, live: live,
            bias: bias, output: output,
            outputGradient: nil, inputGradient: nil, scale: scale, pooling: pooling,
            threads: min(Self.chunks(forBatch: batch), WorkerPool.shared.width))
        WorkerPool.shared.run(parts: job.threads, with: &job) { raw, part in
            let job = raw.assumingMemoryBound(to: Job.self).pointee
            for chunk in job.chunks(of: part) { job.forwardChunk(chunk) }
        }
    }

    /// From d(output): dW = Σ_b d(output)_b·columns_bᵀ, db = Σ_b Σ_q d(output)_b, and when
    /// `inputGradient` is given, d(input)_b = fold(Wᵀ·d(output)_b) (col2im). With `scale`, the
    /// gradient given is that of the scaled maps: d(output) = z·dy, and scale.products gets Σ_q dy·o
    /// (0 for a zero shared scale). With `pooling` (as in `forward`), the gradient given is that of
    /// pooling.output, and scale.maps is not read. Unfolds the input again with the live channels
    /// the last `forward` found: call it after the forward of the same batch. With
    /// `rectifiedInput`, only the live channels' input gradient is computed; a channel that was 0
    /// throughout gets 0.
    public func backward(
        input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, batch: Int, weight: UnsafePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
        inputGradient: UnsafeMutablePointer<Float>?, scale: MapScale? = nil, pooling: ConvolutionPooling? = nil
    ) {
        let (filters, open) = openMaps(weight: weight, scale: scale)
        // The columns (and so the live inputs, and their taps in `liveWeights` when some channel is
        // not live) are the last forward's; the input gradient takes every channel's taps, or with a
        // rectified input the live channels' (`Job.liveInputGradient`).
        let live = liveInputCount * shape.kernel * shape.kernel
        var job = Job(
            core: self, batch: batch, input: input, weight: filters, open: open,
            liveWeight: live < shape.patch ? UnsafePointer(liveWeights.pointer) : filters,
            live: live, bias: biasGradient, output: nil,
            outputGradient: outputGradient, inputGradient: inputGradient, scale: scale, pooling: pooling,
            threads: min(Self.chunks(forBatch: batch), WorkerPool.shared.width))
        WorkerPool.shared.run(parts: job.threads, with: &job) { raw, part in
            let job = raw.assumingMemoryBound(to: Job.self).pointee
            for chunk in job.chunks(of: part) { job.backwardChunk(chunk) }
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
        let batch: Int, chunks: Int, threads: Int, blockImages: Int
        let input: UnsafePointer<Float>, bias: UnsafePointer<Float>
        /// The open maps' filters (open, patch), and map c's row among them (−1 when closed).
        let weight: UnsafePointer<Float>, open: Int, rowOfMap: UnsafePointer<Int>
        /// The open filters' taps on the live input channels (open, live), the live channels first
        /// in `inputChannels`, then every channel.
        let liveWeight: UnsafePointer<Float>, live: Int, inputChannels: UnsafePointer<Int>
        let output: UnsafeMutablePointer<Float>?
        let outputGradient: UnsafePointer<Float>?, inputGradient: UnsafeMutablePointer<Float>?
        let columns: UnsafeMutablePointer<Float>, columnGradients: UnsafeMutablePointer<Float>
        let blockMaps: UnsafeMutablePointer<Float>
        let weightGradients: UnsafeMutablePointer<Float>, openWeightGradients: UnsafeMutablePointer<Float>
        let biasGradients: UnsafeMutablePointer<Float>
        let scale: MapScale?
        let pooling: ConvolutionPooling?
        /// Backward: the input gradient of the live channels only (by `liveWeight`), 0 for the others.
        let liveInputGradient: Bool

        init(
            core: ConvolutionCore, batch: Int, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, open: Int,
            liveWeight: UnsafePointer<Float>, live: Int, bias: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>?,
            outputGradient: UnsafePointer<Float>?,
            inputGradient: UnsafeMutablePointer<Float>?, scale: MapScale?, pooling: ConvolutionPooling?,
            threads: Int
        ) {
            (blockMaps, self.scale, blockImages) = (core.blockMaps.pointer, scale, core.blockImages)
            self.pooling = pooling
            (self.liveWeight, self.live, inputChannels) = (liveWeight, live, UnsafePointer(core.inputChannels))
            (shape, self.batch, chunks, self.threads) = (core.shape, batch, ConvolutionCore.chunks(forBatch: batch), threads)
            (self.input, self.weight, self.open, rowOfMap) = (input, weight, open, UnsafePointer(core.rowOfMap))
            (self.bias, self.output) = (bias, output)
            (self.outputGradient, self.inputGradient) = (outputGradient, inputGradient)
            (columns, columnGradients) = (core.columns.pointer, core.columnGradients.pointer)
            (weightGradients, openWeightGradients) = (core.weightGradients.pointer, core.openWeightGradients.pointer)
            biasGradients = core.biasGradients.pointer
            liveInputGradient = outputGradient != nil && core.rectifiedInput && live < core.shape.patch
        }

        /// The chunks thread `part` takes: consecutive ones, so that a thread's images are one run of
        /// the batch, as the layers before and after split it by rows (their data stays in its cache).
        func chunks(of part: Int) -> Range<Int> {
            (part * chunks / threads)..<((part + 1) * chunks / threads)
        }

        /// The images of chunk `chunk`: consecutive, as even as possible.
        func images(of chunk: Int) -> Range<Int> {
            (chunk * batch / chunks)..<((chunk + 1) * batch / chunks)
        }

        /// Calls `body` with each block of the chunk's images, in order: at most `blockImages` each, as
        /// even as possible.
        @inline(__always) func forEachBlock(of chunk: Int, _ body: (Range<Int>) -> Void) {
            let images = images(of: chunk)
            let count = images.count
            let blocks = (count + blockImages - 1) / blockImages
            for block in 0..<blocks {
                body((images.lowerBound + block * count / blocks)..<(images.lowerBound + (block + 1) * count / blocks))
            }
        }

        /// The chunk's own block of columns.
        @inline(__always) func columns(of chunk: Int) -> UnsafeMutablePointer<Float> {
            columns + chunk * blockImages * shape.patch * shape.positions
        }

        var imageSize: Int { shape.inputSize }
        var outputSize: Int { shape.outChannels * shape.positions }
        var blockWidth: Int { blockImages * shape.positions }

        /// Unfolds the live channels of the block's images side by side into `cols`.
        @inline(__always) func unfold(block: Range<Int>, into cols: UnsafeMutablePointer<Float>) {
            let (p, width) = (shape.positions, block.count * shape.positions)
            let channels = live / (shape.kernel * shape.kernel)
            for (i, b) in block.enumerated() {
                unfold(input + b * imageSize, channels: inputChannels, count: channels, into: cols + i * p, rowLength: width)
            }
        }

        func forwardChunk(_ chunk: Int) {
            let (p, outChannels) = (shape.positions, shape.outChannels)
            let maps = blockMaps + chunk * outChannels * blockWidth
            forEachBlock(of: chunk) { block in
                let width = block.count * p
                let cols = columns(of: chunk)
                if live > 0 {
                    unfold(block: block, into: cols)
                    if open > 0 {
                        Gemm.serial(
                            transposeA: false, transposeB: false, m: open, n: width, k: live, alpha: 1, a: liveWeight,
                            lda: live, b: cols, ldb: width, beta: 0, c: maps, ldc: width)
                    }
                } else {
                    maps.update(repeating: 0, count: open * width)  // an input that is 0 throughout
                }
                if let pooling {
                    for (i, b) in block.enumerated() { pool(maps + i * p, rowLength: width, image: b, into: pooling) }
                    return
                }
                guard let output else { return }
                // o = W·x + b into the output, and with scales z·o, image by image.
                for (i, b) in block.enumerated() {
                    let z = scale.map { $0.values + ($0.perExample ? b * outChannels : 0) }
                    for c in 0..<outChannels {
                        let (row, o) = (rowOfMap[c], output + b * outputSize + c * p)
                        guard row >= 0 else {
                            o.update(repeating: 0, count: p)
                            scale?.maps.advanced(by: b * outputSize + c * p).update(repeating: 0, count: p)
                            continue
                        }
                        let source = maps + row * width + i * p
                        if let z, let scaled = scale?.maps {
                            VectorMath.addBias(bias[c], to: source, into: o, scaledBy: z[c], into: scaled + b * outputSize + c * p, count: p)
                        } else {
                            VectorMath.addBias(bias[c], to: source, into: o, count: p)
                        }
                    }
                }
            }
        }

        func backwardChunk(_ chunk: Int) {
            guard let outputGradient else { return }
            let (p, patch, outChannels) = (shape.positions, shape.patch, shape.outChannels)
            let dcols = columnGradients + chunk * patch * blockWidth
            let dmaps = blockMaps + chunk * outChannels * blockWidth
            let dw = weightGradients + chunk * outChannels * patch
            let dwOpen = open == outChannels && live == patch ? dw : openWeightGradients + chunk * outChannels * patch
            let db = biasGradients + chunk * outChannels
            dwOpen.update(repeating: 0, count: open * live)
            db.update(repeating: 0, count: outChannels)
            forEachBlock(of: chunk) { block in
                let width = block.count * p
                // d(o) = z·dy side by side, its sums for the bias, and the scale's Σ_q dy·o, while each
                // image's maps are in cache.
                for (i, b) in block.enumerated() {
                    let dy = outputGradient + b * outputSize
                    let target = dmaps + i * p
                    if let pooling {
                        unpool(outputGradient, image: b, from: pooling, into: target, rowLength: width, biasGradient: db)
                    } else if let scale {
                        let (z, o) = (scale.values + (scale.perExample ? b * outChannels : 0), scale.maps + b * outputSize)
                        for c in 0..<outChannels {
                            let row = rowOfMap[c]
                            guard row >= 0 else {
                                scale.products?[b * outChannels + c] = 0
                                continue
                            }
                            let (product, sum) = VectorMath.scaleReturningDotAndSum(
                                dy + c * p, by: z[c], into: target + row * width, dotWith: o + c * p, count: p)
                            scale.products?[b * outChannels + c] = product
                            db[c] += sum
                        }
                    } else {
                        for c in 0..<outChannels { db[c] += VectorMath.copyReturningSum(dy + c * p, into: target + c * width, count: p) }
                    }
                }
                guard open > 0 else {
                    guard let inputGradient else { return }
                    for b in block { (inputGradient + b * imageSize).update(repeating: 0, count: imageSize) }
                    return
                }
                let cols = columns(of: chunk)
                if live > 0 {
                    // The block unfolded again, to the forward's values.
                    unfold(block: block, into: cols)
                    Gemm.serial(
                        transposeA: false, transposeB: true, m: open, n: live, k: width, alpha: 1, a: dmaps, lda: width,
                        b: cols, ldb: width, beta: 1, c: dwOpen, ldc: live)
                }
                guard let inputGradient else { return }
                if liveInputGradient {
                    // Only the live channels' rows of the columns' gradient, folded into their maps.
                    if live > 0 {
                        Gemm.serial(
                            transposeA: true, transposeB: false, m: live, n: width, k: open, alpha: 1, a: liveWeight,
                            lda: live, b: dmaps, ldb: width, beta: 0, c: dcols, ldc: width)
                    }
                    let channels = live / (shape.kernel * shape.kernel)
                    for (i, b) in block.enumerated() {
                        fold(dcols + i * p, channels: inputChannels, count: channels, rowLength: width, into: inputGradient + b * imageSize)
                    }
                    return
                }
                Gemm.serial(
                    transposeA: true, transposeB: false, m: patch, n: width, k: open, alpha: 1, a: weight, lda: patch,
                    b: dmaps, ldb: width, beta: 0, c: dcols, ldc: width)
                for (i, b) in block.enumerated() {
                    fold(
                        dcols + i * p, channels: inputChannels + shape.inChannels, count: shape.inChannels, rowLength: width,
                        into: inputGradient + b * imageSize)
                }
            }
            // The open maps' rows of dW in place, their taps on the live inputs; a closed map's filter,
            // and any filter's taps on an input that is 0 throughout, get no gradient.
            guard open < outChannels || live < patch else { return }
            let taps = shape.kernel * shape.kernel
            for c in 0..<outChannels {
                let (row, target) = (rowOfMap[c], dw + c * patch)
                if row >= 0 && live == patch {
                    target.update(from: dwOpen + row * patch, count: patch)
                    continue
                }
                target.update(repeating: 0, count: patch)
                guard row >= 0 else { continue }
                for n in 0..<(live / taps) {
                    (target + inputChannels[n] * taps).update(from: dwOpen + row * live + n * taps, count: taps)
                }
            }
        }

        /// Pooled maps: (Cout, Hp·Wp) per image.
        var pooledPositions: Int {
            guard let pooling else { return shape.positions }
            return (shape.outHeight / pooling.size) * (shape.outWidth / pooling.size)
        }

        /// Image `b`'s maps o = W·x + b (open maps at their rows of `maps`, `rowLength` apart), scaled,
        /// max-pooled with their argmax and o there, and passed through the ReLU.
        @inline(__always) func pool(_ maps: UnsafePointer<Float>, rowLength: Int, image b: Int, into pooling: ConvolutionPooling) {
            let (size, outChannels, width) = (pooling.size, shape.outChannels, shape.outWidth)
            let (pooledWidth, pooled) = (width / size, pooledPositions)
            let z = scale.map { $0.values + ($0.perExample ? b * outChannels : 0) }
            for c in 0..<outChannels {
                let at = (b * outChannels + c) * pooled
                let (output, argmax, unscaled) = (pooling.output + at, pooling.argmax + at, pooling.unscaled.map { $0 + at })
                let row = rowOfMap[c]
                guard row >= 0 else {
                    // A zero shared scale: z·o = 0 everywhere, and the first of each window is its maximum.
                    for k in 0..<pooled {
                        output[k] = 0
                        argmax[k] = Int32(truncatingIfNeeded: (k / pooledWidth) * size * width + (k % pooledWidth) * size)
                        unscaled?[k] = 0
                    }
                    continue
                }
                let (source, bias, factor) = (maps + row * rowLength, self.bias[c], z?[c] ?? 1)
                if size == 2 {
                    // With scale 1 when there is none (x·1 = x exactly).
                    l0_pool_2x2(source, shape.outHeight, shape.outWidth, bias, factor, output, argmax, unscaled)
                    continue
                }
                for k in 0..<pooled {
                    let corner = (k / pooledWidth) * size * width + (k % pooledWidth) * size
                    var (best, bestValue) = (corner, Float(0))
                    var bestScaled = -Float.infinity
                    for i in 0..<size {
                        for j in 0..<size {
                            let q = corner + i * width + j
                            let value = source[q] + bias
                            let scaled = z == nil ? value : value * factor
                            if scaled > bestScaled || (i == 0 && j == 0) { (best, bestValue, bestScaled) = (q, value, scaled) }
                        }
                    }
                    output[k] = bestScaled > 0 ? bestScaled : 0
                    argmax[k] = Int32(truncatingIfNeeded: best)
                    unscaled?[k] = bestValue
                }
            }
        }

        /// Backward through `pool` for image `b`: d(o) = z·dy at each window's maximum where the ReLU
        /// passed, 0 elsewhere, into `target` (the open maps' rows, `rowLength` apart); the bias
        /// gradient's sums, and the scale's Σ dy·o.
        @inline(__always) func unpool(
            _ outputGradient: UnsafePointer<Float>, image b: Int, from pooling: ConvolutionPooling,
            into target: UnsafeMutablePointer<Float>, rowLength: Int, biasGradient db: UnsafeMutablePointer<Float>
        ) {
            let (outChannels, pooled) = (shape.outChannels, pooledPositions)
            let at = b * outChannels * pooled
            l0_unpool(
                outChannels, pooled, shape.positions, outputGradient + at, pooling.output + at, pooling.argmax + at,
                pooling.unscaled.map { UnsafePointer($0 + at) }, scale.map { $0.values + ($0.perExample ? b * outChannels : 0) },
                rowOfMap, target, rowLength, db, scale?.products.map { $0 + b * outChannels })
        }

        /// For stride 1 and kernel column j: the output columns ow in first..<end whose input column
        /// ow − pad + j lies inside the image.
        @inline(__always) func validColumns(offset j: Int) -> (first: Int, end: Int) {
            (max(0, shape.padding - j), min(shape.outWidth, shape.inWidth + shape.padding - j))
        }
    }
}
