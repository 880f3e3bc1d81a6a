import Foundation
import Testing

/// `l0repro serve` over real HTTP on 127.0.0.1: index, files, live-reload events, reruns.
@Suite("The browser view", .serialized)
struct ServeTests {
    /// Sends a raw HTTP/1.1 request (the path exactly as given, so traversal attempts reach the
    /// server unnormalised) and returns the status code and body.
    static func request(_ method: String, _ path: String, port: UInt16) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { throw CocoaError(.fileReadUnknown) }
        let text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        _ = text.withCString { send(fd, $0, strlen($0), 0) }
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

    @Test("index, files, traversal refused, live reload, reruns of known ids one at a time")
    func serve() throws {
        let data = try Fixtures.smallMNIST(trainCount: 1000, testCount: 500)
        let work = Fixtures.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: work)
        }
        let options = [
            "--template", ReportTests.template.path, "--profile", "smoke", "--dataset", "mnist", "--data-dir", data.path,
            "--runs-dir", work.appendingPathComponent("runs").path, "--reports-dir", work.appendingPathComponent("reports").path,
        ]
        let built = try Fixtures.run(["report"] + options)
        #expect(built.status == 0, "\(built.stderr)")

        let server = Process()
        server.executableURL = Fixtures.executable
        server.arguments = ["serve", "--port", "0"] + options
        let output = Pipe()
        server.standardOutput = output
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            // SIGKILL as well: the test runner's threads may block SIGTERM, and a child inherits the mask.
            server.terminate()
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var line = ""
        while !line.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        let port = try #require(line.split(separator: ":").dropFirst(2).first.flatMap { UInt16($0.prefix { $0.isNumber }) }, "no port in '\(line)'")
        #expect(line.hasPrefix("serving http://127.0.0.1:"))

        let index = try Self.request("GET", "/", port: port)
        #expect(index.status == 200)
        for id in ["fig-penalty", "fig-gate", "fig-flops"] { #expect(index.body.contains("data-id=\"\(id)\"")) }

        let page = try Self.request("GET", "/reports/reproduction/index.html", port: port)
        #expect(page.status == 200 && page.body.contains("<svg") && page.body.contains("fetch('/events?report=reproduction'"))
        let figure = try Self.request("GET", "/reports/reproduction/figures/fig-gate.svg", port: port)
        #expect(figure.status == 200 && figure.body.contains("id=\"fig-gate-1\""))
        for attack in ["/reports/../../etc/passwd", "/reports/%2e%2e/%2e%2e/etc/passwd", "/reports/reproduction/../../../etc/passwd", "/reports/..%2f..%2fetc/passwd"] {
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
    }
}
