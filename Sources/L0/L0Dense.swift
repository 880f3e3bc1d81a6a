import Foundation
import NeuralNet

/// Fully connected layer with one hard concrete gate per input unit (DESIGN §1.3): gate z_i scales row
/// i of W, so a closed gate removes an input and its `outputs` fan-out weights (|g| = outputs).
///
/// Shapes: input (batch, inputs); weight (inputs, outputs); bias (outputs); logAlpha (inputs);
/// output (batch, outputs).
///
/// The gate is applied to the input, y = (x ⊙ z)·W + b, which equals x·(diag(z)·W) + b for a shared
/// gate and costs batch·inputs multiplications instead of inputs·outputs. Then dW = (x ⊙ z)ᵀ·dy comes
/// straight from one matrix product. For a shared gate dL/dz_i = Σ_j W_ij·(xᵀ·dy)_ij = Σ_j W_ij·dW_ij / z_i,
/// needed only where 0 < z_i < 1 (elsewhere dz/d log α = 0), so the first layer skips the input
/// gradient product. Per-example gates need d(x ⊙ z) = dy·Wᵀ for dL/dz.
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
    let gatedInput: Tensor  // (batch, inputs): x ⊙ z
    let rowCosts: UnsafeMutablePointer<Double>  // (inputs): a group's penalty if active
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
        gatedInput = Tensor(maxBatch: maxBatch, featureShape: [inputs])
        rowCosts = .allocate(capacity: inputs)
        rowCosts.initialize(repeating: 0, count: inputs)
    }

    deinit { rowCosts.deallocate() }

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
        let perExample = gates.lastDrawPerExample
        let (x, xz, z) = (input.pointer, gatedInput.pointer, gates.values.pointer)
        WorkerPool.shared.runRanges(rows, minimum: 16) { range in
            for r in range {
                VectorMath.multiply(x + r * inputs, z + (perExample ? r * inputs : 0), into: xz + r * inputs, count: inputs)
            }
        }
        gatedInput.batch = rows
        Dense.broadcastBias(bias.value.pointer, into: output.pointer, rows: rows, columns: outputs)
        Gemm.fast(
            transposeA: false, transposeB: false, m: rows, n: outputs, k: inputs, alpha: 1, a: xz, lda: inputs,
            b: weight.value.pointer, ldb: outputs, beta: 1, c: output.pointer, ldc: outputs)
        return output.resized(to: rows)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let (rows, inputs, outputs) = (input.batch, self.inputs, self.outputs)
        let perExample = gates.lastDrawPerExample
        let dy = outputGradient.pointer
        let (w, dw) = (weight.value.pointer, weight.gradient.pointer)
        let (z, dz, dLogAlpha) = (gates.values.pointer, gates.derivatives.pointer, gates.logAlpha.gradient.pointer)
        Dense.sumRows(dy, rows: rows, columns: outputs, into: bias.gradient.pointer)
        Gemm.fast(
            transposeA: true, transposeB: false, m: inputs, n: outputs, k: rows, alpha: 1, a: gatedInput.pointer,
            lda: inputs, b: dy, ldb: outputs, beta: 0, c: dw, ldc: outputs)
        guard needsInputGradient || perExample else {
            WorkerPool.shared.runRanges(inputs, minimum: 64) { range in
                for i in range {
                    dLogAlpha[i] = dz[i] == 0 ? 0 : VectorMath.dot(w + i * outputs, dw + i * outputs, count: outputs) / z[i] * dz[i]
                }
            }
            return nil
        }
        // dx̃ = dy·Wᵀ; then dx = dx̃ ⊙ z.
        let dx = inputGradient.pointer
        Gemm.fast(
            transposeA: false, transposeB: true, m: rows, n: inputs, k: outputs, alpha: 1, a: dy, lda: outputs,
            b: w, ldb: outputs, beta: 0, c: dx, ldc: inputs)
        // dL/d log α_i = Σ_b dx̃_bi·x_bi·dz_bi (shared gates: Σ_b dx̃_bi·x_bi = Σ_j W_ij·(xᵀ·dy)_ij, times dz_i).
        // Split by input unit, so every sum is taken by one thread in one order.
        let x = input.pointer
        WorkerPool.shared.runRanges(inputs, minimum: 32) { range in
            for i in range {
                var sum: Float = 0
                if perExample {
                    for r in 0..<rows { sum += dx[r * inputs + i] * x[r * inputs + i] * dz[r * inputs + i] }
                } else {
                    for r in 0..<rows { sum += dx[r * inputs + i] * x[r * inputs + i] }
                    sum *= dz[i]
                }
                dLogAlpha[i] = sum
            }
        }
        guard needsInputGradient else { return nil }
        WorkerPool.shared.runRanges(rows, minimum: 16) { range in
            for r in range {
                VectorMath.multiply(dx + r * inputs, z + (perExample ? r * inputs : 0), into: dx + r * inputs, count: inputs)
            }
        }
        return inputGradient.resized(to: rows)
    }

    public func accumulatePenalty() -> Double {
        let (inputs, outputs, decay) = (self.inputs, self.outputs, self.decay)
        let w = weight.value.pointer
        let dw = weight.gradient.pointer
        let groupCost = Double(lambda) * Double(outputs)
        let halfDecay = 0.5 * Double(decay)
        // One pass over each row, rows split over the pool: its squared norm for the cost, and
        // π_i·decay·W_i into the gradient. The costs are then summed in order, so the total does not
        // depend on the split.
        let (gates, costs) = (self.gates, rowCosts)
        WorkerPool.shared.runRanges(inputs, minimum: 64) { range in
            for i in range {
                let scale = Float(gates.probabilityNonZero(i)) * decay
                let squares = VectorMath.addScaledReturningSumOfSquares(w + i * outputs, by: scale, to: dw + i * outputs, count: outputs)
                costs[i] = groupCost + halfDecay * Double(squares)
            }
        }
        var total = gates.accumulateExpectedCost { costs[$0] }
        if decay != 0 { total += Dense.addL2(bias, decay: decay) }
        return total
    }
}
