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

    public init(
        topic: String, lastID: Int64, presence: PresenceSnapshot?, awaitingState: [UInt64],
        pending: [PendingMessage] = []
    ) {
        self.topic = topic
        self.lastID = lastID
        self.presence = presence
        self.awaitingState = awaitingState
        self.pending = pending
    }
}

/// A room's presence as staged (while the old process still serves), with the generation it was copied at.
public struct StagedRoom: Sendable, Equatable {
    public var topic: String
    public var presenceGeneration: UInt64
    public var presence: PresenceSnapshot

    public init(topic: String, presenceGeneration: UInt64, presence: PresenceSnapshot) {
        self.topic = topic
        self.presenceGeneration = presenceGeneration
        self.presence = presence
    }
}
