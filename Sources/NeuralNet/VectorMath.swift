/// Elementwise kernels on `SIMD16<Float>` chunks plus a scalar tail, for the loops of the training step
/// that LLVM does not vectorise by itself (it cannot prove the pointers do not alias).
public enum VectorMath {
    public typealias Chunk = SIMD16<Float>
    @usableFromInline static let width = Chunk.scalarCount

    @inline(__always) @usableFromInline static func load(_ p: UnsafePointer<Float>, _ i: Int) -> Chunk {
        UnsafeRawPointer(p + i).loadUnaligned(as: Chunk.self)
    }

    @inline(__always) @usableFromInline static func store(_ v: Chunk, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: Chunk.self)
    }

    /// y = a·x.
    @inline(__always)
    public static func scale(_ x: UnsafePointer<Float>, by a: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count {
            store(load(x, i) * a, y, i)
            i += width
        }
        while i < count {
            y[i] = x[i] * a
            i += 1
        }
    }

    /// y += a·x.
    @inline(__always)
    public static func addScaled(_ x: UnsafePointer<Float>, by a: Float, to y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count {
            store(load(y, i) + load(x, i) * a, y, i)
            i += width
        }
        while i < count {
            y[i] += x[i] * a
            i += 1
        }
    }

    /// z = x ⊙ y.
    @inline(__always)
    public static func multiply(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i + width <= count {
            store(load(x, i) * load(y, i), z, i)
            i += width
        }
        while i < count {
            z[i] = x[i] * y[i]
            i += 1
        }
    }

    /// s += x ⊙ y, and with `w`, s += (x ⊙ y) ⊙ w.
    @inline(__always)
    public static func addProduct(
        _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, times w: UnsafePointer<Float>? = nil,
        to s: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i + width <= count {
            let product = load(x, i) * load(y, i)
            store(load(s, i) + (w.map { product * load($0, i) } ?? product), s, i)
            i += width
        }
        while i < count {
            let product = x[i] * y[i]
            s[i] += w.map { product * $0[i] } ?? product
            i += 1
        }
    }

    /// y = max(x, 0)·z: a ReLU and a scale in one pass (0 where x ≤ 0).
    @inline(__always)
    public static func rectifyAndMultiply(
        _ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let zero = Chunk()
        while i + width <= count {
            let v = load(x, i)
            store(v.replacing(with: 0, where: v .<= zero) * load(z, i), y, i)
            i += width
        }
        while i < count {
            y[i] = (x[i] > 0 ? x[i] : 0) * z[i]
            i += 1
        }
    }

    /// d = g·z where h > 0, else 0: a scale's and a ReLU's backward in one pass (h before the ReLU).
    @inline(__always)
    public static func multiplyWherePositive(
        _ g: UnsafePointer<Float>, _ z: UnsafePointer<Float>, where h: UnsafePointer<Float>,
        into d: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let zero = Chunk()
        while i + width <= count {
            store((load(g, i) * load(z, i)).replacing(with: 0, where: load(h, i) .<= zero), d, i)
            i += width
        }
        while i < count {
            d[i] = h[i] > 0 ? g[i] * z[i] : 0
            i += 1
        }
    }

    /// s += x ⊙ max(h, 0), and with `w`, s += (x ⊙ max(h, 0)) ⊙ w.
    @inline(__always)
    public static func addRectifiedProduct(
        _ x: UnsafePointer<Float>, _ h: UnsafePointer<Float>, times w: UnsafePointer<Float>?,
        to s: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let zero = Chunk()
        while i + width <= count {
            let v = load(h, i)
            let product = load(x, i) * v.replacing(with: 0, where: v .<= zero)
            store(load(s, i) + (w.map { product * load($0, i) } ?? product), s, i)
            i += width
        }
        while i < count {
            let product = x[i] * (h[i] > 0 ? h[i] : 0)
            s[i] += w.map { product * $0[i] } ?? product
            i += 1
        }
    }

    /// y += a·x, returning Σ x² (one pass for an L2 penalty's gradient and value).
    @inline(__always)
    public static func addScaledReturningSumOfSquares(
        _ x: UnsafePointer<Float>, by a: Float, to y: UnsafeMutablePointer<Float>, count: Int
    ) -> Float {
        var lanes = Chunk()
        var i = 0
        while i + width <= count {
            let v = load(x, i)
            lanes += v * v
            store(load(y, i) + v * a, y, i)
            i += width
        }
        var sum = lanes.sum()
        while i < count {
            sum += x[i] * x[i]
            y[i] += x[i] * a
            i += 1
        }
        return sum
    }

    /// y += x.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count {
            store(load(y, i) + load(x, i), y, i)
            i += width
        }
        // Eight at once for short rows (a convolution's 8- and 24-wide rows).
        if i + 8 <= count {
            let sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            y[i] += x[i]
            i += 1
        }
    }

    /// Σ x·y, accumulated in sixteen Float lanes and then summed.
    @inline(__always)
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        var lanes = Chunk()
        var i = 0
        while i + width <= count {
            lanes += load(x, i) * load(y, i)
            i += width
        }
        var sum = lanes.sum()
        while i < count {
            sum += x[i] * y[i]
            i += 1
        }
        return sum
    }

    /// y = x + b.
    @inline(__always)
    public static func addBias(_ b: Float, to x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count {
            store(load(x, i) + b, y, i)
            i += width
        }
        while i < count {
            y[i] = x[i] + b
            i += 1
        }
    }

    /// y = x + b and g = a·y, in one pass (a scaled convolution's output before and after its scale).
    @inline(__always)
    public static func addBias(
        _ b: Float, to x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, scaledBy a: Float,
        into g: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        while i + width <= count {
            let v = load(x, i) + b
            store(v, y, i)
            store(v * a, g, i)
            i += width
        }
        while i < count {
            y[i] = x[i] + b
            g[i] = y[i] * a
            i += 1
        }
    }

    /// y = x, returning Σ x (sixteen lanes, then summed).
    @inline(__always)
    public static func copyReturningSum(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var lanes = Chunk()
        var i = 0
        while i + width <= count {
            let v = load(x, i)
            lanes += v
            store(v, y, i)
            i += width
        }
        var sum = lanes.sum()
        while i < count {
            sum += x[i]
            y[i] = x[i]
            i += 1
        }
        return sum
    }

    /// y = a·x, returning (Σ x·o, Σ y) in one pass (a scale's backward: z·dy, the scale's product and the
    /// bias gradient).
    @inline(__always)
    public static func scaleReturningDotAndSum(
        _ x: UnsafePointer<Float>, by a: Float, into y: UnsafeMutablePointer<Float>, dotWith o: UnsafePointer<Float>,
        count: Int
    ) -> (dot: Float, sum: Float) {
        var (dotLanes, sumLanes) = (Chunk(), Chunk())
        var i = 0
        while i + width <= count {
            let v = load(x, i)
            let scaled = v * a
            dotLanes += v * load(o, i)
            sumLanes += scaled
            store(scaled, y, i)
            i += width
        }
        var (dot, sum) = (dotLanes.sum(), sumLanes.sum())
        while i < count {
            y[i] = x[i] * a
            dot += x[i] * o[i]
            sum += y[i]
            i += 1
        }
        return (dot, sum)
    }

    /// y = max(x, 0).
    @inline(__always)
    public static func relu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let zero = Chunk()
        while i + width <= count {
            store(pointwiseMax(load(x, i), zero), y, i)
            i += width
        }
        while i < count {
            y[i] = max(x[i], 0)
            i += 1
        }
    }

    /// dx = dy where y > 0, else 0.
    @inline(__always)
    public static func reluBackward(
        output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        var i = 0
        let zero = Chunk()
        while i + width <= count {
            store(load(dy, i).replacing(with: 0, where: load(y, i) .<= zero), dx, i)
            i += width
        }
        while i < count {
            dx[i] = y[i] > 0 ? dy[i] : 0
            i += 1
        }
    }
}
