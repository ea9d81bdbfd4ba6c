/// A bounds-checked little-endian cursor over a file's bytes.
///
/// Every read first checks that the bytes exist and otherwise throws `.truncated`, naming the file,
/// what was being read and where, so no file content can make the reader trap. Lengths and counts
/// read from the file are checked against the bytes that remain *before* anything is allocated.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    private(set) var offset: Int

    init(bytes: UnsafeRawBufferPointer, file: String, offset: Int = 0) {
        self.bytes = bytes
        self.file = file
        self.offset = offset
    }

    var remaining: Int { bytes.count - offset }

    func error(_ problem: CheckpointError.Problem) -> CheckpointError {
        CheckpointError(file: file, problem: problem)
    }

    /// Throws `.truncated` unless `count` more bytes exist.
    func require(_ count: Int, for what: @autoclosure () -> String) throws(CheckpointError) {
        guard count >= 0, count <= remaining else {
            throw error(.truncated(
                "\(what()) needs \(count) bytes at offset \(offset), only \(remaining) remain"))
        }
    }

    /// Throws `.truncated` unless `count` items of at least `size` bytes each could still fit.
    /// Guards allocations sized by counts read from the file.
    func require(
        items count: UInt64, ofAtLeast size: Int, for what: @autoclosure () -> String
    ) throws(CheckpointError) {
        guard count <= UInt64(remaining / max(size, 1)) else {
            throw error(.truncated(
                "\(what()) claims \(count) entries at offset \(offset), only \(remaining) bytes"
                    + " remain"))
        }
    }

    mutating func read<T: FixedWidthInteger>(
        _: T.Type, _ what: @autoclosure () -> String
    ) throws(CheckpointError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, for: what())
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += size
        return T(littleEndian: value)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws(CheckpointError) -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws(CheckpointError) -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A GGUF string: `UInt64` byte length, then UTF-8 bytes without a terminator. Invalid UTF-8
    /// is repaired (U+FFFD) rather than rejected.
    mutating func readString(_ what: @autoclosure () -> String) throws(CheckpointError) -> String {
        let length = try read(UInt64.self, "length of \(what())")
        guard length <= UInt64(remaining) else {
            throw error(.truncated(
                "\(what()) claims \(length) bytes at offset \(offset), only \(remaining) remain"))
        }
        let count = Int(length)
        let text = String(
            decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]),
            as: UTF8.self)
        offset += count
        return text
    }
}
