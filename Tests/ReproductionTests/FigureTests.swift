import Datasets
import Experiments
import FileSupport
import Foundation
import L0
import Plotting
import Reproduction
import Testing

@Suite("Figures of the reproduction", .serialized)
struct FigureTests {
    /// Real runs on 500 real digits: MLP l0 (2 epochs and a shorter 1-epoch one), l0-sep and dense,
    /// LeNet-5 l0.
    static let trained = Result { () throws -> URL in
        let data = try TrainingData.load(.mnist, directory: try Fixtures.smallMNIST(trainCount: 500, testCount: 200))
        let runs = Fixtures.temporaryDirectory()
        let configs = [
            TrainingConfig(model: .mlp, variant: .l0, dataset: "mnist", epochs: 2, seed: 1),
            TrainingConfig(model: .mlp, variant: .l0, dataset: "mnist", epochs: 1, seed: 1),
            TrainingConfig(model: .mlp, variant: .l0Sep, dataset: "mnist", epochs: 2, seed: 1),
            TrainingConfig(model: .mlp, variant: .dense, dataset: "mnist", epochs: 2, seed: 1),
            TrainingConfig(model: .lenet5, variant: .l0, dataset: "mnist", epochs: 1, seed: 1),
        ]
        for config in configs { _ = try Trainer(config: config, data: data, runsDirectory: runs).run() }
        return runs
    }
    /// The runs' directory; a missing fixture or a failed run fails each test that asks, naming it.
    static var runsDirectory: URL { get throws { try trained.get() } }

    @Test("The longest run of each network and variant is chosen")
    func runSelection() throws {
        let runs = try RunCollection(directory: Self.runsDirectory)
        #expect(runs.runs.count == 5)
        #expect(runs.run(.mlp, .l0)?.epochs.count == 2)
        #expect(runs.runs(of: .mlp).map(\.config.variant) == [.l0, .l0Sep, .dense])
        #expect(runs.run(.lenet5, .dropout) == nil)
        #expect(try RunCollection(directory: Self.runsDirectory, dataset: "fashion-mnist").runs.isEmpty)
    }

    @Test("Every figure renders as PNG, SVG and PDF", arguments: FigureCatalog.entries.map(\.name))
    func rendersEverywhere(name: String) throws {
        let entry = try #require(FigureCatalog.entry(named: name))
        let figure = try entry.figure(runs: try RunCollection(directory: Self.runsDirectory))
        let png = try FigureRenderer.render(figure, as: .png)
        let bitmap = try #require(Bitmap(png: png))
        #expect(bitmap.width == Int((figure.size.width * 2).rounded(.up)))
        let svg = String(decoding: try FigureRenderer.render(figure, as: .svg, options: RenderOptions(idPrefix: name)), as: UTF8.self)
        #expect(svg.contains("<path") && svg.contains("id=\"\(name)-1\""))
        let pdf = try FigureRenderer.render(figure, as: .pdf)
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-")
    }

    @Test("Figure 3 draws each gated run's expected FLOPs per epoch beside the dense count")
    func expectedFlops() throws {
        let runs = try RunCollection(directory: Self.runsDirectory)
        let figure = try RunFigures.expectedFlops(runs)
        #expect(figure.panels.count == 2)
        let mlp = figure.panels[0]
        #expect(mlp.legendEntries.map(\.label) == ["L<sub>0</sub>", "L<sub>0</sub>-sep", "dense and dropout"])
        let line = try #require(mlp.marks[0] as? LineMark)
        #expect(line.y == runs.run(.mlp, .l0)!.epochs.map(\.expectedFlops))
        let dense = try #require(mlp.marks[2] as? ReferenceLine)
        #expect(dense.value == 532_400)
        let lenet = try #require(figure.panels[1].marks.last as? ReferenceLine)
        #expect(lenet.value == 4_586_000)
    }

    @Test("The architecture figure puts the paper's Table 1 beside our kept groups")
    func architecture() throws {
        let figure = try RunFigures.architecture(try RunCollection(directory: Self.runsDirectory))
        let paper = figure.panels[0].marks.compactMap { $0 as? ScatterMark }
        #expect(paper.map(\.y) == [[219, 214, 100], [266, 88, 33]])
        let ours = figure.panels[0].marks.compactMap { $0 as? BarMark }
        #expect(ours[0].heights == [784, 300, 100])
    }

    @Test("Figure 2's Monte Carlo E[z] agrees with the integral of the hard concrete density")
    func monteCarloMatchesIntegral() throws {
        let figure = MathFigures.hardConcrete(samples: 10_000)
        let means = try #require(figure.panels[1].marks[1] as? LineMark)
        let band = try #require(figure.panels[1].marks[0] as? AreaMark)
        for i in stride(from: 0, to: means.x.count, by: 6) {
            let exact = HardConcrete.expectedGate(logAlpha: means.x[i], beta: HardConcrete.beta, steps: 4000)
            let halfWidth = (band.upper[i] - band.lower[i]) / 2  // 2 standard errors
            #expect(abs(means.y[i] - exact) <= max(2 * halfWidth, 1e-3), "log α = \(means.x[i]): \(means.y[i]) vs \(exact)")
        }
        // Figure 2(a): the point masses are P(z = 0) and P(z = 1) for log α = 0, β = 0.5.
        let masses = try #require(figure.panels[0].marks.compactMap { $0 as? PointMassMark }.first)
        #expect(abs(masses.mass[0] - HardConcrete.stretchedCDF(0, logAlpha: 0, beta: 0.5)) < 1e-12)
        #expect(abs(masses.mass[0] - 0.2315) < 1e-3)
    }

    @Test("A corrupt run log is an error naming it")
    func corruptLog() throws {
        let runs = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: runs) }
        let broken = runs.appendingPathComponent("mlp-l0-0000").appendingPathComponent("log.json")
        try FileManager.default.createDirectory(at: broken.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("{\"format\": 1".utf8).write(to: broken)
        #expect { try RunCollection(directory: runs) } throws: { ($0 as? FileError)?.path == broken.path }
    }

    @Test("`figure` lists, draws, and refuses unknown names and empty run directories in one line")
    func command() throws {
        let list = try Fixtures.run(["figure", "--list"])
        #expect(list.status == 0)
        for entry in FigureCatalog.entries { #expect(list.stdout.contains(entry.name)) }
        // The report template's figure ids, with their numbers and sources.
        let line = list.stdout.split(separator: "\n").first { $0.contains("fig-flops") }
        #expect(line.map { $0.contains("expected-flops") && $0.contains("Figure ") && $0.contains("Expected FLOPs") } == true, "\(list.stdout)")

        let out = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let environment = ["SOURCE_DATE_EPOCH": "1524960000"]
        let draw = try Fixtures.run(
            ["figure", "expected-flops", "--format", "all", "--out", out.path, "--runs-dir", try Self.runsDirectory.path], environment: environment)
        #expect(draw.status == 0, "\(draw.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["expected-flops.csv", "expected-flops.pdf", "expected-flops.png", "expected-flops.svg"])
        // The CSV holds every plotted value: a header, then rows of nine fields with numeric x.
        let csv = try String(contentsOf: out.appendingPathComponent("expected-flops.csv"), encoding: .utf8)
        let rows = csv.split(separator: "\r\n").map { String($0) }
        #expect(rows.first == PlottedData.header.joined(separator: ","))
        let fields = rows.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(fields.contains { $0[3] == "LineMark" } && fields.contains { $0[3] == "ReferenceLine" })
        #expect(fields.allSatisfy { $0.count == 9 })
        #expect(fields.filter { $0[3] == "LineMark" }.allSatisfy { Double($0[5]) != nil && Double($0[6]) != nil })
        let pdf = try Data(contentsOf: out.appendingPathComponent("expected-flops.pdf"))
        #expect(String(decoding: pdf, as: UTF8.self).contains("/CreationDate (20180429000000Z)"))
        let again = try Fixtures.run(
            [
                "figure", "expected-flops", "--format", "pdf", "--out", out.appendingPathComponent("again.pdf").path, "--runs-dir",
                try Self.runsDirectory.path,
            ], environment: environment)
        #expect(again.status == 0)
        #expect(try Data(contentsOf: out.appendingPathComponent("again.pdf")) == pdf)

        let empty = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = try Fixtures.run(["figure", "kept-groups", "--runs-dir", empty.path, "--out", out.appendingPathComponent("x.png").path])
        #expect(missing.status == 1 && missing.stderr.hasPrefix("l0repro: \(empty.path): no mlp run log here"))
        #expect(missing.stderr.filter { $0 == "\n" }.count == 1)
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("x.png").path))

        let unknown = try Fixtures.run(["figure", "chart-9"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown figure 'chart-9'"))
        let format = try Fixtures.run(["figure", "lp-penalty", "--format", "gif"])
        #expect(format.status != 0 && format.stderr.contains("unknown format 'gif'"))
    }
}
