import Foundation
import LocusRecipes

/// Writes a progress line on standard error the way `ProgressStyle.standardError` says: on a
/// terminal redrawn in place (`\r`, trailing spaces), in batch logs a plain timestamped line at
/// most every `$LOCUS_PROGRESS_SECONDS` seconds (default 30) and always for the final update.
public final class ProgressLine: @unchecked Sendable {
    public let style: ProgressStyle
    private var lastPlain: Date? = nil
    public private(set) var drewInPlace = false

    public init(style: ProgressStyle = .standardError) { self.style = style }

    /// Shows `text` (throttled in plain mode unless `final`).
    public func write(_ text: String, final: Bool = false) {
        switch style {
        case .interactive:
            drewInPlace = true
            FileHandle.standardError.write(Data(("\r" + text + "   ").utf8))
        case .plain(let interval):
            let now = Date()
            if !final, let last = lastPlain, now.timeIntervalSince(last) < interval { return }
            lastPlain = now
            FileHandle.standardError.write(Data((ProgressBar.timestamp(now) + " " + text + "\n").utf8))
        }
    }

    /// Ends an in-place line (a newline on a terminal; nothing in plain mode).
    public func finish() {
        if drewInPlace { FileHandle.standardError.write(Data("\n".utf8)) }
        drewInPlace = false
    }
}

/// A progress line with rate and ETA on stderr, redrawn at most 4 times a second on a terminal
/// (plain lines in batch logs: `ProgressLine`).
public final class ETAProgress: @unchecked Sendable {
    public let label: String
    public let unit: String
    public let start = Date()
    private var lastDraw = Date.distantPast
    private let output = ProgressLine()

    public init(label: String, unit: String) {
        self.label = label
        self.unit = unit
    }

    /// `done` of `total` units, with rate and ETA (at most 4 redraws a second).
    public func update(_ done: Int, _ total: Int, extra: String = "") {
        let now = Date()
        guard done == total || now.timeIntervalSince(lastDraw) > 0.25 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = done > 0 ? Double(total - done) / rate : .nan
        var line = String(
            format: "%@: %d/%d %@ (%.0f%%)  %.1f %@/s  elapsed %@  ETA %@", label, done, total,
            unit, 100 * Double(done) / Double(max(total, 1)), rate, unit,
            Self.clock(elapsed), Self.clock(eta))
        if !extra.isEmpty { line += "  " + extra }
        output.write(line, final: done == total)
    }

    public func finish() { output.finish() }

    /// `m:ss` or `h:mm:ss`; `--:--` when not finite.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Progress with an ETA on stderr, at most every half second.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public let start = Date()
    var last = Date.distantPast
    private let output = ProgressLine()

    public init(label: String) { self.label = label }

    /// `done` of `total`, elapsed and ETA (at most every half second, always the last).
    public func update(_ done: Int, _ total: Int) {
        let now = Date()
        guard now.timeIntervalSince(last) > 0.5 || done == total else { return }
        last = now
        let elapsed = now.timeIntervalSince(start)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        output.write(String(format: "%@: %d/%d  %.0fs elapsed, ETA %.0fs", label, done, total, elapsed, eta), final: done == total)
    }

    public func finish() { output.finish() }
}
