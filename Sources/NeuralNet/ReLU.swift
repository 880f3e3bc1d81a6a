/// Rectified linear unit, `y = max(0, x)`, elementwise. Input and output have the same shape.
public final class ReLU: Layer {
    public let name: String
    public var parameters: [Parameter] { [] }
    public let outputShape: [Int]
    let output: Tensor
    let inputGradient: Tensor

    public init(name: String, shape: [Int], maxBatch: Int) {
        self.name = name
        outputShape = shape
        output = Tensor(maxBatch: maxBatch, featureShape: shape)
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: shape)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        let x = input.pointer
        let y = output.pointer
        VectorMath.relu(x, into: y, count: input.count)
        return output.resized(to: input.batch)
    }

    /// dx = dy where y > 0, else 0.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let y = output.pointer
        let dy = outputGradient.pointer
        let dx = inputGradient.pointer
        VectorMath.reluBackward(output: y, outputGradient: dy, into: dx, count: output.count)
        return inputGradient.resized(to: output.batch)
    }
}
