import Foundation

/// An IDX file of unsigned bytes (the MNIST format): a 4-byte magic number 00 00 08 D (D dimensions),
/// D big-endian 32-bit sizes, then the data.
public struct IDXFile: Equatable, Sendable {
    /// The dimension sizes, e.g. [10000, 28, 28].
    public let dimensions: [Int]
    /// The data, row-major.
    public let bytes: [UInt8]

    /// Parses the (decompressed) contents of an IDX file; `path` names it in errors.
    public init(parsing data: [UInt8], path: String) throws {
        guard data.count >= 4 else {
            throw DatasetError(path: path, problem: "file too short for an IDX header (\(data.count) bytes)")
        }
        guard data[0] == 0, data[1] == 0, data[2] == 0x08, (1...4).contains(data[3]) else {
            let magic = data[0..<4].map { String(format: "%02x", $0) }.joined()
            throw DatasetError(
                path: path, problem: "wrong magic number \(magic) (expected 000008 then 01–04: an unsigned-byte IDX file)")
        }
        let rank = Int(data[3])
        let headerSize = 4 + 4 * rank
        guard data.count >= headerSize else {
            throw DatasetError(path: path, problem: "file ends inside the IDX header")
        }
        var dimensions = [Int]()
        for d in 0..<rank {
            let offset = 4 + 4 * d
            dimensions.append(data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) })
        }
        let expected = dimensions.reduce(1, *)
        let actual = data.count - headerSize
        guard actual == expected else {
            let shape = dimensions.map(String.init).joined(separator: "×")
            let what = actual < expected ? "truncated" : "has trailing bytes"
            throw DatasetError(
                path: path, problem: "\(what): header says \(shape) = \(expected) bytes of data, file has \(actual)")
        }
        self.dimensions = dimensions
        bytes = Array(data[headerSize...])
    }

    /// Reads and parses an IDX file, decompressing it when its name ends in ".gz".
    public init(contentsOf url: URL) throws {
        let raw = try FileReading.bytes(of: url)
        let data = url.pathExtension == "gz" ? try Gzip.decompress(raw, path: url.path) : raw
        try self.init(parsing: data, path: url.path)
    }
}

/// Reading whole files with errors that say which file and why.
public enum FileReading {
    /// The bytes of the file at `url`.
    public static func bytes(of url: URL) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw DatasetError(path: url.path, problem: "no such file")
        }
        guard !isDirectory.boolValue else {
            throw DatasetError(path: url.path, problem: "is a directory, expected a file")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw DatasetError(path: url.path, problem: "cannot open for reading (check permissions)")
        }
        defer { try? handle.close() }
        do {
            return Array(try handle.readToEnd() ?? Data())
        } catch {
            throw DatasetError(path: url.path, problem: "read failed (\(error.localizedDescription))")
        }
    }
}
