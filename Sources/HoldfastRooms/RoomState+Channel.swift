import HoldfastChannels
import HoldfastJSON
import HoldfastPresence

/// A timer a channel handler scheduled: when it is due (monotonic ms) and the tag it is delivered with.
public struct HandlerTimer: Sendable, Equatable {
    public var due: Int64
    public var tag: String

    public init(due: Int64, tag: String) {
        self.due = due
        self.tag = tag
    }
}

/// Where the actions of a channel call come from: who a reply answers, whom `broadcastFrom` leaves out.
enum ChannelOrigin {
    /// A member's push (its ref, for the reply).
    case member(Member, ref: String?)
    /// A message published through the server API.
    case publish(PublishRequest)
    /// The room itself: a timer, a leave, a stop.
    case room
}

extension RoomState {
    /// The context of a channel call for `seat` (nil: a call of the room itself, or `user` for the server API).
    func channelContext(for seat: Seat?, user: String = "", now: RoomInstant) -> RoomChannelContext {
        var context = RoomChannelContext(
            topic: topic, user: seat?.member.user ?? user, connectionID: seat?.member.connectionID ?? 0, now: now,
            memberCount: seats.count, roomState: handlerState, assigns: seat?.assigns ?? .null)
        context.messageAuthors = authors.byID
        return context
    }

    /// Keeps what the call left in the context: the room's handler state and the socket's assigns (written only
    /// when they changed, so a seat moves ``seatsGeneration`` only then).
    mutating func keep(_ context: RoomChannelContext) {
        handlerState = context.roomState
        if context.connectionID != 0, let assigns = seats[context.connectionID]?.assigns, assigns != context.assigns {
            seats[context.connectionID]?.assigns = context.assigns
        }
    }

    /// A client event of a member: the reserved ones never reach the handler.
    mutating func handleIn(
        from connectionID: UInt64, event: String, payload: JSONValue, ref: String?, now: RoomInstant,
        into actions: inout [RoomAction]
    ) {
        guard let seat = seats[connectionID] else { return }
        guard !event.hasPrefix("phx_"), event != "heartbeat" else {
            queueReply(to: seat.member, ref: ref, status: "error", response: .reason("unknown event"), into: &actions)
            return
        }
        var context = channelContext(for: seat, now: now)
        let result = handler.handleIn(event: event, payload: payload, context: &context)
        keep(context)
        perform(result, origin: .member(seat.member, ref: ref), now: now, into: &actions)
    }

    /// The room's timer fired: the presence window if it is due (or if nothing else is: the timer of a room
    /// without handler timers is always the presence window's), then the handler's due timers, oldest first.
    mutating func timer(now: RoomInstant, into actions: inout [RoomAction]) {
        let due = handlerTimers.filter { $0.due <= now.monotonic }
        if due.isEmpty || (coalescer.scheduledAt.map { $0 <= now.monotonic } ?? false) {
            flushPresence(into: &actions)
        }
        guard !due.isEmpty else { return }
        handlerTimers.removeAll { $0.due <= now.monotonic }
        for timer in due {
            var context = channelContext(for: nil, now: now)
            let result = handler.handleInfo(tag: timer.tag, context: &context)
            keep(context)
            perform(result, origin: .room, now: now, into: &actions)
        }
    }

    /// Performs a channel call's actions in order.
    mutating func perform(
        _ list: [RoomChannelAction], origin: ChannelOrigin, now: RoomInstant, into actions: inout [RoomAction]
    ) {
        var sender: Member?
        if case .member(let member, _) = origin { sender = member }
        var answered = false
        for action in list {
            switch action {
            case .reply(let status, let payload):
                switch origin {
                case .member(let member, let ref):
                    queueReply(to: member, ref: ref, status: status, response: payload, into: &actions)
                case .publish(let request):
                    guard !answered else { continue }
                    answered = true
                    let reason = payload["reason"]?.stringValue ?? status
                    actions.append(.answerPublish(ticket: request.ticket, .refused(reason)))
                case .room:
                    break
                }
            case .push(let event, let payload):
                guard let sender, seats[sender.connectionID] != nil else { continue }
                let message = PhoenixMessage(
                    joinRef: sender.joinRef, ref: nil, topic: topic, event: event, payload: payload)
                actions.append(.push(sender, message))
            case .broadcast(let event, let payload):
                channelBroadcast(event: event, payload: payload, except: [], into: &actions)
            case .broadcastFrom(let event, let payload):
                let except: Set<UInt64> = sender.map { [$0.connectionID] } ?? []
                channelBroadcast(event: event, payload: payload, except: except, into: &actions)
            case .store(let body, let clientID, let kind, let target):
                if case .publish = origin { answered = true }
                let entry = ChatMessage(
                    id: 0, user: "", body: body, timestamp: now.wall, clientID: clientID?.stringValue, kind: kind,
                    target: target)
                store(entry, origin: origin, into: &actions)
            case .updatePresence(let meta):
                guard let sender, seats[sender.connectionID] != nil,
                    presence.update(owner: sender.connectionID, key: sender.user, meta: meta) != nil
                else { continue }
                presenceGeneration &+= 1
                recordPresenceChange(now: now, into: &actions)
            case .scheduleTimer(let tag, let after):
                let due = now.monotonic + max(0, after)
                handlerTimers.append(HandlerTimer(due: due, tag: tag))
                actions.append(.wakeAt(due))
            case .kick(let user, let reason):
                for member in seats.values.map(\.member) where member.user == user {
                    close(member, reason: reason, now: now, into: &actions)
                }
            case .stop(let reason):
                var context = channelContext(for: nil, now: now)
                handler.terminate(reason: reason, context: &context)
                keep(context)
                handlerTimers.removeAll()
                for member in seats.values.map(\.member) { close(member, reason: reason, now: now, into: &actions) }
            }
        }
        if case .publish(let request) = origin, !answered {
            actions.append(.answerPublish(ticket: request.ticket, .refused("not stored")))
        }
    }

    /// Numbers a history entry (its sender's user and the next id) and queues it for durability; it is broadcast
    /// and acknowledged once durable.
    mutating func store(_ entry: ChatMessage, origin: ChannelOrigin, into actions: inout [RoomAction]) {
        var message = entry
        switch origin {
        case .member(let sender, let ref):
            (message.id, message.user) = (nextMessageID(), sender.user)
            pending.append(Accepted(message: message, sender: sender, ref: ref))
            awaitDurability(of: message, from: sender, ref: ref)
        case .publish(let request):
            (message.id, message.user) = (nextMessageID(), request.user)
            pending.append(Accepted(message: message, sender: nil, ref: nil, ticket: request.ticket))
        case .room:
            actions.append(.log(.error, "a handler stored a message outside a member's event; dropped"))
            return
        }
        if !commitScheduled {
            commitScheduled = true
            // Behind the messages already in the mailbox: one transaction for all of them.
            actions.append(.scheduleCommit)
        } else if pacedWaiting {
            endPacedWaitIfRefilled(into: &actions)
        }
    }

    /// A broadcast of the handler: encoded once for the room, unless the handler intercepts the event, which then
    /// shapes (or drops) it per member.
    mutating func channelBroadcast(
        event: String, payload: JSONValue, except: Set<UInt64>, into actions: inout [RoomAction]
    ) {
        guard handler.interceptedEvents.contains(event) else {
            broadcast(event: event, payload: payload, except: except, into: &actions)
            return
        }
        for seat in seats.values where !except.contains(seat.member.connectionID) {
            let member = seat.member
            guard let shaped = handler.handleOut(event: event, payload: payload, member: member, assigns: seat.assigns)
            else { continue }
            let message = PhoenixMessage(joinRef: member.joinRef, ref: nil, topic: topic, event: event, payload: shaped)
            actions.append(.push(member, message))
        }
    }

    /// The room closes a member's channel (kick, stop): `phx_close` to it, then it leaves.
    mutating func close(_ member: Member, reason: String, now: RoomInstant, into actions: inout [RoomAction]) {
        actions.append(.close(member, reason: reason))
        leave(member.connectionID, now: now, into: &actions)
    }

    /// The handler version changed (a swap, a rollback, a binary upgrade): the room's handler state and every
    /// member's assigns go through the new code's migration before its first call. A value the new code cannot
    /// migrate is reset to null (logged): the swap itself already happened.
    mutating func migrateHandlerValues(into actions: inout [RoomAction]) {
        let from = handlerStateVersion
        handlerStateVersion = handler.version
        do {
            handlerState = try handler.migrateRoomState(fromVersion: from, handlerState)
        } catch {
            handlerState = .null
            actions.append(.log(.error, "room state of handler \(from) not migrated, reset: \(error)"))
        }
        for id in Array(seats.keys) {
            guard let assigns = seats[id]?.assigns, assigns != .null else { continue }
            do {
                let migrated = try handler.migrateAssigns(fromVersion: from, assigns)
                seats[id]?.assigns = migrated
            } catch {
                seats[id]?.assigns = .null
                actions.append(.log(.error, "assigns of handler \(from) not migrated, reset: \(error)"))
            }
        }
    }
}
