import HoldfastJSON
public import HoldfastPresence

extension RoomState {
    /// A room handed over by the previous process: its presence exactly as it was (phx_refs, the pending diff),
    /// the joiners still waiting for `presence_state`, and the messages accepted but not yet durable.
    ///
    /// `members` are the joins whose connections came across, by connection id. A presence entry whose
    /// connection did not make it (closed by the old process at the last moment) is untracked, as if its socket
    /// had closed here; ``RoomEvent/resumeAfterHandoff`` then flushes that change.
    public init(
        importing snapshot: RoomSnapshot, presence: PresenceSnapshot, members: [UInt64: Member],
        configuration: RoomConfiguration, handler: any RoomChannel
    ) {
        self.init(topic: snapshot.topic, configuration: configuration, channel: handler, lastID: snapshot.lastID)
        // Each member tracked one meta under its phx_ref when it joined.
        for entry in presence.entries {
            guard let member = members[entry.owner] else { continue }
            seats[member.connectionID] = Seat(member: member)
            countByVersion[member.version, default: 0] += 1
        }
        authors = snapshot.authors
        if let values = snapshot.handler {
            handlerState = values.state
            handlerStateVersion = values.version
            // Carried as time left: ``RoomEvent/resumeAfterHandoff`` rebases them on this process's clock.
            handlerTimers = values.timers
            timersRelative = !values.timers.isEmpty
        }
        self.presence = PresenceState(importing: presence)
        // Assigns equal to the member's meta (a handler that keeps its meta as assigns) share the meta's array, as
        // they did in the previous process: the records carry the two apart.
        for (id, assigns) in snapshot.handler?.assigns ?? [:] {
            guard let member = seats[id]?.member else { continue }
            let shared = sharingTrackedMeta(of: member, assigns)
            seats[id]?.assigns = shared
        }
        for owner in Set(presence.entries.map(\.owner)) where seats[owner] == nil {
            self.presence.untrackAll(owner: owner)
            pendingHandoffFlush = true
        }
        for id in snapshot.awaitingState {
            if let member = seats[id]?.member { awaitingState[id] = member }
        }
        if !presence.changes.isEmpty || !awaitingState.isEmpty { pendingHandoffFlush = true }
        // Accepted but not yet durable when the old process paused (it holds commits then): committed here.
        provisionalID = min(0, snapshot.pending.map(\.message.id).min() ?? 0)
        for item in snapshot.pending {
            let sender = members[item.senderConnectionID]
            pending.append(Accepted(message: item.message, sender: sender, ref: item.ref, ticket: item.ticket))
            if let sender { awaitDurability(of: item.message, from: sender, ref: item.ref) }
        }
    }

    /// A handed-over room served by an API 1 handler.
    public init(
        importing snapshot: RoomSnapshot, presence: PresenceSnapshot, members: [UInt64: Member],
        configuration: RoomConfiguration, handler: any ChatHandler
    ) {
        self.init(
            importing: snapshot, presence: presence, members: members, configuration: configuration,
            handler: ChatHandlerChannel(handler))
    }

    /// The members' non-null assigns, by connection id (staged, and exported in the pause).
    var memberAssigns: [UInt64: JSONValue] { seats.compactMapValues { $0.assigns == .null ? nil : $0.assigns } }

    /// The room for a binary upgrade's pause; nil while batches are out for persistence.
    func snapshot(stagedPresence: UInt64?, stagedSeats: UInt64? = nil, now: RoomInstant) -> RoomSnapshot? {
        guard inFlight.isEmpty else { return nil }
        // Seats as staged: the new process holds these assigns already, so they are neither copied nor compared.
        let assignsAsStaged = stagedSeats == seatsGeneration
        let assigns = assignsAsStaged ? [:] : memberAssigns
        let hasAssigns = assignsAsStaged ? seats.values.contains(where: { $0.assigns != .null }) : !assigns.isEmpty
        let values =
            handlerState == .null && !hasAssigns && handlerTimers.isEmpty
            ? nil
            : HandlerValues(
                version: handlerStateVersion, state: handlerState, assigns: assigns,
                timers: handlerTimers.map { HandlerTimer(due: max(0, $0.due - now.monotonic), tag: $0.tag) })
        return RoomSnapshot(
            topic: topic, lastID: lastID,
            presence: stagedPresence == presenceGeneration ? nil : presence.exportState(),
            awaitingState: Array(awaitingState.keys),
            pending: pending.compactMap { item in
                // A message from the server API has no sender; connection ids start at 1, so 0 names none.
                if let ticket = item.ticket {
                    return PendingMessage(message: item.message, senderConnectionID: 0, ref: nil, ticket: ticket)
                }
                return item.sender.map {
                    PendingMessage(message: item.message, senderConnectionID: $0.connectionID, ref: item.ref)
                }
            }, handler: values, authors: authors, assignsAsStaged: assignsAsStaged)
    }
}
