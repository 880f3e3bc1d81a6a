import ArgumentParser
import Datasets
import Experiments
import FileSupport
import Foundation
import NeuralNet
import Plotting
import Reporting
import Reproduction

@main
struct L0Repro: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "l0repro",
        abstract: "Reproduce 'Learning Sparse Neural Networks through L0 Regularization' (Louizos et al., ICLR 2018).",
        discussion: """
            Trains the paper's networks with hard concrete L0 gates, records every epoch in a run log \
            (Reports/runs/<model>-<variant>-<id>/log.json) and measures speed against the PyTorch peer.
            """,
        version: version,
        subcommands: [
            Train.self, PurgeCommand.self, EvaluateCommand.self, Bench.self, DataCommand.self, FigureCommand.self, ReportCommand.self,
            ServeCommand.self,
        ])

    /// Parses and runs; the tool's own errors print as one line `l0repro: <file or value>: <problem>`.
    static func main() {
        unblockStopSignals()
        selectBLASKernels()
        // Every command runs OpenBLAS single-threaded under our own pool: a multi-threaded OpenBLAS
        // changes the numbers, so runs would depend on which command trained them. `train`, `bench`
        // and `report` may resize the pool with --threads; logs do not depend on its width.
        BLASRuntime.setThreads(ThreadCount.default)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as FileError {
            fail(error.description)
        } catch let error as ConfigError {
            fail(error.description)
        } catch let error as CommandError {
            fail(error.message)
        } catch let error as TemplateError {
            fail(error.description)
        } catch let error as RenderError {
            fail(error.description)
        } catch let error as TrainingDiverged {
            fail(error.description)
        } catch {
            exit(withError: error)
        }
    }

    /// A parent that blocks signals passes its mask on to the processes it starts (a test runner's
    /// threads do): unblock the two that stop the tool, so that Ctrl-C and `kill` stop `serve`.
    static func unblockStopSignals() {
        var stops = sigset_t()
        sigemptyset(&stops)
        sigaddset(&stops, SIGINT)
        sigaddset(&stops, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stops, nil)
    }

    /// Restarts the process once with OPENBLAS_CORETYPE set when OpenBLAS misdetected the CPU (see
    /// `BLASRuntime.recommendedCoreType`). A value the user set is left alone.
    static func selectBLASKernels() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
            let core = BLASRuntime.recommendedCoreType()
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // execv returns only on failure: carry on with the kernels already loaded.
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("l0repro: \(message)\n".utf8))
        Foundation.exit(1)
    }
}

/// A failure of a command that is not about a file or a configuration value.
struct CommandError: Error {
    let message: String
}

extension ModelKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
extension Variant: ExpressibleByArgument {}
extension GateSampling: ExpressibleByArgument {}
