/// Reads one JSON object's members in file order with their keys exactly as written.
///
/// Foundation's JSON readers build `String`-keyed dictionaries, and Swift `String` equality is
/// canonical equivalence, so two vocabulary pieces that differ only in Unicode normalisation
/// (`é` U+00E9 and `e` + U+0301, both in real SentencePiece vocabularies) collapse into one and
/// an id is lost. This small recursive-descent scanner finds the object at a key path and
/// returns its (key, integer value) members without any dictionary.
struct JSONObjectScanner {
    struct Failure: Error { let detail: String }

    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The members of the object at `path` (keys of nested objects, from the top), whose values
    /// must be integers; nil when the path does not lead to an object.
    static func integerMembers(
        of bytes: [UInt8], at path: [String]
    ) throws(Failure) -> [(key: String, value: Int)]? {
        var scanner = JSONObjectScanner(bytes)
        return try scanner.find(path[...])
    }

    private mutating func find(_ path: ArraySlice<String>) throws(Failure) -> [(key: String, value: Int)]? {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { return nil }
        guard let first = path.first else { return try integerObject() }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") { return nil }
        while true {
            skipWhitespace()
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            if key == first, peek() == UInt8(ascii: "{") {
                return try find(path.dropFirst())
            }
            try skipValue()
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            return nil
        }
    }

    private mutating func integerObject() throws(Failure) -> [(key: String, value: Int)] {
        try expect(UInt8(ascii: "{"))
        var members: [(key: String, value: Int)] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            skipWhitespace()
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key, try integer()))
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(UInt8(ascii: "}"))
            return members
        }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek() == byte else {
            throw Failure(detail: "expected '\(Character(Unicode.Scalar(byte)))' at byte \(index)")
        }
        index += 1
    }

    private mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 {
            index += 1
        }
    }

    private mutating func integer() throws(Failure) -> Int {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            index += 1
        }
        guard let value = Int(String(decoding: bytes[start..<index], as: UTF8.self)) else {
            throw Failure(detail: "expected an integer at byte \(start)")
        }
        return value
    }

    /// A JSON string, escapes decoded (`\uXXXX` with surrogate pairs), scalars kept as written.
    private mutating func string() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek() else { throw Failure(detail: "unterminated string") }
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                continue
            }
            guard let escape = peek() else { throw Failure(detail: "unterminated escape") }
            index += 1
            switch escape {
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "u"):
                var value = try hex4()
                if (0xD800..<0xDC00).contains(value), peek() == UInt8(ascii: "\\"),
                    index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                {
                    index += 2
                    let low = try hex4()
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                }
                let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
                utf8.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: utf8.append(escape)  // \" \\ \/
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
        else { throw Failure(detail: "bad \\u escape at byte \(index)") }
        index += 4
        return value
    }

    private mutating func skipValue() throws(Failure) {
        skipWhitespace()
        guard let byte = peek() else { throw Failure(detail: "unexpected end") }
        switch byte {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            index += 1
            skipWhitespace()
            if peek() == close {
                index += 1
                return
            }
            while true {
                if byte == UInt8(ascii: "{") {
                    skipWhitespace()
                    _ = try string()
                    skipWhitespace()
                    try expect(UInt8(ascii: ":"))
                }
                try skipValue()
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(close)
                return
            }
        default:
            // Numbers, true, false, null: up to the next delimiter.
            while let next = peek(), next != UInt8(ascii: ","), next != UInt8(ascii: "}"),
                next != UInt8(ascii: "]"), next != 0x20, next != 0x0A, next != 0x0D, next != 0x09
            {
                index += 1
            }
        }
    }
}
