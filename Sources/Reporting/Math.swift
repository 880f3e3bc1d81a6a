/// TeX maths as templates write it (`$…$` inline, `$$…$$` on a line of its own), parsed into a tree
/// that each writer typesets: the HTML as MathML Core (shown natively by Chromium and Firefox, no
/// script), the PDF with Pango (italic letters, raised and lowered scripts, accents as combining
/// marks on their letter, a display formula's fractions stacked, inline ones written a/b). The subset: letters and digits, Greek (`\alpha`…, `\Sigma`…),
/// `_` and `^`, `\frac`, `\sqrt`, accents (`\tilde`, `\hat`, `\bar`, `\dot`), `\text{…}`,
/// `\mathrm{…}`, `\mathbb{E}`, `\mathcal{L}`, functions (`\log`, `\exp`, `\min`, `\max`), big operators
/// (`\sum`, `\prod`), `\left`/`\right` delimiters, relations and operators (`\cdot`, `\odot`, `\neq`,
/// `\leq`, `\sim`, `\approx`, `\in`, `\|`, …) and spaces (`\,`, `\;`, `\quad`).
public indirect enum MathNode: Equatable, Sendable {
    case identifier(String)
    case number(String)
    case op(String)
    /// Upright text: `\text{…}`, `\mathrm{…}`, a function name.
    case text(String)
    case row([MathNode])
    case scripts(base: MathNode, sub: MathNode?, sup: MathNode?)
    case fraction(MathNode, MathNode)
    case root(MathNode)
    /// An accent over its base: "~" (tilde), "^" (hat), "¯" (bar), "˙" (dot).
    case accent(MathNode, String)
    /// A large operator (Σ, Π), whose scripts go under and over it in display.
    case largeOperator(String)
    /// Horizontal space in em.
    case space(Double)
    /// A `\left` or `\right` delimiter, which grows with what it encloses.
    case fence(String)
}

/// A formula that cannot be read, with what is wrong.
public struct MathError: Error, CustomStringConvertible {
    public let description: String
}

public enum MathParser {
    static let greek: [String: String] = [
        "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "zeta": "ζ", "eta": "η",
        "theta": "θ", "iota": "ι", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ",
        "sigma": "σ", "tau": "τ", "upsilon": "υ", "phi": "ϕ", "varphi": "φ", "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ",
        "Delta": "Δ", "Theta": "Θ", "Lambda": "Λ", "Xi": "Ξ", "Pi": "Π", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
    ]
    static let operators: [String: String] = [
        "cdot": "·", "odot": "⊙", "times": "×", "neq": "≠", "ne": "≠", "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "sim": "∼",
        "approx": "≈", "in": "∈", "to": "→", "rightarrow": "→", "leftarrow": "←", "gets": "←", "infty": "∞", "|": "‖", "lVert": "‖", "rVert": "‖",
        "lvert": "|", "rvert": "|",
        "pm": "±", "mid": "|", "ldots": "…", "cdots": "⋯", "{": "{", "}": "}", "propto": "∝", "partial": "∂", "nabla": "∇",
    ]
    static let functions: Set<String> = ["log", "exp", "min", "max", "sin", "cos", "tanh", "arg", "argmin", "argmax", "det", "sup", "inf"]
    static let accents: [String: String] = ["tilde": "~", "hat": "^", "bar": "¯", "dot": "˙", "widetilde": "~", "widehat": "^"]
    static let largeOperators: [String: String] = ["sum": "∑", "prod": "∏"]

    /// Parses `source`; an unknown command or unbalanced brace is an error naming it.
    public static func parse(_ source: String) throws -> MathNode {
        var parser = State(characters: Array(source))
        let row = try parser.row(until: nil)
        return row
    }

    struct State {
        let characters: [Character]
        var index = 0

        var atEnd: Bool { index >= characters.count }

        mutating func skipSpaces() { while !atEnd && characters[index].isWhitespace { index += 1 } }

        /// Atoms with their scripts up to `closing` (or the end).
        mutating func row(until closing: Character?) throws -> MathNode {
            var items: [MathNode] = []
            while true {
                skipSpaces()
                if atEnd {
                    if let closing { throw MathError(description: "missing '\(closing)'") }
                    break
                }
                let c = characters[index]
                if let closing, c == closing {
                    index += 1
                    break
                }
                if c == "}" { throw MathError(description: "unbalanced '}'") }
                if c == "_" || c == "^" {
                    index += 1
                    let script = try atom()
                    let base = items.popLast() ?? .row([])
                    var (b, sub, sup) = (base, MathNode?.none, MathNode?.none)
                    if case .scripts(let inner, let s, let p) = base { (b, sub, sup) = (inner, s, p) }
                    if c == "_" {
                        guard sub == nil else { throw MathError(description: "two subscripts on one atom") }
                        sub = script
                    } else {
                        guard sup == nil else { throw MathError(description: "two superscripts on one atom") }
                        sup = script
                    }
                    items.append(.scripts(base: b, sub: sub, sup: sup))
                    continue
                }
                items.append(try atom())
            }
            return items.count == 1 ? items[0] : .row(items)
        }

        /// One atom: a group, a command, a number, a letter or an operator character.
        mutating func atom() throws -> MathNode {
            skipSpaces()
            guard !atEnd else { throw MathError(description: "something missing at the end") }
            let c = characters[index]
            if c == "{" {
                index += 1
                return try row(until: "}")
            }
            if c == "\\" { return try command() }
            if c.isNumber {
                var digits = ""
                while !atEnd
                    && (characters[index].isNumber || characters[index] == "." && index + 1 < characters.count && characters[index + 1].isNumber)
                {
                    digits.append(characters[index])
                    index += 1
                }
                return .number(digits)
            }
            index += 1
            if c.isLetter { return .identifier(String(c)) }
            let names: [Character: String] = ["-": "−", "*": "∗", "'": "′"]
            return .op(names[c] ?? String(c))
        }

        mutating func name() -> String {
            var name = ""
            if !atEnd && !characters[index].isLetter {
                name = String(characters[index])
                index += 1
                return name
            }
            while !atEnd && characters[index].isLetter {
                name.append(characters[index])
                index += 1
            }
            return name
        }

        /// The text of a `{…}` argument, as written.
        mutating func literalArgument() throws -> String {
            skipSpaces()
            guard !atEnd, characters[index] == "{" else { throw MathError(description: "expected '{'") }
            index += 1
            var depth = 1
            var text = ""
            while !atEnd {
                let c = characters[index]
                index += 1
                if c == "{" { depth += 1 }
                if c == "}" {
                    depth -= 1
                    if depth == 0 { return text }
                }
                text.append(c)
            }
            throw MathError(description: "missing '}'")
        }

        mutating func command() throws -> MathNode {
            index += 1
            let word = name()
            if let letter = MathParser.greek[word] {
                return word.first!.isUppercase ? .text(letter) : .identifier(letter)
            }
            if let symbol = MathParser.operators[word] { return .op(symbol) }
            if MathParser.functions.contains(word) { return .text(word) }
            if let symbol = MathParser.largeOperators[word] { return .largeOperator(symbol) }
            if let mark = MathParser.accents[word] { return .accent(try atom(), mark) }
            switch word {
            case "frac": return .fraction(try atom(), try atom())
            case "sqrt": return .root(try atom())
            case "text", "mathrm", "operatorname": return .text(try literalArgument())
            case "mathbb":
                let letter = try literalArgument()
                let doubleStruck: [String: String] = ["E": "𝔼", "R": "ℝ", "N": "ℕ", "P": "ℙ", "Z": "ℤ"]
                guard let symbol = doubleStruck[letter] else { throw MathError(description: "\\mathbb{\(letter)} is not supported") }
                return .text(symbol)
            case "mathcal":
                let letter = try literalArgument()
                let script: [String: String] = ["L": "ℒ", "N": "𝒩", "U": "𝒰", "D": "𝒟", "O": "𝒪", "R": "ℛ"]
                guard let symbol = script[letter] else { throw MathError(description: "\\mathcal{\(letter)} is not supported") }
                return .identifier(symbol)
            case "left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr":
                skipSpaces()
                guard !atEnd else { throw MathError(description: "\\\(word) needs a delimiter") }
                if characters[index] == "." {
                    index += 1
                    return .row([])
                }
                let delimiter = try atom()
                if word == "left" || word == "right", case .op(let symbol) = delimiter { return .fence(symbol) }
                return delimiter
            case ",": return .space(0.17)
            case ":", ">": return .space(0.22)
            case ";": return .space(0.28)
            case "quad": return .space(1)
            case "qquad": return .space(2)
            case "!": return .space(0)
            case " ": return .space(0.25)
            default: throw MathError(description: "unknown command \\\(word)")
            }
        }
    }
}

/// MathML Core for the HTML writer.
public enum MathML {
    public static func render(_ node: MathNode, display: Bool, source: String) -> String {
        let attributes = display ? " display=\"block\"" : ""
        return "<math\(attributes)><semantics><mrow>\(element(node, display: display))</mrow>"
            + "<annotation encoding=\"application/x-tex\">\(escape(source))</annotation></semantics></math>"
    }

    static func element(_ node: MathNode, display: Bool) -> String {
        switch node {
        case .identifier(let s): return "<mi>\(escape(s))</mi>"
        case .number(let s): return "<mn>\(escape(s))</mn>"
        case .op(let s):
            let fence = ["(", ")", "[", "]", "{", "}", "|", "‖"].contains(s)
            return fence ? "<mo stretchy=\"false\" lspace=\"0em\" rspace=\"0em\">\(escape(s))</mo>" : "<mo>\(escape(s))</mo>"
        case .fence(let s): return "<mo stretchy=\"true\" lspace=\"0em\" rspace=\"0em\">\(escape(s))</mo>"
        case .text(let s): return s.count == 1 ? "<mi mathvariant=\"normal\">\(escape(s))</mi>" : "<mi>\(escape(s))</mi>"
        case .row(let items):
            var out = ""
            for (i, item) in items.enumerated() {
                let previous = i > 0 ? items[i - 1] : nil
                // A sign (− or + at the start, or after an operator or an opening delimiter) takes no space.
                if case .op(let s) = item, s == "−" || s == "+", Self.opensOperand(previous) {
                    out += "<mo form=\"prefix\" lspace=\"0em\" rspace=\"0em\">\(escape(s))</mo>"
                    continue
                }
                out += element(item, display: display)
                // A thin space between a function name and its argument.
                if case .text(let name) = item, name.count > 1, i + 1 < items.count {
                    switch items[i + 1] {
                    case .identifier, .number, .scripts, .accent, .largeOperator, .fraction: out += "<mspace width=\"0.17em\"></mspace>"
                    default: break
                    }
                }
            }
            return "<mrow>\(out)</mrow>"
        case .scripts(let base, let sub, let sup):
            var under = false
            if case .largeOperator = base { under = display }
            let b = element(base, display: display)
            switch (sub, sup) {
            case (let s?, let p?):
                return under
                    ? "<munderover>\(b)\(element(s, display: display))\(element(p, display: display))</munderover>"
                    : "<msubsup>\(b)\(element(s, display: display))\(element(p, display: display))</msubsup>"
            case (let s?, nil):
                return under ? "<munder>\(b)\(element(s, display: display))</munder>" : "<msub>\(b)\(element(s, display: display))</msub>"
            case (nil, let p?):
                return under ? "<mover>\(b)\(element(p, display: display))</mover>" : "<msup>\(b)\(element(p, display: display))</msup>"
            case (nil, nil): return b
            }
        case .fraction(let a, let b): return "<mfrac>\(element(a, display: display))\(element(b, display: display))</mfrac>"
        case .root(let a): return "<msqrt>\(element(a, display: display))</msqrt>"
        case .accent(let base, let mark):
            let glyph = ["~": "˜", "^": "ˆ", "¯": "¯", "˙": "˙"][mark] ?? mark
            return "<mover accent=\"true\">\(element(base, display: display))<mo>\(escape(glyph))</mo></mover>"
        case .largeOperator(let s): return "<mo largeop=\"true\" movablelimits=\"true\">\(escape(s))</mo>"
        case .space(let em): return "<mspace width=\"\(em)em\"></mspace>"
        }
    }

    /// Whether a sign after `previous` is unary: at the start, after an operator, or after an
    /// opening delimiter or a comma.
    static func opensOperand(_ previous: MathNode?) -> Bool {
        guard let previous else { return true }
        switch previous {
        case .op(let s): return ![")", "]", "}", "|", "‖", "′"].contains(s)
        case .fence(let s): return ["(", "[", "{"].contains(s)
        case .space: return true
        default: return false
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// Pango markup for the PDF writer: letters in italics, scripts raised and lowered at a smaller
/// size, accents as combining marks on their letter, fractions as a/b (the PDF writer stacks a
/// display formula's top-level fractions itself).
public enum MathMarkup {
    /// `size`: the font size in points the formula is set at.
    public static func render(_ node: MathNode, size: Double = 10) -> String {
        func render(_ node: MathNode) -> String { MathMarkup.render(node, size: size) }
        func grouped(_ node: MathNode) -> String { MathMarkup.grouped(node, size: size) }
        switch node {
        case .identifier(let s):
            // Greek capitals and symbols stay upright; Latin and Greek small letters are italic.
            return "<i>\(escape(s))</i>"
        case .number(let s): return escape(s)
        case .op(let s):
            let spaced = ["=", "≠", "≤", "≥", "≈", "∼", "∈", "→", "+", "−", "·", "⊙", "×", "±", "∝"].contains(s)
            if s == "," || s == ";" { return s + "\u{2009}" }
            return spaced ? "\u{2009}\(escape(s))\u{2009}" : escape(s)
        case .text(let s): return escape(s)
        case .row(let items):
            var out = ""
            for (i, item) in items.enumerated() {
                if case .op(let s) = item, s == "−" || s == "+", MathML.opensOperand(i > 0 ? items[i - 1] : nil) {
                    out += escape(s)
                    continue
                }
                out += render(item)
                // A thin space after a function name before its argument's letter.
                if case .text(let name) = item, name.count > 1, i + 1 < items.count {
                    switch items[i + 1] {
                    case .identifier, .number, .scripts, .accent, .fraction: out += "\u{2009}"
                    default: break
                    }
                }
            }
            return out
        case .scripts(let base, let sub, let sup):
            var out = render(base)
            if let sub { out += "<sub>\(render(sub))</sub>" }
            if let sup { out += "<sup>\(render(sup))</sup>" }
            return out
        case .fraction(let a, let b): return "\(grouped(a))/\(grouped(b))"
        case .root(let a): return "√\(grouped(a))"
        case .accent(let base, let mark):
            // A combining mark after its letter, in DejaVu Sans Oblique, whose marks sit on the
            // letter at a readable size (DejaVu Serif's are tiny).
            let combining = ["~": "\u{0303}", "^": "\u{0302}", "¯": "\u{0304}", "˙": "\u{0307}"][mark] ?? ""
            if case .identifier(let s) = base, s.count == 1 {
                return "<span font_family=\"DejaVu Sans\" font_style=\"oblique\">\(escape(s))\(combining)</span>"
            }
            return render(base) + combining
        case .largeOperator(let s): return "<span size=\"larger\">\(escape(s))</span>"
        case .fence(let s): return escape(s)
        case .space(let em): return em >= 1 ? String(repeating: "\u{2003}", count: Int(em)) : em > 0 ? "\u{2009}" : ""
        }
    }

    /// Parenthesised unless a single atom.
    static func grouped(_ node: MathNode, size: Double) -> String {
        switch node {
        case .identifier, .number, .text, .scripts, .accent: return render(node, size: size)
        default: return "(\(render(node, size: size)))"
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
