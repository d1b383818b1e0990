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

    /// Connections whose only change since staging is output sent as that output alone
    /// (``HandoffFormat/connectionOutputRecord``), applied to the staged copy.
    public static let stagedConnectionOutput = HandoffFeatures(rawValue: 1 << 1)

    /// Connections whose change since staging is no more than reading (unprocessed input, the session's heartbeat
    /// time and rate window) and output sent as that progress (``HandoffFormat/connectionProgressRecord``), applied
    /// to the staged copy. Taken only with ``stagedConnectionOutput`` (the copy it applies to is the one kept for it).
    public static let stagedConnectionProgress = HandoffFeatures(rawValue: 1 << 2)

    /// Everything this binary writes and reads.
    public static let supported: HandoffFeatures = [
        .stagedRoomValues, .stagedConnectionOutput, .stagedConnectionProgress,
    ]

    /// The environment variable naming features this process neither offers nor accepts (a number, as in the
    /// offer): a build without them, for trying an upgrade to or from one. Never passed on to the next process.
    public static let withheldVariable = "HOLDFAST_HANDOFF_FEATURES_WITHHELD"

    /// What this process offers and accepts: ``supported`` less what `environment` withholds (and less
    /// ``stagedConnectionProgress`` when ``stagedConnectionOutput`` is withheld: it applies to the copies kept for it).
    public static func own(in environment: [String: String]) -> HandoffFeatures {
        let withheld = environment[withheldVariable].flatMap { UInt64($0) }.map(HandoffFeatures.init) ?? []
        let own = supported.subtracting(withheld)
        return own.contains(.stagedConnectionOutput) ? own : own.subtracting(.stagedConnectionProgress)
    }

    /// The environment variable carrying the offer: `<offering pid>:<features>`.
    public static let offerVariable = "HOLDFAST_HANDOFF_FEATURES"

    /// The environment entry a process (`pid`) starts its successor with, offering `features`.
    public static func offer(from pid: Int32, _ features: HandoffFeatures = .supported) -> String {
        "\(offerVariable)=\(pid):\(features.rawValue)"
    }

    /// What the parent process (`parent`) offered this one, limited to what this process takes (``own(in:)``);
    /// empty when the entry is absent, unreadable or from another process.
    public static func offered(in environment: [String: String], parent: Int32) -> HandoffFeatures {
        guard let text = environment[offerVariable] else { return [] }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, Int32(parts[0]) == parent, let bits = UInt64(parts[1]) else { return [] }
        return HandoffFeatures(rawValue: bits).intersection(own(in: environment))
    }
}
