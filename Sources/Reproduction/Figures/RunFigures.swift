import Experiments
import L0
import Plotting

/// The figures drawn from run logs: expected FLOPs (the paper's Figure 3), the gates over and at the
/// end of training, the learned architectures, and the training curves.
public enum RunFigures {
    /// Paper Figure 3: expected forward FLOPs per example over training, L0 and L0-sep, with the dense
    /// network's count (which the dense and dropout baselines keep throughout) as a flat line.
    public static func expectedFlops(_ runs: RunCollection) throws -> Figure {
        let models = ModelKind.allCases.filter { m in Variant.allCases.contains { $0.isGated && runs.run(m, $0) != nil } }
        guard !models.isEmpty else { throw runs.missing(.mlp) }
        let panels = models.map { model in
            let gated = runs.runs(of: model).filter { $0.config.variant.isGated }
            var marks: [any Mark] = gated.map { run in
                LineMark(
                    x: epochs(run), y: run.epochs.map(\.expectedFlops), label: Style.name(run.config.variant), color: Style.color(run.config.variant),
                    dash: Style.dash(run.config.variant))
            }
            marks.append(ReferenceLine(.horizontal, at: gated[0].result.denseFlops, label: "dense and dropout", color: Palette.black.withAlpha(0.7)))
            return Panel(
                title: Style.title(model), x: Axis("epoch", limits: .nice, integerTicks: true),
                y: Axis("expected FLOPs per example", format: .si, including: [0]),
                marks: marks, legend: .auto)
        }
        return Figure(panels: panels, size: Size(width: 468, height: 210))
    }

    /// The share of each layer's gate groups kept (ẑ > 0) after every epoch, one panel per gated run.
    public static func keptGroups(_ runs: RunCollection) throws -> Figure {
        let gated = ModelKind.allCases.flatMap { runs.runs(of: $0).filter { $0.config.variant.isGated } }
        guard !gated.isEmpty else { throw runs.missing(.mlp) }
        let panels = gated.map { run in
            let layers = run.epochs[0].layers
            let marks: [any Mark] = layers.indices.map { i in
                LineMark(
                    x: epochs(run), y: run.epochs.map { Double($0.layers[i].keptGroups) / Double($0.layers[i].groups) },
                    label: "\(layers[i].layer) (\(layers[i].groups))", color: Palette.color(i))
            }
            return Panel(
                title: "\(Style.title(run.config.model)), \(Style.name(run.config.variant))", x: Axis("epoch", limits: .nice, integerTicks: true),
                y: Axis("groups kept", limits: .fixed(0, 1.04), format: .percent, ticks: [0, 0.25, 0.5, 0.75, 1]), marks: marks)
        }
        return Figure(panels: panels, columns: 2, size: Size(width: 468, height: 190 * Double((panels.count + 1) / 2)))
    }

    /// Histograms of P(z ≠ 0) per layer at the end of training, L0 and L0-sep side by side.
    public static func gateHistograms(_ runs: RunCollection) throws -> Figure {
        var panels: [Panel] = []
        for model in ModelKind.allCases {
            let gated = runs.runs(of: model).filter { $0.config.variant.isGated }
            guard let first = gated.first else { continue }
            for (layer, record) in first.finalGates.enumerated() {
                // Side by side in each bin, not overlaid: the variants' bars never blend.
                let marks: [any Mark] = gated.enumerated().map { index, run in
                    let values = run.finalGates[layer].logAlpha.map { HardConcrete.probabilityNonZero(logAlpha: Double($0)) }
                    var mark = HistogramMark(
                        values: values, bins: 20, range: 0...1, normalization: .fraction, label: Style.name(run.config.variant),
                        color: Style.color(run.config.variant))
                    mark.slot = (index, gated.count)
                    return mark
                }
                panels.append(
                    Panel(
                        title: "\(record.layer) (\(record.logAlpha.count))",
                        x: Axis("P(z ≠ 0)", limits: .fixed(0, 1), ticks: [0, 0.5, 1]),
                        y: Axis(layer == 0 ? "\(Style.title(model)): share" : nil, limits: .fixed(0, 1.02), format: .percent, ticks: [0, 0.5, 1]),
                        marks: marks, legend: .none))
            }
            while panels.count % 4 != 0 { panels.append(.blank) }
        }
        guard !panels.isEmpty else { throw runs.missing(.mlp) }
        let rows = (panels.count + 3) / 4
        return Figure(panels: panels, columns: 4, size: Size(width: 468, height: 150 * Double(rows) + 16), sharedLegend: true)
    }

    /// Kept against original groups per layer (log scale), ours beside the paper's Table 1 values.
    public static func architecture(_ runs: RunCollection) throws -> Figure {
        var panels: [Panel] = []
        for model in ModelKind.allCases {
            let gated = runs.runs(of: model).filter { $0.config.variant.isGated }
            guard let first = gated.first else { continue }
            let original = PaperResults.originalArchitecture(model).map(Double.init)
            let positions = original.indices.map(Double.init)
            var marks: [any Mark] = [
                BarMark(positions: positions, heights: original, width: 0.8, label: "original", color: Color(hex: 0xBBBBBB), opacity: 0.5)
            ]
            for (k, run) in gated.enumerated() {
                let offset = (Double(k) - Double(gated.count - 1) / 2) * 0.3
                let variant = run.config.variant
                marks.append(
                    BarMark(
                        positions: positions.map { $0 + offset }, heights: run.result.keptGroups.map(Double.init), width: 0.28,
                        label: "ours, \(Style.name(variant))", color: Style.color(variant)))
                if let paper = PaperResults.row(model, variant) {
                    marks.append(
                        ScatterMark(
                            x: positions.map { $0 + offset }, y: paper.architecture.map(Double.init), label: "paper, \(Style.name(variant))",
                            color: Palette.black, shape: variant == .l0 ? .diamond : .triangle, size: 5.5))
                }
            }
            panels.append(
                Panel(
                    title: Style.title(model), x: Axis(categories: first.finalGates.map(\.layer), grid: false),
                    y: Axis("groups kept", kind: .logarithmic, limits: .fixed(1, 2000), ticks: [1, 10, 100, 1000]), marks: marks, legend: .none))
        }
        guard !panels.isEmpty else { throw runs.missing(.mlp) }
        return Figure(panels: panels, size: Size(width: 468, height: 220), sharedLegend: true)
    }

    /// Test error and training cross-entropy per epoch, every variant, one row per model.
    public static func trainingCurves(_ runs: RunCollection) throws -> Figure {
        var panels: [Panel] = []
        for model in ModelKind.allCases {
            let all = runs.runs(of: model)
            guard !all.isEmpty else { continue }
            let error: [any Mark] = all.map {
                LineMark(
                    x: epochs($0), y: $0.epochs.map(\.testError), label: Style.name($0.config.variant), color: Style.color($0.config.variant),
                    dash: Style.dash($0.config.variant))
            }
            let loss: [any Mark] = all.map {
                LineMark(
                    x: epochs($0), y: $0.epochs.map(\.trainCrossEntropy), label: Style.name($0.config.variant), color: Style.color($0.config.variant),
                    dash: Style.dash($0.config.variant))
            }
            // The range where the runs differ: up to the highest error after the first tenth of
            // training (the first epochs' higher errors run off the top).
            let settled = all.flatMap { run in run.epochs.filter { $0.epoch > max(1, run.epochs.count / 10) }.map(\.testError) }
            let top = settled.max().flatMap { Ticks.extended(0, $0 * 1.05, onlyLoose: true).last }
            panels.append(
                Panel(
                    title: "\(Style.title(model)): test error", x: Axis("epoch", limits: .nice, integerTicks: true),
                    y: Axis("test error (%)", limits: top.map { .fixed(0, $0) } ?? .data), marks: error, legend: .none))
            panels.append(
                Panel(
                    title: "\(Style.title(model)): training loss", x: Axis("epoch", limits: .nice, integerTicks: true),
                    y: Axis("cross-entropy", kind: .logarithmic), marks: loss, legend: .none))
        }
        guard !panels.isEmpty else { throw runs.missing(.mlp) }
        return Figure(panels: panels, columns: 2, size: Size(width: 468, height: 180 * Double(panels.count / 2) + 30), sharedLegend: true)
    }

    /// Test error against the share of weights kept (log scale), one panel per network: each of our
    /// runs, the paper's L0 rows and its Table 1 competitors (weights between their kept groups), and
    /// published unstructured-pruning results, all quoted points drawn open and named on the plot.
    public static func errorAgainstWeights(_ runs: RunCollection) throws -> Figure {
        var panels: [Panel] = []
        let ours: [Variant] = [.l0, .l0Sep, .selectiveDecay, .magnitude, .dropout, .dense]
        for model in ModelKind.allCases {
            let measured = ours.compactMap { runs.run(model, $0) }
            guard !measured.isEmpty else { continue }
            var marks: [any Mark] = []
            // Quoted first, so our points draw over them; they are MNIST results, drawn only beside
            // runs on MNIST.
            let onMNIST = measured.allSatisfy { $0.config.dataset == "mnist" }
            let table = onMNIST ? PaperResults.table1.filter { $0.model == model } : []
            let structured = table.map { (KeptWeights.share(model, architecture: $0.architecture), $0.error, $0.method) }
            let unstructured =
                onMNIST ? PaperResults.quotedPruning.filter { $0.model == model }.map { ($0.weightsKept, $0.error, $0.method + "*") } : []
            let quoted = structured + unstructured
            if !quoted.isEmpty {
                marks.append(
                    ScatterMark(
                        x: structured.map { 100 * $0.0 }, y: structured.map(\.1), label: "paper's Table 1 (quoted)", color: Palette.black,
                        shape: .circle, size: 5, filled: false))
                marks.append(
                    ScatterMark(
                        x: unstructured.map { 100 * $0.0 }, y: unstructured.map(\.1), label: "unstructured pruning* (quoted)", color: Palette.black,
                        shape: .square, size: 5, filled: false))
                marks.append(
                    PointLabels(
                        x: quoted.map { 100 * $0.0 }, y: quoted.map(\.1),
                        labels: quoted.map {
                            $0.2.replacingOccurrences(of: "L0, λ = 0.1/N", with: "paper L0").replacingOccurrences(
                                of: "L0, λ sep.", with: "paper L0-sep")
                        },
                        color: Color(hex: 0x555555), avoiding: measured.map { (100 * KeptWeights.share($0), $0.result.finalTestError) }))
            }
            let errors = quoted.map(\.1) + measured.map(\.result.finalTestError)
            let (low, high) = (errors.min()!, errors.max()!)
            for run in measured {
                let variant = run.config.variant
                marks.append(
                    ScatterMark(
                        x: [100 * KeptWeights.share(run)], y: [run.result.finalTestError], label: "ours, \(name(variant))", color: color(variant),
                        shape: variant.isGated ? .diamond : .circle, size: 7))
            }
            panels.append(
                Panel(
                    title: Style.title(model),
                    x: Axis("weights kept (%)", kind: .logarithmic, limits: .fixed(0.2, 140), ticks: [0.3, 1, 3, 10, 30, 100]),
                    y: Axis("test error (%)", limits: .nice, including: [low - 0.05 * (high - low), high + 0.05 * (high - low)]), marks: marks,
                    legend: .none))
        }
        guard !panels.isEmpty else { throw runs.missing(.mlp) }
        return Figure(panels: panels, columns: 1, size: Size(width: 468, height: 230 * Double(panels.count)), sharedLegend: true)
    }

    static func name(_ variant: Variant) -> String { Style.name(variant) }
    static func color(_ variant: Variant) -> Color { Style.color(variant) }

    static func epochs(_ run: RunLog) -> [Double] { run.epochs.map { Double($0.epoch) } }
}

/// Names, colours and dashes shared by every figure, so a variant looks the same everywhere.
enum Style {
    static func name(_ variant: Variant) -> String {
        switch variant {
        case .l0: "L<sub>0</sub>"
        case .l0Sep: "L<sub>0</sub>-sep"
        case .dropout: "dropout"
        case .dense: "dense"
        case .selectiveDecay: "selective decay"
        case .magnitude: "magnitude pruning"
        }
    }

    static func color(_ variant: Variant) -> Color {
        switch variant {
        case .l0: Palette.blue
        case .l0Sep: Palette.vermillion
        case .dropout: Palette.bluishGreen
        case .dense: Palette.orange
        case .selectiveDecay: Palette.reddishPurple
        case .magnitude: Palette.skyBlue
        }
    }

    static func dash(_ variant: Variant) -> [Double] { variant == .l0Sep ? [5, 2.5] : [] }

    static func plainName(_ variant: Variant) -> String {
        switch variant {
        case .l0: "L0, λ = 0.1/N"
        case .l0Sep: "L0, λ sep."
        case .dropout: "dropout"
        case .dense: "dense"
        case .selectiveDecay: "selective decay"
        case .magnitude: "magnitude pruning"
        }
    }

    static func title(_ model: ModelKind) -> String { model.network.title }
}
