public import HoldfastHandlerAPI
import Synchronization

/// Holdfast's default chat handlers, version 1.0.0, built as `libChatHandlers.so` and loaded by the host.
///
/// A channel handler (handler API 2): joins of `room:*` topics with an object payload (an optional integer
/// `last_seen_id`), presence metas `{device, online_at}` (plus `last_read` after a `read`), messages of 1 to
/// 8 KiB, `new_msg` payloads `{id, user, body, ts, client_id?}`, `typing`, `edit_msg` and `delete_msg` (by the
/// author only, stored as history entries), `react` and `read`. State: the number of messages stored per room
/// since the handlers were first started, carried across upgrades.
public final class ChatHandlersFactory: HandlerFactory {
    public static let version = "1.0.0"

    public init() {}

    public var pluginVersion: String { Self.version }

    public func makeHandler(state: [UInt8]?) throws -> any RoomHandler {
        guard let state else { return ChatRoomHandler(counters: [:]) }
        return ChatRoomHandler(counters: try ChatHandlersState.decode(state))
    }

    /// Only its own format: this is the first version.
    public func migrate(fromVersion: String, state: [UInt8]) throws -> [UInt8] {
        guard fromVersion == Self.version else {
            throw HandlerMigrationError.unsupportedVersion(from: fromVersion, to: Self.version)
        }
        _ = try ChatHandlersState.decode(state)
        return state
    }
}

/// The v1 state format: a format byte (1), the room count, then each room's topic and stored-message count.
enum ChatHandlersState {
    static let format: UInt8 = 1

    static func encode(_ counters: [String: Int64]) -> [UInt8] {
        var writer = BinaryWriter(reservingCapacity: 8 + counters.count * 24)
        writer.write(format)
        writer.write(UInt64(counters.count))
        for (topic, count) in counters {
            writer.write(topic)
            writer.write(count)
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [String: Int64] {
        var reader = BinaryReader(bytes)
        let found = try reader.readByte()
        guard found == format else { throw StateDecodingError(offset: 0, reason: "state format \(found), expected \(format)") }
        let count = try reader.readCount(minimumSize: 2)
        var counters: [String: Int64] = [:]
        counters.reserveCapacity(count)
        for _ in 0..<count {
            let topic = try reader.readString()
            counters[topic] = try reader.readInt64()
        }
        try reader.expectEnd()
        return counters
    }
}

/// The handler: shared by every room of the process, so its counters sit behind a lock. A channel handler
/// (handler API 2) for `room:*`; `new_msg` and `typing` behave exactly as they did under API 1.
///
/// Room state (a value the room keeps): `{"reactions": {"<id>": {"<emoji>": [user, …]}}}` for the most recent
/// ``maxReactedMessages`` messages reacted to. Assigns: the socket's presence meta, so `read` can extend it.
final class ChatRoomHandler: ChannelHandler {
    /// Longest accepted message body, in bytes.
    let maxBodyBytes = 8 * 1024
    /// Messages whose reactions the room keeps.
    let maxReactedMessages = 200
    private let counters: Mutex<[String: Int64]>

    init(counters: [String: Int64]) {
        self.counters = Mutex(counters)
    }

    var version: String { ChatHandlersFactory.version }
    var topicPattern: String { "room:*" }

    func join(topic: String, user: String, params: HandlerValue, context: inout ChannelContext) -> ChannelJoinResult {
        switch authorizeJoin(topic: topic, user: user, payload: params, now: context.now) {
        case .allow(let meta): return .allow(reply: .null, presenceMeta: meta, assigns: meta)
        case .deny(let reason): return .deny(reason: reason)
        }
    }

    func handleIn(event: String, payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction] {
        switch event {
        case "new_msg":
            guard let body = payload["body"]?.stringValue else {
                return [.reply(status: "error", payload: .reason("body must be a string"))]
            }
            if let problem = validateMessage(topic: context.topic, user: context.user, body: body) {
                return [.reply(status: "error", payload: .reason(problem))]
            }
            return [.store(ChannelMessage(user: context.user, body: body, clientID: payload["client_id"]))]
        case "typing":
            return [.broadcastFrom(event: "typing", payload: .object([HandlerMember("user", .string(context.user))]))]
        case "edit_msg", "delete_msg":
            return change(event, payload, context: context)
        case "react":
            return react(payload, context: &context)
        case "read":
            guard let upTo = payload["up_to"]?.intValue, upTo >= 0 else {
                return [.reply(status: "error", payload: .reason("up_to must be a message id"))]
            }
            let previous = context.assigns["last_read"]?.intValue ?? -1
            guard upTo > previous, case .object(var meta) = context.assigns else {
                return [.reply(status: "ok", payload: .object([HandlerMember("last_read", .int(max(previous, upTo)))]))]
            }
            meta.removeAll { $0.key == "last_read" }
            meta.append(HandlerMember("last_read", .int(upTo)))
            context.assigns = .object(meta)
            return [
                .updatePresence(meta: .object(meta)),
                .reply(status: "ok", payload: .object([HandlerMember("last_read", .int(upTo))])),
            ]
        default:
            return [.reply(status: "error", payload: .reason("unknown event"))]
        }
    }

    /// An edit or a delete of one of the user's own messages: stored as a new history entry naming it (the
    /// room broadcasts `msg_edited` / `msg_deleted` once it is durable and replays it to clients catching up).
    private func change(_ event: String, _ payload: HandlerValue, context: ChannelContext) -> [ChannelAction] {
        guard let id = payload["id"]?.intValue, id > 0 else {
            return [.reply(status: "error", payload: .reason("id must be a message id"))]
        }
        guard let author = context.messageAuthors[id] else {
            return [.reply(status: "error", payload: .reason("message not found"))]
        }
        guard author == context.user else { return [.reply(status: "error", payload: .reason("not your message"))] }
        guard event == "edit_msg" else {
            return [.store(ChannelMessage(kind: .delete, target: id, user: context.user))]
        }
        guard let body = payload["body"]?.stringValue else {
            return [.reply(status: "error", payload: .reason("body must be a string"))]
        }
        if let problem = validateMessage(topic: context.topic, user: context.user, body: body) {
            return [.reply(status: "error", payload: .reason(problem))]
        }
        return [.store(ChannelMessage(kind: .edit, target: id, user: context.user, body: body))]
    }

    /// Adds the user's reaction (once per user, message and emoji) and broadcasts the new count.
    private func react(_ payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction] {
        guard let id = payload["id"]?.intValue, id > 0 else {
            return [.reply(status: "error", payload: .reason("id must be a message id"))]
        }
        guard let emoji = payload["emoji"]?.stringValue, !emoji.isEmpty, emoji.utf8.count <= 32 else {
            return [.reply(status: "error", payload: .reason("emoji must be a short string"))]
        }
        let key = String(id)
        var messages = context.roomState["reactions"]?.objectMembers ?? []
        var emojis = messages.first { $0.key == key }?.value.objectMembers ?? []
        var users = emojis.first { $0.key == emoji }.flatMap { member -> [HandlerValue]? in
            if case .array(let users) = member.value { return users }
            return nil
        } ?? []
        if !users.contains(.string(context.user)) { users.append(.string(context.user)) }
        emojis.removeAll { $0.key == emoji }
        emojis.append(HandlerMember(emoji, .array(users)))
        messages.removeAll { $0.key == key }
        messages.append(HandlerMember(key, .object(emojis)))
        if messages.count > maxReactedMessages { messages.removeFirst(messages.count - maxReactedMessages) }
        context.roomState = .object([HandlerMember("reactions", .object(messages))])
        let count = HandlerValue.int(Int64(users.count))
        return [
            .reply(status: "ok", payload: .object([HandlerMember("count", count)])),
            .broadcast(
                event: "reaction",
                payload: .object([
                    HandlerMember("id", .int(id)), HandlerMember("emoji", .string(emoji)),
                    HandlerMember("user", .string(context.user)), HandlerMember("count", count),
                ])),
        ]
    }

    /// The default payloads (`new_msg` `{id, user, body, ts, client_id?}`, see `ChannelMessage.defaultPayload`);
    /// a live message (broadcast once, when durable) is counted, edits and deletes are not.
    func render(message: ChannelMessage, delivery: MessageDelivery, context: ChannelContext) -> HandlerValue {
        if delivery == .live, message.kind == .message { counters.withLock { $0[context.topic, default: 0] += 1 } }
        return message.defaultPayload
    }

    func authorizeJoin(topic: String, user: String, payload: HandlerValue, now: Int64) -> HandlerJoinDecision {
        guard topic.hasPrefix("room:"), topic.utf8.count > 5, topic.utf8.count <= 200 else {
            return .deny(reason: "unknown topic")
        }
        guard payload.objectMembers != nil else { return .deny(reason: "join payload must be an object") }
        if let lastSeen = payload["last_seen_id"], lastSeen != .null, lastSeen.intValue == nil {
            return .deny(reason: "last_seen_id must be an integer")
        }
        let device = payload["device"]?.stringValue ?? "unknown"
        return .allow(presenceMeta: .object([HandlerMember("device", .string(String(device.prefix(64)))),
                                             HandlerMember("online_at", .int(now))]))
    }

    func validateMessage(topic: String, user: String, body: String) -> String? {
        if body.isEmpty { return "empty message" }
        if body.utf8.count > maxBodyBytes { return "message too long" }
        return nil
    }

    func exportState() -> [UInt8] {
        counters.withLock { ChatHandlersState.encode($0) }
    }

    /// `{"rooms": {topic: messages, …}}`, rooms sorted by topic.
    func stateSummary() -> HandlerValue {
        let rooms = counters.withLock { $0 }.sorted { $0.key < $1.key }
        return .object([HandlerMember("rooms", .object(rooms.map { HandlerMember($0.key, .int($0.value)) }))])
    }
}
