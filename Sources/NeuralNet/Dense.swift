import Foundation

/// Fully connected layer, `y = x·W + b`, with optional L2 weight decay `(decay/2)·(‖W‖² + ‖b‖²)`.
///
/// Shapes: input (batch, inputs) row-major; weight (inputs, outputs); bias (outputs);
/// output (batch, outputs).
public final class Dense: Layer, Penalized {
    public let name: String
    public let weight: Parameter
    public let bias: Parameter
    /// The L2 coefficient (already divided by the training-set size where the objective wants it).
    public let decay: Float
    public let inputs: Int
    public let outputs: Int
    public var parameters: [Parameter] { [weight, bias] }
    public var outputShape: [Int] { [outputs] }

    let output: Tensor  // (batch, outputs)
    let inputGradient: Tensor  // (batch, inputs)
    private var input: Tensor?

    public init(name: String, inputs: Int, outputs: Int, maxBatch: Int, decay: Float) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.decay = decay
        weight = Parameter(name: "\(name).weight", shape: [inputs, outputs], role: .weight)
        bias = Parameter(name: "\(name).bias", shape: [outputs], role: .bias)
        output = Tensor(maxBatch: maxBatch, featureShape: [outputs])
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: [inputs])
    }

    /// He-normal initialisation, std = √(2 / inputs) (as the official code's kaiming "fan_out" on an
    /// (inputs, outputs) matrix); zero bias.
    public func initialize(random: RandomGenerator) {
        let std = (2.0 / Double(inputs)).squareRoot()
        for i in 0..<weight.count { weight.value.pointer[i] = Float(random.normal() * std) }
        bias.value.fill(0)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        precondition(input.featureCount == inputs, "\(name): expected \(inputs) inputs, got \(input.featureCount)")
        self.input = input
        let rows = input.batch
        Dense.broadcastBias(bias.value.pointer, into: output.pointer, rows: rows, columns: outputs)
        Gemm.fast(
            transposeA: false, transposeB: false, m: rows, n: outputs, k: inputs, alpha: 1,
            a: input.pointer, lda: inputs, b: weight.value.pointer, ldb: outputs, beta: 1, c: output.pointer,
            ldc: outputs)
        return output.resized(to: rows)
    }

    /// dW = xᵀ·dy, db = Σ_rows dy, dx = dy·Wᵀ.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let rows = input.batch
        Gemm.fast(
            transposeA: true, transposeB: false, m: inputs, n: outputs, k: rows, alpha: 1,
            a: input.pointer, lda: inputs, b: outputGradient.pointer, ldb: outputs, beta: 0,
            c: weight.gradient.pointer, ldc: outputs)
        Dense.sumRows(outputGradient.pointer, rows: rows, columns: outputs, into: bias.gradient.pointer)
        guard needsInputGradient else { return nil }
        Gemm.fast(
            transposeA: false, transposeB: true, m: rows, n: inputs, k: outputs, alpha: 1,
            a: outputGradient.pointer, lda: outputs, b: weight.value.pointer, ldb: outputs, beta: 0,
            c: inputGradient.pointer, ldc: inputs)
        return inputGradient.resized(to: rows)
    }

    public func accumulatePenalty() -> Double {
        guard decay != 0 else { return 0 }
        return Dense.addL2(weight, decay: decay) + Dense.addL2(bias, decay: decay)
    }

    /// Adds `decay·θ` to the gradient of `parameter` and returns `(decay/2)·‖θ‖²`.
    public static func addL2(_ parameter: Parameter, decay: Float) -> Double {
        let value = parameter.value.pointer
        let sum = VectorMath.dot(value, value, count: parameter.count)
        VectorMath.addScaled(value, by: decay, to: parameter.gradient.pointer, count: parameter.count)
        return 0.5 * Double(decay) * Double(sum)
    }

    /// Writes `bias` into every row of `matrix` (rows × columns).
    @inline(__always)
    public static func broadcastBias(
        _ bias: UnsafePointer<Float>, into matrix: UnsafeMutablePointer<Float>, rows: Int, columns: Int
    ) {
        for r in 0..<rows { (matrix + r * columns).update(from: bias, count: columns) }
    }

    /// Column sums of `matrix` (rows × columns) into `result` (columns).
    @inline(__always)
    public static func sumRows(
        _ matrix: UnsafePointer<Float>, rows: Int, columns: Int, into result: UnsafeMutablePointer<Float>
    ) {
        result.update(repeating: 0, count: columns)
        for r in 0..<rows { VectorMath.add(matrix + r * columns, to: result, count: columns) }
    }
}

extension Dense: MatrixProductCounting {
    public func forwardProductFlops(batch: Int) -> Double { 2 * Double(batch * inputs * outputs) }
}
