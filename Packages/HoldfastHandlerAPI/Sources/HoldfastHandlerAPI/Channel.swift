// Handler API 2: the plugin owns the channel.
//
// A handler whose object also conforms to ``ChannelHandler`` is driven through these callbacks (Phoenix's
// `join/3`, `handle_in/3`, `handle_out/3`, `handle_info/2`, `terminate/2`); a handler that only conforms to
// ``RoomHandler`` (API 1) is adapted by the host, which maps its three hooks onto `new_msg` and `typing`.
//
// Everything here is additive to the frozen ABI 1: new protocols and types, no changed requirement. A plugin
// built against API 1 keeps loading; a plugin built against API 2 references these types' descriptors and fails
// at `dlopen` on a host that predates them.
//
// Handler code never touches a socket, a lock of the host or a clock: it gets the time and its values in a
// ``ChannelContext`` and returns ``ChannelAction``s, which the room performs in order.

/// The API level this copy of the interface offers: 2 (channel handlers). The binary interface stays
/// ``handlerAPIVersion`` 1, since API 2 only adds to it.
public let handlerAPILevel: Int32 = 2

/// What a channel callback sees: where, who, when, and the values the room keeps for the handler.
///
/// `roomState` and `assigns` are the handler's own: whatever it leaves in them when the callback returns is
/// kept by the room (per room and per joined socket) and handed back at the next call; both are exported and
/// migrated with the room on a handler swap and carried through a binary upgrade.
public struct ChannelContext: Sendable {
    /// The topic of the room, for instance `room:lobby`.
    public var topic: String
    /// The user of the socket the event comes from (for the server API, the user it publishes as; for a timer,
    /// empty).
    public var user: String
    /// The socket's connection id; 0 when the event does not come from a joined socket.
    public var connectionID: UInt64
    /// Wall-clock milliseconds since the Unix epoch.
    public var now: Int64
    /// Monotonic milliseconds (only differences mean something).
    public var monotonic: Int64
    /// How many sockets are joined to the room.
    public var memberCount: Int
    /// The room's handler state (`.null` until the handler sets it).
    public var roomState: HandlerValue
    /// The socket's assigns (`.null` outside a socket's event, and until set).
    public var assigns: HandlerValue
    /// The authors of the room's recent stored messages by id (the newest few hundred the room has stored or
    /// replayed since it started, across swaps and binary upgrades); a deleted message is absent. Read-only: what
    /// a callback leaves here is ignored. Use it to allow an edit or a delete to the author only.
    public var messageAuthors: [Int64: String] = [:]

    public init(
        topic: String, user: String, connectionID: UInt64, now: Int64, monotonic: Int64, memberCount: Int,
        roomState: HandlerValue, assigns: HandlerValue
    ) {
        self.topic = topic
        self.user = user
        self.connectionID = connectionID
        self.now = now
        self.monotonic = monotonic
        self.memberCount = memberCount
        self.roomState = roomState
        self.assigns = assigns
    }
}

/// What a history entry is. History is append-only: an edit or a delete is a new entry that names the message
/// it changes (``ChannelMessage/target``), so every store (and every cluster node reading it) replays it as is.
///
/// Not `@frozen`: later API levels may add kinds (a switch over it needs `@unknown default`).
public enum ChannelMessageKind: Sendable, Equatable {
    /// A chat message, broadcast as `new_msg`.
    case message
    /// A new body for message ``ChannelMessage/target``, broadcast as `msg_edited`.
    case edit
    /// The tombstone of message ``ChannelMessage/target``, broadcast as `msg_deleted`.
    case delete
}

/// A history entry as the room stores it: numbered by the room when stored.
public struct ChannelMessage: Sendable, Equatable {
    /// The room's id for it (0 in a ``ChannelAction/store(_:)`` action: the room numbers it).
    public var id: Int64
    public var user: String
    public var body: String
    /// Wall-clock milliseconds when the room accepted it.
    public var timestamp: Int64
    /// The sender's own id for the message, echoed back.
    public var clientID: HandlerValue?
    /// A message, an edit or a delete.
    public var kind: ChannelMessageKind = .message
    /// For an edit or a delete: the id of the message it changes (0 for a message).
    public var target: Int64 = 0

    public init(id: Int64 = 0, user: String, body: String, timestamp: Int64 = 0, clientID: HandlerValue? = nil) {
        self.id = id
        self.user = user
        self.body = body
        self.timestamp = timestamp
        self.clientID = clientID
    }

    /// An edit (new `body`) or a delete (`body` empty) of message `target` by `user`.
    public init(
        kind: ChannelMessageKind, target: Int64, user: String, body: String = "", clientID: HandlerValue? = nil
    ) {
        self.init(user: user, body: body, clientID: clientID)
        self.kind = kind
        self.target = target
    }

    /// The event this entry is broadcast and replayed as: `new_msg`, `msg_edited` or `msg_deleted`.
    public var event: String {
        switch kind {
        case .message: return "new_msg"
        case .edit: return "msg_edited"
        case .delete: return "msg_deleted"
        }
    }
}

/// A joined socket, as ``ChannelHandler/handleOut(event:payload:member:)`` sees it.
public struct ChannelMember: Sendable, Equatable {
    public var connectionID: UInt64
    public var user: String
    public var assigns: HandlerValue

    public init(connectionID: UInt64, user: String, assigns: HandlerValue) {
        self.connectionID = connectionID
        self.user = user
        self.assigns = assigns
    }
}

/// The outcome of ``ChannelHandler/join(topic:user:params:context:)``.
public enum ChannelJoinResult: Sendable, Equatable {
    /// Joined: `reply` members are added to the join reply's response (next to `last_id` and `recovered`), the
    /// presence meta is tracked (nil: an empty meta), and `assigns` become the socket's assigns.
    case allow(reply: HandlerValue, presenceMeta: HandlerValue?, assigns: HandlerValue)
    /// Refused with `{"reason": reason}`.
    case deny(reason: String)
}

/// What a channel callback asks the room to do; performed in order, after the callback returns.
///
/// Not `@frozen`: later API levels may add actions (a switch over it needs `@unknown default`).
public enum ChannelAction: Sendable, Equatable {
    /// Answers the client's push (`phx_reply` with this status and response). At most one per push; a push
    /// answered by none gets no reply, as in Phoenix's `{:noreply, socket}`.
    case reply(status: String, payload: HandlerValue)
    /// One push to the sending socket.
    case push(event: String, payload: HandlerValue)
    /// A push to every member, encoded once per serializer (unless the event is intercepted).
    case broadcast(event: String, payload: HandlerValue)
    /// A push to every member but the sender.
    case broadcastFrom(event: String, payload: HandlerValue)
    /// Stores a history entry (a message, an edit or a delete, see ``ChannelMessageKind``); once it is durable the
    /// room broadcasts it as its ``ChannelMessage/event`` (the payload from
    /// ``ChannelHandler/render(message:delivery:context:)``) and replies `{"id": N}` (the entry's id) to the sender.
    case store(ChannelMessage)
    /// Replaces the sender's presence meta (a `presence_diff` follows).
    case updatePresence(meta: HandlerValue)
    /// Calls ``ChannelHandler/handleInfo(tag:context:)`` with `tag` after this many milliseconds, on the room.
    case scheduleTimer(tag: String, afterMilliseconds: Int64)
    /// Removes every socket of `user` from the room: each gets `phx_close` (`reason` is for the log; the
    /// close payload is Phoenix's, empty).
    case kick(user: String, reason: String)
    /// Closes the room's channel for every member (``ChannelHandler/terminate(reason:context:)`` is called once).
    case stop(reason: String)
}

/// Handler API 2: the channel itself. Implemented by the object ``HandlerFactory/makeHandler(state:)`` returns,
/// which keeps the ``RoomHandler`` duties (version, `exportState()` of its process-wide state, summary) and
/// gets defaults for the API 1 hooks, which the host no longer calls for it.
///
/// Each call is made on the room's actor, one at a time per room (a room's events are serialised), and must be
/// quick: a call longer than the host's budget (50 ms by default) is logged and counted.
public protocol ChannelHandler: RoomHandler {
    /// The topics this handler serves, as a pattern: `"room:*"` (a prefix and `*`) or an exact topic.
    var topicPattern: String { get }

    /// Events that go through ``handleOut(event:payload:member:)`` per member. Every other broadcast is encoded
    /// once for the whole room. The default is none.
    var interceptedEvents: Set<String> { get }

    /// Decides a join of `topic` by `user` with the client's join params.
    func join(topic: String, user: String, params: HandlerValue, context: inout ChannelContext) -> ChannelJoinResult

    /// A client event (anything but `phx_*` and `heartbeat`). Unknown events should reply
    /// `.reply(status: "error", payload: {"reason": "unknown event"})`.
    func handleIn(event: String, payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction]

    /// An intercepted event on its way to one member: the payload to send, or nil to drop it for that member.
    func handleOut(event: String, payload: HandlerValue, member: ChannelMember) -> HandlerValue?

    /// A timer the handler scheduled with ``ChannelAction/scheduleTimer(tag:afterMilliseconds:)`` is due.
    func handleInfo(tag: String, context: inout ChannelContext) -> [ChannelAction]

    /// A socket left the room (phx_leave, a closed socket, a kick); `context.assigns` are its last assigns.
    func leave(context: inout ChannelContext) -> [ChannelAction]

    /// The room's channel is stopping (``ChannelAction/stop(reason:)``).
    func terminate(reason: String, context: inout ChannelContext)

    /// The payload of a stored entry (`new_msg`, `msg_edited` or `msg_deleted`, see ``ChannelMessage/event``):
    /// broadcast once when it becomes durable (`.live`), or sent to a member catching up from history (`.replay`).
    func render(message: ChannelMessage, delivery: MessageDelivery, context: ChannelContext) -> HandlerValue

    /// Converts a room's state written by handler version `fromVersion` into this version's shape. Called by the
    /// room, before any other call of this version, after a swap or a binary upgrade changed the version. The
    /// default keeps the value. Throwing resets the room state to `.null` (logged).
    func migrateRoomState(fromVersion: String, _ state: HandlerValue) throws -> HandlerValue

    /// Converts a socket's assigns written by `fromVersion`, like ``migrateRoomState(fromVersion:_:)``.
    func migrateAssigns(fromVersion: String, _ assigns: HandlerValue) throws -> HandlerValue
}

extension ChannelHandler {
    /// Intercepts nothing.
    public var interceptedEvents: Set<String> { [] }

    /// Sends the payload unchanged.
    public func handleOut(event: String, payload: HandlerValue, member: ChannelMember) -> HandlerValue? { payload }

    /// No timers.
    public func handleInfo(tag: String, context: inout ChannelContext) -> [ChannelAction] { [] }

    /// Nothing to do.
    public func leave(context: inout ChannelContext) -> [ChannelAction] { [] }

    /// Nothing to do.
    public func terminate(reason: String, context: inout ChannelContext) {}

    /// ``ChannelMessage/defaultPayload``.
    public func render(message: ChannelMessage, delivery: MessageDelivery, context: ChannelContext) -> HandlerValue {
        message.defaultPayload
    }

    /// Keeps the value.
    public func migrateRoomState(fromVersion: String, _ state: HandlerValue) throws -> HandlerValue { state }

    /// Keeps the value.
    public func migrateAssigns(fromVersion: String, _ assigns: HandlerValue) throws -> HandlerValue { assigns }

    // API 1 hooks, which the host does not call on a channel handler.

    /// Not called for a channel handler: ``join(topic:user:params:context:)`` decides.
    public func authorizeJoin(topic: String, user: String, payload: HandlerValue, now: Int64) -> HandlerJoinDecision {
        .deny(reason: "channel handler")
    }

    /// Not called for a channel handler: ``handleIn(event:payload:context:)`` decides.
    public func validateMessage(topic: String, user: String, body: String) -> String? { nil }

    /// Not called for a channel handler: ``render(message:delivery:context:)`` renders.
    public func messagePayload(
        topic: String, id: Int64, user: String, body: String, timestamp: Int64, clientID: HandlerValue?,
        delivery: MessageDelivery
    ) -> HandlerValue {
        render(
            message: ChannelMessage(id: id, user: user, body: body, timestamp: timestamp, clientID: clientID),
            delivery: delivery,
            context: ChannelContext(
                topic: topic, user: user, connectionID: 0, now: timestamp, monotonic: 0, memberCount: 0,
                roomState: .null, assigns: .null))
    }

    /// True when `topic` matches ``topicPattern``.
    public func serves(topic: String) -> Bool {
        guard topicPattern.hasSuffix("*") else { return topic == topicPattern }
        return topic.hasPrefix(topicPattern.dropLast()) && topic.count > topicPattern.count - 1
    }
}

extension ChannelMessage {
    /// A message: `{id, user, body, ts, client_id?}`. An edit: `{id, entry_id, kind: "edit", user, body, ts}`; a
    /// delete: `{id, entry_id, kind: "delete", user, ts}`, where `id` is the message changed and `entry_id` the
    /// entry's own id (the one a client passes back as `last_seen_id`).
    public var defaultPayload: HandlerValue {
        var members: [HandlerMember]
        switch kind {
        case .message:
            members = [HandlerMember("id", .int(id)), HandlerMember("user", .string(user))]
            members.append(HandlerMember("body", .string(body)))
        case .edit:
            members = [HandlerMember("id", .int(target)), HandlerMember("entry_id", .int(id))]
            members += [HandlerMember("kind", .string("edit")), HandlerMember("user", .string(user))]
            members.append(HandlerMember("body", .string(body)))
        case .delete:
            members = [HandlerMember("id", .int(target)), HandlerMember("entry_id", .int(id))]
            members += [HandlerMember("kind", .string("delete")), HandlerMember("user", .string(user))]
        }
        members.append(HandlerMember("ts", .int(timestamp)))
        if let clientID { members.append(HandlerMember("client_id", clientID)) }
        return .object(members)
    }
}

extension HandlerValue {
    /// An error reply payload `{"reason": reason}`.
    public static func reason(_ reason: String) -> HandlerValue { .object([HandlerMember("reason", .string(reason))]) }
}
