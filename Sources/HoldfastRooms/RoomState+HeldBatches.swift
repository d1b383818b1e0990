// Durable batches held for the room's later batches (``RoomConfiguration/durableBatches``). In a closed loop the
// messages in flight split into commit batches that alternate (one commits while the next accumulates), and each
// batch's fan-out is its own write per member. A batch made durable while a later batch of the room is out for
// persistence waits for it, and the two then reach each member as one run: one write for both. The wait is at most
// one commit: the later batch is already in the writer's queue (`.others`: or its commit is queued in the room's
// mailbox), and a batch handed out meanwhile does not extend it. Commits held for an upgrade, and the upgrade's
// export, release the held batch at once.
//
// `.all` holds the whole batch, replies included. `.others` serves the batch's senders at once (each gets the whole
// batch, in order, then its reply) and holds only the other members' copies, so the publishers are not slowed; the
// senders of every batch, held or not, are written before the rest of its fan-out, so their next messages arrive
// while it is written and are committed together.
// A member never gets a later delivery before the held batch: the later batch's release sends the held deliveries
// first, and any other delivery to members (presence, a handler's broadcast or push, a close) releases them before it.

extension RoomState {
    /// Holds durable batch `number` if a later batch is out for persistence; false: it goes out now.
    mutating func holds(_ batch: [Accepted], number: Int, into actions: inout [RoomAction]) -> Bool {
        guard configuration.durableBatches != .off, !configuration.sequencedByStore else {
            batchCounts.count(.setting)
            return false
        }
        if let until = heldUntilBatch {
            guard number < until else {
                batchCounts.count(.endsHold)
                return false
            }
            // `.others` keeps one batch held: a new batch's senders must have the held one before their own.
            if configuration.durableBatches.servesSendersFirst {
                releaseHeldBatches(.secondDurable, into: &actions)
                heldUntilBatch = until
            }
            batchCounts.heldForInFlight += 1
        } else if let newest = inFlight.keys.max() {
            heldUntilBatch = newest
            batchCounts.heldForInFlight += 1
        } else if configuration.durableBatches.servesSendersFirst, commitScheduled, !pending.isEmpty {
            // `.others` also waits for the messages accepted meanwhile: their commit is queued, as the next batch.
            heldUntilBatch = nextBatch
            batchCounts.heldForPending += 1
        } else {
            batchCounts.count(.nothingLater)
            return false
        }
        heldDurable.append(batch)
        if configuration.durableBatches.servesSendersFirst { serveSenders(of: batch, into: &actions) }
        return true
    }

    /// `.others`, a batch that is not held: its broadcasts to the other members (one run with any batch released
    /// before it), then its senders' copies and replies, which the server writes first.
    mutating func serveSendersFirst(_ batch: [Accepted], into actions: inout [RoomAction]) {
        var served: [RoomAction] = []
        serveSenders(of: batch, into: &served)
        actions.append(contentsOf: heldDeliveries)
        heldDeliveries.removeAll(keepingCapacity: true)
        actions.append(contentsOf: served)
    }

    /// `.others`: the batch's seated senders get its messages and their replies now; everything else it delivers
    /// waits in ``heldDeliveries``, with the senders left out of its broadcasts.
    private mutating func serveSenders(of batch: [Accepted], into actions: inout [RoomAction]) {
        let senders = Set(batch.compactMap { $0.sender?.connectionID }.filter { seats[$0] != nil })
        var deliveries: [RoomAction] = []
        broadcastDurable(batch, into: &deliveries)
        for action in deliveries {
            switch action {
            case .broadcast(var broadcast):
                let served = senders.subtracting(broadcast.except)
                if !served.isEmpty {
                    var now = broadcast
                    (now.only, now.recipients) = (served, served.count)
                    actions.append(.broadcast(now))
                }
                broadcast.except.formUnion(served)
                broadcast.recipients -= served.count
                heldDeliveries.append(.broadcast(broadcast))
            case .push(let member, _) where !senders.contains(member.connectionID):
                heldDeliveries.append(action)
            default:
                actions.append(action)
            }
        }
    }

    /// The durable batches held for the ones after them go out, in order.
    mutating func releaseHeldBatches(_ reason: DurableBatchCounts.Reason, into actions: inout [RoomAction]) {
        heldUntilBatch = nil
        guard !heldDurable.isEmpty else { return }
        batchCounts.byReason[reason.rawValue] += heldDurable.count
        if configuration.durableBatches.servesSendersFirst {
            actions.append(contentsOf: heldDeliveries)
            heldDeliveries.removeAll(keepingCapacity: true)
        } else {
            for batch in heldDurable { broadcastDurable(batch, into: &actions) }
        }
        heldDurable.removeAll(keepingCapacity: true)
    }

    /// `.others`: an event other than a commit made deliveries to members; the held batch goes out before the first
    /// of them, so it is not overtaken (a reply, or a joiner's replay, which stops below it, may go first).
    mutating func releaseHeldBatchBeforeOthers(after event: RoomEvent, in actions: inout [RoomAction]) {
        if case .committed = event { return }
        guard let first = actions.firstIndex(where: \.followsHeldBatch) else { return }
        var released: [RoomAction] = []
        releaseHeldBatches(.delivery, into: &released)
        actions.insert(contentsOf: released, at: first)
    }
}

extension RoomAction {
    /// A delivery that a member must not get before a held batch's broadcast.
    var followsHeldBatch: Bool {
        switch self {
        case .broadcast(let broadcast): broadcast.only == nil
        case .push, .sendPresenceState, .close: true
        default: false
        }
    }
}
