import Datasets
import Experiments
import Foundation
import NeuralNet
import Testing

@Suite("Pruning methods beside L0", .serialized)
struct PruningTests {
    @Test("Selective decay shrinks only weights whose gradient is below τ times the layer's mean, by η·λ of themselves")
    func selectiveDecayStep() {
        let weight = Parameter(name: "w", shape: [4], role: .weight)
        for (i, value) in [Float(1), 2, -3, 4].enumerated() { weight.value.pointer[i] = value }
        for (i, value) in [Float(0.1), 0.5, -0.01, 1.0].enumerated() { weight.gradient.pointer[i] = value }
        // Mean |g| = 0.4025: 0.1 and 0.01 are below it (τ = 1), 0.5 and 1.0 are not.
        let shrunk = PruningRules.selectiveDecay(weight, relevance: 1, factor: 0.01)
        #expect(shrunk == 2)
        let f: Float = 0.01
        let expected: [Float] = [1 - f * 1, 2, -3 - f * -3, 4]
        #expect(weight.value.array == expected)
        // τ = 0: nothing is irrelevant.
        #expect(PruningRules.selectiveDecay(weight, relevance: 0, factor: 0.5) == 0)
        #expect(weight.value.array == expected)
    }

    @Test("Selective decay and the masks fused into Adam's step give the bits of running them after it")
    func fusedStep() {
        // Two copies of one weight array, an odd size so that every slice has a tail.
        let count = 1003
        let random = RandomGenerator(seed: 7, stream: 0)
        func copy() -> (Parameter, Adam) {
            let weight = Parameter(name: "w", shape: [count], role: .weight)
            let average = WeightAverage(parameters: [weight], decay: 0.9)
            return (weight, Adam(parameters: [weight], learningRate: 0.01, average: average))
        }
        let (fused, fusedAdam) = copy()
        let (separate, separateAdam) = copy()
        let initial = (0..<count).map { _ in Float(random.uniform() - 0.5) }
        for i in 0..<count { (fused.value.pointer[i], separate.value.pointer[i]) = (initial[i], initial[i]) }
        let mask = FloatBuffer(count: count)
        for i in 0..<count { mask.pointer[i] = i % 3 == 0 ? 0 : 1 }
        let factor: Float = 0.05
        for step in 0..<6 {
            // Masks from the third step on, as after a pruning round.
            fusedAdam.fusePruning(slot: 0, mask: step >= 2 ? mask : nil, selectiveDecay: (relevance: 1, factor: factor))
            let gradient = (0..<count).map { _ in Float(random.uniform() - 0.5) * 0.1 }
            for i in 0..<count { (fused.gradient.pointer[i], separate.gradient.pointer[i]) = (gradient[i], gradient[i]) }
            fusedAdam.update()
            separateAdam.update()
            PruningRules.selectiveDecay(separate, relevance: 1, factor: factor)
            if step >= 2 {
                let buffers = [separate.value, separateAdam.firstMoments[0], separateAdam.secondMoments[0], separateAdam.average!.averages[0]]
                for buffer in buffers { for i in 0..<count { buffer.pointer[i] *= mask.pointer[i] } }
            }
            func bits(_ buffer: FloatBuffer) -> [UInt32] { buffer.array.map(\.bitPattern) }
            #expect(bits(fused.value) == bits(separate.value))
            #expect(bits(fusedAdam.firstMoments[0]) == bits(separateAdam.firstMoments[0]))
            #expect(bits(fusedAdam.secondMoments[0]) == bits(separateAdam.secondMoments[0]))
            #expect(bits(fusedAdam.average!.averages[0]) == bits(separateAdam.average!.averages[0]))
        }
        let pruned = (0..<count).filter { $0 % 3 == 0 }
        #expect(pruned.allSatisfy { fused.value.pointer[$0] == 0 && fusedAdam.firstMoments[0].pointer[$0] == 0 })
    }

    @Test("Magnitude pruning masks the round(s·n) smallest magnitudes, ties by position")
    func magnitudeStep() {
        let values = FloatBuffer(count: 6)
        let mask = FloatBuffer(count: 6)
        for (i, value) in [Float(0.5), -0.1, 0.3, -0.2, 0, 0.1].enumerated() { values.pointer[i] = value }
        PruningRules.magnitudeMask(values: values, mask: mask, sparsity: 0.5)
        // |0| < |−0.1| = |0.1| (the earlier one first) < …: three pruned.
        #expect(mask.array == [1, 0, 1, 1, 0, 0])
        PruningRules.magnitudeMask(values: values, mask: mask, sparsity: 0)
        #expect(mask.array == [1, 1, 1, 1, 1, 1])
    }

    @Test("The radix-select mask prunes exactly what sorting by (|w|, position) prunes, ties and signed zeros included")
    func magnitudeMaskMatchesSort() {
        let random = RandomGenerator(seed: 7, stream: 3)
        for (count, sparsity) in [(1, 0.5), (7, 0.3), (1000, 0.9), (70_000, 0.42), (300, 0.999)] {
            let values = FloatBuffer(count: count)
            let mask = FloatBuffer(count: count)
            // Few distinct magnitudes, so that ties are common, and both signs of zero.
            for i in 0..<count {
                let level = Float(Int(random.uniform() * 50)) / 8
                values.pointer[i] = (random.uniform() < 0.5 ? -1 : 1) * (i % 97 == 0 ? 0 : level)
            }
            PruningRules.magnitudeMask(values: values, mask: mask, sparsity: sparsity)
            let pruned = Int((sparsity * Double(count)).rounded())
            let order = (0..<count).sorted { a, b in
                let (x, y) = (abs(values.pointer[a]), abs(values.pointer[b]))
                return x < y || (x == y && a < b)
            }
            var expected = [Float](repeating: 1, count: count)
            for i in order.prefix(pruned) { expected[i] = 0 }
            #expect(mask.array == expected, "count \(count), sparsity \(sparsity)")
        }
    }

    @Test("The cubic schedule is s_i at t₀, s_f at t₀ + nΔt, monotone between and flat outside")
    func schedule() {
        let s = { (t: Int) in GradualSchedule.sparsity(step: t, start: 100, end: 1100, initial: 0, final: 0.9) }
        #expect(s(0) == 0 && s(100) == 0 && s(1100) == 0.9 && s(5000) == 0.9)
        let values = (100...1100).map(s)
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 <= $1 })
        // Halfway: s_f (1 − 0.5³) = 0.7875, most of the pruning done early.
        #expect(abs(s(600) - 0.9 * 0.875) < 1e-12)
    }

    @Test("The threshold search finds the largest threshold within the tolerance on a problem with a known answer")
    func thresholdSearch() throws {
        // Ten weights of magnitudes 0.1 … 1.0; the "validation loss" is 1 + the sum of the pruned
        // magnitudes. Within 1 + 1.05: prune 0.1 + 0.2 + 0.3 + 0.4 = 1.0, not 0.5 more.
        let layer = Dense(name: "toy", inputs: 10, outputs: 1, maxBatch: 1, decay: 0)
        for i in 0..<10 { layer.weight.value.pointer[i] = Float(i + 1) / 10 * (i % 2 == 0 ? 1 : -1) }
        let network = Network(layers: [layer], inputShape: [10], classes: 1, maxBatch: 1)
        let masks = WeightMasks(network: network, optimizer: Adam(parameters: network.parameters, learningRate: 0.1), average: nil)
        var evaluations = 0
        let loss = { () -> Double in
            evaluations += 1
            return 1 + (0..<10).reduce(0) { $0 + (masks.masks[0].pointer[$1] == 0 ? Double(abs(layer.weight.value.pointer[$1])) : 0) }
        }
        let (threshold, after) = ThresholdSearch.largest(masks: masks, limit: 2.05, validationLoss: loss)
        #expect(threshold == 0.5)
        #expect(abs(after - 2.0) < 1e-6)
        #expect(masks.masks[0].array == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
        #expect(masks.keptWeights == 6)
        // Bisection: about log₂ 10 evaluations, not one per weight.
        #expect(evaluations <= 6)
    }

    @Test("A pruned weight and its Adam moments stay exactly 0 through every later step, and the masks freeze after the schedule")
    func masksHold() throws {
        var config = TrainingConfig(model: .mlp, variant: .magnitude, dataset: "mnist", epochs: 4, trainingLimit: 600)
        config.magnitude = MagnitudeSettings(finalSparsity: 0.8, startEpoch: 1, endEpoch: 2, interval: 2)
        try config.validate()
        let data = try TrainerTests.data
        let loop = TrainingLoop(config: config, train: data.train.prefix(600))
        let random = RandomGenerator(seed: 1, stream: 1)
        let weights = loop.optimizer.parameters.enumerated().filter { $0.element.role == .weight }
        func zeros() -> [[Int]] { weights.map { _, p in (0..<p.count).filter { p.value.pointer[$0] == 0 } } }
        _ = loop.runEpoch(random: random)
        let before = zeros()
        let noneZero = before.allSatisfy { $0.isEmpty }
        #expect(noneZero)
        _ = loop.runEpoch(random: random)
        let pruned = zeros()
        for ((index, parameter), positions) in zip(weights, pruned) {
            #expect(positions.count == Int((0.8 * Double(parameter.count)).rounded()))
            for buffer in loop.optimizer.state(of: index) { #expect(positions.allSatisfy { buffer.pointer[$0] == 0 }) }
            #expect(positions.allSatisfy { loop.average!.averages[index].pointer[$0] == 0 })
        }
        _ = loop.runEpoch(random: random)
        _ = loop.runEpoch(random: random)
        let after = zeros()
        #expect(after == pruned)
        for ((index, _), positions) in zip(weights, pruned) {
            for buffer in loop.optimizer.state(of: index) { #expect(positions.allSatisfy { buffer.pointer[$0] == 0 }) }
        }
    }

    @Test("A pruning run stopped and resumed ends with the bytes of an uninterrupted one, masks included", arguments: Variant.pruning)
    func resume(variant: Variant) throws {
        var config = TrainingConfig(model: .mlp, variant: variant, dataset: "mnist", epochs: 6, learningRate: 0.01, trainingLimit: 600)
        if variant == .magnitude {
            config.magnitude = MagnitudeSettings(finalSparsity: 0.7, startEpoch: 1, endEpoch: 4, interval: 3)
        } else {
            config.selectiveDecay = SelectiveDecaySettings(patience: 1)
        }
        let data = try TrainerTests.data
        let (whole, stopped) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [whole, stopped] { try? FileManager.default.removeItem(at: url) } }
        let reference = try Trainer(config: config, data: data, runsDirectory: whole)
        let log = try #require(try reference.run().log)
        let first = try Trainer(config: config, data: data, runsDirectory: stopped)
        #expect(try first.run(stoppingAfter: 3).log == nil)
        let resumed = try Trainer(config: config, data: data, runsDirectory: stopped)
        #expect(try resumed.run().log == log)
        for file in ["log.json", "model.bin"] {
            let a = try Data(contentsOf: reference.directory.appendingPathComponent(file))
            #expect(try Data(contentsOf: resumed.directory.appendingPathComponent(file)) == a, "\(file)")
        }
        let model = try ModelFile.read(from: resumed.directory.appendingPathComponent("model.bin"))
        #expect(model.tensors.filter { $0.role == "mask" }.map(\.name) == ["fc1.weight.mask", "fc2.weight.mask", "fc3.weight.mask"])
        // The kept weights the log states are the masks' ones, and a masked weight is 0 in the model.
        let maskOnes = model.tensors.filter { $0.role == "mask" }.reduce(0) { $0 + model.values(of: $1.name)!.filter { $0 != 0 }.count }
        #expect(maskOnes == log.result.keptWeights && log.result.keptWeights < log.result.weights)
        for name in ["fc1.weight", "fc2.weight", "fc3.weight"] {
            let (values, mask) = (Array(model.values(of: name)!), Array(model.values(of: name + ".mask")!))
            #expect(zip(values, mask).allSatisfy { $1 != 0 || $0 == 0 })
        }
        if variant == .selectiveDecay {
            #expect(!(log.pruningRounds ?? []).isEmpty, "no pruning round in 6 epochs: the test no longer exercises resuming after one")
        }
    }

    @Test("The validation split is seeded, disjoint and complete; a bad fraction is refused")
    func split() throws {
        let set = try TrainerTests.data.train.prefix(1000)
        let (train, validation) = Trainer.split(set, fraction: 0.25, seed: 7)
        #expect(train.count == 750 && validation.count == 250)
        let again = Trainer.split(set, fraction: 0.25, seed: 7)
        #expect(again.validation.images == validation.images && again.train.labels == train.labels)
        #expect(Trainer.split(set, fraction: 0.25, seed: 8).validation.images != validation.images)
        // Every example lands in exactly one part: the images, as a multiset, are the original ones.
        func images(_ s: ImageClassificationSet) -> [[UInt8]] {
            (0..<s.count).map { Array(s.images[$0 * s.imageSize..<($0 + 1) * s.imageSize]) }
        }
        let parts = (images(train) + images(validation)).map { Data($0) }.sorted { $0.lexicographicallyPrecedes($1) }
        #expect(parts == images(set).map { Data($0) }.sorted { $0.lexicographicallyPrecedes($1) })
        var config = TrainingConfig(model: .mlp, variant: .selectiveDecay, dataset: "mnist", epochs: 1)
        config.selectiveDecay?.validationFraction = 1
        #expect { try config.validate() } throws: { String(describing: $0).contains("--validation-fraction must be in (0, 1), got 1.0") }
    }
}
