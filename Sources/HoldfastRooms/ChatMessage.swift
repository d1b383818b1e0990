public import HoldfastJSON

/// A history entry a room accepted and numbered: a chat message, or an edit or delete of an earlier one. History
/// is append-only: an edit or a delete is an entry of its own that names the message it changes.
public struct ChatMessage: Sendable, Equatable {
    /// What an entry is; the raw value is its stored form (history, handoff records).
    public enum Kind: UInt8, Sendable, Equatable {
        case message = 0
        case edit = 1
        case delete = 2

        /// The event it is broadcast and replayed as.
        public var event: String {
            switch self {
            case .message: "new_msg"
            case .edit: "msg_edited"
            case .delete: "msg_deleted"
            }
        }
    }

    /// Per-room id, increasing.
    public var id: Int64
    public var user: String
    public var body: String
    /// Wall-clock milliseconds since the epoch when the room accepted it.
    public var timestamp: Int64
    /// The sender's own id for the message, echoed back.
    public var clientID: String?
    /// A message, an edit or a delete.
    public var kind: Kind
    /// The message an edit or a delete changes (0 for a message).
    public var target: Int64

    public init(
        id: Int64, user: String, body: String, timestamp: Int64, clientID: String?, kind: Kind = .message,
        target: Int64 = 0
    ) {
        self.id = id
        self.user = user
        self.body = body
        self.timestamp = timestamp
        self.clientID = clientID
        self.kind = kind
        self.target = target
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

extension ChatMessage {
    /// The payload of handler API 2's default rendering (see the plugin interface's `ChannelMessage`): a message
    /// `{id, user, body, ts, client_id?}`; an edit `{id, entry_id, kind, user, body, ts}`; a delete
    /// `{id, entry_id, kind, user, ts}` (`id` is the message changed, `entry_id` the entry's own id).
    public var defaultPayload: JSONValue {
        var members: [JSONMember]
        switch kind {
        case .message:
            members = [JSONMember("id", .integer(id)), JSONMember("user", .string(user))]
            members.append(JSONMember("body", .string(body)))
        case .edit:
            members = [JSONMember("id", .integer(target)), JSONMember("entry_id", .integer(id))]
            members += [JSONMember("kind", .string("edit")), JSONMember("user", .string(user))]
            members.append(JSONMember("body", .string(body)))
        case .delete:
            members = [JSONMember("id", .integer(target)), JSONMember("entry_id", .integer(id))]
            members += [JSONMember("kind", .string("delete")), JSONMember("user", .string(user))]
        }
        members.append(JSONMember("ts", .integer(timestamp)))
        if let clientID { members.append(JSONMember("client_id", .string(clientID))) }
        return .object(members)
    }
}
