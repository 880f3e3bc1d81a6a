import ArgumentParser
import Datasets
import Experiments
import Foundation
import Reproduction

/// Which dataset to train on and where its files are.
struct DataOptions: ParsableArguments {
    enum Choice: String, ExpressibleByArgument, CaseIterable {
        case auto, mnist
        case fashionMNIST = "fashion-mnist"
    }

    @Option(
        help: """
            Dataset: mnist, fashion-mnist, or auto (MNIST when its files are found, otherwise Fashion-MNIST; \
            the default, except for a report whose template names one). The choice is printed and stored in \
            the run log.
            """)
    var dataset: Choice?

    @Option(
        name: .customLong("data-dir"),
        help: ArgumentHelp(
            "Directory holding the four IDX files (gzip or plain); default: the dataset's usual locations.",
            valueName: "dir"))
    var dataDirectory: String?

    /// The dataset chosen: `--dataset`, else `fallback`; `auto` is MNIST when its files are found,
    /// otherwise Fashion-MNIST. Reads no data.
    func datasetName(fallback: Choice = .auto) throws -> DatasetName {
        switch dataset ?? fallback {
        case .mnist: return .mnist
        case .fashionMNIST: return .fashionMNIST
        case .auto:
            if dataDirectory != nil {
                throw ValidationError("--data-dir needs --dataset mnist or --dataset fashion-mnist (which files are they?)")
            }
            return (try? DatasetName.mnist.resolve(explicit: nil)) != nil ? .mnist : .fashionMNIST
        }
    }

    /// Resolves `auto` and loads the data, saying on stderr what was chosen and from where; `fallback`
    /// is the choice when `--dataset` is not given.
    func load(fallback: Choice = .auto) throws -> TrainingData {
        let explicit = dataDirectory.map { URL(fileURLWithPath: $0) }
        let name = try datasetName(fallback: fallback)
        let data = try TrainingData.load(name, directory: explicit)
        let how = (dataset ?? fallback) == .auto ? " (auto: \(name == .mnist ? "MNIST found" : "MNIST not found"))" : ""
        Terminal.note("dataset: \(name.rawValue)\(how)\(data.location.map { " from \($0.directory) (\($0.source))" } ?? "")")
        return data
    }
}

/// Writing to the terminal: notes go to stderr; progress only when stderr is a terminal.
enum Terminal {
    static let isInteractive = isatty(STDERR_FILENO) == 1

    nonisolated(unsafe) private static var progressShown = false

    static func note(_ text: String) {
        endProgress()
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Replaces the current progress line (only on a terminal).
    static func progress(_ text: String) {
        guard isInteractive else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
        progressShown = true
    }

    /// Ends the progress line, if one is shown.
    static func endProgress() {
        guard progressShown else { return }
        FileHandle.standardError.write(Data("\n".utf8))
        progressShown = false
    }
}
