import CCairo
import Foundation
import Plotting

/// How each kind of block is laid out on the page.
extension PDFPass {
    func titleBlock() {
        let meta = document.metadata
        paragraph(StyledText(plain: meta.title), x: left, width: textWidth, family: sans, size: 19, bold: true, after: 6)
        if let subtitle = meta.subtitle {
            paragraph(StyledText(plain: subtitle), x: left, width: textWidth, family: body, size: 12, color: muted, after: 4)
        }
        if !meta.authors.isEmpty {
            paragraph(
                StyledText(plain: meta.authors.joined(separator: ", ")), x: left, width: textWidth, family: sans, size: 9, color: muted, after: 2)
        }
        var facts = [context.date]
        if let profile = meta.profile { facts.append("profile: \(profile)") }
        if let dataset = meta.dataset { facts.append("dataset: \(dataset)") }
        if let generator = context.generator { facts.append("computed with \(generator)") }
        paragraph(StyledText(plain: facts.joined(separator: " · ")), x: left, width: textWidth, family: sans, size: 9, color: muted, after: 14)
    }

    func heading(_ level: Int, id: String, content: [Inline], x: Double, width: Double, keepingWith next: Block? = nil) {
        let size = [1: 16.0, 2: 13.5, 3: 11.5][level] ?? 10.5
        y += level <= 2 ? 10 : 6
        ensure(size * 1.3 + leadHeight(of: next, width: width))  // keep with what follows
        destination(id, x: x)
        if drawing {
            let parent: Int32 = level <= 2 ? 0 : outlineParent
            let outlineID = cairo_pdf_surface_add_outline(surface, parent, content.plainText, "dest='\(id)'", CAIRO_PDF_OUTLINE_FLAG_OPEN)
            if level <= 2 { outlineParent = outlineID }
        }
        paragraph(StyledText(content, size: size), x: x, width: width, family: sans, size: size, bold: true, after: 4)
    }

    /// Lays out `block`; `next` is the block after it, which a heading keeps on its page.
    func render(_ block: Block, x: Double, width: Double, next: Block? = nil) {
        switch block {
        case .heading(let level, let id, let content):
            heading(level, id: id, content: content, x: x, width: width, keepingWith: next)
        case .paragraph(let content):
            if content.count == 1, case .math(let tex, true) = content[0] {
                // A display formula: centred, a little larger, its top-level fractions stacked
                // when it fits on one line; otherwise flowed as text.
                y += 3
                if let node = try? MathParser.parse(tex), displayFormula(node, x: x, width: width, size: bodySize * 1.1) {
                    y += 10
                } else {
                    paragraph(
                        StyledText(content, size: bodySize * 1.1), x: x, width: width, family: body, size: bodySize * 1.1,
                        alignment: PANGO_ALIGN_CENTER, after: 10)
                }
            } else {
                paragraph(StyledText(content, size: bodySize), x: x, width: width, family: body, size: bodySize, after: 7)
            }
        case .list(let ordered, let start, let items):
            for (i, item) in items.enumerated() {
                // Room for the item's first line, so that its marker and that line share a page.
                ensure(bodySize * 1.5)
                if drawing {
                    let markerLayout = makeLayout()
                    setFont(markerLayout, body, bodySize)
                    pango_layout_set_text(markerLayout, ordered ? "\(start + i)." : "•", -1)
                    setColor(Color(hex: 0x1D1D1F))
                    cairo_move_to(cr, x + 2, y + bodySize * 0.09)
                    pango_cairo_show_layout(cr, markerLayout)
                    g_object_unref(UnsafeMutableRawPointer(markerLayout))
                }
                render(itemBlocks: item, x: x + 16, width: width - 16)
            }
            y += 3
        case .quote(let blocks):
            for b in blocks {
                if case .paragraph(let content) = b {
                    paragraph(
                        StyledText(content, size: bodySize), x: x + 14, width: width - 14, family: body, size: bodySize, italic: true, color: muted,
                        after: 7)
                } else {
                    render(b, x: x + 14, width: width - 14)
                }
            }
        case .code(_, let text):
            y += 2
            let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
            paragraph(StyledText(plain: trimmed), x: x + 4, width: width - 8, family: mono, size: 8.2, lineBackground: Color(hex: 0xF4F4F6), after: 9)
        case .rule:
            y += 4
            if drawing {
                setColor(Color(hex: 0xD9D9DE))
                cairo_set_line_width(cr, 0.6)
                cairo_move_to(cr, x, y)
                cairo_line_to(cr, x + width, y)
                cairo_stroke(cr)
            }
            y += 8
        case .tableOfContents:
            contents(x: x, width: width)
        case .references(let references):
            for reference in references {
                ensure(bodySize * 1.5)
                destination(reference.id, x: x)
                paragraph(StyledText(reference.content, size: bodySize * 0.92), x: x, width: width, family: body, size: bodySize * 0.92, after: 4)
            }
        case .table(let table):
            self.table(table, x: x, width: width)
        case .figure(let figure):
            self.figure(figure, x: x, width: width)
        case .cell(let cell):
            preconditionFailure("cell \(cell.id) reached the PDF writer unevaluated")
        }
    }

    func render(itemBlocks: [Block], x: Double, width: Double) {
        for (i, b) in itemBlocks.enumerated() {
            if case .paragraph(let content) = b {
                paragraph(
                    StyledText(content, size: bodySize), x: x, width: width, family: body, size: bodySize, after: i == itemBlocks.count - 1 ? 2 : 5)
            } else {
                render(b, x: x, width: width)
            }
        }
    }

    func contents(x: Double, width: Double) {
        let entries = Passes.contents(document)
        guard !entries.isEmpty else { return }
        paragraph(StyledText(plain: "Contents"), x: x, width: width, family: sans, size: 11, bold: true, after: 3)
        for entry in entries {
            let indent = entry.level == 3 ? 14.0 : 0
            let number = knownPages[entry.id].map(String.init) ?? ""
            // The row's page break first, so that its number is drawn beside it, not where it was.
            ensure(9.5 * 1.18 + 1)
            let top = y
            var text = StyledText(plain: entry.title)
            text.links = [(0..<entry.title.utf8.count, .destination(entry.id))]
            paragraph(text, x: x + indent, width: width - indent - 30, family: sans, size: 9.5, after: 1)
            if drawing {
                let pageLayout = makeLayout()
                setFont(pageLayout, sans, 9.5)
                pango_layout_set_text(pageLayout, number, -1)
                var logical = PangoRectangle()
                pango_layout_get_extents(pageLayout, nil, &logical)
                setColor(Color(hex: 0x1D1D1F))
                cairo_move_to(cr, x + width - Double(logical.width) / Double(PANGO_SCALE), top + 9.5 * 0.09)
                pango_cairo_show_layout(cr, pageLayout)
                g_object_unref(UnsafeMutableRawPointer(pageLayout))
            }
        }
        y += 10
    }

    /// A word cut after each hyphen that a letter follows: where the line breaker may end a line.
    static func breakablePieces(_ word: Substring) -> [String] {
        var pieces = [""]
        for character in word {
            if pieces[pieces.count - 1].last == "-", character.isLetter { pieces.append("") }
            pieces[pieces.count - 1].append(character)
        }
        return pieces
    }

    func captionText(_ label: String?, _ content: [Inline]) -> StyledText {
        var text = StyledText(plain: "")
        if let label { text.appendMarkup("<b>", "</b> ") { $0.appendText(label) } }
        text.append(content, size: 8.5)
        return text
    }

    func caption(_ label: String?, _ content: [Inline], x: Double, width: Double, after: Double) {
        paragraph(captionText(label, content), x: x, width: width, family: sans, size: 8.5, color: muted, after: after)
    }

    /// The room `block` needs on the page where it starts: a whole figure with its caption (figures do
    /// not split), else three lines of text.
    func leadHeight(of block: Block?, width: Double) -> Double {
        if case .figure(let figure) = block {
            let (_, h, captionHeight) = figureSize(figure, width: width)
            return 6 + h + captionHeight
        }
        return 3 * bodySize * 1.4
    }

    /// A figure's drawn width and height (scaled to fit the text width and the page) and its caption's height.
    func figureSize(_ figure: FigureBlock, width: Double) -> (w: Double, h: Double, captionHeight: Double) {
        let size = figure.drawing.size
        var scale = min(1, width / size.width)
        let captionHeight = measureHeight(StyledText(figure.caption, size: 8.5), width: width, family: sans, size: 8.5) + 12
        scale = min(scale, (bottomLimit - top - captionHeight) / size.height)
        return (size.width * scale, size.height * scale, captionHeight)
    }

    /// A display formula on one line, centred: runs of Pango-typeset maths side by side with its
    /// top-level fractions stacked (numerator over a rule at the maths axis over denominator, each
    /// at 85 % size). False, drawing nothing, when it has no fraction or does not fit the width.
    func displayFormula(_ node: MathNode, x: Double, width: Double, size: Double) -> Bool {
        guard case .row(let items) = node, items.contains(where: { if case .fraction = $0 { true } else { false } }) else { return false }
        // Pieces: a run of markup, or a fraction's two parts.
        enum Piece {
            case run(String)
            case fraction(String, String)
            /// A `\left`/`\right` delimiter, drawn as tall as the formula.
            case fence(String)
        }
        var pieces: [Piece] = []
        var run: [MathNode] = []
        func flush() {
            guard !run.isEmpty else { return }
            // After a fraction or a delimiter, a leading sign is binary: an empty atom stands before it.
            var markup = MathMarkup.render(.row((pieces.isEmpty ? [] : [.text("")]) + run), size: size)
            // A function name before a fraction keeps its thin space.
            if case .text(let name)? = run.last, name.count > 1 { markup += "\u{2009}" }
            pieces.append(.run(markup))
            run = []
        }
        for item in items {
            if case .fraction(let a, let b) = item {
                flush()
                pieces.append(.fraction(MathMarkup.render(a, size: size * 0.85), MathMarkup.render(b, size: size * 0.85)))
            } else if case .fence(let symbol) = item {
                flush()
                pieces.append(.fence(MathMarkup.escape(symbol)))
            } else {
                run.append(item)
            }
        }
        flush()
        let scale = Double(PANGO_SCALE)
        // Width, ascent and descent of a piece of markup, in points.
        func measure(_ markup: String, _ pointSize: Double) -> (w: Double, ascent: Double, descent: Double) {
            setFont(layout, body, pointSize)
            pango_layout_set_width(layout, -1)
            pango_layout_set_markup(layout, "<span font_family=\"DejaVu Serif\">\(markup)</span>", -1)
            var logical = PangoRectangle()
            pango_layout_get_extents(layout, nil, &logical)
            let baseline = Double(pango_layout_get_baseline(layout)) / scale
            return (Double(logical.width) / scale, baseline, Double(logical.height) / scale - baseline)
        }
        let axis = size * 0.27
        let gap = size * 0.12
        var boxes: [(w: Double, ascent: Double, descent: Double)] = []
        for piece in pieces {
            switch piece {
            case .run(let markup): boxes.append(measure(markup, size))
            case .fraction(let a, let b):
                let (top, bottom) = (measure(a, size * 0.85), measure(b, size * 0.85))
                boxes.append((max(top.w, bottom.w) + size * 0.3, axis + gap + top.ascent + top.descent, bottom.ascent + bottom.descent + gap - axis))
            case .fence: boxes.append((0, 0, 0))
            }
        }
        // Delimiters as tall as the tallest fraction (up to twice the text size), centred on the axis.
        let plain = measure("x", size)
        let reach = max(boxes.map(\.ascent).max() ?? 0, plain.ascent) - axis
        let depth = max(boxes.map(\.descent).max() ?? 0, plain.descent) + axis
        let fenceSize = size * min(2, max(1, 2 * max(reach, depth) / (plain.ascent + plain.descent)))
        for (index, piece) in pieces.enumerated() {
            if case .fence(let symbol) = piece {
                let box = measure(symbol, fenceSize)
                let shift = (box.ascent - box.descent) / 2 - axis
                boxes[index] = (box.w, box.ascent - shift, box.descent + shift)
            }
        }
        let total = boxes.reduce(0) { $0 + $1.w }
        guard total <= width else { return false }
        let ascent = boxes.map(\.ascent).max() ?? size
        let descent = boxes.map(\.descent).max() ?? 0
        ensure(ascent + descent + 4)
        let baseline = y + ascent + 2
        var pen = x + (width - total) / 2
        func show(_ markup: String, _ pointSize: Double, left: Double, baselineY: Double) {
            setFont(layout, body, pointSize)
            pango_layout_set_width(layout, -1)
            pango_layout_set_markup(layout, "<span font_family=\"DejaVu Serif\">\(markup)</span>", -1)
            cairo_move_to(cr, left, baselineY - Double(pango_layout_get_baseline(layout)) / scale)
            pango_cairo_show_layout(cr, layout)
        }
        if drawing { setColor(Color(hex: 0x1D1D1F)) }
        for (piece, box) in zip(pieces, boxes) {
            if drawing {
                switch piece {
                case .run(let markup): show(markup, size, left: pen, baselineY: baseline)
                case .fraction(let a, let b):
                    let (top, bottom) = (measure(a, size * 0.85), measure(b, size * 0.85))
                    let ruleY = baseline - axis
                    show(a, size * 0.85, left: pen + (box.w - top.w) / 2, baselineY: ruleY - gap - top.descent)
                    show(b, size * 0.85, left: pen + (box.w - bottom.w) / 2, baselineY: ruleY + gap + bottom.ascent)
                    cairo_set_line_width(cr, size * 0.05)
                    cairo_move_to(cr, pen + size * 0.1, ruleY)
                    cairo_line_to(cr, pen + box.w - size * 0.1, ruleY)
                    cairo_stroke(cr)
                case .fence(let symbol):
                    // Its centre on the maths axis.
                    let glyph = measure(symbol, fenceSize)
                    show(symbol, fenceSize, left: pen, baselineY: baseline - axis + (glyph.ascent - glyph.descent) / 2)
                }
            }
            pen += box.w
        }
        y = baseline + descent + 2
        return true
    }

    /// A figure may shrink by this share to fit what is left of a page.
    static let figureShrink = 0.1

    /// Whether `figure` fits in what is left of the page (shrunk by up to `figureShrink`).
    func fits(_ figure: FigureBlock, width: Double) -> Bool {
        let (_, h, captionHeight) = figureSize(figure, width: width)
        return y <= top || y + 6 + h * (1 - Self.figureShrink) + captionHeight <= bottomLimit
    }

    /// A figure where it comes when it fits; otherwise (at the top level) it waits for the next
    /// page while the text after it fills this one, as do the figures after it, in order.
    func figure(_ figure: FigureBlock, x: Double, width: Double) {
        if topLevel && (!deferred.isEmpty || !fits(figure, width: width)) {
            deferred.append((figure, x, width))
            return
        }
        place(figure, x: x, width: width)
    }

    /// Places the deferred figures that fit, in order; with `all`, every one (breaking pages).
    func placeDeferredFigures(all: Bool) {
        while let first = deferred.first {
            if !fits(first.figure, width: first.width) {
                guard all else { return }
                newPage()
            }
            deferred.removeFirst()
            place(first.figure, x: first.x, width: first.width)
        }
    }

    func place(_ figure: FigureBlock, x: Double, width: Double) {
        var (w, h, captionHeight) = figureSize(figure, width: width)
        // Shrunk a little when that keeps it on this page.
        let available = bottomLimit - y - 6 - captionHeight
        if y > top, h > available, h * (1 - Self.figureShrink) <= available { (w, h) = (w * available / h, available) }
        let scale = w / figure.drawing.size.width
        y += 6
        ensure(h + captionHeight)
        destination(figure.id, x: x)
        if drawing {
            cairo_save(cr)
            cairo_translate(cr, x + (width - w) / 2, y)
            cairo_scale(cr, scale, scale)
            FigureRenderer.draw(figure.drawing, onCairoContext: cr)
            cairo_restore(cr)
        }
        y += h + 4
        caption("Figure \(figure.number).", figure.caption, x: x, width: width, after: 12)
    }

    func table(_ table: Table, x: Double, width: Double) {
        let size = 8.3
        let padding = 5.0
        let columns = max(table.header.count, table.rows.map(\.count).max() ?? 0)
        guard columns > 0 else { return }
        let allRows = (table.header.isEmpty ? [] : [table.header]) + table.rows
        let hasHeader = !table.header.isEmpty
        func isHeader(_ r: Int) -> Bool { r == 0 && hasHeader }
        let singleLine = [false, true].map { measureHeight(StyledText(plain: "Xg"), width: 1000, family: sans, size: size, bold: $0) }
        var cellWidth = allRows.map { _ in [Double](repeating: 0, count: columns) }
        var natural = [Double](repeating: 20, count: columns)
        var body = [Double](repeating: 20, count: columns)
        var minimum = [Double](repeating: 20, count: columns)
        for (r, row) in allRows.enumerated() {
            for (c, cell) in row.enumerated() {
                let bold = isHeader(r)
                let whole = measureWidth(StyledText(cell, size: size), family: sans, size: size, bold: bold) + 2 * padding
                cellWidth[r][c] = whole
                natural[c] = max(natural[c], whole)
                if !bold { body[c] = max(body[c], whole) }
                // Pango breaks a word after a hyphen followed by a letter (a run id), not by a digit
                // ("20-50-800-500"), so those pieces are what a column needs.
                for word in cell.plainText.split(separator: " ").flatMap(Self.breakablePieces) {
                    minimum[c] = max(minimum[c], measureWidth(StyledText(plain: word), family: sans, size: size, bold: bold) + 2 * padding)
                }
            }
        }
        // Four levels: what a column wants (its longest cell), what its body wants (its longest body
        // cell), what it should get if it can be helped (a body cell of up to 64 points unwrapped), and
        // what it needs (its longest word). The widest level that fits is taken, and the width left
        // over goes towards the level above. A header wraps before a body cell does: its words stack
        // readably, a method name broken over three lines does not.
        body = body.indices.map { max(minimum[$0], body[$0]) }
        let preferred = natural.indices.map { max(minimum[$0], min(body[$0], 64)) }
        func grow(from base: [Double], towards want: [Double]) -> [Double] {
            // Widen, one move at a time, the column whose widening to one of its cells' natural widths
            // saves the most table height per point (a "0.58 (39)" unwrapped costs a few points; a long
            // method name wraps anyway); what is left when no move saves height goes towards `want` in
            // proportion.
            var grown = base
            var spare = width - base.reduce(0, +)
            func measured(_ c: Int, _ w: Double) -> [Double] {
                allRows.enumerated().map { r, row in
                    c < row.count
                        ? measureHeight(StyledText(row[c], size: size), width: w - 2 * padding, family: sans, size: size, bold: isHeader(r)) : 0
                }
            }
            var heights = (0..<columns).map { measured($0, grown[$0]) }
            // The table's height (its rows' tallest cells summed) with column `c`'s cells `column` high.
            func total(replacing c: Int? = nil, with column: [Double] = []) -> Double {
                allRows.indices.map { r in (0..<columns).map { $0 == c ? column[r] : heights[$0][r] }.max()! }.reduce(0, +)
            }
            while spare > 0.5 {
                let now = total()
                var best: (score: Double, c: Int, w: Double)?
                for c in 0..<columns {
                    let limit = min(want[c], grown[c] + spare)
                    for w in Set(allRows.indices.map { cellWidth[$0][c] }) where w > grown[c] + 0.01 && w <= limit + 0.01 {
                        let column = allRows.indices.map { cellWidth[$0][c] <= w ? singleLine[isHeader($0) ? 1 : 0] : heights[c][$0] }
                        let score = (now - total(replacing: c, with: column)) / (w - grown[c])
                        if score > 1e-6, score > best?.score ?? 0 { best = (score, c, w) }
                    }
                }
                guard let move = best else { break }
                spare -= move.w - grown[move.c]
                grown[move.c] = move.w
                heights[move.c] = measured(move.c, move.w)
            }
            let extra = zip(want, grown).map { max(0, $0 - $1) }
            let total = extra.reduce(0, +)
            guard total > 0, spare > 0 else { return grown }
            return grown.indices.map { grown[$0] + min(extra[$0], spare * extra[$0] / total) }
        }
        var widths: [Double]
        if natural.reduce(0, +) <= width {
            widths = natural
        } else if body.reduce(0, +) <= width {
            widths = grow(from: body, towards: natural)
        } else if preferred.reduce(0, +) <= width {
            widths = grow(from: preferred, towards: body)
        } else if minimum.reduce(0, +) <= width {
            widths = grow(from: minimum, towards: preferred)
        } else {
            // Even the longest words do not fit (a hash, say): the widest columns come down to a
            // common cap, found by bisection, and break anywhere; narrower columns keep their words.
            var (low, high) = (0.0, minimum.max()!)
            for _ in 0..<40 {
                let cap = (low + high) / 2
                if minimum.map({ min($0, cap) }).reduce(0, +) <= width { low = cap } else { high = cap }
            }
            let capped = minimum.map { min($0, low) }
            let share = (width - capped.reduce(0, +)) / Double(columns)
            widths = capped.map { $0 + share }
        }
        let tableWidth = min(width, widths.reduce(0, +))
        let x0 = x + (width - tableWidth) / 2
        func rowHeight(_ row: [[Inline]], bold: Bool) -> Double {
            row.enumerated().map { c, cell in
                measureHeight(StyledText(cell, size: size), width: widths[c] - 2 * padding, family: sans, size: size, bold: bold)
            }.max()! + 4
        }
        // The caption, the header and the first row share a page.
        let lead = (hasHeader ? rowHeight(table.header, bold: true) : 0) + (table.rows.first.map { rowHeight($0, bold: false) } ?? 0)
        y += 4
        if table.number != nil || !table.caption.isEmpty {
            let text = captionText(table.number.map { "Table \($0)." }, table.caption)
            ensure(measureHeight(text, width: tableWidth, family: sans, size: 8.5) + 4 + lead)
            if let id = table.id { destination(id, x: x) }
            paragraph(text, x: x0, width: tableWidth, family: sans, size: 8.5, color: muted, after: 4)
        }
        func drawRow(_ row: [[Inline]], bold: Bool, rule: Double) {
            let height = rowHeight(row, bold: bold)
            let rowTop = y
            var cx = x0
            for (c, cell) in row.enumerated() {
                y = rowTop + 2
                let alignment: PangoAlignment =
                    switch c < table.alignments.count ? table.alignments[c] : .none {
                    case .right: PANGO_ALIGN_RIGHT
                    case .center: PANGO_ALIGN_CENTER
                    default: PANGO_ALIGN_LEFT
                    }
                paragraph(
                    StyledText(cell, size: size), x: cx + padding, width: widths[c] - 2 * padding, family: sans, size: size, bold: bold,
                    alignment: alignment, after: 0, hyphenate: false)
                cx += widths[c]
            }
            y = rowTop + height
            if drawing {
                setColor(rule > 0.5 ? Color(hex: 0x1D1D1F) : Color(hex: 0xD9D9DE))
                cairo_set_line_width(cr, rule)
                cairo_move_to(cr, x0, y)
                cairo_line_to(cr, x0 + tableWidth, y)
                cairo_stroke(cr)
            }
        }
        if hasHeader {
            ensure(lead)
            drawRow(table.header, bold: true, rule: 0.8)
        }
        for row in table.rows {
            let height = rowHeight(row, bold: false)
            if y + height > bottomLimit {
                newPage()
                if hasHeader { drawRow(table.header, bold: true, rule: 0.8) }
            }
            drawRow(row, bold: false, rule: 0.3)
        }
        y += 12
    }

    func notes() {
        guard !document.footnotes.isEmpty else { return }
        heading(2, id: "notes", content: [.text("Notes")], x: left, width: textWidth)
        for note in document.footnotes {
            ensure(bodySize * 1.4)
            destination("fn-\(note.number)", x: left)
            for (i, block) in note.blocks.enumerated() {
                if case .paragraph(let content) = block {
                    var text = StyledText(plain: i == 0 ? "\(note.number). " : "")
                    text.append(content, size: 9)
                    paragraph(text, x: left, width: textWidth, family: body, size: 9, after: 4)
                } else {
                    render(block, x: left + 14, width: textWidth - 14)
                }
            }
        }
    }

    func provenance() {
        guard !context.provenance.isEmpty else { return }
        heading(2, id: "provenance", content: [.text("Provenance")], x: left, width: textWidth)
        let rows = context.provenance.map { [[Inline.text($0.0)], [Inline.text($0.1)]] }
        var table = Table(alignments: [.left, .left], header: [], rows: rows)
        table.caption = []
        self.table(table, x: left, width: textWidth)
    }
}
