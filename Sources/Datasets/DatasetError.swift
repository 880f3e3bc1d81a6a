import FileSupport

/// A problem with a dataset file a user supplied or is missing: one line naming the file and saying
/// what to do. The same type as `FileError`, so that every file problem prints alike.
public typealias DatasetError = FileError
