/// Hand-written equivalents of the pre-tokenizer regular expressions.
///
/// Each function walks `range` and, at every position, takes the first alternative of the
/// pattern that matches there (leftmost-first, greedy, with the backtracking the pattern
/// implies), exactly as a backtracking regex engine applying the pattern repeatedly would.
/// Every scalar falls into some alternative, so the pieces cover the range without gaps.
enum PatternScanner {
    private static let space: UInt32 = 0x20
    private static let apostrophe: UInt32 = 0x27
    private static let carriageReturn: UInt32 = 0x0D
    private static let lineFeed: UInt32 = 0x0A

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    static func gpt2(_ text: ScalarText, _ range: Range<Int>, _ pieces: inout [Range<Int>]) {
        text.values.withUnsafeBufferPointer { values in
            text.kinds.withUnsafeBufferPointer { kinds in
                var start = range.lowerBound
                while start < range.upperBound {
                    let end = gpt2Match(values, kinds, start, range.upperBound)
                    pieces.append(start..<end)
                    start = end
                }
            }
        }
    }

    /// End of the GPT-2 match that starts at `i` (< `end`).
    @inline(__always)
    private static func gpt2Match(
        _ s: UnsafeBufferPointer<UInt32>, _ k: UnsafeBufferPointer<ScalarKind>, _ i: Int, _ end: Int
    ) -> Int {
        // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive)
        if s[i] == apostrophe, let length = contraction(s, i + 1, end, ignoringCase: false) {
            return i + 1 + length
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
        var j = i
        if s[i] == space, i + 1 < end, k[i + 1] != .whitespace { j = i + 1 }
        let kind = k[j]
        if kind != .whitespace { return runEnd(k, from: j + 1, end, of: kind) }
        return whitespaceMatch(k, i, end)
    }

    /// `\s+(?!\S)|\s+` at `i`, a whitespace scalar: the whole run if it ends the text or is one
    /// scalar long; otherwise the run minus its last scalar, which stays to prefix what follows.
    @inline(__always)
    private static func whitespaceMatch(
        _ k: UnsafeBufferPointer<ScalarKind>, _ i: Int, _ end: Int
    ) -> Int {
        let runEnd = runEnd(k, from: i + 1, end, of: .whitespace)
        return runEnd == end || runEnd - i == 1 ? runEnd : runEnd - 1
    }

    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
    static func llama3(_ text: ScalarText, _ range: Range<Int>, _ pieces: inout [Range<Int>]) {
        text.values.withUnsafeBufferPointer { values in
            text.kinds.withUnsafeBufferPointer { kinds in
                var start = range.lowerBound
                while start < range.upperBound {
                    let end = llama3Match(values, kinds, start, range.upperBound)
                    pieces.append(start..<end)
                    start = end
                }
            }
        }
    }

    /// End of the Llama 3 match that starts at `i` (< `end`).
    private static func llama3Match(
        _ s: UnsafeBufferPointer<UInt32>, _ k: UnsafeBufferPointer<ScalarKind>, _ i: Int, _ end: Int
    ) -> Int {
        let c = s[i]
        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == apostrophe, let length = contraction(s, i + 1, end, ignoringCase: true) {
            return i + 1 + length
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if k[i] == .letter { return runEnd(k, from: i + 1, end, of: .letter) }
        let isNewline = c == carriageReturn || c == lineFeed
        if !isNewline, k[i] != .number, i + 1 < end, k[i + 1] == .letter {
            return runEnd(k, from: i + 2, end, of: .letter)
        }
        // \p{N}{1,3}
        if k[i] == .number { return runEnd(k, from: i + 1, min(end, i + 3), of: .number) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        var j = i
        if c == space, i + 1 < end, k[i + 1] == .other { j = i + 1 }
        if k[j] == .other {
            var e = runEnd(k, from: j + 1, end, of: .other)
            while e < end, s[e] == carriageReturn || s[e] == lineFeed { e += 1 }
            return e
        }
        // \s*[\r\n]+ : greedy \s* backs off to the run's last \r or \n.
        var e = i
        var lastNewline = -1
        while e < end, k[e] == .whitespace {
            if s[e] == carriageReturn || s[e] == lineFeed { lastNewline = e }
            e += 1
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        // \s+(?!\S)|\s+
        return whitespaceMatch(k, i, end)
    }

    /// First index ≥ `start` (and ≤ `end`) whose class is not `kind`.
    @inline(__always)
    private static func runEnd(
        _ k: UnsafeBufferPointer<ScalarKind>, from start: Int, _ end: Int, of kind: ScalarKind
    ) -> Int {
        var e = start
        while e < end, k[e] == kind { e += 1 }
        return e
    }

    /// Length of the contraction suffix (`s t m d` or `re ve ll`) at `i`, after an apostrophe.
    /// Case-insensitive matching follows Unicode simple case folding, under which `ſ` (U+017F,
    /// LATIN SMALL LETTER LONG S) also matches `s`.
    @inline(__always)
    private static func contraction(
        _ s: UnsafeBufferPointer<UInt32>, _ i: Int, _ end: Int, ignoringCase: Bool
    ) -> Int? {
        guard i < end else { return nil }
        let fold: (UInt32) -> UInt32 = { value in
            guard ignoringCase else { return value }
            if (0x41...0x5A).contains(value) { return value + 0x20 }
            return value == 0x17F ? 0x73 : value
        }
        let a = fold(s[i])
        switch a {
        case 0x73, 0x74, 0x6D, 0x64: return 1  // s t m d
        case 0x72, 0x76, 0x6C:  // r v l
            guard i + 1 < end else { return nil }
            let b = fold(s[i + 1])
            let second: UInt32 = a == 0x6C ? 0x6C : 0x65  // ll, else re / ve
            return b == second ? 2 : nil
        default: return nil
        }
    }
}
