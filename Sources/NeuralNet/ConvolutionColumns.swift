import CKernels

/// Unfolding images into columns (im2col) and folding column gradients back (col2im).
extension ConvolutionCore.Job {
    /// columns[(n, i, j), (oh, ow)] = x[c, oh·s − pad + i, ow·s − pad + j], 0 outside, for the
    /// `count` channels c = channels[n], with the columns' rows `rowLength` apart.
    func unfold(
        _ x: UnsafePointer<Float>, channels: UnsafePointer<Int>, count: Int, into columns: UnsafeMutablePointer<Float>,
        rowLength: Int
    ) {
        let s = shape
        if s.stride == 1 && s.padding == 0 {
            l0_unfold_valid(x, channels, count, s.inHeight, s.inWidth, s.kernel, columns, rowLength)
            return
        }
        for n in 0..<count {
            let c = channels[n]
            for i in 0..<s.kernel {
                for j in 0..<s.kernel {
                    let row = columns + ((n * s.kernel + i) * s.kernel + j) * rowLength
                    let (first, end) = validColumns(offset: j)
                    for oh in 0..<s.outHeight {
                        let ih = oh * s.stride - s.padding + i
                        let out = row + oh * s.outWidth
                        guard ih >= 0 && ih < s.inHeight else {
                            for ow in 0..<s.outWidth { out[ow] = 0 }
                            continue
                        }
                        let source = x + (c * s.inHeight + ih) * s.inWidth
                        if s.stride == 1 {
                            let shifted = source - s.padding + j
                            if first == 0 && end == s.outWidth {
                                copyRow(from: shifted, to: out, count: s.outWidth)
                            } else {
                                for ow in 0..<s.outWidth { out[ow] = ow >= first && ow < end ? shifted[ow] : 0 }
                            }
                        } else {
                            for ow in 0..<s.outWidth {
                                let iw = ow * s.stride - s.padding + j
                                out[ow] = iw >= 0 && iw < s.inWidth ? source[iw] : 0
                            }
                        }
                    }
                }
            }
        }
    }

    /// Copies a short row, eight floats at a time.
    @inline(__always) func copyRow(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        var k = 0
        while k + 8 <= count {
            UnsafeMutableRawPointer(target + k).storeBytes(
                of: UnsafeRawPointer(source + k).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            k += 8
        }
        while k < count {
            target[k] = source[k]
            k += 1
        }
    }

    /// dx = Σ over receptive fields of d(columns) (col2im), the columns' rows `rowLength` apart, for
    /// the `count` channels listed (row block n for channel channels[n]); other channels get 0.
    func fold(
        _ columns: UnsafePointer<Float>, channels: UnsafePointer<Int>, count: Int, rowLength: Int,
        into dx: UnsafeMutablePointer<Float>
    ) {
        let s = shape
        dx.update(repeating: 0, count: imageSize)
        if s.stride == 1 && s.padding == 0 {
            // The same sums in the same order as below, without the bounds checks.
            l0_fold_valid(columns, channels, count, s.inHeight, s.inWidth, s.kernel, rowLength, dx)
            return
        }
        for n in 0..<count {
            let c = channels[n]
            for i in 0..<s.kernel {
                for j in 0..<s.kernel {
                    let row = columns + ((n * s.kernel + i) * s.kernel + j) * rowLength
                    let (first, end) = validColumns(offset: j)
                    for oh in 0..<s.outHeight {
                        let ih = oh * s.stride - s.padding + i
                        guard ih >= 0 && ih < s.inHeight else { continue }
                        let target = dx + (c * s.inHeight + ih) * s.inWidth
                        let source = row + oh * s.outWidth
                        if s.stride == 1 {
                            let shifted = target - s.padding + j
                            for ow in first..<max(first, end) { shifted[ow] += source[ow] }
                        } else {
                            for ow in 0..<s.outWidth {
                                let iw = ow * s.stride - s.padding + j
                                if iw >= 0 && iw < s.inWidth { target[iw] += source[ow] }
                            }
                        }
                    }
                }
            }
        }
    }
}
