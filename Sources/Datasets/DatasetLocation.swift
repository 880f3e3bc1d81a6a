import Foundation

/// The datasets the tool knows by name, and where it looks for them (first cut: an explicit
/// directory, else the dataset's usual system location).
public enum DatasetName: String, CaseIterable, Codable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"

    /// Directories searched, in order, when no directory is given.
    public var systemDirectories: [URL] {
        let cache = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        let cached = cache.appendingPathComponent("l0repro").appendingPathComponent(rawValue)
        switch self {
        case .mnist: return [cached]
        case .fashionMNIST: return [cached, URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist")]
        }
    }

    /// The directory to read: `explicit` if given, else the first system directory holding the
    /// training images.
    public func resolveDirectory(explicit: URL?) throws -> URL {
        if let explicit { return explicit }
        for directory in systemDirectories
        where (try? MNISTFormat.locate(MNISTFormat.stems.trainImages, in: directory)) != nil {
            return directory
        }
        let searched = systemDirectories.map(\.path).joined(separator: ", ")
        let hint = self == .fashionMNIST
            ? "install Debian's dataset-fashion-mnist or pass --data-dir"
            : "put the four MNIST IDX files there or pass --data-dir"
        throw DatasetError(path: searched, problem: "\(rawValue) not found; \(hint)")
    }
}
