import Foundation
import LocusCore

extension JSONValue {
    /// A vector of doubles rounded to 6 decimals (records stay readable and diff cleanly).
    public static func rounded(_ v: [Double]) -> JSONValue { .array(v.map { .number(($0 * 1e6).rounded() / 1e6) }) }
}
