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

    /// The full architecture of each network, in gate groups per layer.
    public static func originalArchitecture(_ model: ModelKind) -> [Int] { model.network.groups }
}
