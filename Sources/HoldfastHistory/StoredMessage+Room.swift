public import HoldfastRooms

// A room's history entries as stored and back: the same fields, the kind by its stored number.

extension StoredMessage {
    /// `message` of `room` as stored.
    public init(room: String, _ message: ChatMessage) {
        self.init(
            room: room, id: message.id, user: message.user, body: message.body, timestamp: message.timestamp,
            clientID: message.clientID, kind: Kind(rawValue: Int64(message.kind.rawValue)) ?? .message,
            target: message.target)
    }
}

extension ChatMessage {
    /// A stored entry as the room replays it.
    public init(_ stored: StoredMessage) {
        self.init(
            id: stored.id, user: stored.user, body: stored.body, timestamp: stored.timestamp,
            clientID: stored.clientID, kind: Kind(rawValue: UInt8(stored.kind.rawValue)) ?? .message,
            target: stored.target)
    }
}
