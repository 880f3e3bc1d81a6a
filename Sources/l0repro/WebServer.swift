import Foundation

/// A request as `WebServer` parsed it: the method, the percent-decoded path, the query items and the
/// headers (names lower-cased).
struct WebRequest: Sendable {
    var method: String
    /// The target as sent, e.g. "/events?report=reproduction".
    var target: String
    /// The path, percent-decoded: "/reports/reproduction/index.html".
    var path: String
    var query: [String: String]
    var headers: [String: String]
    var body: Data
}

/// An answer: status, extra headers and body. Content-Length and Connection: close are added.
struct WebResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: Data

    static func text(_ status: Int, _ message: String) -> WebResponse {
        WebResponse(status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: Data((message + "\n").utf8))
    }

    static let reasons = [
        200: "OK", 202: "Accepted", 301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
        408: "Request Timeout",
        409: "Conflict", 411: "Length Required", 413: "Content Too Large", 414: "URI Too Long", 431: "Request Header Fields Too Large",
        500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
    ]
}

/// What a request may cost the server. Parsing is linear in the bytes read, and no more than these
/// are read: a longer request line is answered 414, larger headers 431, a larger body 413, and a
/// request whose head and body have not arrived within `requestSeconds` 408.
struct WebLimits: Sendable {
    var requestLineBytes = 8 * 1024
    var headerBytes = 32 * 1024
    var headerCount = 100
    var bodyBytes = 64 * 1024
    var requestSeconds: Double = 10
    /// Connections served at once; more are answered 503 at once.
    var connections = 64
}

/// A small HTTP/1.1 server on a TCP socket, one thread per connection and one request per
/// connection (each answer closes it), with hard limits on what a request may cost (`WebLimits`).
/// Built for `serve`: a browser on the same machine, and whatever else reaches the port.
final class WebServer: @unchecked Sendable {
    let limits: WebLimits
    private let handler: @Sendable (WebRequest) -> WebResponse
    private var socketDescriptor: Int32 = -1
    private let lock = NSLock()
    private var open = 0

    init(limits: WebLimits = WebLimits(), handler: @escaping @Sendable (WebRequest) -> WebResponse) {
        self.limits = limits
        self.handler = handler
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Binds and listens on `host` (an IPv4 address) and `port` (0: any free one); returns the port.
    func listen(host: String, port: UInt16) throws -> UInt16 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure(description: "--host '\(host)' is not an IPv4 address") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot open a socket (\(String(cString: strerror(errno))))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 128) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "cannot serve on \(host):\(port) (\(reason))")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        socketDescriptor = fd
        return UInt16(bigEndian: actual.sin_port)
    }

    /// Accepts connections until the process ends.
    func run() -> Never {
        // A browser that goes away mid-answer must not kill the server.
        signal(SIGPIPE, SIG_IGN)
        while true {
            let connection = accept(socketDescriptor, nil, nil)
            guard connection >= 0 else { continue }
            let admitted = lock.withLock { () -> Bool in
                guard open < limits.connections else { return false }
                open += 1
                return true
            }
            guard admitted else {
                setTimeout(connection, SO_SNDTIMEO, seconds: 1)
                send(connection, Self.encode(.text(503, "too many connections; try again")))
                close(connection)
                continue
            }
            let thread = Thread { [self] in
                serve(connection)
                close(connection)
                lock.withLock { open -= 1 }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Reads one request, answers it, and drains what the client still sends (so that closing does
    /// not reset the connection before the answer is read).
    private func serve(_ connection: Int32) {
        setTimeout(connection, SO_SNDTIMEO, seconds: 30)
        let deadline = Date().addingTimeInterval(limits.requestSeconds)
        let response: WebResponse
        switch read(connection, until: deadline) {
        case .success(let request): response = handler(request)
        case .failure(let refusal): response = refusal.response
        }
        send(connection, Self.encode(response))
        shutdown(connection, Int32(SHUT_WR))
        drain(connection)
    }

    struct Refusal: Error {
        let response: WebResponse
        init(_ status: Int, _ message: String) { response = .text(status, message) }
    }

    /// The request on `connection`, or the answer refusing it.
    private func read(_ connection: Int32, until deadline: Date) -> Result<WebRequest, Refusal> {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var lineEnd: Int?
        var headEnd: Int?
        var scanned = 0
        // The head: until the blank line, scanning each byte once.
        while headEnd == nil {
            guard let count = receive(connection, into: &chunk, until: deadline) else {
                return .failure(Refusal(408, "request not received within \(Int(limits.requestSeconds)) s"))
            }
            if count == 0 { return .failure(Refusal(400, "connection closed before the request ended")) }
            buffer += chunk[0..<count]
            while scanned < buffer.count {
                if buffer[scanned] == UInt8(ascii: "\n") {
                    if lineEnd == nil { lineEnd = scanned }
                    if scanned >= 1,
                        buffer[scanned - 1] == UInt8(ascii: "\n")
                            || (scanned >= 2 && buffer[scanned - 1] == UInt8(ascii: "\r") && buffer[scanned - 2] == UInt8(ascii: "\n"))
                    {
                        headEnd = scanned + 1
                        break
                    }
                }
                scanned += 1
            }
            if lineEnd == nil, buffer.count > limits.requestLineBytes {
                return .failure(Refusal(414, "request line longer than \(limits.requestLineBytes) bytes"))
            }
            if headEnd == nil, let lineEnd, buffer.count - lineEnd > limits.headerBytes {
                return .failure(Refusal(431, "request headers larger than \(limits.headerBytes) bytes"))
            }
        }
        let head = buffer[0..<headEnd!]
        guard let text = String(validating: head, as: UTF8.self) else { return .failure(Refusal(400, "request head is not UTF-8")) }
        // "\r\n" is one Character in Swift, so both line ends are named.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        let parts = lines[0].split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), !parts[0].isEmpty, parts[0].allSatisfy({ $0.isLetter && $0.isUppercase }) else {
            return .failure(Refusal(400, "malformed request line"))
        }
        if lineEnd! + 1 > limits.requestLineBytes { return .failure(Refusal(414, "request line longer than \(limits.requestLineBytes) bytes")) }
        var headers: [String: String] = [:]
        let fields = lines.dropFirst().filter { !$0.isEmpty }
        guard fields.count <= limits.headerCount else { return .failure(Refusal(431, "more than \(limits.headerCount) header fields")) }
        for field in fields {
            guard let colon = field.firstIndex(of: ":"), colon != field.startIndex,
                !field[..<colon].contains(where: { $0 == " " || $0 == "\t" })
            else { return .failure(Refusal(400, "malformed header field")) }
            headers[field[..<colon].lowercased()] = field[field.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["transfer-encoding"] != nil { return .failure(Refusal(501, "chunked request bodies are not accepted; send Content-Length")) }
        var length = 0
        if let value = headers["content-length"] {
            guard let parsed = Int(value), parsed >= 0 else { return .failure(Refusal(400, "bad Content-Length")) }
            guard parsed <= limits.bodyBytes else { return .failure(Refusal(413, "request body larger than \(limits.bodyBytes) bytes")) }
            length = parsed
        }
        var body = Array(buffer[headEnd!...])
        while body.count < length {
            guard let count = receive(connection, into: &chunk, until: deadline) else {
                return .failure(Refusal(408, "request body not received within \(Int(limits.requestSeconds)) s"))
            }
            if count == 0 { return .failure(Refusal(400, "connection closed before the body ended")) }
            body += chunk[0..<count]
        }
        let target = String(parts[1])
        guard target.hasPrefix("/") else { return .failure(Refusal(400, "the request target must be a path")) }
        let pieces = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let path = Self.percentDecoded(pieces[0], plusIsSpace: false) else {
            return .failure(Refusal(400, "the path is not valid percent-encoded UTF-8"))
        }
        var query: [String: String] = [:]
        if pieces.count > 1 {
            for item in pieces[1].split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = Self.percentDecoded(pair[0], plusIsSpace: true),
                    let value = Self.percentDecoded(pair.count > 1 ? pair[1] : "", plusIsSpace: true)
                else { return .failure(Refusal(400, "the query is not valid percent-encoded UTF-8")) }
                query[name] = value
            }
        }
        return .success(
            WebRequest(
                method: String(parts[0]), target: target, path: path, query: query, headers: headers, body: Data(body.prefix(length))))
    }

    /// `text` with each %XX replaced by its byte, or nil when a % is not followed by two hex digits,
    /// the bytes are not UTF-8, or they hold a NUL.
    static func percentDecoded(_ text: Substring, plusIsSpace: Bool) -> String? {
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(plusIsSpace && byte == UInt8(ascii: "+") ? UInt8(ascii: " ") : byte)
            }
        }
        guard !bytes.contains(0) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func encode(_ response: WebResponse) -> [UInt8] {
        var head = "HTTP/1.1 \(response.status) \(WebResponse.reasons[response.status] ?? "Status")\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + response.body
    }

    /// Receives into `buffer`: the byte count (0 at the end of the stream), or nil once `deadline`
    /// has passed without data.
    private func receive(_ connection: Int32, into buffer: inout [UInt8], until deadline: Date) -> Int? {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return nil }
            setTimeout(connection, SO_RCVTIMEO, seconds: min(remaining, 1))
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            if count >= 0 { return count }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            return 0
        }
    }

    private func send(_ connection: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }

    /// Reads and discards for up to a second and 4 MB, until the client closes its side.
    private func drain(_ connection: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let deadline = Date().addingTimeInterval(1)
        var total = 0
        while total < 4 << 20, let count = receive(connection, into: &buffer, until: deadline), count > 0 { total += count }
    }

    private func setTimeout(_ connection: Int32, _ option: Int32, seconds: Double) {
        var value = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(connection, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
    }
}
