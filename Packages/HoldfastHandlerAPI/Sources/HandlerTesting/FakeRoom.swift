public import HoldfastHandlerAPI

// # HandlerTesting
//
// Tests a channel handler without a server: a ``FakeRoom`` calls the handler the way a Holdfast room does (join,
// handleIn, handleOut for intercepted events, handleInfo for due timers, leave, terminate, render) and performs the
// actions it returns the way the room does, recording everything: replies, what each member received, the stored
// history, presence metas, kicks, timers. Time is a fake clock that only ``FakeRoom/advance(by:)`` moves, and
// stored entries are durable at once.

/// A room of one handler, with joined members, a fake clock and a record of what happened.
public final class FakeRoom {
    /// A joined socket.
    public struct Seat: Equatable {
        public var connectionID: UInt64
        public var user: String
        public var assigns: HandlerValue
        public var presenceMeta: HandlerValue

        public init(connectionID: UInt64, user: String, assigns: HandlerValue, presenceMeta: HandlerValue) {
            (self.connectionID, self.user) = (connectionID, user)
            (self.assigns, self.presenceMeta) = (assigns, presenceMeta)
        }
    }

    /// A push a member received (a broadcast, a push, a stored entry's event).
    public struct Delivery: Equatable {
        public var connectionID: UInt64
        public var event: String
        public var payload: HandlerValue

        public init(connectionID: UInt64, event: String, payload: HandlerValue) {
            (self.connectionID, self.event, self.payload) = (connectionID, event, payload)
        }
    }

    /// The answer to a member's push.
    public struct Reply: Equatable {
        public var connectionID: UInt64
        public var status: String
        public var payload: HandlerValue

        public init(connectionID: UInt64, status: String, payload: HandlerValue) {
            (self.connectionID, self.status, self.payload) = (connectionID, status, payload)
        }
    }

    /// A socket the handler removed with ``ChannelAction/kick(user:reason:)`` or ``ChannelAction/stop(reason:)``.
    public struct Closed: Equatable {
        public var connectionID: UInt64
        public var user: String
        public var reason: String

        public init(connectionID: UInt64, user: String, reason: String) {
            (self.connectionID, self.user, self.reason) = (connectionID, user, reason)
        }
    }

    /// The handler under test; ``swap(to:)`` replaces it as a hot swap would.
    public private(set) var handler: any ChannelHandler
    public let topic: String
    /// Wall-clock milliseconds (`context.now`).
    public private(set) var now: Int64
    /// Monotonic milliseconds (`context.monotonic`).
    public private(set) var monotonic: Int64 = 0
    /// The room's handler state, as the handler left it.
    public private(set) var roomState: HandlerValue = .null
    /// The joined sockets by connection id.
    public private(set) var seats: [UInt64: Seat] = [:]
    /// Every stored entry (messages, edits, deletes), numbered from 1.
    public private(set) var history: [ChannelMessage] = []
    /// Every push members received, in order.
    public private(set) var deliveries: [Delivery] = []
    /// Every reply, in order.
    public private(set) var replies: [Reply] = []
    /// Every socket closed by a kick or a stop, in order.
    public private(set) var closed: [Closed] = []
    /// Scheduled timers not yet due: monotonic due time and tag, in the order they were asked for.
    public private(set) var timers: [(due: Int64, tag: String)] = []
    /// Authors of the stored messages, deleted ones removed (`context.messageAuthors`).
    public private(set) var messageAuthors: [Int64: String] = [:]
    /// The stop reason, once the handler stopped the room.
    public private(set) var stopped: String?
    private var nextConnectionID: UInt64 = 1
    private var stateVersion: String

    /// A room of `topic` served by `handler`, its wall clock at `now`. An API 1 handler (only the three hooks of
    /// `RoomHandler`) is adapted as the server adapts it: its hooks serve joins, `new_msg` and `typing`, and every
    /// other event gets `{"reason": "unknown event"}`.
    public init(_ handler: any RoomHandler, topic: String = "room:test", now: Int64 = 1_700_000_000_000) {
        self.handler = handler as? any ChannelHandler ?? APIOneChannel(handler)
        self.topic = topic
        self.now = now
        stateVersion = handler.version
    }

    // MARK: Driving the handler

    /// A join of `user` with `params`: the handler's result, and the connection id of the socket when it joined.
    @discardableResult
    public func join(_ user: String, params: HandlerValue = .object([])) -> (result: ChannelJoinResult, id: UInt64?) {
        let id = nextConnectionID
        nextConnectionID += 1
        var context = self.context(user: user, connectionID: id, assigns: .null)
        let result = handler.join(topic: topic, user: user, params: params, context: &context)
        roomState = context.roomState
        guard case .allow(_, let meta, let assigns) = result else { return (result, nil) }
        seats[id] = Seat(connectionID: id, user: user, assigns: assigns, presenceMeta: meta ?? .object([]))
        return (result, id)
    }

    /// A client event from socket `id`; returns the handler's actions after performing them.
    @discardableResult
    public func handleIn(_ id: UInt64, _ event: String, _ payload: HandlerValue = .object([])) -> [ChannelAction] {
        guard let seat = seats[id] else { return [] }
        var context = self.context(user: seat.user, connectionID: id, assigns: seat.assigns)
        let actions = handler.handleIn(event: event, payload: payload, context: &context)
        keep(context)
        perform(actions, sender: id, user: seat.user)
        return actions
    }

    /// What member `id` would receive of an intercepted broadcast (the payload unchanged if not intercepted).
    public func handleOut(_ event: String, _ payload: HandlerValue, to id: UInt64) -> HandlerValue? {
        guard let seat = seats[id] else { return nil }
        guard handler.interceptedEvents.contains(event) else { return payload }
        return handler.handleOut(
            event: event, payload: payload,
            member: ChannelMember(connectionID: id, user: seat.user, assigns: seat.assigns))
    }

    /// Calls `handleInfo(tag:)` now, as a due timer would; returns the actions after performing them.
    @discardableResult
    public func handleInfo(_ tag: String) -> [ChannelAction] {
        var context = self.context(user: "", connectionID: 0, assigns: .null)
        let actions = handler.handleInfo(tag: tag, context: &context)
        keep(context)
        perform(actions, sender: nil, user: "")
        return actions
    }

    /// Socket `id` leaves (phx_leave or a closed socket); returns the handler's actions after performing them.
    @discardableResult
    public func leave(_ id: UInt64) -> [ChannelAction] {
        guard let seat = seats.removeValue(forKey: id) else { return [] }
        var context = self.context(user: seat.user, connectionID: id, assigns: seat.assigns)
        let actions = handler.leave(context: &context)
        roomState = context.roomState
        perform(actions, sender: nil, user: "")
        return actions
    }

    /// Moves both clocks on by `milliseconds` and fires the timers that became due, oldest first (a timer scheduled
    /// by one of them fires too if it is due by then).
    public func advance(by milliseconds: Int64) {
        let end = monotonic + milliseconds
        while let index = timers.indices.filter({ timers[$0].due <= end }).min(by: { timers[$0].due < timers[$1].due })
        {
            let timer = timers.remove(at: index)
            now += timer.due - monotonic
            monotonic = timer.due
            handleInfo(timer.tag)
        }
        now += end - monotonic
        monotonic = end
    }

    /// Replaces the handler as a hot swap does: the new code's migrations see the room state and every socket's
    /// assigns before its first call (a throw resets that value to `.null`, as the server does). Timers stay.
    public func swap(to newHandler: any ChannelHandler) {
        handler = newHandler
        guard newHandler.version != stateVersion else { return }
        let from = stateVersion
        stateVersion = newHandler.version
        roomState = (try? newHandler.migrateRoomState(fromVersion: from, roomState)) ?? .null
        for id in Array(seats.keys) {
            guard let assigns = seats[id]?.assigns, assigns != .null else { continue }
            seats[id]?.assigns = (try? newHandler.migrateAssigns(fromVersion: from, assigns)) ?? .null
        }
    }

    // MARK: Reading the record

    /// The pushes member `id` received, in order.
    public func received(by id: UInt64) -> [Delivery] { deliveries.filter { $0.connectionID == id } }

    /// The payloads of `event` member `id` received, in order.
    public func payloads(of event: String, to id: UInt64) -> [HandlerValue] {
        received(by: id).filter { $0.event == event }.map(\.payload)
    }

    /// The last reply to socket `id`.
    public func lastReply(to id: UInt64) -> Reply? { replies.last { $0.connectionID == id } }

    /// The sockets of `user` still joined.
    public func connections(of user: String) -> [UInt64] {
        seats.values.filter { $0.user == user }.map(\.connectionID).sorted()
    }

    // MARK: Performing actions

    private func context(user: String, connectionID: UInt64, assigns: HandlerValue) -> ChannelContext {
        var context = ChannelContext(
            topic: topic, user: user, connectionID: connectionID, now: now, monotonic: monotonic,
            memberCount: seats.count, roomState: roomState, assigns: assigns)
        context.messageAuthors = messageAuthors
        return context
    }

    private func keep(_ context: ChannelContext) {
        roomState = context.roomState
        if context.connectionID != 0 { seats[context.connectionID]?.assigns = context.assigns }
    }

    /// The room's handling of each action, in order (see ``ChannelAction``).
    private func perform(_ actions: [ChannelAction], sender: UInt64?, user: String) {
        for action in actions {
            switch action {
            case .reply(let status, let payload):
                if let sender { replies.append(Reply(connectionID: sender, status: status, payload: payload)) }
            case .push(let event, let payload):
                if let sender, seats[sender] != nil { deliver(event, payload, to: [sender]) }
            case .broadcast(let event, let payload):
                deliver(event, payload, to: seats.keys.sorted())
            case .broadcastFrom(let event, let payload):
                deliver(event, payload, to: seats.keys.sorted().filter { $0 != sender })
            case .store(let entry):
                store(entry, sender: sender, user: user)
            case .updatePresence(let meta):
                if let sender { seats[sender]?.presenceMeta = meta }
            case .scheduleTimer(let tag, let after):
                timers.append((monotonic + max(0, after), tag))
            case .kick(let kicked, let reason):
                for id in connections(of: kicked) {
                    closed.append(Closed(connectionID: id, user: kicked, reason: reason))
                    leave(id)
                }
            case .stop(let reason):
                var context = self.context(user: "", connectionID: 0, assigns: .null)
                handler.terminate(reason: reason, context: &context)
                roomState = context.roomState
                stopped = reason
                timers.removeAll()
                for seat in seats.values.sorted(by: { $0.connectionID < $1.connectionID }) {
                    closed.append(Closed(connectionID: seat.connectionID, user: seat.user, reason: reason))
                }
                seats.removeAll()
            @unknown default:
                continue
            }
        }
    }

    /// Numbers the entry, keeps it (durable at once), broadcasts its event with the handler's `.live` payload and
    /// replies `{"id": N}` to the sender, as the room does once an entry is durable.
    private func store(_ entry: ChannelMessage, sender: UInt64?, user: String) {
        guard let sender else { return }
        var stored = entry
        stored.id = Int64(history.count) + 1
        stored.user = user
        stored.timestamp = now
        history.append(stored)
        switch stored.kind {
        case .message: messageAuthors[stored.id] = user
        case .delete: messageAuthors.removeValue(forKey: stored.target)
        default: break
        }
        let payload = handler.render(
            message: stored, delivery: .live, context: context(user: user, connectionID: 0, assigns: .null))
        deliver(stored.event, payload, to: seats.keys.sorted())
        let response = HandlerValue.object([HandlerMember("id", .int(stored.id))])
        replies.append(Reply(connectionID: sender, status: "ok", payload: response))
    }

    private func deliver(_ event: String, _ payload: HandlerValue, to ids: [UInt64]) {
        for id in ids {
            guard let shaped = handleOut(event, payload, to: id) else { continue }
            deliveries.append(Delivery(connectionID: id, event: event, payload: shaped))
        }
    }
}
