import HoldfastJSON

/// A reply a member is owed, in the order of its pushes.
struct ReplySlot: Sendable {
    let member: Member
    let ref: String?
    /// The accepted message whose durability the reply waits for; nil once the outcome is known.
    var messageID: Int64?
    var outcome: (status: String, response: JSONValue)?
}

extension RoomState {
    /// Replies now, or after the replies still owed to the member's earlier pushes.
    mutating func queueReply(
        to member: Member, ref: String?, status: String, response: JSONValue, into actions: inout [RoomAction]
    ) {
        guard replyQueues[member.connectionID]?.isEmpty == false else {
            actions.append(.reply(member, ref: ref, status: status, response: response))
            return
        }
        replyQueues[member.connectionID]?.append(
            ReplySlot(member: member, ref: ref, messageID: nil, outcome: (status, response)))
    }

    /// An accepted message's reply waits for its durability.
    mutating func awaitDurability(of message: ChatMessage, from member: Member, ref: String?) {
        replyQueues[member.connectionID, default: []].append(
            ReplySlot(member: member, ref: ref, messageID: message.id, outcome: nil))
    }

    /// The message's outcome is known: its reply, and every reply queued behind it that is ready, go out.
    mutating func settleReply(
        for message: ChatMessage, from member: Member, status: String, response: JSONValue,
        into actions: inout [RoomAction]
    ) {
        let id = member.connectionID
        guard var queue = replyQueues[id], let index = queue.firstIndex(where: { $0.messageID == message.id })
        else { return }
        queue[index].messageID = nil
        queue[index].outcome = (status, response)
        var sent = 0
        while sent < queue.count, let outcome = queue[sent].outcome {
            let slot = queue[sent]
            actions.append(.reply(slot.member, ref: slot.ref, status: outcome.status, response: outcome.response))
            sent += 1
        }
        queue.removeFirst(sent)
        replyQueues[id] = queue.isEmpty ? nil : queue
    }

    /// Before the room is handed over: the replies that are ready but queued behind a message still pending go
    /// out now (the handoff record carries the pending messages, not the replies behind them), and the queues
    /// keep only the slots of the pending messages, which the new process rebuilds.
    mutating func releaseReadyReplies(into actions: inout [RoomAction]) {
        for (id, queue) in replyQueues {
            for slot in queue {
                guard let outcome = slot.outcome else { continue }
                actions.append(.reply(slot.member, ref: slot.ref, status: outcome.status, response: outcome.response))
            }
            let waiting = queue.filter { $0.outcome == nil }
            replyQueues[id] = waiting.isEmpty ? nil : waiting
        }
    }
}
