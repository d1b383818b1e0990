/// Optional handoff records that both processes must know, agreed before staging. The old process offers the
/// ones it writes in the environment it starts the new one with; the new one accepts in READY the ones it reads
/// too. A build without a feature neither offers nor accepts it, so it never receives a record it cannot read,
/// whichever side it is on.
///
/// The offer names the offering process: a build that does not know the variable passes it on unread to the
/// process it starts in turn, and that process must not take it for its own parent's offer.
public struct HandoffFeatures: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Rooms staged with their members' assigns and their messages' authors (``HandoffFormat/stagedRoomValuesRecord``),
    /// and in the pause only what changed since (``HandoffFormat/roomChangesRecord``).
    public static let stagedRoomValues = HandoffFeatures(rawValue: 1 << 0)

    /// Everything this binary writes and reads.
    public static let supported: HandoffFeatures = [.stagedRoomValues]

    /// The environment variable carrying the offer: `<offering pid>:<features>`.
    public static let offerVariable = "HOLDFAST_HANDOFF_FEATURES"

    /// The environment entry a process (`pid`) starts its successor with.
    public static func offer(from pid: Int32) -> String { "\(offerVariable)=\(pid):\(supported.rawValue)" }

    /// What the parent process (`parent`) offered this one, limited to what this binary supports; empty when the
    /// entry is absent, unreadable or from another process.
    public static func offered(in environment: [String: String], parent: Int32) -> HandoffFeatures {
        guard let text = environment[offerVariable] else { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, Int32(parts[0]) == parent, let bits = UInt64(parts[1]) else { return [] }
        return HandoffFeatures(rawValue: bits).intersection(.supported)
    }
}
