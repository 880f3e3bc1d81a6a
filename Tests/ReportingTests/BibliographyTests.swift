import Foundation
import Reporting
import Testing

@Suite("Bibliography and citations")
struct BibliographyTests {
    static let bib = """
        % a comment line, ignored
        @string{iclr = "International Conference on Learning Representations"}

        @inproceedings{louizos2018,
          author = {Louizos, Christos and Welling, Max and Kingma, Diederik P.},
          title = {Learning Sparse Neural Networks through {L0} Regularization},
          booktitle = iclr # " (ICLR)",
          year = 2018,
          eprint = {1712.01312}, archivePrefix = {arXiv}
        }
        @article{lecun1998,
          author = "LeCun, Yann and Bottou, L{\\'e}on",
          title = "Gradient-Based Learning {Applied} to Document Recognition",
          journal = {Proceedings of the IEEE}, volume = {86}, number = {11}, pages = {2278--2324},
          year = {1998}, doi = {10.1109/5.726791},
        }
        @misc{han2015a, author = {Song Han and Jeff Pool}, title = {Learning both Weights}, year = {2015}}
        @misc{han2015b, author = {Song Han and Jeff Pool}, title = {Deep Compression}, year = {2015},
          url = {https://example.org/deep}}
        """

    @Test("BibTeX entries: braces, quotes, @string macros, # joins, accents, dashes and names")
    func parse() throws {
        let bibliography = try Bibliography.parse(Self.bib, file: "refs.bib")
        #expect(bibliography.keys == ["louizos2018", "lecun1998", "han2015a", "han2015b"])
        let paper = try #require(bibliography["louizos2018"])
        #expect(paper.type == "inproceedings" && paper.line == 4)
        #expect(paper["title"] == "Learning Sparse Neural Networks through L0 Regularization")
        #expect(paper["booktitle"] == "International Conference on Learning Representations (ICLR)")
        #expect(paper.names == ["Christos Louizos", "Max Welling", "Diederik P. Kingma"])
        #expect(paper.label == "Louizos et al., 2018" && paper.url == "https://arxiv.org/abs/1712.01312")
        let lecun = try #require(bibliography["lecun1998"])
        #expect(lecun.names == ["Yann LeCun", "Léon Bottou"] && lecun.label == "LeCun and Bottou, 1998")
        #expect(lecun["pages"] == "2278–2324" && lecun.url == "https://doi.org/10.1109/5.726791")
        #expect(bibliography["han2015a"]?.familyNames == ["Han", "Pool"])
    }

    @Test(
        "Bad BibTeX fails at its file and line",
        arguments: [
            ("@misc{a, title = {open", 1, "'{' without a closing '}'"),
            ("@misc{a, title = x}", 1, "unknown @string macro 'x'"),
            ("\n\n@misc{a, title = {x}}\n@misc{a, title = {y}}", 4, "BibTeX key 'a' is defined twice"),
            ("@misc{a title = {x}}", 1, "expected ','"),
        ])
    func badFiles(text: String, line: Int, problem: String) {
        #expect {
            try Bibliography.parse(text, file: "refs.bib")
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.file == "refs.bib" && error.line == line && error.problem.contains(problem)
        }
    }

    static func document(_ body: String) throws -> Document {
        try TemplateReader.read("---\ntitle: t\n---\n\n" + body, file: "t.md")
    }

    @Test("[@key] and [@a; @b] become author–year links; [REFERENCES] lists the cited works sorted, with a, b where labels clash")
    func citations() throws {
        let bibliography = try Bibliography.parse(Self.bib, file: "refs.bib")
        let document = try Self.document("As shown [@louizos2018], and [@han2015b; @han2015a; @lecun1998].\n\n## References\n\n[REFERENCES]\n")
        let resolved = try Passes.resolveCitations(document, bibliography: bibliography, file: "t.md")
        guard case .paragraph(let content) = resolved.blocks[0] else {
            Issue.record("no paragraph")
            return
        }
        #expect(content.contains(.link(url: "#ref-louizos2018", content: [.text("Louizos et al., 2018")])))
        #expect(content.contains(.link(url: "#ref-han2015a", content: [.text("Han and Pool, 2015a")])))
        #expect(content.contains(.link(url: "#ref-han2015b", content: [.text("Han and Pool, 2015b")])))
        #expect(content.plainText == "As shown (Louizos et al., 2018), and (Han and Pool, 2015b; Han and Pool, 2015a; LeCun and Bottou, 1998).")
        guard case .references(let references) = resolved.blocks.last else {
            Issue.record("no references")
            return
        }
        #expect(references.map(\.id) == ["ref-han2015a", "ref-han2015b", "ref-lecun1998", "ref-louizos2018"])
        #expect(
            references[2].content.plainText
                == "Yann LeCun and Léon Bottou (1998). Gradient-Based Learning Applied to Document Recognition. Proceedings of the IEEE, 86(11), 2278–2324. https://doi.org/10.1109/5.726791"
        )
        let context = ReportContext(date: "1 May 2018", provenance: [("commit", "abc123")], isoDate: "2018-05-01T00:00:00Z")
        let html = try HTMLWriter.write(resolved, context: context)
        #expect(html.contains("<li id=\"ref-louizos2018\">") && html.contains("<a href=\"https://arxiv.org/abs/1712.01312\">"))
        #expect(html.contains("<a href=\"#ref-han2015a\">Han and Pool, 2015a</a>"))
        // The PDF's citations jump to the references, and the references' URLs are links.
        let pdf = String(decoding: try PDFWriter.write(resolved, context: context), as: UTF8.self)
        #expect(pdf.contains("ref-louizos2018") && pdf.contains("https://arxiv.org/abs/1712.01312"))
        // Without a [REFERENCES] block the list goes at the end under its own heading.
        let appended = try Passes.resolveCitations(try Self.document("See [@lecun1998].\n"), bibliography: bibliography, file: "t.md")
        #expect(appended.blocks.count == 3 && appended.blocks[1] == .heading(level: 2, id: "sec-references", content: [.text("References")]))
        // A bracket that is not a citation stays text.
        let plain = try Self.document("Interval [0, 1] and [@ not a key] and e-mail me@example.org.\n")
        #expect(try Passes.resolveCitations(plain, bibliography: bibliography, file: "t.md") == plain)
    }

    @Test("An unknown key, or a citation without a bibliography, fails at the template's line")
    func unknownKey() throws {
        let bibliography = try Bibliography.parse(Self.bib, file: "refs.bib")
        let document = try Self.document("Text.\n\nCited [@nobody2020] here.\n")
        #expect(throws: TemplateError(file: "t.md", line: 7, problem: "unknown citation key @nobody2020: it is not in the bibliography")) {
            try Passes.resolveCitations(document, bibliography: bibliography, file: "t.md")
        }
        #expect {
            try Passes.resolveCitations(document, bibliography: nil, file: "t.md")
        } throws: { ($0 as? TemplateError)?.problem.contains("names no bibliography") ?? false }
    }
}
