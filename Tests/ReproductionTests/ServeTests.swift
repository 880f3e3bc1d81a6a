import Foundation
import Testing

/// `l0repro serve` over real HTTP on 127.0.0.1: index, files, live-reload events, reruns.
@Suite("The browser view", .serialized)
struct ServeTests {
    /// Sends a raw HTTP/1.1 request (the path exactly as given, so traversal attempts reach the
    /// server unnormalised) and returns the status code and body.
    static func request(_ method: String, _ path: String, port: UInt16, headers: [String] = []) throws -> (status: Int, body: String) {
        let host = headers.contains { $0.hasPrefix("Host:") } ? "" : "Host: 127.0.0.1:\(port)\r\n"
        let text = "\(method) \(path) HTTP/1.1\r\n\(host)\(headers.map { $0 + "\r\n" }.joined())Connection: close\r\nContent-Length: 0\r\n\r\n"
        let answer = try raw(Array(text.utf8), port: port)
        return (answer.status, answer.body)
    }

    /// A connected TCP socket to 127.0.0.1:`port`.
    static func connect(port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw CocoaError(.fileReadUnknown)
        }
        return fd
    }

    /// Sends `bytes` as they are, then reads the answer to the end: status, body and seconds taken.
    static func raw(_ bytes: [UInt8], port: UInt16) throws -> (status: Int, body: String, seconds: Double) {
        let fd = try connect(port: port)
        defer { close(fd) }
        let started = Date()
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            sent += n
        }
        let answer = read(fd)
        return (answer.status, answer.body, Date().timeIntervalSince(started))
    }

    /// The answer on `fd`, read to the end of the stream.
    static func read(_ fd: Int32) -> (status: Int, body: String) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        let response = String(decoding: data, as: UTF8.self)
        let status = Int(response.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
        let body = response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    /// Starts `l0repro serve` on a free port with `arguments`; returns the process and the port.
    static func start(_ arguments: [String]) throws -> (Process, UInt16) {
        let server = Process()
        server.executableURL = Fixtures.executable
        server.arguments = ["serve", "--port", "0"] + arguments
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        var line = ""
        while !line.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        guard line.hasPrefix("serving http://127.0.0.1:"),
            let port = line.split(separator: ":").dropFirst(2).first.flatMap({ UInt16($0.prefix { $0.isNumber }) })
        else {
            stop(server)
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no port in '\(line)'"])
        }
        return (server, port)
    }

    static func stop(_ server: Process) {
        // SIGKILL as well: the test runner's threads may block SIGTERM, and a child inherits the mask.
        server.terminate()
        kill(server.processIdentifier, SIGKILL)
        server.waitUntilExit()
    }

    @Test("index, files, traversal refused, live reload, reruns of known ids one at a time")
    func serve() throws {
        let (data, work, options) = try Self.smokeReport()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: work)
        }
        let (server, port) = try Self.start(options)
        defer { Self.stop(server) }

        let index = try Self.request("GET", "/", port: port)
        #expect(index.status == 200)
        for id in ["fig-penalty", "fig-gate", "fig-flops"] { #expect(index.body.contains("data-id=\"\(id)\"")) }

        let page = try Self.request("GET", "/reports/reproduction/index.html", port: port)
        #expect(page.status == 200 && page.body.contains("<svg") && page.body.contains("fetch('/events?report=reproduction'"))
        let figure = try Self.request("GET", "/reports/reproduction/figures/fig-gate.svg", port: port)
        #expect(figure.status == 200 && figure.body.contains("id=\"fig-gate-1\""))
        for attack in [
            "/reports/../../etc/passwd", "/reports/%2e%2e/%2e%2e/etc/passwd", "/reports/reproduction/../../../etc/passwd",
            "/reports/..%2f..%2fetc/passwd",
        ] {
            let refused = try Self.request("GET", attack, port: port)
            #expect([400, 403, 404].contains(refused.status) && !refused.body.contains("root:"), "\(attack) gave \(refused.status)")
        }

        // Live reload: an unchanged report answers after the wait with the same version; a change
        // answers at once with a new one.
        let first = try Self.request("GET", "/events?report=reproduction", port: port)
        let version = try #require(first.body.split(separator: "\"").dropFirst(3).first.map(String.init))
        let same = try Self.request("GET", "/events?report=reproduction&since=\(version)&wait=0.5", port: port)
        #expect(same.body.contains(version))
        #expect(try Self.request("GET", "/events?report=nothing", port: port).status == 404)

        #expect(try Self.request("POST", "/rerun/reproduction/fig-nope", port: port).status == 404)
        #expect(try Self.request("POST", "/rerun/elsewhere/fig-flops", port: port).status == 404)
        #expect(try Self.request("POST", "/rerun/reproduction/fig-flops", port: port).status == 202)
        let second = try Self.request("POST", "/rerun/reproduction/fig-gate", port: port)
        let jobsNow = try Self.request("GET", "/jobs", port: port)
        #expect(second.status == 409 || jobsNow.body.contains("\"finished\":true"), "a second rerun started while the first ran")
        var jobs = jobsNow
        for _ in 0..<100 where !jobs.body.contains("\"finished\":true") {
            Thread.sleep(forTimeInterval: 0.2)
            jobs = try Self.request("GET", "/jobs", port: port)
        }
        #expect(jobs.body.contains("\"succeeded\":true") && jobs.body.contains("fig-flops.svg"), "\(jobs.body)")
        let changed = try Self.request("GET", "/events?report=reproduction&since=\(version)&wait=5", port: port)
        #expect(!changed.body.contains(version), "the rerun rewrote the report, so its version must change")

        // Methods and directories: GET on a POST route and POST on a GET route are 405; a report's
        // directory serves its index.html (at a URL ending in /).
        #expect(try Self.request("GET", "/rerun/reproduction/fig-flops", port: port).status == 405)
        #expect(try Self.request("POST", "/jobs", port: port).status == 405)
        #expect(try Self.request("GET", "/reports/reproduction", port: port).status == 301)
        let directory = try Self.request("GET", "/reports/reproduction/", port: port)
        #expect(directory.status == 200 && directory.body.contains("<svg") && directory.body.contains("/status?report=reproduction"))
        // Every figure's state, in report order.
        let states = try Self.request("GET", "/status?report=reproduction", port: port)
        #expect(states.status == 200 && states.body.contains("\"id\":\"fig-flops\"") && states.body.contains("\"fresh\":true"), "\(states.body)")
        #expect(try Self.request("GET", "/status?report=elsewhere", port: port).status == 404)
    }

    /// The repository's scripts directory.
    static var scripts: URL { ReportTests.root.appendingPathComponent("scripts") }

    /// A smoke-profile report of the shipped template built on a small MNIST under a new work
    /// directory: the data and work directories (the caller removes them) and the options that
    /// built it, for `serve`.
    static func smokeReport() throws -> (data: URL, work: URL, options: [String]) {
        let data = try Fixtures.smallMNIST(trainCount: 1000, testCount: 500)
        let work = Fixtures.temporaryDirectory()
        let options = [
            "--template", ReportTests.template.path, "--profile", "smoke", "--dataset", "mnist", "--data-dir", data.path,
            "--runs-dir", work.appendingPathComponent("runs").path, "--reports-dir", work.appendingPathComponent("reports").path,
        ]
        let built = try Fixtures.run(["report"] + options)
        #expect(built.status == 0, "\(built.stderr)")
        return (data, work, options)
    }

    @Test(
        "In headless Chromium: the index settles after a rerun, a rerun button in the report page updates its figure, nothing scrolls sideways at 390 px"
    )
    func browser() throws {
        let (data, work, options) = try Self.smokeReport()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: work)
        }
        let reports = work.appendingPathComponent("reports")
        let (server, port) = try Self.start(options)
        defer { Self.stop(server) }
        // A finished, successful rerun before the browser comes: the index must not keep reloading.
        #expect(try Self.request("POST", "/rerun/reproduction/fig-penalty", port: port).status == 202)
        var jobs = try Self.request("GET", "/jobs", port: port)
        for _ in 0..<150 where !jobs.body.contains("\"finished\":true") {
            Thread.sleep(forTimeInterval: 0.2)
            jobs = try Self.request("GET", "/jobs", port: port)
        }
        #expect(jobs.body.contains("\"succeeded\":true"), "\(jobs.body)")
        // fig-flops made stale: its stored result removed.
        let cache = reports.appendingPathComponent("reproduction/cache")
        for name in try FileManager.default.contentsOfDirectory(atPath: cache.path) where name != "index.json" {
            let entry = try Data(contentsOf: cache.appendingPathComponent(name))
            if String(decoding: entry, as: UTF8.self).contains("\"id\":\"fig-flops\"") {
                try FileManager.default.removeItem(at: cache.appendingPathComponent(name))
            }
        }
        let python = URL(fileURLWithPath: "/usr/bin/python3")
        let check = try Fixtures.run(
            [Self.scripts.appendingPathComponent("browser_check.py").path, "serve", "http://127.0.0.1:\(port)/"], executable: python)
        #expect(check.status == 0, "\(check.stderr)")
        let phone = try Fixtures.run(
            [Self.scripts.appendingPathComponent("browser_check.py").path, "phone", reports.appendingPathComponent("reproduction/index.html").path],
            executable: python)
        #expect(phone.status == 0, "\(phone.stderr)")
    }

    @Test("serve answers hostile requests in bounded time (414, 431, 413, 400, 408) and stays responsive; a rerun gets serve's --threads")
    func hostile() throws {
        let work = Fixtures.temporaryDirectory()
        let data = try Fixtures.smallMNIST(trainCount: 1000, testCount: 500)
        defer { for url in [work, data] { try? FileManager.default.removeItem(at: url) } }
        let options = [
            "--template", ReportTests.template.path, "--profile", "smoke", "--dataset", "mnist", "--data-dir", data.path, "--threads", "3",
            "--request-timeout", "2",
            "--runs-dir", work.appendingPathComponent("runs").path, "--reports-dir", work.appendingPathComponent("reports").path,
        ]
        let (server, port) = try Self.start(options)
        defer { Self.stop(server) }

        // A 1 MB URL: FlyingFox spent minutes of CPU parsing one.
        let long = try Self.raw(Array("GET /\(String(repeating: "a", count: 1 << 20)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8), port: port)
        #expect(long.status == 414 && long.seconds < 1, "\(long.status) after \(long.seconds) s")
        let headers = try Self.raw(Array("GET / HTTP/1.1\r\nX-Big: \(String(repeating: "b", count: 100_000))\r\n\r\n".utf8), port: port)
        #expect(headers.status == 431 && headers.seconds < 1)
        let many = try Self.raw(Array(("GET / HTTP/1.1\r\n" + (0..<200).map { "X-\($0): y\r\n" }.joined() + "\r\n").utf8), port: port)
        #expect(many.status == 431)
        let body = try Self.raw(Array("POST /rerun/reproduction/fig-penalty HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n".utf8), port: port)
        #expect(body.status == 413)
        for path in ["/reports/%ff%fe/index.html", "/%zz", "/reports/a%00b"] {
            #expect(try Self.request("GET", path, port: port).status == 400, "\(path)")
        }
        #expect(try Self.raw(Array("NOT A REQUEST\r\n\r\n".utf8), port: port).status == 400)

        // A slow drip: one byte every 100 ms, forever. Others are served meanwhile; it gets 408.
        let drip = try Self.connect(port: port)
        defer { close(drip) }
        _ = "GET / HTTP/1.1\r\n".withCString { send(drip, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let dripper = Thread {
            for _ in 0..<40 {
                if "X".withCString({ send(drip, $0, 1, Int32(MSG_NOSIGNAL)) }) <= 0 { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        dripper.start()
        let started = Date()
        let index = try Self.request("GET", "/", port: port)
        #expect(index.status == 200 && Date().timeIntervalSince(started) < 1)
        let dripped = Self.read(drip)
        #expect(dripped.status == 408 && Date().timeIntervalSince(started) < 4, "\(dripped.status)")

        let after = Date()
        #expect(try Self.request("GET", "/", port: port).status == 200 && Date().timeIntervalSince(after) < 1)

        // Another site's page may not start a rerun; a page under another host name gets nothing.
        let foreign = try Self.request("POST", "/rerun/reproduction/fig-penalty", port: port, headers: ["Origin: http://evil.example"])
        #expect(foreign.status == 403 && foreign.body.contains("own pages"))
        let rebound = try Self.request("GET", "/", port: port, headers: ["Host: evil.example:\(port)"])
        #expect(rebound.status == 403 && rebound.body.contains("is not this server"))
        #expect(try Self.request("GET", "/", port: port, headers: ["Host: localhost:\(port)"]).status == 200)

        // The rerun is started with serve's thread count.
        #expect(try Self.request("POST", "/rerun/reproduction/fig-penalty", port: port, headers: ["Origin: http://127.0.0.1:\(port)"]).status == 202)
        var jobs = try Self.request("GET", "/jobs", port: port)
        #expect(jobs.body.contains("\"--threads\",\"3\""), "\(jobs.body)")
        for _ in 0..<300 where !jobs.body.contains("\"finished\":true") {
            Thread.sleep(forTimeInterval: 0.2)
            jobs = try Self.request("GET", "/jobs", port: port)
        }
        #expect(jobs.body.contains("\"succeeded\":true"), "\(jobs.body)")
    }
}
