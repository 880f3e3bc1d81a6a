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

    public init(
        layer: String, groups: Int, keptGroups: Int, expectedGroups: Double, weights: Int, keptWeights: Int,
        expectedL0: Double, expectedFlops: Double, prunedFlops: Double
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
    }
}

/// A layer that can say how sparse it is.
public protocol SparsityReporting {
    func sparsity() -> LayerSparsity
}

extension L0Dense: SparsityReporting {
    /// Groups are inputs; FLOPs count expected (Σπ) or kept inputs against all outputs, as the paper's
    /// code does for fully connected layers.
    public func sparsity() -> LayerSparsity {
        let kept = gates.keptCount
        let expected = gates.expectedCount
        return LayerSparsity(
            layer: name, groups: inputs, keptGroups: kept, expectedGroups: expected, weights: inputs * outputs,
            keptWeights: kept * outputs, expectedL0: expected * Double(outputs),
            expectedFlops: FlopCount.dense(inputs: expected, outputs: Double(outputs)),
            prunedFlops: FlopCount.dense(inputs: Double(kept), outputs: Double(outputs)))
    }
}
