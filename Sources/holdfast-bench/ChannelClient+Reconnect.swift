import Histogram
import HoldfastCore

/// chat with ``ChannelPlan/reconnect``: what a phoenix.js app does when its socket goes away, and the soak's churn.
///
/// A drop (the server closed, reset or died) marks the member disconnected: its messages still waiting for a
/// reply will never get one on this socket, so their numbers are recorded as unacknowledged (the server may or
/// may not have stored them; receivers are not held to them), and the member reconnects after
/// ``ReconnectBackoff``'s wait, retrying with the next step while attempts fail. Once the new socket is open it
/// rejoins its room with `last_seen_id`, the highest message id it received, and the server sends what it missed
/// before anything live; those messages go through the same ``SequenceChecker`` as live ones, so a message lost,
/// repeated or reordered across the reconnect counts as one. A refused rejoin is retried after phoenix.js's
/// rejoin wait. The reconnect time runs from the drop to the rejoin's ok reply.
///
/// Churn (the soak) is the same with a clean start: the member stops sending, waits for its last reply, sends a
/// close frame, and reconnects once the server has closed.
extension ChannelClient {
    /// Whether losing `connection` starts a reconnect rather than counting as an unexpected close.
    func shouldReconnect(_ connection: ClientConnection) -> Bool {
        let member = members[connection.tag]
        return plan.reconnect && !closing && member.role == .chatter && slots[connection.tag] === connection
            && (member.joined || member.droppedAt != 0)
    }

    /// The server closed or reset member `connection.tag`'s socket (joined, or rejoining after an earlier drop).
    func dropped(_ connection: ClientConnection, reason: String, violation: Bool) {
        let index = connection.tag
        let now = MonotonicClock.nowNanoseconds()
        if violation { result.protocolViolations += 1 }
        if members[index].droppedAt == 0 {
            result.drops += 1
            timeline?.closes.append(now)
        } else {
            result.reconnectAttemptsFailed += 1
        }
        result.noteError("connection dropped: " + reason)
        markDisconnected(index, now: now)
        slots[index] = nil
        scheduleReconnect(index)
        publishProgress()
    }

    /// Member `index` is off its room from `now` (unless it already was): nothing it sent is waiting any more.
    func markDisconnected(_ index: Int, now: UInt64) {
        if members[index].droppedAt == 0 {
            members[index].droppedAt = max(1, now)
            reconnecting += 1
        }
        members[index].joined = false
        members[index].leaving = false
        if members[index].role == .chatter {
            for ref in members[index].pending.keys { members[index].unacknowledged.append(ref - 1) }
        }
        members[index].pending.removeAll()
    }

    /// Waits phoenix.js's next reconnect step (jittered), then opens a new socket for member `index`.
    func scheduleReconnect(_ index: Int) {
        members[index].reconnectTries += 1
        let delay = ReconnectBackoff.reconnectDelay(tries: members[index].reconnectTries, random: &random)
        loop.schedule(afterMilliseconds: delay) { [self] in reconnect(index) }
    }

    func reconnect(_ index: Int) {
        guard !closing, members[index].droppedAt != 0, slots[index] == nil else { return }
        if case .failure(let error) = openConnection(index) {
            result.reconnectAttemptsFailed += 1
            result.noteError("reconnect: \(error)")
            scheduleReconnect(index)
        }
    }

    /// A reconnect attempt failed before the socket opened (refused while the server is down, say): try again.
    func reconnectFailed(_ connection: ClientConnection, reason: String) {
        result.reconnectAttemptsFailed += 1
        result.noteError("reconnect: " + reason)
        guard slots[connection.tag] === connection else { return }
        slots[connection.tag] = nil
        if !closing { scheduleReconnect(connection.tag) }
    }

    /// A reconnect's socket is open: rejoin with `last_seen_id` (phoenix.js counts tries from the last open).
    func reopened(_ connection: ClientConnection) {
        members[connection.tag].reconnectTries = 0
        sendJoin(connection)
    }

    /// The answer to a rejoin: back in the room, or refused and retried after phoenix.js's rejoin wait.
    func rejoinSettled(_ connection: ClientConnection, ok: Bool, reason: String, now: UInt64) {
        let index = connection.tag
        guard ok else {
            result.rejoinRefusals += 1
            result.noteError(reason)
            members[index].rejoinTries += 1
            let delay = ReconnectBackoff.rejoinDelay(tries: members[index].rejoinTries, random: &random)
            loop.schedule(afterMilliseconds: delay) { [self] in
                guard !closing, slots[index] === connection, connection.state == .open, members[index].droppedAt != 0
                else {
                    return
                }
                sendJoin(connection)
            }
            return
        }
        let droppedAt = members[index].droppedAt
        _ = reconnectLatency.record(min(now > droppedAt ? now - droppedAt : 0, RunResult.maximumLatency))
        result.reconnects += 1
        members[index].droppedAt = 0
        members[index].joined = true
        members[index].rejoinTries = 0
        members[index].joinedAt = now
        reconnecting -= 1
        churnRejoined(index, now: now)
        publishProgress()
    }

    // MARK: Churn

    /// Soak churn: member `index` stops sending and leaves cleanly once its messages are answered, then comes
    /// back. False when it is not joined (or already leaving).
    @discardableResult
    func churn(_ index: Int) -> Bool {
        // A user whose last churn is still being judged stays: a second leave would hide the first one's join.
        guard plan.reconnect, !closing, members[index].joined, members[index].droppedAt == 0, !members[index].leaving,
            slots[index]?.state == .open, churnWatches[members[index].number] == nil
        else { return false }
        members[index].leaving = true
        if members[index].pending.isEmpty { leave(index) }
        return true
    }

    /// Sends the close frame of a churning member; the socket is dropped if the server never answers it.
    func leave(_ index: Int) {
        members[index].leaving = false
        guard !closing, let connection = slots[index], connection.state == .open else { return }
        result.churns += 1
        let now = MonotonicClock.nowNanoseconds()
        markDisconnected(index, now: now)
        watchChurn(index, now: now)
        connection.close()
        loop.schedule(afterMilliseconds: 5000) {
            if connection.state == .closing { connection.terminate() }
        }
        publishProgress()
    }

    /// A churning member's socket is closed: reconnect after the first backoff step.
    func closedAfterLeaving(_ connection: ClientConnection) {
        slots[connection.tag] = nil
        if !closing { scheduleReconnect(connection.tag) }
    }
}
