import FileSupport
import Foundation

/// One file of a dataset and the digests that identify it.
public struct DatasetFile: Sendable {
    /// The name without ".gz", e.g. "train-images-idx3-ubyte".
    public let stem: String
    /// MD5 of the official gzip file.
    public let gzipMD5: String
    /// SHA-256 of the decompressed bytes, where known (it also accepts re-compressed copies such as
    /// Debian's Fashion-MNIST).
    public let rawSHA256: String?
    /// Size of the decompressed file in bytes.
    public let rawSize: Int
}

extension DatasetName {
    /// The files that make up the dataset, with their checksums (DESIGN §1.8; decompressed digests
    /// computed from the real files).
    public var files: [DatasetFile] {
        switch self {
        case .cifar10, .cifar100:
            return []
        case .mnist:
            return [
                DatasetFile(
                    stem: "train-images-idx3-ubyte", gzipMD5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                    rawSHA256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", rawSize: 47_040_016),
                DatasetFile(
                    stem: "train-labels-idx1-ubyte", gzipMD5: "d53e105ee54ea40749a09fcbcd1e9432",
                    rawSHA256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", rawSize: 60_008),
                DatasetFile(
                    stem: "t10k-images-idx3-ubyte", gzipMD5: "9fb629c4189551a2d022fa330f9573f3",
                    rawSHA256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", rawSize: 7_840_016),
                DatasetFile(
                    stem: "t10k-labels-idx1-ubyte", gzipMD5: "ec29112dd5afa0611ce80d1b7f02629c",
                    rawSHA256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", rawSize: 10_008),
            ]
        case .fashionMNIST:
            return [
                DatasetFile(
                    stem: "train-images-idx3-ubyte", gzipMD5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                    rawSHA256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", rawSize: 47_040_016),
                DatasetFile(
                    stem: "train-labels-idx1-ubyte", gzipMD5: "25c81989df183df01b3e8a0aad5dffbe",
                    rawSHA256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", rawSize: 60_008),
                DatasetFile(
                    stem: "t10k-images-idx3-ubyte", gzipMD5: "bef4ecab320f06d8554ea6380940ec79",
                    rawSHA256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", rawSize: 7_840_016),
                DatasetFile(
                    stem: "t10k-labels-idx1-ubyte", gzipMD5: "bb300cfdad3c16e7a12a480ee83cd310",
                    rawSHA256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", rawSize: 10_008),
            ]
        }
    }
}

/// What checking one file found.
public enum FileCheck: Sendable, Equatable {
    /// The bytes match a known digest; `how` says which.
    case verified(path: String, how: String)
    /// Present and readable, but no known digest to compare with.
    case unverified(path: String, why: String)
    case corrupt(path: String, problem: String)
    case missing(stem: String)

    public var isUsable: Bool {
        switch self {
        case .verified, .unverified: return true
        case .corrupt, .missing: return false
        }
    }
}

/// Checks dataset files against the registry.
public enum DatasetVerifier {
    /// Checks every file of `dataset` in `directory` (decompressing .gz files, which also catches
    /// truncation).
    public static func check(_ dataset: DatasetName, in directory: URL) -> [FileCheck] {
        if let archive = dataset.archive {
            let folder = dataset.cifarVariant.flatMap { try? CIFARFormat.locateFolder($0, in: directory) } ?? directory
            return check(archive, in: folder)
        }
        return dataset.files.map { check($0, in: directory) }
    }

    static func check(_ file: DatasetFile, in directory: URL) -> FileCheck {
        guard let url = try? MNISTFormat.locate(file.stem, in: directory) else { return .missing(stem: file.stem) }
        do {
            let bytes = try FileReading.bytes(of: url)
            let isGzip = url.pathExtension == "gz"
            if isGzip && Digest.md5(bytes) == file.gzipMD5 { return .verified(path: url.path, how: "official gzip MD5") }
            let raw = isGzip ? try Gzip.decompress(bytes, path: url.path) : bytes
            guard raw.count == file.rawSize else {
                return .corrupt(path: url.path, problem: "\(raw.count) bytes of data, expected \(file.rawSize); re-download the file")
            }
            guard let expected = file.rawSHA256 else {
                return .unverified(
                    path: url.path,
                    why: isGzip
                        ? "gzip MD5 differs from the official file and no digest of the decompressed data is known"
                        : "no digest of the uncompressed file is known")
            }
            guard Digest.sha256(raw) == expected else {
                return .corrupt(path: url.path, problem: "checksum mismatch; re-download the file")
            }
            return .verified(path: url.path, how: isGzip ? "SHA-256 of the decompressed data" : "SHA-256")
        } catch let error as FileError {
            return .corrupt(path: url.path, problem: error.problem)
        } catch {
            return .corrupt(path: url.path, problem: "\(error)")
        }
    }
}
