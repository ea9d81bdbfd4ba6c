@_exported import LocusCore

// Until the CLI's executors move into a library (branch `executors`), Slurm.swift builds
// objects from `JSONValue.Field` lists; removed once the CLI uses `JSONValue.object(_:)` pairs.
extension JSONValue {
    public struct Field {
        public var key: String
        public var value: JSONValue
        public init(_ key: String, _ value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public static func object(_ fields: [Field]) -> JSONValue { .object(fields.map { ($0.key, $0.value) }) }
}

/// Until the CLI's report command is updated (after the executors move): `Statistics`.
public enum SweepStatistics {
    public static func mean(_ x: [Double]) -> Double { Statistics.mean(x) }
}
