import Foundation
import Reporting
import Testing

@Suite struct ReaderTests {
    static let small = """
        ---
        title: A small report
        subtitle: "every feature, once"
        authors: [Ada, Grace]
        profile: smoke
        parameters:
          seed: 3
        ---

        [TOC]

        ## Intro {#sec-intro}

        Some *emphasis*, **strength**, `code`, ~~gone~~ and a [link](https://example.org).
        See @fig-curve and @tab-numbers; the value is {{ answer }}.[^note]

        ```{.figure #fig-curve source=curve}
        A rising *line*.
        ```

        ### Details

        1. one
        2. two

        - a
        - b

        > quoted, see @sec-intro

        | name | value |
        |:-----|------:|
        | x    | 1     |

        ```{.table #tab-numbers source=numbers}
        Numbers.
        ```

            R = L + λ·Σ π

        [^note]: A footnote with {{ answer }}.
        """

    @Test func frontMatterAndBlocks() throws {
        let document = try TemplateReader.read(Self.small, file: "small.md")
        #expect(document.metadata.title == "A small report")
        #expect(document.metadata.subtitle == "every feature, once")
        #expect(document.metadata.authors == ["Ada", "Grace"])
        #expect(document.metadata.profile == "smoke")
        #expect(document.metadata.fields["parameters.seed"] == "3")
        #expect(document.blocks.first == .tableOfContents)
        #expect(document.blocks[1] == .heading(level: 2, id: "sec-intro", content: [.text("Intro")]))
        guard case .paragraph(let paragraph) = document.blocks[2] else {
            Issue.record("no paragraph")
            return
        }
        #expect(paragraph.contains(.crossReference(id: "fig-curve", line: 15)))
        #expect(paragraph.contains(.value(key: "answer", line: 15)))
        #expect(paragraph.contains(.footnoteReference(label: "1", number: 1)))
        #expect(paragraph.contains(.strikethrough([.text("gone")])))
        guard case .cell(let cell) = document.blocks[3] else {
            Issue.record("no cell")
            return
        }
        #expect(cell.kind == "figure" && cell.id == "fig-curve" && cell.attributes == ["source": "curve"] && cell.line == 17)
        #expect(cell.caption == [.text("A rising "), .emphasis([.text("line")]), .text(".")])
        #expect(document.blocks[4] == .heading(level: 3, id: "sec-details", content: [.text("Details")]))
        #expect(document.footnotes.count == 1 && document.footnotes[0].number == 1)
        let tables = document.blocks.compactMap { if case .table(let t) = $0 { t } else { nil } }
        #expect(tables.first?.alignments == [.left, .right])
        #expect(tables.first?.rows == [[[.text("x")], [.text("1")]]])
    }

    @Test func numberingAndCrossReferences() throws {
        let document = try Passes.resolveCrossReferences(Passes.number(TemplateReader.read(Self.small, file: "small.md")), file: "small.md")
        guard case .paragraph(let paragraph) = document.blocks[2] else {
            Issue.record("no paragraph")
            return
        }
        #expect(paragraph.contains(.link(url: "#fig-curve", content: [.text("Figure 1")])))
        #expect(paragraph.contains(.link(url: "#tab-numbers", content: [.text("Table 1")])))
        #expect(Passes.outline(document).map(\.title) == ["Intro", "Details"])
    }

    @Test("Formulas between $ and $$ become maths: MathML for the HTML, Pango markup for the PDF; code is left alone; a bad one fails at its line")
    func maths() throws {
        let markdown = """
            ---
            title: T
            ---
            Inline $\\tilde\\theta_g \\odot z$ and `$not maths$`, and $5 and $6 are money.

            $$P(z \\neq 0) = \\sigma\\left(\\log\\alpha - \\beta \\log\\frac{-\\gamma}{\\zeta}\\right)$$
            """
        let document = try TemplateReader.read(markdown, file: "m.md")
        guard case .paragraph(let first) = document.blocks[0], case .paragraph(let second) = document.blocks[1] else {
            Issue.record("no paragraphs")
            return
        }
        #expect(first.contains(.math(tex: "\\tilde\\theta_g \\odot z", display: false)))
        #expect(first.contains(.code("$not maths$")))
        #expect(first.plainText.contains("$5 and $6 are money"))
        #expect(second.count == 1)
        let tree = try MathParser.parse("\\tilde\\theta_g \\odot z")
        #expect(
            tree
                == .row([.scripts(base: .accent(.identifier("θ"), "~"), sub: .identifier("g"), sup: nil), .op("⊙"), .identifier("z")]))
        let mathML = MathML.render(tree, display: false, source: "t")
        #expect(mathML.contains("<msub><mover accent=\"true\"><mi>θ</mi><mo>˜</mo></mover><mi>g</mi></msub>"))
        #expect(
            MathMarkup.render(tree)
                == "<span font_family=\"DejaVu Sans\" font_style=\"oblique\">θ\u{0303}</span><sub><i>g</i></sub>\u{2009}⊙\u{2009}<i>z</i>")
        guard case .math(let tex, true) = second[0] else {
            Issue.record("no display formula")
            return
        }
        let display = MathML.render(try MathParser.parse(tex), display: true, source: tex)
        #expect(display.hasPrefix("<math display=\"block\">") && display.contains("<mfrac>") && display.contains("stretchy=\"true\""))
        // A bad formula names the template line and the problem.
        #expect(throws: TemplateError.self) { try TemplateReader.read("---\ntitle: T\n---\nok\n\n$\\frac{a}$ here\n", file: "m.md") }
        do {
            _ = try TemplateReader.read("---\ntitle: T\n---\nok\n\n$\\nosuch x$ here\n", file: "m.md")
        } catch let error as TemplateError {
            #expect(error.description == "m.md:6: formula $\\nosuch x$: unknown command \\nosuch")
        }
    }

    @Test("A number and its unit are joined by a no-break space; words that start like a unit are not")
    func unitsStayWithTheirNumbers() {
        #expect(Passes.bindUnits("1.45 % after 0.5 s and 200 epochs") == "1.45\u{00A0}% after 0.5\u{00A0}s and 200\u{00A0}epochs")
        #expect(Passes.bindUnits("2 sweeps, 3 ms, 10 minutes") == "2 sweeps, 3\u{00A0}ms, 10 minutes")
        #expect(Passes.bindUnits("no numbers % here") == "no numbers % here")
    }

    @Test("A paragraph 'Table: …' after a table is its caption; the table is numbered with the table cells and can be referenced")
    func tableCaption() throws {
        let markdown = """
            ---
            title: T
            ---
            See @tab-plain and @tab-cell.

            | a | b |
            |---|---|
            | 1 | 2 |

            Table: Two *numbers*. {#tab-plain}

            ```{.table #tab-cell source=numbers}
            A cell.
            ```

            | c |
            |---|
            | 3 |
            """
        let document = try Passes.resolveCrossReferences(Passes.number(TemplateReader.read(markdown, file: "t.md")), file: "t.md")
        let tables = document.blocks.compactMap { if case .table(let t) = $0 { t } else { nil } }
        #expect(tables.count == 2)
        #expect(tables[0].id == "tab-plain" && tables[0].number == 1)
        #expect(tables[0].caption == [.text("Two "), .emphasis([.text("numbers")]), .text(".")])
        #expect(tables[1].number == nil && tables[1].caption.isEmpty)
        guard case .paragraph(let paragraph) = document.blocks[0] else {
            Issue.record("no paragraph")
            return
        }
        #expect(paragraph.contains(.link(url: "#tab-plain", content: [.text("Table 1")])))
        #expect(paragraph.contains(.link(url: "#tab-cell", content: [.text("Table 2")])))
    }

    @Test(
        "Bad templates fail at file:line with the problem",
        arguments: [
            ("no front matter\n", 1, "missing front matter"),
            ("---\ntitle: x\n", 1, "front matter is not closed"),
            ("---\ntitle: x\nthis is not a pair\n---\n", 3, "expected 'key: value'"),
            ("---\nsubtitle: y\n---\n", 1, "needs a 'title: …'"),
            ("---\ntitle: x\ntitle: y\n---\n", 3, "'title' is given twice"),
            ("---\ntitle: x\n---\n\n```{.chart #fig-a}\nc\n```\n", 5, "unknown cell type '.chart'"),
            ("---\ntitle: x\n---\n\n```{.figure source=a}\nc\n```\n", 5, "needs an id like #fig-name"),
            ("---\ntitle: x\n---\n\n```{.figure #fig-a}\nc\n```\n\n```{.figure #fig-a}\nd\n```\n", 9, "duplicate id 'fig-a' (first used on line 5)"),
            ("---\ntitle: x\n---\n\ntext\n<div>raw</div>\n", 6, "raw HTML is not supported"),
            ("---\ntitle: x\n---\n\n![pic](a.png)\n", 5, "images are not supported"),
            ("---\ntitle: x\n---\n\nopen {{ value\n", 5, "'{{' without a closing '}}'"),
            ("---\ntitle: x\n---\n\n```{.when colour=red}\nc\n```\n", 5, "unknown condition 'colour'; known: dataset"),
            ("---\ntitle: x\n---\n\n```{.when dataset}\nc\n```\n", 5, "a conditional block is headed {.when key=value}"),
            ("---\ntitle: x\n---\n\n````{.when dataset=mnist}\nok\n\n```{.chart #fig-a}\n```\n````\n", 8, "unknown cell type '.chart'"),
            ("---\ntitle: x\n---\n\n```{.when dataset=mnist}\nA[^n].\n\n[^n]: note\n```\n", 5, "footnotes cannot be defined inside"),
        ])
    func badTemplates(text: String, line: Int, problem: String) {
        #expect {
            try TemplateReader.read(text, file: "t.md", conditions: ["dataset": "mnist"])
        } throws: { error in
            guard let error = error as? TemplateError else { return false }
            return error.file == "t.md" && error.line == line && error.problem.contains(problem)
        }
    }

    @Test("A {.when key=value} block is read as markdown when the condition holds, and left out otherwise")
    func conditionalBlocks() throws {
        let text =
            "---\ntitle: x\n---\n\nBefore.\n\n```{.when dataset=mnist}\n## On digits {#sec-d}\n\nSee @sec-d, **bold**.\n```\n\n```{.when dataset=fashion-mnist}\nGarments.\n```\n"
        let mnist = try TemplateReader.read(text, file: "t.md", conditions: ["dataset": "mnist"])
        #expect(mnist.blocks.count == 3)
        #expect(mnist.blocks[1] == .heading(level: 2, id: "sec-d", content: [.text("On digits")]))
        guard case .paragraph(let inner) = mnist.blocks[2] else {
            Issue.record("\(mnist.blocks)")
            return
        }
        #expect(inner.contains(.crossReference(id: "sec-d", line: 10)) && inner.contains(.strong([.text("bold")])))
        let fashion = try TemplateReader.read(text, file: "t.md", conditions: ["dataset": "fashion-mnist"])
        #expect(fashion.blocks == [.paragraph([.text("Before.")]), .paragraph([.text("Garments.")])])
    }

    @Test func danglingCrossReference() throws {
        let document = try Passes.number(TemplateReader.read("---\ntitle: x\n---\n\nSee\n@fig-missing here.\n", file: "t.md"))
        #expect(
            throws: TemplateError(file: "t.md", line: 6, problem: "dangling cross-reference @fig-missing: no figure, table or section has that id")
        ) {
            try Passes.resolveCrossReferences(document, file: "t.md")
        }
    }

    @Test func unreadableTemplate() {
        #expect {
            try TemplateReader.read(contentsOf: URL(fileURLWithPath: "/nonexistent/report.md"))
        } throws: { ($0 as? TemplateError).map { $0.file == "/nonexistent/report.md" && $0.problem.contains("cannot read") } ?? false }
    }
}
