import FileSupport
import Foundation

/// A dataset published as one archive (the CIFAR binary versions): the archive's checksum and the
/// files to take from it.
public struct ArchiveSpec: Sendable {
    public struct Member: Sendable {
        /// The path inside the archive.
        public let path: String
        /// The file name in the dataset directory.
        public var name: String { String(path.split(separator: "/").last!) }
        public let size: Int

        public init(path: String, size: Int) {
            self.path = path
            self.size = size
        }
    }

    public let fileName: String
    public let md5: String
    public let members: [Member]

    public init(fileName: String, md5: String, members: [Member]) {
        self.fileName = fileName
        self.md5 = md5
        self.members = members
    }

    /// The manifest `fetch` writes beside the extracted files: each file's SHA-256, taken from an
    /// archive whose MD5 matched, so that `verify` can check the files later.
    public static let manifestName = "l0repro-manifest.json"
}

/// What `fetch` records about extracted files.
struct ArchiveManifest: Codable {
    var archive: String
    var archiveMD5: String
    var sha256: [String: String]
}

extension DatasetName {
    /// The archive of an archive-published dataset (nil for the IDX datasets). MD5s and sizes of the
    /// official binary archives from www.cs.toronto.edu/~kriz/cifar.html.
    public var archive: ArchiveSpec? {
        switch self {
        case .mnist, .fashionMNIST: return nil
        case .cifar10:
            let members = (1...5).map { "cifar-10-batches-bin/data_batch_\($0).bin" } + ["cifar-10-batches-bin/test_batch.bin"]
            return ArchiveSpec(
                fileName: "cifar-10-binary.tar.gz", md5: "c32a1d4ab5d03f1284b67883e8d87530",
                members: members.map { .init(path: $0, size: 10_000 * 3073) })
        case .cifar100:
            return ArchiveSpec(
                fileName: "cifar-100-binary.tar.gz", md5: "03b5dce01913d631647c71ecec9e9cb8",
                members: [
                    .init(path: "cifar-100-binary/train.bin", size: 50_000 * 3074), .init(path: "cifar-100-binary/test.bin", size: 10_000 * 3074),
                ])
        }
    }
}

extension DatasetVerifier {
    /// Checks the extracted files of an archive dataset: present with the right size, and matching
    /// the SHA-256 recorded when they were fetched from a verified archive.
    public static func check(_ spec: ArchiveSpec, in directory: URL) -> [FileCheck] {
        let manifest = (try? Data(contentsOf: directory.appendingPathComponent(ArchiveSpec.manifestName)))
            .flatMap { try? JSONDecoder().decode(ArchiveManifest.self, from: $0) }
        return spec.members.map { member in
            let url = directory.appendingPathComponent(member.name)
            guard FileManager.default.fileExists(atPath: url.path) else { return .missing(stem: member.name) }
            do {
                let bytes = try FileReading.bytes(of: url)
                guard bytes.count == member.size else {
                    return .corrupt(path: url.path, problem: "\(bytes.count) bytes, expected \(member.size); re-fetch the dataset")
                }
                guard let expected = manifest?.sha256[member.name] else {
                    return .unverified(
                        path: url.path,
                        why: "size is right; no checksum of the file itself is published (`l0repro data fetch` checks the archive and records one)")
                }
                guard Digest.sha256(bytes) == expected else { return .corrupt(path: url.path, problem: "checksum mismatch; re-fetch the dataset") }
                return .verified(path: url.path, how: "SHA-256 recorded from the official archive (MD5 \(spec.md5))")
            } catch let error as FileError {
                return .corrupt(path: url.path, problem: error.problem)
            } catch {
                return .corrupt(path: url.path, problem: "\(error)")
            }
        }
    }
}

extension Downloader {
    /// Downloads `spec`'s archive from the first mirror that serves bytes with its MD5, takes its
    /// members out (in memory), checks their sizes, then writes each into `directory` atomically and
    /// the manifest last. Nothing is written unless everything checked out. Files already verified
    /// are kept without downloading.
    public static func fetch(
        _ spec: ArchiveSpec, mirrors: [String], into directory: URL, limits: DownloadLimits = DownloadLimits(idle: 600, deadline: 7200),
        progress: (String) -> Void = { _ in }
    ) throws -> [Outcome] {
        let present = DatasetVerifier.check(spec, in: directory)
        if present.allSatisfy({ if case .verified = $0 { true } else { false } }) {
            return spec.members.map { .alreadyPresent(path: directory.appendingPathComponent($0.name).path) }
        }
        var failures: [String] = []
        for mirror in mirrors {
            let source = mirror.hasSuffix("/") ? mirror + spec.fileName : mirror + "/" + spec.fileName
            progress("downloading \(spec.fileName) from \(source)")
            do {
                let archive = try download(source, limits: limits)
                guard Digest.md5(archive) == spec.md5 else {
                    failures.append("\(source): checksum mismatch (\(archive.count) bytes)")
                    continue
                }
                let files = try TarArchive.files(try Gzip.decompress(Array(archive), path: source), path: source)
                var extracted: [(ArchiveSpec.Member, ArraySlice<UInt8>)] = []
                for member in spec.members {
                    guard let file = files.first(where: { $0.name == member.path }) else {
                        throw FileError(path: source, problem: "the archive has no \(member.path)")
                    }
                    guard file.data.count == member.size else {
                        throw FileError(path: source, problem: "\(member.path) is \(file.data.count) bytes, expected \(member.size)")
                    }
                    extracted.append((member, file.data))
                }
                var manifest = ArchiveManifest(archive: spec.fileName, archiveMD5: spec.md5, sha256: [:])
                for (member, data) in extracted {
                    try AtomicFile.write(Data(data), to: directory.appendingPathComponent(member.name))
                    manifest.sha256[member.name] = Digest.sha256(data)
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                try AtomicFile.write(try encoder.encode(manifest), to: directory.appendingPathComponent(ArchiveSpec.manifestName))
                progress("verified \(spec.fileName) (\(archive.count) bytes) and extracted \(extracted.count) files")
                return extracted.map { .downloaded(path: directory.appendingPathComponent($0.0.name).path, from: source, bytes: $0.1.count) }
            } catch let error as FileError {
                failures.append(error.description)
            }
        }
        let names = spec.members.map(\.name).joined(separator: ", ")
        throw DatasetError(
            path: spec.fileName,
            problem:
                "could not download from any mirror (\(failures.joined(separator: "; "))); download it by hand and put its files (\(names)) in \(directory.path)"
        )
    }
}
