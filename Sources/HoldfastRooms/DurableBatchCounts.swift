/// What happened to a room's durable batches (``RoomState/batchCounts``): how many were held for a later batch
/// (``RoomConfiguration/durableBatches``), how many of those went out joined with it, and why the others were
/// released alone or never held. With ``RoomConfiguration/batchCountsEvery`` the room logs them, so a run shows
/// which regime a room's pipeline is in: batches held and joined, or one batch at a time.
public struct DurableBatchCounts: Sendable, Equatable {
    /// Why a held batch went out without the batch it waited for, or why a durable batch was not held.
    public enum Reason: Int, Sendable, CaseIterable {
        /// Released with the batch it waited for, in one run: the joined case.
        case joined
        /// The batch it waited for failed.
        case laterFailed
        /// `.others`: a second durable batch came first (one batch is held at a time).
        case secondDurable
        /// A presence diff or `presence_state`, a handler's or the API's broadcast, a push or a close.
        case delivery
        /// Commits held for an upgrade, the upgrade's export, or a restart.
        case upgradeOrRestart
        /// Not held: the batch a held one waited for (both go out now, in one run).
        case endsHold
        /// Not held: no later batch out for persistence and no messages waiting for a queued commit.
        case nothingLater
        /// Not held: the setting is off, or the room is sequenced by its store.
        case setting

        var label: String {
            switch self {
            case .joined: "joined"
            case .laterFailed: "later-failed"
            case .secondDurable: "second-durable"
            case .delivery: "delivery"
            case .upgradeOrRestart: "upgrade-or-restart"
            case .endsHold: "not-held-ends-hold"
            case .nothingLater: "not-held-nothing-later"
            case .setting: "not-held-setting"
            }
        }
    }

    /// Batches reported durable, and the messages in them.
    public var durable = 0
    public var messages = 0
    /// Batches held: because a later batch was out for persistence, or because messages accepted since were
    /// waiting for their queued commit.
    public var heldForInFlight = 0
    public var heldForPending = 0
    /// Commits handed out while an earlier batch of the room was still out (the pipeline ran ahead).
    public var commitsAhead = 0
    /// Commits that waited for the room's fan-out to be written (``DurableBatchJoining/paced``).
    public var commitsPaced = 0
    /// Of those, the waits ended before the fan-out's last writes, once the messages waiting refilled the room's
    /// window (``DurableBatchJoining/paced``).
    public var pacedEarly = 0
    /// Commits that did not wait after a fan-out because the room was behind (``DurableBatchJoining/paced``): the
    /// messages waiting already filled its window, or a durable batch was held for the next commit.
    public var pacingSkipped = 0
    /// Held batches by how they went out, and durable batches not held by why (``Reason``).
    public var byReason = [Int](repeating: 0, count: Reason.allCases.count)

    public init() {}

    /// Batches held, for any reason.
    public var held: Int { heldForInFlight + heldForPending }

    /// Counts a durable batch of `messages` messages.
    mutating func countDurable(messages count: Int) {
        durable += 1
        messages += count
    }

    /// Counts `reason` once.
    mutating func count(_ reason: Reason) { byReason[reason.rawValue] += 1 }

    /// One line for the log: every count, `name=value`.
    public var summary: String {
        var fields = [
            "durable=\(durable)", "messages=\(messages)", "held=\(held)", "held-in-flight=\(heldForInFlight)",
            "held-pending=\(heldForPending)", "commits-ahead=\(commitsAhead)", "commits-paced=\(commitsPaced)",
            "paced-early=\(pacedEarly)", "pacing-skipped=\(pacingSkipped)",
        ]
        for reason in Reason.allCases { fields.append("\(reason.label)=\(byReason[reason.rawValue])") }
        return fields.joined(separator: " ")
    }
}
