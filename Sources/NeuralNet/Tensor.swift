/// A zero-initialised block of `Float`s owned by one object and freed with it.
///
/// Buffers are allocated once, when a layer or optimiser is built; the training step only reads and
/// writes through `pointer`, so it never touches the heap.
public final class FloatBuffer {
    /// The first element.
    public let pointer: UnsafeMutablePointer<Float>
    /// The number of elements.
    public let count: Int

    public init(count: Int) {
        precondition(count >= 0, "buffer size must be non-negative")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    /// The elements as a read-only buffer.
    public var elements: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

    /// Copies all elements from `other`, which must have the same count.
    public func copy(from other: FloatBuffer) {
        precondition(other.count == count, "buffer sizes differ")
        pointer.update(from: other.pointer, count: count)
    }

    /// The elements as an array (allocates: for tests and logs, not the training step).
    public var array: [Float] { Array(elements) }
}

/// A batch of examples: `batch` rows of `featureCount` floats, row-major, in a buffer sized for
/// `maxBatch` rows. `featureShape` is the per-example shape, e.g. `[784]` or `[20, 24, 24]` (C, H, W).
public final class Tensor {
    /// The storage, sized for `maxBatch` examples.
    public let buffer: FloatBuffer
    /// The per-example shape.
    public let featureShape: [Int]
    /// The product of `featureShape`.
    public let featureCount: Int
    /// The largest batch the buffer holds.
    public let maxBatch: Int
    /// The number of examples currently held (at most `maxBatch`).
    public var batch: Int {
        didSet { precondition(batch >= 0 && batch <= maxBatch, "batch \(batch) exceeds capacity \(maxBatch)") }
    }

    public init(maxBatch: Int, featureShape: [Int]) {
        precondition(maxBatch > 0 && featureShape.allSatisfy { $0 > 0 }, "tensor dimensions must be positive")
        self.featureShape = featureShape
        self.featureCount = featureShape.reduce(1, *)
        self.maxBatch = maxBatch
        self.batch = maxBatch
        buffer = FloatBuffer(count: maxBatch * featureCount)
    }

    /// The first element.
    @inline(__always) public var pointer: UnsafeMutablePointer<Float> { buffer.pointer }

    /// The number of elements in the current batch.
    @inline(__always) public var count: Int { batch * featureCount }
}

/// A learned array with its gradient. The gradient has the value's shape; layers overwrite it in
/// `backward` and penalties add to it afterwards.
public final class Parameter {
    /// What the parameter is for, which decides how penalties and clamps treat it.
    public enum Role: String, Sendable {
        case weight, bias, gateLogAlpha
    }

    /// A name unique within a model, e.g. "fc1.weight".
    public let name: String
    /// The shape, e.g. `[784, 300]`.
    public let shape: [Int]
    public let role: Role
    public let value: FloatBuffer
    public let gradient: FloatBuffer
    /// The range the optimiser projects every element back into after each step (nil: unbounded).
    public let bounds: ClosedRange<Float>?

    public init(name: String, shape: [Int], role: Role, bounds: ClosedRange<Float>? = nil) {
        self.name = name
        self.shape = shape
        self.role = role
        self.bounds = bounds
        let count = shape.reduce(1, *)
        value = FloatBuffer(count: count)
        gradient = FloatBuffer(count: count)
    }

    /// The number of elements.
    public var count: Int { value.count }
}
