import FileSupport
import Foundation
import Plotting
import Reporting
import Reproduction

/// The browser view: serves the reports under a directory with an index of their figures, reloads a
/// page when its files change (long polling on /events), and reruns one figure on request (POST
/// /rerun/<report>/<figure id>; known ids only; one job at a time, run as `l0repro figure <id>` in a
/// child process whose progress /jobs reports). Each request runs on its own thread (`WebServer`);
/// the job is guarded by a lock.
final class ReportServer: @unchecked Sendable {
    let reportsDirectory: URL
    let template: URL
    /// Arguments passed on to `l0repro figure` for a rerun (template, profile, data and run options).
    let rerunArguments: [String]
    private let lock = NSLock()
    private var job = Job()
    /// The state of each figure of the report built from `template`, in report order (fresh or stale,
    /// runs a rerun would train and for how long); nil: not known, no rerun controls in the page.
    var figureStates: (() throws -> [ReportBuilder.FigureState])?

    struct Job: Codable {
        var id: String?
        /// The command line of the rerun (after the executable).
        var command: [String] = []
        var running = false
        var finished = false
        var succeeded = false
        var log: [String] = []
    }

    /// `reportName` defaults to the template's name (the report of the dataset its front matter names).
    init(reportsDirectory: URL, template: URL, rerunArguments: [String], reportName: String? = nil) {
        self.reportsDirectory = reportsDirectory.standardizedFileURL
        self.template = template
        self.rerunArguments = rerunArguments
        self.reportName = reportName ?? template.deletingPathExtension().lastPathComponent
    }

    /// The report this server can rerun figures of: the one `l0repro report` with the same options writes.
    let reportName: String

    /// The Host header values accepted (nil: any, when listening on every address): a page served
    /// under another name (DNS rebinding) gets nothing.
    var allowedHosts: Set<String>?

    /// Accepts the names of the loopback address (or of `host`) with `port` as Host.
    func listening(host: String, port: UInt16) {
        allowedHosts = host == "0.0.0.0" ? nil : Set(["127.0.0.1", "localhost", host].map { "\($0):\(port)" })
    }

    func route(_ request: WebRequest) -> WebResponse {
        if let allowedHosts, !allowedHosts.contains(request.headers["host"] ?? "") {
            return text(403, "refused: Host '\(request.headers["host"] ?? "")' is not this server; open http://\(allowedHosts.sorted().first ?? "")/")
        }
        // A page of another site may not start reruns: browsers name the page's origin on a POST.
        if request.method == "POST", let origin = request.headers["origin"], origin != "http://" + (request.headers["host"] ?? "") {
            return text(403, "refused: a rerun may only be started from this server's own pages (Origin \(origin))")
        }
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        switch (request.method, parts.first) {
        case ("GET", nil): return html(indexPage())
        case ("GET", "reports"): return file(Array(parts.dropFirst()), trailingSlash: request.path.hasSuffix("/"))
        case ("GET", "events"): return events(request)
        case ("GET", "jobs"): return json(lock.withLock { job })
        case ("GET", "status"): return status(request)
        case ("POST", "rerun") where parts.count == 3: return rerun(report: parts[1], id: parts[2])
        case (_, "rerun") where parts.count == 3: return methodNotAllowed(request, allow: "POST")
        case (let method, nil), (let method, "reports"), (let method, "events"), (let method, "jobs"), (let method, "status"):
            return method == "GET" ? text(404, "not found: \(request.path)") : methodNotAllowed(request, allow: "GET")
        default: return text(404, "not found: \(request.path)")
        }
    }

    /// 405 with the method the route takes.
    func methodNotAllowed(_ request: WebRequest, allow: String) -> WebResponse {
        var response = text(405, "\(request.method) is not allowed on \(request.path); use \(allow)")
        response.headers.append(("Allow", allow))
        return response
    }

    /// The figures of the rerunnable report with their states, as JSON (`figureStates`).
    func status(_ request: WebRequest) -> WebResponse {
        guard request.query["report"] == reportName, let figureStates else { return text(404, "no figure states for this report") }
        do {
            return json(try figureStates())
        } catch {
            return text(500, "cannot tell the figures' states: \(error)")
        }
    }

    // MARK: pages and files

    /// Reports (directories holding an index.html), each with its figures.
    func reports() -> [(name: String, figures: [String])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: reportsDirectory.path)) ?? []
        return names.sorted().compactMap { name in
            let directory = reportsDirectory.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("index.html").path) else { return nil }
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("figures").path)) ?? []
            return (name, Array(Set(files.filter { $0.hasSuffix(".svg") }.map { String($0.dropLast(4)) })).sorted())
        }
    }

    /// Figure ids of the template that may be rerun.
    func knownFigureIDs() -> [String] {
        let dataset = (try? TemplateReader.frontMatter(contentsOf: template))?.dataset ?? "mnist"
        guard let document = try? TemplateReader.read(contentsOf: template, conditions: ["dataset": dataset]) else { return [] }
        return document.allBlocks.compactMap { if case .cell(let cell) = $0, cell.kind == "figure" { cell.id } else { nil } }
    }

    func indexPage() -> String {
        let known = Set(knownFigureIDs())
        var body = ""
        for var report in reports() {
            // The rerunnable report's figures in report order, then any others.
            if report.name == reportName {
                let order = knownFigureIDs()
                report.figures = order.filter(report.figures.contains) + report.figures.filter { !order.contains($0) }
            }
            body += "<section><h2><a href=\"/reports/\(report.name)/index.html\">\(escape(report.name))</a></h2>\n"
            body +=
                "<p><a href=\"/reports/\(report.name)/index.html\">HTML</a> · <a href=\"/reports/\(report.name)/report.pdf\">PDF</a></p>\n<ul class=\"figures\">\n"
            for id in report.figures {
                let rerun =
                    report.name == reportName && known.contains(id)
                    ? " <button data-report=\"\(report.name)\" data-id=\"\(id)\">rerun</button>" : ""
                body +=
                    "<li><a href=\"/reports/\(report.name)/figures/\(id).svg\"><img src=\"/reports/\(report.name)/figures/\(id).svg\" alt=\"\(id)\"></a><span>\(id)\(rerun)</span></li>\n"
            }
            body += "</ul></section>\n"
        }
        if body.isEmpty { body = "<p>No reports under \(escape(reportsDirectory.path)) yet: run <code>l0repro report</code>.</p>" }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>l0repro reports</title>
            <style>body{font:15px/1.5 "DejaVu Sans",sans-serif;max-width:60rem;margin:0 auto;padding:1rem}
            .figures{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:1rem}
            .figures img{width:100%;border:1px solid #ddd}.figures span{display:flex;justify-content:space-between;align-items:center}
            #job{white-space:pre-wrap;background:#f4f4f6;padding:.5rem;font:12px monospace}#job.error{background:#fde8e8;color:#8a1111}</style></head>
            <body><h1>l0repro reports</h1>
            <pre id="job" hidden></pre>
            \(body)
            <script>
            const box=document.getElementById('job');let watched=false;
            async function poll(){const r=await fetch('/jobs');const j=await r.json();
              if(!j.id){return}box.hidden=false;box.className=j.finished&&!j.succeeded?'error':'';
              box.textContent=(j.running?'running ':j.succeeded?'finished ':'failed ')+j.id+'\\n'+j.log.join('\\n');
              // Reload once, when a job this page saw running has finished (not on every load).
              if(j.running){watched=true;setTimeout(poll,700)}else if(j.succeeded&&watched){watched=false;location.reload()}}
            for(const b of document.querySelectorAll('button[data-id]')){b.onclick=async()=>{
              const r=await fetch('/rerun/'+b.dataset.report+'/'+b.dataset.id,{method:'POST'});
              if(r.status!==202){box.hidden=false;box.className='error';box.textContent=await r.text();return}watched=true;poll()}}
            poll();
            </script></body></html>
            """
    }

    /// A file under the reports directory; any path that would leave it is refused.
    func file(_ parts: [String], trailingSlash: Bool = false) -> WebResponse {
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.contains("\\") && !$0.contains("\0") }) else {
            return text(400, "refused: the path must name a file under the reports directory")
        }
        let url = parts.reduce(reportsDirectory) { $0.appendingPathComponent($1) }.standardizedFileURL.resolvingSymlinksInPath()
        guard url.path.hasPrefix(reportsDirectory.resolvingSymlinksInPath().path + "/") else {
            return text(403, "refused: outside the reports directory")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue,
            FileManager.default.fileExists(atPath: url.appendingPathComponent("index.html").path)
        {
            // A directory serves its index.html, at a URL ending in / so that its relative links work.
            let path = "/reports/" + parts.map(Self.percentEncoded).joined(separator: "/") + "/"
            guard trailingSlash else { return WebResponse(status: 301, headers: [("Location", path)], body: Data()) }
            return file(parts + ["index.html"])
        }
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
            var data = FileManager.default.contents(atPath: url.path)
        else { return text(404, "not found: /reports/\(parts.joined(separator: "/"))") }
        let type = Self.contentTypes[url.pathExtension] ?? "application/octet-stream"
        if url.lastPathComponent == "index.html", parts.count == 2 {
            data = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "</body>", with: liveReload(parts[0]) + "</body>").utf8)
        }
        return WebResponse(status: 200, headers: [("Content-Type", type), ("Cache-Control", "no-store")], body: data)
    }

    static func percentEncoded(_ part: String) -> String {
        part.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? part
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "svg": "image/svg+xml", "csv": "text/csv; charset=utf-8", "png": "image/png", "pdf": "application/pdf",
        "json": "application/json",
    ]

    /// The script added to a served report page: wait for its files to change, then reload; on the
    /// report built from `template`, a rerun control under each figure with its state.
    func liveReload(_ report: String) -> String {
        var script = """
            <script>(async()=>{let v=null;for(;;){try{const r=await fetch('/events?report=\(report)'+(v?'&since='+v:''));
            const j=await r.json();if(v&&j.version!==v){location.reload();return}v=j.version}catch(e){await new Promise(s=>setTimeout(s,2000))}}})();</script>

            """
        if report == reportName && figureStates != nil { script += rerunControls(report) }
        return script
    }

    /// Under each figure of the page: its state (fresh, or stale and why), what a rerun would train
    /// and for how long, and a rerun button that shows the job's progress; the page reloads itself
    /// when the rerun rewrites its files (the live reload above).
    func rerunControls(_ report: String) -> String {
        """
        <style>.rerun{font:13px/1.4 "DejaVu Sans",sans-serif;text-align:left;margin:.3rem 0;padding:.35rem .5rem;background:#f4f4f6;border-radius:3px;overflow-wrap:anywhere}
        .rerun .state{margin-left:.5rem}.rerun .stale{color:#8a5a00}.rerun .warn{display:block;color:#8a1111}.rerun pre{white-space:pre-wrap;margin:.3rem 0 0;font-size:11px;background:none}
        @media print{.rerun{display:none}}</style>
        <script>(async()=>{
        const r=await fetch('/status?report=\(report)');if(!r.ok)return;const states=await r.json();
        function minutes(s){return s<90?Math.round(s)+' s':'about '+Math.round(s/60)+' min'}
        for(const f of states){const fig=document.getElementById(f.id);if(!fig)continue;
          const box=document.createElement('div');box.className='rerun';box.dataset.figure=f.id;
          const b=document.createElement('button');b.textContent='rerun';b.dataset.id=f.id;box.appendChild(b);
          const st=document.createElement('span');st.className='state '+(f.fresh?'fresh':'stale');
          st.textContent=f.fresh?'fresh':'stale: '+f.reason;box.appendChild(st);
          if(f.untrainedRuns.length){const w=document.createElement('span');w.className='warn';
            w.textContent='A rerun trains '+f.untrainedRuns.length+' run'+(f.untrainedRuns.length>1?'s':'')+' first ('+f.untrainedRuns.join(', ')+'), '+
              (f.estimatedSeconds==null?'for an unknown time':minutes(f.estimatedSeconds)+' at the speed of the finished runs')+'.';box.appendChild(w)}
          const log=document.createElement('pre');log.hidden=true;box.appendChild(log);
          b.onclick=async()=>{if(f.untrainedRuns.length&&!confirm(box.querySelector('.warn').textContent+' Go on?'))return;
            b.disabled=true;const p=await fetch('/rerun/\(report)/'+f.id,{method:'POST'});log.hidden=false;
            if(p.status!==202){log.textContent=await p.text();b.disabled=false;return}
            for(;;){const j=await (await fetch('/jobs')).json();log.textContent=(j.running?'running… ':j.succeeded?'finished':'failed')+'\\n'+j.log.slice(-6).join('\\n');
              if(!j.running){b.disabled=false;break}await new Promise(s=>setTimeout(s,700))}};
          fig.appendChild(box)}
        })();</script>

        """
    }

    // MARK: live reload

    /// A fingerprint of a report's files: their names, sizes and modification times.
    func version(of report: String) -> String {
        let directory = reportsDirectory.appendingPathComponent(report)
        var parts: [String] = []
        if let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.contentModificationDateKey, .fileSizeKey]) {
            // Not the cache (nor its directory, whose time changes as cells are stored): a rerun
            // stores its cell before it publishes the report, and the page must reload once.
            for case let url as URL in enumerator where !url.path.contains("/cache/") && url.lastPathComponent != "cache" {
                let values = try? url.resourceValues(forKeys: [.contentModificationDateKey, .fileSizeKey])
                parts.append("\(url.lastPathComponent):\(values?.fileSize ?? 0):\(values?.contentModificationDate?.timeIntervalSince1970 ?? 0)")
            }
        }
        return String(Digest.sha256(Data(parts.sorted().joined(separator: "\n").utf8)).prefix(16))
    }

    /// Long poll: answers at once without `since` or when the version differs from it, otherwise
    /// when the report's files change, or after `wait` seconds (default 25) with the same version.
    func events(_ request: WebRequest) -> WebResponse {
        guard let report = request.query["report"], reports().contains(where: { $0.name == report }) else {
            return text(404, "unknown report")
        }
        let since = request.query["since"]
        let wait = max(0, min(60, Double(request.query["wait"] ?? "") ?? 25))
        let deadline = Date().addingTimeInterval(wait)
        var current = version(of: report)
        while let since, current == since, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            current = version(of: report)
        }
        return json(["version": current])
    }

    // MARK: reruns

    func rerun(report: String, id: String) -> WebResponse {
        guard report == reportName, knownFigureIDs().contains(id) else {
            return text(404, "unknown figure '\(id)' in report '\(report)': only the figure ids of \(template.lastPathComponent) can be rerun")
        }
        let command = ["figure", id] + rerunArguments
        let busy = lock.withLock { () -> String? in
            if job.running { return job.id ?? "?" }
            job = Job(id: id, command: command, running: true)
            return nil
        }
        if let busy { return text(409, "a rerun of \(busy) is already running; wait for it to finish") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = command
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        errors.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            guard !chunk.isEmpty else { return }
            let lines = String(decoding: chunk, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map {
                String($0).replacingOccurrences(of: "\u{1B}[K", with: "")
            }
            self.append(lines)
        }
        process.terminationHandler = { process in
            errors.fileHandleForReading.readabilityHandler = nil
            let rest = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
            let ok = process.terminationStatus == 0
            self.finish(rest, succeeded: ok)
        }
        do {
            try process.run()
        } catch {
            lock.withLock {
                job = Job(
                    id: id, command: command, running: false, finished: true, succeeded: false,
                    log: ["cannot start the rerun: \(error.localizedDescription)"])
            }
            return text(500, "cannot start the rerun: \(error.localizedDescription)")
        }
        return WebResponse(status: 202, headers: [("Content-Type", "application/json")], body: Data("{\"job\":\"\(id)\"}".utf8))
    }

    func append(_ lines: [String]) {
        lock.withLock { job.log = Array((job.log + lines).suffix(40)) }
    }

    func finish(_ lines: [String], succeeded: Bool) {
        lock.withLock {
            job.log = Array((job.log + lines).suffix(40))
            job.running = false
            job.finished = true
            job.succeeded = succeeded
        }
    }

    // MARK: responses

    func html(_ page: String) -> WebResponse {
        WebResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], body: Data(page.utf8))
    }

    func json<T: Encodable>(_ value: T) -> WebResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return WebResponse(
            status: 200, headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")], body: (try? encoder.encode(value)) ?? Data())
    }

    func text(_ status: Int, _ message: String) -> WebResponse { .text(status, message) }

    func escape(_ s: String) -> String { Markup.escape(s) }
}
