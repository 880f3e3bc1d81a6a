import NeuralNet

/// Convolution with one hard concrete gate per output feature map (DESIGN §1.3): y[b, c] = z_c·(W_c ∗ x + b_c),
/// so a closed gate removes filter c (|g| = Cin·k² weights) and its bias, as in the paper's code.
///
/// Shapes: input (batch, Cin, H, W); weight (Cout, Cin, k, k); bias (Cout); logAlpha (Cout);
/// output (batch, Cout, Hout, Wout), or with `pooling` > 1 the max-pooled and ReLU'd maps
/// (batch, Cout, Hout/pooling, Wout/pooling) (`ConvolutionPooling`).
///
/// Backward, with o the pre-gate output: dL/dz_c = Σ_{b,q} dy·o (per example: Σ_q), d(o) = dy ⊙ z, then
/// the convolution's own backward from d(o).
///
/// Penalty (λ and the decay already divided by N): Σ_c π_c·(λ·Cin·k² + (decay/2)·‖W_c‖²) + (decay/2)·‖b‖².
public final class L0Conv2D: Layer, Penalized, GatedLayer {
    public let name: String
    public let core: ConvolutionCore
    public let weight: Parameter
    public let bias: Parameter
    public let gates: HardConcreteGates
    public let lambda: Float
    public let decay: Float
    public var parameters: [Parameter] { [weight, bias, gates.logAlpha] }
    public var outputShape: [Int] { pool?.outputShape ?? core.shape.outputShape }
    public let pool: PoolingBuffers?

    let preGate: Tensor?  // o = W ∗ x + b (without pooling)
    let output: Tensor
    let products: FloatBuffer  // (batch, Cout): Σ_q dy·o
    let inputGradient: Tensor
    private var input: Tensor?

    public init(
        name: String, shape: ConvolutionShape, maxBatch: Int, lambda: Float, decay: Float, perExampleGates: Bool = false,
        pooling: Int = 1, rectifiedInput: Bool = false
    ) {
        self.name = name
        self.lambda = lambda
        self.decay = decay
        core = ConvolutionCore(shape: shape, rectifiedInput: rectifiedInput)
        weight = Parameter(name: "\(name).weight", shape: [shape.outChannels, shape.inChannels, shape.kernel, shape.kernel], role: .weight)
        bias = Parameter(name: "\(name).bias", shape: [shape.outChannels], role: .bias)
        gates = HardConcreteGates(name: name, groups: shape.outChannels, perExample: perExampleGates, maxBatch: maxBatch)
        pool = pooling > 1 ? PoolingBuffers(size: pooling, shape: shape, maxBatch: maxBatch, scaled: true) : nil
        preGate = pool == nil ? Tensor(maxBatch: maxBatch, featureShape: shape.outputShape) : nil
        output = pool?.output ?? Tensor(maxBatch: maxBatch, featureShape: shape.outputShape)
        products = FloatBuffer(count: maxBatch * shape.outChannels)
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: shape.inputShape)
    }

    /// He-normal weights, std √(2 / (Cin·k²)) (kaiming "fan_in"), zero bias, log α for the drop rate.
    public func initialize(dropRate: Double, random: RandomGenerator) {
        let std = (2.0 / Double(core.shape.patch)).squareRoot()
        for i in 0..<weight.count { weight.value.pointer[i] = Float(random.normal() * std) }
        bias.value.fill(0)
        gates.initialize(dropRate: dropRate, random: random)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        precondition(input.featureCount == core.shape.inputSize, "\(name): input shape mismatch")
        self.input = input
        let rows = input.batch
        gates.draw(mode: mode, batch: rows, random: random)
        core.forward(
            input: input.pointer, batch: rows, weight: weight.value.pointer, bias: bias.value.pointer, output: preGate?.pointer,
            scale: MapScale(values: gates.values.pointer, perExample: gates.lastDrawPerExample, maps: output.pointer),
            pooling: pool?.pooling)
        return output.resized(to: rows)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let rows = input.batch
        let perExample = gates.lastDrawPerExample
        core.backward(
            input: input.pointer, outputGradient: outputGradient.pointer, batch: rows, weight: weight.value.pointer,
            weightGradient: weight.gradient.pointer, biasGradient: bias.gradient.pointer,
            inputGradient: needsInputGradient ? inputGradient.pointer : nil,
            // With pooling the core takes o at the maxima from `pool` and does not read `maps`.
            scale: MapScale(
                values: gates.values.pointer, perExample: perExample, maps: preGate?.pointer ?? output.pointer,
                products: products.pointer),
            pooling: pool?.pooling)
        // dL/d log α_c = Σ_b (Σ_q dy·o)·dz, summed in image order.
        let (channels, dz, dLogAlpha) = (core.shape.outChannels, gates.derivatives.pointer, gates.logAlpha.gradient.pointer)
        for c in 0..<channels {
            var sum: Float = 0
            for b in 0..<rows {
                let product = products.pointer[b * channels + c]
                sum += perExample ? product * dz[b * channels + c] : product
            }
            dLogAlpha[c] = perExample ? sum : sum * dz[c]
        }
        return needsInputGradient ? inputGradient.resized(to: rows) : nil
    }

    public func accumulatePenalty() -> Double {
        let total = gates.accumulateGroupPenalty(
            weights: weight.value.pointer, weightGradient: weight.gradient.pointer, groupSize: core.shape.patch,
            lambda: lambda, decay: decay)
        return decay == 0 ? total : total + Dense.addL2(bias, decay: decay)
    }
}

extension L0Conv2D: MatrixProductCounting {
    public func forwardProductFlops(batch: Int) -> Double { 2 * Double(batch) * core.shape.forwardProductFlopsPerExample }
}
