import NeuralNet

/// Helpers for finite-difference checks: an independent forward pass written in Double, and central
/// differences of a scalar function of it.
public enum Oracle {
    /// Central difference of `f` with respect to `values[index]`, in Double.
    public static func derivative(of f: ([Double]) -> Double, at values: [Double], index: Int, step: Double = 1e-5) -> Double {
        var plus = values
        var minus = values
        plus[index] += step
        minus[index] -= step
        return (f(plus) - f(minus)) / (2 * step)
    }

    /// x·W + b for row-major x (rows × inputs) and W (inputs × outputs).
    public static func dense(_ x: [Double], _ w: [Double], _ b: [Double], rows: Int, inputs: Int, outputs: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            for j in 0..<outputs {
                var sum = b[j]
                for i in 0..<inputs { sum += x[r * inputs + i] * w[i * outputs + j] }
                y[r * outputs + j] = sum
            }
        }
        return y
    }

    public static func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    /// Fills a buffer with normal draws and returns them as Doubles.
    public static func randomize(_ buffer: FloatBuffer, _ random: RandomGenerator, scale: Double = 1) -> [Double] {
        for i in 0..<buffer.count { buffer.pointer[i] = Float(random.normal() * scale) }
        return buffer.array.map(Double.init)
    }

    /// Whether `actual` is within `relative` of `expected` (or within `absolute` of it).
    public static func close(_ actual: Double, _ expected: Double, relative: Double = 2e-3, absolute: Double = 1e-4) -> Bool {
        abs(actual - expected) <= max(absolute, relative * abs(expected))
    }
}

extension Oracle {
    /// Direct convolution in Double: x (batch, Cin, H, W), w (Cout, Cin, k, k), b (Cout) → (batch, Cout, Hout, Wout).
    public static func convolution(_ x: [Double], _ w: [Double], _ b: [Double], shape s: ConvolutionShape, batch: Int) -> [Double] {
        var y = [Double](repeating: 0, count: batch * s.outChannels * s.positions)
        for n in 0..<batch {
            for o in 0..<s.outChannels {
                for oh in 0..<s.outHeight {
                    for ow in 0..<s.outWidth {
                        var sum = b[o]
                        for c in 0..<s.inChannels {
                            for i in 0..<s.kernel {
                                for j in 0..<s.kernel {
                                    let (ih, iw) = (oh * s.stride - s.padding + i, ow * s.stride - s.padding + j)
                                    guard ih >= 0 && ih < s.inHeight && iw >= 0 && iw < s.inWidth else { continue }
                                    sum +=
                                        w[((o * s.inChannels + c) * s.kernel + i) * s.kernel + j]
                                        * x[((n * s.inChannels + c) * s.inHeight + ih) * s.inWidth + iw]
                                }
                            }
                        }
                        y[((n * s.outChannels + o) * s.outHeight + oh) * s.outWidth + ow] = sum
                    }
                }
            }
        }
        return y
    }
}
