import FileSupport
import Foundation
import NeuralNet

/// The state of a run at the end of an epoch, enough to continue it bit for bit: every parameter, the
/// optimiser's moments, the weight average, the training generator and the records so far.
///
/// File layout: the 8 bytes "L0RPCKPT", a little-endian UInt32 header length, the header as JSON,
/// then for each parameter in model order its value, the optimiser's state for it (Adam: first and
/// second moments; SGD: momentum) and its average (when averaging), then every layer's non-parameter
/// state, as little-endian Float32. The header holds the SHA-256 of those floats, so a
/// flipped byte is found before anything is resumed from it.
struct Checkpoint {
    struct Header: Codable {
        var format: String
        var runID: String
        var completedEpochs: Int
        var optimizerSteps: Int
        var averageUpdates: Int
        var random: [UInt64]
        var epochs: [EpochRecord]
        var timing: RunTiming
        var floatCount: Int
        /// The pruning method's state (absent for runs without one).
        var pruner: PrunerState? = nil
        /// SHA-256 of the float payload.
        var payloadSHA256: String = ""
    }

    static let magic = Array("L0RPCKPT".utf8)
    static let format = "l0repro-checkpoint/2"

    static func buffers(optimizer: any Optimizer, average: WeightAverage?, layers: [any Layer]) -> [FloatBuffer] {
        var result = [FloatBuffer]()
        for (index, parameter) in optimizer.parameters.enumerated() {
            result += [parameter.value] + optimizer.state(of: index)
            if let average { result.append(average.averages[index]) }
        }
        return result + layers.flatMap(\.state)
    }

    static func write(header: Header, buffers: [FloatBuffer], to url: URL) throws {
        var header = header
        header.floatCount = buffers.reduce(0) { $0 + $1.count }
        var payload = Data(capacity: 4 * header.floatCount)
        for buffer in buffers {
            payload.append(UnsafeBufferPointer(start: buffer.pointer, count: buffer.count))
        }
        header.payloadSHA256 = Digest.sha256(payload)
        let json = CanonicalJSON.encode(header)
        var data = Data(magic)
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(payload)
        try AtomicFile.write(data, to: url)
    }

    /// Reads a checkpoint into `buffers` and returns its header; throws when it does not belong to
    /// `runID`, does not fit the model, fails its checksum or holds a value that is not finite. The
    /// buffers are only written once the whole file has been checked.
    static func read(from url: URL, runID: String, into buffers: [FloatBuffer]) throws -> Header {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FileError(
                path: url.path, problem: "cannot read checkpoint (\(FileError.describe(error, path: url.path, expecting: .file))); rerun with --fresh"
            )
        }
        let bad = { (why: String) in
            FileError(path: url.path, problem: "\(why); delete it or rerun with --fresh")
        }
        guard data.count >= 12, Array(data.prefix(8)) == magic else { throw bad("not an l0repro checkpoint") }
        let length = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
        guard data.count >= 12 + length else { throw bad("checkpoint header is truncated") }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: data[12..<12 + length])
        } catch {
            throw bad("checkpoint header is unreadable")
        }
        guard header.format == format, header.runID == runID else { throw bad("checkpoint belongs to another run or format") }
        let expected = buffers.reduce(0) { $0 + $1.count }
        guard header.floatCount == expected, data.count == 12 + length + 4 * expected else {
            throw bad("checkpoint size does not match the model")
        }
        let payload = data[(12 + length)...]
        guard Digest.sha256(payload) == header.payloadSHA256 else {
            throw bad("checkpoint is damaged (its weights do not match their checksum)")
        }
        // A float is NaN or infinite when its eight exponent bits are all set.
        let finite = payload.withUnsafeBytes { raw in
            stride(from: 0, to: raw.count, by: 4).allSatisfy { offset in
                raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self) & 0x7f80_0000 != 0x7f80_0000
            }
        }
        guard finite else { throw bad("checkpoint holds a NaN or infinite value") }
        data.withUnsafeBytes { raw in
            var offset = 12 + length
            for buffer in buffers {
                let target = UnsafeMutableRawBufferPointer(start: buffer.pointer, count: 4 * buffer.count)
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + 4 * buffer.count]))
                offset += 4 * buffer.count
            }
        }
        return header
    }
}
