import Foundation
import NeuralNet

/// Fully connected layer with one hard concrete gate per input unit (DESIGN §1.3): gate z_i scales row
/// i of W, so a closed gate removes an input and its `outputs` fan-out weights (|g| = outputs).
///
/// Shapes: input (batch, inputs); weight (inputs, outputs); bias (outputs); logAlpha (inputs);
/// output (batch, outputs).
///
/// With one gate sample per minibatch the gate is folded into the weight, y = x·(diag(z)·W) + b, so the
/// first layer needs no input gradient product; with per-example gates the input is scaled instead,
/// y = (x ⊙ z)·W + b.
///
/// Penalty (λ and the decay already divided by N): Σ_i π_i·(λ·outputs + (decay/2)·Σ_j W_ij²)
/// + (decay/2)·Σ_j b_j², with π_i = P(z_i ≠ 0).
public final class L0Dense: Layer, Penalized, GatedLayer {
    public let name: String
    public let inputs: Int
    public let outputs: Int
    public let weight: Parameter
    public let bias: Parameter
    public let gates: HardConcreteGates
    public let lambda: Float
    public let decay: Float
    public var parameters: [Parameter] { [weight, bias, gates.logAlpha] }
    public var outputShape: [Int] { [outputs] }

    let output: Tensor  // (batch, outputs)
    let inputGradient: Tensor  // (batch, inputs)
    let gatedWeight: FloatBuffer  // (inputs, outputs): diag(z)·W
    let gatedWeightGradient: FloatBuffer  // (inputs, outputs): xᵀ·dy
    let gatedInput: Tensor?  // (batch, inputs): x ⊙ z, per-example gates only
    let gatedInputGradient: Tensor?  // (batch, inputs)
    private var input: Tensor?

    public init(
        name: String, inputs: Int, outputs: Int, maxBatch: Int, lambda: Float, decay: Float,
        perExampleGates: Bool = false
    ) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.lambda = lambda
        self.decay = decay
        weight = Parameter(name: "\(name).weight", shape: [inputs, outputs], role: .weight)
        bias = Parameter(name: "\(name).bias", shape: [outputs], role: .bias)
        gates = HardConcreteGates(name: name, groups: inputs, perExample: perExampleGates, maxBatch: maxBatch)
        output = Tensor(maxBatch: maxBatch, featureShape: [outputs])
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: [inputs])
        gatedWeight = FloatBuffer(count: inputs * outputs)
        gatedWeightGradient = FloatBuffer(count: inputs * outputs)
        gatedInput = perExampleGates ? Tensor(maxBatch: maxBatch, featureShape: [inputs]) : nil
        gatedInputGradient = perExampleGates ? Tensor(maxBatch: maxBatch, featureShape: [inputs]) : nil
    }

    /// He-normal weights (std √(2 / inputs)), zero bias, log α for the given drop rate.
    public func initialize(dropRate: Double, random: RandomGenerator) {
        let std = (2.0 / Double(inputs)).squareRoot()
        for i in 0..<weight.count { weight.value.pointer[i] = Float(random.normal() * std) }
        bias.value.fill(0)
        gates.initialize(dropRate: dropRate, random: random)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        precondition(input.featureCount == inputs, "\(name): expected \(inputs) inputs, got \(input.featureCount)")
        self.input = input
        let (rows, inputs, outputs) = (input.batch, self.inputs, self.outputs)
        gates.draw(mode: mode, batch: rows, random: random)
        let z = gates.values.pointer
        Dense.broadcastBias(bias.value.pointer, into: output.pointer, rows: rows, columns: outputs)
        if gates.lastDrawPerExample, let gatedInput {
            let x = input.pointer
            let xz = gatedInput.pointer
            for k in 0..<(rows * inputs) { xz[k] = x[k] * z[k] }
            gatedInput.batch = rows
            Gemm.fast(
                transposeA: false, transposeB: false, m: rows, n: outputs, k: inputs, alpha: 1,
                a: xz, lda: inputs, b: weight.value.pointer, ldb: outputs, beta: 1, c: output.pointer,
                ldc: outputs)
        } else {
            let w = weight.value.pointer
            let wz = gatedWeight.pointer
            for i in 0..<inputs { VectorMath.scale(w + i * outputs, by: z[i], into: wz + i * outputs, count: outputs) }
            Gemm.fast(
                transposeA: false, transposeB: false, m: rows, n: outputs, k: inputs, alpha: 1,
                a: input.pointer, lda: inputs, b: wz, ldb: outputs, beta: 1, c: output.pointer, ldc: outputs)
        }
        return output.resized(to: rows)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let (rows, inputs, outputs) = (input.batch, self.inputs, self.outputs)
        let dy = outputGradient.pointer
        Dense.sumRows(dy, rows: rows, columns: outputs, into: bias.gradient.pointer)
        if gates.lastDrawPerExample, let gatedInput, let gatedInputGradient {
            return backwardPerExample(
                input: input, gatedInput: gatedInput, gatedInputGradient: gatedInputGradient, dy: dy,
                needsInputGradient: needsInputGradient)
        }
        // G = xᵀ·dy is dL/d(diag(z)·W); dW_ij = z_i·G_ij; dL/dz_i = Σ_j W_ij·G_ij.
        let g = gatedWeightGradient.pointer
        Gemm.fast(
            transposeA: true, transposeB: false, m: inputs, n: outputs, k: rows, alpha: 1, a: input.pointer,
            lda: inputs, b: dy, ldb: outputs, beta: 0, c: g, ldc: outputs)
        let w = weight.value.pointer
        let dw = weight.gradient.pointer
        let z = gates.values.pointer
        let dz = gates.derivatives.pointer
        let dLogAlpha = gates.logAlpha.gradient.pointer
        for i in 0..<inputs {
            let row = i * outputs
            let dGate = VectorMath.scaleAndDot(g + row, by: z[i], into: dw + row, dotWith: w + row, count: outputs)
            dLogAlpha[i] = dGate * dz[i]
        }
        guard needsInputGradient else { return nil }
        Gemm.fast(
            transposeA: false, transposeB: true, m: rows, n: inputs, k: outputs, alpha: 1, a: dy, lda: outputs,
            b: gatedWeight.pointer, ldb: outputs, beta: 0, c: inputGradient.pointer, ldc: inputs)
        return inputGradient.resized(to: rows)
    }

    /// Per-example gates: dW = (x ⊙ z)ᵀ·dy; d(x ⊙ z) = dy·Wᵀ; dL/dz = d(x ⊙ z) ⊙ x; dx = d(x ⊙ z) ⊙ z.
    private func backwardPerExample(
        input: Tensor, gatedInput: Tensor, gatedInputGradient: Tensor, dy: UnsafeMutablePointer<Float>,
        needsInputGradient: Bool
    ) -> Tensor? {
        let (rows, inputs, outputs) = (input.batch, self.inputs, self.outputs)
        Gemm.fast(
            transposeA: true, transposeB: false, m: inputs, n: outputs, k: rows, alpha: 1, a: gatedInput.pointer,
            lda: inputs, b: dy, ldb: outputs, beta: 0, c: weight.gradient.pointer, ldc: outputs)
        let dxz = gatedInputGradient.pointer
        Gemm.fast(
            transposeA: false, transposeB: true, m: rows, n: inputs, k: outputs, alpha: 1, a: dy, lda: outputs,
            b: weight.value.pointer, ldb: outputs, beta: 0, c: dxz, ldc: inputs)
        let x = input.pointer
        let z = gates.values.pointer
        let dz = gates.derivatives.pointer
        let dLogAlpha = gates.logAlpha.gradient.pointer
        dLogAlpha.update(repeating: 0, count: inputs)
        for r in 0..<rows {
            for i in 0..<inputs {
                let k = r * inputs + i
                dLogAlpha[i] += dxz[k] * x[k] * dz[k]
            }
        }
        guard needsInputGradient else { return nil }
        let dx = inputGradient.pointer
        for k in 0..<(rows * inputs) { dx[k] = dxz[k] * z[k] }
        return inputGradient.resized(to: rows)
    }

    public func accumulatePenalty() -> Double {
        let (inputs, outputs, decay) = (self.inputs, self.outputs, self.decay)
        let w = weight.value.pointer
        let dw = weight.gradient.pointer
        let groupCost = Double(lambda) * Double(outputs)
        let halfDecay = 0.5 * Double(decay)
        var total = gates.accumulateExpectedCost { i in
            let row = w + i * outputs
            return groupCost + halfDecay * Double(VectorMath.dot(row, row, count: outputs))
        }
        if decay != 0 {
            for i in 0..<inputs {
                let scale = Float(gates.probabilityNonZero(i)) * decay
                VectorMath.addScaled(w + i * outputs, by: scale, to: dw + i * outputs, count: outputs)
            }
            total += Dense.addL2(bias, decay: decay)
        }
        return total
    }
}
