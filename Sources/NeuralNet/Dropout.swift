/// Inverted dropout: in training each element is kept with probability 1 − rate and scaled by
/// 1 / (1 − rate); in evaluation the input passes through unchanged.
public final class Dropout: Layer {
    public let name: String
    public let rate: Float
    public var parameters: [Parameter] { [] }
    public let outputShape: [Int]
    let mask: Tensor  // 0 or 1/(1 − rate), same shape as the input
    let output: Tensor
    let inputGradient: Tensor

    public init(name: String, rate: Float, shape: [Int], maxBatch: Int) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1)")
        self.name = name
        self.rate = rate
        outputShape = shape
        mask = Tensor(maxBatch: maxBatch, featureShape: shape)
        output = Tensor(maxBatch: maxBatch, featureShape: shape)
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: shape)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        guard mode == .training, rate > 0 else { return input }
        let scale = 1 / (1 - rate)
        random.dropout(input: input.pointer, mask: mask.pointer, output: output.pointer, count: input.count, rate: rate, scale: scale)
        mask.batch = input.batch
        return output.resized(to: input.batch)
    }

    /// dx = dy ⊙ mask.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        guard rate > 0 else { return outputGradient }
        let m = mask.pointer
        let dy = outputGradient.pointer
        let dx = inputGradient.pointer
        for i in 0..<mask.count { dx[i] = dy[i] * m[i] }
        return inputGradient.resized(to: mask.batch)
    }
}
