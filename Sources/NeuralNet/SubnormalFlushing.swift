import CKernels

/// Training runs with subnormal floats flushed to zero (x86 MXCSR flush-to-zero and
/// denormals-are-zero). Values below 2⁻¹²⁶ ≈ 1.2·10⁻³⁸ are far below anything a float32 network
/// resolves, but the CPU handles them in microcode at tens to hundreds of times the cost: late in a
/// long run, when gradients of saturated units decay towards zero, a dense LeNet-5 epoch slowed from
/// 4.5 s to 40 s without this. The setting belongs to a thread; `WorkerPool` gives each job's workers
/// the caller's setting, so results do not depend on which thread runs which part.
public enum SubnormalFlushing {
    /// Runs `body` with subnormals flushed to zero on this thread (and so in its pool jobs), then
    /// restores the thread's previous setting.
    @inline(__always)
    public static func apply<Result>(_ body: () throws -> Result) rethrows -> Result {
        let previous = l0_get_fp_control()
        l0_set_fp_control(previous | UInt32(L0_FLUSH_SUBNORMALS))
        defer { l0_set_fp_control(previous) }
        return try body()
    }
}
