import HoldfastActors
import HoldfastCluster
import HoldfastCore
import HoldfastPresence
import HoldfastRooms

/// What outlives a room's actor: the room's last state and where its members are.
///
/// When a room's actor fails and is restarted, the new instance continues from ``state`` (the same members,
/// metas and phx_refs), so clients see at most a presence resync, never an empty room.
/// Thread ownership: the room's home loop only (and the thread building it before the loops run).
final class RoomKeep: @unchecked Sendable {
    /// The room's state after the last event it handled; nil until the room first runs.
    var state: RoomState?
    /// Set for a room rebuilt from a binary upgrade's handoff; the room's first run imports it.
    var handoffSeed: RoomHandoffSeed?
    /// Server API publishes waiting for their message to be durable, by ticket.
    var publishWaiters: [UInt64: @Sendable (PublishOutcome) -> Void] = [:]
    /// Clustered: the room's link to the bus and Redis history (nil on a single node).
    var cluster: ClusterRoom<RoomMessage>?
    /// Members grouped by the index of the loop that owns their connection (the fan-out groups); the only index
    /// of members: a lookup by connection tries each loop's group (a server has a few loops).
    private var byLoop: [Int: [UInt64: RoomMember]] = [:]
    /// ``membersByLoop()`` until the membership changes: a broadcast then copies no member list.
    private var groups: [(EventLoop, [RoomMember])]?

    /// Continues from a binary upgrade's handoff: the members were filed by loop while their connections were
    /// staged, before the pause, so they are taken as they are.
    func seed(_ seed: RoomHandoffSeed) { (handoffSeed, byLoop, groups) = (seed, seed.members, nil) }

    /// The admitted member of this connection.
    func member(_ connectionID: UInt64) -> RoomMember? { byLoop.values.lazy.compactMap { $0[connectionID] }.first }

    func add(_ member: RoomMember) {
        remove(member.connectionID)
        groups = nil
        byLoop[member.loop.index, default: [:]][member.connectionID] = member
    }

    func remove(_ connectionID: UInt64) {
        guard let loop = byLoop.first(where: { $0.value[connectionID] != nil })?.key else { return }
        groups = nil
        byLoop[loop]?.removeValue(forKey: connectionID)
    }

    /// Each loop with members, and its members.
    func membersByLoop() -> [(EventLoop, [RoomMember])] {
        if let groups { return groups }
        let built = byLoop.values.compactMap { group -> (EventLoop, [RoomMember])? in
            guard let first = group.values.first else { return nil }
            return (first.loop, Array(group.values))
        }
        groups = built
        return built
    }
}

/// What a room handed over by a binary upgrade continues from.
struct RoomHandoffSeed: Sendable {
    let snapshot: RoomSnapshot
    let presence: PresenceSnapshot
    /// The adopted connections' member objects for this room, by their loop's index and connection id.
    let members: [Int: [UInt64: RoomMember]]
}

/// A room's actor started before a binary upgrade's pause, and what its instance will continue from.
typealias PrestartedRoom = (ref: ActorRef<RoomMessage>, keep: RoomKeep)
