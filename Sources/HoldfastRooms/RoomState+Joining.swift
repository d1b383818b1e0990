import HoldfastChannels
import HoldfastJSON
import HoldfastPresence

extension RoomState {
    /// A join: the handler decides; an allowed member is tracked (its diff and `presence_state` go out at the
    /// next presence flush), and a recovering client first gets the messages it missed.
    mutating func join(
        _ member: Member, ref: String?, payload: JSONValue, now: RoomInstant, into actions: inout [RoomAction]
    ) {
        switch handler.authorizeJoin(topic: topic, user: member.user, payload: payload, now: now.wall) {
        case .deny(let reason):
            let response = JSONValue.object([JSONMember("reason", .string(reason))])
            actions.append(.finishJoin(member, ref: ref, result: .error(response), extra: []))
        case .allow(let meta):
            // A rejoin of the same connection replaces its previous join.
            if seats[member.connectionID] != nil { leave(member.connectionID, now: now, into: &actions) }
            let phxRef = presence.track(owner: member.connectionID, key: member.user, meta: meta)
            presenceGeneration &+= 1
            seats[member.connectionID] = Seat(member: member, meta: meta, phxRef: phxRef)
            countByVersion[member.version, default: 0] += 1
            actions.append(.admit(member))
            countDevice(of: member.user, by: 1, into: &actions)
            recordPresenceChange(now: now, into: &actions)
            // presence_state follows at the next presence flush, encoded once for every member that joined
            // within the window: a burst of k joins costs one encode, not k.
            awaitingState[member.connectionID] = member
            if let lastSeen = payload["last_seen_id"]?.integerValue, lastSeen < lastID {
                actions.append(
                    .readHistory(
                        HistoryRequest(
                            member: member, ref: ref, afterID: lastSeen, limit: configuration.historyLimit)))
            } else {
                actions.append(.finishJoin(member, ref: ref, result: .ok(joinResponse(recovered: true)), extra: []))
            }
        }
    }

    /// A recovering join's history arrived: reply, then replay what the client missed (before anything live,
    /// since nothing else reached the room in between).
    ///
    /// The replay stops below the first message still in flight: the read may already see a batch the writer
    /// committed whose `committed` the room has not handled yet, and that batch is broadcast to every seated
    /// member, this one included, when it is. Replaying it too would deliver it twice.
    mutating func finishRecoveringJoin(
        _ request: HistoryRequest, messages: [ChatMessage], complete: Bool, into actions: inout [RoomAction]
    ) {
        let member = request.member
        let firstUnbroadcast = inFlight.values.compactMap { $0.first?.message.id }.min() ?? Int64.max
        let extra = messages.prefix { $0.id < firstUnbroadcast }.map { stored in
            PhoenixMessage(
                joinRef: member.joinRef, ref: nil, topic: topic, event: "new_msg",
                payload: payload(for: stored, replay: true))
        }
        actions.append(
            .finishJoin(member, ref: request.ref, result: .ok(joinResponse(recovered: complete)), extra: extra))
    }

    private func joinResponse(recovered: Bool) -> JSONValue {
        .object([JSONMember("last_id", .integer(lastID)), JSONMember("recovered", .bool(recovered))])
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
    }

    /// The handler's payload for a stored message.
    func payload(for message: ChatMessage, replay: Bool) -> JSONValue {
        handler.messagePayload(
            topic: topic, id: message.id, user: message.user, body: message.body, timestamp: message.timestamp,
            clientID: message.clientID.map { .string($0) }, replay: replay)
    }
}
