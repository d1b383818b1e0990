public import HoldfastHistory
public import HoldfastPresence

// The rooms' handoff values. Only the definitions live here; their bytes are in `RoomRecords+Codec.swift`, so
// the definitions can move to the rooms' own module while the wire format stays with the handoff.

/// A room's presence as staged (while the old process still serves), with the generation it was copied at.
public struct StagedRoom: Sendable, Equatable {
    /// The room's topic.
    public var topic: String
    /// The room's presence generation when it was copied: the pause resends the presence only if it moved.
    public var presenceGeneration: UInt64
    /// The presence, as copied.
    public var presence: PresenceSnapshot

    /// A staged room.
    public init(topic: String, presenceGeneration: UInt64, presence: PresenceSnapshot) {
        self.topic = topic
        self.presenceGeneration = presenceGeneration
        self.presence = presence
    }
}

/// A room at rest: message numbering, who awaits `presence_state`, and its presence (phx_refs and pending diff)
/// unless that is unchanged since staging. The members are the presence entries' owners (each join tracks one
/// meta, under the member's phx_ref); their connection side comes with their connection records.
public struct RoomSnapshot: Sendable, Equatable {
    /// The room's topic.
    public var topic: String
    /// The id of the last message numbered in the room.
    public var lastID: Int64
    /// The presence; nil: as staged.
    public var presence: PresenceSnapshot?
    /// Members that joined within the current presence window and get `presence_state` at its flush.
    public var awaitingState: [UInt64]
    /// Messages accepted (numbered) but not yet durable: the new process commits and acknowledges them.
    public var pending: [PendingMessage]

    /// A room snapshot.
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

/// A chat message accepted (numbered) in the old process but not yet durable, with whom to acknowledge.
public struct PendingMessage: Sendable, Equatable {
    /// The message, numbered.
    public var message: StoredMessage
    /// The sender's connection id, to acknowledge it once durable.
    public var senderConnectionID: UInt64
    /// The ref of the sender's push, for the reply.
    public var ref: String?

    /// A pending message.
    public init(message: StoredMessage, senderConnectionID: UInt64, ref: String?) {
        self.message = message
        self.senderConnectionID = senderConnectionID
        self.ref = ref
    }
}
