import Dispatch
import Foundation
import Synchronization

/// A fixed team of threads that run the parts of one job together: `run(parts)` hands part 0 to the
/// calling thread and the others to the workers, and returns when all are done.
///
/// Jobs in a training step are small (a tenth of a millisecond), so a worker spins for the next one
/// for a while before it sleeps on a semaphore; waking it costs a signal. No job allocates: the
/// closure is passed without escaping and only called while `run` waits.
public final class WorkerPool: @unchecked Sendable {
    /// The number of threads a job runs on, the caller's included.
    public let width: Int
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    /// Bit w is set while worker w sleeps (or is about to) on `wakeUp[w]`.
    private let sleeping = Atomic<Int>(0)
    private let wakeUp: [DispatchSemaphore]
    private var job: ((Int) -> Void)?
    private var parts = 0

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
        precondition(width >= 1 && width <= Int.bitWidth - 1, "a pool needs 1…63 threads")
        self.width = width
        wakeUp = (0..<width).map { _ in DispatchSemaphore(value: 0) }
        for worker in 1..<max(width, 1) {
            // The thread keeps the pool alive: a pool lives as long as the process.
            let thread = Thread { self.work(as: worker) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `body(part)` for every part in 0..<parts (at most `width`) and waits for all of them. The
    /// parts must write disjoint memory.
    public func run(parts requested: Int, _ body: (Int) -> Void) {
        let parts = min(requested, width)
        guard parts > 1 else {
            if parts == 1 { body(0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            self.parts = parts
            remaining.store(width - 1, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            let asleep = sleeping.exchange(0, ordering: .sequentiallyConsistent)
            if asleep != 0 {
                for worker in 1..<width where asleep & (1 << worker) != 0 { wakeUp[worker].signal() }
            }
            body(0)
            while remaining.load(ordering: .sequentiallyConsistent) > 0 {}
            job = nil
        }
    }

    /// Splits 0..<count into up to `width` contiguous ranges of at least `minimum` elements and runs
    /// `body` on them together. The ranges must write disjoint memory.
    @inline(__always)
    public func runRanges(_ count: Int, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = max(1, min(width, count / max(minimum, 1)))
        guard parts > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        let chunk = (count + parts - 1) / parts
        run(parts: parts) { part in
            let start = part * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }

    private func work(as worker: Int) {
        var seen = 0
        while true {
            var spins = 0
            var current = generation.load(ordering: .sequentiallyConsistent)
            while current == seen {
                spins += 1
                if spins >= Self.spinLimit {
                    let bit = 1 << worker
                    sleeping.bitwiseOr(bit, ordering: .sequentiallyConsistent)
                    if generation.load(ordering: .sequentiallyConsistent) == seen
                        || sleeping.bitwiseAnd(~bit, ordering: .sequentiallyConsistent).oldValue & bit == 0
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
            if worker < parts { perform(part: worker) }
            remaining.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Calls the job in its own frame, so every reference to the closure is released before the
    /// worker reports the part done.
    @inline(never) private func perform(part: Int) {
        job?(part)
    }
}
