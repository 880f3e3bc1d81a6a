import CFileSystem
import Foundation

/// A directory written whole or not at all: files go into a hidden staging directory beside the
/// destination, which then takes the destination's place in one atomic exchange. A reader (a
/// browser, `serve`) sees the old directory or the new one, never a mix, also when the writer is
/// killed part way: the leftover staging directory is removed by the next writer.
public struct StagedDirectory {
    /// Where the directory is published.
    public let destination: URL
    /// Where it is written first: `.<name>.staging-<pid>` beside the destination.
    public let staging: URL

    private static let marker = ".staging-"

    public init(destination: URL) {
        self.destination = destination
        staging = destination.deletingLastPathComponent().appendingPathComponent(
            ".\(destination.lastPathComponent)\(Self.marker)\(ProcessInfo.processInfo.processIdentifier)")
    }

    /// Removes staging directories of `destination` left by writers that are no longer running,
    /// then creates this writer's, empty.
    public func begin() throws {
        let parent = destination.deletingLastPathComponent()
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw FileError(
                path: parent.path, problem: "cannot create directory (\(FileError.describe(error, path: parent.path, expecting: .directory)))")
        }
        let prefix = ".\(destination.lastPathComponent)\(Self.marker)"
        for entry in (try? manager.contentsOfDirectory(atPath: parent.path)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count)) else { continue }
            // kill(pid, 0) fails with ESRCH when no such process runs.
            if pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH) {
                try? manager.removeItem(at: parent.appendingPathComponent(entry))
            }
        }
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: false)
        } catch {
            throw FileError(
                path: staging.path,
                problem: "cannot create the staging directory (\(FileError.describe(error, path: staging.path, expecting: .directory)))")
        }
    }

    /// `relative` inside the staging directory.
    public func stagedURL(_ relative: String) -> URL { staging.appendingPathComponent(relative) }

    /// Copies `relative` (a file or directory) from the published directory into the staging one,
    /// when it exists there.
    public func copyFromPublished(_ relative: String) throws {
        let source = destination.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: source.path) else { return }
        do {
            try FileManager.default.copyItem(at: source, to: stagedURL(relative))
        } catch {
            throw FileError(path: source.path, problem: "cannot copy into the new report (\(FileError.describe(error)))")
        }
    }

    /// Moves `relative` from the published directory into the staging one, when it exists there
    /// (for what is not part of what readers see, such as a cache).
    public func moveFromPublished(_ relative: String) throws {
        let source = destination.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: source.path) else { return }
        let target = stagedURL(relative)
        try? FileManager.default.removeItem(at: target)
        if rename(source.path, target.path) != 0 {
            throw FileError(path: source.path, problem: "cannot move into the new report (\(String(cString: strerror(errno))))")
        }
    }

    /// Entries of the published directory that are not in the staging one.
    public func publishedOnly() -> [String] {
        let manager = FileManager.default
        let staged = Set((try? manager.contentsOfDirectory(atPath: staging.path)) ?? [])
        return ((try? manager.contentsOfDirectory(atPath: destination.path)) ?? []).filter { !staged.contains($0) }.sorted()
    }

    /// Puts the staging directory in the destination's place and removes the old one.
    public func commit() throws {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: destination.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw FileError(path: destination.path, problem: "is a file, not a directory; move it away")
            }
            if l0_exchange_paths(staging.path, destination.path) != 0 {
                let exchangeError = errno
                guard exchangeError == EINVAL || exchangeError == ENOSYS else {
                    throw FileError(path: destination.path, problem: "cannot replace the report (\(String(cString: strerror(exchangeError))))")
                }
                // No atomic exchange on this file system: two renames, with an instant between
                // them when the destination is absent (never a mix).
                let aside = destination.deletingLastPathComponent().appendingPathComponent(
                    ".\(destination.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
                try? manager.removeItem(at: aside)
                guard rename(destination.path, aside.path) == 0, rename(staging.path, destination.path) == 0 else {
                    throw FileError(path: destination.path, problem: "cannot replace the report (\(String(cString: strerror(errno))))")
                }
                try? manager.removeItem(at: aside)
                return
            }
            // The staging path now holds the old directory.
            try? manager.removeItem(at: staging)
        } else if rename(staging.path, destination.path) != 0 {
            throw FileError(path: destination.path, problem: "cannot publish the report (\(String(cString: strerror(errno))))")
        }
    }

    /// Removes the staging directory after a failure, leaving the published one as it was.
    public func abandon() {
        try? FileManager.default.removeItem(at: staging)
    }
}
