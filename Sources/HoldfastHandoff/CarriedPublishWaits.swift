public import HoldfastAPI
public import HoldfastRooms

/// The server API publishes that handed-over connections await, matched with the rooms that hold their messages:
/// each room is started with its answers by ticket, and the API service numbers its own tickets above every one
/// carried.
///
/// A wait whose message no handed-over room holds pending (which the old process's quiescent pause rules out) is
/// answered "not stored" at once, so its client retries (with its `client_id`) rather than wait for an answer that
/// cannot come.
public struct CarriedPublishWaits {
    /// Called with the room's outcome for one ticket.
    public typealias Answer = @Sendable (PublishOutcome) -> Void

    private var byTopic: [String: [UInt64: Answer]] = [:]
    /// The highest ticket carried, by a room or a wait.
    public let lastTicket: UInt64

    /// Resumes `publishes` (see ``PublishWait/resume()``), matches their rooms' answers with `rooms`, and has
    /// `service` number its tickets above every one carried.
    public init(_ publishes: [PublishWait], rooms: [RoomSnapshot], numbering service: APIService?) {
        let waits = publishes.flatMap { wait in
            wait.resume().map { item -> (topic: String, ticket: UInt64, answer: Answer) in
                (item.topic, item.ticket, { wait.finish(item.index, $0.apiResult) })
            }
        }
        var pending: [String: Set<UInt64>] = [:]
        for room in rooms { pending[room.topic, default: []].formUnion(room.pending.compactMap(\.ticket)) }
        var orphans: [Answer] = []
        for wait in waits {
            if pending[wait.topic]?.contains(wait.ticket) == true {
                byTopic[wait.topic, default: [:]][wait.ticket] = wait.answer
            } else {
                orphans.append(wait.answer)
            }
        }
        lastTicket = max(pending.values.joined().max() ?? 0, waits.map(\.ticket).max() ?? 0)
        service?.continueTickets(after: lastTicket)
        for answer in orphans { answer(.failed) }
    }

    /// The answers `topic`'s room gives, by ticket.
    public func answers(for topic: String) -> [UInt64: Answer] { byTopic[topic] ?? [:] }
}
