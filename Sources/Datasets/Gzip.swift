import CZlib
import Foundation

/// gzip decompression through zlib.
public enum Gzip {
    /// Whether `bytes` start with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Decompresses every gzip member in `bytes`; `path` names the file in errors.
    public static func decompress(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        guard isGzip(bytes) else {
            throw DatasetError(path: path, problem: "not gzip data (bad magic number); re-download the file")
        }
        var output = [UInt8]()
        output.reserveCapacity(bytes.count * 4)
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer (CRC-32 and length are checked by zlib).
        guard inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DatasetError(path: path, problem: "zlib could not start decompressing")
        }
        defer { inflateEnd(&stream) }
        let chunkSize = 1 << 20
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var status: Int32 = Z_OK
        bytes.withUnsafeBufferPointer { source in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
            stream.avail_in = uInt(source.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunkSize - Int(stream.avail_out)
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END && stream.avail_in > 0 {
                    // Another gzip member follows (concatenated .gz files are valid gzip).
                    guard inflateReset(&stream) == Z_OK else { break }
                    status = Z_OK
                }
                if status == Z_BUF_ERROR && stream.avail_in == 0 { break }
            } while status == Z_OK
        }
        guard status == Z_STREAM_END else {
            let reason = status == Z_BUF_ERROR || status == Z_OK ? "truncated gzip data" : "corrupt gzip data"
            throw DatasetError(path: path, problem: "\(reason); re-download the file")
        }
        return output
    }
}
