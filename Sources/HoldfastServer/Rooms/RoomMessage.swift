import HoldfastCluster
import HoldfastHandoff
import HoldfastHistory
import HoldfastJSON
import HoldfastRooms

/// What a room's mailbox carries; every message is handled on the room's home loop, one at a time.
enum RoomMessage: Sendable {
    /// A connection joins (the member carries its identity and where to deliver).
    case join(RoomMember, ref: String?, payload: JSONValue)
    /// A connection leaves (phx_leave, a rejoin, or the socket closed).
    case leave(connectionID: UInt64)
    /// A client event of a member (`new_msg`, `typing`, any event of the channel handler).
    case handleIn(connectionID: UInt64, event: String, payload: JSONValue, ref: String?)
    /// Server API: a chat message to store and broadcast; `answer` gets the outcome once it is durable.
    case publish(PublishRequest, answer: @Sendable (PublishOutcome) -> Void)
    /// Server API: an event broadcast to the members as is.
    case publishEvent(event: String, payload: JSONValue)
    /// Server API: `body` reads the room's state and its loop's history, on the room's loop.
    case inspect(@Sendable (RoomState, HistoryStore) -> Void)
    /// A member's push was refused by its session: the error reply, in order with the room's replies.
    case refuse(connectionID: UInt64, ref: String?, response: JSONValue)
    /// Internal: make the pending chat messages durable (sent by the room to itself, so it queues behind the
    /// messages already in the mailbox and is held while the room is suspended for an upgrade).
    case commitPending
    /// Internal: a time the room asked for came (the presence coalescing window ended).
    case timer
    /// Internal: the history writer committed (or failed) the batch with this number.
    case committed(batch: Int, durable: Bool)
    /// Binary upgrade, old process, while serving: add this room's presence to the sink (staging).
    case stageForHandoff(RoomExportSink)
    /// Binary upgrade, old process, in the pause: add this room's state to the sink (the process is quiescent by
    /// then), its presence only if it moved since the staged `stagedPresence` generation (see `RoomEvent.export`).
    case exportForHandoff(RoomExportSink, stagedPresence: UInt64?, stagedSeats: UInt64?)
    /// Binary upgrade, new process: the room was rebuilt from a handoff; flush the presence window it carried.
    case resumeAfterHandoff
    /// Clustered: bus traffic and Redis's answers for this room (``ClusterRoom``).
    case cluster(ClusterRoomInput)
}
