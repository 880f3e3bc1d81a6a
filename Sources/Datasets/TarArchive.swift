/// Reads the regular files of a tar archive (POSIX ustar and GNU tar, as the CIFAR archives are
/// written): 512-byte headers holding the name, the size in octal and a checksum, each file's data
/// padded to 512 bytes, two zero blocks at the end. Other entries (directories, pax headers, links)
/// are skipped. Nothing is written to disk here, so names like "../x" cannot escape anywhere.
public enum TarArchive {
    /// The regular files in `bytes`, in archive order; `path` names the archive in errors.
    public static func files(_ bytes: [UInt8], path: String) throws -> [(name: String, data: ArraySlice<UInt8>)] {
        var out: [(String, ArraySlice<UInt8>)] = []
        var offset = 0
        var longName: String?
        while offset + 512 <= bytes.count {
            let header = bytes[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { return out }
            guard let size = octal(header, 124, 12), let stored = octal(header, 148, 8) else {
                throw DatasetError(path: path, problem: "not a tar archive (bad header at byte \(offset)); re-download it")
            }
            // The checksum counts the checksum field itself as eight spaces.
            let sum = header.enumerated().reduce(0) { $0 + (($1.offset >= 148 && $1.offset < 156) ? 32 : Int($1.element)) }
            guard sum == stored else { throw DatasetError(path: path, problem: "tar header checksum mismatch at byte \(offset); re-download it") }
            let dataStart = offset + 512
            guard dataStart + size <= bytes.count else { throw DatasetError(path: path, problem: "truncated tar archive; re-download it") }
            let data = bytes[dataStart..<dataStart + size]
            let type = header[header.startIndex + 156]
            let prefix = string(header, 345, 155)
            let name = longName ?? (prefix.isEmpty ? string(header, 0, 100) : prefix + "/" + string(header, 0, 100))
            longName = nil
            switch type {
            case UInt8(ascii: "0"), 0: out.append((name, data))
            case UInt8(ascii: "L"): longName = String(decoding: data.prefix { $0 != 0 }, as: UTF8.self)
            default: break
            }
            offset = dataStart + (size + 511) / 512 * 512
        }
        throw DatasetError(path: path, problem: "truncated tar archive (no end marker); re-download it")
    }

    private static func string(_ header: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> String {
        let field = header[(header.startIndex + at)..<(header.startIndex + at + length)]
        return String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func octal(_ header: ArraySlice<UInt8>, _ at: Int, _ length: Int) -> Int? {
        let text = string(header, at, length).trimmingCharacters(in: [" "])
        return text.isEmpty ? 0 : Int(text, radix: 8)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> String {
        String(drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
    }
}
