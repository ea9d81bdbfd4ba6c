import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How progress is shown: redrawn in place on a terminal, or — in batch logs (Slurm output
/// files, pipes), where `\r` and ESC sequences are noise — one plain timestamped line at most
/// every `interval` seconds, and always the final update.
public enum ProgressStyle: Sendable, Equatable {
    case interactive
    case plain(interval: Double)

    /// Seconds between plain progress lines: `$LOCUS_PROGRESS_SECONDS`, default 30.
    public static var plainInterval: Double {
        ProcessInfo.processInfo.environment["LOCUS_PROGRESS_SECONDS"].flatMap(Double.init).map { max(0, $0) } ?? 30
    }

    /// Interactive when standard error is a terminal, else plain.
    public static var standardError: ProgressStyle {
        isatty(STDERR_FILENO) == 1 ? .interactive : .plain(interval: plainInterval)
    }
}

/// The one progress reporter of Locus: a line with done/total, percentage, rate, elapsed time
/// and ETA on standard error, for every pass over data (probing, tracing, scrubbing, analyses,
/// evaluation). On a terminal the line is redrawn in place at most every `minimumInterval`
/// seconds; otherwise (`ProgressStyle.plain`) a timestamped line is printed at most every
/// `interval` seconds, and always for the final update. Safe to update from several threads.
///
///     probe: 120/817 prompts (15%)  3.2 prompts/s  elapsed 0:37  ETA 3:38
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public let unit: String
    public let style: ProgressStyle
    private let minimumInterval: Double
    private let output: @Sendable (String) -> Void
    private let lock = NSLock()
    private var start = Date()
    private var lastDraw = Date.distantPast
    private var lastPlain: Date? = nil
    private var drewInPlace = false

    /// - Parameters:
    ///   - unit: what is counted ("prompts", "runs"); empty prints counts alone.
    ///   - output: where lines go (standard error by default; tests pass a collector).
    public init(
        label: String, unit: String = "", style: ProgressStyle = .standardError, minimumInterval: Double = 0.25,
        output: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }
    ) {
        self.label = label
        self.unit = unit
        self.style = style
        self.minimumInterval = minimumInterval
        self.output = output
    }

    /// Reports `done` of `total` finished (usable as a `(Int, Int) -> Void` progress callback).
    public func update(_ done: Int, _ total: Int) { update(done, total, extra: "") }

    /// Reports `done` of `total` finished; `extra` is appended to the line.
    public func update(_ done: Int, _ total: Int, extra: String) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let final = done >= total
        guard final || now.timeIntervalSince(lastDraw) >= minimumInterval else { return }
        lastDraw = now
        var line = Self.line(
            label: label, unit: unit, done: done, total: total, elapsed: now.timeIntervalSince(start))
        if !extra.isEmpty { line += "  " + extra }
        write(line, at: now, final: final)
    }

    /// Shows a line of the caller's own (e.g. a training step's loss and ETA) in the reporter's
    /// style: in place on a terminal; in plain mode at most every `interval` seconds, and always
    /// when `final`.
    public func show(_ text: String, final: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        write(text, at: Date(), final: final)
    }

    /// Ends an in-place line (a newline on a terminal; nothing in plain mode).
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drewInPlace { output("\n") }
        drewInPlace = false
    }

    private func write(_ text: String, at now: Date, final: Bool) {
        switch style {
        case .interactive:
            drewInPlace = true
            output("\r" + text + "\u{1B}[K")
        case .plain(let interval):
            if !final, let last = lastPlain, now.timeIntervalSince(last) < interval { return }
            lastPlain = now
            output(Self.timestamp(now) + " " + text + "\n")
        }
    }

    /// `label: done/total unit (pct%)  rate unit/s  elapsed m:ss  ETA m:ss`.
    public static func line(label: String, unit: String, done: Int, total: Int, elapsed: Double) -> String {
        let rate = Double(done) / max(elapsed, 1e-9)
        let eta = done > 0 ? Double(max(total - done, 0)) / rate : .nan
        let u = unit.isEmpty ? "" : " " + unit
        let perSecond = unit.isEmpty ? "/s" : " \(unit)/s"
        return String(
            format: "%@: %d/%d%@ (%.0f%%)  %.1f%@  elapsed %@  ETA %@", label, done, total, u,
            100 * Double(done) / Double(max(total, 1)), rate, perSecond, clock(elapsed), clock(eta))
    }

    /// `m:ss`, or `h:mm:ss` from an hour; `--:--` when unknown.
    public static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
            : String(format: "%d:%02d", s / 60, s % 60)
    }

    /// `2026-11-30T12:00:00Z`, for plain lines in batch logs.
    public static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}
