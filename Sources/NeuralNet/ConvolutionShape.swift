import CKernels

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
    /// Values in one input image: Cin·H·W (without building `inputShape`, which allocates).
    public var inputSize: Int { inChannels * inHeight * inWidth }
    /// Multiply-adds of one example's forward product: Cout·positions·patch.
    public var forwardProductFlopsPerExample: Double { Double(outChannels * positions * patch) }
    public var outputShape: [Int] { [outChannels, outHeight, outWidth] }
}

/// One multiplicative scale per output map, applied inside the convolution while an image's output is
/// still in cache: forward, scaled[b, c] = z·o[b, c]; backward, d(o)[b, c] = z·dy[b, c], with the
/// products Σ_q dy·o per image and map that the scale's own gradient needs.
public struct MapScale {
    /// z: (outChannels), or (batch, outChannels) when `perExample`.
    public let values: UnsafePointer<Float>
    public let perExample: Bool
    /// Forward: where z·o goes. Backward: the unscaled output o.
    public let maps: UnsafeMutablePointer<Float>
    /// Backward: Σ_q dy[b, c, q]·o[b, c, q], (batch, outChannels).
    public let products: UnsafeMutablePointer<Float>?

    public init(values: UnsafePointer<Float>, perExample: Bool, maps: UnsafeMutablePointer<Float>, products: UnsafeMutablePointer<Float>? = nil) {
        (self.values, self.perExample, self.maps, self.products) = (values, perExample, maps, products)
    }
}

/// Max-pooling over `size × size` windows (stride `size`; a trailing partial window is dropped), then
/// a ReLU, applied inside the convolution to its maps (scaled, with `MapScale`) while an
/// image's maps are in cache: output = max(0, maxpool(z·o)). The same function and gradient as a
/// `MaxPool2D` and a `ReLU` after the layer (pooling first: max commutes with max(0, ·)), without
/// writing the full maps and reading them back, forward and backward.
public struct ConvolutionPooling {
    public let size: Int
    /// (batch, Cout, Hout/size, Wout/size): max(0, each window's maximum).
    public let output: UnsafeMutablePointer<Float>
    /// The offset in its map of each window's first maximum, shaped like `output`.
    public let argmax: UnsafeMutablePointer<Int32>
    /// With scales: o (before the scale) at each window's maximum, shaped like `output`, for the scale's
    /// gradient Σ_q dy·o (dy is 0 off the maxima).
    public let unscaled: UnsafeMutablePointer<Float>?

    public init(size: Int, output: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>, unscaled: UnsafeMutablePointer<Float>? = nil) {
        precondition(size >= 1, "a pooling window needs a size")
        (self.size, self.output, self.argmax, self.unscaled) = (size, output, argmax, unscaled)
    }
}
