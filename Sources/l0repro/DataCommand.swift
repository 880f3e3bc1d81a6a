import ArgumentParser
import Datasets
import Foundation

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Find and verify the datasets.",
        discussion: """
            Search order for each dataset: --data-dir (training only), then $L0REPRO_DATA_DIR/<name>, then \
            the user cache ($XDG_CACHE_HOME/l0repro/<name>, else ~/.cache/l0repro/<name>), then system \
            locations (/usr/share/datasets/fashion-mnist from Debian's dataset-fashion-mnist). Files may be \
            gzip or plain IDX. A file verifies by the official gzip MD5 or, for re-compressed copies such as \
            Debian's, by the SHA-256 of its decompressed bytes.
            """,
        subcommands: [List.self, Verify.self, Fetch.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each dataset: verified, missing or corrupt, and where.")

        func run() throws {
            for dataset in DatasetName.allCases {
                print(DataReport.line(for: dataset, explicit: nil))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every file of a dataset (all datasets when none is named); exit 1 when one is missing or corrupt.")

        @Argument(help: "mnist or fashion-mnist (default: every dataset found).")
        var name: String?

        @Option(name: .customLong("data-dir"), help: ArgumentHelp("Check this directory instead of searching.", valueName: "dir"))
        var dataDirectory: String?

        func validate() throws {
            if let name, DatasetName(rawValue: name) == nil {
                throw ValidationError("unknown dataset '\(name)'; choose one of \(DatasetName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if dataDirectory != nil && name == nil { throw ValidationError("--data-dir needs a dataset name") }
        }

        func run() throws {
            let datasets = name.flatMap(DatasetName.init(rawValue:)).map { [$0] } ?? DatasetName.allCases
            var failed = false
            for dataset in datasets {
                let explicit = dataDirectory.map { URL(fileURLWithPath: $0) }
                print(DataReport.line(for: dataset, explicit: explicit))
                guard let (directory, _) = try? dataset.resolve(explicit: explicit) else {
                    failed = failed || name != nil
                    continue
                }
                for check in DatasetVerifier.check(dataset, in: directory) {
                    print("  " + DataReport.describe(check))
                    failed = failed || !check.isUsable
                }
            }
            if failed { throw ExitCode(1) }
        }
    }
}

extension DataCommand {
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a dataset into the user cache, verifying every file.",
            discussion: """
                Each file comes from the first mirror that serves the right bytes (official gzip MD5, or the \
                decompressed SHA-256); it is written to a temporary file and renamed into place, so a failed \
                or corrupt download never leaves a file that looks valid. Files already present and verified \
                are kept. Without network access the command fails with the directory to fill by hand.
                """)

        @Argument(help: "mnist or fashion-mnist.")
        var name: String

        @Option(name: .customLong("mirror"), help: ArgumentHelp("A base URL to try instead of the built-in mirrors (repeatable).", valueName: "url"))
        var mirrors: [String] = []

        @Option(parsing: .unconditional, help: "Seconds without a byte from a mirror before the next is tried.")
        var timeout: Double = 60

        @Option(parsing: .unconditional, help: "Seconds one file may take from one mirror in all (default: 1800; 7200 for a CIFAR archive).")
        var deadline: Double?

        @Option(
            name: .customLong("min-rate"), parsing: .unconditional,
            help: ArgumentHelp(
                "Bytes per second, averaged from the start, below which a mirror is abandoned after 15 s; 0: none.", valueName: "bytes/s"))
        var minimumRate: Double = 20_000

        func validate() throws {
            if DatasetName(rawValue: name) == nil {
                throw ValidationError("unknown dataset '\(name)'; choose one of \(DatasetName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !(timeout > 0) { throw ValidationError("--timeout must be positive, got \(timeout)") }
            if let deadline, !(deadline > 0) { throw ValidationError("--deadline must be positive, got \(deadline)") }
            if !(minimumRate >= 0) { throw ValidationError("--min-rate must be 0 or more, got \(minimumRate)") }
        }

        func run() throws {
            let dataset = DatasetName(rawValue: name)!
            let directory = dataset.cacheDirectory()
            let chosen = mirrors.isEmpty ? dataset.mirrors : mirrors
            // An archive of 170 MB gets longer limits than a file of 10 MB.
            let outcomes =
                try dataset.archive.map {
                    let limits = DownloadLimits(idle: max(timeout, 600), deadline: deadline ?? 7200, minimumRate: minimumRate)
                    return try Downloader.fetch($0, mirrors: chosen, into: directory, limits: limits, progress: Terminal.note)
                }
                ?? Downloader.fetch(
                    dataset.files, mirrors: chosen, into: directory,
                    limits: DownloadLimits(idle: timeout, deadline: deadline ?? 1800, minimumRate: minimumRate), progress: Terminal.note)
            for outcome in outcomes {
                switch outcome {
                case .alreadyPresent(let path): print("kept       \(path) (already verified)")
                case .downloaded(let path, let source, let bytes): print("downloaded \(path) from \(source) (\(bytes) bytes)")
                }
            }
            print("\(dataset.rawValue) is in \(directory.path)")
        }
    }
}

/// One-line summaries of dataset checks.
enum DataReport {
    static func line(for dataset: DatasetName, explicit: URL?) -> String {
        let name = dataset.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0)
        guard let (directory, source) = try? dataset.resolve(explicit: explicit) else {
            let searched = explicit.map { [$0.path] } ?? dataset.searchDirectories().map(\.directory.path)
            return "\(name)missing (searched \(searched.joined(separator: ", "))); \(dataset.instructions)"
        }
        let checks = DatasetVerifier.check(dataset, in: directory)
        let location = "\(directory.path) (\(source))"
        if let bad = checks.first(where: { !$0.isUsable }) { return "\(name)incomplete or corrupt at \(location): \(describe(bad))" }
        if checks.contains(where: { if case .unverified = $0 { return true } else { return false } }) {
            return "\(name)present at \(location), some files unverified"
        }
        return "\(name)verified at \(location)"
    }

    static func describe(_ check: FileCheck) -> String {
        switch check {
        case .verified(let path, let how): return "ok         \(path) (\(how))"
        case .unverified(let path, let why): return "unverified \(path): \(why)"
        case .corrupt(let path, let problem): return "corrupt    \(path): \(problem)"
        case .missing(let stem): return "missing    \(stem)\(stem.hasSuffix(".bin") ? "" : "(.gz)")"
        }
    }
}
