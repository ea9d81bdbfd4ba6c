import Foundation
import LocusTestSupport
import XCTest

/// `locus bench forward|decode --json` on a Hugging Face directory (the GPT-2 family fixture:
/// LayerNorm, learned positions, GELU, biases, tied head), the form scripts/bench/compare.sh
/// reads: wall and CPU seconds of every timed run, and the throughput of the median one.
final class BenchCommandTests: XCTestCase {
    let gpt2 = TestEnvironment.packageRoot.appendingPathComponent("Tests/LocusModelTests/Fixtures/families/gpt2")

    private func benchJSON(_ arguments: [String]) throws -> [String: Any] {
        let r = try CLI.run(["bench"] + arguments + ["--model", gpt2.path, "--threads", "1", "--json"])
        XCTAssertEqual(r.status, 0, r.output)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }), r.output)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], String(line))
    }

    private func checkTimes(_ json: [String: Any], benchmark: String, count: Int, runs: Int) throws {
        XCTAssertEqual(json["benchmark"] as? String, benchmark)
        XCTAssertEqual(json["threads"] as? Int, 1)
        let wall = try XCTUnwrap(json["runs"] as? [Double])
        let cpu = try XCTUnwrap(json["cpu_runs"] as? [Double], "\(json)")
        XCTAssertEqual(wall.count, runs)
        XCTAssertEqual(cpu.count, runs)
        // One thread: a run's CPU time cannot exceed its wall time (1 ms of clock slack).
        for (w, c) in zip(wall, cpu) {
            XCTAssertGreaterThan(c, 0)
            XCTAssertLessThanOrEqual(c, w + 1e-3, "cpu \(c) s > wall \(w) s")
        }
        let medianCPU = try XCTUnwrap(json["cpu_seconds"] as? Double)
        XCTAssertEqual(medianCPU, cpu.sorted()[runs / 2])
        let seconds = try XCTUnwrap(json["seconds"] as? Double)
        XCTAssertEqual(seconds, wall.sorted()[runs / 2])
        let rate = try XCTUnwrap(json["tokens_per_second"] as? Double)
        XCTAssertEqual(rate, Double(count) / seconds, accuracy: 1e-9 * rate)
    }

    func testForwardAndDecodeOnAHuggingFaceDirectoryReportWallAndCPUSeconds() throws {
        let forward = try benchJSON(["forward", "--batch", "2", "--tokens", "5", "--runs", "3"])
        try checkTimes(forward, benchmark: "forward", count: 10, runs: 3)
        XCTAssertEqual(forward["batch"] as? Int, 2)
        let decode = try benchJSON(["decode", "--tokens", "4", "--runs", "3", "--prompt", "hi there"])
        try checkTimes(decode, benchmark: "decode", count: 4, runs: 3)
    }

    /// `--activation-quantization` reaches the process and its JSON record (default `decode`);
    /// an unknown value is refused with a message naming the option and the allowed values.
    func testActivationQuantizationOptionIsRecordedAndChecked() throws {
        let standard = try benchJSON(["forward", "--tokens", "4", "--runs", "1"])
        XCTAssertEqual(standard["activation_quantization"] as? String, "decode")
        let all = try benchJSON(["forward", "--tokens", "4", "--runs", "1", "--activation-quantization", "all"])
        XCTAssertEqual(all["activation_quantization"] as? String, "all")
        let bad = try CLI.run(["bench", "forward", "--model", gpt2.path, "--activation-quantization", "fast"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("--activation-quantization"), bad.output)
        XCTAssertTrue(bad.output.contains("decode") && bad.output.contains("none"), bad.output)
    }
}
