import CCairo
import FileSupport
import Foundation

/// The file formats a figure renders to.
public enum ImageFormat: String, CaseIterable, Sendable {
    /// A raster at `RenderOptions.pixelDensity` pixels per point.
    case png
    /// Vector, with ids made unique per figure so that several can be inlined in one HTML page.
    case svg
    /// Vector, with pinned metadata dates.
    case pdf
}

/// Settings that change a rendered file's bytes.
public struct RenderOptions: Sendable {
    /// PNG pixels per point: 2 gives sharp images on high-density screens.
    public var pixelDensity: Double
    /// Prefix of every SVG id (letters, digits, `-` and `_`; other characters become `_`).
    public var idPrefix: String
    /// The PDF's creation and modification date, ISO 8601 (`2018-04-30T00:00:00Z`). Cairo would
    /// otherwise write the current time.
    public var date: String
    /// The PDF's title metadata.
    public var title: String?

    public init(pixelDensity: Double = 2, idPrefix: String = "figure", date: String = "1970-01-01T00:00:00Z", title: String? = nil) {
        self.pixelDensity = pixelDensity
        self.idPrefix = idPrefix
        self.date = date
        self.title = title
    }
}

/// A figure's drawing operations and page size: what a report stores for a figure, so that HTML and
/// PDF are drawn from the same stored result.
public struct Drawing: Codable, Equatable, Sendable {
    public var size: Size
    public var operations: [RecordingCanvas.Operation]
    /// The values the figure plots (written as CSV beside its images), when recorded from a figure.
    public var data: PlottedData?

    public init(size: Size, operations: [RecordingCanvas.Operation], data: PlottedData? = nil) {
        self.size = size
        self.operations = operations
        self.data = data
    }
}

/// A failure of Cairo while rendering.
public struct RenderError: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) { self.description = description }
}

/// Draws figures with Cairo into PNG, SVG or PDF bytes. The same figure and options always give the
/// same bytes.
public enum FigureRenderer {
    /// Cairo and Pango share caches across a process; rendering is serialised through this lock.
    private static let lock = NSLock()

    public static func render(_ figure: Figure, as format: ImageFormat, options: RenderOptions = RenderOptions()) throws -> [UInt8] {
        try render(size: figure.size, as: format, options: options) { figure.draw(on: $0) }
    }

    /// Renders a drawing recorded with `record(_:)`: the same bytes as rendering the figure itself.
    public static func render(_ drawing: Drawing, as format: ImageFormat, options: RenderOptions = RenderOptions()) throws -> [UInt8] {
        try render(size: drawing.size, as: format, options: options) { RecordingCanvas.replay(drawing.operations, on: $0) }
    }

    /// Records what drawing `figure` does, with text measured by Pango exactly as when rendering, so
    /// that the recording can be stored and rendered later, or drawn into another document.
    public static func record(_ figure: Figure) -> Drawing {
        let canvas = RecordingCanvas(measure: measure)
        figure.draw(on: canvas)
        return Drawing(size: figure.size, operations: canvas.operations, data: figure.plottedData)
    }

    /// Draws a recorded figure onto an existing Cairo context (`cairo_t *`) in its current user space,
    /// for documents that place figures themselves (the PDF report).
    public static func draw(_ drawing: Drawing, onCairoContext context: OpaquePointer) {
        lock.lock()
        defer { lock.unlock() }
        cairo_save(context)
        RecordingCanvas.replay(drawing.operations, on: CairoCanvas(context))
        cairo_restore(context)
    }

    /// Measures text as the Cairo canvas does.
    @Sendable public static func measure(_ markup: String, _ style: TextStyle) -> Size {
        lock.lock()
        defer { lock.unlock() }
        return measuringCanvas.measure(markup, style: style)
    }

    nonisolated(unsafe) private static let measuringCanvas: CairoCanvas = {
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1)
        let canvas = CairoCanvas(cairo_create(surface)!)
        cairo_surface_destroy(surface)
        return canvas
    }()

    /// Draws onto a fresh `size` surface of `format` with `draw`, and returns the file's bytes.
    public static func render(size: Size, as format: ImageFormat, options: RenderOptions = RenderOptions(), draw: (any Canvas) -> Void) throws
        -> [UInt8]
    {
        lock.lock()
        defer { lock.unlock() }
        let figureSize = size
        let sink = ByteSink()
        let closure = sink.closure
        let width = figureSize.width
        let height = figureSize.height
        let surface: OpaquePointer
        switch format {
        case .png:
            surface = cairo_image_surface_create(
                CAIRO_FORMAT_RGB24, Int32((width * options.pixelDensity).rounded(.up)), Int32((height * options.pixelDensity).rounded(.up)))
        case .svg:
            surface = cairo_svg_surface_create_for_stream(ByteSink.write, closure, width, height)
            cairo_svg_surface_restrict_to_version(surface, CAIRO_SVG_VERSION_1_1)
        case .pdf:
            surface = cairo_pdf_surface_create_for_stream(ByteSink.write, closure, width, height)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, options.date)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, options.date)
            cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "l0repro")
            if let title = options.title { cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title) }
        }
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)!
        if format == .png { cairo_scale(cr, options.pixelDensity, options.pixelDensity) }
        do {
            let canvas = CairoCanvas(cr)
            draw(canvas)
        }
        let drawStatus = cairo_status(cr)
        cairo_destroy(cr)
        if format == .png {
            cairo_surface_flush(surface)
            if drawStatus == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface) {
                sink.replace(
                    with: PNGEncoder.encode(
                        width: Int(cairo_image_surface_get_width(surface)), height: Int(cairo_image_surface_get_height(surface)),
                        stride: Int(cairo_image_surface_get_stride(surface)), pixels: UnsafeRawPointer(data)))
            }
        } else {
            cairo_surface_finish(surface)
        }
        let status = drawStatus != CAIRO_STATUS_SUCCESS ? drawStatus : cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else {
            throw RenderError(description: "Cairo could not draw the figure: \(String(cString: cairo_status_to_string(status)))")
        }
        return format == .svg ? SVGIdentifiers.rewrite(sink.bytes, prefix: options.idPrefix) : sink.bytes
    }

    /// Where the figure's panels land when rendered (text measured exactly as in the files), so that
    /// data coordinates can be turned into positions in the output.
    public static func layout(of figure: Figure) -> Figure.Layout {
        lock.lock()
        defer { lock.unlock() }
        let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1)
        let cr = cairo_create(surface)!
        defer {
            cairo_destroy(cr)
            cairo_surface_destroy(surface)
        }
        return figure.draw(on: CairoCanvas(cr))
    }

    /// Renders and writes the figure to `url` atomically (nothing half-written on failure).
    public static func write(_ figure: Figure, as format: ImageFormat, to url: URL, options: RenderOptions = RenderOptions()) throws {
        try AtomicFile.write(Data(try render(figure, as: format, options: options)), to: url)
    }
}

/// Collects what a Cairo stream surface writes: pass `closure` and `ByteSink.write` to a
/// `cairo_…_create_for_stream` function.
public final class ByteSink {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    /// The pointer to hand Cairo as the stream's closure (valid while this sink lives).
    public var closure: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// Cairo's write function for a sink.
    public static let write: cairo_write_func_t = { closure, data, length in
        let sink = Unmanaged<ByteSink>.fromOpaque(closure!).takeUnretainedValue()
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
        return CAIRO_STATUS_SUCCESS
    }

    func replace(with bytes: [UInt8]) { self.bytes = bytes }
}
