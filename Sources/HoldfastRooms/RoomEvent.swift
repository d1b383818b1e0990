public import HoldfastJSON

/// What happens to a room. ``RoomState/handle(_:now:)`` takes them one at a time, in the order the room's
/// mailbox delivers them.
public enum RoomEvent: Sendable {
    /// A connection joins with the client's join payload (`device`, `last_seen_id`, ...).
    case join(Member, ref: String?, payload: JSONValue)
    /// A connection leaves (phx_leave, a rejoin elsewhere, or the socket closed).
    case leave(connectionID: UInt64)
    /// A chat message from a member.
    case chat(connectionID: UInt64, body: String, clientID: JSONValue?, ref: String?)
    /// A typing notice from a member, relayed to the others.
    case typing(connectionID: UInt64)
    /// Any other client event of a member, for the channel handler (``RoomChannel/handleIn(event:payload:context:)``).
    case handleIn(connectionID: UInt64, event: String, payload: JSONValue, ref: String?)
    /// A chat message from the server API: checked, numbered, stored and broadcast like a member's, then
    /// answered with ``RoomAction/answerPublish(ticket:_:)``.
    case publish(PublishRequest)
    /// An event from the server API broadcast to every member as is (not stored).
    case publishEvent(event: String, payload: JSONValue)
    /// A member's push was refused before it reached the room (a malformed payload, a limit): the error reply
    /// goes out through the room, so it cannot overtake the replies to the member's earlier pushes.
    case refuse(connectionID: UInt64, ref: String?, response: JSONValue)
    /// The answer to ``RoomAction/readHistory(_:)``: the stored messages after the request's id.
    case historyRead(HistoryRequest, messages: [ChatMessage], complete: Bool)
    /// The commit asked for by ``RoomAction/scheduleCommit`` is due. `held`: a binary upgrade holds commits
    /// around its pause, so the pending messages stay pending (they go to the new process instead).
    case commitDue(held: Bool)
    /// The batch handed out by ``RoomAction/persist(batch:messages:)`` is durable, or failed.
    case committed(batch: Int, durable: Bool)
    /// Sequenced by the store: the batch handed out by ``RoomAction/persist(batch:messages:)`` got these ids, in
    /// order (nil: that message was not stored). Its senders are answered; members get it with ``delivered(_:upTo:)``.
    case sequenced(batch: Int, ids: [Int64?])
    /// Sequenced by the store: messages in id order as the store delivers them to every node; those above
    /// ``RoomState/lastID`` are broadcast, then the room's last id becomes at least `upTo`.
    case delivered([ChatMessage], upTo: Int64)
    /// The time asked for by ``RoomAction/wakeAt(_:)`` came: the presence window ends, or a handler timer is due.
    case timer
    /// The room's actor restarted after a failure; the state was rebuilt with
    /// ``RoomState/init(recovering:lastStoredID:)``: every member gets the presence again.
    case restarted
    /// Binary upgrade, old process, while serving: copy the presence (staging).
    case stage
    /// Binary upgrade, old process, in the pause: export the room, with its presence only if it moved since the
    /// staged copy of generation `stagedPresence`, and its members' assigns marked as staged (not copied, nor
    /// compared by the encoder) if no seat moved since the staged copy of seat generation `stagedSeats` (given only
    /// when the new process takes the rooms as changes since their staged values).
    case export(stagedPresence: UInt64?, stagedSeats: UInt64? = nil)
    /// Binary upgrade, new process: the room was imported; flush the presence window it carried and commit what
    /// the old process left pending.
    case resumeAfterHandoff
}

/// A chat message published through the server API.
public struct PublishRequest: Sendable, Equatable {
    /// The `user` the message is stored and broadcast under.
    public var user: String
    public var body: String
    public var clientID: String?
    /// Names the caller waiting for the answer.
    public var ticket: UInt64

    public init(user: String, body: String, clientID: String?, ticket: UInt64) {
        self.user = user
        self.body = body
        self.clientID = clientID
        self.ticket = ticket
    }
}

/// A recovering join's read of the history: the messages after `afterID`, at most `limit`.
public struct HistoryRequest: Sendable, Equatable {
    public var member: Member
    /// The `ref` of the join push, for the reply.
    public var ref: String?
    public var afterID: Int64
    public var limit: Int

    public init(member: Member, ref: String?, afterID: Int64, limit: Int) {
        self.member = member
        self.ref = ref
        self.afterID = afterID
        self.limit = limit
    }
}
