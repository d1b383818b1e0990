import HoldfastChannels
public import HoldfastJSON
import HoldfastPresence

extension RoomState {
    /// A presence change: the coalescer says when the diff goes out (at once after a quiet window, else at the
    /// window's end, carrying every change since).
    mutating func recordPresenceChange(now: RoomInstant, into actions: inout [RoomAction]) {
        guard let flushAt = coalescer.changeRecorded(now: now.monotonic) else { return }
        actions.append(.wakeAt(flushAt))
    }

    /// The presence window ended: the diff to everyone who was already here, the whole state to those who
    /// joined within the window.
    mutating func flushPresence(into actions: inout [RoomAction]) {
        coalescer.flushed()
        let diff = presence.takeDiff()
        presenceGeneration &+= 1
        let joiners = Array(awaitingState.values)
        // After a burst of thousands of joiners the table would otherwise keep its size for the life of the room.
        awaitingState.removeAll(keepingCapacity: awaitingState.count <= 1024)
        // The diff goes first: it is small and every member waits for it, while encoding (and compressing) the
        // whole state for the joiners takes tens of milliseconds in a large room. The joiners' state already
        // includes this window's changes, so they are left out of the diff.
        if let diff {
            broadcast(event: "presence_diff", payload: diff, except: Set(joiners.map(\.connectionID)), into: &actions)
        }
        guard !joiners.isEmpty else { return }
        actions.append(.sendPresenceState(to: joiners, payload: presence.encodedState(keepingChunksFrom: configuration.presenceStateChunksFrom)))
    }

    /// After a restart: every member gets the rebuilt `presence_state` (same keys and phx_refs as before).
    func resyncPresence(into actions: inout [RoomAction]) {
        let state = presence.statePayload()
        for seat in seats.values {
            let member = seat.member
            actions.append(
                .push(
                    member,
                    PhoenixMessage(
                        joinRef: member.joinRef, ref: nil, topic: topic, event: "presence_state", payload: state)))
        }
    }

    /// `assigns`, or the member's tracked meta when the two encode alike (handlers often keep the meta as the
    /// socket's assigns): the seat and the presence then share one array, whichever array the presence kept.
    func sharingTrackedMeta(of member: Member, _ assigns: JSONValue) -> JSONValue {
        guard case .object(let members) = assigns,
            let tracked = presence.meta(owner: member.connectionID, key: member.user),
            case .object(let trackedMembers) = tracked.meta, trackedMembers.encodesLike(members)
        else { return assigns }
        return tracked.meta
    }

    /// The room's presence payload (`{key: {"metas": [...]}}`), for tests and inspection.
    public var presencePayload: JSONValue { presence.statePayload() }
}
