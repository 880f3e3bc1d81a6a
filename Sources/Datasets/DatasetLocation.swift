import Foundation

/// The datasets the tool knows by name.
public enum DatasetName: String, CaseIterable, Codable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    /// The binary version (data_batch_1.bin … test_batch.bin).
    case cifar10 = "cifar-10"
    /// The binary version (train.bin, test.bin).
    case cifar100 = "cifar-100"

    /// The name as it is written in prose: "MNIST", "Fashion-MNIST", "CIFAR-10", "CIFAR-100".
    public var displayName: String {
        switch self {
        case .mnist: "MNIST"
        case .fashionMNIST: "Fashion-MNIST"
        case .cifar10: "CIFAR-10"
        case .cifar100: "CIFAR-100"
        }
    }

    /// Whether the dataset is in the MNIST IDX format (the others are CIFAR binaries).
    public var isIDX: Bool { self == .mnist || self == .fashionMNIST }

    /// The CIFAR variant of a CIFAR dataset.
    public var cifarVariant: CIFARFormat.Variant? {
        switch self {
        case .cifar10: .cifar10
        case .cifar100: .cifar100
        default: nil
        }
    }

    /// Whether `directory` holds the dataset's training data.
    func isPresent(in directory: URL) -> Bool {
        if let archive {
            let folder = cifarVariant.flatMap { try? CIFARFormat.locateFolder($0, in: directory) } ?? directory
            return FileManager.default.fileExists(atPath: folder.appendingPathComponent(archive.members[0].name).path)
        }
        return (try? MNISTFormat.locate(MNISTFormat.stems.trainImages, in: directory)) != nil
    }

    /// The environment variable naming a directory that holds one subdirectory per dataset.
    public static let environmentVariable = "L0REPRO_DATA_DIR"

    /// Where the dataset may be, in search order, each with what put it on the list: the
    /// `L0REPRO_DATA_DIR` root, the user cache (`$XDG_CACHE_HOME/l0repro`, else `~/.cache/l0repro`),
    /// then system locations (Debian's /usr/share/datasets).
    public func searchDirectories(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [(directory: URL, source: String)]
    {
        var result = [(URL, String)]()
        if let root = environment[Self.environmentVariable], !root.isEmpty {
            result.append((URL(fileURLWithPath: root).appendingPathComponent(rawValue), Self.environmentVariable))
        }
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSHomeDirectory()).appendingPathComponent(".cache")
        result.append((cache.appendingPathComponent("l0repro").appendingPathComponent(rawValue), "user cache"))
        if self == .fashionMNIST {
            result.append((URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist"), "system: Debian's dataset-fashion-mnist"))
        }
        return result
    }

    /// The directory to read and where it came from: `explicit` (--data-dir) if given, else the first
    /// search directory that holds the training images.
    public func resolve(explicit: URL?, environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> (directory: URL, source: String)
    {
        if let explicit { return (explicit, "--data-dir") }
        let candidates = searchDirectories(environment: environment)
        for (directory, source) in candidates where isPresent(in: directory) {
            return (directory, source)
        }
        let searched = candidates.map(\.directory.path).joined(separator: ", ")
        throw DatasetError(path: searched, problem: "\(rawValue) not found; \(instructions)")
    }

    /// How to get the dataset onto this machine.
    public var instructions: String {
        switch self {
        case .mnist: "run `l0repro data fetch mnist`, or put the four MNIST IDX files (gzip or plain) in one of these directories or pass --data-dir"
        case .fashionMNIST:
            "install Debian's dataset-fashion-mnist, run `l0repro data fetch fashion-mnist`, or put the four IDX files in one of these directories or pass --data-dir"
        case .cifar10, .cifar100:
            "run `l0repro data fetch \(rawValue)`, or unpack \(archive!.fileName) and put its files (\(archive!.members.map(\.name).joined(separator: ", "))) in one of these directories or pass --data-dir"
        }
    }
}
