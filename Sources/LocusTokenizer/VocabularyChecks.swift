/// The checks every vocabulary (BPE and SentencePiece) makes before it compiles: a non-empty
/// token list with one type per token, special-token ids inside it, and a BOS/EOS token
/// wherever one is to be added. Errors name `source`.
enum VocabularyChecks {
    static func validate(
        source: String, tokenCount: Int, tokenTypeCount: Int, bosID: Int?, eosID: Int?, unknownID: Int?,
        paddingID: Int?, addsBOS: Bool, addsEOS: Bool
    ) throws(TokenizerError) {
        func fail(_ detail: String) -> TokenizerError {
            TokenizerError(file: source, problem: .malformed(detail))
        }
        guard tokenCount > 0 else { throw fail("the vocabulary is empty") }
        guard tokenTypeCount == tokenCount else {
            throw fail("\(tokenCount) tokens but \(tokenTypeCount) token types")
        }
        let named = [("bos", bosID), ("eos", eosID), ("unknown", unknownID), ("padding", paddingID)]
        for case let (name, id?) in named where !(0..<tokenCount).contains(id) {
            throw fail("\(name) token id \(id) is outside 0..<\(tokenCount)")
        }
        if addsBOS && bosID == nil { throw fail("BOS is to be added but there is no BOS token") }
        if addsEOS && eosID == nil { throw fail("EOS is to be added but there is no EOS token") }
    }
}
