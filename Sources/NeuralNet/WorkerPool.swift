import CKernels
import Dispatch
import Foundation
import Synchronization

/// A kernel run by a `WorkerPool`: its arguments (a struct on the caller's stack) and the part.
public typealias PartKernel = @convention(c) (UnsafeMutableRawPointer, Int) -> Void
/// A kernel run over a range: its arguments, then the range's start and end.
public typealias RangeKernel = @convention(c) (UnsafeMutableRawPointer, Int, Int) -> Void

/// A fixed team of threads that run the parts of one job together: `run` hands part 0 to the calling
/// thread and the others to the workers, and returns when all are done.
///
/// Jobs in a training step are small (a tenth of a millisecond), so a worker spins for the next one
/// for a while before it sleeps on a semaphore; waking it costs a signal. A job is a C-convention
/// function and a pointer to its arguments, not a Swift closure: handing a closure to another thread
/// (`withoutActuallyEscaping` and a stored property) allocates on every call, and the training step
/// must not allocate.
public final class WorkerPool: @unchecked Sendable {
    /// The number of threads a job runs on, the caller's included.
    public let width: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    /// `sleeping[w]` is 1 while worker w sleeps (or is about to) on `wakeUp[w]`: one flag a worker,
    /// so a pool may have as many threads as the machine can run.
    private let sleeping: UnsafeMutablePointer<Int32>
    /// Set while a job runs. A second caller meanwhile (another thread, or a job that itself calls
    /// `run`) runs its parts one after another on its own thread instead of waiting or deadlocking.
    private let busy = Atomic<Bool>(false)
    private let wakeUp: [DispatchSemaphore]
    private var kernel: PartKernel?
    private var arguments: UnsafeMutableRawPointer?
    private var parts = 0
    /// The caller's floating-point control word (MXCSR), which the workers take for each job, so a
    /// job's arithmetic is the same on every thread (`SubnormalFlushing`).
    private var control: UInt32 = 0

    /// How many times a worker checks for a new job before it sleeps (about 0.1–1 ms).
    private static let spinLimit = 200_000

    /// The pool the engine uses; `BLASRuntime.setThreads` sizes it. Pools are never freed (their
    /// threads sleep when idle), so resize once, before training.
    nonisolated(unsafe) public private(set) static var shared = WorkerPool(width: 1)

    /// Replaces the shared pool with one of `width` threads (call before training, not during).
    public static func resizeShared(to width: Int) {
        guard width != shared.width else { return }
        shared = WorkerPool(width: width)
    }

    public init(width: Int) {
        precondition(width >= 1, "a pool needs at least one thread")
        self.width = width
        sleeping = .allocate(capacity: width)
        sleeping.initialize(repeating: 0, count: width)
        wakeUp = (0..<width).map { _ in DispatchSemaphore(value: 0) }
        for worker in 1..<max(width, 1) {
            // The thread keeps the pool alive: a pool lives as long as the process.
            let thread = Thread { self.work(as: worker) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `kernel(&arguments, part)` for every part in 0..<parts (at most `width`) and waits for
    /// all of them. The parts must write disjoint memory. Safe to call from several threads at once.
    @inline(__always)
    public func run<Arguments>(parts requested: Int, with arguments: inout Arguments, _ kernel: PartKernel) {
        withUnsafeMutablePointer(to: &arguments) { run(parts: requested, context: UnsafeMutableRawPointer($0), kernel) }
    }

    /// Splits 0..<count into up to `width` contiguous ranges of at least `minimum` elements and runs
    /// `kernel(&arguments, start, end)` on them together. The ranges must write disjoint memory.
    @inline(__always)
    public func runRanges<Arguments>(
        _ count: Int, minimum: Int = 1, with arguments: inout Arguments, _ kernel: RangeKernel
    ) {
        withUnsafeMutablePointer(to: &arguments) { pointer in
            let parts = max(1, min(width, count / max(minimum, 1)))
            guard parts > 1 else {
                if count > 0 { kernel(UnsafeMutableRawPointer(pointer), 0, count) }
                return
            }
            var job = RangeJob(
                arguments: UnsafeMutableRawPointer(pointer), kernel: kernel, count: count,
                chunk: (count + parts - 1) / parts)
            run(parts: parts, with: &job) { raw, part in
                let job = raw.assumingMemoryBound(to: RangeJob.self).pointee
                let start = part * job.chunk
                let end = min(job.count, start + job.chunk)
                if start < end { job.kernel(job.arguments, start, end) }
            }
        }
    }

    private struct RangeJob {
        var arguments: UnsafeMutableRawPointer
        var kernel: RangeKernel
        var count: Int
        var chunk: Int
    }

    private func run(parts requested: Int, context: UnsafeMutableRawPointer, _ kernel: PartKernel) {
        let parts = min(requested, width)
        guard parts > 1, !busy.exchange(true, ordering: .sequentiallyConsistent) else {
            for part in 0..<max(parts, 0) { kernel(context, part) }
            return
        }
        defer { busy.store(false, ordering: .sequentiallyConsistent) }
        self.kernel = kernel
        self.arguments = context
        self.parts = parts
        control = l0_get_fp_control()
        remaining.store(width - 1, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        for worker in 1..<width where l0_flag_exchange(sleeping + worker, 0) != 0 { wakeUp[worker].signal() }
        kernel(context, 0)
        while remaining.load(ordering: .sequentiallyConsistent) > 0 {}
        self.kernel = nil
        self.arguments = nil
    }

    private func work(as worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .sequentiallyConsistent)
            while current == seen {
                spins += 1
                if spins >= Self.spinLimit {
                    _ = l0_flag_exchange(sleeping + worker, 1)
                    if generation.load(ordering: .sequentiallyConsistent) == seen
                        || l0_flag_exchange(sleeping + worker, 0) == 0
                    {
                        // Either nothing new (sleep until signalled) or the caller cleared the flag
                        // and sent a signal that must be consumed.
                        wakeUp[worker].wait()
                    }
                    spins = 0
                }
                current = generation.load(ordering: .sequentiallyConsistent)
            }
            seen = current
            if worker < parts, let kernel, let arguments {
                if l0_get_fp_control() != control { l0_set_fp_control(control) }
                kernel(arguments, worker)
            }
            remaining.subtract(1, ordering: .sequentiallyConsistent)
        }
    }
}
