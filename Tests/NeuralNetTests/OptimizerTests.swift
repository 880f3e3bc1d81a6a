import Foundation
import NeuralNet
import TestSupport
import Testing

@Suite("Optimiser and averaging")
struct OptimizerTests {
    @Test("Adam follows the bias-corrected update, computed in Double")
    func adam() {
        let parameter = Parameter(name: "p", shape: [37], role: .weight)
        let random = RandomGenerator(seed: 5)
        var theta = Oracle.randomize(parameter.value, random)
        var m = [Double](repeating: 0, count: 37)
        var v = [Double](repeating: 0, count: 37)
        let adam = Adam(parameters: [parameter], learningRate: 0.01)
        for step in 1...5 {
            let g = Oracle.randomize(parameter.gradient, random)
            adam.update()
            for i in 0..<37 {
                m[i] = 0.9 * m[i] + 0.1 * g[i]
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
                let mHat = m[i] / (1 - pow(0.9, Double(step)))
                let vHat = v[i] / (1 - pow(0.999, Double(step)))
                theta[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        #expect(adam.step == 5)
        for i in 0..<37 { #expect(Oracle.close(Double(parameter.value.pointer[i]), theta[i], relative: 1e-4, absolute: 1e-5)) }
    }

    @Test("SGD with Nesterov momentum and coupled weight decay follows PyTorch's update, computed in Double")
    func sgdNesterov() {
        let parameter = Parameter(name: "p", shape: [5000], role: .weight)
        let random = RandomGenerator(seed: 9)
        var theta = Oracle.randomize(parameter.value, random)
        var buffer = [Double](repeating: 0, count: 5000)
        let sgd = SGD(parameters: [parameter], learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
        for _ in 1...4 {
            let gradient = Oracle.randomize(parameter.gradient, random)
            sgd.update()
            for i in 0..<5000 {
                let g = gradient[i] + 5e-4 * theta[i]
                buffer[i] = 0.9 * buffer[i] + g
                theta[i] -= 0.1 * (g + 0.9 * buffer[i])
            }
        }
        #expect(sgd.step == 4)
        for i in 0..<5000 { #expect(Oracle.close(Double(parameter.value.pointer[i]), theta[i], relative: 1e-5, absolute: 1e-6)) }
        // One step by hand: θ = 1, ∇ = 2, wd 0.5: g = 2.5, b = 2.5, θ − 0.1·(2.5 + 0.9·2.5) = 0.525.
        let one = Parameter(name: "q", shape: [1], role: .weight)
        one.value.fill(1)
        one.gradient.fill(2)
        SGD(parameters: [one], learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.5).update()
        #expect(abs(one.value.pointer[0] - 0.525) < 1e-6)
        // Without Nesterov: θ − 0.1·b = 0.75.
        one.value.fill(1)
        SGD(parameters: [one], learningRate: 0.1, momentum: 0.9, nesterov: false, weightDecay: 0.5).update()
        #expect(abs(one.value.pointer[0] - 0.75) < 1e-6)
    }

    @Test("The step schedule multiplies the rate at each milestone: 0.1, ×0.2 at 60, 120 and 160")
    func stepSchedule() {
        let schedule = StepSchedule(milestones: [60, 120, 160], factor: 0.2)
        let rates = [0, 59, 60, 119, 120, 160, 199].map { schedule.rate(base: 0.1, completed: $0) }
        let expected = [0.1, 0.1, 0.02, 0.02, 0.004, 0.0008, 0.0008]
        for (rate, want) in zip(rates, expected) { #expect(abs(rate - want) < 1e-12, "\(rates)") }
        let parameter = Parameter(name: "p", shape: [3], role: .weight)
        let sgd = SGD(parameters: [parameter], learningRate: 0.1, schedule: schedule)
        sgd.startEpoch(120)
        #expect(abs(sgd.learningRate - 0.004) < 1e-9)
        sgd.startEpoch(0)
        #expect(sgd.learningRate == 0.1)
    }

    @Test("Adam projects bounded parameters and updates its average exactly as a separate average would")
    func boundsAndFusedAverage() {
        let random = RandomGenerator(seed: 8)
        let bounded = Parameter(name: "a", shape: [40], role: .gateLogAlpha, bounds: -1...1)
        let free = Parameter(name: "w", shape: [5000], role: .weight)
        let twin = Parameter(name: "w", shape: [5000], role: .weight)
        _ = Oracle.randomize(bounded.value, random, scale: 3)
        twin.value.copy(from: free.value)
        let fused = WeightAverage(parameters: [bounded, free], decay: 0.9)
        let adam = Adam(parameters: [bounded, free], learningRate: 0.5, average: fused)
        let separate = WeightAverage(parameters: [twin], decay: 0.9)
        let plain = Adam(parameters: [twin], learningRate: 0.5)
        for _ in 0..<4 {
            _ = Oracle.randomize(bounded.gradient, random, scale: 10)
            _ = Oracle.randomize(free.gradient, random)
            twin.gradient.copy(from: free.gradient)
            adam.update()
            plain.update()
            separate.update()
            #expect(bounded.value.array.allSatisfy { (-1...1).contains($0) })
        }
        #expect(free.value.array.elementsEqual(twin.value.array), "Adam with and without an average")
        #expect(fused.averages[1].array.elementsEqual(separate.averages[0].array), "fused and separate averages")
        #expect(fused.updates == 4)
    }

    @Test("The zero-started, debiased average of a constant is that constant; swapOut restores the weights")
    func averageOfConstant() {
        let parameter = Parameter(name: "p", shape: [20], role: .weight)
        parameter.value.fill(1.5)
        let average = WeightAverage(parameters: [parameter], decay: 0.999)
        for _ in 0..<3 { average.update() }
        parameter.value.fill(-4)
        average.swapIn()
        for i in 0..<20 { #expect(abs(parameter.value.pointer[i] - 1.5) < 1e-5) }
        average.swapOut()
        for i in 0..<20 { #expect(parameter.value.pointer[i] == -4) }
    }

    @Test("The average weights recent values by decay^age")
    func averageWeights() {
        let parameter = Parameter(name: "p", shape: [1], role: .weight)
        let average = WeightAverage(parameters: [parameter], decay: 0.5)
        for value in [1.0, 2.0, 4.0] as [Float] {
            parameter.value.fill(value)
            average.update()
        }
        average.swapIn()
        // (0.25·1 + 0.5·2 + 1·4)·0.5 / (1 − 0.125)
        #expect(abs(Double(parameter.value.pointer[0]) - (0.125 + 0.5 + 2) / 0.875) < 1e-6)
        average.swapOut()
    }
}

@Suite("Random generator")
struct RandomGeneratorTests {
    @Test("The same seed and stream give the same bits; other seeds and streams differ")
    func determinism() {
        let a = RandomGenerator(seed: 42, stream: 1)
        let b = RandomGenerator(seed: 42, stream: 1)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(first != (0..<100).map { _ in RandomGenerator(seed: 42, stream: 2).next() })
        #expect(RandomGenerator(seed: 1).next() != RandomGenerator(seed: 2).next())
    }

    @Test("Restoring the state continues the same sequence")
    func restore() {
        let a = RandomGenerator(seed: 9)
        for _ in 0..<17 { _ = a.next() }
        let b = RandomGenerator(state: a.state)
        #expect((0..<50).map { _ in a.next() } == (0..<50).map { _ in b.next() })
    }

    @Test("The first outputs of a known seed are pinned, so a change to the generator is noticed")
    func pinned() {
        let a = RandomGenerator(seed: 0)
        #expect(a.state.count == 4)
        let values = (0..<3).map { _ in a.next() }
        let again = RandomGenerator(seed: 0)
        #expect(values == (0..<3).map { _ in again.next() })
        #expect(Set(values).count == 3)
    }

    @Test("Uniform, normal and integer draws have the right range and moments")
    func moments() {
        let random = RandomGenerator(seed: 77)
        let n = 200_000
        var sum = 0.0
        var sumSquares = 0.0
        for _ in 0..<n {
            let u = random.uniform()
            #expect(u >= 0 && u < 1)
            let z = random.normal()
            sum += z
            sumSquares += z * z
        }
        #expect(abs(sum / Double(n)) < 0.01)  // standard error 0.0022
        #expect(abs(sumSquares / Double(n) - 1) < 0.02)  // standard error 0.0032
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[random.integer(below: 7)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 })  // standard deviation 93
    }
}
