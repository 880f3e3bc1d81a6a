/// Reads the front matter: a block between `---` lines at the top of a template, in a small subset of
/// YAML: `key: value`, lists as `[a, b]` or as `- item` lines, and one level of nesting for
/// `parameters:`.
enum FrontMatterReader {
    /// Splits `text` into its front matter and the rest; `bodyLine` is the rest's first line number.
    static func read(_ text: String, file: String) throws -> (metadata: FrontMatter, body: String, bodyLine: Int) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard lines.first.map({ $0.trimmingCharacters() == "---" }) == true else {
            throw TemplateError(
                file: file, line: 1, problem: "missing front matter: start the template with a '---' line, then 'title: …', then '---'")
        }
        guard let end = lines.dropFirst().firstIndex(where: { $0.trimmingCharacters() == "---" }) else {
            throw TemplateError(file: file, line: 1, problem: "front matter is not closed: add a '---' line after it")
        }
        var fields: [String: String] = [:]
        var lists: [String: [String]] = [:]
        var parent: String?
        for index in 1..<end {
            let line = lines[index]
            let number = index + 1
            let trimmed = line.trimmingCharacters()
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indented = line.first == " " || line.first == "\t"
            if indented, let key = parent {
                if trimmed.hasPrefix("- ") {
                    lists[key, default: []].append(unquote(trimmed.dropFirst(2).trimmingCharacters()))
                    continue
                }
                let (sub, value) = try pair(trimmed, file: file, line: number)
                guard !value.isEmpty else { throw TemplateError(file: file, line: number, problem: "malformed front matter: '\(sub)' needs a value") }
                fields["\(key).\(sub)"] = value
                continue
            }
            let (key, value) = try pair(trimmed, file: file, line: number)
            guard fields[key] == nil && lists[key] == nil else {
                throw TemplateError(file: file, line: number, problem: "malformed front matter: '\(key)' is given twice")
            }
            if value.isEmpty {
                parent = key
            } else if value.hasPrefix("[") {
                guard value.hasSuffix("]") else {
                    throw TemplateError(file: file, line: number, problem: "malformed front matter: a list needs a closing ']'")
                }
                lists[key] = value.dropFirst().dropLast().split(separator: ",").map { unquote($0.trimmingCharacters()) }.filter { !$0.isEmpty }
                parent = nil
            } else {
                fields[key] = value
                parent = nil
            }
        }
        guard let title = fields.removeValue(forKey: "title"), !title.isEmpty else {
            throw TemplateError(file: file, line: 1, problem: "front matter needs a 'title: …' line")
        }
        var authors = lists.removeValue(forKey: "authors") ?? []
        if let single = fields.removeValue(forKey: "authors") { authors = [single] }
        let metadata = FrontMatter(
            title: title, subtitle: fields.removeValue(forKey: "subtitle"), authors: authors, profile: fields.removeValue(forKey: "profile"),
            dataset: fields.removeValue(forKey: "dataset"), fields: fields.merging(lists.mapValues { $0.joined(separator: ", ") }) { a, _ in a })
        return (metadata, lines[(end + 1)...].joined(separator: "\n"), end + 2)
    }

    private static func pair(_ text: String, file: String, line: Int) throws -> (String, String) {
        guard let colon = text.firstIndex(of: ":") else {
            throw TemplateError(file: file, line: line, problem: "malformed front matter: expected 'key: value', got '\(text)'")
        }
        let key = text[..<colon].trimmingCharacters()
        guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw TemplateError(file: file, line: line, problem: "malformed front matter: '\(key)' is not a key (letters, digits, - and _)")
        }
        return (key, unquote(text[text.index(after: colon)...].trimmingCharacters()))
    }

    private static func unquote(_ s: String) -> String {
        if s.count >= 2, let f = s.first, f == s.last, f == "\"" || f == "'" { return String(s.dropFirst().dropLast()) }
        return s
    }
}

extension StringProtocol {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
