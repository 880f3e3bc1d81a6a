/// Max pooling over non-overlapping `size × size` windows (stride = size; a trailing partial window is
/// dropped). Shapes: input (batch, C, H, W); output (batch, C, H/size, W/size). The gradient goes to the
/// first maximum of each window.
public final class MaxPool2D: Layer {
    public let name: String
    public let size: Int
    public let inputShape: [Int]
    public let outputShape: [Int]
    public var parameters: [Parameter] { [] }
    let output: Tensor
    let inputGradient: Tensor
    let argmax: UnsafeMutablePointer<Int32>  // (batch, C, Hout, Wout): offset of the maximum in the input map

    public init(name: String, size: Int = 2, inputShape: [Int], maxBatch: Int) {
        precondition(inputShape.count == 3 && size > 0, "pooling needs a (C, H, W) input")
        self.name = name
        self.size = size
        self.inputShape = inputShape
        outputShape = [inputShape[0], inputShape[1] / size, inputShape[2] / size]
        output = Tensor(maxBatch: maxBatch, featureShape: outputShape)
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: inputShape)
        argmax = .allocate(capacity: maxBatch * outputShape.reduce(1, *))
        argmax.initialize(repeating: 0, count: maxBatch * outputShape.reduce(1, *))
    }

    deinit { argmax.deallocate() }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        var job = Job(layer: self, input: input.pointer, gradient: nil)
        WorkerPool.shared.runRanges(input.batch, minimum: 8, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.forward(images: from..<to)
        }
        return output.resized(to: input.batch)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        var job = Job(layer: self, input: outputGradient.pointer, gradient: inputGradient.pointer)
        WorkerPool.shared.runRanges(output.batch, minimum: 8, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.backward(images: from..<to)
        }
        return inputGradient.resized(to: output.batch)
    }

    struct Job {
        let channels: Int, height: Int, width: Int, outHeight: Int, outWidth: Int, size: Int
        let input: UnsafeMutablePointer<Float>  // the input (forward) or the output gradient (backward)
        let output: UnsafeMutablePointer<Float>
        let gradient: UnsafeMutablePointer<Float>?
        let argmax: UnsafeMutablePointer<Int32>

        init(layer: MaxPool2D, input: UnsafeMutablePointer<Float>, gradient: UnsafeMutablePointer<Float>?) {
            (channels, height, width) = (layer.inputShape[0], layer.inputShape[1], layer.inputShape[2])
            (outHeight, outWidth, size) = (layer.outputShape[1], layer.outputShape[2], layer.size)
            (self.input, output, self.gradient, argmax) = (input, layer.output.pointer, gradient, layer.argmax)
        }

        func forward(images: Range<Int>) {
            if size == 2 { return forwardTwoByTwo(images: images) }
            for map in (images.lowerBound * channels)..<(images.upperBound * channels) {
                let x = input + map * height * width
                for oh in 0..<outHeight {
                    for ow in 0..<outWidth {
                        var best = (oh * size) * width + ow * size
                        for i in 0..<size {
                            for j in 0..<size {
                                let at = (oh * size + i) * width + ow * size + j
                                if x[at] > x[best] { best = at }
                            }
                        }
                        let o = (map * outHeight + oh) * outWidth + ow
                        output[o] = x[best]
                        argmax[o] = Int32(best)
                    }
                }
            }
        }

        /// The 2×2 case unrolled: the first maximum of (top-left, top-right, bottom-left, bottom-right).
        func forwardTwoByTwo(images: Range<Int>) {
            for map in (images.lowerBound * channels)..<(images.upperBound * channels) {
                let x = input + map * height * width
                var o = map * outHeight * outWidth
                for oh in 0..<outHeight {
                    let top = 2 * oh * width
                    let bottom = top + width
                    for ow in 0..<outWidth {
                        var best = top + 2 * ow
                        var value = x[best]
                        if x[best + 1] > value { (best, value) = (best + 1, x[best + 1]) }
                        let below = bottom + 2 * ow
                        if x[below] > value { (best, value) = (below, x[below]) }
                        if x[below + 1] > value { (best, value) = (below + 1, x[below + 1]) }
                        output[o] = value
                        argmax[o] = Int32(truncatingIfNeeded: best)
                        o += 1
                    }
                }
            }
        }

        func backward(images: Range<Int>) {
            guard let gradient else { return }
            for map in (images.lowerBound * channels)..<(images.upperBound * channels) {
                let dx = gradient + map * height * width
                dx.update(repeating: 0, count: height * width)
                for o in (map * outHeight * outWidth)..<((map + 1) * outHeight * outWidth) {
                    dx[Int(argmax[o])] += input[o]
                }
            }
        }
    }
}

/// Reshapes (batch, C, H, W) to (batch, C·H·W). Tensors are row-major per example, so the data does not
/// move: the layer passes its input and the gradient through.
public final class Flatten: Layer {
    public let name: String
    public let outputShape: [Int]
    public var parameters: [Parameter] { [] }

    public init(name: String, inputShape: [Int]) {
        self.name = name
        outputShape = [inputShape.reduce(1, *)]
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor { input }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        needsInputGradient ? outputGradient : nil
    }
}
