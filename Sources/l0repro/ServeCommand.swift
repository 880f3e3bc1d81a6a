import ArgumentParser
import FlyingFox
import FlyingSocks
import Foundation
import Reproduction

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the reports to a browser, with live reload and a rerun button per figure.",
        discussion: """
            Listens on 127.0.0.1 only (pass --host 0.0.0.0 to listen on every address) and prints the address. \
            / lists the reports under --reports-dir and their figures; /reports/<name>/… serves their files; \
            a served report page reloads itself when its files change. Each figure of the report built from \
            --template has a rerun button, which runs `l0repro figure <id>` with this command's options \
            (one job at a time; progress and errors show on the page). Stop with Ctrl-C.
            """)

    @OptionGroup var options: ReportCommand.Options

    @Option(help: "TCP port (0 picks a free one).")
    var port: UInt16 = 8000

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    func run() throws {
        let address: sockaddr_in
        do {
            address = try .inet(ip4: host, port: port)
        } catch {
            throw ValidationError("--host '\(host)' is not an IPv4 address")
        }
        var rerun = ["--template", options.template, "--runs-dir", options.runsDirectory, "--reports-dir", options.reportsDirectory]
        if let dataset = options.data.dataset { rerun += ["--dataset", dataset.rawValue] }
        if let profile = options.profile { rerun += ["--profile", profile.rawValue] }
        if let directory = options.data.dataDirectory { rerun += ["--data-dir", directory] }
        let handler = ReportServer(
            reportsDirectory: URL(fileURLWithPath: options.reportsDirectory), template: URL(fileURLWithPath: options.template), rerunArguments: rerun)
        let server = HTTPServer(address: address, logger: .disabled)
        let failure = ServeFailure()
        let done = DispatchSemaphore(value: 0)
        Task {
            await server.appendRoute("*") { request in await handler.route(request) }
            Task {
                do {
                    try await server.waitUntilListening()
                    if case .ip4(let ip, let port)? = await server.listeningAddress {
                        let line = "serving http://\(ip):\(port)/ (reports in \(options.reportsDirectory)); Ctrl-C stops\n"
                        FileHandle.standardOutput.write(Data(line.utf8))
                    }
                } catch {}
            }
            do {
                try await server.run()
            } catch {
                failure.message = "cannot serve on \(host):\(port): \(error)"
            }
            done.signal()
        }
        done.wait()
        if let message = failure.message { throw CommandError(message: message) }
    }
}

private final class ServeFailure: @unchecked Sendable {
    var message: String?
}
