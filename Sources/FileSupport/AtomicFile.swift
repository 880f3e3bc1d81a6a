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

    /// What a path was expected to be.
    public enum Kind: Sendable { case file, directory }

    /// A system error in words ("is a directory", "permission denied", "no such file or directory")
    /// rather than Foundation's "NSCocoaErrorDomain error 256". Foundation often says only "unknown
    /// read/write error"; given the `path` concerned and what it should be, the cause is found by
    /// looking at the path.
    public static func describe(_ error: Error, path: String, expecting kind: Kind) -> String {
        cause(at: path, expecting: kind) ?? describe(error)
    }

    /// Why `path` cannot be used as a `kind`: it is the other kind, a component above it is a file,
    /// or it or its nearest existing directory is not accessible. Nil when none of these holds.
    public static func cause(at path: String, expecting kind: Kind) -> String? {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            switch (kind, isDirectory.boolValue) {
            case (.file, true): return "is a directory"
            case (.directory, false): return "is a file, not a directory"
            default: return manager.isReadableFile(atPath: path) ? nil : "permission denied"
            }
        }
        var ancestor = (path as NSString).deletingLastPathComponent
        while !ancestor.isEmpty, !manager.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
            let parent = (ancestor as NSString).deletingLastPathComponent
            if parent == ancestor { break }
            ancestor = parent
        }
        guard !ancestor.isEmpty else { return nil }
        if !isDirectory.boolValue { return "\(ancestor) is a file, not a directory" }
        return manager.isWritableFile(atPath: ancestor) ? nil : "permission denied in \(ancestor)"
    }

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
            throw FileError(
                path: directory.path, problem: "cannot create directory (\(FileError.describe(error, path: directory.path, expecting: .directory)))")
        }
        let temporary = directory.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try data.write(to: temporary)
        } catch {
            unlink(temporary.path)
            throw FileError(path: url.path, problem: "cannot write file (\(FileError.describe(error)))")
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
