import CBLAS
import Foundation

/// Row-major matrix products `C = alpha·op(A)·op(B) + beta·C`, where op(X) is X or its transpose.
/// `m × k` is op(A), `k × n` is op(B), `m × n` is C; `lda`, `ldb`, `ldc` are the row strides of the
/// matrices as stored. `fast` calls OpenBLAS; `naive` is the reference the tests compare against.
public enum Gemm {
    /// Products smaller than this many multiply-adds run on one thread.
    static let parallelThreshold = 1 << 17

    /// The most pieces a product is cut into.
    static let maximumPieces = 4

    /// OpenBLAS `cblas_sgemm`, single-threaded, with C cut into pieces that `WorkerPool.shared` runs
    /// together: by rows when m ≥ n, else by columns, so that each thread packs only its share of
    /// the larger operand. OpenBLAS's own threading costs more than it gains on the products of a
    /// training step (a few tens of MFLOP each). The pieces are an even number, as equal as multiples
    /// of four allow, and each thread takes a run of consecutive ones: uneven shares (64 and 36 rows,
    /// or two pieces of three) left a thread waiting for the other.
    ///
    /// The pieces depend on the shape only, never on the thread count: OpenBLAS may pick different
    /// kernels (and roundings) for different sub-shapes, and a run must give the same bytes on any
    /// number of cores.
    ///
    /// With `split` false the product runs whole on the calling thread (as `serial`), for callers
    /// that run several products side by side.
    ///
    /// `rowsDone`, when given, is called with ranges of C's rows that are final, together covering
    /// 0..<m once: when the product is cut by rows, right after each piece on the thread that
    /// computed it (its rows still in that core's cache); otherwise over the pool after the product.
    @inline(__always)
    public static func fast(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, split: Bool = true, rowsDone: RowsDone? = nil
    ) {
        guard m > 0, n > 0 else { return }
        let pool = WorkerPool.shared
        let byRows = m >= n
        let length = byRows ? m : n
        // At least two pieces once a product is worth four thread hand-offs (the MLP's 300→100 layer).
        let fewest = m * n * k >= 4 * parallelThreshold ? 2 : 1
        // An even count (3 → 4), so that two threads get the same share.
        let wanted = !split || m * n * k < parallelThreshold ? 1 : min(maximumPieces, max(fewest, length / 128))
        let pieces = wanted > 1 ? (wanted + 1) / 2 * 2 : 1
        guard pieces > 1 else {
            blas(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            if let rowsDone { split ? rowsDone.run(rows: m) : rowsDone.kernel(rowsDone.arguments, 0, m) }
            return
        }
        var job = Pieces(
            transposeA: transposeA, transposeB: transposeB, byRows: byRows, m: m, n: n, k: k, alpha: alpha, a: a,
            lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, pieces: pieces,
            perPiece: ((length + pieces - 1) / pieces + 3) / 4 * 4, threads: min(pieces, pool.width),
            rowsDone: byRows ? rowsDone : nil)
        pool.run(parts: job.threads, with: &job) { raw, part in
            let job = raw.assumingMemoryBound(to: Pieces.self).pointee
            for piece in (part * job.pieces / job.threads)..<((part + 1) * job.pieces / job.threads) { job.multiply(piece: piece) }
        }
        if !byRows { rowsDone?.run(rows: m) }
    }

    /// Work on rows of a product's result once they are final (`fast`'s `rowsDone`): a C-convention
    /// function of its arguments (a struct the caller keeps alive) and a range of rows.
    public struct RowsDone {
        let kernel: RangeKernel
        let arguments: UnsafeMutableRawPointer

        public init(arguments: UnsafeMutableRawPointer, _ kernel: RangeKernel) {
            (self.kernel, self.arguments) = (kernel, arguments)
        }

        func run(rows: Int) {
            var job = self
            WorkerPool.shared.runRanges(rows, minimum: 16, with: &job) { raw, from, to in
                let job = raw.assumingMemoryBound(to: RowsDone.self).pointee
                job.kernel(job.arguments, from, to)
            }
        }
    }

    /// A product cut into pieces along the rows or the columns of C.
    struct Pieces {
        var transposeA: Bool, transposeB: Bool, byRows: Bool
        var m: Int, n: Int, k: Int
        var alpha: Float
        var a: UnsafePointer<Float>, lda: Int
        var b: UnsafePointer<Float>, ldb: Int
        var beta: Float
        var c: UnsafeMutablePointer<Float>, ldc: Int
        var pieces: Int, perPiece: Int, threads: Int
        var rowsDone: RowsDone?

        func multiply(piece: Int) {
            let start = piece * perPiece
            let size = min(perPiece, (byRows ? m : n) - start)
            guard size > 0 else { return }
            if byRows {
                blas(
                    transposeA, transposeB, size, n, k, alpha, transposeA ? a + start : a + start * lda, lda, b, ldb,
                    beta, c + start * ldc, ldc)
                if let rowsDone { rowsDone.kernel(rowsDone.arguments, start, start + size) }
            } else {
                blas(
                    transposeA, transposeB, m, size, k, alpha, a, lda, transposeB ? b + start * ldb : b + start, ldb,
                    beta, c + start, ldc)
            }
        }
    }

    /// One OpenBLAS call on the calling thread, for code that splits the work itself.
    @inline(__always)
    public static func serial(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(k > 0, "an empty inner dimension")
        guard m > 0, n > 0 else { return }
        blas(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    @inline(__always)
    static func blas(
        _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// The textbook triple loop, accumulating in Double: the reference for `fast`.
    public static func naive(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let aValue = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bValue = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(aValue) * Double(bValue)
                }
                let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * sum + previous)
            }
        }
    }
}

/// The BLAS library in use and the engine's thread count.
public enum BLASRuntime {
    /// Sets the number of threads the engine uses: OpenBLAS itself runs single-threaded and the
    /// engine splits products and updates over a `WorkerPool` of `count` threads.
    public static func setThreads(_ count: Int) {
        precondition(count > 0, "thread count must be positive")
        openblas_set_num_threads(1)
        WorkerPool.resizeShared(to: count)
    }

    /// The number of threads the engine uses.
    public static var threads: Int { WorkerPool.shared.width }

    /// OpenBLAS's own description of its build, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: text).trimmingCharacters(in: .whitespaces)
    }

    /// The kernel family to ask OpenBLAS for (through OPENBLAS_CORETYPE, read when the library loads)
    /// when its own detection fell back to an old generic family on a newer CPU — as OpenBLAS 0.3.21
    /// does on Sapphire Rapids, running SSE3 kernels at a fifth of the AVX-512 speed. Nil when the
    /// detected family is fine.
    public static func recommendedCoreType(cpuFlags: Set<Substring>? = nil) -> String? {
        let fallbacks: Set<String> = [
            "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
            "coppermine", "northwood", "banias", "barcelona", "opteron", "unknown",
        ]
        guard fallbacks.contains(coreName.lowercased()), let flags = cpuFlags ?? cpuFlagsFromProc() else { return nil }
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy({ flags.contains($0[...]) }) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy({ flags.contains($0[...]) }) { return "Haswell" }
        return nil
    }

    static func cpuFlagsFromProc() -> Set<Substring>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return nil }
        return Set(line[line.index(after: colon)...].split(separator: " "))
    }

    /// The CPU kernel family OpenBLAS picked, e.g. "Haswell".
    public static var coreName: String {
        guard let text = openblas_get_corename() else { return "unknown" }
        return String(cString: text)
    }
}
