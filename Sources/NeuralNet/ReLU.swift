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
        var job = Job(x: input.pointer, y: output.pointer, dy: nil, dx: nil, features: input.featureCount)
        WorkerPool.shared.runRanges(input.batch, minimum: max(1, 8192 / input.featureCount), with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.forward(rows: from..<to)
        }
        return output.resized(to: input.batch)
    }

    /// dx = dy where y > 0, else 0.
    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard needsInputGradient else { return nil }
        var job = Job(x: nil, y: output.pointer, dy: outputGradient.pointer, dx: inputGradient.pointer, features: output.featureCount)
        WorkerPool.shared.runRanges(output.batch, minimum: max(1, 8192 / output.featureCount), with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.backward(rows: from..<to)
        }
        return inputGradient.resized(to: output.batch)
    }

    /// Rows of the forward or backward pass, over pointers only.
    struct Job {
        let x: UnsafeMutablePointer<Float>?, y: UnsafeMutablePointer<Float>
        let dy: UnsafeMutablePointer<Float>?, dx: UnsafeMutablePointer<Float>?
        let features: Int

        func forward(rows: Range<Int>) {
            guard let x else { return }
            let start = rows.lowerBound * features
            VectorMath.relu(x + start, into: y + start, count: rows.count * features)
        }

        func backward(rows: Range<Int>) {
            guard let dy, let dx else { return }
            let start = rows.lowerBound * features
            VectorMath.reluBackward(output: y + start, outputGradient: dy + start, into: dx + start, count: rows.count * features)
        }
    }
}
