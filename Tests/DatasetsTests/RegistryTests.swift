import Datasets
import FileSupport
import Foundation
import Testing

@Suite("Dataset registry and search order")
struct RegistryTests {
    @Test("The real MNIST files verify by their official gzip MD5; the absent training images are reported missing")
    func realMNIST() {
        let checks = DatasetVerifier.check(.mnist, in: mnistFixtures)
        #expect(checks[0] == .missing(stem: "train-images-idx3-ubyte"))
        for check in checks.dropFirst() {
            guard case .verified(_, let how) = check else {
                Issue.record("\(check)")
                continue
            }
            #expect(how == "official gzip MD5")
        }
    }

    @Test("Every MNIST file has a decompressed digest, so re-compressed copies verify (issue 17)")
    func everyFileHasADigest() {
        for file in DatasetName.mnist.files + DatasetName.fashionMNIST.files {
            #expect(file.rawSHA256?.count == 64, "\(file.stem)")
        }
        #expect(DatasetName.mnist.files[0].rawSHA256 == "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db")
    }

    @Test("Files named the dotted way (t10k-labels.idx1-ubyte), gzip or plain, are found and verified")
    func dottedNames() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.copyItem(
            at: mnistFixtures.appendingPathComponent("t10k-labels-idx1-ubyte.gz"), to: directory.appendingPathComponent("t10k-labels.idx1-ubyte.gz"))
        let raw = try Gzip.decompress(Array(Data(contentsOf: mnistFixtures.appendingPathComponent("t10k-images-idx3-ubyte.gz"))), path: "images")
        try Data(raw).write(to: directory.appendingPathComponent("t10k-images.idx3-ubyte"))
        let checks = DatasetVerifier.check(.mnist, in: directory)
        #expect(checks[2] == .verified(path: directory.appendingPathComponent("t10k-images.idx3-ubyte").path, how: "SHA-256"))
        #expect(checks[3] == .verified(path: directory.appendingPathComponent("t10k-labels.idx1-ubyte.gz").path, how: "official gzip MD5"))
    }

    @Test("A re-compressed copy verifies by its decompressed bytes; changed or truncated files are corrupt")
    func recompressedAndCorrupt() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let original = try Data(contentsOf: mnistFixtures.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let raw = try Gzip.decompress(Array(original), path: "labels")
        // Re-compress with the system gzip at another level: different bytes, same content.
        let plain = directory.appendingPathComponent("t10k-labels-idx1-ubyte")
        try Data(raw).write(to: plain)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-1", "-n", plain.path]
        try gzip.run()
        gzip.waitUntilExit()
        let recompressed = directory.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
        #expect(try Digest.md5(Data(contentsOf: recompressed)) != "ec29112dd5afa0611ce80d1b7f02629c")
        let file = DatasetName.mnist.files[3]
        #expect(DatasetVerifier.check(.mnist, in: directory)[3] == .verified(path: recompressed.path, how: "SHA-256 of the decompressed data"))

        var changed = raw
        changed[100] ^= 1
        try FileManager.default.removeItem(at: recompressed)
        try Data(changed).write(to: plain)
        #expect(DatasetVerifier.check(.mnist, in: directory)[3] == .corrupt(path: plain.path, problem: "checksum mismatch; re-download the file"))

        try FileManager.default.removeItem(at: plain)
        try original.prefix(2000).write(to: recompressed)
        guard case .corrupt(_, let problem) = DatasetVerifier.check(.mnist, in: directory)[3] else {
            Issue.record("a truncated file passed")
            return
        }
        #expect(problem.contains("truncated gzip data"))
        #expect(file.rawSize == 10_008)
    }

    @Test("Search order: L0REPRO_DATA_DIR, then the user cache, then the system; --data-dir overrides all")
    func searchOrder() throws {
        let root = temporaryDirectory()
        let cache = temporaryDirectory()
        defer { for url in [root, cache] { try? FileManager.default.removeItem(at: url) } }
        let environment = ["L0REPRO_DATA_DIR": root.path, "XDG_CACHE_HOME": cache.path, "HOME": "/nonexistent"]
        let order = DatasetName.fashionMNIST.searchDirectories(environment: environment)
        #expect(
            order.map(\.directory.path) == [
                root.appendingPathComponent("fashion-mnist").path, cache.appendingPathComponent("l0repro/fashion-mnist").path,
                "/usr/share/datasets/fashion-mnist",
            ])
        #expect(order.map(\.source) == ["L0REPRO_DATA_DIR", "user cache", "system: Debian's dataset-fashion-mnist"])

        // The first directory that holds the training images wins.
        let cached = cache.appendingPathComponent("l0repro/mnist")
        try FileManager.default.createDirectory(at: cached, withIntermediateDirectories: true)
        try Data([0]).write(to: cached.appendingPathComponent("train-images-idx3-ubyte.gz"))
        #expect(try DatasetName.mnist.resolve(explicit: nil, environment: environment).source == "user cache")
        let rooted = root.appendingPathComponent("mnist")
        try FileManager.default.createDirectory(at: rooted, withIntermediateDirectories: true)
        try Data([0]).write(to: rooted.appendingPathComponent("train-images-idx3-ubyte"))
        #expect(try DatasetName.mnist.resolve(explicit: nil, environment: environment).directory.path == rooted.path)
        #expect(try DatasetName.mnist.resolve(explicit: cache, environment: environment).source == "--data-dir")
        #expect(throws: DatasetError.self) {
            try DatasetName.mnist.resolve(explicit: nil, environment: ["HOME": "/nonexistent"])
        }
    }

    @Test("Debian's Fashion-MNIST verifies file by file", .enabled(if: FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
    func debianFashionMNIST() {
        let checks = DatasetVerifier.check(.fashionMNIST, in: URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist"))
        #expect(checks.count == 4)
        #expect(checks.allSatisfy { if case .verified = $0 { return true } else { return false } })
    }
}
