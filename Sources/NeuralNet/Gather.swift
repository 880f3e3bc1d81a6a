/// Picks features by index: output[b, j] = input[b, indices[j]] (a purged network's kept inputs).
/// Backward adds each output gradient back to the input it came from.
public final class Gather: Layer {
    public let name: String
    public let indices: [Int]
    public let inputCount: Int
    public var parameters: [Parameter] { [] }
    public var outputShape: [Int] { [indices.count] }
    private let output: Tensor
    private let inputGradient: Tensor

    public init(name: String, indices: [Int], inputCount: Int, maxBatch: Int) {
        precondition(indices.allSatisfy { (0..<inputCount).contains($0) }, "gather indices out of range")
        self.name = name
        self.indices = indices
        self.inputCount = inputCount
        output = Tensor(maxBatch: maxBatch, featureShape: [max(indices.count, 1)])
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: [inputCount])
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        let out = output.resized(to: input.batch)
        let (n, m) = (indices.count, inputCount)
        for b in 0..<input.batch {
            for (j, i) in indices.enumerated() { out.pointer[b * n + j] = input.pointer[b * m + i] }
        }
        return out
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        let dx = inputGradient.resized(to: outputGradient.batch)
        dx.pointer.update(repeating: 0, count: outputGradient.batch * inputCount)
        let (n, m) = (indices.count, inputCount)
        for b in 0..<outputGradient.batch {
            for (j, i) in indices.enumerated() { dx.pointer[b * m + i] += outputGradient.pointer[b * n + j] }
        }
        return dx
    }
}
