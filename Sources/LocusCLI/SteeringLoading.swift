import Foundation
import LocusExperiments
import LocusData
import LocusModel
import LocusSteering

/// Loading a steering file for a command that applies it: the file is checked against the model
/// (head width, heads; `SteeringFile.load(_:for:)`) before any hook touches a buffer, and its
/// record (`OUTPUT.json` beside it) is read for the model fingerprint.
enum SteeringLoading {
    /// The record beside a steering file (`x.safetensors` → `x.json`).
    static func recordURL(of file: URL) -> URL {
        file.deletingPathExtension().appendingPathExtension("json")
    }

    /// Reads the record beside `file`; the error names both files when it is missing or unreadable.
    static func record(of file: URL) throws -> SteeringRecordSummary {
        let url = recordURL(of: file)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RunFailure(
                "\(url.path): cannot read the record of steering file \(file.path) "
                    + "(`locus steer` writes it beside the .safetensors): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(SteeringRecordSummary.self, from: data) } catch {
            throw RunFailure("\(url.path): not a `locus steer` record (\(error))")
        }
    }

    /// The steering file at `path`, checked against `lm`. When its record is present and names
    /// another model fingerprint, prints a warning (`strict`: throws instead).
    static func load(_ path: String, for lm: LanguageModel, strict: Bool = false) throws -> SteeringFile {
        let url = URL(fileURLWithPath: path)
        let file = try SteeringFile.load(url, for: lm.config)
        if FileManager.default.fileExists(atPath: recordURL(of: url).path) || strict {
            let record = try record(of: url)
            let sha = try SHA256.hex(ofCheckpoint: lm.url)
            if record.modelSHA256 != sha {
                let message =
                    "\(path) was trained on model sha256 \(record.modelSHA256), not this model (\(sha))"
                if strict { throw RunFailure(message) }
                printError("warning: \(message)")
            }
        } else {
            printError("warning: \(path) has no record beside it; cannot check which model it was trained on")
        }
        return file
    }
}
