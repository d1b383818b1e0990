import HoldfastChannels
import HoldfastJSON
import HoldfastPresence

extension RoomState {
    /// Hands the pending messages out for persistence (the server groups batches of many rooms into one
    /// transaction). While commits are held they stay pending.
    mutating func commitDue(held: Bool, into actions: inout [RoomAction]) {
        commitScheduled = false
        let endsWait = pacedWaiting
        pacedWaiting = false
        // The batch a held one waits for is not handed out now: the held one goes out without it.
        if held, heldUntilBatch == nextBatch { releaseHeldBatches(.upgradeOrRestart, into: &actions) }
        let early = pacedEarlyHandedOut
        pacedEarlyHandedOut = nil
        if let early, !held {
            // The turn of a wait that ended early is over: what was read after it belongs to the same window.
            pacedWindow = early + pending.count
        } else if endsWait, !held, !pending.isEmpty {
            pacedWindow = pending.count
        }
        guard !pending.isEmpty, !held else { return }
        if commitAfterFanOut, configuration.durableBatches == .paced, !configuration.sequencedByStore {
            commitAfterFanOut = false
            // Pace only while the room keeps up: a batch already held for the next commit, or a window's worth of
            // messages already waiting, means the room is behind, and a wait would only add a fan-out to its lag.
            if heldUntilBatch != nil || (pacedWindow > 0 && pending.count >= pacedWindow) {
                batchCounts.pacingSkipped += 1
            } else {
                // After the turn that writes the last fan-out: the senders' next messages, read then, join this batch.
                commitScheduled = true
                pacedWaiting = true
                batchCounts.commitsPaced += 1
                actions.append(.scheduleCommitAfterFanOut)
                return
            }
        }
        commitAfterFanOut = false
        handOutPending(into: &actions)
    }

    /// ``DurableBatchJoining/paced``: a message accepted while a commit waits for the fan-out's writes. Once the
    /// room's window has refilled, waiting longer gathers nothing more, so the commit goes out now and its
    /// `fdatasync` overlaps the fan-out's last writes. The wait's own turn end still comes, as the commit scheduled
    /// for the messages read after this one.
    mutating func endPacedWaitIfRefilled(into actions: inout [RoomAction]) {
        guard pacedWaiting, pacedWindow > 0, pending.count >= pacedWindow else { return }
        pacedWaiting = false
        pacedEarlyHandedOut = pending.count
        batchCounts.pacedEarly += 1
        handOutPending(into: &actions)
    }

    private mutating func handOutPending(into actions: inout [RoomAction]) {
        if !inFlight.isEmpty { batchCounts.commitsAhead += 1 }
        let number = nextBatch
        nextBatch += 1
        inFlight[number] = pending
        actions.append(.persist(batch: number, messages: pending.map(\.message)))
        pending.removeAll(keepingCapacity: true)
    }

    /// A batch is durable (broadcast it, acknowledge each sender) or failed (tell the senders; their ids stay
    /// unused, a gap the history tolerates).
    ///
    /// With ``RoomConfiguration/durableBatches``, a durable batch reported while later batches of the room are out
    /// for persistence waits for them (see `RoomState+HeldBatches.swift`).
    mutating func committed(batch number: Int, durable: Bool, into actions: inout [RoomAction]) {
        guard let batch = inFlight.removeValue(forKey: number) else { return }
        if durable { batchCounts.countDurable(messages: batch.count) }
        if durable, holds(batch, number: number, into: &actions) { return }
        releaseHeldBatches(durable ? .joined : .laterFailed, into: &actions)
        commitAfterFanOut = durable
        guard durable else {
            actions.append(.log(.error, "history append failed; messages not acknowledged"))
            let response = JSONValue.object([JSONMember("reason", .string("message not stored, try again"))])
            for item in batch {
                if let ticket = item.ticket { actions.append(.answerPublish(ticket: ticket, .failed)) }
                guard let sender = item.sender else { continue }
                settleReply(for: item.message, from: sender, status: "error", response: response, into: &actions)
            }
            return
        }
        if configuration.durableBatches.servesSendersFirst, !configuration.sequencedByStore {
            return serveSendersFirst(batch, into: &actions)
        }
        broadcastDurable(batch, into: &actions)
    }

    /// Broadcasts a durable batch's messages and acknowledges their senders.
    mutating func broadcastDurable(_ batch: [Accepted], into actions: inout [RoomAction]) {
        for item in batch {
            authors.record(item.message)
            channelBroadcast(
                event: item.message.kind.event, payload: payload(for: item.message, replay: false), except: [],
                into: &actions)
            if let ticket = item.ticket { actions.append(.answerPublish(ticket: ticket, .stored(id: item.message.id))) }
            guard let sender = item.sender else { continue }
            let response = JSONValue.object([JSONMember("id", .integer(item.message.id))])
            settleReply(for: item.message, from: sender, status: "ok", response: response, into: &actions)
        }
    }

    /// A push for every member but `except`, encoded once per serializer version someone in the room reads.
    mutating func broadcast(
        event: String, payload: JSONValue, except: Set<UInt64> = [], into actions: inout [RoomAction]
    ) {
        let recipients = seats.count - except.count
        // Clustered, a local presence change matters to the other nodes even when nobody here gets it.
        let shared = configuration.sequencedByStore && event == "presence_diff"
        guard recipients > 0 || shared else { return }
        let message = PhoenixMessage(joinRef: nil, ref: nil, topic: topic, event: event, payload: payload)
        var texts: [PhoenixSerializerVersion: [UInt8]] = [:]
        for version in [PhoenixSerializerVersion.v1, .v2] where countByVersion[version, default: 0] > 0 {
            var text: [UInt8] = []
            PhoenixSerializer.encode(message, version: version, into: &text)
            texts[version] = text
        }
        actions.append(
            .broadcast(
                RoomBroadcast(
                    event: event, v1: texts[.v1], v2: texts[.v2], except: except, recipients: recipients,
                    payload: shared ? payload : nil)))
    }
}
