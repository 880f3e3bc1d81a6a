import Foundation
import Testing

@Suite("The l0repro command", .serialized)
struct CommandLineTests {
    @Test("A run killed mid-training resumes to the same log as an uninterrupted run")
    func killAndResume() throws {
        let data = try Fixtures.smallMNIST(trainCount: 6000, testCount: 1000)
        let (whole, killed) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [data, whole, killed] { try? FileManager.default.removeItem(at: url) } }
        let arguments = ["train", "mlp", "--dataset", "mnist", "--data-dir", data.path, "--epochs", "6", "--seed", "3"]

        let reference = try Fixtures.run(arguments + ["--runs-dir", whole.path])
        #expect(reference.status == 0, "\(reference.stderr)")

        let process = Process()
        process.executableURL = Fixtures.executable
        process.arguments = arguments + ["--runs-dir", killed.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        var checkpoint: URL?
        while checkpoint == nil && process.isRunning && Date() < deadline {
            let runs = (try? FileManager.default.contentsOfDirectory(at: killed, includingPropertiesForKeys: nil)) ?? []
            checkpoint = runs.map { $0.appendingPathComponent("checkpoint.bin") }.first { FileManager.default.fileExists(atPath: $0.path) }
            if checkpoint == nil { usleep(2000) }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let runDirectory = try #require(checkpoint).deletingLastPathComponent()
        try #require(
            !FileManager.default.fileExists(atPath: runDirectory.appendingPathComponent("log.json").path), "the run finished before it was killed")

        let resumed = try Fixtures.run(arguments + ["--runs-dir", killed.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming after epoch"))
        let name = runDirectory.lastPathComponent
        let expected = try Data(contentsOf: whole.appendingPathComponent(name).appendingPathComponent("log.json"))
        #expect(try Data(contentsOf: runDirectory.appendingPathComponent("log.json")) == expected)

        let again = try Fixtures.run(arguments + ["--runs-dir", killed.path])
        #expect(again.stdout.contains("reused"))
    }

    @Test("The log does not depend on the number of threads", arguments: ["mlp", "lenet5"])
    func threadCountIndependence(model: String) throws {
        let data = try Fixtures.smallMNIST(trainCount: 2000, testCount: 500)
        let (one, three) = (Fixtures.temporaryDirectory(), Fixtures.temporaryDirectory())
        defer { for url in [data, one, three] { try? FileManager.default.removeItem(at: url) } }
        let arguments = ["train", model, "--dataset", "mnist", "--data-dir", data.path, "--epochs", "2"]
        for (threads, runs) in [("1", one), ("3", three)] {
            let outcome = try Fixtures.run(arguments + ["--threads", threads, "--runs-dir", runs.path])
            #expect(outcome.status == 0, "\(outcome.stderr)")
        }
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: one.path).first)
        let first = try Data(contentsOf: one.appendingPathComponent(name).appendingPathComponent("log.json"))
        #expect(try Data(contentsOf: three.appendingPathComponent(name).appendingPathComponent("log.json")) == first)
    }

    @Test(
        "Bad input gives a one-line error, a non-zero exit and no run directory",
        arguments: [
            (["--dataset", "mnist", "--data-dir", "/nonexistent/mnist"], "/nonexistent/mnist: data directory does not exist"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--lambda", "0.1,0.2"], "--lambda needs one value or 3"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--lambda", "abc"], "--lambda 'abc' is not a number"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--epochs", "0"], "--epochs must be at least 1"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--variant", "pruned"], "pruned"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--method", "pruned"], "pruned"),
            (
                ["--dataset", "mnist", "--data-dir", "DATA", "--method", "magnitude", "--final-sparsity", "1"],
                "--final-sparsity must be in [0, 1), got 1.0"
            ),
            (
                ["--dataset", "mnist", "--data-dir", "DATA", "--method", "magnitude", "--final-sparsity", "-0.1"],
                "--final-sparsity must be in [0, 1), got -0.1"
            ),
            (
                ["--dataset", "mnist", "--data-dir", "DATA", "--method", "selective-decay", "--tolerance", "-0.5"],
                "--tolerance must be a finite number ≥ 0, got -0.5"
            ),
            (["--dataset", "mnist", "--data-dir", "DATA", "--method", "dense", "--final-sparsity", "0.5"], "belong to --method magnitude"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--method", "magnitude"], "no finished l0-sep run with these settings"),
            // A negative number is read as the option's value, so the message names it.
            (["--dataset", "mnist", "--data-dir", "DATA", "--epochs", "-3"], "--epochs must be at least 1, got -3"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--learning-rate", "-1e-3"], "--learning-rate must be positive, got -0.001"),
            (["--dataset", "mnist", "--data-dir", "DATA", "--threads", "0"], "--threads must be in 1…1024, got 0"),
            // The configuration is checked before the data is looked for.
            (["--dataset", "mnist", "--data-dir", "/nonexistent/mnist", "--epochs", "-3"], "--epochs must be at least 1, got -3"),
        ])
    func badInput(arguments: [String], message: String) throws {
        let data = try Fixtures.smallMNIST(trainCount: 100, testCount: 100)
        let runs = Fixtures.temporaryDirectory().appendingPathComponent("runs")
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: runs.deletingLastPathComponent())
        }
        let outcome = try Fixtures.run(
            ["train", "mlp"] + arguments.map { $0 == "DATA" ? data.path : $0 } + ["--runs-dir", runs.path])
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains(message), "\(outcome.stderr)")
        #expect(!FileManager.default.fileExists(atPath: runs.path))
    }

    @Test("A template that is a directory, a reports directory under a file and a runs directory that is a file are named in words before any work")
    func systemErrorsInWords() throws {
        let work = Fixtures.temporaryDirectory()
        let data = try Fixtures.smallMNIST(trainCount: 100, testCount: 100)
        defer { for url in [work, data] { try? FileManager.default.removeItem(at: url) } }
        let folder = work.appendingPathComponent("folder.md")
        let file = work.appendingPathComponent("a-file")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: file)
        let template = ReportTests.template.path
        let cases: [([String], String)] = [
            (["report", "--template", folder.path, "--runs-dir", work.path], "\(folder.path):1: cannot read the template (is a directory)"),
            (
                ["report", "--template", template, "--reports-dir", file.path, "--runs-dir", work.path],
                "\(file.path)/reproduction: cannot write the report here (\(file.path) is a file, not a directory); choose another --reports-dir"
            ),
            (
                ["train", "mlp", "--dataset", "mnist", "--data-dir", data.path, "--epochs", "1", "--runs-dir", file.path],
                "\(file.path): is a file, not a directory; choose another --runs-dir"
            ),
        ]
        for (arguments, message) in cases {
            let outcome = try Fixtures.run(arguments)
            #expect(outcome.status == 1)
            #expect(outcome.stderr.hasSuffix("l0repro: \(message)\n"), "\(outcome.stderr)")
            #expect(!outcome.stderr.contains("NSCocoaErrorDomain") && !outcome.stderr.contains("computing"))
        }
    }

    @Test("Errors from the tool itself are exactly one line")
    func oneLine() throws {
        let outcome = try Fixtures.run(["train", "mlp", "--dataset", "mnist", "--data-dir", "/nonexistent/mnist"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasPrefix("l0repro: ") && outcome.stderr.filter { $0 == "\n" }.count == 1)
    }

    @Test("data verify reports each file and fails on a missing one; unknown names are refused")
    func dataVerify() throws {
        let partial = try Fixtures.run(["data", "verify", "mnist", "--data-dir", Fixtures.mnist.path])
        #expect(partial.status == 1)
        #expect(partial.stdout.contains("missing    train-images-idx3-ubyte(.gz)"))
        #expect(partial.stdout.contains("ok         \(Fixtures.mnist.path)/t10k-labels-idx1-ubyte.gz (official gzip MD5)"))
        let unknown = try Fixtures.run(["data", "verify", "cifar-7"])
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown dataset 'cifar-7'"))
        let list = try Fixtures.run(["data", "list"])
        #expect(list.status == 0 && list.stdout.contains("mnist") && list.stdout.contains("fashion-mnist"))
        let empty = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        let cifar = try Fixtures.run(["data", "list"], environment: ["XDG_CACHE_HOME": empty.path])
        #expect(cifar.stdout.contains("cifar-10      missing (searched \(empty.path)/l0repro/cifar-10); run `l0repro data fetch cifar-10`"))
        #expect(cifar.stdout.contains("cifar-100     missing") && cifar.stdout.contains("put its files (train.bin, test.bin)"))
        let training = try Fixtures.run(["train", "mlp", "--dataset", "cifar-10"])
        #expect(training.status != 0)
    }

    @Test("Every command explains itself with --help")
    func help() throws {
        for command in [
            [], ["train"], ["bench"], ["purge"], ["evaluate"], ["data"], ["data", "list"], ["data", "verify"], ["figure"], ["report"],
            ["report", "status"], ["serve"],
        ] {
            let outcome = try Fixtures.run(command + ["--help"])
            #expect(outcome.status == 0)
            #expect(outcome.stdout.contains("USAGE"))
        }
    }
}
