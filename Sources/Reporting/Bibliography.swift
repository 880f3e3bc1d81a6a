/// A BibTeX file, read by our own parser: `@type{key, name = {value} | "value" | number | macro, …}`,
/// values joined with `#`, `@string` macros, `@comment` and `@preamble` skipped. Values keep their
/// text with TeX's braces removed and its common accents and dashes turned into Unicode.
public struct Bibliography: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        /// Lower case: "article", "inproceedings", "misc"…
        public var type: String
        public var key: String
        /// Field names in lower case; values as plain text.
        public var fields: [String: String]
        /// The line of the file the entry starts on.
        public var line: Int

        public subscript(_ name: String) -> String? { fields[name] }

        /// The authors' (or editors') names as written, "Christos Louizos", one per name.
        public var names: [String] {
            let raw = fields["author"] ?? fields["editor"] ?? ""
            return Bibliography.split(raw, on: " and ").map { name in
                // "Last, First" becomes "First Last".
                let parts = name.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters() }
                return parts.count == 2 ? "\(parts[1]) \(parts[0])" : name
            }
        }

        /// Each author's family name: the last word, or the part before a comma.
        public var familyNames: [String] {
            let raw = fields["author"] ?? fields["editor"] ?? ""
            return Bibliography.split(raw, on: " and ").map { name in
                if let comma = name.firstIndex(of: ",") { return String(name[..<comma]).trimmingCharacters() }
                return String(name.split(separator: " ").last ?? Substring(name))
            }
        }

        /// The author–year label of a citation: "Louizos et al., 2018", "Zagoruyko and Komodakis, 2016".
        public var label: String {
            let family = familyNames
            let who: String
            switch family.count {
            case 0: who = fields["title"] ?? key
            case 1: who = family[0]
            case 2: who = "\(family[0]) and \(family[1])"
            default: who = "\(family[0]) et al."
            }
            return fields["year"].map { "\(who), \($0)" } ?? who
        }

        /// The link a reference leads to: its URL, else its DOI or arXiv page.
        public var url: String? {
            if let url = fields["url"] { return url }
            if let doi = fields["doi"] { return "https://doi.org/\(doi)" }
            if let eprint = fields["eprint"], (fields["archiveprefix"] ?? fields["eprinttype"] ?? "arxiv").lowercased() == "arxiv" {
                return "https://arxiv.org/abs/\(eprint)"
            }
            return nil
        }
    }

    /// Entries by key, and their keys in file order.
    public var entries: [String: Entry]
    public var keys: [String]

    public init(entries: [Entry] = []) {
        self.entries = Dictionary(entries.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        keys = entries.map(\.key)
    }

    public subscript(_ key: String) -> Entry? { entries[key] }

    /// Parses `text`; errors name `file` and the line.
    public static func parse(_ text: String, file: String) throws -> Bibliography {
        var parser = Parser(characters: Array(text), file: file)
        var entries: [Entry] = []
        var seen: Set<String> = []
        while let entry = try parser.next() {
            guard seen.insert(entry.key).inserted else {
                throw TemplateError(file: file, line: entry.line, problem: "BibTeX key '\(entry.key)' is defined twice")
            }
            entries.append(entry)
        }
        return Bibliography(entries: entries)
    }

    /// `text` split on `separator` outside braces (the braces already removed by then, so plain).
    static func split(_ text: String, on separator: String) -> [String] {
        guard !text.isEmpty else { return [] }
        return text.components(separatedBy: separator).map { $0.trimmingCharacters() }.filter { !$0.isEmpty }
    }

    struct Parser {
        let characters: [Character]
        let file: String
        var index = 0
        var line = 1
        var macros: [String: String] = [
            "jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May", "jun": "June", "jul": "July",
            "aug": "August", "sep": "September", "oct": "October", "nov": "November", "dec": "December",
        ]

        init(characters: [Character], file: String) {
            self.characters = characters
            self.file = file
        }

        func error(_ problem: String) -> TemplateError { TemplateError(file: file, line: line, problem: problem) }

        var current: Character? { index < characters.count ? characters[index] : nil }

        mutating func advance() {
            if characters[index] == "\n" { line += 1 }
            index += 1
        }

        mutating func skipSpace() {
            while let c = current, c.isWhitespace { advance() }
        }

        mutating func expect(_ c: Character, _ what: String) throws {
            skipSpace()
            guard current == c else { throw error("expected '\(c)' \(what), found \(current.map { "'\($0)'" } ?? "the end of the file")") }
            advance()
        }

        /// Letters, digits and the punctuation keys and names use.
        mutating func word() -> String {
            var out = ""
            while let c = current, c.isLetter || c.isNumber || "_-:./+".contains(c) {
                out.append(c)
                advance()
            }
            return out
        }

        /// The next entry, or nil at the end; text between entries is a comment.
        mutating func next() throws -> Entry? {
            while let c = current, c != "@" {
                _ = c
                advance()
            }
            guard current == "@" else { return nil }
            advance()
            let start = line
            let type = word().lowercased()
            guard !type.isEmpty else { throw error("'@' without an entry type") }
            skipSpace()
            guard let open = current, open == "{" || open == "(" else { throw error("expected '{' after @\(type)") }
            let close: Character = open == "{" ? "}" : ")"
            advance()
            if type == "comment" || type == "preamble" {
                _ = try braced(opening: open, closing: close)
                return try next()
            }
            if type == "string" {
                skipSpace()
                let name = word().lowercased()
                try expect("=", "after @string's name")
                macros[name] = try value()
                try expect(close, "at the end of @string")
                return try next()
            }
            skipSpace()
            var key = ""
            while let c = current, c != ",", c != close, !c.isWhitespace {
                key.append(c)
                advance()
            }
            guard !key.isEmpty else { throw error("@\(type) has no key") }
            var fields: [String: String] = [:]
            while true {
                skipSpace()
                if current == close {
                    advance()
                    break
                }
                try expect(",", "between the fields of '\(key)'")
                skipSpace()
                if current == close {
                    advance()
                    break
                }
                let name = word().lowercased()
                guard !name.isEmpty else { throw error("a field of '\(key)' has no name") }
                try expect("=", "after field '\(name)' of '\(key)'")
                fields[name] = try value()
            }
            return Entry(type: type, key: key, fields: fields, line: start)
        }

        /// A field's value: parts joined by `#`.
        mutating func value() throws -> String {
            var out = ""
            while true {
                skipSpace()
                guard let c = current else { throw error("a field value runs to the end of the file") }
                if c == "{" {
                    advance()
                    out += try braced(opening: "{", closing: "}")
                } else if c == "\"" {
                    advance()
                    out += try quoted()
                } else {
                    let name = word()
                    guard !name.isEmpty else { throw error("unexpected '\(c)' in a field value") }
                    if name.allSatisfy(\.isNumber) {
                        out += name
                    } else {
                        guard let macro = macros[name.lowercased()] else { throw error("unknown @string macro '\(name)'") }
                        out += macro
                    }
                }
                skipSpace()
                guard current == "#" else { break }
                advance()
            }
            return Bibliography.plain(out)
        }

        /// Text up to the matching closing brace (the opening one already read), braces kept inside.
        mutating func braced(opening: Character, closing: Character) throws -> String {
            var depth = 1
            var out = ""
            let start = line
            while let c = current {
                advance()
                if c == opening { depth += 1 }
                if c == closing {
                    depth -= 1
                    if depth == 0 { return out }
                }
                out.append(c)
            }
            throw TemplateError(file: file, line: start, problem: "'\(opening)' without a closing '\(closing)'")
        }

        /// Text up to the closing quote that is not inside braces.
        mutating func quoted() throws -> String {
            var depth = 0
            var out = ""
            let start = line
            while let c = current {
                advance()
                if c == "{" { depth += 1 }
                if c == "}" { depth -= 1 }
                if c == "\"" && depth == 0 { return out }
                out.append(c)
            }
            throw TemplateError(file: file, line: start, problem: "a quoted value without its closing '\"'")
        }
    }

    /// TeX's markup in a value as plain text: braces removed, accents and dashes as Unicode, runs of
    /// white space as one space.
    static func plain(_ tex: String) -> String {
        let accents: [Character: [Character: Character]] = [
            "\"": ["a": "ä", "o": "ö", "u": "ü", "e": "ë", "i": "ï", "A": "Ä", "O": "Ö", "U": "Ü"],
            "'": ["a": "á", "e": "é", "i": "í", "o": "ó", "u": "ú", "c": "ć", "n": "ń", "s": "ś", "z": "ź", "E": "É"],
            "`": ["a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù"],
            "^": ["a": "â", "e": "ê", "i": "î", "o": "ô", "u": "û"],
            "~": ["a": "ã", "n": "ñ", "o": "õ", "N": "Ñ"],
            "c": ["c": "ç", "C": "Ç"],
            "v": ["c": "č", "s": "š", "z": "ž", "r": "ř", "e": "ě", "C": "Č", "S": "Š", "Z": "Ž"],
        ]
        let symbols: [String: String] = ["ss": "ß", "o": "ø", "l": "ł", "ae": "æ", "i": "ı"]
        let c = Array(tex)
        var out = ""
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch == "\\", i + 1 < c.count {
                // \"o, \"{o}, \c{c}, \& …
                let command = c[i + 1]
                if let table = accents[command] {
                    var j = i + 2
                    while j < c.count, c[j] == " " || c[j] == "{" { j += 1 }
                    if j < c.count, let accented = table[c[j]] {
                        out.append(accented)
                        j += 1
                        while j < c.count, c[j] == "}" { j += 1 }
                        i = j
                        continue
                    }
                }
                var name = ""
                var j = i + 1
                while j < c.count, c[j].isLetter {
                    name.append(c[j])
                    j += 1
                }
                if name.isEmpty {
                    out.append(command)
                    i += 2
                    continue
                }
                if let symbol = symbols[name] { out += symbol }
                i = j
                continue
            }
            if ch == "{" || ch == "}" {
                i += 1
                continue
            }
            if ch == "~" {
                out.append("\u{00A0}")
                i += 1
                continue
            }
            if ch == "-", i + 1 < c.count, c[i + 1] == "-" {
                let long = i + 2 < c.count && c[i + 2] == "-"
                out.append(long ? "—" : "–")
                i += long ? 3 : 2
                continue
            }
            if ch.isWhitespace {
                if !out.hasSuffix(" ") && !out.isEmpty { out.append(" ") }
                i += 1
                continue
            }
            out.append(ch)
            i += 1
        }
        return out.trimmingCharacters()
    }
}
