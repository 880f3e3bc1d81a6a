import Experiments
import Foundation
import Reproduction

/// Shows a training run's progress on stderr: when it is a terminal, a status line refreshed a few
/// times a second (epoch, step, running loss, ETA); always one line per finished epoch.
final class ProgressDisplay {
    private let totalEpochs: Int
    private let enabled: Bool
    private var lastDraw = ContinuousClock.now
    private var epochSeconds = [Double]()
    private var epochStarted = ContinuousClock.now
    private var lastRecord: EpochRecord?

    init(totalEpochs: Int, enabled: Bool = Terminal.isInteractive) {
        self.totalEpochs = totalEpochs
        self.enabled = enabled
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case .resumed(let completed):
            Terminal.note("resuming after epoch \(completed) of \(totalEpochs) from the checkpoint")
        case .damagedCheckpoint(let problem):
            Terminal.note(problem)
        case .step(let epoch, let step, let steps, let meanLoss):
            if step == 1 { epochStarted = .now }
            guard enabled, ContinuousClock.now - lastDraw > .milliseconds(200) || step == steps else { return }
            lastDraw = .now
            let elapsed = seconds(ContinuousClock.now - epochStarted)
            let perEpoch = epochSeconds.isEmpty ? elapsed / Double(step) * Double(steps) : epochSeconds.reduce(0, +) / Double(epochSeconds.count)
            let remaining = perEpoch * Double(totalEpochs - epoch) + max(0, perEpoch - elapsed)
            var line = "epoch \(epoch)/\(totalEpochs)  step \(step)/\(steps)  loss \(format(meanLoss, 4))"
            if let lastRecord { line += "  test error \(format(lastRecord.testError, 2))%  kept \(kept(lastRecord))" }
            line += "  ETA \(duration(remaining))"
            FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        case .epochFinished(let record, let trainingSeconds):
            epochSeconds.append(trainingSeconds)
            lastRecord = record
            let line =
                "epoch \(record.epoch)/\(totalEpochs)  loss \(format(record.trainLoss, 4))  test error \(format(record.testError, 2))%  kept \(kept(record))  E[FLOPs] \(Int(record.expectedFlops.rounded()))  \(format(trainingSeconds, 1)) s"
            // In a log (stderr not a terminal: nohup, Slurm), the same line without the status line's
            // escapes, so that a long run shows its progress there too.
            FileHandle.standardError.write(Data(enabled ? "\r\u{1B}[K\(line)\n".utf8 : "\(line)\n".utf8))
        }
    }

    private func kept(_ record: EpochRecord) -> String {
        record.layers.map { String($0.keptGroups) }.joined(separator: "-")
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}

func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }

func duration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
    if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
    return "\(total)s"
}
