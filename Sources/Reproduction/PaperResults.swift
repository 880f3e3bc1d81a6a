/// The paper's published numbers (Louizos et al. 2018, Table 1, MNIST), to print beside ours.
public enum PaperResults {
    /// One row of Table 1.
    public struct Row: Sendable {
        public var model: ModelKind
        public var method: String
        /// Groups kept per layer, as in the paper's "architecture" column.
        public var architecture: [Int]
        /// Test error % after 200 epochs.
        public var error: Double
        /// The variant of ours that corresponds, for the L0 rows.
        public var variant: Variant?
    }

    public static let table1: [Row] = [
        Row(model: .mlp, method: "Sparse VD", architecture: [512, 114, 72], error: 1.8),
        Row(model: .mlp, method: "BC-GNJ", architecture: [278, 98, 13], error: 1.8),
        Row(model: .mlp, method: "BC-GHS", architecture: [311, 86, 14], error: 1.8),
        Row(model: .mlp, method: "L0, λ = 0.1/N", architecture: [219, 214, 100], error: 1.4, variant: .l0),
        Row(model: .mlp, method: "L0, λ sep.", architecture: [266, 88, 33], error: 1.8, variant: .l0Sep),
        Row(model: .lenet5, method: "Sparse VD", architecture: [14, 19, 242, 131], error: 1.0),
        Row(model: .lenet5, method: "GL", architecture: [3, 12, 192, 500], error: 1.0),
        Row(model: .lenet5, method: "GD", architecture: [7, 13, 208, 16], error: 1.1),
        Row(model: .lenet5, method: "SBP", architecture: [3, 18, 284, 283], error: 0.9),
        Row(model: .lenet5, method: "BC-GNJ", architecture: [8, 13, 88, 13], error: 1.0),
        Row(model: .lenet5, method: "BC-GHS", architecture: [5, 10, 76, 16], error: 1.0),
        Row(model: .lenet5, method: "L0, λ = 0.1/N", architecture: [20, 25, 45, 462], error: 0.9, variant: .l0),
        Row(model: .lenet5, method: "L0, λ sep.", architecture: [9, 18, 65, 25], error: 1.0, variant: .l0Sep),
    ]

    /// The paper's row for one of our gated variants.
    public static func row(_ model: ModelKind, _ variant: Variant) -> Row? {
        table1.first { $0.model == model && $0.variant == variant }
    }

    /// The full architecture of each network, in gate groups per layer.
    public static func originalArchitecture(_ model: ModelKind) -> [Int] {
        switch model {
        case .mlp: [784, 300, 100]
        case .lenet5: [20, 50, 800, 500]
        }
    }
}
