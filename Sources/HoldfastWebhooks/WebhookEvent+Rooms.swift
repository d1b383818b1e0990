import HoldfastJSON
public import HoldfastRooms

extension WebhookEvent {
    /// The event of a room's membership change (`room_occupied`, `member_added`, ...).
    public init(_ change: MembershipChange, topic: String, timeMilliseconds: Int64) {
        switch change {
        case .occupied: self.init(name: "room_occupied", topic: topic, timeMilliseconds: timeMilliseconds)
        case .vacated: self.init(name: "room_vacated", topic: topic, timeMilliseconds: timeMilliseconds)
        case .memberAdded(let user):
            self.init(name: "member_added", topic: topic, user: user, timeMilliseconds: timeMilliseconds)
        case .memberRemoved(let user):
            self.init(name: "member_removed", topic: topic, user: user, timeMilliseconds: timeMilliseconds)
        }
    }

    /// The `client_message` event of a stored chat message.
    public init(message: ChatMessage, topic: String) {
        var extra = [JSONMember("id", .integer(message.id)), JSONMember("body", .string(message.body))]
        if let clientID = message.clientID { extra.append(JSONMember("client_id", .string(clientID))) }
        if message.kind != .message {
            // An edit or a delete: its own id, the message it changes, and which of the two it is.
            extra.append(JSONMember("kind", .string(message.kind == .edit ? "edit" : "delete")))
            extra.append(JSONMember("target", .integer(message.target)))
        }
        self.init(
            name: "client_message", topic: topic, user: message.user, timeMilliseconds: message.timestamp,
            extra: extra)
    }
}

extension WebhookDispatcher {
    /// Records `client_message` events for messages just made durable, when `webhooks.client_messages` is on.
    public func recordMessages(_ messages: [ChatMessage], topic: String) {
        guard clientMessages else { return }
        for message in messages { record(WebhookEvent(message: message, topic: topic)) }
    }
}
