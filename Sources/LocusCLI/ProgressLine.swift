import Foundation
import LocusRecipes

/// Writes a progress line on standard error the way `ProgressStyle.standardError` says: on a
/// terminal redrawn in place (`\r`, trailing spaces), in batch logs a plain timestamped line at
/// most every `$LOCUS_PROGRESS_SECONDS` seconds (default 30) and always for the final update.
final class ProgressLine: @unchecked Sendable {
    let style: ProgressStyle
    private var lastPlain: Date? = nil
    private(set) var drewInPlace = false

    init(style: ProgressStyle = .standardError) { self.style = style }

    func write(_ text: String, final: Bool = false) {
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
    func finish() {
        if drewInPlace { FileHandle.standardError.write(Data("\n".utf8)) }
        drewInPlace = false
    }
}
