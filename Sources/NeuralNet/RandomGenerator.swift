import CKernels
import Foundation

/// A seeded pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018), its state filled by
/// SplitMix64 from a seed and a stream number, so that independent streams (initialisation, training)
/// come from one user-facing seed. The same seed and stream give the same bits on every machine.
///
/// Floating-point draws are built from the top bits of one 64-bit output, so they are exact and
/// platform-independent. Normals use Box–Muller with both uniforms drawn fresh each call (no cached
/// second value), so the whole state is the four words of `state`.
public final class RandomGenerator {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The four words of xoshiro256** state (save them to resume a stream exactly).
    public var state: [UInt64] { [s0, s1, s2, s3] }

    public init(seed: UInt64, stream: UInt64 = 0) {
        var mix = seed &+ stream &* 0xD1B5_4A32_D192_ED03
        var words = [UInt64]()
        for _ in 0..<4 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }

    /// Restores a generator from saved state words.
    public init(state: [UInt64]) {
        precondition(state.count == 4 && state.contains { $0 != 0 }, "xoshiro256** needs four words, not all zero")
        (s0, s1, s2, s3) = (state[0], state[1], state[2], state[3])
    }

    /// The next 64 random bits.
    @inline(__always) public func next() -> UInt64 {
        let result = rotate(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotate(s3, 45)
        return result
    }

    /// A uniform Double in [0, 1) with 53 random bits.
    @inline(__always) public func uniform() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform Float in [0, 1) with 24 random bits.
    @inline(__always) public func uniformFloat() -> Float {
        Float(next() >> 40) * 0x1.0p-24
    }

    /// Inverted dropout of `count` values: mask[i] = 0 when the i-th `uniformFloat()` draw is below
    /// `rate`, else `scale`, and output[i] = input[i]·mask[i]; the same draws and values as that
    /// loop in Swift, in C with the state in registers.
    public func dropout(
        input: UnsafePointer<Float>, mask: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int, rate: Float,
        scale: Float
    ) {
        var words = (s0, s1, s2, s3)
        withUnsafeMutableBytes(of: &words) { raw in
            l0_dropout_forward(raw.baseAddress!.assumingMemoryBound(to: UInt64.self), input, mask, output, count, rate, scale)
        }
        (s0, s1, s2, s3) = words
    }

    /// A standard normal draw (Box–Muller).
    public func normal() -> Double {
        let u1 = 1.0 - uniform()  // in (0, 1]
        let u2 = uniform()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// A uniform integer in 0..<bound, without modulo bias (Lemire's method).
    public func integer(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Shuffles `indices` in place (Fisher–Yates).
    public func shuffle(_ indices: UnsafeMutableBufferPointer<Int32>) {
        guard indices.count > 1 else { return }
        for i in stride(from: indices.count - 1, to: 0, by: -1) {
            indices.swapAt(i, integer(below: i + 1))
        }
    }

    @inline(__always) private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
