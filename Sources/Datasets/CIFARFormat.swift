import Foundation

/// The binary versions of CIFAR-10 and CIFAR-100: fixed-size records of label byte(s) then 3072 pixel
/// bytes, 1024 each for red, green and blue, rows of 32.
///
/// CIFAR-10: data_batch_1.bin … data_batch_5.bin and test_batch.bin, records of 3073 bytes.
/// CIFAR-100: train.bin and test.bin, records of 3074 bytes (coarse label, fine label, pixels).
/// The files may sit in the directory itself or in the folder the official archive unpacks to.
public enum CIFARFormat {
    public enum Variant: Sendable {
        case cifar10, cifar100

        /// Bytes per record.
        public var recordSize: Int { self == .cifar10 ? 3073 : 3074 }
        public var classes: Int { self == .cifar10 ? 10 : 100 }
        var trainingFiles: [String] {
            self == .cifar10 ? (1...5).map { "data_batch_\($0).bin" } : ["train.bin"]
        }
        var testFiles: [String] { self == .cifar10 ? ["test_batch.bin"] : ["test.bin"] }
        var archiveFolder: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }
        var name: String { self == .cifar10 ? "CIFAR-10" : "CIFAR-100" }
    }

    public static let imageBytes = 3 * 32 * 32

    /// The training and test sets of `variant` from `directory`.
    public static func load(_ variant: Variant, from directory: URL) throws
        -> (train: ImageClassificationSet, test: ImageClassificationSet)
    {
        let folder = try locateFolder(variant, in: directory)
        return (
            try readSplit(variant.trainingFiles.map { folder.appendingPathComponent($0) }, variant: variant),
            try readSplit(variant.testFiles.map { folder.appendingPathComponent($0) }, variant: variant)
        )
    }

    static func locateFolder(_ variant: Variant, in directory: URL) throws -> URL {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DatasetError(path: directory.path, problem: "no such directory; pass --data-dir with the \(variant.name) binary files")
        }
        let nested = directory.appendingPathComponent(variant.archiveFolder)
        let first = variant.testFiles[0]
        if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(first).path),
            FileManager.default.fileExists(atPath: nested.appendingPathComponent(first).path)
        {
            return nested
        }
        return directory
    }

    /// Reads the records of several files into one set.
    static func readSplit(_ urls: [URL], variant: Variant) throws -> ImageClassificationSet {
        var images = [UInt8]()
        var labels = [UInt8]()
        var coarse = [UInt8]()
        for url in urls {
            let bytes = try FileReading.bytes(of: url)
            let size = variant.recordSize
            guard !bytes.isEmpty, bytes.count % size == 0 else {
                throw DatasetError(
                    path: url.path,
                    problem: "size \(bytes.count) is not a whole number of \(size)-byte \(variant.name) records; re-download the file")
            }
            let count = bytes.count / size
            images.reserveCapacity(images.count + count * imageBytes)
            for record in 0..<count {
                let start = record * size
                let labelOffset = variant == .cifar10 ? 0 : 1
                let label = bytes[start + labelOffset]
                guard Int(label) < variant.classes else {
                    throw DatasetError(path: url.path, problem: "record \(record) has label \(label), outside 0–\(variant.classes - 1)")
                }
                if variant == .cifar100 {
                    guard bytes[start] < 20 else {
                        throw DatasetError(path: url.path, problem: "record \(record) has coarse label \(bytes[start]), outside 0–19")
                    }
                    coarse.append(bytes[start])
                }
                labels.append(label)
                images.append(contentsOf: bytes[(start + size - imageBytes)..<(start + size)])
            }
        }
        return ImageClassificationSet(
            images: images, labels: labels, channels: 3, height: 32, width: 32, classes: variant.classes, coarseLabels: coarse)
    }
}

/// Per-channel mean and standard deviation of a set's pixels (scaled to [0, 1]), for normalisation.
public struct ChannelStatistics: Equatable, Sendable {
    public let mean: [Float]
    public let standardDeviation: [Float]

    public init(mean: [Float], standardDeviation: [Float]) {
        precondition(mean.count == standardDeviation.count && standardDeviation.allSatisfy { $0 > 0 }, "bad statistics")
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// The statistics of `set`, accumulated in Double in image order.
    public init(of set: ImageClassificationSet) {
        let plane = set.height * set.width
        var sums = [Double](repeating: 0, count: set.channels)
        var squares = [Double](repeating: 0, count: set.channels)
        set.images.withUnsafeBufferPointer { pixels in
            for image in 0..<set.count {
                for c in 0..<set.channels {
                    let start = image * set.imageSize + c * plane
                    var sum = 0.0
                    var square = 0.0
                    for k in 0..<plane {
                        let v = Double(pixels[start + k]) / 255
                        sum += v
                        square += v * v
                    }
                    sums[c] += sum
                    squares[c] += square
                }
            }
        }
        let n = Double(max(set.count * plane, 1))
        mean = sums.map { Float($0 / n) }
        standardDeviation = zip(sums, squares).map { sum, square in
            Float(max(square / n - (sum / n) * (sum / n), 1e-12).squareRoot())
        }
    }
}

/// One training-time transformation of an image: a shift of the 32×32 crop within the image padded by
/// 4 zero pixels (shiftX, shiftY in −4…4), then an optional horizontal flip. The caller draws these
/// from its seeded generator, so augmentation is deterministic for a given seed.
public struct Augmentation: Equatable, Sendable {
    public var shiftX: Int
    public var shiftY: Int
    public var flip: Bool

    public static let none = Augmentation(shiftX: 0, shiftY: 0, flip: false)
    public static let padding = 4

    public init(shiftX: Int, shiftY: Int, flip: Bool) {
        precondition(abs(shiftX) <= Self.padding && abs(shiftY) <= Self.padding, "shift beyond the padding")
        self.shiftX = shiftX
        self.shiftY = shiftY
        self.flip = flip
    }
}

extension ImageClassificationSet {
    /// Writes the images at `indices`, normalised per channel ((v/255 − mean)/std; padding pixels are 0
    /// before normalisation, as with zero padding of the raw image) and transformed by
    /// `augmentations[row]` when given, into `destination` (rows of channels·height·width floats).
    public func fillNormalizedBatch(
        indices: UnsafeBufferPointer<Int32>, augmentations: UnsafeBufferPointer<Augmentation>?,
        statistics: ChannelStatistics, into destination: UnsafeMutablePointer<Float>,
        labels labelDestination: UnsafeMutablePointer<Int32>
    ) {
        precondition(statistics.mean.count == channels, "statistics for \(statistics.mean.count) channels, images have \(channels)")
        let (h, w, plane) = (height, width, height * width)
        images.withUnsafeBufferPointer { pixels in
            for (row, index) in indices.enumerated() {
                let transform = augmentations?[row] ?? .none
                let source = pixels.baseAddress! + Int(index) * imageSize
                let target = destination + row * imageSize
                for c in 0..<channels {
                    let (mean, std) = (statistics.mean[c], statistics.standardDeviation[c])
                    for y in 0..<h {
                        for x in 0..<w {
                            // Output (y, x) shows input (y + shiftY, x' + shiftX), x' mirrored when flipped.
                            let sourceX = (transform.flip ? w - 1 - x : x) + transform.shiftX
                            let sourceY = y + transform.shiftY
                            let inside = sourceX >= 0 && sourceX < w && sourceY >= 0 && sourceY < h
                            let value: Float = inside ? Float(source[c * plane + sourceY * w + sourceX]) / 255 : 0
                            target[c * plane + y * w + x] = (value - mean) / std
                        }
                    }
                }
                labelDestination[row] = Int32(labels[Int(index)])
            }
        }
    }
}
