import Foundation
import LocusCore

/// One line of a results file: a finished run (status "ok") or a failed one ("error").
///
///     {"format":"locus.run-record/1","runID":"…","status":"ok","spec":{…},"metrics":{…},
///      "seconds":12.3,"finished":"2026-11-23T19:00:00Z","shard":"0/1"}
public struct RunRecord: Sendable, Equatable {
    public static let format = "locus.run-record/1"

    public var runID: String
    public var status: String
    public var spec: RunSpec
    public var metrics: JSONValue
    public var error: String?
    public var seconds: Double
    public var finished: String
    public var shard: String
    /// The recipe whose identical run (same ID) this record copies (`locus run --reuse`).
    public var reusedFrom: String?

    public init(
        spec: RunSpec, status: String, metrics: JSONValue = .emptyObject, error: String? = nil,
        seconds: Double, finished: String, shard: String, reusedFrom: String? = nil
    ) {
        runID = spec.runID
        self.status = status
        self.spec = spec
        self.metrics = metrics
        self.error = error
        self.seconds = seconds
        self.finished = finished
        self.shard = shard
        self.reusedFrom = reusedFrom
    }

    public var isOK: Bool { status == "ok" }

    /// A metric as a number (nil if absent or not numeric).
    public func metric(_ name: String) -> Double? { metrics[name]?.number }

    public var json: JSONValue {
        var f: [(String, JSONValue)] = [
            ("format", .string(Self.format)), ("runID", .string(runID)),
            ("status", .string(status)), ("spec", spec.json), ("metrics", metrics),
        ]
        if let error { f.append(("error", .string(error))) }
        f += [
            ("seconds", .number(seconds)), ("finished", .string(finished)),
            ("shard", .string(shard)),
        ]
        if let reusedFrom { f.append(("reusedFrom", .string(reusedFrom))) }
        return .object(f)
    }

    public init(json: JSONValue) throws {
        guard json["format"]?.string == Self.format else {
            throw RecipeError(path: "format", "not a \(Self.format) record")
        }
        guard let status = json["status"]?.string, let spec = json["spec"] else {
            throw RecipeError(path: "", "record lacks status or spec")
        }
        self.init(
            spec: try RunSpec(json: spec), status: status, metrics: json["metrics"] ?? .emptyObject,
            error: json["error"]?.string, seconds: json["seconds"]?.number ?? 0,
            finished: json["finished"]?.string ?? "", shard: json["shard"]?.string ?? "",
            reusedFrom: json["reusedFrom"]?.string)
        if let id = json["runID"]?.string { runID = id }
    }
}
