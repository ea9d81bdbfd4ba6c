import Crypto
import Foundation

/// SHA-256 (FIPS 180-4) as lowercase hex, for content keys: the model checkpoint's identity in
/// activation caches and run records, and data files against the manifest. The digest is
/// swift-crypto's (`Crypto.SHA256`: CryptoKit on Apple platforms, BoringSSL elsewhere); this type
/// adds the streaming and hex conventions Locus uses — incremental `update`s, files read in
/// fixed-size chunks so that a multi-gigabyte GGUF is hashed in bounded memory.
public struct SHA256: Sendable {
    private var hasher = Crypto.SHA256()

    /// Bytes read per `update` when hashing a file (8 MiB).
    public static let fileChunkSize = 8 << 20

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { hasher.update(bufferPointer: bytes) }

    public mutating func update(_ data: Data) { hasher.update(data: data) }

    public mutating func update(_ text: String) { update(Data(text.utf8)) }

    /// The digest of everything passed to `update` so far, as 64 lowercase hex digits. Further
    /// updates continue the same message (the state is not consumed).
    public mutating func finalizeHex() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The digest of some bytes.
    public static func hex(_ data: Data) -> String {
        var s = SHA256()
        s.update(data)
        return s.finalizeHex()
    }

    /// The digest of a file, read `chunkSize` bytes at a time (resident memory stays at one
    /// chunk whatever the file's size).
    public static func hex(ofFile url: URL, chunkSize: Int = fileChunkSize) throws -> String {
        precondition(chunkSize > 0, "chunkSize must be positive")
        let handle: FileHandle
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        var s = SHA256()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: chunkSize) } catch {
                throw DataError(file: url.path, problem: "cannot read: \(error.localizedDescription)")
            }
            guard let chunk, !chunk.isEmpty else { break }
            s.update(chunk)
        }
        return s.finalizeHex()
    }
}
