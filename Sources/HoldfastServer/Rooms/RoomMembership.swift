import HoldfastChannels
import HoldfastCore
import HoldfastHandoff
import HoldfastJSON
import HoldfastPresence

/// The members of one room with their presence metas and phx_refs.
///
/// Kept outside ``Room`` on purpose: when a room crashes and is restarted, the new instance re-tracks presence
/// from this list with the same phx_refs, so clients see at most a resync, never an empty room.
/// Thread ownership: the room's home loop only.
final class RoomMembership: @unchecked Sendable {
    struct Entry {
        let member: RoomMember
        let meta: JSONValue
        let phxRef: String
    }

    private var entriesByID: [UInt64: Entry] = [:]
    /// Members grouped by the index of the loop that owns their connection (the fan-out groups).
    private var byLoop: [Int: [UInt64: RoomMember]] = [:]

    var count: Int { entriesByID.count }
    /// The highest message id the room has handed out. Outlives a crashed room, so a restarted one never reuses an
    /// id whose batch was still on its way to the history writer.
    var lastAssignedID: Int64 = 0
    /// Members per serializer version, so a broadcast encodes only the versions someone reads.
    private(set) var countByVersion: [PhoenixSerializerVersion: Int] = [:]
    var entries: [Entry] { Array(entriesByID.values) }
    /// Set for a room rebuilt from a binary upgrade's handoff; the first ``Room`` built on it takes it.
    private var handoffSeed: RoomHandoffSeed?

    /// A membership handed over by the previous process, with the presence to continue from.
    convenience init(adopting seed: RoomHandoffSeed, lastAssignedID: Int64) {
        self.init()
        self.handoffSeed = seed
        self.lastAssignedID = lastAssignedID
    }

    /// The handoff seed, once.
    func takeHandoffSeed() -> RoomHandoffSeed? {
        defer { handoffSeed = nil }
        return handoffSeed
    }

    func member(_ connectionID: UInt64) -> RoomMember? { entriesByID[connectionID]?.member }

    func add(_ member: RoomMember, meta: JSONValue, phxRef: String) {
        if let previous = entriesByID[member.connectionID] { countByVersion[previous.member.version, default: 1] -= 1 }
        entriesByID[member.connectionID] = Entry(member: member, meta: meta, phxRef: phxRef)
        countByVersion[member.version, default: 0] += 1
        byLoop[member.loop.index, default: [:]][member.connectionID] = member
    }

    @discardableResult
    func remove(_ connectionID: UInt64) -> RoomMember? {
        guard let entry = entriesByID.removeValue(forKey: connectionID) else { return nil }
        countByVersion[entry.member.version, default: 1] -= 1
        byLoop[entry.member.loop.index]?.removeValue(forKey: connectionID)
        return entry.member
    }

    /// Each loop with members, and its members.
    func membersByLoop() -> [(EventLoop, [RoomMember])] {
        byLoop.values.compactMap { group in
            guard let first = group.values.first else { return nil }
            return (first.loop, Array(group.values))
        }
    }
}

/// What a room handed over by a binary upgrade continues from, besides its members.
struct RoomHandoffSeed: Sendable {
    let presence: PresenceSnapshot
    let awaitingState: [UInt64]
    /// Messages accepted but not yet durable in the old process, to commit and acknowledge here.
    let pending: [PendingMessage]
    /// The adopted connections' member objects for this room, by connection id (they enter the membership when
    /// the room is built on its loop, matched with their presence entries).
    let members: [UInt64: RoomMember]
}
