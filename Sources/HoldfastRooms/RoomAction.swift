public import HoldfastChannels
public import HoldfastJSON
public import HoldfastPresence

/// What the server must do after ``RoomState`` handled an event; performed in order.
public enum RoomAction: Sendable, Equatable {
    /// The member is in the room from now on: deliver broadcasts to its connection.
    case admit(Member)
    /// The member left the room: deliver nothing more to it.
    case dismiss(connectionID: UInt64)
    /// Answer a join: the reply, then the `extra` pushes (missed messages for a recovering client).
    case finishJoin(Member, ref: String?, result: JoinResult, extra: [PhoenixMessage])
    /// The room closed the member's channel (a kick, a stop): it gets `phx_close`; a `dismiss` follows.
    case close(Member, reason: String)
    /// Reply to a member's push (a chat message's ok with its id, or an error).
    case reply(Member, ref: String?, status: String, response: JSONValue)
    /// One push to one member.
    case push(Member, PhoenixMessage)
    /// A push to every member except some, encoded once per serializer version in use.
    case broadcast(RoomBroadcast)
    /// `presence_state` to members that joined within the window: the payload is encoded once for all of them,
    /// only the envelope (their join_ref) differs; it comes in the chunks the room keeps between changes.
    case sendPresenceState(to: [Member], payload: EncodedPresenceState)
    /// Read the history for a recovering join and answer with ``RoomEvent/historyRead(_:messages:complete:)``
    /// before anything else reaches the room.
    case readHistory(HistoryRequest)
    /// Queue ``RoomEvent/commitDue(held:)`` behind the messages already in the mailbox: one batch for all of
    /// them.
    case scheduleCommit
    /// ``DurableBatchJoining/paced``: queue ``RoomEvent/commitDue(held:)`` once the deliveries sent so far are
    /// written and what the members sent meanwhile is read (after the loop turn that writes them).
    case scheduleCommitAfterFanOut
    /// Make these messages durable and answer ``RoomEvent/committed(batch:durable:)``.
    case persist(batch: Int, messages: [ChatMessage])
    /// Deliver ``RoomEvent/timer`` at this monotonic time (ms); at once if it has passed.
    case wakeAt(Int64)
    /// The room's presence for staging a binary upgrade.
    case staged(StagedRoom)
    /// The room for a binary upgrade's pause; nil while messages are between the room and the history writer
    /// (the upgrade drains those first, so nil means it must give up and roll back).
    case exported(RoomSnapshot?)
    /// Something an operator should read.
    case log(RoomLogLevel, String)
    /// The answer to a ``RoomEvent/publish(_:)``.
    case answerPublish(ticket: UInt64, PublishOutcome)
    /// Who is in the room changed, counted per user (not per device): for webhooks.
    case membership(MembershipChange)
}

/// How a message published through the server API ended.
public enum PublishOutcome: Sendable, Equatable {
    /// Durable with this id, and broadcast.
    case stored(id: Int64)
    /// The chat handler refused it, for this reason.
    case refused(String)
    /// Storing it failed.
    case failed
}

/// A change of a room's membership counted per user: a user's first device joining adds the member, its last
/// device leaving removes it; the first member occupies the room, the last one leaving vacates it.
public enum MembershipChange: Sendable, Equatable {
    case occupied
    case memberAdded(user: String)
    case memberRemoved(user: String)
    case vacated
}

/// A broadcast as it leaves the room: the Phoenix text per serializer version that someone in the room reads.
public struct RoomBroadcast: Sendable, Equatable {
    public var event: String
    /// Serializer 1.0.0 text, if a member uses it.
    public var v1: [UInt8]?
    /// Serializer 2.0.0 text, if a member uses it.
    public var v2: [UInt8]?
    /// Members left out (the sender of a typing notice, joiners who get the whole state instead of a diff).
    public var except: Set<UInt64>
    /// Set: only these members receive it (a held batch's senders, served before the others; see
    /// ``DurableBatchJoining/others``), less ``except``.
    public var only: Set<UInt64>?
    /// How many members receive it.
    public var recipients: Int
    /// The payload itself, for a room whose presence crosses nodes (``RoomConfiguration/sequencedByStore``): its
    /// `presence_diff`s are the node's local changes, which the cluster stores even when no member here gets them.
    public var payload: JSONValue?

    public init(
        event: String, v1: [UInt8]?, v2: [UInt8]?, except: Set<UInt64>, recipients: Int, payload: JSONValue? = nil,
        only: Set<UInt64>? = nil
    ) {
        self.only = only
        self.event = event
        self.v1 = v1
        self.v2 = v2
        self.except = except
        self.recipients = recipients
        self.payload = payload
    }

    /// The text for `version`, if the room encoded it.
    public func text(for version: PhoenixSerializerVersion) -> [UInt8]? { version == .v1 ? v1 : v2 }
}

/// How loud a ``RoomAction/log(_:_:)`` line is.
public enum RoomLogLevel: Sendable, Equatable {
    case notice, error
}
