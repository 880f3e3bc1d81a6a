import Foundation
import NeuralNet
import Testing

@Suite("Worker pool")
struct WorkerPoolTests {
    @Test("Every part runs exactly once, also after the workers have gone to sleep", arguments: [1, 2, 3])
    func everyPartOnce(width: Int) {
        let pool = WorkerPool(width: width)
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: width)
        defer { counts.deallocate() }
        var base = counts.baseAddress!
        for round in 0..<2_000 {
            counts.initialize(repeating: 0)
            let parts = round % width + 1
            pool.run(parts: parts, with: &base) { raw, part in
                raw.assumingMemoryBound(to: UnsafeMutablePointer<Int>.self).pointee[part] += 1
            }
            for part in 0..<width { #expect(counts[part] == (part < parts ? 1 : 0)) }
            // Now and then idle long enough for the workers to sleep and need waking.
            if round % 500 == 499 { usleep(20_000) }
        }
    }

    @Test("A pool wider than 63 threads (a 64-core node) runs every part once, awake and after sleeping")
    func manyThreads() {
        let width = 70
        let pool = WorkerPool(width: width)
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: width)
        defer { counts.deallocate() }
        var base = counts.baseAddress!
        for round in 0..<12 {
            counts.initialize(repeating: 0)
            pool.run(parts: width, with: &base) { raw, part in
                raw.assumingMemoryBound(to: UnsafeMutablePointer<Int>.self).pointee[part] += 1
            }
            #expect(counts.allSatisfy { $0 == 1 }, "round \(round)")
            if round % 4 == 3 { usleep(300_000) }
        }
    }

    @Test("Subnormal results are flushed to zero inside SubnormalFlushing.apply, on every thread of a job, and only there")
    func subnormalFlushing() {
        struct Product {
            var factors: (Float, Float) = (1e-30, 1e-10)  // 1e-40 is subnormal
            var results: (Float, Float) = (-1, -1)
        }
        let pool = WorkerPool(width: 2)
        func run() -> Product {
            var product = Product()
            pool.run(parts: 2, with: &product) { raw, part in
                let product = raw.assumingMemoryBound(to: Product.self)
                let value = product.pointee.factors.0 * product.pointee.factors.1
                if part == 0 { product.pointee.results.0 = value } else { product.pointee.results.1 = value }
            }
            return product
        }
        let flushed = SubnormalFlushing.apply { run() }
        #expect(flushed.results == (0, 0))
        let kept = run()
        #expect(kept.results.0 > 0 && kept.results.0 < Float.leastNormalMagnitude)
        #expect(kept.results.1 == kept.results.0)
    }

    @Test("Ranges cover 0..<count exactly once, in pieces of at least the minimum", arguments: [1, 2, 3])
    func ranges(width: Int) {
        let pool = WorkerPool(width: width)
        for (count, minimum) in [(0, 1), (1, 1), (7, 1), (100, 16), (784, 64), (1000, 600)] {
            let marks = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(count, 1))
            defer { marks.deallocate() }
            marks.initialize(repeating: 0)
            var base = marks.baseAddress!
            pool.runRanges(count, minimum: minimum, with: &base) { raw, from, to in
                let marks = raw.assumingMemoryBound(to: UnsafeMutablePointer<Int>.self).pointee
                // Visits in the millions, the range's size below.
                for i in from..<to { marks[i] += 1_000_000 + (to - from) }
            }
            #expect((0..<count).allSatisfy { marks[$0] / 1_000_000 == 1 }, "count \(count): each element once")
            #expect((0..<count).allSatisfy { marks[$0] % 1_000_000 >= min(minimum, count) }, "count \(count): range sizes")
        }
    }

    @Test("Split matrix products agree with the naive loop", arguments: [1, 2, 3])
    func splitGemm(threads: Int) {
        BLASRuntime.setThreads(threads)
        defer { BLASRuntime.setThreads(1) }
        let random = RandomGenerator(seed: 4)
        for (m, n, k, transposeA, transposeB) in [
            (100, 300, 784, false, false), (784, 300, 100, true, false), (37, 50, 200, true, false), (100, 784, 300, false, true),
        ] {
            let a = FloatBuffer(count: m * k)
            let b = FloatBuffer(count: k * n)
            let ldb = transposeB ? k : n
            for i in 0..<a.count { a.pointer[i] = Float(random.normal()) }
            for i in 0..<b.count { b.pointer[i] = Float(random.normal()) }
            let (fast, naive) = (FloatBuffer(count: m * n), FloatBuffer(count: m * n))
            let lda = transposeA ? m : k
            Gemm.fast(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: lda,
                b: b.pointer, ldb: ldb, beta: 0, c: fast.pointer, ldc: n)
            Gemm.naive(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: lda,
                b: b.pointer, ldb: ldb, beta: 0, c: naive.pointer, ldc: n)
            let worst = zip(fast.array, naive.array).map { abs($0 - $1) / max(1, abs($1)) }.max()!
            #expect(worst < 1e-4, "m \(m) n \(n) k \(k)")
        }
    }
}

@Suite("Worker pool under concurrent callers")
struct WorkerPoolConcurrencyTests {
    @Test("Jobs from several threads at once, and jobs that start jobs, all complete correctly")
    func concurrentAndNested() async {
        let pool = WorkerPool(width: 2)
        let results = await withTaskGroup(of: Bool.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 4)
                    defer { counts.deallocate() }
                    var ok = true
                    for _ in 0..<500 {
                        counts.initialize(repeating: 0)
                        var job = (pool: Unmanaged.passUnretained(pool), counts: counts.baseAddress!)
                        pool.run(parts: 2, with: &job) { raw, part in
                            let job = raw.assumingMemoryBound(to: (pool: Unmanaged<WorkerPool>, counts: UnsafeMutablePointer<Int>).self).pointee
                            job.counts[part] += 1
                            // A nested job: runs inline, on this thread.
                            var inner = job.counts + 2 + part
                            job.pool.takeUnretainedValue().run(parts: 2, with: &inner) { raw, _ in
                                raw.assumingMemoryBound(to: UnsafeMutablePointer<Int>.self).pointee.pointee += 1
                            }
                        }
                        ok = ok && Array(counts) == [1, 1, 2, 2]
                    }
                    return ok && caller >= 0
                }
            }
            var all = [Bool]()
            for await result in group { all.append(result) }
            return all
        }
        #expect(results == [true, true, true, true])
    }
}
