import Foundation

/// Softmax followed by the mean negative log-likelihood over the batch.
///
/// Shapes: logits (batch, classes); labels (batch) class indices; gradient (batch, classes).
/// The log-sum-exp subtracts each row's maximum first, so large logits do not overflow.
public final class SoftmaxCrossEntropy {
    public let classes: Int
    /// d(mean loss)/d(logits) after `evaluate`: (softmax − one-hot) / batch.
    public let gradient: Tensor

    public init(classes: Int, maxBatch: Int) {
        self.classes = classes
        gradient = Tensor(maxBatch: maxBatch, featureShape: [classes])
    }

    /// The mean loss over the batch and the number of rows whose arg-max is not the label; fills
    /// `gradient` when `computeGradient` is set.
    public func evaluate(
        logits: Tensor, labels: UnsafePointer<Int32>, computeGradient: Bool
    ) -> (loss: Double, errors: Int) {
        precondition(logits.featureCount == classes, "logits have \(logits.featureCount) columns, not \(classes)")
        let rows = logits.batch
        let classes = self.classes
        var total = 0.0
        var errors = 0
        for r in 0..<rows {
            let row = logits.pointer + r * classes
            var best = 0
            for c in 1..<classes where row[c] > row[best] { best = c }
            let maximum = row[best]
            // Each exponential once: kept in the gradient's row, scaled there below.
            let g = gradient.pointer + r * classes
            var sum: Float = 0
            for c in 0..<classes {
                let e = exp(row[c] - maximum)
                if computeGradient { g[c] = e }
                sum += e
            }
            let label = Int(labels[r])
            total += Double(log(sum) - (row[label] - maximum))
            if best != label { errors += 1 }
            if computeGradient {
                let scale = 1 / (sum * Float(rows))
                for c in 0..<classes { g[c] *= scale }
                g[label] -= 1 / Float(rows)
            }
        }
        gradient.batch = rows
        return (total / Double(rows), errors)
    }
}
