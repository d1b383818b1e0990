public import HoldfastHandlerAPI
import Synchronization

/// The moderation channel for `room:*` (handler API 2).
///
/// Events: `new_msg` (checked by the word filter and slow mode), `typing`, `edit_msg` and `delete_msg` (author
/// only; an edit goes through the word filter), and `kick` `{"user"}` for moderators (the room gets `kicked`
/// `{"user", "by"}`, then every socket of that user is closed). Anything else gets `{"reason": "unknown event"}`.
///
/// Joins and presence metas are the built-in handlers' (`{device, online_at}`; the meta is also the assigns).
///
/// Room state: the built-in handlers' value (their `reactions`) is kept as is, plus `"slow": {user: until}` for the
/// users inside their slow-mode window: a message starts the window and schedules a timer (`slow:<user>`) that
/// ends it; until then, their messages get `{"reason": "slow mode", "retry_after_ms": N}`.
public final class ModerationHandler: ChannelHandler {
    /// Longest accepted body, in bytes (as the built-in handlers).
    let maxBodyBytes = 8 * 1024
    public let settings: ModerationSettings
    private let rooms: Mutex<[String: RoomCounts]>

    init(rooms: [String: RoomCounts], settings: ModerationSettings) {
        self.rooms = Mutex(rooms)
        self.settings = settings
    }

    public var version: String { ModerationFactory.version }
    public var topicPattern: String { "room:*" }

    /// What the handler counted for `topic`.
    public func counts(_ topic: String) -> RoomCounts { rooms.withLock { $0[topic] ?? RoomCounts() } }

    public func join(topic: String, user: String, params: HandlerValue, context: inout ChannelContext)
        -> ChannelJoinResult
    {
        guard topic.utf8.count > 5, topic.utf8.count <= 200 else { return .deny(reason: "unknown topic") }
        guard params.objectMembers != nil else { return .deny(reason: "join payload must be an object") }
        if let lastSeen = params["last_seen_id"], lastSeen != .null, lastSeen.intValue == nil {
            return .deny(reason: "last_seen_id must be an integer")
        }
        let device = params["device"]?.stringValue ?? "unknown"
        let meta = HandlerValue.object([
            HandlerMember("device", .string(String(device.prefix(64)))), HandlerMember("online_at", .int(context.now)),
        ])
        return .allow(reply: .null, presenceMeta: meta, assigns: meta)
    }

    public func handleIn(event: String, payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction] {
        switch event {
        case "new_msg":
            return newMessage(payload, context: &context)
        case "typing":
            return [.broadcastFrom(event: "typing", payload: .object([HandlerMember("user", .string(context.user))]))]
        case "edit_msg", "delete_msg":
            return change(event, payload, context: context)
        case "kick":
            return kick(payload, context: context)
        default:
            return [.reply(status: "error", payload: .reason("unknown event"))]
        }
    }

    /// A timer of slow mode: the user's window is over.
    public func handleInfo(tag: String, context: inout ChannelContext) -> [ChannelAction] {
        guard tag.hasPrefix("slow:") else { return [] }
        let user = String(tag.dropFirst(5))
        context.roomState = Self.replacing("slow", in: context.roomState) { windows in
            windows.filter { $0.key != user }
        }
        return []
    }

    public func render(message: ChannelMessage, delivery: MessageDelivery, context: ChannelContext) -> HandlerValue {
        if delivery == .live, message.kind == .message { count(context.topic) { $0.messages += 1 } }
        return message.defaultPayload
    }

    /// From the built-in handlers: their value is kept, and any slow-mode window left from an earlier time under
    /// this code is dropped (its timer fired under the other code, which ignored it).
    public func migrateRoomState(fromVersion: String, _ state: HandlerValue) throws -> HandlerValue {
        guard fromVersion != version else { return state }
        return Self.replacing("slow", in: state) { _ in [] }
    }

    public func exportState() -> [UInt8] { rooms.withLock { ModerationState.encode($0) } }

    /// `{"rooms": {topic: {messages, blocked, kicks}}}`, rooms sorted by topic.
    public func stateSummary() -> HandlerValue {
        let all = rooms.withLock { $0 }.sorted { $0.key < $1.key }
        return .object([
            HandlerMember(
                "rooms",
                .object(
                    all.map { topic, counts in
                        HandlerMember(
                            topic,
                            .object([
                                HandlerMember("messages", .int(counts.messages)),
                                HandlerMember("blocked", .int(counts.blocked)),
                                HandlerMember("kicks", .int(counts.kicks)),
                            ]))
                    }))
        ])
    }

    // MARK: Events

    private func newMessage(_ payload: HandlerValue, context: inout ChannelContext) -> [ChannelAction] {
        guard let body = payload["body"]?.stringValue else {
            return [.reply(status: "error", payload: .reason("body must be a string"))]
        }
        if let problem = check(body, topic: context.topic) {
            return [.reply(status: "error", payload: .reason(problem))]
        }
        guard settings.slowModeMilliseconds > 0 else {
            return [.store(ChannelMessage(user: context.user, body: body, clientID: payload["client_id"]))]
        }
        let user = context.user
        let windows = context.roomState["slow"]?.objectMembers ?? []
        if let until = windows.first(where: { $0.key == user })?.value.intValue {
            return [
                .reply(
                    status: "error",
                    payload: .object([
                        HandlerMember("reason", .string("slow mode")),
                        HandlerMember("retry_after_ms", .int(max(0, until - context.monotonic))),
                    ]))
            ]
        }
        let until = context.monotonic + settings.slowModeMilliseconds
        context.roomState = Self.replacing("slow", in: context.roomState) { $0 + [HandlerMember(user, .int(until))] }
        return [
            .store(ChannelMessage(user: user, body: body, clientID: payload["client_id"])),
            .scheduleTimer(tag: "slow:\(user)", afterMilliseconds: settings.slowModeMilliseconds),
        ]
    }

    /// Edits and deletes of the user's own messages, stored as new history entries.
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
        if let problem = check(body, topic: context.topic) {
            return [.reply(status: "error", payload: .reason(problem))]
        }
        return [.store(ChannelMessage(kind: .edit, target: id, user: context.user, body: body))]
    }

    private func kick(_ payload: HandlerValue, context: ChannelContext) -> [ChannelAction] {
        guard settings.moderators.contains(context.user) else {
            return [.reply(status: "error", payload: .reason("not a moderator"))]
        }
        guard let user = payload["user"]?.stringValue, !user.isEmpty else {
            return [.reply(status: "error", payload: .reason("user must be a string"))]
        }
        count(context.topic) { $0.kicks += 1 }
        return [
            .reply(status: "ok", payload: .object([HandlerMember("kicked", .string(user))])),
            .broadcast(
                event: "kicked",
                payload: .object([HandlerMember("user", .string(user)), HandlerMember("by", .string(context.user))])),
            .kick(user: user, reason: "kicked by \(context.user)"),
        ]
    }

    /// Why `body` is refused, or nil: its size, then the word filter (counted).
    private func check(_ body: String, topic: String) -> String? {
        if body.isEmpty { return "empty message" }
        if body.utf8.count > maxBodyBytes { return "message too long" }
        guard settings.blocks(body) else { return nil }
        count(topic) { $0.blocked += 1 }
        return "message blocked"
    }

    private func count(_ topic: String, _ change: (inout RoomCounts) -> Void) {
        rooms.withLock { change(&$0[topic, default: RoomCounts()]) }
    }

    /// `state` with the object member `key` replaced by `change` of its members (removed when that is empty).
    static func replacing(
        _ key: String, in state: HandlerValue, _ change: ([HandlerMember]) -> [HandlerMember]
    ) -> HandlerValue {
        var members = state.objectMembers ?? []
        let updated = change(members.first { $0.key == key }?.value.objectMembers ?? [])
        members.removeAll { $0.key == key }
        if !updated.isEmpty { members.append(HandlerMember(key, .object(updated))) }
        return members.isEmpty && state == .null ? .null : .object(members)
    }
}
