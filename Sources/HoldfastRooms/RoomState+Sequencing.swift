import HoldfastJSON

// A room whose ids come from its store (``RoomConfiguration/sequencedByStore``, a cluster's Redis): the room gives
// an accepted message a provisional negative id (its reply slot's key), the store numbers it, and the room answers
// the sender with the store's id (``RoomEvent/sequenced(batch:ids:)``). Members get the message only when the store
// delivers it (``RoomEvent/delivered(_:upTo:)``), on every node in the store's one order, the sender's own node
// included; ``RoomState/lastID`` is then the highest id delivered.

extension RoomState {
    /// The id of a message accepted now: the next one (the room numbers), or a provisional negative one.
    mutating func nextMessageID() -> Int64 {
        if configuration.sequencedByStore {
            provisionalID -= 1
            return provisionalID
        }
        lastID += 1
        return lastID
    }

    /// The store numbered (or failed) the messages of a batch: each sender hears its id or the failure.
    mutating func sequenced(batch number: Int, ids: [Int64?], into actions: inout [RoomAction]) {
        guard let batch = inFlight.removeValue(forKey: number) else { return }
        for (index, item) in batch.enumerated() {
            let id = index < ids.count ? ids[index] : nil
            if let ticket = item.ticket {
                actions.append(.answerPublish(ticket: ticket, id.map { .stored(id: $0) } ?? .failed))
            }
            guard let sender = item.sender else { continue }
            if let id {
                let response = JSONValue.object([JSONMember("id", .integer(id))])
                settleReply(for: item.message, from: sender, status: "ok", response: response, into: &actions)
            } else {
                let response = JSONValue.object([JSONMember("reason", .string("unavailable"))])
                settleReply(for: item.message, from: sender, status: "error", response: response, into: &actions)
            }
        }
        if ids.contains(nil) { actions.append(.log(.error, "message store unavailable; senders told")) }
    }

    /// Entries from the store, in its order: each one newer than the last delivered goes to every member, as its
    /// kind's event (`new_msg`, `msg_edited`, `msg_deleted`), and its author is remembered (who may edit it).
    mutating func deliver(_ messages: [ChatMessage], upTo: Int64, into actions: inout [RoomAction]) {
        for message in messages where message.id > lastID {
            lastID = message.id
            authors.record(message)
            channelBroadcast(
                event: message.kind.event, payload: payload(for: message, replay: false), except: [], into: &actions)
        }
        lastID = max(lastID, upTo)
    }
}
