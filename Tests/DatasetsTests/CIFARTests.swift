import Datasets
import Foundation
import Testing

/// A CIFAR record: label byte(s), then 3072 pixels whose value encodes (image, channel, position).
func cifarRecord(labels: [UInt8], seed: Int) -> [UInt8] {
    labels + (0..<3072).map { UInt8((seed * 7 + $0 / 1024 * 50 + $0 % 1024) % 256) }
}

@Suite("CIFAR readers and augmentation")
struct CIFARTests {
    func writeCIFAR10(to directory: URL, recordsPerBatch: Int = 2) throws {
        for batch in 1...5 {
            let bytes = (0..<recordsPerBatch).flatMap { cifarRecord(labels: [UInt8((batch + $0) % 10)], seed: batch * 10 + $0) }
            try Data(bytes).write(to: directory.appendingPathComponent("data_batch_\(batch).bin"))
        }
        try Data((0..<3).flatMap { cifarRecord(labels: [UInt8($0)], seed: 100 + $0) }).write(to: directory.appendingPathComponent("test_batch.bin"))
    }

    @Test("CIFAR-10: records, labels and channel-first pixels, also in the archive's folder")
    func cifar10() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("cifar-10-batches-bin")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try writeCIFAR10(to: folder)
        let (train, test) = try CIFARFormat.load(.cifar10, from: root)
        #expect(train.count == 10 && test.count == 3)
        #expect(train.channels == 3 && train.height == 32 && train.width == 32 && train.classes == 10)
        #expect(Array(train.labels.prefix(3)) == [1, 2, 2])
        #expect(Array(train.images[0..<3072]) == Array(cifarRecord(labels: [1], seed: 10).dropFirst()))
        #expect(train.coarseLabels.isEmpty)
    }

    @Test("CIFAR-100: fine labels as the classes, coarse labels kept")
    func cifar100() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data((0..<4).flatMap { cifarRecord(labels: [UInt8($0 * 5), UInt8($0 * 25)], seed: $0) }).write(
            to: directory.appendingPathComponent("train.bin"))
        try Data(cifarRecord(labels: [19, 99], seed: 9)).write(to: directory.appendingPathComponent("test.bin"))
        let (train, test) = try CIFARFormat.load(.cifar100, from: directory)
        #expect(train.labels == [0, 25, 50, 75] && train.coarseLabels == [0, 5, 10, 15] && train.classes == 100)
        #expect(test.labels == [99] && test.coarseLabels == [19])
    }

    @Test("Bad CIFAR input gives one line naming the file and the problem")
    func badInput() throws {
        let cases: [(String, (URL) throws -> Void, [String])] = [
            (
                "wrong record size", { try Data(repeating: 1, count: 3073 * 2 + 5).write(to: $0.appendingPathComponent("data_batch_3.bin")) },
                ["data_batch_3.bin", "not a whole number of 3073-byte CIFAR-10 records"]
            ),
            (
                "label out of range", { try Data(cifarRecord(labels: [12], seed: 1)).write(to: $0.appendingPathComponent("test_batch.bin")) },
                ["test_batch.bin", "record 0 has label 12"]
            ),
            (
                "missing file", { try FileManager.default.removeItem(at: $0.appendingPathComponent("data_batch_5.bin")) },
                ["data_batch_5.bin", "no such file"]
            ),
            (
                "directory instead of a file",
                {
                    try FileManager.default.removeItem(at: $0.appendingPathComponent("data_batch_2.bin"))
                    try FileManager.default.createDirectory(at: $0.appendingPathComponent("data_batch_2.bin"), withIntermediateDirectories: false)
                }, ["data_batch_2.bin", "is a directory"]
            ),
            ("empty file", { try Data().write(to: $0.appendingPathComponent("data_batch_1.bin")) }, ["data_batch_1.bin", "size 0"]),
        ]
        for (what, damage, needles) in cases {
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try writeCIFAR10(to: directory)
            try damage(directory)
            do {
                _ = try CIFARFormat.load(.cifar10, from: directory)
                Issue.record("\(what): loading succeeded")
            } catch let error as DatasetError {
                #expect(!error.description.contains("\n"))
                for needle in needles { #expect(error.description.contains(needle), "\(what): \(error.description)") }
            }
        }
        #expect(throws: DatasetError.self) { try CIFARFormat.load(.cifar10, from: URL(fileURLWithPath: "/nonexistent/cifar")) }
    }

    @Test("Channel statistics of known images")
    func statistics() {
        // Two 1×1×2 "images" with 3 channels: channel c holds values (c·100, c·100 + 50) / 255.
        let images: [UInt8] = [0, 50, 100, 150, 200, 250, 0, 50, 100, 150, 200, 250]
        let set = ImageClassificationSet(images: images, labels: [0, 1], channels: 3, height: 1, width: 2, classes: 2)
        let stats = ChannelStatistics(of: set)
        for c in 0..<3 {
            #expect(abs(stats.mean[c] - Float(c * 100 + 25) / 255) < 1e-6)
            #expect(abs(stats.standardDeviation[c] - 25 / 255) < 1e-5)
        }
    }

    @Test("Crop shifts with zero padding, flips mirror, and the same draws give the same batch")
    func augmentation() {
        // One 3×32×32 image whose pixel at (c, y, x) is y·3 + x (mod 256) + c.
        var pixels = [UInt8]()
        for c in 0..<3 { for y in 0..<32 { for x in 0..<32 { pixels.append(UInt8((y * 3 + x + c) % 256)) } } }
        let set = ImageClassificationSet(images: pixels, labels: [4], channels: 3, height: 32, width: 32, classes: 10)
        let stats = ChannelStatistics(mean: [0, 0, 0], standardDeviation: [1, 1, 1])
        func render(_ augmentation: Augmentation) -> [Float] {
            var out = [Float](repeating: -1, count: 3072)
            var label: Int32 = -1
            let indices: [Int32] = [0]
            indices.withUnsafeBufferPointer { index in
                [augmentation].withUnsafeBufferPointer { augmentations in
                    set.fillNormalizedBatch(indices: index, augmentations: augmentations, statistics: stats, into: &out, labels: &label)
                }
            }
            #expect(label == 4)
            return out
        }
        func pixel(_ c: Int, _ y: Int, _ x: Int) -> Float { Float((y * 3 + x + c) % 256) / 255 }
        let plain = render(.none)
        #expect(plain[1 * 1024 + 5 * 32 + 7] == pixel(1, 5, 7))
        let shifted = render(Augmentation(shiftX: 3, shiftY: -2, flip: false))
        #expect(shifted[0 * 1024 + 5 * 32 + 7] == pixel(0, 3, 10))
        #expect(shifted[0 * 1024 + 0 * 32 + 7] == 0)  // row −2: padding
        #expect(shifted[0 * 1024 + 5 * 32 + 30] == 0)  // column 33: padding
        let flipped = render(Augmentation(shiftX: 0, shiftY: 0, flip: true))
        #expect(flipped[2 * 1024 + 5 * 32 + 0] == pixel(2, 5, 31))
        let both = Augmentation(shiftX: -4, shiftY: 4, flip: true)
        #expect(render(both) == render(both))
    }
}
