import Foundation
import LocusTensor

/// A field of a binary seed file that a mutation may target: a count, a type id, a length, an
/// offset or an extent, at `offset` with `width` bytes (little-endian).
struct BinaryField {
    enum Kind: String { case count, type, length, offset, extent, scalar, header }
    var offset: Int
    var width: Int
    var kind: Kind
}

/// A seed input with its structure: where truncation is interesting (every structural boundary)
/// and which fields hold counts, types, offsets and lengths.
struct SeedFile {
    var name: String
    var bytes: [UInt8]
    /// Offsets where one structure ends and the next begins.
    var boundaries: [Int]
    /// Binary fields (empty for text formats).
    var fields: [BinaryField] = []
    /// Text formats: mutate tokens (numbers, strings, structural characters) as text.
    var isText: Bool { fields.isEmpty }
}

/// Seeded mutations of a seed file. Each case applies one to three mutations drawn from:
/// truncation at a structural boundary (±1), a bit flip in a count/type/offset/length field, a
/// field overwritten with an extreme value (0, 1, all ones, 2³¹, 2⁶³, off by one, doubled), a
/// random byte changed, a range deleted or duplicated, and for text: a number replaced by an
/// extreme literal, a string emptied or lengthened, a structural character deleted or
/// inserted, line ends changed to CRLF, a byte-order mark, invalid UTF-8.
struct Mutator {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    mutating func int(_ upper: Int) -> Int { upper <= 0 ? 0 : Int(generator.next() % UInt64(upper)) }
    mutating func chance(_ p: Double) -> Bool { generator.nextUnit() < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(items.count)] }

    /// The mutated bytes and a one-line description of what was done.
    mutating func mutate(_ seed: SeedFile) -> (bytes: [UInt8], description: String) {
        var bytes = seed.bytes
        var done: [String] = []
        let rounds = 1 + int(3)
        for _ in 0..<rounds {
            guard !bytes.isEmpty else { break }
            let what = seed.isText ? mutateText(&bytes, seed) : mutateBinary(&bytes, seed)
            done.append(what)
            if what.hasPrefix("truncate") { break }  // nothing after a cut is structural any more
        }
        return (bytes, done.joined(separator: "; "))
    }

    // MARK: Binary

    static let extremes: [UInt64] = [
        0, 1, 2, 3, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000,
        0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 1 << 40,
    ]

    mutating func mutateBinary(_ bytes: inout [UInt8], _ seed: SeedFile) -> String {
        let structural = seed.fields.filter { $0.offset + $0.width <= bytes.count }
        switch int(10) {
        case 0, 1:
            return truncate(&bytes, seed)
        case 2, 3 where !structural.isEmpty:
            let field = pick(structural)
            let bit = int(field.width * 8)
            bytes[field.offset + bit / 8] ^= UInt8(1 << (bit % 8))
            return "flip bit \(bit) of \(field.kind) at \(field.offset)"
        case 4, 5, 6 where !structural.isEmpty:
            let field = pick(structural)
            let old = read(bytes, field)
            let value: UInt64
            switch int(4) {
            case 0: value = pick(Self.extremes)
            case 1: value = old &+ 1
            case 2: value = old &- 1
            default: value = old &* UInt64(2 + int(1000))
            }
            write(&bytes, field, value)
            return "set \(field.kind) at \(field.offset) (\(field.width) bytes) from \(old) to \(value)"
        case 7:
            let at = int(bytes.count)
            bytes[at] = UInt8(truncatingIfNeeded: generator.next())
            return "random byte at \(at)"
        case 8:
            let (a, b) = range(bytes.count, seed)
            bytes.removeSubrange(a..<b)
            return "delete \(a)..<\(b)"
        default:
            let (a, b) = range(bytes.count, seed)
            bytes.insert(contentsOf: bytes[a..<b], at: b)
            return "duplicate \(a)..<\(b)"
        }
    }

    mutating func truncate(_ bytes: inout [UInt8], _ seed: SeedFile) -> String {
        let inside = seed.boundaries.filter { $0 <= bytes.count }
        var cut = inside.isEmpty ? int(bytes.count + 1) : pick(inside)
        cut = max(0, min(bytes.count, cut + pick([0, 0, 0, -1, 1])))
        bytes.removeSubrange(cut...)
        return "truncate at \(cut)"
    }

    /// A range between two structural boundaries (or random when there are none).
    mutating func range(_ count: Int, _ seed: SeedFile) -> (Int, Int) {
        let inside = seed.boundaries.filter { $0 < count }
        var a = inside.isEmpty ? int(count) : pick(inside)
        var b = inside.isEmpty || chance(0.3) ? a + 1 + int(16) : pick(inside)
        if a > b { swap(&a, &b) }
        return (min(a, count), min(max(b, a), count))
    }

    func read(_ bytes: [UInt8], _ field: BinaryField) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<field.width { value |= UInt64(bytes[field.offset + i]) << (8 * UInt64(i)) }
        return value
    }

    func write(_ bytes: inout [UInt8], _ field: BinaryField, _ value: UInt64) {
        for i in 0..<field.width { bytes[field.offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    // MARK: Text

    static let numbers = [
        "0", "-1", "-0", "1", "2", "0.5", "-2.5", "1e309", "-1e309", "1e30", "1e-45", "NaN", "Infinity",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "4294967296", "2147483648", "1000000000", "99999999999999999999",
        "1e9", "12345678901234567890123", "\"7\"", "null", "true", "[]", "{}",
    ]
    static let strings = [
        "", " ", "\\u0000", "L99H99", "L-1H2", "../../x", "\u{1F600}", "a,b", "\\\"", "\\n", "nan",
        String(repeating: "x", count: 300), "\\ud800",
    ]
    static let structural: [UInt8] = Array("{}[],:\"\n\r".utf8)

    mutating func mutateText(_ bytes: inout [UInt8], _ seed: SeedFile) -> String {
        switch int(12) {
        case 0, 1:
            return truncate(&bytes, seed)
        case 2, 3, 4:
            guard let (a, b) = token(in: bytes, where: { $0 == UInt8(ascii: "-") || (48...57).contains($0) })
            else { return "no number" }
            let replacement = pick(Self.numbers)
            bytes.replaceSubrange(a..<b, with: Array(replacement.utf8))
            return "number at \(a) → \(replacement)"
        case 5, 6:
            // A string's contents: from after a quote to before the next quote.
            let quotes = bytes.indices.filter { bytes[$0] == UInt8(ascii: "\"") }
            guard quotes.count >= 2 else { return "no string" }
            let i = int(quotes.count - 1)
            let replacement = pick(Self.strings)
            bytes.replaceSubrange((quotes[i] + 1)..<quotes[i + 1], with: Array(replacement.utf8))
            return "string at \(quotes[i]) → \(replacement.prefix(20))"
        case 7:
            let positions = bytes.indices.filter { Self.structural.contains(bytes[$0]) }
            guard !positions.isEmpty else { return "no structure" }
            let at = pick(positions)
            if chance(0.5) {
                bytes.remove(at: at)
                return "delete structural character at \(at)"
            }
            bytes.insert(pick(Self.structural), at: at)
            return "insert structural character at \(at)"
        case 8:
            let at = int(bytes.count)
            bytes[at] ^= UInt8(1 << int(8))
            return "flip a bit at \(at)"
        case 9:
            let at = int(bytes.count + 1)
            let junk: [[UInt8]] = [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0], [0xEF, 0xBB, 0xBF], [0x0D]]
            bytes.insert(contentsOf: pick(junk), at: at)
            return "insert odd bytes at \(at)"
        case 10:
            let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
            var out: [[UInt8]] = lines.map(Array.init)
            guard out.count > 1 else { return "one line" }
            let i = int(out.count)
            if chance(0.5) { out.insert(out[i], at: i) } else { out.remove(at: i) }
            bytes = Array(out.joined(separator: [UInt8(ascii: "\n")]))
            return "duplicate or delete line \(i + 1)"
        default:
            if chance(0.5) {
                bytes = Array(String(decoding: bytes, as: UTF8.self)
                    .replacingOccurrences(of: "\n", with: "\r\n").utf8)
                return "CRLF line ends"
            }
            let (a, b) = range(bytes.count, seed)
            bytes.removeSubrange(a..<b)
            return "delete \(a)..<\(b)"
        }
    }

    /// A random maximal run of bytes matching `member` that starts a token (preceded by a
    /// non-member), e.g. a number.
    mutating func token(in bytes: [UInt8], where member: (UInt8) -> Bool) -> (Int, Int)? {
        var starts: [Int] = []
        for i in bytes.indices where member(bytes[i]) && (i == 0 || !member(bytes[i - 1])) {
            starts.append(i)
        }
        guard !starts.isEmpty else { return nil }
        let a = pick(starts)
        var b = a
        while b < bytes.count, member(bytes[b]) || bytes[b] == UInt8(ascii: ".")
            || bytes[b] == UInt8(ascii: "e")
        {
            b += 1
        }
        return (a, b)
    }
}

/// Offsets just after each structural character of a text file (truncation points).
func textBoundaries(_ bytes: [UInt8]) -> [Int] {
    var out = [0, bytes.count]
    for (i, b) in bytes.enumerated() where Mutator.structural.contains(b) || b == UInt8(ascii: ",") {
        out.append(i)
        out.append(i + 1)
    }
    return out
}
