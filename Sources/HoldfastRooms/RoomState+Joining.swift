import HoldfastChannels
import HoldfastJSON
import HoldfastPresence

extension RoomState {
    /// A join: the handler decides; an allowed member is tracked (its diff and `presence_state` go out at the
    /// next presence flush), and a recovering client first gets the messages it missed.
    mutating func join(
        _ member: Member, ref: String?, payload: JSONValue, now: RoomInstant, into actions: inout [RoomAction]
    ) {
        var context = channelContext(for: nil, user: member.user, now: now)
        context.connectionID = member.connectionID
        let decision = handler.join(params: payload, context: &context)
        handlerState = context.roomState
        switch decision {
        case .deny(let reason):
            actions.append(.finishJoin(member, ref: ref, result: .error(.reason(reason)), extra: []))
        case .allow(let reply, let presenceMeta, let assigns):
            // A rejoin of the same connection replaces its previous join.
            if seats[member.connectionID] != nil { leave(member.connectionID, now: now, into: &actions) }
            let meta = presenceMeta ?? .emptyObject
            _ = presence.track(owner: member.connectionID, key: member.user, meta: meta)
            presenceGeneration &+= 1
            seats[member.connectionID] = Seat(member: member, assigns: sharingTrackedMeta(of: member, assigns))
            countByVersion[member.version, default: 0] += 1
            actions.append(.admit(member))
            countDevice(of: member.user, by: 1, into: &actions)
            recordPresenceChange(now: now, into: &actions)
            // presence_state follows at the next presence flush, encoded once for every member that joined
            // within the window: a burst of k joins costs one encode, not k.
            awaitingState[member.connectionID] = member
            if let lastSeen = payload["last_seen_id"]?.integerValue, lastSeen < lastID {
                if reply.objectMembers?.isEmpty == false { joinReplies[member.connectionID] = reply }
                actions.append(
                    .readHistory(
                        HistoryRequest(
                            member: member, ref: ref, afterID: lastSeen, limit: configuration.historyLimit)))
            } else {
                let response = joinResponse(recovered: true, extra: reply)
                actions.append(.finishJoin(member, ref: ref, result: .ok(response), extra: []))
            }
        }
    }

    /// A recovering join's history arrived: reply, then replay what the client missed (before anything live,
    /// since nothing else reached the room in between).
    ///
    /// The replay stops below the first message still in flight: the read may already see a batch the writer
    /// committed whose `committed` the room has not handled yet, and that batch is broadcast to every seated
    /// member, this one included, when it is. Replaying it too would deliver it twice. A durable batch held for the
    /// batches after it is not broadcast yet either.
    mutating func finishRecoveringJoin(
        _ request: HistoryRequest, messages: [ChatMessage], complete: Bool, into actions: inout [RoomAction]
    ) {
        let member = request.member
        let firstUnbroadcast =
            configuration.sequencedByStore
            ? lastID + 1
            : (inFlight.values + heldDurable).compactMap { $0.first?.message.id }.min() ?? Int64.max
        let replayed = messages.prefix { $0.id < firstUnbroadcast }
        // What the read shows is remembered too: after a restart, a rejoin teaches the room its recent authors.
        for stored in replayed { authors.record(stored) }
        let extra = replayed.map { stored in
            PhoenixMessage(
                joinRef: member.joinRef, ref: nil, topic: topic, event: stored.kind.event,
                payload: payload(for: stored, replay: true))
        }
        let reply = joinReplies.removeValue(forKey: member.connectionID) ?? .null
        let response = joinResponse(recovered: complete, extra: reply)
        actions.append(.finishJoin(member, ref: request.ref, result: .ok(response), extra: extra))
    }

    /// `{last_id, recovered}` and the members of the handler's join reply.
    private func joinResponse(recovered: Bool, extra: JSONValue) -> JSONValue {
        .object(
            [JSONMember("last_id", .integer(lastID)), JSONMember("recovered", .bool(recovered))]
                + (extra.objectMembers ?? []))
    }

    /// A member leaves: untracked now, its leave in the next diff.
    mutating func leave(_ connectionID: UInt64, now: RoomInstant, into actions: inout [RoomAction]) {
        guard let seat = seats.removeValue(forKey: connectionID) else { return }
        countByVersion[seat.member.version, default: 1] -= 1
        awaitingState.removeValue(forKey: connectionID)
        // Replies still owed to that join would be dropped by its session anyway: the join is over.
        replyQueues.removeValue(forKey: connectionID)
        presence.untrackAll(owner: connectionID)
        presenceGeneration &+= 1
        actions.append(.dismiss(connectionID: connectionID))
        countDevice(of: seat.member.user, by: -1, into: &actions)
        recordPresenceChange(now: now, into: &actions)
        joinReplies.removeValue(forKey: connectionID)
        var context = channelContext(for: seat, now: now)
        let result = handler.leave(context: &context)
        handlerState = context.roomState
        perform(result, origin: .room, now: now, into: &actions)
    }

    /// The handler's payload for a stored message.
    func payload(for message: ChatMessage, replay: Bool) -> JSONValue {
        handler.render(
            message, replay: replay,
            context: channelContext(
                for: nil, user: message.user, now: RoomInstant(monotonic: 0, wall: message.timestamp)))
    }
}
