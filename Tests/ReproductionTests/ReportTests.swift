import Experiments
import FileSupport
import Foundation
import Reporting
import Reproduction
import Testing

@Suite("The reproduction report", .serialized)
struct ReportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let template = root.appendingPathComponent("Templates/reproduction.md")

    /// The files a reader sees in a report directory, by relative path.
    static func published(_ report: URL) throws -> [String: Data] {
        var files = [
            "index.html": try Data(contentsOf: report.appendingPathComponent("index.html")),
            "report.pdf": try Data(contentsOf: report.appendingPathComponent("report.pdf")),
        ]
        let figures = report.appendingPathComponent("figures")
        for name in try FileManager.default.contentsOfDirectory(atPath: figures.path) {
            files["figures/" + name] = try Data(contentsOf: figures.appendingPathComponent(name))
        }
        return files
    }

    @Test(
        "A report is replaced whole or not at all: a blocked figure path does not leave new pages beside old figures, and a writer killed mid-write leaves the old report"
    )
    func wholeOrNothing() throws {
        let data = try Fixtures.smallMNIST(trainCount: 1000, testCount: 500)
        let work = Fixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: work)
        }
        let reports = work.appendingPathComponent("reports")
        let report = reports.appendingPathComponent("reproduction")
        let arguments = [
            "report", "--template", Self.template.path, "--profile", "smoke", "--dataset", "mnist", "--data-dir", data.path,
            "--runs-dir", work.appendingPathComponent("runs").path, "--reports-dir", reports.path,
        ]
        let first = try Fixtures.run(arguments, environment: ["SOURCE_DATE_EPOCH": "1525132800"])
        try #require(first.status == 0, "\(first.stderr)")

        // A directory where a figure goes: the old code replaced index.html, then failed on it.
        let blocked = report.appendingPathComponent("figures/fig-curves.svg")
        try FileManager.default.removeItem(at: blocked)
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("in-the-way"), withIntermediateDirectories: true)
        let second = try Fixtures.run(arguments, environment: ["SOURCE_DATE_EPOCH": "1525219200"])
        #expect(second.status == 0, "\(second.stderr)")
        let built = try Self.published(report)
        #expect(String(decoding: built["index.html"] ?? Data(), as: UTF8.self).contains("2 May 2018"))
        #expect(String(decoding: (built["figures/fig-curves.svg"] ?? Data()).prefix(5), as: UTF8.self) == "<?xml")
        for (name, bytes) in built where name.hasSuffix(".pdf") {
            #expect(String(decoding: bytes, as: UTF8.self).contains("/CreationDate (20180502"), "\(name) is not the new one")
        }

        // A write that fails half way (a file size limit: EFBIG) leaves the old report and no debris.
        let limit = built["index.html"]!.count / 2048
        let command = ([Fixtures.executable.path] + arguments).map { "'\($0)'" }.joined(separator: " ")
        let bash = URL(fileURLWithPath: "/bin/bash")
        let failed = try Fixtures.run(
            ["-c", "trap '' XFSZ; ulimit -f \(limit); exec \(command)"], environment: ["SOURCE_DATE_EPOCH": "1525305600"], executable: bash)
        #expect(failed.status == 1 && failed.stderr.contains("index.html") && failed.stderr.split(separator: "\n").count == 1, "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports.path) == ["reproduction"])
        #expect(try Self.published(report) == built, "a failed write changed the published report")

        // Killed mid-write (SIGXFSZ, whose default action kills, when a file passes the limit; perl
        // restores the default and unblocks it, which the test runner may have changed): the old
        // report stays whole.
        let killed = try Fixtures.run(
            [
                "-c",
                "ulimit -f \(limit); exec perl -MPOSIX -e '$SIG{XFSZ} = \"DEFAULT\"; sigprocmask(SIG_UNBLOCK, POSIX::SigSet->new(SIGXFSZ)); exec @ARGV or die' -- \(command)",
            ],
            environment: ["SOURCE_DATE_EPOCH": "1525305600"], executable: bash)
        #expect(killed.status != 0, "\(killed.stderr)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: reports.path).filter { $0.hasPrefix(".reproduction.staging-") }
        #expect(leftovers.count == 1, "the writer did not die while writing the new report: \(leftovers), status \(killed.status): \(killed.stderr)")
        #expect(try Self.published(report) == built, "a killed writer changed the published report")

        // The next build removes the leftover and publishes.
        let third = try Fixtures.run(arguments, environment: ["SOURCE_DATE_EPOCH": "1525305600"])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: reports.path) == ["reproduction"])
        #expect(String(decoding: try Data(contentsOf: report.appendingPathComponent("index.html")), as: UTF8.self).contains("3 May 2018"))
    }

    @Test("report builds the shipped template with the smoke profile, the same bytes twice, and status says fresh")
    func smokeReport() throws {
        let data = try Fixtures.smallMNIST(trainCount: 1000, testCount: 500)
        let work = Fixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: work)
        }
        let arguments = [
            "report", "--template", Self.template.path, "--profile", "smoke", "--dataset", "mnist", "--data-dir", data.path,
            "--runs-dir", work.appendingPathComponent("runs").path, "--reports-dir", work.appendingPathComponent("reports").path,
        ]
        let environment = ["SOURCE_DATE_EPOCH": "1525132800"]
        let first = try Fixtures.run(arguments, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let html = work.appendingPathComponent("reports/reproduction/index.html")
        let page = try String(contentsOf: html, encoding: .utf8)
        #expect(page.contains("1 May 2018 · profile: <strong>smoke</strong> · dataset: <strong>MNIST</strong>"))
        let templateText = try String(contentsOf: Self.template, encoding: .utf8)
        // Distinct ids: a cell may appear in two {.when} blocks, once per dataset (this report is on MNIST,
        // and no cell is in a Fashion-MNIST block only).
        func ids(_ kind: String) -> Set<String> {
            Set(templateText.components(separatedBy: "```{.\(kind) #").dropFirst().map { String($0.prefix { $0 != " " && $0 != "}" }) })
        }
        let figureCount = ids("figure").count
        let cellCount = figureCount + ids("table").count
        // The MNIST discussion is in, the Fashion-MNIST one is not.
        #expect(
            page.contains("MNIST is the paper") && page.contains("own dataset, so the numbers below")
                && !page.contains("this is the Fashion-MNIST companion"))
        #expect(page.components(separatedBy: "<svg").count - 1 == figureCount)
        #expect(page.contains("<a href=\"#fig-flops\">") || page.contains("id=\"fig-flops\""))
        #expect(page.contains("paper: L0, λ = 0.1/N") && page.contains("ours: L0, λ = 0.1/N"))
        #expect(!page.contains("{{"), "a value was left unevaluated")
        #expect(page.contains("<th>data SHA-256</th>"))
        #expect(page.contains("<th>run mlp-l0-"))

        // A run the report trained is the same run `train` makes: same directory, same log bytes
        // (the report once left OpenBLAS multi-threaded, which changed the numbers).
        let alone = work.appendingPathComponent("alone")
        let train = try Fixtures.run([
            "train", "mlp", "--variant", "l0", "--dataset", "mnist", "--data-dir", data.path, "--epochs", "1", "--average-decay", "0.9",
            "--limit", "1000", "--runs-dir", alone.path,
        ])
        #expect(train.status == 0, "\(train.stderr)")
        let runName = try #require(try FileManager.default.contentsOfDirectory(atPath: alone.path).first)
        #expect(
            try Data(contentsOf: alone.appendingPathComponent(runName).appendingPathComponent("log.json"))
                == Data(contentsOf: work.appendingPathComponent("runs").appendingPathComponent(runName).appendingPathComponent("log.json")),
            "the report's \(runName) differs from the one `train` makes")

        let pdfURL = work.appendingPathComponent("reports/reproduction/report.pdf")
        let pdf = try Data(contentsOf: pdfURL)
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-")

        // With every run finished, the report renders without the data: its digest comes from the logs.
        var noData = arguments
        noData[noData.firstIndex(of: data.path)!] = "/nonexistent/mnist"
        let offline = try Fixtures.run(noData, environment: environment)
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(!offline.stderr.contains("dataset: mnist"), "the data was loaded: \(offline.stderr)")
        #expect(try String(contentsOf: html, encoding: .utf8) == page, "the page built without the data differs")
        #expect(try Data(contentsOf: pdfURL) == pdf)

        let second = try Fixtures.run(arguments, environment: environment)
        #expect(second.status == 0)
        #expect(try String(contentsOf: html, encoding: .utf8) == page, "a rebuild from the warm cache changed the page")
        #expect(try Data(contentsOf: pdfURL) == pdf, "a rebuild from the warm cache changed the PDF")
        let figures = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("reports/reproduction/figures").path).sorted()
        #expect(figures.count == 4 * figureCount && figures.contains("fig-flops.svg") && figures.contains("fig-gate.pdf"))
        #expect(figures.contains("fig-flops.csv") && figures.contains("fig-gate.csv"))
        // Each figure links its files, opens full size, and names the command that recomputes it.
        #expect(page.contains("<a class=\"zoom\" href=\"figures/fig-flops.svg\""))
        #expect(page.contains("<a href=\"figures/fig-flops.csv\"") && page.contains("<a href=\"figures/fig-flops.png\">PNG</a>"))
        #expect(page.contains("recompute: <code>l0repro figure fig-flops"))

        // Rerunning one figure from a warm cache recomputes nothing and leaves the page as it was.
        let rerun = try Fixtures.run(["figure", "fig-flops"] + arguments.dropFirst(), environment: environment)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("figures/fig-flops.svg") && !rerun.stdout.contains("fig-gate."))
        #expect(try String(contentsOf: html, encoding: .utf8) == page)
        let unknown = try Fixtures.run(["figure", "fig-nope"] + arguments.dropFirst(), environment: environment)
        #expect(unknown.status == 1 && unknown.stderr.contains("no figure cell #fig-nope in this template"))

        let status = try Fixtures.run(["report", "status"] + arguments.dropFirst(), environment: environment)
        #expect(status.status == 0)
        #expect(
            status.stdout.split(separator: "\n").count == cellCount && status.stdout.split(separator: "\n").allSatisfy { $0.hasPrefix("fresh  ") },
            "\(status.stdout)")

        // --fresh retrains every run from scratch; the same seed gives the same logs.
        let runLog = work.appendingPathComponent("runs").appendingPathComponent(runName).appendingPathComponent("log.json")
        let logBefore = try Data(contentsOf: runLog)
        let curves = work.appendingPathComponent("reports/reproduction/figures/fig-curves.svg")
        let curvesBefore = try Data(contentsOf: curves)
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 0)], ofItemAtPath: runLog.path)
        let fresh = try Fixtures.run(arguments + ["--fresh"], environment: environment)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stderr.contains("training \(runName)"), "\(fresh.stderr)")
        let modified = try #require(try FileManager.default.attributesOfItem(atPath: runLog.path)[.modificationDate] as? Date)
        #expect(modified.timeIntervalSince1970 > 0, "--fresh reused the old log")
        #expect(try Data(contentsOf: runLog) == logBefore)
        // The page's provenance gives each run's training time, which does change; the figures do not.
        #expect(try Data(contentsOf: curves) == curvesBefore, "retraining with the same seed changed a figure")

        // A run retrained to other bytes (an engine that rounds differently) makes the cells that use
        // the runs stale, and only those.
        let digest = Trainer.digestURL(in: runLog.deletingLastPathComponent())
        let digestBefore = try Data(contentsOf: digest)
        let retrained = logBefore + Data("\n".utf8)
        try retrained.write(to: runLog)
        try Data("\(Digest.sha256(retrained))  log.json\n".utf8).write(to: digest)
        let changed = try Fixtures.run(["report", "status"] + arguments.dropFirst(), environment: environment)
        let lines = changed.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("stale  fig-flops: changed since last computed: runs") }, "\(changed.stdout)")
        #expect(lines.contains { $0.hasPrefix("fresh  fig-gate") }, "\(changed.stdout)")
        try logBefore.write(to: runLog)
        try digestBefore.write(to: digest)

        // `figure --retrain` retrains the runs of a figure drawn from runs, and none for one drawn from formulas.
        let formula = try Fixtures.run(["figure", "fig-penalty", "--retrain"] + arguments.dropFirst(), environment: environment)
        #expect(formula.status == 0 && !formula.stderr.contains("training "), "\(formula.stderr)")
        let fromRuns = try Fixtures.run(["figure", "fig-flops", "--retrain"] + arguments.dropFirst(), environment: environment)
        #expect(fromRuns.status == 0 && fromRuns.stderr.contains("training \(runName)"), "\(fromRuns.stderr)")
        #expect(try Data(contentsOf: runLog) == logBefore)
    }

    @Test("The template's front matter chooses the dataset when --dataset is not given; a bad one is refused")
    func templateDataset() throws {
        let data = try Fixtures.smallMNIST(trainCount: 200, testCount: 100)
        let work = Fixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: work)
        }
        let template = work.appendingPathComponent("small.md")
        try "---\ntitle: Small\nprofile: smoke\ndataset: mnist\n---\n\nOn {{ dataset }}.\n".write(to: template, atomically: true, encoding: .utf8)
        let reports = work.appendingPathComponent("reports")
        let built = try Fixtures.run(["report", "--template", template.path, "--data-dir", data.path, "--reports-dir", reports.path])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(try String(contentsOf: reports.appendingPathComponent("small/index.html"), encoding: .utf8).contains("On MNIST."))

        // Another dataset than the template's goes to a report named after both, and needs no data
        // when no cell uses runs.
        let other = try Fixtures.run(["report", "--template", template.path, "--dataset", "fashion-mnist", "--reports-dir", reports.path])
        #expect(other.status == 0, "\(other.stderr)")
        #expect(
            try String(contentsOf: reports.appendingPathComponent("small-fashion-mnist/index.html"), encoding: .utf8).contains("On Fashion-MNIST."))

        let bad = work.appendingPathComponent("bad.md")
        try "---\ntitle: Bad\ndataset: imagenet\n---\n\nText.\n".write(to: bad, atomically: true, encoding: .utf8)
        let refused = try Fixtures.run(["report", "--template", bad.path, "--reports-dir", reports.path])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasSuffix("l0repro: \(bad.path):1: front matter dataset 'imagenet' is not mnist, fashion-mnist or auto\n"),
            "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: reports.appendingPathComponent("bad").path))
    }

    @Test("A bad template fails at template:line in one line and writes nothing")
    func badTemplate() throws {
        let work = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let template = work.appendingPathComponent("bad.md")
        try "---\ntitle: Bad\n---\n\nSee @fig-nowhere.\n".write(to: template, atomically: true, encoding: .utf8)
        let outcome = try Fixtures.run([
            "report", "--template", template.path, "--reports-dir", work.appendingPathComponent("reports").path, "--dataset", "fashion-mnist",
        ])
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr.hasSuffix("l0repro: \(template.path):5: dangling cross-reference @fig-nowhere: no figure, table or section has that id\n"),
            "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("reports").path))
        let missing = try Fixtures.run(["report", "--template", work.appendingPathComponent("none.md").path])
        #expect(missing.status == 1 && missing.stderr.contains("none.md:1: no such template"))
    }

    @Test("A SOURCE_DATE_EPOCH that is not a number of seconds is refused in one line")
    func badSourceDate() throws {
        let work = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let template = work.appendingPathComponent("small.md")
        try "---\ntitle: Small\n---\n\nText.\n".write(to: template, atomically: true, encoding: .utf8)
        let reports = work.appendingPathComponent("reports")
        let outcome = try Fixtures.run(
            ["report", "--template", template.path, "--dataset", "mnist", "--reports-dir", reports.path],
            environment: ["SOURCE_DATE_EPOCH": "yesterday"])
        #expect(outcome.status == 1)
        #expect(
            outcome.stderr == "l0repro: SOURCE_DATE_EPOCH='yesterday' is not a whole number of seconds since 1970; unset it or fix it\n",
            "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: reports.path))
    }

    @Test("A report's revision is the last commit that changed its code, template or runs, not HEAD")
    func revision() throws {
        let repo = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: repo) }
        @discardableResult
        func git(_ arguments: String...) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"] + arguments
            process.currentDirectoryURL = repo
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            try #require(process.terminationStatus == 0, "git \(arguments.joined(separator: " ")) failed")
            return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for folder in ["Sources", "Templates", "Reports/out"] {
            try FileManager.default.createDirectory(at: repo.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let code = repo.appendingPathComponent("Sources/a.swift")
        try "let a = 1\n".write(to: code, atomically: true, encoding: .utf8)
        try "---\ntitle: T\n---\n".write(to: repo.appendingPathComponent("Templates/t.md"), atomically: true, encoding: .utf8)
        try git("init", "-q")
        try git("add", ".")
        try git("commit", "-q", "-m", "code")
        try "page\n".write(to: repo.appendingPathComponent("Reports/out/index.html"), atomically: true, encoding: .utf8)
        try git("add", ".")
        try git("commit", "-q", "-m", "report")
        let files = [
            repo.appendingPathComponent("Sources"), repo.appendingPathComponent("Templates/t.md"), URL(fileURLWithPath: "/elsewhere/runs/x"),
        ]
        let revision = try #require(SourceRevision.of(files, in: repo.appendingPathComponent("Templates")))
        // The report commit came after the code commit, yet the revision is the code commit's.
        #expect(revision.commit == (try git("rev-parse", "HEAD~1")) && !revision.changed)
        try "let a = 2\n".write(to: code, atomically: true, encoding: .utf8)
        let dirty = try #require(SourceRevision.of(files, in: repo))
        #expect(dirty.commit == revision.commit && dirty.changed)
        try git("commit", "-q", "-am", "more code")
        let moved = try #require(SourceRevision.of(files, in: repo))
        #expect(moved.commit != revision.commit && !moved.changed)
    }
}
