import FileSupport
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

extension DatasetName {
    /// Where the files can be downloaded, in the order tried (each URL + file name).
    public var mirrors: [String] {
        switch self {
        case .mnist:
            return [
                "https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
                "http://yann.lecun.com/exdb/mnist/",
            ]
        case .fashionMNIST:
            return ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
        case .cifar10, .cifar100:
            return ["https://www.cs.toronto.edu/~kriz/"]
        }
    }

    /// The user cache directory for this dataset (where `fetch` puts it).
    public func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        searchDirectories(environment: environment).first { $0.source == "user cache" }!.directory
    }
}

/// How long a download may take: a mirror that stops sending, sends too slowly, or takes too long in
/// all is abandoned and the next mirror tried.
public struct DownloadLimits: Sendable, Equatable {
    /// Seconds without any byte before giving up.
    public var idle: TimeInterval
    /// Seconds a whole file may take.
    public var deadline: TimeInterval
    /// Bytes per second, averaged from the start, below which the mirror is abandoned (0: no minimum).
    public var minimumRate: Double
    /// Seconds before the minimum rate applies (connection set-up and slow starts are forgiven).
    public var rateGrace: TimeInterval

    public init(idle: TimeInterval = 60, deadline: TimeInterval = 1800, minimumRate: Double = 20_000, rateGrace: TimeInterval = 15) {
        self.idle = idle
        self.deadline = deadline
        self.minimumRate = minimumRate
        self.rateGrace = rateGrace
    }
}

/// Downloads dataset files, verifies them against the registry and moves them into place atomically:
/// a failed, truncated or corrupt download never leaves a file that looks valid.
public enum Downloader {
    /// What happened to one file.
    public enum Outcome: Equatable, Sendable {
        case alreadyPresent(path: String)
        case downloaded(path: String, from: String, bytes: Int)
    }

    /// Fetches each of `files` (as "<stem>.gz") into `directory` from the first mirror that serves the
    /// right bytes. `progress` gets one line per attempt. Throws one line naming the file, every
    /// mirror's failure, and where to put the file by hand.
    public static func fetch(
        _ files: [DatasetFile], mirrors: [String], into directory: URL, limits: DownloadLimits = DownloadLimits(),
        progress: (String) -> Void = { _ in }
    ) throws -> [Outcome] {
        var outcomes = [Outcome]()
        for file in files {
            let target = directory.appendingPathComponent(file.stem + ".gz")
            if case .verified = DatasetVerifier.check(file, in: directory) {
                outcomes.append(.alreadyPresent(path: target.path))
                continue
            }
            var failures = [String]()
            var done = false
            for mirror in mirrors {
                let source = mirror.hasSuffix("/") ? mirror + file.stem + ".gz" : mirror + "/" + file.stem + ".gz"
                progress("downloading \(file.stem).gz from \(source)")
                do {
                    let bytes = try download(source, limits: limits)
                    guard Digest.md5(bytes) == file.gzipMD5 || decompressedMatches(bytes, file) else {
                        failures.append("\(source): checksum mismatch (\(bytes.count) bytes)")
                        continue
                    }
                    try AtomicFile.write(bytes, to: target)
                    outcomes.append(.downloaded(path: target.path, from: source, bytes: bytes.count))
                    progress("verified \(file.stem).gz (\(bytes.count) bytes)")
                    done = true
                    break
                } catch let error as FileError {
                    failures.append(error.description)
                }
            }
            guard done else {
                throw DatasetError(
                    path: file.stem + ".gz",
                    problem: "could not download from any mirror (\(failures.joined(separator: "; "))); put the file in \(directory.path) by hand")
            }
        }
        return outcomes
    }

    static func decompressedMatches(_ bytes: Data, _ file: DatasetFile) -> Bool {
        guard let expected = file.rawSHA256, let raw = try? Gzip.decompress(Array(bytes), path: file.stem) else { return false }
        return raw.count == file.rawSize && Digest.sha256(raw) == expected
    }

    /// The body of a GET, or a `FileError` naming the URL and what went wrong (HTTP status, a body
    /// shorter than its Content-Length, no connection, or a transfer past `limits`).
    public static func download(_ address: String, limits: DownloadLimits) throws -> Data {
        guard let url = URL(string: address), url.scheme == "http" || url.scheme == "https" else {
            throw FileError(path: address, problem: "not an http(s) URL")
        }
        var request = URLRequest(url: url)
        request.timeoutInterval = limits.idle
        let transfer = Transfer()
        let session = URLSession(configuration: .ephemeral, delegate: transfer, delegateQueue: nil)
        defer { session.invalidateAndCancel() }
        let task = session.dataTask(with: request)
        let started = Date()
        task.resume()
        // Watch the transfer four times a second: the idle timeout is URLSession's, the deadline
        // and the minimum rate are ours.
        while transfer.finished.wait(timeout: .now() + 0.25) == .timedOut {
            let elapsed = Date().timeIntervalSince(started)
            let received = transfer.receivedBytes
            let expected = transfer.expectedBytes.map { " of \($0)" } ?? ""
            if elapsed > limits.deadline {
                task.cancel()
                throw FileError(
                    path: address,
                    problem: String(
                        format: "abandoned after the %.0f s deadline (%d%@ bytes received; --deadline sets it)", limits.deadline, received, expected))
            }
            if limits.minimumRate > 0, elapsed > limits.rateGrace, Double(received) / elapsed < limits.minimumRate {
                task.cancel()
                throw FileError(
                    path: address,
                    problem: String(
                        format: "too slow: %.0f bytes/s after %.0f s, below the minimum of %.0f (%d%@ bytes received; --min-rate sets it)",
                        Double(received) / elapsed, elapsed, limits.minimumRate, received, expected))
            }
        }
        let (data, response, error) = transfer.load()
        if let error {
            throw FileError(path: address, problem: "download failed (\(error.localizedDescription))")
        }
        guard let http = response as? HTTPURLResponse else { throw FileError(path: address, problem: "no HTTP response") }
        guard http.statusCode == 200 else { throw FileError(path: address, problem: "HTTP \(http.statusCode)") }
        if http.expectedContentLength > 0 && Int64(data.count) != http.expectedContentLength {
            throw FileError(path: address, problem: "truncated body (\(data.count) of \(http.expectedContentLength) bytes)")
        }
        return data
    }

    /// Collects a transfer's bytes on URLSession's thread, for the caller's thread to watch.
    private final class Transfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let finished = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var data = Data()
        private var response: URLResponse?
        private var error: Error?

        var receivedBytes: Int { lock.withLock { data.count } }
        var expectedBytes: Int64? { lock.withLock { response.flatMap { $0.expectedContentLength > 0 ? $0.expectedContentLength : nil } } }

        func urlSession(
            _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
            completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
        ) {
            lock.withLock { self.response = response }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            lock.withLock { self.data.append(data) }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            lock.withLock {
                self.error = error
                if self.response == nil { self.response = task.response }
            }
            finished.signal()
        }

        func load() -> (Data, URLResponse?, Error?) {
            lock.withLock { (data, response, error) }
        }
    }
}
