/// Decides when a topic's accumulated presence changes are sent as `presence_diff`: immediately (window 0) or
/// at most once per window. The server calls ``changeRecorded(now:)`` after each change, arms its timer for
/// the returned time, and calls ``flushed()`` when the timer ran and the diff went out.
///
/// The window throttles with a leading edge: the first change after a quiet window is sent at once (a lone
/// join shows up without delay), and changes arriving while the window is open wait for its end, so a burst
/// costs at most one diff per window. Times are milliseconds on the server's monotonic clock.
public struct PresenceDiffCoalescer: Sendable, Equatable {
    /// The minimum spacing of flushes, in milliseconds.
    public let windowMilliseconds: Int64
    /// When the armed flush runs, or nil when none is armed.
    public private(set) var scheduledAt: Int64?
    /// When the last flush was due, or nil before the first.
    public private(set) var lastFlushAt: Int64?

    /// Creates a coalescer; negative windows count as 0.
    public init(windowMilliseconds: Int64) {
        self.windowMilliseconds = max(0, windowMilliseconds)
    }

    /// A change happened at `now`.
    /// - Returns: when the diff should be flushed (`now` when the window is 0 or has passed), or nil if a flush
    ///   is already scheduled and will carry this change too.
    public mutating func changeRecorded(now: Int64) -> Int64? {
        guard scheduledAt == nil else { return nil }
        var due = now
        if let last = lastFlushAt, windowMilliseconds > 0 {
            due = max(now, last + windowMilliseconds)
        }
        scheduledAt = due
        return due
    }

    /// The scheduled flush ran. The window restarts at the time the flush was due.
    public mutating func flushed() {
        guard let due = scheduledAt else { return }
        lastFlushAt = due
        scheduledAt = nil
    }

    /// The scheduled flush ran at `now` (later than due, say, on a busy loop); the window restarts at `now`.
    public mutating func flushed(now: Int64) {
        guard scheduledAt != nil else { return }
        lastFlushAt = now
        scheduledAt = nil
    }
}
