public import HoldfastJSON

/// The channel logic of a room, in the host's terms (handler API 2 as the room sees it): joins, any client
/// event, intercepted broadcasts, timers, leaves, and how a stored message is rendered. The server adapts the
/// plugin interface to it; ``ChatHandlerChannel`` adapts an API 1 ``ChatHandler``.
///
/// Calls are made on the room's actor, one event at a time, and must not block. The values in the context
/// (`roomState`, `assigns`) belong to the handler: the room keeps what the call leaves there.
public protocol RoomChannel: Sendable {
    /// The version string of the handler code in use; when it changes, the room migrates its values first.
    var version: String { get }
    /// Events broadcast through ``handleOut(event:payload:member:assigns:)`` per member.
    var interceptedEvents: Set<String> { get }
    func join(params: JSONValue, context: inout RoomChannelContext) -> RoomChannelJoin
    func handleIn(event: String, payload: JSONValue, context: inout RoomChannelContext) -> [RoomChannelAction]
    func handleOut(event: String, payload: JSONValue, member: Member, assigns: JSONValue) -> JSONValue?
    func handleInfo(tag: String, context: inout RoomChannelContext) -> [RoomChannelAction]
    func leave(context: inout RoomChannelContext) -> [RoomChannelAction]
    func terminate(reason: String, context: inout RoomChannelContext)
    /// The `new_msg` payload of a stored message; `replay` when it is resent from history.
    func render(_ message: ChatMessage, replay: Bool, context: RoomChannelContext) -> JSONValue
    func migrateRoomState(fromVersion: String, _ state: JSONValue) throws -> JSONValue
    func migrateAssigns(fromVersion: String, _ assigns: JSONValue) throws -> JSONValue
}

/// What a channel call sees (see ``RoomChannel``).
public struct RoomChannelContext: Sendable {
    public var topic: String
    public var user: String
    /// 0 when the call does not come from a joined socket.
    public var connectionID: UInt64
    public var now: RoomInstant
    public var memberCount: Int
    public var roomState: JSONValue
    public var assigns: JSONValue
    /// Authors of the room's recent messages by id (deleted ones absent); read-only for the handler.
    public var messageAuthors: [Int64: String] = [:]

    public init(
        topic: String, user: String, connectionID: UInt64, now: RoomInstant, memberCount: Int, roomState: JSONValue,
        assigns: JSONValue
    ) {
        self.topic = topic
        self.user = user
        self.connectionID = connectionID
        self.now = now
        self.memberCount = memberCount
        self.roomState = roomState
        self.assigns = assigns
    }
}

/// The outcome of ``RoomChannel/join(params:context:)``.
public enum RoomChannelJoin: Sendable, Equatable {
    /// `reply` members join the reply's response; a nil meta tracks an empty one.
    case allow(reply: JSONValue, presenceMeta: JSONValue?, assigns: JSONValue)
    case deny(reason: String)
}

/// What a channel call asks the room to do, in order (the host form of the plugin's `ChannelAction`).
public enum RoomChannelAction: Sendable, Equatable {
    case reply(status: String, payload: JSONValue)
    case push(event: String, payload: JSONValue)
    case broadcast(event: String, payload: JSONValue)
    case broadcastFrom(event: String, payload: JSONValue)
    /// Store a history entry from the context's user (numbered by the room, acknowledged with its id once
    /// durable): a message, or an edit or delete of message `target`.
    case store(body: String, clientID: JSONValue?, kind: ChatMessage.Kind = .message, target: Int64 = 0)
    case updatePresence(meta: JSONValue)
    case scheduleTimer(tag: String, afterMilliseconds: Int64)
    case kick(user: String, reason: String)
    case stop(reason: String)
}

extension JSONValue {
    /// `{"reason": reason}`.
    public static func reason(_ reason: String) -> JSONValue { .object([JSONMember("reason", .string(reason))]) }
}

/// An API 1 ``ChatHandler`` as a channel: its join hook decides joins, `new_msg` is validated and stored,
/// `typing` is relayed, every other event is unknown. Keeps no room state and no assigns.
public struct ChatHandlerChannel: RoomChannel {
    public let handler: any ChatHandler

    public init(_ handler: any ChatHandler) { self.handler = handler }

    public var version: String { handler.version }
    public var interceptedEvents: Set<String> { [] }

    public func join(params: JSONValue, context: inout RoomChannelContext) -> RoomChannelJoin {
        switch handler.authorizeJoin(topic: context.topic, user: context.user, payload: params, now: context.now.wall)
        {
        case .allow(let meta): .allow(reply: .null, presenceMeta: meta, assigns: .null)
        case .deny(let reason): .deny(reason: reason)
        }
    }

    public func handleIn(event: String, payload: JSONValue, context: inout RoomChannelContext) -> [RoomChannelAction]
    {
        Self.chatEvent(event, payload: payload, user: context.user) {
            handler.validateMessage(topic: context.topic, user: context.user, body: $0)
        }
    }

    /// `new_msg` and `typing` as API 1 defined them, with `validate` checking a body.
    public static func chatEvent(
        _ event: String, payload: JSONValue, user: String, validate: (String) -> String?
    ) -> [RoomChannelAction] {
        switch event {
        case "new_msg":
            guard let body = payload["body"]?.stringValue else {
                return [.reply(status: "error", payload: .reason("body must be a string"))]
            }
            if let problem = validate(body) { return [.reply(status: "error", payload: .reason(problem))] }
            return [.store(body: body, clientID: payload["client_id"])]
        case "typing":
            return [.broadcastFrom(event: "typing", payload: .object([JSONMember("user", .string(user))]))]
        default:
            return [.reply(status: "error", payload: .reason("unknown event"))]
        }
    }

    public func handleOut(event: String, payload: JSONValue, member: Member, assigns: JSONValue) -> JSONValue? {
        payload
    }

    public func handleInfo(tag: String, context: inout RoomChannelContext) -> [RoomChannelAction] { [] }
    public func leave(context: inout RoomChannelContext) -> [RoomChannelAction] { [] }
    public func terminate(reason: String, context: inout RoomChannelContext) {}

    public func render(_ message: ChatMessage, replay: Bool, context: RoomChannelContext) -> JSONValue {
        // API 1 handlers know only messages; an edit or delete stored under API 2 code replays in its default form.
        guard message.kind == .message else { return message.defaultPayload }
        return handler.messagePayload(
            topic: context.topic, id: message.id, user: message.user, body: message.body,
            timestamp: message.timestamp, clientID: message.clientID.map { .string($0) }, replay: replay)
    }

    public func migrateRoomState(fromVersion: String, _ state: JSONValue) throws -> JSONValue { state }
    public func migrateAssigns(fromVersion: String, _ assigns: JSONValue) throws -> JSONValue { assigns }
}
