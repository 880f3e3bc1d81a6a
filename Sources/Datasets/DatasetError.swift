/// A problem with a dataset file a user supplied or is missing, with a one-line message that names
/// the file and says what to do.
public struct DatasetError: Error, CustomStringConvertible, Equatable {
    /// The file or directory concerned.
    public let path: String
    /// What is wrong, and what to do about it.
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
