import CCairo

/// Pixels of a rendered figure, read back from PNG bytes (to check what was drawn where).
public struct Bitmap: Sendable {
    public let width: Int
    public let height: Int
    /// 0xAARRGGBB per pixel, row by row.
    let pixels: [UInt32]

    /// Decodes PNG bytes with Cairo's reader; nil when they are not a PNG.
    public init?(png: [UInt8]) {
        let source = ByteSource(png)
        let surface = withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream(readFromSource, Unmanaged.passUnretained(source).toOpaque())!
        }
        defer { cairo_surface_destroy(surface) }
        guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else { return nil }
        cairo_surface_flush(surface)
        width = Int(cairo_image_surface_get_width(surface))
        height = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var pixels = [UInt32](repeating: 0, count: width * height)
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width { pixels[y * width + x] = row[x] }
        }
        self.pixels = pixels
    }

    /// The colour at pixel (x, y) (alpha ignored: figures are opaque).
    public func color(x: Int, y: Int) -> Color {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) is outside the bitmap")
        let p = pixels[y * width + x]
        return Color(red: Double(p >> 16 & 255) / 255, green: Double(p >> 8 & 255) / 255, blue: Double(p & 255) / 255)
    }
}

private final class ByteSource {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let readFromSource: cairo_read_func_t = { closure, data, length in
    let source = Unmanaged<ByteSource>.fromOpaque(closure!).takeUnretainedValue()
    let n = Int(length)
    guard source.offset + n <= source.bytes.count, let data else { return CAIRO_STATUS_READ_ERROR }
    source.bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress! + source.offset, count: n) }
    source.offset += n
    return CAIRO_STATUS_SUCCESS
}
