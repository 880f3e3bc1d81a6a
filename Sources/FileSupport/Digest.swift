import Crypto
import Foundation

/// Hex digests used for run identities and dataset verification.
public enum Digest {
    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Lower-case hex SHA-256 of several byte buffers, hashed one after another.
    public static func sha256(concatenating parts: [[UInt8]]) -> String {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return hex(hasher.finalize())
    }

    /// Lower-case hex MD5 of `bytes` (for checking published dataset checksums only).
    public static func md5<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        hex(Insecure.MD5.hash(data: bytes))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
