/// A chat message a room accepted and numbered.
public struct ChatMessage: Sendable, Equatable {
    /// Per-room id, increasing.
    public var id: Int64
    public var user: String
    public var body: String
    /// Wall-clock milliseconds since the epoch when the room accepted it.
    public var timestamp: Int64
    /// The sender's own id for the message, echoed back.
    public var clientID: String?

    public init(id: Int64, user: String, body: String, timestamp: Int64, clientID: String?) {
        self.id = id
        self.user = user
        self.body = body
        self.timestamp = timestamp
        self.clientID = clientID
    }
}

/// A message accepted (numbered) but not yet durable, with whom to acknowledge once it is.
public struct PendingMessage: Sendable, Equatable {
    public var message: ChatMessage
    /// The sender's connection; its join is looked up when the message becomes durable.
    public var senderConnectionID: UInt64
    /// The `ref` of the sender's push, for the reply.
    public var ref: String?
    /// A server API message's ticket (its sender is 0): the new process answers the waiting API call by it.
    public var ticket: UInt64?

    public init(message: ChatMessage, senderConnectionID: UInt64, ref: String?, ticket: UInt64? = nil) {
        self.message = message
        self.senderConnectionID = senderConnectionID
        self.ref = ref
        self.ticket = ticket
    }
}
