import Datasets
import FileSupport
import Foundation
import Testing

/// The real MNIST test set and training labels, committed with the tests (Tests/Fixtures/mnist).
let mnistFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/mnist")

/// A fresh temporary directory, removed by the caller's `defer` (a failure to make it shows as the
/// test's first write there failing, naming the path).
func temporaryDirectory() -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("l0repro-test-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// An unsigned-byte IDX file with the given dimensions and data.
func idx(_ dimensions: [Int], _ data: [UInt8]) -> Data {
    var bytes: [UInt8] = [0, 0, 8, UInt8(dimensions.count)]
    for d in dimensions { bytes += [UInt8(d >> 24 & 255), UInt8(d >> 16 & 255), UInt8(d >> 8 & 255), UInt8(d & 255)] }
    return Data(bytes + data)
}

@Suite("IDX reader on the real MNIST test set")
struct MNISTReaderTests {
    @Test("The published gzip MD5s match")
    func checksums() throws {
        let expected = [
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        ]
        for (name, md5) in expected {
            let data = try Data(contentsOf: mnistFixtures.appendingPathComponent(name))
            #expect(Digest.md5(data) == md5, "\(name)")
        }
    }

    @Test("Images are 10000×28×28 and the labels have MNIST's class counts")
    func shapesAndCounts() throws {
        let images = try IDXFile(contentsOf: mnistFixtures.appendingPathComponent("t10k-images-idx3-ubyte.gz"))
        let labels = try IDXFile(contentsOf: mnistFixtures.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        #expect(images.dimensions == [10_000, 28, 28])
        #expect(images.bytes.count == 7_840_000)
        #expect(labels.dimensions == [10_000])
        var counts = [Int](repeating: 0, count: 10)
        for label in labels.bytes { counts[Int(label)] += 1 }
        #expect(counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        let trainLabels = try IDXFile(contentsOf: mnistFixtures.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        #expect(trainLabels.dimensions == [60_000])
        // The first test image is a 7; its pixels span 0…255.
        #expect(labels.bytes[0] == 7)
        #expect(images.bytes[0..<784].max() == 255)
    }

    @Test("A directory of plain (uncompressed) IDX files loads, and batches convert to [0, 1]")
    func plainFilesAndBatches() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pixels = (0..<(3 * 4)).map { UInt8($0 * 20) }
        for (stem, count) in [("train", 3), ("t10k", 2)] {
            try idx([count, 2, 2], Array(pixels[0..<count * 4])).write(to: directory.appendingPathComponent("\(stem)-images-idx3-ubyte"))
            try idx([count], (0..<count).map { UInt8($0 + 1) }).write(to: directory.appendingPathComponent("\(stem)-labels-idx1-ubyte"))
        }
        let (train, test) = try MNISTFormat.load(from: directory)
        #expect(train.count == 3 && test.count == 2 && train.height == 2)
        let indices: [Int32] = [2, 0]
        var images = [Float](repeating: -1, count: 8)
        var labels = [Int32](repeating: -1, count: 2)
        indices.withUnsafeBufferPointer { index in
            train.fillBatch(indices: index, images: &images, labels: &labels)
        }
        #expect(images == [160, 180, 200, 220, 0, 20, 40, 60].map { Float($0) / 255 })
        #expect(labels == [3, 1])
    }
}

@Suite("Bad dataset input")
struct BadInputTests {
    /// Runs `body` with a directory holding a valid tiny dataset, which `damage` may spoil first.
    func expectFailure(_ damage: (URL) throws -> Void, mentioning needles: [String]) throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (stem, count) in [("train", 4), ("t10k", 2)] {
            try idx([count, 2, 2], [UInt8](repeating: 9, count: count * 4)).write(to: directory.appendingPathComponent("\(stem)-images-idx3-ubyte"))
            try idx([count], [UInt8](repeating: 1, count: count)).write(to: directory.appendingPathComponent("\(stem)-labels-idx1-ubyte"))
        }
        try damage(directory)
        do {
            _ = try MNISTFormat.load(from: directory)
            Issue.record("loading succeeded")
        } catch let error as DatasetError {
            #expect(!error.description.contains("\n"), "one line")
            for needle in needles { #expect(error.description.contains(needle), "\(error.description) should mention \(needle)") }
        }
    }

    @Test("A missing directory")
    func missingDirectory() {
        let url = URL(fileURLWithPath: "/nonexistent/l0repro-data")
        #expect(throws: DatasetError(path: url.path, problem: "data directory does not exist; pass --data-dir with the four IDX files")) {
            try MNISTFormat.load(from: url)
        }
    }

    @Test("A missing file")
    func missingFile() throws {
        try expectFailure(
            { try FileManager.default.removeItem(at: $0.appendingPathComponent("t10k-labels-idx1-ubyte")) },
            mentioning: ["t10k-labels-idx1-ubyte", "missing"])
    }

    @Test("A wrong magic number")
    func wrongMagic() throws {
        try expectFailure(
            { try Data([0, 0, 9, 1, 0, 0, 0, 4, 1, 1, 1, 1]).write(to: $0.appendingPathComponent("train-labels-idx1-ubyte")) },
            mentioning: ["train-labels-idx1-ubyte", "wrong magic number 00000901"])
    }

    @Test("A truncated IDX file")
    func truncatedIDX() throws {
        try expectFailure(
            { try idx([4, 2, 2], [UInt8](repeating: 0, count: 10)).write(to: $0.appendingPathComponent("train-images-idx3-ubyte")) },
            mentioning: ["train-images-idx3-ubyte", "truncated", "16 bytes of data, file has 10"])
    }

    @Test("Image and label counts that disagree")
    func countMismatch() throws {
        try expectFailure(
            { try idx([3], [1, 1, 1]).write(to: $0.appendingPathComponent("train-labels-idx1-ubyte")) },
            mentioning: ["train-labels-idx1-ubyte", "3 labels", "4 images"])
    }

    @Test("A label outside 0–9")
    func badLabel() throws {
        try expectFailure(
            { try idx([2], [1, 12]).write(to: $0.appendingPathComponent("t10k-labels-idx1-ubyte")) },
            mentioning: ["label 12 at index 1"])
    }

    @Test("A truncated gzip file (the real MNIST labels cut short)")
    func truncatedGzip() throws {
        let real = try Data(contentsOf: mnistFixtures.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        try expectFailure(
            { try real.prefix(real.count / 2).write(to: $0.appendingPathComponent("t10k-labels-idx1-ubyte.gz")) },
            mentioning: ["t10k-labels-idx1-ubyte.gz", "truncated gzip data"])
    }

    @Test("A file named .gz that is not gzip")
    func notGzip() throws {
        try expectFailure(
            { try idx([2], [1, 1]).write(to: $0.appendingPathComponent("t10k-labels-idx1-ubyte.gz")) },
            mentioning: ["t10k-labels-idx1-ubyte.gz", "not gzip data"])
    }

    @Test("A directory where a file should be")
    func directoryInsteadOfFile() throws {
        try expectFailure(
            {
                try FileManager.default.removeItem(at: $0.appendingPathComponent("train-images-idx3-ubyte"))
                try FileManager.default.createDirectory(at: $0.appendingPathComponent("train-images-idx3-ubyte"), withIntermediateDirectories: false)
            }, mentioning: ["train-images-idx3-ubyte", "is a directory"])
    }

    @Test("Whole gzip files decompress to the same bytes as the plain ones")
    func gzipRoundTrip() throws {
        let gz = try Data(contentsOf: mnistFixtures.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let plain = try Gzip.decompress(Array(gz), path: "labels")
        #expect(plain.count == 8 + 10_000)
        #expect(Array(plain[0..<4]) == [0, 0, 8, 1])
    }
}
