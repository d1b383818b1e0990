public import HoldfastJSON
public import HoldfastPresence

/// A room at rest, for a binary upgrade: message numbering, who awaits `presence_state`, and its presence
/// (phx_refs and the pending diff) unless that is unchanged since staging. The members are the presence entries'
/// owners (each join tracks one meta, under the member's phx_ref); their connection side travels with their
/// connection records. The wire codec lives with the other handoff records.
public struct RoomSnapshot: Sendable, Equatable {
    public var topic: String
    public var lastID: Int64
    /// Nil: as staged.
    public var presence: PresenceSnapshot?
    /// Members that joined within the current presence window and get `presence_state` at its flush.
    public var awaitingState: [UInt64]
    /// Messages accepted (numbered) but not yet durable: the new process commits and acknowledges them.
    public var pending: [PendingMessage]
    /// The channel handler's values (API 2): the room's state, the members' assigns and the timers, with the
    /// handler version that wrote them (the new process migrates them if its version differs).
    public var handler: HandlerValues?
    /// Authors of the recent messages (for edit and delete rules).
    public var authors: MessageAuthors
    /// The old process's own note, never on the wire: no seat moved since the room was staged, so `handler`'s
    /// assigns are left empty and are the staged ones (the record of changes since staging carries none). Such a
    /// snapshot is only encoded as changes since its staged values.
    public var assignsAsStaged: Bool

    public init(
        topic: String, lastID: Int64, presence: PresenceSnapshot?, awaitingState: [UInt64],
        pending: [PendingMessage] = [], handler: HandlerValues? = nil, authors: MessageAuthors = MessageAuthors(),
        assignsAsStaged: Bool = false
    ) {
        self.topic = topic
        self.lastID = lastID
        self.presence = presence
        self.awaitingState = awaitingState
        self.pending = pending
        self.handler = handler
        self.authors = authors
        self.assignsAsStaged = assignsAsStaged
    }
}

/// A room's channel-handler values as they cross a binary upgrade.
public struct HandlerValues: Sendable, Equatable {
    public var version: String
    public var state: JSONValue
    /// Per member (connection id), only non-null assigns.
    public var assigns: [UInt64: JSONValue]
    /// Due times are on the old process's monotonic clock; the new one rebases them on its own.
    public var timers: [HandlerTimer]

    public init(version: String, state: JSONValue, assigns: [UInt64: JSONValue], timers: [HandlerTimer]) {
        self.version = version
        self.state = state
        self.assigns = assigns
        self.timers = timers
    }
}

/// A room's presence as staged (while the old process still serves), with the generation it was copied at, and
/// its members' assigns and messages' authors then (the pause sends only what changed in those since).
public struct StagedRoom: Sendable, Equatable {
    public var topic: String
    public var presenceGeneration: UInt64
    public var presence: PresenceSnapshot
    /// Per member (connection id), only non-null assigns.
    public var assigns: [UInt64: JSONValue]
    public var authors: MessageAuthors
    /// The room's seat generation then (``RoomState/seatsGeneration``): the old process's own note, never on the
    /// wire.
    public var seatsGeneration: UInt64

    public init(
        topic: String, presenceGeneration: UInt64, presence: PresenceSnapshot, assigns: [UInt64: JSONValue] = [:],
        authors: MessageAuthors = MessageAuthors(), seatsGeneration: UInt64 = 0
    ) {
        self.topic = topic
        self.presenceGeneration = presenceGeneration
        self.presence = presence
        self.assigns = assigns
        self.authors = authors
        self.seatsGeneration = seatsGeneration
    }

    /// Equal when the records are: ``seatsGeneration`` is a note of the process that staged the room.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.presenceGeneration, lhs.presence, lhs.assigns, lhs.authors)
            == (rhs.topic, rhs.presenceGeneration, rhs.presence, rhs.assigns, rhs.authors)
    }
}
