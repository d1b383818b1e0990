/// What staging sent, on the old process's side: per loop, what each connection was copied at (``StagedLoop``),
/// each room's presence generation by topic, and each room's assigns and authors when the new process takes the
/// pause's rooms as changes since them (``HandoffFeatures/stagedRoomValues``).
public struct StagedHandoff: Sendable {
    /// Per event loop, by its index.
    public var loops: [StagedLoop]
    /// Each room's presence generation when staged, by topic.
    public let rooms: [String: UInt64]
    /// Each room's staged assigns and authors, by topic; nil when the rooms go whole in the pause.
    public var values: [String: StagedRoomValues]?
    /// With `values`: each room's seat generation when staged, by topic (a room whose seats did not move since
    /// exports its assigns as staged, see `RoomEvent.export`); empty otherwise.
    public var seats: [String: UInt64] = [:]

    /// Staged `loops` and `rooms`, without room values.
    public init(loops: [StagedLoop], rooms: [String: UInt64], values: [String: StagedRoomValues]? = nil) {
        (self.loops, self.rooms, self.values) = (loops, rooms, values)
    }
}
