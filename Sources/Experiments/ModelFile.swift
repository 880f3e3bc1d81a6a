import FileSupport
import Foundation
import NeuralNet

/// A trained network's parameters as a file: what a finished run leaves beside its log (`model.bin`),
/// and what pruned models and inference start from.
///
/// Layout, all little-endian: the 8 bytes "L0RPMODL"; a UInt32 format version; a UInt32 header length;
/// the header as canonical JSON (network, method, run, every parameter's name, role and shape, and the
/// SHA-256 of the payload); then the payload, each parameter's values in header order as Float32.
/// The values are the ones the run evaluates with: the weight average when averaging, log α included.
public struct ModelFile: Equatable, Sendable {
    public static let magic = Array("L0RPMODL".utf8)
    public static let version: UInt32 = 1
    /// The file name a run directory keeps its model under.
    public static let fileName = "model.bin"

    /// One array of the model.
    public struct Tensor: Codable, Equatable, Sendable {
        /// A name unique within the model, e.g. "fc1.weight".
        public var name: String
        /// "weight", "bias" or "gateLogAlpha".
        public var role: String
        public var shape: [Int]
        public var count: Int { shape.reduce(1, *) }

        public init(name: String, role: String, shape: [Int]) {
            self.name = name
            self.role = role
            self.shape = shape
        }
    }

    struct Header: Codable, Equatable {
        var network: String
        var method: String
        var runID: String
        var tensors: [Tensor]
        var payloadSHA256: String
    }

    /// The network's name, e.g. "lenet5".
    public var network: String
    /// How it was trained, e.g. "l0-sep".
    public var method: String
    /// The run it comes from (empty when none).
    public var runID: String
    public var tensors: [Tensor]
    /// Every tensor's values, concatenated in order.
    public var values: [Float]

    public init(network: String, method: String, runID: String, tensors: [Tensor], values: [Float]) {
        precondition(tensors.reduce(0) { $0 + $1.count } == values.count, "model values do not match the shapes")
        self.network = network
        self.method = method
        self.runID = runID
        self.tensors = tensors
        self.values = values
    }

    /// The current values of `parameters`.
    public init(network: String, method: String, runID: String, parameters: [Parameter]) {
        var values = [Float]()
        values.reserveCapacity(parameters.reduce(0) { $0 + $1.value.count })
        for parameter in parameters { values += parameter.value.array }
        self.init(
            network: network, method: method, runID: runID,
            tensors: parameters.map { Tensor(name: $0.name, role: $0.role.rawValue, shape: $0.shape) }, values: values)
    }

    /// Adds each weight's pruning mask (1 kept, 0 pruned) as a tensor "<weight>.mask" of role "mask".
    /// Loading a model into a network reads parameters by name, so masks are carried, not needed: the
    /// pruned weights are 0 in the values already.
    mutating func append(masks: WeightMasks) {
        for (weight, mask) in zip(masks.weights, masks.masks) {
            tensors.append(Tensor(name: "\(weight.name).mask", role: "mask", shape: weight.shape))
            values += mask.array
        }
    }

    /// The values of the tensor called `name`, or nil.
    public func values(of name: String) -> ArraySlice<Float>? {
        var offset = 0
        for tensor in tensors {
            if tensor.name == name { return values[offset..<offset + tensor.count] }
            offset += tensor.count
        }
        return nil
    }

    /// The file's bytes.
    public func encoded() -> Data {
        var payload = Data(capacity: 4 * values.count)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { payload.append(contentsOf: $0) } }
        let header = Header(
            network: network, method: method, runID: runID, tensors: tensors, payloadSHA256: Digest.sha256(payload))
        let json = CanonicalJSON.encode(header)
        var data = Data(Self.magic)
        withUnsafeBytes(of: Self.version.littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(payload)
        return data
    }

    /// Writes the file atomically (a temporary file renamed into place).
    public func write(to url: URL) throws { try AtomicFile.write(encoded(), to: url) }

    /// Reads a model file; a foreign, truncated, newer or corrupted file is refused with one line naming it.
    public static func read(from url: URL) throws -> ModelFile {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FileError(path: url.path, problem: "cannot read the model file (\(FileError.describe(error, path: url.path, expecting: .file)))")
        }
        return try decode(data, path: url.path)
    }

    static func decode(_ data: Data, path: String) throws -> ModelFile {
        func bad(_ why: String) -> FileError { FileError(path: path, problem: why) }
        let bytes = [UInt8](data)
        func uint32(at offset: Int) -> UInt32 {
            UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24
        }
        guard bytes.count >= 16, Array(bytes[0..<8]) == magic else { throw bad("not an l0repro model file") }
        let version = uint32(at: 8)
        guard version == Self.version else {
            throw bad("model format version \(version); this l0repro reads version \(Self.version) (update l0repro)")
        }
        let length = Int(uint32(at: 12))
        guard bytes.count >= 16 + length else { throw bad("model file is truncated (its header is incomplete)") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[16..<16 + length]))
        } catch {
            throw bad("model header is unreadable")
        }
        guard header.tensors.allSatisfy({ !$0.shape.isEmpty && $0.shape.allSatisfy { $0 > 0 && $0 < 1 << 31 } }) else {
            throw bad("model header has an invalid shape")
        }
        let count = header.tensors.reduce(0) { $0 + $1.count }
        let payload = Data(bytes[(16 + length)...])
        guard payload.count == 4 * count else {
            throw bad("model payload has \(payload.count) bytes, its header says \(4 * count): the file is truncated or damaged")
        }
        guard Digest.sha256(payload) == header.payloadSHA256 else {
            throw bad("model payload does not match its checksum: the file is damaged; retrain the run")
        }
        var values = [Float](repeating: 0, count: count)
        _ = values.withUnsafeMutableBytes { target in payload.copyBytes(to: target) }
        for index in values.indices { values[index] = Float(bitPattern: UInt32(littleEndian: values[index].bitPattern)) }
        return ModelFile(network: header.network, method: header.method, runID: header.runID, tensors: header.tensors, values: values)
    }
}
