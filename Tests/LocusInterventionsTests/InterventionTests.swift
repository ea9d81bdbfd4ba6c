// Where an `Intervention` fires in each evaluation context (no model needed): the standard
// placement (METHODS.md §2: answer tokens, last position, all tokens) and a position rule.

import LocusModel
import XCTest

@testable import LocusInterventions

final class InterventionTests: XCTestCase {
    /// Records the positions `make` is asked for, in order.
    final class Requests: @unchecked Sendable {
        var positions: [Positions] = []
        func make(_ p: Positions) -> [ActivationHook] {
            positions.append(p)
            return []
        }
    }

    func testStandardPlacement() {
        let requests = Requests()
        let edit = Intervention.standard(name: "iti", make: requests.make)
        XCTAssertEqual(edit.name, "iti")
        XCTAssertFalse(edit.editsPrompt)
        XCTAssertFalse(edit.prefixEditShared)
        XCTAssertEqual(edit.positions, StandardPositions.descriptions)
        _ = edit.hooks(.multipleChoice(promptLength: 7))
        _ = edit.hooks(.generation(promptLengths: [3, 5]))
        _ = edit.hooks(.sideEffects)
        _ = edit.multipleChoiceHooks?([4, 9])
        XCTAssertEqual(requests.positions, [.from([7]), .last, .all, .from([4, 9])])
    }

    func testPositionRuleAppliesInMultipleChoiceAndGeneration() {
        let requests = Requests()
        let edit = Intervention.positionRule(
            name: "steer", editsPrompt: true, description: "positions 0 and 1",
            rule: { lengths in .indices(lengths.map { $0 - 1 }) }, make: requests.make)
        XCTAssertTrue(edit.editsPrompt)
        XCTAssertTrue(edit.prefixEditShared, "a rule's prefix positions do not depend on the prompt")
        XCTAssertEqual(edit.positions["multiple_choice"], "positions 0 and 1")
        XCTAssertEqual(edit.positions["generation"], "positions 0 and 1")
        XCTAssertEqual(edit.positions["side_effects"], StandardPositions.sideEffects)
        _ = edit.hooks(.multipleChoice(promptLength: 7))
        _ = edit.hooks(.generation(promptLengths: [3, 5]))
        _ = edit.hooks(.sideEffects)
        _ = edit.multipleChoiceHooks?([4, 9])
        XCTAssertEqual(requests.positions, [.indices([6]), .indices([2, 4]), .all, .indices([3, 8])])
    }
}
