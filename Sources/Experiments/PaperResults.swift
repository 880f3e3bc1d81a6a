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

        public init(model: ModelKind, method: String, architecture: [Int], error: Double, variant: Variant? = nil) {
            self.model = model
            self.method = method
            self.architecture = architecture
            self.error = error
            self.variant = variant
        }
    }

    /// Table 1: each registered network's rows, in the paper's order.
    public static var table1: [Row] { NetworkCatalog.all.flatMap(\.paperRows) }

    /// The paper's row for one of our gated variants.
    public static func row(_ model: ModelKind, _ variant: Variant) -> Row? {
        model.network.paperRows.first { $0.variant == variant }
    }

    /// A published unstructured-pruning result on MNIST, quoted under its authors' own protocol
    /// (DESIGN §1.9): test error at a compression (all weights / non-zero weights).
    public struct QuotedPruning: Sendable {
        public var model: ModelKind
        public var method: String
        /// The bibliography key of the paper the number comes from.
        public var citation: String
        public var error: Double
        public var compression: Double
        /// The share of weights kept, 1 / compression.
        public var weightsKept: Double { 1 / compression }
    }

    /// Sparse VD (Molchanov et al. 2017), Han et al.'s pruning (2015) and dynamic network surgery
    /// (Guo et al. 2016) on LeNet-300-100 (our MLP) and LeNet-5-Caffe, as they published them.
    public static let quotedPruning: [QuotedPruning] = [
        .init(model: .mlp, method: "Sparse VD", citation: "molchanov2017", error: 1.92, compression: 68),
        .init(model: .mlp, method: "Han et al.", citation: "han2015", error: 1.59, compression: 12),
        .init(model: .mlp, method: "DNS", citation: "guo2016", error: 1.99, compression: 56),
        .init(model: .lenet5, method: "Sparse VD", citation: "molchanov2017", error: 0.75, compression: 280),
        .init(model: .lenet5, method: "Han et al.", citation: "han2015", error: 0.77, compression: 12),
        .init(model: .lenet5, method: "DNS", citation: "guo2016", error: 0.91, compression: 111),
    ]

    /// The full architecture of each network, in gate groups per layer.
    public static func originalArchitecture(_ model: ModelKind) -> [Int] { model.network.groups }
}
