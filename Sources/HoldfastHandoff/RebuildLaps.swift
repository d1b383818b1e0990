public import HoldfastCore

/// Where the new process's `rebuild` (from the final stream's header to DONE) goes, part by part: each ``lap(_:)``
/// charges the time since the previous one to a part. Logged with the takeover, so a slow pause can be told apart
/// into waiting for the old process's records, applying them, and rebuilding the rooms.
public struct RebuildLaps: Sendable, CustomStringConvertible {
    /// The parts of a rebuild.
    public enum Part: Int, CaseIterable, Sendable {
        /// Waiting for and reading the next record (overlaps the old process's `send`).
        case read
        /// Connections sent whole, rebuilt or updated in place.
        case connections
        /// Connection output records applied to staged copies.
        case outputs
        /// Connection progress records applied to staged copies.
        case progress
        /// Closed keys and anything else.
        case other
        /// Room records decoded.
        case roomRecords
        /// Queued output scheduled for writing once the loops run.
        case flush
        /// The handler plugin's state taken over.
        case handlers
        /// The rooms started from their records, with their members and presence.
        case rooms
        /// The listeners installed.
        case listeners
    }

    private var nanoseconds = [UInt64](repeating: 0, count: Part.allCases.count)
    private var counts = [Int](repeating: 0, count: Part.allCases.count)
    private var last: UInt64

    /// Laps counted from `start` (monotonic nanoseconds).
    public init(since start: UInt64 = MonotonicClock.nowNanoseconds()) { last = start }

    /// Charges the time since the previous lap to `part`.
    public mutating func lap(_ part: Part) {
        let now = MonotonicClock.nowNanoseconds()
        nanoseconds[part.rawValue] &+= now &- last
        counts[part.rawValue] += 1
        last = now
    }

    /// Milliseconds spent in `part`.
    public func milliseconds(_ part: Part) -> Double { Double(nanoseconds[part.rawValue]) / 1e6 }

    /// `part=ms/laps` for every part that took a lap, e.g. `read=3.2/812,outputs=4.1/800,rooms=20.3/1`.
    public var description: String {
        Part.allCases.filter { counts[$0.rawValue] > 0 }.map {
            let tenths = (nanoseconds[$0.rawValue] + 50_000) / 100_000
            return "\($0)=\(tenths / 10).\(tenths % 10)/\(counts[$0.rawValue])"
        }.joined(separator: ",")
    }
}

extension RebuildLaps.Part {
    /// The part a record of the final stream (by its first byte) is charged to once applied.
    public init(record kind: UInt8?) {
        switch kind {
        case HandoffFormat.finalConnectionRecord: self = .connections
        case HandoffFormat.connectionOutputRecord: self = .outputs
        case HandoffFormat.connectionProgressRecord: self = .progress
        default: self = .other
        }
    }
}
