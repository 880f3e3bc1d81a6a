import ArgumentParser
import Experiments
import Foundation
import Reproduction

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the reports to a browser, with live reload and a rerun button per figure.",
        discussion: """
            Listens on 127.0.0.1 only (pass --host 0.0.0.0 to listen on every address) and prints the address. \
            / lists the reports under --reports-dir and their figures; /reports/<name>/ serves their files \
            (a directory its index.html); a served report page reloads itself when its files change. Each \
            figure of the report built from --template has a rerun button, on the index and under the figure \
            in the report page, with its state (fresh, or stale and why) and a warning with an estimated time \
            when a rerun would train runs first (GET /status?report=<name> gives the same as JSON); it runs `l0repro figure <id>` with this command's options \
            (one job at a time; progress and errors show on the page), passing on --threads. Requests are \
            bounded: a request line over 8 KiB is answered 414, headers over 32 KiB or 100 fields 431, a body \
            over 64 KiB 413, a request not received within --request-timeout seconds 408, a path that is not \
            valid percent-encoded UTF-8 400; at most 64 connections are served at once. Stop with Ctrl-C.
            """)

    @OptionGroup var options: ReportCommand.Options

    @Option(help: "TCP port (0 picks a free one).")
    var port: UInt16 = 8000

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(
        name: .customLong("request-timeout"), parsing: .unconditional,
        help: ArgumentHelp("Seconds a client has to send a whole request before it is answered 408.", valueName: "s"))
    var requestTimeout: Double = 10

    func validate() throws {
        if !(requestTimeout > 0) { throw ValidationError("--request-timeout must be positive, got \(requestTimeout)") }
    }

    func run() throws {
        var rerun = ["--template", options.template, "--runs-dir", options.runsDirectory, "--reports-dir", options.reportsDirectory]
        if let dataset = options.data.dataset { rerun += ["--dataset", dataset.rawValue] }
        if let profile = options.profile { rerun += ["--profile", profile.rawValue] }
        if let directory = options.data.dataDirectory { rerun += ["--data-dir", directory] }
        rerun += ["--threads", String(options.threads)]
        // The report the same options build (named after the template, and the dataset when another).
        let reportName = (try? options.builder())?.outputDirectory.lastPathComponent
        let handler = ReportServer(
            reportsDirectory: URL(fileURLWithPath: options.reportsDirectory), template: URL(fileURLWithPath: options.template), rerunArguments: rerun,
            reportName: reportName)
        // Each request for the states reads the template, the cache and the run logs afresh.
        let options = self.options
        handler.figureStates = { try options.builder().figureStates() }
        var limits = WebLimits()
        limits.requestSeconds = requestTimeout
        let server = WebServer(limits: limits) { request in handler.route(request) }
        let bound: UInt16
        do {
            bound = try server.listen(host: host, port: port)
        } catch let failure as WebServer.Failure {
            throw CommandError(message: failure.description)
        }
        handler.listening(host: host, port: bound)
        FileHandle.standardOutput.write(Data("serving http://\(host):\(bound)/ (reports in \(options.reportsDirectory)); Ctrl-C stops\n".utf8))
        server.run()
    }
}
