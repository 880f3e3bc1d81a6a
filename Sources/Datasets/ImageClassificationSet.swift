import Foundation

/// Labelled images kept as bytes: `images` holds `count` images of `height × width × channels` bytes
/// (channel-last for IDX, channel-first for CIFAR), `labels` one class index per image.
/// Batches are converted to floats when used, so a 60,000-image set costs 47 MB, not 188 MB.
public struct ImageClassificationSet: Sendable {
    public let images: [UInt8]
    public let labels: [UInt8]
    public let count: Int
    public let channels: Int
    public let height: Int
    public let width: Int
    public let classes: Int
    /// CIFAR-100's 20 superclass labels, one per image (empty for other datasets).
    public let coarseLabels: [UInt8]

    public init(
        images: [UInt8], labels: [UInt8], channels: Int, height: Int, width: Int, classes: Int, coarseLabels: [UInt8] = []
    ) {
        precondition(images.count == labels.count * channels * height * width, "image bytes do not match labels")
        precondition(coarseLabels.isEmpty || coarseLabels.count == labels.count, "coarse labels do not match labels")
        self.images = images
        self.labels = labels
        self.coarseLabels = coarseLabels
        self.count = labels.count
        self.channels = channels
        self.height = height
        self.width = width
        self.classes = classes
    }

    /// Bytes per image.
    public var imageSize: Int { channels * height * width }

    /// The first `n` examples (all of them when n ≥ count).
    public func prefix(_ n: Int) -> ImageClassificationSet {
        guard n < count else { return self }
        return ImageClassificationSet(
            images: Array(images[0..<n * imageSize]), labels: Array(labels[0..<n]), channels: channels,
            height: height, width: width, classes: classes, coarseLabels: coarseLabels.isEmpty ? [] : Array(coarseLabels[0..<n]))
    }

    /// The examples at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageClassificationSet {
        var pickedImages = [UInt8]()
        pickedImages.reserveCapacity(indices.count * imageSize)
        for index in indices { pickedImages += images[index * imageSize..<(index + 1) * imageSize] }
        return ImageClassificationSet(
            images: pickedImages, labels: indices.map { labels[$0] }, channels: channels, height: height, width: width,
            classes: classes, coarseLabels: coarseLabels.isEmpty ? [] : indices.map { coarseLabels[$0] })
    }

    /// Writes the examples at `indices` into `destination` as floats in [0, 1] (byte / 255, divided exactly as the peer does) and their
    /// labels into `labels`.
    public func fillBatch(
        indices: UnsafeBufferPointer<Int32>, images destination: UnsafeMutablePointer<Float>,
        labels labelDestination: UnsafeMutablePointer<Int32>
    ) {
        images.withUnsafeBufferPointer { images in
            labels.withUnsafeBufferPointer { labels in
                Self.convert(
                    images: images.baseAddress!, labels: labels.baseAddress!, imageSize: imageSize, indices: indices,
                    into: destination, labels: labelDestination)
            }
        }
    }

    /// `fillBatch` on raw storage: image bytes `imageSize` apiece and one label byte per image.
    public static func convert(
        images: UnsafePointer<UInt8>, labels: UnsafePointer<UInt8>, imageSize: Int, indices: UnsafeBufferPointer<Int32>,
        into destination: UnsafeMutablePointer<Float>, labels labelDestination: UnsafeMutablePointer<Int32>
    ) {
        for (row, index) in indices.enumerated() {
            let from = images + Int(index) * imageSize
            let to = destination + row * imageSize
            for k in 0..<imageSize { to[k] = Float(from[k]) / 255 }
            labelDestination[row] = Int32(labels[Int(index)])
        }
    }
}

/// The four files of an MNIST-format dataset (MNIST, Fashion-MNIST) in one directory.
public struct MNISTFormat {
    /// The file stems; each may be stored as "stem.gz" or plain "stem".
    public static let stems = (
        trainImages: "train-images-idx3-ubyte", trainLabels: "train-labels-idx1-ubyte",
        testImages: "t10k-images-idx3-ubyte", testLabels: "t10k-labels-idx1-ubyte"
    )

    /// The training and test sets read from `directory`.
    public static func load(from directory: URL) throws -> (train: ImageClassificationSet, test: ImageClassificationSet) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw DatasetError(
                path: directory.path, problem: "data directory does not exist; pass --data-dir with the four IDX files")
        }
        guard isDirectory.boolValue else {
            throw DatasetError(path: directory.path, problem: "is a file, expected a directory holding the four IDX files")
        }
        let train = try loadSplit(directory: directory, images: stems.trainImages, labels: stems.trainLabels)
        let test = try loadSplit(directory: directory, images: stems.testImages, labels: stems.testLabels)
        return (train, test)
    }

    /// The path of `stem` in `directory`: the gzip version if present, else the plain one.
    public static func locate(_ stem: String, in directory: URL) throws -> URL {
        for name in candidateNames(stem) {
            let url = directory.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw DatasetError(
            path: directory.appendingPathComponent(stem + ".gz").path,
            problem:
                "missing (also looked for \(candidateNames(stem).dropFirst().joined(separator: ", "))); put the dataset's four IDX files in this directory"
        )
    }

    /// The names a file goes by, in the order they are looked for: the official gzip name, the
    /// uncompressed one, and the dotted spelling some distributions use (`train-images.idx3-ubyte`).
    static func candidateNames(_ stem: String) -> [String] {
        var names = [stem + ".gz", stem]
        if let dash = stem.range(of: "-idx") {
            let dotted = stem.replacingCharacters(in: dash, with: ".idx")
            names += [dotted + ".gz", dotted]
        }
        return names
    }

    static func loadSplit(directory: URL, images: String, labels: String) throws -> ImageClassificationSet {
        let imageURL = try locate(images, in: directory)
        let labelURL = try locate(labels, in: directory)
        let imageFile = try IDXFile(contentsOf: imageURL)
        let labelFile = try IDXFile(contentsOf: labelURL)
        guard imageFile.dimensions.count == 3 else {
            throw DatasetError(path: imageURL.path, problem: "expected 3 dimensions (count, rows, columns), found \(imageFile.dimensions.count)")
        }
        guard labelFile.dimensions.count == 1 else {
            throw DatasetError(path: labelURL.path, problem: "expected 1 dimension (count), found \(labelFile.dimensions.count)")
        }
        guard imageFile.dimensions[0] == labelFile.dimensions[0] else {
            throw DatasetError(
                path: labelURL.path,
                problem: "holds \(labelFile.dimensions[0]) labels but \(imageURL.lastPathComponent) holds \(imageFile.dimensions[0]) images")
        }
        if let bad = labelFile.bytes.firstIndex(where: { $0 > 9 }) {
            throw DatasetError(path: labelURL.path, problem: "label \(labelFile.bytes[bad]) at index \(bad) is not a digit class 0–9")
        }
        return ImageClassificationSet(
            images: imageFile.bytes, labels: labelFile.bytes, channels: 1, height: imageFile.dimensions[1],
            width: imageFile.dimensions[2], classes: 10)
    }
}
