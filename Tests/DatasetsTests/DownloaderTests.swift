import Datasets
import FileSupport
import Foundation
import Testing

/// A real HTTP server on 127.0.0.1 (Python's http.server, one thread per request), serving the files
/// of one directory under five path prefixes: /good/ as they are, /missing/ as 404, /corrupt/ with the
/// last byte changed, /truncated/ with half the body behind a full Content-Length, and /slow/ one
/// byte every 50 ms (a mirror that never goes idle but would take minutes).
final class LocalServer {
    let process = Process()
    let port: Int

    static let script = """
        import http.server, os, sys, time
        root = sys.argv[1]
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args): pass
            def do_GET(self):
                parts = self.path.strip('/').split('/')
                mode, name = parts[0], parts[-1]
                path = os.path.join(root, name)
                if mode == 'missing' or not os.path.exists(path):
                    self.send_response(404); self.send_header('Content-Length', '0'); self.end_headers(); return
                data = open(path, 'rb').read()
                if mode == 'corrupt': data = data[:-1] + bytes([data[-1] ^ 1])
                self.send_response(200); self.send_header('Content-Length', str(len(data))); self.end_headers()
                if mode == 'slow':
                    try:
                        for i in range(len(data)):
                            self.wfile.write(data[i:i + 1]); self.wfile.flush(); time.sleep(0.05)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                if mode == 'truncated':
                    self.wfile.write(data[:len(data) // 2]); self.wfile.flush(); self.close_connection = True; return
                self.wfile.write(data)
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        server.daemon_threads = True
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """

    init(serving root: URL) throws {
        let script = root.appendingPathComponent("serve.py")
        try Self.script.write(to: script, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", script.path, root.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    func url(_ mode: String) -> String { "http://127.0.0.1:\(port)/\(mode)/" }

    deinit {
        // SIGKILL: Foundation's terminate() did not stop the server reliably here.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite("Downloads from a local HTTP server", .serialized)
struct DownloaderTests {
    let labels = DatasetName.mnist.files[3]  // t10k-labels-idx1-ubyte, served from the real file

    func withServer(_ body: (LocalServer, URL) throws -> Void) throws {
        let served = temporaryDirectory()
        let cache = temporaryDirectory()
        defer { for url in [served, cache] { try? FileManager.default.removeItem(at: url) } }
        try FileManager.default.copyItem(
            at: mnistFixtures.appendingPathComponent("t10k-labels-idx1-ubyte.gz"),
            to: served.appendingPathComponent("t10k-labels-idx1-ubyte.gz"))
        let server = try LocalServer(serving: served)
        try #require(server.port > 0, "the test server did not start")
        try body(server, cache)
    }

    func contents(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    @Test("A correct file is downloaded, verified and kept; a second fetch keeps it")
    func correct() throws {
        try withServer { server, cache in
            let outcomes = try Downloader.fetch([labels], mirrors: [server.url("good")], into: cache, limits: DownloadLimits(idle: 10))
            #expect(
                outcomes == [
                    .downloaded(
                        path: cache.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path,
                        from: server.url("good") + "t10k-labels-idx1-ubyte.gz", bytes: 4542)
                ])
            #expect(
                DatasetVerifier.check(.mnist, in: cache)[3]
                    == .verified(
                        path: cache.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path, how: "official gzip MD5"))
            let again = try Downloader.fetch([labels], mirrors: [server.url("missing")], into: cache, limits: DownloadLimits(idle: 10))
            #expect(again == [.alreadyPresent(path: cache.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path)])
        }
    }

    @Test("A failing mirror is followed by a working one")
    func fallback() throws {
        try withServer { server, cache in
            let outcomes = try Downloader.fetch(
                [labels], mirrors: [server.url("missing"), server.url("corrupt"), server.url("good")], into: cache, limits: DownloadLimits(idle: 10))
            guard case .downloaded(_, let source, _) = outcomes.first else {
                Issue.record("not downloaded")
                return
            }
            #expect(source.hasPrefix(server.url("good")))
        }
    }

    @Test(
        "Wrong checksum, truncated body and 404 each fail with one line and leave nothing behind",
        arguments: [("corrupt", "checksum mismatch"), ("truncated", "t10k-labels-idx1-ubyte.gz"), ("missing", "HTTP 404")])
    func failures(mode: String, message: String) throws {
        try withServer { server, cache in
            do {
                _ = try Downloader.fetch([labels], mirrors: [server.url(mode)], into: cache, limits: DownloadLimits(idle: 10))
                Issue.record("\(mode): the fetch succeeded")
            } catch let error as DatasetError {
                #expect(!error.description.contains("\n"))
                #expect(error.description.contains(message), "\(error.description)")
                #expect(error.description.contains("put the file in \(cache.path) by hand"))
            }
            #expect(contents(cache) == [], "\(mode) left \(contents(cache))")
        }
    }

    @Test("A mirror that drips bytes is abandoned for the next one, by the minimum rate or by the deadline, well within the deadline")
    func slowMirror() throws {
        try withServer { server, cache in
            // 20 bytes/s against a minimum of 1,000 after 1 s; the idle timeout (10 s) never fires.
            var notes = [String]()
            let started = Date()
            let outcomes = try Downloader.fetch(
                [labels], mirrors: [server.url("slow"), server.url("good")], into: cache,
                limits: DownloadLimits(idle: 10, deadline: 30, minimumRate: 1000, rateGrace: 1)
            ) { notes.append($0) }
            #expect(Date().timeIntervalSince(started) < 5)
            guard case .downloaded(_, let source, _) = outcomes.first else {
                Issue.record("not downloaded")
                return
            }
            #expect(source.hasPrefix(server.url("good")))
            #expect(notes.count == 3 && notes[0].contains("/slow/") && notes[1].contains("/good/"), "\(notes)")
        }
        try withServer { server, cache in
            // No minimum rate: the 2 s deadline ends it, and the failure says what happened.
            let started = Date()
            #expect {
                try Downloader.fetch(
                    [labels], mirrors: [server.url("slow")], into: cache, limits: DownloadLimits(idle: 10, deadline: 2, minimumRate: 0))
            } throws: { error in
                let message = String(describing: error)
                return message.contains("abandoned after the 2 s deadline") && message.contains("of 4542 bytes received") && !message.contains("\n")
            }
            #expect(Date().timeIntervalSince(started) < 4)
            #expect(contents(cache) == [])
        }
    }
}
