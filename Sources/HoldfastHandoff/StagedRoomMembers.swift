/// A room member as the new process files it while a binary upgrade stages (the server's room member conforms).
public protocol StagedRoomMember: AnyObject {
    associatedtype RoomRef
    var topic: String { get }
    /// The index of the loop that owns the member's connection.
    var loopIndex: Int { get }
    var connectionID: UInt64 { get }
    /// The room's mailbox the member sends to.
    var room: RoomRef? { get set }
}

/// The new process's room members while a binary upgrade stages: filed by topic, then by the index of their
/// connection's loop, then by connection id, as their connections come, so that a room adopted in the pause takes
/// them as they are; and pointed at their room as soon as its actor is started, which for a staged room is before
/// the pause. What the pause changes (connections sent again or closed) costs only the members it moves.
public struct StagedRoomMembers<Member: StagedRoomMember> {
    /// Each room's members by loop index and connection id.
    public var byTopic: [String: [Int: [UInt64: Member]]] = [:]
    /// The rooms started so far, by topic.
    public var rooms: [String: Member.RoomRef] = [:]

    public init() {}

    /// Files `members` (a connection's joins), pointing each at its room if it was started.
    @inlinable
    public mutating func add(_ members: (some Sequence<Member>)?) {
        guard let members else { return }
        for member in members {
            byTopic[member.topic, default: [:]][member.loopIndex, default: [:]][member.connectionID] = member
            if let room = rooms[member.topic] { member.room = room }
        }
    }

    /// Unfiles `members` (a connection replaced or closed).
    @inlinable
    public mutating func remove(_ members: (some Sequence<Member>)?) {
        guard let members else { return }
        for member in members { byTopic[member.topic]?[member.loopIndex]?[member.connectionID] = nil }
    }

    /// The room of `topic` was started (or, nil, stopped): its members point at it from now on.
    public mutating func point(_ topic: String, at room: Member.RoomRef?) {
        rooms[topic] = room
        for member in (byTopic[topic] ?? [:]).values.joined() { member.value.room = room }
    }
}
