import Foundation
import LocusTestSupport
import XCTest

/// Method modules reach weights and sites only through the family-neutral seam: no method
/// source names a family's type or case, or a pre-rename Llama type (issue 12 item 4).
final class MethodSeamSourceTests: XCTestCase {
    static let methodModules = [
        "LocusEditing", "LocusProbing", "LocusScrubbing", "LocusTracing", "LocusSteering",
        "LocusEvaluation", "LocusExperiments", "LocusInterventions",
    ]
    /// Family definition types, `ModelFamily` and its cases, the old llama-only type names.
    static let forbidden = try! NSRegularExpression(
        pattern: #"\b(LlamaFamily|Qwen2Family|Gemma3Family|GPT2Family|GPTJFamily|FamilyDefinition|FamilyRegistry|ModelFamily|LlamaModel|LlamaConfig|LlamaWeights|LlamaLayerWeights)\b|\.(llama|qwen2|gemma3|gpt2|gptj)\b"#)

    func testMethodModulesNameNoFamily() throws {
        var offences: [String] = []
        var files = 0
        for module in Self.methodModules {
            let folder = TestEnvironment.packageRoot.appendingPathComponent("Sources/\(module)")
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
            XCTAssertFalse(names.isEmpty, module)
            for name in names {
                files += 1
                let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.trimmingCharacters(in: .whitespaces)
                    if code.hasPrefix("//") { continue }  // doc comments may name papers' models
                    let s = String(line)
                    if Self.forbidden.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil {
                        offences.append("Sources/\(module)/\(name):\(n + 1): \(code)")
                    }
                }
            }
        }
        XCTAssertGreaterThan(files, 50)
        XCTAssertEqual(offences, [], offences.joined(separator: "\n"))
    }

    /// The check itself catches what it is for.
    func testPatternCatchesFamilyNames() {
        for line in ["let x = GPT2Family.self", "if model.family == .gptj {", "let m: LlamaModel"] {
            XCTAssertNotNil(Self.forbidden.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
        for line in ["let w = layer.mlpOutputProjection", "model.config.family.displayName"] {
            XCTAssertNil(Self.forbidden.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), line)
        }
    }
}
