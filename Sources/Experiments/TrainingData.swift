import Datasets
import FileSupport
import Foundation

/// A dataset loaded for training: the two splits and the record that goes into the run log.
public struct TrainingData: Sendable {
    public let train: ImageClassificationSet
    public let test: ImageClassificationSet
    public let record: DataRecord
    /// Where the files were found (nil for data built in memory).
    public let location: DataLocation?

    public init(train: ImageClassificationSet, test: ImageClassificationSet, record: DataRecord, location: DataLocation? = nil) {
        self.train = train
        self.test = test
        self.record = record
        self.location = location
    }

    /// Reads an MNIST-format dataset from `directory`, or from where `dataset` is usually found.
    public static func load(_ dataset: DatasetName, directory: URL?) throws -> TrainingData {
        guard dataset.isIDX else {
            throw DatasetError(
                path: dataset.rawValue, problem: "training on CIFAR needs the wide ResNet, which is not built yet; use mnist or fashion-mnist")
        }
        let (resolved, source) = try dataset.resolve(explicit: directory)
        let (train, test) = try MNISTFormat.load(from: resolved)
        let digest = Digest.sha256(concatenating: [train.images, train.labels, test.images, test.labels])
        let record = DataRecord(name: dataset.rawValue, trainingExamples: train.count, testExamples: test.count, sha256: digest)
        return TrainingData(
            train: train, test: test, record: record,
            location: DataLocation(directory: resolved.standardizedFileURL.path, source: source))
    }
}
