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

    /// y += x.
    @inline(__always)
    public static func add(_ x: UnsafePointer<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + width <= count {
            store(load(y, i) + load(x, i), y, i)
            i += width
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

    /// z = a·x and Σ w·x in one pass: the gated weight gradient and the gate's gradient.
    @inline(__always)
    public static func scaleAndDot(
        _ x: UnsafePointer<Float>, by a: Float, into z: UnsafeMutablePointer<Float>, dotWith w: UnsafePointer<Float>,
        count: Int
    ) -> Float {
        var lanes = Chunk()
        var i = 0
        while i + width <= count {
            let v = load(x, i)
            store(v * a, z, i)
            lanes += v * load(w, i)
            i += width
        }
        var sum = lanes.sum()
        while i < count {
            z[i] = x[i] * a
            sum += x[i] * w[i]
            i += 1
        }
        return sum
    }

    /// One Adam step over `count` elements; `stepSize` = lr / (1 − β₁ᵗ), `root2` = √(1 − β₂ᵗ).
    @inline(__always)
    public static func adam(
        theta: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>, first m: UnsafeMutablePointer<Float>,
        second v: UnsafeMutablePointer<Float>, count: Int, beta1: Float, beta2: Float, epsilon: Float,
        stepSize: Float, root2: Float
    ) {
        var i = 0
        let inverseRoot2 = 1 / root2
        while i + width <= count {
            let gi = load(g, i)
            let mi = beta1 * load(m, i) + (1 - beta1) * gi
            let vi = beta2 * load(v, i) + (1 - beta2) * gi * gi
            store(mi, m, i)
            store(vi, v, i)
            store(load(theta, i) - stepSize * mi / (vi.squareRoot() * inverseRoot2 + epsilon), theta, i)
            i += width
        }
        while i < count {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
            theta[i] -= stepSize * m[i] / (v[i].squareRoot() * inverseRoot2 + epsilon)
            i += 1
        }
    }

    /// avg = decay·avg + (1 − decay)·x.
    @inline(__always)
    public static func movingAverage(
        _ x: UnsafePointer<Float>, into average: UnsafeMutablePointer<Float>, decay: Float, count: Int
    ) {
        var i = 0
        while i + width <= count {
            store(decay * load(average, i) + (1 - decay) * load(x, i), average, i)
            i += width
        }
        while i < count {
            average[i] = decay * average[i] + (1 - decay) * x[i]
            i += 1
        }
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
