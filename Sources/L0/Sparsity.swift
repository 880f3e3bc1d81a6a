import NeuralNet

/// Floating-point operation counts of a forward pass (DESIGN §1.5): a multiply-add counts as two
/// FLOPs, a bias add as one, so a dot product of length n costs 2n − 1 plus the bias.
public enum FlopCount {
    /// A fully connected layer with `inputs` active inputs (may be an expectation) and `outputs`
    /// outputs: (2·inputs − 1)·outputs + outputs.
    public static func dense(inputs: Double, outputs: Double) -> Double {
        guard inputs > 0 else { return 0 }
        return (2 * inputs - 1) * outputs + outputs
    }
}

/// How sparse one layer is: its gate groups, the groups kept at test time (ẑ > 0), their expected
/// count Σπ, and what that means for weights (L0) and forward FLOPs.
public struct LayerSparsity: Codable, Equatable, Sendable {
    /// The layer's name, e.g. "fc1".
    public var layer: String
    /// Gate groups (FC input units or conv output maps); a layer without gates has one per unit.
    public var groups: Int
    /// Groups with ẑ > 0.
    public var keptGroups: Int
    /// Σ P(z ≠ 0) over the groups.
    public var expectedGroups: Double
    /// Weights in the layer (biases excluded).
    public var weights: Int
    /// Weights in kept groups.
    public var keptWeights: Int
    /// Expected number of non-zero weights, Σ π_g·|g|.
    public var expectedL0: Double
    /// Forward FLOPs per example with Σπ active groups.
    public var expectedFlops: Double
    /// Forward FLOPs per example after pruning the groups with ẑ = 0.
    public var prunedFlops: Double
    /// Forward FLOPs per example with every group and every input kept.
    public var denseFlops: Double

    public init(
        layer: String, groups: Int, keptGroups: Int, expectedGroups: Double, weights: Int, keptWeights: Int,
        expectedL0: Double, expectedFlops: Double, prunedFlops: Double, denseFlops: Double
    ) {
        self.layer = layer
        self.groups = groups
        self.keptGroups = keptGroups
        self.expectedGroups = expectedGroups
        self.weights = weights
        self.keptWeights = keptWeights
        self.expectedL0 = expectedL0
        self.expectedFlops = expectedFlops
        self.prunedFlops = prunedFlops
        self.denseFlops = denseFlops
    }
}

/// How many feature maps feed a layer: expected (Σπ of the gates that produce them) and kept (ẑ > 0).
public struct ActiveChannels: Equatable, Sendable {
    public var expected: Double
    public var kept: Int

    public init(expected: Double, kept: Int) {
        self.expected = expected
        self.kept = kept
    }
}

/// A layer that can say how sparse it is. Convolutions need the maps the previous layer leaves
/// active (c̃_in in DESIGN §1.5); a network passes each layer what the one before reported.
public protocol SparsityReporting {
    /// The layer's sparsity, given the active input maps (nil: all of them).
    func sparsity(inputChannels: ActiveChannels?) -> LayerSparsity
    /// The feature maps this layer leaves active for the next one (nil for fully connected layers).
    var activeOutputChannels: ActiveChannels? { get }
}

extension FlopCount {
    /// A convolution with `outputs` active output maps (may be an expectation), `inputs` active input
    /// maps, a k×k kernel and `positions` = H_out·W_out: positions·õ·(2·k²·c̃_in − 1) + positions·õ.
    public static func convolution(outputs: Double, inputs: Double, kernel: Int, positions: Int) -> Double {
        guard inputs > 0 else { return 0 }
        let p = Double(positions)
        return p * outputs * (2 * Double(kernel * kernel) * inputs - 1) + p * outputs
    }
}

extension ConvolutionShape {
    /// Forward FLOPs per example with every map kept.
    var denseFlops: Double {
        FlopCount.convolution(outputs: Double(outChannels), inputs: Double(inChannels), kernel: kernel, positions: positions)
    }
}

extension L0Conv2D: SparsityReporting {
    /// Groups are output maps; FLOPs use Σπ (or the kept count) of this layer's maps as õ and the active
    /// input maps as c̃_in.
    public func sparsity(inputChannels: ActiveChannels?) -> LayerSparsity {
        let s = core.shape
        let inputs = inputChannels ?? ActiveChannels(expected: Double(s.inChannels), kept: s.inChannels)
        let (kept, expected) = (gates.keptCount, gates.expectedCount)
        return LayerSparsity(
            layer: name, groups: s.outChannels, keptGroups: kept, expectedGroups: expected,
            weights: s.outChannels * s.patch, keptWeights: kept * s.patch, expectedL0: expected * Double(s.patch),
            expectedFlops: FlopCount.convolution(outputs: expected, inputs: inputs.expected, kernel: s.kernel, positions: s.positions),
            prunedFlops: FlopCount.convolution(outputs: Double(kept), inputs: Double(inputs.kept), kernel: s.kernel, positions: s.positions),
            denseFlops: s.denseFlops)
    }

    public var activeOutputChannels: ActiveChannels? { ActiveChannels(expected: gates.expectedCount, kept: gates.keptCount) }
}

extension Conv2D: SparsityReporting {
    /// Groups are output maps. Without pruning every map is kept; with pruning (weights exactly 0) a
    /// map whose weights are all 0 is removed and counted so, kept weights are the non-zero ones,
    /// and the FLOPs (expected and after pruning alike) are those of the structure that is left.
    public func sparsity(inputChannels: ActiveChannels?) -> LayerSparsity {
        let s = core.shape
        let inputs = inputChannels ?? ActiveChannels(expected: Double(s.inChannels), kept: s.inChannels)
        let (maps, nonZero) = keptMapsAndWeights
        return LayerSparsity(
            layer: name, groups: s.outChannels, keptGroups: maps, expectedGroups: Double(maps),
            weights: s.outChannels * s.patch, keptWeights: nonZero, expectedL0: Double(nonZero),
            expectedFlops: FlopCount.convolution(outputs: Double(maps), inputs: inputs.expected, kernel: s.kernel, positions: s.positions),
            prunedFlops: FlopCount.convolution(outputs: Double(maps), inputs: Double(inputs.kept), kernel: s.kernel, positions: s.positions),
            denseFlops: s.denseFlops)
    }

    public var activeOutputChannels: ActiveChannels? {
        let maps = keptMapsAndWeights.maps
        return ActiveChannels(expected: Double(maps), kept: maps)
    }

    /// Output maps with a non-zero weight, and non-zero weights.
    var keptMapsAndWeights: (maps: Int, weights: Int) {
        let (patch, values) = (core.shape.patch, weight.value.pointer)
        var (maps, weights) = (0, 0)
        for map in 0..<core.shape.outChannels {
            var nonZero = 0
            for i in 0..<patch where values[map * patch + i] != 0 { nonZero += 1 }
            weights += nonZero
            if nonZero > 0 { maps += 1 }
        }
        return (maps, weights)
    }
}

extension Dense: SparsityReporting {
    /// Groups are inputs. Without pruning every input is kept; with pruning (weights exactly 0) an
    /// input whose weights are all 0 is removed, kept weights are the non-zero ones, and the FLOPs
    /// count the kept inputs against all outputs, as for L0's layers.
    public func sparsity(inputChannels: ActiveChannels?) -> LayerSparsity {
        let values = weight.value.pointer
        var (kept, nonZero) = (0, 0)
        for input in 0..<inputs {
            var row = 0
            for j in 0..<outputs where values[input * outputs + j] != 0 { row += 1 }
            nonZero += row
            if row > 0 { kept += 1 }
        }
        let flops = FlopCount.dense(inputs: Double(kept), outputs: Double(outputs))
        return LayerSparsity(
            layer: name, groups: inputs, keptGroups: kept, expectedGroups: Double(kept), weights: inputs * outputs,
            keptWeights: nonZero, expectedL0: Double(nonZero), expectedFlops: flops, prunedFlops: flops,
            denseFlops: FlopCount.dense(inputs: Double(inputs), outputs: Double(outputs)))
    }

    public var activeOutputChannels: ActiveChannels? { nil }
}

extension L0Dense: SparsityReporting {
    /// Groups are inputs; FLOPs count expected (Σπ) or kept inputs against all outputs, as the paper's
    /// code does for fully connected layers.
    public var activeOutputChannels: ActiveChannels? { nil }

    public func sparsity(inputChannels: ActiveChannels? = nil) -> LayerSparsity {
        let kept = gates.keptCount
        let expected = gates.expectedCount
        return LayerSparsity(
            layer: name, groups: inputs, keptGroups: kept, expectedGroups: expected, weights: inputs * outputs,
            keptWeights: kept * outputs, expectedL0: expected * Double(outputs),
            expectedFlops: FlopCount.dense(inputs: expected, outputs: Double(outputs)),
            prunedFlops: FlopCount.dense(inputs: Double(kept), outputs: Double(outputs)),
            denseFlops: FlopCount.dense(inputs: Double(inputs), outputs: Double(outputs)))
    }
}
