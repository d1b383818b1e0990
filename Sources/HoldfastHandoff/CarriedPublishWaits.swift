public import HoldfastRooms

/// The server API publishes that handed-over connections await, matched with the rooms that hold their messages:
/// each room is started with its answers by ticket, and the new process numbers its own tickets above every one
/// carried (``lastTicket``).
///
/// A wait whose message no handed-over room holds pending (which the old process's quiescent pause rules out) is
/// an ``orphans`` entry: answered "not stored" at once, so its client retries (with its `client_id`) rather than
/// wait for an answer that cannot come.
public struct CarriedPublishWaits {
    /// Called with the room's outcome for one ticket.
    public typealias Answer = @Sendable (PublishOutcome) -> Void

    private var byTopic: [String: [UInt64: Answer]] = [:]
    /// The answers no room will give.
    public private(set) var orphans: [Answer] = []
    /// The highest ticket carried, by a room or a wait.
    public let lastTicket: UInt64

    /// Matches `waits` (room, ticket, answer) with `rooms`.
    public init(_ waits: [(topic: String, ticket: UInt64, answer: Answer)], rooms: [RoomSnapshot]) {
        var pending: [String: Set<UInt64>] = [:]
        for room in rooms { pending[room.topic, default: []].formUnion(room.pending.compactMap(\.ticket)) }
        for wait in waits {
            if pending[wait.topic]?.contains(wait.ticket) == true {
                byTopic[wait.topic, default: [:]][wait.ticket] = wait.answer
            } else {
                orphans.append(wait.answer)
            }
        }
        lastTicket = max(pending.values.joined().max() ?? 0, waits.map(\.ticket).max() ?? 0)
    }

    /// The answers `topic`'s room gives, by ticket.
    public func answers(for topic: String) -> [UInt64: Answer] { byTopic[topic] ?? [:] }
}
