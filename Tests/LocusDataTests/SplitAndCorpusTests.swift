import Foundation
import LocusData
import XCTest

final class QuestionSplitTests: XCTestCase {
    func testFoldsPartitionAllQuestionsDeterministically() {
        let folds = QuestionSplit.folds(count: 817, folds: 2, seed: 42)
        XCTAssertEqual(folds.map(\.count), [409, 408])
        XCTAssertEqual(Set(folds[0]).intersection(folds[1]), [])
        XCTAssertEqual(Set(folds[0] + folds[1]), Set(0..<817))
        XCTAssertEqual(folds, QuestionSplit.folds(count: 817, folds: 2, seed: 42))
        XCTAssertNotEqual(folds, QuestionSplit.folds(count: 817, folds: 2, seed: 43))
    }

    func testPartitionFractions() {
        let parts = QuestionSplit.partition(Array(0..<409), fractions: [0.8, 0.2], seed: 1)
        XCTAssertEqual(parts.map(\.count), [327, 82])
        XCTAssertEqual(Set(parts[0] + parts[1]), Set(0..<409))
        let three = QuestionSplit.partition(Array(100..<110), fractions: [0.6, 0.2, 0.2], seed: 9)
        XCTAssertEqual(three.map(\.count), [6, 2, 2])
        XCTAssertEqual(Set(three.flatMap { $0 }), Set(100..<110))
    }

    func testPermutationIsAPermutation() {
        let p = QuestionSplit.permutation(count: 100, seed: 7)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertNotEqual(p, Array(0..<100))
    }
}

final class WikiTextTests: XCTestCase {
    func testSplitsAtTopLevelHeadingsOnly() {
        let text = " \n = Alpha = \n \n Para one . \n = = Section = = \n Para two \n = Beta = \n Beta text \n"
        let docs = WikiText.parse(text)
        XCTAssertEqual(docs.map(\.title), ["Alpha", "Beta"])
        XCTAssertEqual(docs[0].body, "Para one .\n= = Section = =\nPara two")
        XCTAssertEqual(docs[1].body, "Beta text")
    }

    func testRealValidationSplit() throws {
        let location = try DataTestSupport.location()
        let docs = try WikiText.load(location.wikiText2("valid"))
        XCTAssertEqual(docs.count, 60)
        XCTAssertEqual(docs[0].title, "Homarus gammarus")
        XCTAssertTrue(docs[0].body.hasPrefix("Homarus gammarus , known as the European lobster"))
        XCTAssertEqual(try WikiText.load(location.wikiText2("test")).count, 62)
    }
}

final class DataLocationTests: XCTestCase {
    func testEnvironmentOverridesAndPackageDefault() throws {
        let env = try DataLocation.resolve(environment: ["LOCUS_DATA": "/tmp/x"], searchFrom: [])
        XCTAssertEqual(env.root.path, "/tmp/x")
        let found = try DataLocation.resolve(
            environment: [:],
            searchFrom: [DataTestSupport.packageRoot.appendingPathComponent("Sources/LocusData")])
        XCTAssertEqual(found, DataLocation(packageRoot: DataTestSupport.packageRoot))
        XCTAssertEqual(found.truthfulQACSV.lastPathComponent, "TruthfulQA.csv")
    }
}

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(
            SHA256.hex(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(Data("abc".utf8)),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testIncrementalUpdatesMatchOneShot() {
        let bytes = Data((0..<1000).map { UInt8($0 % 251) })
        var s = SHA256()
        s.update(bytes.prefix(3))
        s.update(bytes.dropFirst(3).prefix(130))
        s.update(bytes.dropFirst(133))
        XCTAssertEqual(s.finalizeHex(), SHA256.hex(bytes))
    }

    /// FIPS 180-4's long-message vector (one million "a"), written to a file and read back in
    /// chunks whose size divides neither the file nor the 64-byte block, and in one chunk.
    func testFileIsHashedInChunks() throws {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("locus-sha256-\(ProcessInfo.processInfo.processIdentifier).txt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(repeating: UInt8(ascii: "a"), count: 1_000_000).write(to: url)
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        XCTAssertEqual(try SHA256.hex(ofFile: url, chunkSize: 4099), expected)
        XCTAssertEqual(try SHA256.hex(ofFile: url), expected)
        // A finalised digest does not end the message: more updates continue it.
        var s = SHA256()
        s.update("ab")
        _ = s.finalizeHex()
        s.update("c")
        XCTAssertEqual(s.finalizeHex(), SHA256.hex(Data("abc".utf8)))
        XCTAssertThrowsError(try SHA256.hex(ofFile: url.appendingPathExtension("missing"))) {
            XCTAssertTrue("\($0)".contains("missing"), "\($0)")
        }
    }
}
