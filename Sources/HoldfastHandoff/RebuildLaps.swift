public import HoldfastCore

/// Where the new process's `rebuild` (from the final stream's header to DONE) goes, part by part: each ``lap(_:)``
/// charges the time since the previous one to a part. Logged with the takeover, so a slow pause can be told apart
/// into waiting for the old process's records, applying them, and rebuilding the rooms. The process's CPU time is
/// read only at the laps of the parts done once (``Part/isOnce``), a system call each: ``cpuDescription``.
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

        /// A part lapped once per rebuild, not once per record: its lap reads the CPU clock too.
        public var isOnce: Bool { self == .flush || self == .handlers || self == .rooms || self == .listeners }
    }

    private var nanoseconds = [UInt64](repeating: 0, count: Part.allCases.count)
    private var counts = [Int](repeating: 0, count: Part.allCases.count)
    private var last: UInt64
    private var cpu = [UInt64](repeating: 0, count: Part.allCases.count)
    private var cpuLast = ProcessCPUClock.nowNanoseconds()

    /// Laps counted from `start` (monotonic nanoseconds); CPU time from now.
    public init(since start: UInt64 = MonotonicClock.nowNanoseconds()) { last = start }

    /// Charges the time since the previous lap to `part`.
    public mutating func lap(_ part: Part) {
        let now = MonotonicClock.nowNanoseconds()
        nanoseconds[part.rawValue] &+= now &- last
        counts[part.rawValue] += 1
        last = now
        guard part.isOnce else { return }
        let cpuNow = ProcessCPUClock.nowNanoseconds()
        cpu[part.rawValue] &+= cpuNow &- cpuLast
        cpuLast = cpuNow
    }

    /// The process's CPU milliseconds up to the lap of `part`, a part done once, since the lap before it of such a
    /// part (the first one, `flush`, takes every record before it: reading, decoding and applying them).
    public func cpuMilliseconds(_ part: Part) -> Double { Double(cpu[part.rawValue]) / 1e6 }

    /// `records=ms,handlers=ms,rooms=ms,listeners=ms`: the process's CPU time in the rebuild, `records` being every
    /// record of the final stream read and applied, with the flushes scheduled after them.
    public var cpuDescription: String {
        Part.allCases.filter { $0.isOnce && counts[$0.rawValue] > 0 }.map {
            let tenths = (cpu[$0.rawValue] + 50_000) / 100_000
            return "\($0 == .flush ? "records" : "\($0)")=\(tenths / 10).\(tenths % 10)"
        }.joined(separator: ",")
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
