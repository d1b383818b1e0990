import HoldfastHandlerAPI
public import HoldfastJSON
public import HoldfastRooms
import Synchronization

/// The rooms' ``RoomChannel`` backed by whichever handler plugin is current in the registry, converting Holdfast's
/// JSON values to the plugin interface's values directly (no JSON text in between).
///
/// A plugin whose handler is a ``ChannelHandler`` (API 2) is called as such; an API 1 ``RoomHandler`` is adapted:
/// its three hooks serve `join`, `new_msg` and `typing`, and every other event is unknown. Reading the current
/// handler is one lock and a retain; the cast to API 2 is made once per handler object. Rooms are suspended
/// around a swap, so no call sees the old code after the new one has its state.
///
/// Every plugin call is timed: one longer than `budget` is counted in ``slowCalls`` and reported to `onSlowCall`
/// (the call still completes: the room cannot preempt it).
public final class PluginChannel: RoomChannel, Sendable {
    private struct Current {
        var handler: any RoomHandler
        var channel: (any ChannelHandler)?
        var intercepted: Set<String>
    }

    let registry: PluginRegistry
    /// The longest a plugin call may take before it is counted as slow, in nanoseconds.
    let budgetNanoseconds: Int64
    let onSlowCall: @Sendable (_ call: String, _ nanoseconds: Int64) -> Void
    private let cache = Mutex<Current?>(nil)
    private let slow = Atomic<Int>(0)

    /// - Parameters:
    ///   - budgetMilliseconds: the handler-call budget (default 50 ms).
    ///   - onSlowCall: told of every call over budget, on the room's thread (log it; do not block).
    public init(
        registry: PluginRegistry, budgetMilliseconds: Int = 50,
        onSlowCall: @escaping @Sendable (_ call: String, _ nanoseconds: Int64) -> Void = { _, _ in }
    ) {
        self.registry = registry
        self.budgetNanoseconds = Int64(max(budgetMilliseconds, 1)) * 1_000_000
        self.onSlowCall = onSlowCall
    }

    /// How many plugin calls exceeded the budget so far.
    public var slowCalls: Int { slow.load(ordering: .relaxed) }

    private var current: Current {
        guard let handler = registry.handler else { preconditionFailure("handler plugin not started") }
        return cache.withLock { cached in
            if let cached, cached.handler === handler { return cached }
            let channel = handler as? any ChannelHandler
            let fresh = Current(handler: handler, channel: channel, intercepted: channel?.interceptedEvents ?? [])
            cached = fresh
            return fresh
        }
    }

    /// Runs one plugin call, counting it if it exceeds the budget.
    @inline(__always)
    private func timed<Result>(_ call: String, _ body: () throws -> Result) rethrows -> Result {
        let start = ContinuousClock.now
        let result = try body()
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        if nanoseconds > budgetNanoseconds {
            slow.add(1, ordering: .relaxed)
            onSlowCall(call, nanoseconds)
        }
        return result
    }

    public var version: String { registry.current?.version ?? "none" }

    public var interceptedEvents: Set<String> { current.intercepted }

    public func join(params: JSONValue, context: inout RoomChannelContext) -> RoomChannelJoin {
        let current = self.current
        guard let channel = current.channel else {
            let decision = timed("authorizeJoin") {
                current.handler.authorizeJoin(
                    topic: context.topic, user: context.user, payload: HandlerValue(params), now: context.now.wall)
            }
            switch decision {
            case .allow(let meta): return .allow(reply: .null, presenceMeta: JSONValue(meta), assigns: .null)
            case .deny(let reason): return .deny(reason: reason)
            }
        }
        guard channel.serves(topic: context.topic) else { return .deny(reason: "unmatched topic") }
        var plugin = Self.pluginContext(context)
        let result = timed("join") {
            channel.join(topic: context.topic, user: context.user, params: HandlerValue(params), context: &plugin)
        }
        Self.absorb(plugin, into: &context)
        switch result {
        case .allow(let reply, let meta, let assigns):
            // Handlers often keep the meta as the socket's assigns: converted once, every member's seat then holds
            // one copy of it instead of two.
            let presenceMeta = meta.map(JSONValue.init)
            let sameAssigns = presenceMeta != nil && meta == assigns
            return .allow(
                reply: JSONValue(reply), presenceMeta: presenceMeta,
                assigns: sameAssigns ? presenceMeta ?? .null : JSONValue(assigns))
        case .deny(let reason):
            return .deny(reason: reason)
        @unknown default:
            return .deny(reason: "join result of a newer handler API")
        }
    }

    public func handleIn(event: String, payload: JSONValue, context: inout RoomChannelContext) -> [RoomChannelAction]
    {
        let current = self.current
        guard let channel = current.channel else {
            let (handler, topic, user) = (current.handler, context.topic, context.user)
            return ChatHandlerChannel.chatEvent(event, payload: payload, user: user) { body in
                timed("validateMessage") { handler.validateMessage(topic: topic, user: user, body: body) }
            }
        }
        var plugin = Self.pluginContext(context)
        let actions = timed("handleIn") {
            channel.handleIn(event: event, payload: HandlerValue(payload), context: &plugin)
        }
        Self.absorb(plugin, into: &context)
        return actions.compactMap(Self.hostAction)
    }

    public func handleOut(event: String, payload: JSONValue, member: Member, assigns: JSONValue) -> JSONValue? {
        guard let channel = current.channel else { return payload }
        let shaped = timed("handleOut") {
            channel.handleOut(
                event: event, payload: HandlerValue(payload),
                member: ChannelMember(
                    connectionID: member.connectionID, user: member.user, assigns: HandlerValue(assigns)))
        }
        return shaped.map(JSONValue.init)
    }

    public func handleInfo(tag: String, context: inout RoomChannelContext) -> [RoomChannelAction] {
        guard let channel = current.channel else { return [] }
        var plugin = Self.pluginContext(context)
        let actions = timed("handleInfo") { channel.handleInfo(tag: tag, context: &plugin) }
        Self.absorb(plugin, into: &context)
        return actions.compactMap(Self.hostAction)
    }

    public func leave(context: inout RoomChannelContext) -> [RoomChannelAction] {
        guard let channel = current.channel else { return [] }
        var plugin = Self.pluginContext(context)
        let actions = timed("leave") { channel.leave(context: &plugin) }
        Self.absorb(plugin, into: &context)
        return actions.compactMap(Self.hostAction)
    }

    public func terminate(reason: String, context: inout RoomChannelContext) {
        guard let channel = current.channel else { return }
        var plugin = Self.pluginContext(context)
        timed("terminate") { channel.terminate(reason: reason, context: &plugin) }
        Self.absorb(plugin, into: &context)
    }

    public func render(_ message: ChatMessage, replay: Bool, context: RoomChannelContext) -> JSONValue {
        let current = self.current
        let delivery: MessageDelivery = replay ? .replay : .live
        let clientID = message.clientID.map { HandlerValue.string($0) }
        guard let channel = current.channel else {
            // API 1 code knows only messages; an edit or delete stored under API 2 code replays in its default form.
            guard message.kind == .message else { return message.defaultPayload }
            return JSONValue(
                timed("messagePayload") {
                    current.handler.messagePayload(
                        topic: context.topic, id: message.id, user: message.user, body: message.body,
                        timestamp: message.timestamp, clientID: clientID, delivery: delivery)
                })
        }
        var stored = ChannelMessage(
            id: message.id, user: message.user, body: message.body, timestamp: message.timestamp, clientID: clientID)
        stored.kind = message.kind.pluginKind
        stored.target = message.target
        let plugin = Self.pluginContext(context)
        return JSONValue(timed("render") { channel.render(message: stored, delivery: delivery, context: plugin) })
    }

    public func migrateRoomState(fromVersion: String, _ state: JSONValue) throws -> JSONValue {
        guard let channel = current.channel else { return state }
        let value = HandlerValue(state)
        return JSONValue(
            try timed("migrateRoomState") { try channel.migrateRoomState(fromVersion: fromVersion, value) })
    }

    public func migrateAssigns(fromVersion: String, _ assigns: JSONValue) throws -> JSONValue {
        guard let channel = current.channel else { return assigns }
        let value = HandlerValue(assigns)
        return JSONValue(try timed("migrateAssigns") { try channel.migrateAssigns(fromVersion: fromVersion, value) })
    }

    // MARK: Conversions

    private static func pluginContext(_ context: RoomChannelContext) -> ChannelContext {
        var plugin = ChannelContext(
            topic: context.topic, user: context.user, connectionID: context.connectionID, now: context.now.wall,
            monotonic: context.now.monotonic, memberCount: context.memberCount,
            roomState: HandlerValue(context.roomState), assigns: HandlerValue(context.assigns))
        plugin.messageAuthors = context.messageAuthors
        return plugin
    }

    private static func absorb(_ plugin: ChannelContext, into context: inout RoomChannelContext) {
        context.roomState = JSONValue(plugin.roomState)
        context.assigns = JSONValue(plugin.assigns)
    }

    /// The host form of a plugin's action; nil for an action this host does not know (a newer API level).
    static func hostAction(_ action: ChannelAction) -> RoomChannelAction? {
        switch action {
        case .reply(let status, let payload): return .reply(status: status, payload: JSONValue(payload))
        case .push(let event, let payload): return .push(event: event, payload: JSONValue(payload))
        case .broadcast(let event, let payload): return .broadcast(event: event, payload: JSONValue(payload))
        case .broadcastFrom(let event, let payload): return .broadcastFrom(event: event, payload: JSONValue(payload))
        case .store(let message):
            let kind: ChatMessage.Kind
            switch message.kind {
            case .message: kind = .message
            case .edit: kind = .edit
            case .delete: kind = .delete
            @unknown default: return nil
            }
            return .store(
                body: message.body, clientID: message.clientID.map(JSONValue.init), kind: kind, target: message.target)
        case .updatePresence(let meta): return .updatePresence(meta: JSONValue(meta))
        case .scheduleTimer(let tag, let after): return .scheduleTimer(tag: tag, afterMilliseconds: after)
        case .kick(let user, let reason): return .kick(user: user, reason: reason)
        case .stop(let reason): return .stop(reason: reason)
        @unknown default: return nil
        }
    }
}

extension ChatMessage.Kind {
    /// The plugin interface's name for the kind.
    var pluginKind: ChannelMessageKind {
        switch self {
        case .message: .message
        case .edit: .edit
        case .delete: .delete
        }
    }
}
