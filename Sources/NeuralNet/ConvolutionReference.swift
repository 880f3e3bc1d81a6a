import CKernels

extension ConvolutionCore {
    /// The direct convolution, output[b, o, oh, ow] = bias[o] + Σ_{c,i,j} w[o, c, i, j]·x[b, c, ·, ·],
    /// accumulated in Double: the reference the tests compare `forward` against.
    public static func naiveForward(
        shape s: ConvolutionShape, input x: UnsafePointer<Float>, batch: Int, weight w: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        for b in 0..<batch {
            for o in 0..<s.outChannels {
                for oh in 0..<s.outHeight {
                    for ow in 0..<s.outWidth {
                        var sum = Double(bias[o])
                        for c in 0..<s.inChannels {
                            for i in 0..<s.kernel {
                                for j in 0..<s.kernel {
                                    let (ih, iw) = (oh * s.stride - s.padding + i, ow * s.stride - s.padding + j)
                                    guard ih >= 0 && ih < s.inHeight && iw >= 0 && iw < s.inWidth else { continue }
                                    sum +=
                                        Double(w[((o * s.inChannels + c) * s.kernel + i) * s.kernel + j])
                                        * Double(x[((b * s.inChannels + c) * s.inHeight + ih) * s.inWidth + iw])
                                }
                            }
                        }
                        y[((b * s.outChannels + o) * s.outHeight + oh) * s.outWidth + ow] = Float(sum)
                    }
                }
            }
        }
    }
}
