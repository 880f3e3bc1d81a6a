import CKernels
import Foundation
import NeuralNet

/// Fully connected layer with one hard concrete gate per input unit (DESIGN §1.3): gate z_i scales row
/// i of W, so a closed gate removes an input and its `outputs` fan-out weights (|g| = outputs).
///
/// Shapes: input (batch, inputs); weight (inputs, outputs); bias (outputs); logAlpha (inputs);
/// output (batch, outputs).
///
/// The gate is applied to the input, y = (x ⊙ z)·W + b, which equals x·(diag(z)·W) + b for a shared
/// gate and costs batch·inputs multiplications instead of inputs·outputs. Then dW = (x ⊙ z)ᵀ·dy comes
/// straight from one matrix product. For a shared gate dL/dz_i = Σ_j W_ij·(xᵀ·dy)_ij = Σ_j W_ij·dW_ij / z_i,
/// needed only where 0 < z_i < 1 (elsewhere dz/d log α = 0), so the first layer skips the input
/// gradient product. Per-example gates need d(x ⊙ z) = dy·Wᵀ for dL/dz.
///
/// Closed gates are skipped (DESIGN §1.5, conditional computation): with one gate sample shared by
/// the batch, a group whose z is exactly 0 (and so dz/d log α = 0) contributes nothing to the step.
/// So is an input that is 0 in every example of the batch (behind a closed gate or a dead ReLU of the
/// layer before, or a blank pixel), for the forward and dW. The forward and dW then multiply by the
/// live groups only (open, and an input not 0 throughout): x̃ and W are compacted to their columns
/// and rows. dx̃ is computed for the open groups' columns. The other rows and columns of dW and dx̃ are
/// 0. The same mathematics as the dense products; per-example gates keep the dense path.
///
/// Penalty (λ and the decay already divided by N): Σ_i π_i·(λ·outputs + (decay/2)·Σ_j W_ij²)
/// + (decay/2)·Σ_j b_j², with π_i = P(z_i ≠ 0).
public final class L0Dense: Layer, Penalized, GatedLayer, UpdatesWeightsInBackward {
    public let name: String
    public let inputs: Int
    public let outputs: Int
    public let weight: Parameter
    public let bias: Parameter
    public let gates: HardConcreteGates
    public let lambda: Float
    public let decay: Float
    public var parameters: [Parameter] { [weight, bias, gates.logAlpha] }
    public var outputShape: [Int] { [outputs] }

    let output: Tensor  // (batch, outputs)
    let inputGradient: Tensor  // (batch, inputs)
    let gatedInput: Tensor  // (batch, inputs): x ⊙ z, or (batch, live) when compacted
    /// The live groups of the last shared draw (`liveCount` of them, in order): open (z ≠ 0 or
    /// dz ≠ 0) and with an input that is not 0 in every example.
    let liveIndex: UnsafeMutablePointer<Int>
    private(set) var liveCount = 0
    /// The open groups of the last shared draw (`openCount`, in order): dx̃'s columns to compute.
    let openIndex: UnsafeMutablePointer<Int>
    private(set) var openCount = 0
    /// Scratch: whether input i is not 0 (not ≤ 0, with a rectified input) in some example.
    let inputSeen: UnsafeMutablePointer<UInt8>
    let liveWeights: FloatBuffer  // (live, outputs): W's live rows
    let openWeights: FloatBuffer  // (open, outputs): W's open rows, when there are more than the live ones
    let liveWeightGradient: FloatBuffer  // (live, outputs): dW's live rows
    let openInputGradient: FloatBuffer  // (batch, open): dx̃'s open columns
    private var input: Tensor?
    /// The optimiser's step for the weights, to apply in the next backward (`scheduleUpdate`).
    private var scheduledUpdate: (step: InPlaceStep, slot: Int)?
    /// Whether the last backward already did the per-group part of the penalty.
    private var penaltyPrepared = false
    /// Raised in a two-task backward once the input gradient's product has read W (`TwoTasks`).
    private let weightsRead: UnsafeMutablePointer<Int32>

    /// Whether the input is a pre-activation that the layer passes through a ReLU first: the layer
    /// then computes max(h, 0) ⊙ z in the pass that gates the input, and takes the ReLU's gradient
    /// in the pass that gates the input gradient, instead of a separate `ReLU` layer before it (the
    /// same function and gradients).
    public let rectifiesInput: Bool

    public init(
        name: String, inputs: Int, outputs: Int, maxBatch: Int, lambda: Float, decay: Float,
        perExampleGates: Bool = false, rectifiesInput: Bool = false
    ) {
        self.name = name
        self.rectifiesInput = rectifiesInput
        self.inputs = inputs
        self.outputs = outputs
        self.lambda = lambda
        self.decay = decay
        weight = Parameter(name: "\(name).weight", shape: [inputs, outputs], role: .weight)
        bias = Parameter(name: "\(name).bias", shape: [outputs], role: .bias)
        gates = HardConcreteGates(name: name, groups: inputs, perExample: perExampleGates, maxBatch: maxBatch)
        output = Tensor(maxBatch: maxBatch, featureShape: [outputs])
        inputGradient = Tensor(maxBatch: maxBatch, featureShape: [inputs])
        gatedInput = Tensor(maxBatch: maxBatch, featureShape: [inputs])
        weightsRead = .allocate(capacity: 1)
        weightsRead.initialize(to: 0)
        liveIndex = .allocate(capacity: inputs)
        liveIndex.initialize(repeating: 0, count: inputs)
        openIndex = .allocate(capacity: inputs)
        openIndex.initialize(repeating: 0, count: inputs)
        inputSeen = .allocate(capacity: inputs)
        inputSeen.initialize(repeating: 0, count: inputs)
        liveWeights = FloatBuffer(count: inputs * outputs)
        openWeights = FloatBuffer(count: inputs * outputs)
        liveWeightGradient = FloatBuffer(count: inputs * outputs)
        openInputGradient = FloatBuffer(count: maxBatch * inputs)
    }

    deinit {
        weightsRead.deallocate()
        liveIndex.deallocate()
        openIndex.deallocate()
        inputSeen.deallocate()
    }

    /// Lists the open and the live groups of a shared draw and copies the live rows of W; with
    /// per-example gates, or when every group is live, `liveCount` and `openCount` are `inputs`.
    private func findGroups(_ input: Tensor) {
        let (z, dz) = (gates.values.pointer, gates.derivatives.pointer)
        (liveCount, openCount) = (inputs, inputs)
        guard !gates.lastDrawPerExample else { return }
        let seen = inputSeen
        l0_mark_live_columns(input.pointer, input.batch, inputs, rectifiesInput ? 1 : 0, seen)
        var (live, open) = (0, 0)
        for i in 0..<inputs where z[i] != 0 || dz[i] != 0 {
            openIndex[open] = i
            open += 1
            if seen[i] != 0 {
                liveIndex[live] = i
                live += 1
            }
        }
        (liveCount, openCount) = (live, open)
        guard live < inputs else { return }
        let (w, rows) = (weight.value.pointer, liveWeights.pointer)
        for n in 0..<live { (rows + n * outputs).update(from: w + liveIndex[n] * outputs, count: outputs) }
    }

    /// He-normal weights (std √(2 / inputs)), zero bias, log α for the given drop rate.
    public func initialize(dropRate: Double, random: RandomGenerator) {
        let std = (2.0 / Double(inputs)).squareRoot()
        for i in 0..<weight.count { weight.value.pointer[i] = Float(random.normal() * std) }
        bias.value.fill(0)
        gates.initialize(dropRate: dropRate, random: random)
    }

    public func forward(_ input: Tensor, mode: Mode, random: RandomGenerator) -> Tensor {
        precondition(input.featureCount == inputs, "\(name): expected \(inputs) inputs, got \(input.featureCount)")
        self.input = input
        let (rows, outputs) = (input.batch, self.outputs)
        gates.draw(mode: mode, batch: rows, random: random)
        findGroups(input)
        var job = Job(layer: self, input: input)
        WorkerPool.shared.runRanges(rows, minimum: rowsPerPart, with: &job) { raw, from, to in
            raw.assumingMemoryBound(to: Job.self).pointee.gateInputs(rows: from..<to)
        }
        gatedInput.batch = rows
        Dense.broadcastBias(bias.value.pointer, into: output.pointer, rows: rows, columns: outputs)
        let live = job.live
        if live > 0 {
            Gemm.fast(
                transposeA: false, transposeB: false, m: rows, n: outputs, k: live, alpha: 1, a: gatedInput.pointer, lda: live,
                b: job.liveCompact ? liveWeights.pointer : weight.value.pointer, ldb: outputs, beta: 1, c: output.pointer, ldc: outputs)
        }
        return output.resized(to: rows)
    }

    public func backward(_ outputGradient: Tensor, needsInputGradient: Bool) -> Tensor? {
        guard let input else { preconditionFailure("\(name): backward before forward") }
        let (rows, inputs, outputs) = (input.batch, self.inputs, self.outputs)
        let perExample = gates.lastDrawPerExample
        let (w, dw) = (weight.value.pointer, weight.gradient.pointer)
        Dense.sumRows(outputGradient.pointer, rows: rows, columns: outputs, into: bias.gradient.pointer)
        var job = Job(layer: self, input: input, outputGradient: outputGradient)
        // log α's gradient comes from the weight gradient when the gates are shared and nothing needs
        // the input gradient (the first layer); otherwise from the input gradient.
        let fromWeights = !needsInputGradient && !perExample
        let scheduled = scheduledUpdate.map { step, slot in
            precondition(!perExample, "\(name): an update scheduled with per-example gates")
            return FinalRows(
                job: job, penalty: gates.groupPenalty(weights: w, weightGradient: dw, groupSize: outputs, lambda: lambda, decay: decay),
                step: step, slot: slot, logAlphaFromWeights: fromWeights)
        }
        scheduledUpdate = nil
        penaltyPrepared = scheduled != nil
        // A small layer computes each product whole, with or without a scheduled update, so that both
        // give the same bytes whatever the BLAS kernel (some round a product cut into pieces otherwise).
        let small = needsInputGradient && rows * inputs * outputs <= Self.twoTaskProducts
        if let scheduled, small {
            weightsRead.pointee = 0
            var tasks = TwoTasks(weightRows: scheduled, weightsRead: weightsRead)
            if WorkerPool.shared.width >= 2 {
                WorkerPool.shared.run(parts: 2, with: &tasks) { raw, part in
                    let tasks = raw.assumingMemoryBound(to: TwoTasks.self).pointee
                    if part == 0 { tasks.inputGradient() } else { tasks.weightGradient() }
                }
            } else {
                tasks.inputGradient()
                tasks.weightGradient()
            }
            return inputGradient.resized(to: rows)
        }
        if !fromWeights {
            // dx̃ = dy·Wᵀ, before any update of W; then dx = dx̃ ⊙ z.
            job.multiplyForInputGradient(split: !small)
            if job.openCompact {
                WorkerPool.shared.runRanges(rows, minimum: rowsPerPart, with: &job) { raw, from, to in
                    raw.assumingMemoryBound(to: Job.self).pointee.spreadInputGradient(rows: from..<to)
                }
            }
            WorkerPool.shared.runRanges(inputs, minimum: max(32, Self.valuesPerPart / rows), with: &job) { raw, from, to in
                raw.assumingMemoryBound(to: Job.self).pointee.logAlphaGradientFromInputs(inputs: from..<to)
            }
            if needsInputGradient {
                WorkerPool.shared.runRanges(rows, minimum: rowsPerPart, with: &job) { raw, from, to in
                    raw.assumingMemoryBound(to: Job.self).pointee.gateInputGradient(rows: from..<to)
                }
            }
        }
        if var scheduled {
            // Each row of dW as it is final, on the thread that computed it: the log α gradient from
            // it (first layer), then the penalty's part for that group, then the optimiser's step.
            withUnsafeMutablePointer(to: &scheduled) { arguments in
                job.multiplyForWeightGradient(
                    split: true,
                    rowsDone: Gemm.RowsDone(arguments: UnsafeMutableRawPointer(arguments)) { raw, from, to in
                        raw.assumingMemoryBound(to: FinalRows.self).pointee.finish(productRows: from..<to)
                    })
            }
            // The other groups' rows of dW are 0; their penalty and step still run.
            if job.liveCompact {
                WorkerPool.shared.runRanges(inputs - job.live, minimum: 16, with: &scheduled) { raw, from, to in
                    raw.assumingMemoryBound(to: FinalRows.self).pointee.finishSkipped(from..<to)
                }
            }
        } else {
            job.multiplyForWeightGradient(split: !small)
            if job.liveCompact {
                WorkerPool.shared.runRanges(inputs, minimum: 64, with: &job) { raw, from, to in
                    raw.assumingMemoryBound(to: Job.self).pointee.spreadWeightGradient(rows: from..<to)
                }
            }
            if fromWeights {
                WorkerPool.shared.runRanges(inputs, minimum: 64, with: &job) { raw, from, to in
                    raw.assumingMemoryBound(to: Job.self).pointee.logAlphaGradientFromWeights(inputs: from..<to)
                }
            }
        }
        return needsInputGradient ? inputGradient.resized(to: rows) : nil
    }

    /// The fewest values an elementwise pass gives a thread. A smaller pass (the MLP's 100→10 layer)
    /// stays on the calling thread, where the small products before it left its data: handing half
    /// to another core costs more than it saves.
    static let valuesPerPart = 12_288

    /// The fewest rows of the batch per thread in an elementwise pass over (batch, inputs).
    var rowsPerPart: Int { max(16, Self.valuesPerPart / inputs) }

    public func accumulatePenalty() -> Double {
        let total =
            penaltyPrepared
            ? gates.finishGroupPenalty()
            : gates.accumulateGroupPenalty(
                weights: weight.value.pointer, weightGradient: weight.gradient.pointer, groupSize: outputs,
                lambda: lambda, decay: decay)
        penaltyPrepared = false
        return decay == 0 ? total : total + Dense.addL2(bias, decay: decay)
    }

    /// With gates shared by the batch, the weight gradient's rows are final right after their
    /// product (nothing else adds to them but the penalty), so the backward can finish each row: log
    /// α's gradient (first layer), the penalty, then the optimiser's step, with the same arithmetic
    /// as when they run one after the other. The input gradient, which reads W, comes first. Not with
    /// per-example gates.
    public func scheduleUpdate(_ step: InPlaceStep, slot: (Parameter) -> Int) -> Parameter? {
        guard !gates.perExample else { return nil }
        scheduledUpdate = (step, slot(weight))
        return weight
    }

    /// Products up to this many multiply-adds (batch·inputs·outputs: the MLP's 300→100 and 100→10
    /// layers, LeNet-5's 500→10) are too small to split well over threads; a backward with an update
    /// scheduled then runs as two tasks side by side instead (`TwoTasks`).
    static let twoTaskProducts = 4 << 20

    /// A small layer's backward as two tasks on two threads, each product whole and its data staying
    /// on one core: (0) dx̃ = dy·Wᵀ, log α's gradient from it and the input gradient; (1) dW = x̃ᵀ·dy,
    /// the penalty's part, and, once task 0's product has read W, the optimiser's step. Each sum is
    /// the same as when they run one after the other; run in order on one thread, task 0 comes first.
    struct TwoTasks {
        let weightRows: FinalRows
        let weightsRead: UnsafeMutablePointer<Int32>

        func inputGradient() {
            let job = weightRows.job
            job.multiplyForInputGradient(split: false)
            job.spreadInputGradient(rows: 0..<job.rows)
            l0_flag_raise(weightsRead)
            job.logAlphaGradientFromInputs(inputs: 0..<job.inputs)
            job.gateInputGradient(rows: 0..<job.rows)
        }

        func weightGradient() {
            let job = weightRows.job
            job.multiplyForWeightGradient(split: false)
            job.spreadWeightGradient(rows: 0..<job.inputs)
            weightRows.penalty.costs(groups: 0..<job.inputs)
            l0_flag_wait(weightsRead)
            weightRows.step.update(slot: weightRows.slot, range: 0..<(job.inputs * job.outputs))
        }
    }

    /// Rows of dW finished in turn (`scheduleUpdate`), over pointers only.
    struct FinalRows {
        let job: Job
        let penalty: HardConcreteGates.GroupPenalty
        let step: InPlaceStep
        let slot: Int
        let logAlphaFromWeights: Bool

        /// Rows of the weight gradient's product: dW's rows, or its live rows when compacted (each
        /// copied to its place in dW first).
        func finish(productRows rows: Range<Int>) {
            for n in rows {
                let i = job.liveCompact ? job.liveIndex[n] : n
                if job.liveCompact { (job.dw + i * job.outputs).update(from: job.liveWeightGradient + n * job.outputs, count: job.outputs) }
                finish(row: i)
            }
        }

        /// The groups that are not live, from..<to of them in order, when compacted: dW's row 0, then
        /// as any row.
        func finishSkipped(_ range: Range<Int>) {
            // The k-th group that is not live, for k in range: walk the groups, skipping live ones.
            var (n, k) = (0, 0)
            for i in 0..<job.inputs {
                if n < job.live && job.liveIndex[n] == i {
                    n += 1
                    continue
                }
                if k >= range.upperBound { break }
                if k >= range.lowerBound {
                    (job.dw + i * job.outputs).update(repeating: 0, count: job.outputs)
                    finish(row: i)
                }
                k += 1
            }
        }

        func finish(row i: Int) {
            if logAlphaFromWeights { job.logAlphaGradientFromWeights(inputs: i..<(i + 1)) }
            penalty.costs(groups: i..<(i + 1))
            step.update(slot: slot, range: (i * job.outputs)..<((i + 1) * job.outputs))
        }
    }

    /// The loops of `forward` and `backward` that run split over the worker pool,
    /// each over a range of rows (examples) or inputs (gate groups). It holds only pointers and
    /// numbers, taken on the calling thread, so the threads never touch a shared reference count.
    struct Job {
        let rows: Int, inputs: Int, outputs: Int, perExample: Bool
        let x: UnsafeMutablePointer<Float>, gatedInput: UnsafeMutablePointer<Float>
        let inputGradient: UnsafeMutablePointer<Float>
        let w: UnsafeMutablePointer<Float>, dw: UnsafeMutablePointer<Float>
        let z: UnsafeMutablePointer<Float>, dz: UnsafeMutablePointer<Float>
        let dLogAlpha: UnsafeMutablePointer<Float>
        /// Backward: the gradient of the output, dy.
        let dy: UnsafePointer<Float>?
        /// Whether x is a pre-activation h, to be read as max(h, 0) (`rectifiesInput`).
        let rectified: Bool
        /// The live groups (`liveIndex[0..<live]`); `liveCompact` when some are not, and then x̃ is
        /// (rows, live) and the forward and dW use the live buffers. The open groups
        /// (`openIndex[0..<open]`), dx̃'s columns; `openCompact` when some are closed.
        let live: Int, liveCompact: Bool, open: Int, openCompact: Bool
        let liveIndex: UnsafePointer<Int>, openIndex: UnsafePointer<Int>
        let liveWeights: UnsafePointer<Float>, openWeights: UnsafeMutablePointer<Float>
        let liveWeightGradient: UnsafeMutablePointer<Float>, openInputGradient: UnsafeMutablePointer<Float>

        init(layer: L0Dense, input: Tensor, outputGradient: Tensor? = nil) {
            (rows, inputs, outputs) = (input.batch, layer.inputs, layer.outputs)
            dy = outputGradient.map { UnsafePointer($0.pointer) }
            rectified = layer.rectifiesInput
            perExample = layer.gates.lastDrawPerExample
            (x, gatedInput, inputGradient) = (input.pointer, layer.gatedInput.pointer, layer.inputGradient.pointer)
            (w, dw) = (layer.weight.value.pointer, layer.weight.gradient.pointer)
            (z, dz) = (layer.gates.values.pointer, layer.gates.derivatives.pointer)
            dLogAlpha = layer.gates.logAlpha.gradient.pointer
            (live, liveCompact) = (layer.liveCount, layer.liveCount < layer.inputs)
            (open, openCompact) = (layer.openCount, layer.openCount < layer.inputs)
            (liveIndex, openIndex) = (UnsafePointer(layer.liveIndex), UnsafePointer(layer.openIndex))
            (liveWeights, openWeights) = (UnsafePointer(layer.liveWeights.pointer), layer.openWeights.pointer)
            (liveWeightGradient, openInputGradient) = (layer.liveWeightGradient.pointer, layer.openInputGradient.pointer)
        }

        /// Rows of dW from the compacted product: a live group's row from it, the others 0.
        func spreadWeightGradient(rows range: Range<Int>) {
            guard liveCompact else { return }
            var n = firstLive(atOrAfter: range.lowerBound)
            for i in range {
                if n < live && liveIndex[n] == i {
                    (dw + i * outputs).update(from: liveWeightGradient + n * outputs, count: outputs)
                    n += 1
                } else {
                    (dw + i * outputs).update(repeating: 0, count: outputs)
                }
            }
        }

        /// Rows of dx̃ from the compacted product: the open columns from it, the closed ones 0.
        func spreadInputGradient(rows range: Range<Int>) {
            guard openCompact else { return }
            for r in range {
                let (target, source) = (inputGradient + r * inputs, openInputGradient + r * open)
                target.update(repeating: 0, count: inputs)
                for n in 0..<open { target[openIndex[n]] = source[n] }
            }
        }

        /// The position in the live list of the first live group at or after group `i`.
        func firstLive(atOrAfter i: Int) -> Int {
            var (low, high) = (0, live)
            while low < high {
                let middle = (low + high) / 2
                if liveIndex[middle] < i { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// dx̃ = dy·Wᵀ into the input gradient: cut into pieces over the pool (`split`), or whole on the
        /// calling thread.
        func multiplyForInputGradient(split: Bool) {
            guard let dy else { preconditionFailure("a product of the backward without dy") }
            // W's open rows: the live ones when they are all, else copied now (W is not yet updated).
            let filters: UnsafePointer<Float>
            if !openCompact {
                filters = UnsafePointer(w)
            } else if open == live {
                filters = liveWeights
            } else {
                for n in 0..<open { (openWeights + n * outputs).update(from: w + openIndex[n] * outputs, count: outputs) }
                filters = UnsafePointer(openWeights)
            }
            guard open > 0 else { return }
            Gemm.fast(
                transposeA: false, transposeB: true, m: rows, n: open, k: outputs, alpha: 1, a: dy, lda: outputs,
                b: filters, ldb: outputs, beta: 0, c: openCompact ? openInputGradient : inputGradient, ldc: open, split: split)
        }

        /// dW = x̃ᵀ·dy, cut into pieces over the pool (`split`, with `rowsDone` after each) or whole.
        func multiplyForWeightGradient(split: Bool, rowsDone: Gemm.RowsDone? = nil) {
            guard let dy else { preconditionFailure("a product of the backward without dy") }
            guard live > 0 else { return }
            Gemm.fast(
                transposeA: true, transposeB: false, m: live, n: outputs, k: rows, alpha: 1, a: gatedInput,
                lda: live, b: dy, ldb: outputs, beta: 0, c: liveCompact ? liveWeightGradient : dw, ldc: outputs, split: split,
                rowsDone: rowsDone)
        }

        /// x̃ = x ⊙ z (or max(h, 0) ⊙ z) for the given rows; compacted, the live columns only.
        func gateInputs(rows range: Range<Int>) {
            if liveCompact {
                for r in range {
                    let (row, target) = (x + r * inputs, gatedInput + r * live)
                    for n in 0..<live {
                        let i = liveIndex[n]
                        target[n] = (rectified ? max(row[i], 0) : row[i]) * z[i]
                    }
                }
                return
            }
            for r in range {
                let (row, gates, target) = (x + r * inputs, z + (perExample ? r * inputs : 0), gatedInput + r * inputs)
                if rectified {
                    VectorMath.rectifyAndMultiply(row, gates, into: target, count: inputs)
                } else {
                    VectorMath.multiply(row, gates, into: target, count: inputs)
                }
            }
        }

        /// dL/d log α_i = Σ_j W_ij·dW_ij / z_i · dz_i, for a shared gate (0 where dz_i = 0).
        func logAlphaGradientFromWeights(inputs range: Range<Int>) {
            for i in range {
                dLogAlpha[i] = dz[i] == 0 ? 0 : VectorMath.dot(w + i * outputs, dw + i * outputs, count: outputs) / z[i] * dz[i]
            }
        }

        /// dL/d log α_i = Σ_b dx̃_bi·x_bi·dz_bi (shared gates: (Σ_b dx̃_bi·x_bi)·dz_i; x = max(h, 0) with a
        /// rectified input), each sum in row
        /// order: rows are walked in order, adding a row's terms to a range of the inputs' sums at once.
        func logAlphaGradientFromInputs(inputs range: Range<Int>) {
            let (sums, count) = (dLogAlpha + range.lowerBound, range.count)
            sums.update(repeating: 0, count: count)
            for r in 0..<rows {
                let at = r * inputs + range.lowerBound
                let perExampleDerivatives = perExample ? dz + at : nil
                if rectified {
                    VectorMath.addRectifiedProduct(inputGradient + at, x + at, times: perExampleDerivatives, to: sums, count: count)
                } else {
                    VectorMath.addProduct(inputGradient + at, x + at, times: perExampleDerivatives, to: sums, count: count)
                }
            }
            if !perExample { VectorMath.multiply(sums, dz + range.lowerBound, into: sums, count: count) }
        }

        /// dx = dx̃ ⊙ z (and 0 where h ≤ 0, with a rectified input) for the given rows.
        func gateInputGradient(rows range: Range<Int>) {
            for r in range {
                let (row, gates) = (inputGradient + r * inputs, z + (perExample ? r * inputs : 0))
                if rectified {
                    VectorMath.multiplyWherePositive(row, gates, where: x + r * inputs, into: row, count: inputs)
                } else {
                    VectorMath.multiply(row, gates, into: row, count: inputs)
                }
            }
        }
    }
}

extension L0Dense: MatrixProductCounting {
    public func forwardProductFlops(batch: Int) -> Double { 2 * Double(batch * inputs * outputs) }
}
