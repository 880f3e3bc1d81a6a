import NeuralNet

/// Convolution with one hard concrete gate per output feature map (DESIGN §1.3): y[b, c] = z_c·(W_c ∗ x + b_c),
/// so a closed gate removes filter c (|g| = Cin·k² weights) and its bias, as in the paper's code.
///
/// Shapes: input (batch, Cin, H, W); weight (Cout, Cin, k, k); bias (Cout); logAlpha (Cout);
/// output (batch, Cout, Hout, Wout).
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
    public var outputShape: [Int] { core.shape.outputShape }

    let preGate: Tensor  // o = W ∗ x + b
    let output: Tensor
    let preGateGradient: Tensor
    let inputGradient: Tensor
    private var input: Tensor?

    public init(
        name: String, shape: ConvolutionShape, maxBatch: Int, lambda: Float, decay: Float, perExampleGates: Bool = false
    ) {
        self.name = name
        self.lambda = lambda
        self.decay = decay
        core = ConvolutionCore(shape: shape, maxBatch: maxBatch)
        weight = Parameter(name: "\(name).weight", shape: [shape.outChannels, shape.inChannels, shape.kernel, shape.kernel], role: .weight)
        bias = Parameter(name: "\(name).bias", shape: [shape.outChannels], role: .bias)
        gates = HardConcreteGates(name: name, groups: shape.outChannels, perExample: perExampleGates, maxBatch: maxBatch)
        preGate = Tensor(maxBatch: maxBatch, featureShape: shape.outputShape)
        output = Tensor(maxBatch: maxBatch, featureShape: shape.outputShape)
        preGateGradient = Tensor(maxBatch: maxBatch, featureShape: shape.outputShape)
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
        precondition(input.featureCount == core.shape.inputShape.reduce(1, *), "\(name): input shape mismatch")
        self.input = input
        let rows = input.batch
        core.forward(input: input.pointer, batch: rows, weight: weight.value.pointer, bias: bias.value.pointer, output: preGate.pointer)
        gates.draw(mode: mode, batch: rows, random: random)
        var job = Job(layer: self, rows: rows, outputGradient: nil)
        WorkerPool.shared.runRanges(rows, minimum: 4, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.gateOutputs(images: from..<to)
        }
        preGate.batch = rows
        return output.resized(to: rows)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let rows = input.batch
        var job = Job(layer: self, rows: rows, outputGradient: outputGradient.pointer)
        WorkerPool.shared.runRanges(core.shape.outChannels, minimum: 1, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.logAlphaGradient(channels: from..<to)
        }
        WorkerPool.shared.runRanges(rows, minimum: 4, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.gateGradient(images: from..<to)
        }
        core.backward(
            input: input.pointer, outputGradient: preGateGradient.pointer, batch: rows, weight: weight.value.pointer,
            weightGradient: weight.gradient.pointer, biasGradient: bias.gradient.pointer,
            inputGradient: needsInputGradient ? inputGradient.pointer : nil)
        return needsInputGradient ? inputGradient.resized(to: rows) : nil
    }

    public func accumulatePenalty() -> Double {
        let total = gates.accumulateGroupPenalty(
            weights: weight.value.pointer, weightGradient: weight.gradient.pointer, groupSize: core.shape.patch,
            lambda: lambda, decay: decay)
        return decay == 0 ? total : total + Dense.addL2(bias, decay: decay)
    }

    /// The per-image and per-channel loops, over pointers only.
    struct Job {
        let rows: Int, channels: Int, positions: Int, perExample: Bool
        let preGate: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
        let outputGradient: UnsafeMutablePointer<Float>?, preGateGradient: UnsafeMutablePointer<Float>
        let z: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>, dLogAlpha: UnsafeMutablePointer<Float>

        init(layer: L0Conv2D, rows: Int, outputGradient: UnsafeMutablePointer<Float>?) {
            self.rows = rows
            (channels, positions) = (layer.core.shape.outChannels, layer.core.shape.positions)
            perExample = layer.gates.lastDrawPerExample
            (preGate, output) = (layer.preGate.pointer, layer.output.pointer)
            (self.outputGradient, preGateGradient) = (outputGradient, layer.preGateGradient.pointer)
            (z, dz) = (layer.gates.values.pointer, layer.gates.derivatives.pointer)
            dLogAlpha = layer.gates.logAlpha.gradient.pointer
        }

        @inline(__always) func gate(image b: Int, channel c: Int) -> Float { z[perExample ? b * channels + c : c] }

        /// y[b, c] = z·o[b, c].
        func gateOutputs(images: Range<Int>) {
            for b in images {
                for c in 0..<channels {
                    let offset = (b * channels + c) * positions
                    VectorMath.scale(preGate + offset, by: gate(image: b, channel: c), into: output + offset, count: positions)
                }
            }
        }

        /// d(o)[b, c] = z·dy[b, c].
        func gateGradient(images: Range<Int>) {
            guard let dy = outputGradient else { return }
            for b in images {
                for c in 0..<channels {
                    let offset = (b * channels + c) * positions
                    VectorMath.scale(dy + offset, by: gate(image: b, channel: c), into: preGateGradient + offset, count: positions)
                }
            }
        }

        /// dL/d log α_c = Σ_b (Σ_q dy·o)·dz, each channel summed by one thread in image order.
        func logAlphaGradient(channels range: Range<Int>) {
            guard let dy = outputGradient else { return }
            for c in range {
                var sum: Float = 0
                for b in 0..<rows {
                    let offset = (b * channels + c) * positions
                    let product = VectorMath.dot(dy + offset, preGate + offset, count: positions)
                    sum += perExample ? product * dz[b * channels + c] : product
                }
                dLogAlpha[c] = perExample ? sum : sum * dz[c]
            }
        }
    }
}

extension L0Conv2D: MatrixProductCounting {
    public func forwardProductFlops(batch: Int) -> Double { 2 * Double(batch) * core.shape.forwardProductFlopsPerExample }
}
