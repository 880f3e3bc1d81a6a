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
        _ files: [DatasetFile], mirrors: [String], into directory: URL, timeout: TimeInterval = 60,
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
                    let bytes = try download(source, timeout: timeout)
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
    /// shorter than its Content-Length, no connection).
    public static func download(_ address: String, timeout: TimeInterval) throws -> Data {
        guard let url = URL(string: address), url.scheme == "http" || url.scheme == "https" else {
            throw FileError(path: address, problem: "not an http(s) URL")
        }
        let result = Transfer()
        let semaphore = DispatchSemaphore(value: 0)
        var request = URLRequest(url: url)
        request.timeoutInterval = timeout
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            result.store(data: data, response: response, error: error)
            semaphore.signal()
        }
        task.resume()
        semaphore.wait()
        let (data, response, error) = result.load()
        if let error {
            throw FileError(path: address, problem: "download failed (\(error.localizedDescription))")
        }
        guard let http = response as? HTTPURLResponse else { throw FileError(path: address, problem: "no HTTP response") }
        guard http.statusCode == 200 else { throw FileError(path: address, problem: "HTTP \(http.statusCode)") }
        let body = data ?? Data()
        if http.expectedContentLength > 0 && Int64(body.count) != http.expectedContentLength {
            throw FileError(path: address, problem: "truncated body (\(body.count) of \(http.expectedContentLength) bytes)")
        }
        return body
    }

    /// The completion handler's results, handed from URLSession's thread to the caller.
    private final class Transfer: @unchecked Sendable {
        private let lock = NSLock()
        private var data: Data?
        private var response: URLResponse?
        private var error: Error?

        func store(data: Data?, response: URLResponse?, error: Error?) {
            lock.lock()
            (self.data, self.response, self.error) = (data, response, error)
            lock.unlock()
        }

        func load() -> (Data?, URLResponse?, Error?) {
            lock.lock()
            defer { lock.unlock() }
            return (data, response, error)
        }
    }
}
