import Foundation

/// The datasets the tool knows by name.
public enum DatasetName: String, CaseIterable, Codable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"

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
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
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
        for (directory, source) in candidates
        where (try? MNISTFormat.locate(MNISTFormat.stems.trainImages, in: directory)) != nil {
            return (directory, source)
        }
        let searched = candidates.map(\.directory.path).joined(separator: ", ")
        let hint = self == .fashionMNIST
            ? "install Debian's dataset-fashion-mnist, or put the four IDX files in one of these directories or pass --data-dir"
            : "put the four MNIST IDX files (gzip or plain) in one of these directories or pass --data-dir"
        throw DatasetError(path: searched, problem: "\(rawValue) not found; \(hint)")
    }
}
