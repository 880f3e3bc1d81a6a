import Foundation

/// An error writing or reading a file, with a one-line message naming the path.
public struct FileError: Error, CustomStringConvertible, Equatable {
    /// The file or directory concerned.
    public let path: String
    /// What went wrong and, where possible, what to do.
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }

    /// A system error in words ("is a directory", "permission denied", "no such file or directory")
    /// rather than Foundation's "NSCocoaErrorDomain error 256".
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file or directory"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "read-only file system"
        default: return ns.localizedFailureReason ?? ns.localizedDescription
        }
    }
}

/// Writes files so that readers never see a half-written one: the bytes go to a temporary file in the
/// same directory, which is then renamed over the destination (rename(2) is atomic on one file system).
public enum AtomicFile {
    /// Writes `data` to `url`, creating parent directories as needed.
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw FileError(path: directory.path, problem: "cannot create directory (\(reason(error)))")
        }
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
            throw FileError(path: temporary.path, problem: "cannot write file (check permissions and free space)")
        }
        if rename(temporary.path, url.path) != 0 {
            let message = String(cString: strerror(errno))
            unlink(temporary.path)
            throw FileError(path: url.path, problem: "cannot move finished file into place (\(message))")
        }
    }

    /// Writes a UTF-8 string atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    static func reason(_ error: Error) -> String { FileError.describe(error) }
}
