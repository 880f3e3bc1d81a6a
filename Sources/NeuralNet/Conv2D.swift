import Foundation

/// 2-D convolution layer with optional L2 weight decay `(decay/2)·(‖W‖² + ‖b‖²)`, and optionally a
/// max-pool of `pooling × pooling` windows and a ReLU inside it (`ConvolutionPooling`).
///
/// Shapes: input (batch, Cin, H, W); weight (Cout, Cin, k, k); bias (Cout); output (batch, Cout, Hout, Wout),
/// or (batch, Cout, Hout/pooling, Wout/pooling) when pooling.
public final class Conv2D: Layer, Penalized {
    public let name: String
    public let core: ConvolutionCore
    public let weight: Parameter
    public let bias: Parameter
    public let decay: Float
    public let pool: PoolingBuffers?
    public var parameters: [Parameter] { [weight, bias] }
    public var outputShape: [Int] { pool?.outputShape ?? core.shape.outputShape }
    let output: Tensor
    let inputGradient: Tensor
    private var input: Tensor?

    /// `rectifiedInput`: the input is a ReLU's output (`ConvolutionCore.rectifiedInput`).
    public init(
        name: String, shape: ConvolutionShape, maxBatch: Int, decay: Float, pooling: Int = 1, rectifiedInput: Bool = false
    ) {
        self.name = name
        self.decay = decay
        core = ConvolutionCore(shape: shape, rectifiedInput: rectifiedInput)
        weight = Parameter(name: "\(name).weight", shape: [shape.outChannels, shape.inChannels, shape.kernel, shape.kernel], role: .weight)
        bias = Parameter(name: "\(name).bias", shape: [shape.outChannels], role: .bias)
        pool = pooling > 1 ? PoolingBuffers(size: pooling, shape: shape, maxBatch: maxBatch, scaled: false) : nil
        output = pool?.output ?? Tensor(maxBatch: maxBatch, featureShape: shape.outputShape)
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: shape.inputShape)
    }

    /// He-normal weights, std √(2 / (Cin·k²)) (kaiming "fan_in"), zero bias.
    public func initialize(random: RandomGenerator) {
        let std = (2.0 / Double(core.shape.patch)).squareRoot()
        for i in 0..<weight.count { weight.value.pointer[i] = Float(random.normal() * std) }
        bias.value.fill(0)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        precondition(input.featureCount == core.shape.inputSize, "\(name): input shape mismatch")
        self.input = input
        core.forward(
            input: input.pointer, batch: input.batch, weight: weight.value.pointer, bias: bias.value.pointer,
            output: pool == nil ? output.pointer : nil, pooling: pool?.pooling)
        return output.resized(to: input.batch)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        core.backward(
            input: input.pointer, outputGradient: outputGradient.pointer, batch: input.batch, weight: weight.value.pointer,
            weightGradient: weight.gradient.pointer, biasGradient: bias.gradient.pointer,
            inputGradient: needsInputGradient ? inputGradient.pointer : nil, pooling: pool?.pooling)
        return needsInputGradient ? inputGradient.resized(to: input.batch) : nil
    }

    public func accumulatePenalty() -> Double {
        guard decay != 0 else { return 0 }
        return Dense.addL2(weight, decay: decay) + Dense.addL2(bias, decay: decay)
    }
}

extension Conv2D: MatrixProductCounting {
    public func forwardProductFlops(batch: Int) -> Double { 2 * Double(batch) * core.shape.forwardProductFlopsPerExample }
}

/// What a convolution with a max-pool and a ReLU inside it keeps between forward and backward.
public final class PoolingBuffers {
    public let size: Int
    public let outputShape: [Int]
    /// max(0, the window maxima): the layer's output.
    public let output: Tensor
    let argmax: UnsafeMutablePointer<Int32>
    /// o before the scale at each maximum (scaled layers only).
    let unscaled: FloatBuffer?

    public init(size: Int, shape: ConvolutionShape, maxBatch: Int, scaled: Bool) {
        self.size = size
        outputShape = [shape.outChannels, shape.outHeight / size, shape.outWidth / size]
        precondition(outputShape[1] > 0 && outputShape[2] > 0, "pooling window larger than the maps")
        output = Tensor(maxBatch: maxBatch, featureShape: outputShape)
        let count = maxBatch * outputShape.reduce(1, *)
        argmax = .allocate(capacity: count)
        argmax.initialize(repeating: 0, count: count)
        unscaled = scaled ? FloatBuffer(count: count) : nil
    }

    deinit { argmax.deallocate() }

    public var pooling: ConvolutionPooling {
        ConvolutionPooling(size: size, output: output.pointer, argmax: argmax, unscaled: unscaled?.pointer)
    }
}
