import Datasets
import FileSupport
import Foundation
import Testing

/// CIFAR-style archives: a real tar.gz made by GNU tar from small generated record files, read by our
/// tar reader and fetched from a local HTTP server.
@Suite("Dataset archives", .serialized)
struct ArchiveTests {
    /// Writes `cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin` with `records` records each
    /// (label i % 10, pixels from a counter) and packs them with `tar czf` into `archive.tar.gz`.
    static func makeArchive(in directory: URL, records: Int = 3, leave: String? = nil) throws -> (url: URL, spec: ArchiveSpec) {
        let folder = directory.appendingPathComponent("src/cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let names = (1...5).map { "data_batch_\($0).bin" } + ["test_batch.bin"]
        for (k, name) in names.enumerated() where name != leave {
            var bytes = [UInt8]()
            for i in 0..<records {
                bytes.append(UInt8(i % 10))
                bytes += (0..<3072).map { UInt8(truncatingIfNeeded: $0 + i + k) }
            }
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
        let archive = directory.appendingPathComponent("archive.tar.gz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "czf", archive.path, "-C", directory.appendingPathComponent("src").path, "cifar-10-batches-bin"]
        try tar.run()
        tar.waitUntilExit()
        let md5 = Digest.md5(try Data(contentsOf: archive))
        let spec = ArchiveSpec(
            fileName: "archive.tar.gz", md5: md5, members: names.map { .init(path: "cifar-10-batches-bin/\($0)", size: records * 3073) })
        return (archive, spec)
    }

    @Test("The tar reader finds every regular file with its bytes and refuses damaged archives")
    func tarReader() throws {
        let work = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let (archive, _) = try Self.makeArchive(in: work)
        let bytes = try Gzip.decompress(Array(try Data(contentsOf: archive)), path: archive.path)
        let files = try TarArchive.files(bytes, path: "a.tar")
        #expect(
            files.map(\.name).sorted()
                == ((1...5).map { "cifar-10-batches-bin/data_batch_\($0).bin" } + ["cifar-10-batches-bin/test_batch.bin"]).sorted())
        let original = try Data(contentsOf: work.appendingPathComponent("src/cifar-10-batches-bin/test_batch.bin"))
        #expect(Array(files.first { $0.name.hasSuffix("test_batch.bin") }!.data) == Array(original))
        var damaged = bytes
        damaged[10] ^= 0xFF
        #expect { try TarArchive.files(damaged, path: "a.tar") } throws: { ($0 as? DatasetError)?.problem.contains("checksum mismatch") == true }
        #expect { try TarArchive.files(Array(bytes.prefix(5000)), path: "a.tar") } throws: {
            ($0 as? DatasetError)?.problem.contains("truncated") == true
        }
    }

    @Test("fetch downloads, checks the archive MD5, extracts, records checksums; verify and the reader then accept the files")
    func fetch() throws {
        let served = temporaryDirectory()
        let cache = temporaryDirectory()
        defer { for url in [served, cache] { try? FileManager.default.removeItem(at: url) } }
        let (_, spec) = try Self.makeArchive(in: served)
        let server = try LocalServer(serving: served)
        try #require(server.port > 0)
        let outcomes = try Downloader.fetch(
            spec, mirrors: [server.url("missing"), server.url("good")], into: cache, limits: DownloadLimits(idle: 10))
        #expect(outcomes.count == 6)
        #expect(DatasetVerifier.check(spec, in: cache).allSatisfy { if case .verified = $0 { true } else { false } })
        let (train, test) = try CIFARFormat.load(.cifar10, from: cache)
        #expect(train.count == 15 && test.count == 3)
        #expect(
            try Downloader.fetch(spec, mirrors: [server.url("missing")], into: cache, limits: DownloadLimits(idle: 10)).allSatisfy {
                if case .alreadyPresent = $0 { true } else { false }
            })
        // A file changed after the fetch no longer verifies.
        let changed = cache.appendingPathComponent("test_batch.bin")
        var bytes = try Data(contentsOf: changed)
        bytes[5] ^= 1
        try bytes.write(to: changed)
        #expect(DatasetVerifier.check(spec, in: cache).last == .corrupt(path: changed.path, problem: "checksum mismatch; re-fetch the dataset"))
    }

    @Test(
        "A wrong checksum, a truncated body, a 404 or a member missing from the archive fail in one line and write nothing",
        arguments: ["corrupt", "truncated", "missing", "incomplete"])
    func failures(mode: String) throws {
        let served = temporaryDirectory()
        let cache = temporaryDirectory()
        defer { for url in [served, cache] { try? FileManager.default.removeItem(at: url) } }
        var (_, spec) = try Self.makeArchive(in: served, leave: mode == "incomplete" ? "data_batch_3.bin" : nil)
        if mode == "incomplete" {
            spec = ArchiveSpec(
                fileName: spec.fileName, md5: spec.md5,
                members: ((1...5).map { "cifar-10-batches-bin/data_batch_\($0).bin" } + ["cifar-10-batches-bin/test_batch.bin"]).map {
                    .init(path: $0, size: 3 * 3073)
                })
        }
        let server = try LocalServer(serving: served)
        do {
            _ = try Downloader.fetch(spec, mirrors: [server.url(mode == "incomplete" ? "good" : mode)], into: cache, limits: DownloadLimits(idle: 10))
            Issue.record("\(mode): the fetch succeeded")
        } catch let error as DatasetError {
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains("download it by hand and put its files"), "\(error.description)")
        }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).isEmpty)
    }
}
