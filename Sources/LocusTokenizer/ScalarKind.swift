/// The four classes the pre-tokenizer patterns distinguish, decided per Unicode scalar the way
/// the reference regex engines (Oniguruma in Hugging Face `tokenizers`, llama.cpp's tables) do:
///
/// - `letter`: general category L (Lu, Ll, Lt, Lm, Lo), the regex class `\p{L}`;
/// - `number`: general category N (Nd, Nl, No), `\p{N}` (so `²`, `½`, `Ⅻ`, `٣` are numbers);
/// - `whitespace`: the White_Space property, `\s` (U+0009–000D, U+0020, U+0085, U+00A0,
///   U+1680, U+2000–200A, U+2028, U+2029, U+202F, U+205F, U+3000);
/// - `other`: everything else, `[^\s\p{L}\p{N}]` (punctuation, symbols, marks such as U+0301,
///   controls, format characters such as ZWJ U+200D).
///
/// Patterns work on scalars, not `Character`s: a combining mark or a ZWJ splits a grapheme.
enum ScalarKind: UInt8 {
    case letter, number, whitespace, other

    @inline(__always)
    init(_ scalar: Unicode.Scalar) {
        let value = scalar.value
        if value < 0x80 {
            switch value {
            case 0x61...0x7A, 0x41...0x5A: self = .letter
            case 0x30...0x39: self = .number
            case 0x09...0x0D, 0x20: self = .whitespace
            default: self = .other
            }
            return
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            self = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            self = .number
        default:
            self = scalar.properties.isWhitespace ? .whitespace : .other
        }
    }
}
