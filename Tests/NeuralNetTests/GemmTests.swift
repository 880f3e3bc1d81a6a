import NeuralNet
import Testing

@Suite("Matrix products")
struct GemmTests {
    @Test(
        "OpenBLAS agrees with the naive triple loop",
        arguments: [
            (1, 1, 1, false, false), (3, 5, 7, false, false), (17, 9, 33, true, false), (64, 31, 5, false, true),
            (100, 300, 784, false, false), (784, 300, 100, true, false), (100, 784, 300, false, true),
            (13, 29, 11, true, true), (100, 500, 800, false, false), (300, 100, 100, true, false),
            (100, 100, 300, false, false),
        ])
    func fastMatchesNaive(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) {
        let random = RandomGenerator(seed: 3)
        let a = FloatBuffer(count: m * k)
        let b = FloatBuffer(count: k * n)
        for i in 0..<a.count { a.pointer[i] = Float(random.normal()) }
        for i in 0..<b.count { b.pointer[i] = Float(random.normal()) }
        let fast = FloatBuffer(count: m * n)
        let naive = FloatBuffer(count: m * n)
        for i in 0..<(m * n) {
            fast.pointer[i] = Float(i % 7)
            naive.pointer[i] = Float(i % 7)
        }
        let lda = transposeA ? m : k
        let ldb = transposeB ? k : n
        Gemm.fast(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.pointer, lda: lda,
            b: b.pointer, ldb: ldb, beta: 2, c: fast.pointer, ldc: n)
        Gemm.naive(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.5, a: a.pointer, lda: lda,
            b: b.pointer, ldb: ldb, beta: 2, c: naive.pointer, ldc: n)
        // Float accumulation error grows like √k·ε·|terms|; terms are O(1) normals.
        let tolerance = Float(1e-5) * Float(k).squareRoot() * 8 + 1e-5
        for i in 0..<(m * n) {
            #expect(abs(fast.pointer[i] - naive.pointer[i]) <= tolerance * max(1, abs(naive.pointer[i])))
        }
    }
}
