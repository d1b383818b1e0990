public import HoldfastJSON
public import HoldfastRooms

/// What travels on a room's bus channel: a JSON object whose `kind` says who handles it.
///
/// - `msg`: a stored history entry (`id`, `user`, `body`, `ts`, `client_id`; an edit or a delete also `entry`, its
///   kind's number, and `target`), published by the store script.
/// - `event`: a broadcast that is not stored (`typing`, a handler's or the server API's event): `event`,
///   `payload`.
/// - anything else (`presence`, ...): handed as is to the hook registered for that kind
///   (``ClusterBus/onKind(_:_:)``).
///
/// Every envelope carries `node`, the origin's instance (``ClusterBus/origin``).
public enum BusEnvelope: Sendable, Equatable {
    case message(ChatMessage)
    case event(name: String, payload: JSONValue, origin: String)
    case other(kind: String, body: JSONValue, origin: String)

    /// Parses a bus payload; nil for one that is not a JSON object with a `kind` (logged by the caller).
    public init?(_ bytes: [UInt8]) {
        guard let value = try? JSON.parse(bytes), let kind = value["kind"]?.stringValue else { return nil }
        let origin = value["node"]?.stringValue ?? ""
        switch kind {
        case "msg":
            guard let id = value["id"]?.integerValue, let user = value["user"]?.stringValue,
                let body = value["body"]?.stringValue
            else { return nil }
            guard let kind = ChatMessage.Kind(rawValue: UInt8(clamping: value["entry"]?.integerValue ?? 0)) else {
                return nil
            }
            self = .message(
                ChatMessage(
                    id: id, user: user, body: body, timestamp: value["ts"]?.integerValue ?? 0,
                    clientID: value["client_id"]?.stringValue, kind: kind,
                    target: value["target"]?.integerValue ?? 0))
        case "event":
            guard let name = value["event"]?.stringValue else { return nil }
            self = .event(name: name, payload: value["payload"] ?? .emptyObject, origin: origin)
        default:
            self = .other(kind: kind, body: value, origin: origin)
        }
    }

    /// The `msg` payload around its id: the script publishes `prefix + N + suffix`.
    static func messageParts(_ message: ChatMessage, origin: String) -> (prefix: [UInt8], suffix: [UInt8]) {
        var suffix = Array(",\"user\":".utf8)
        JSON.appendString(message.user, to: &suffix)
        suffix += Array(",\"body\":".utf8)
        JSON.appendString(message.body, to: &suffix)
        suffix += Array(",\"ts\":\(message.timestamp)".utf8)
        if let clientID = message.clientID {
            suffix += Array(",\"client_id\":".utf8)
            JSON.appendString(clientID, to: &suffix)
        }
        if message.kind != .message {
            suffix += Array(",\"entry\":\(message.kind.rawValue),\"target\":\(message.target)".utf8)
        }
        suffix += Array(",\"node\":".utf8)
        JSON.appendString(origin, to: &suffix)
        suffix.append(UInt8(ascii: "}"))
        return (Array("{\"kind\":\"msg\",\"id\":".utf8), suffix)
    }

    /// An envelope of `kind` with `members` after it and the origin.
    public static func encode(kind: String, origin: String, _ members: [JSONMember]) -> [UInt8] {
        JSON.encode(.object([JSONMember("kind", .string(kind))] + members + [JSONMember("node", .string(origin))]))
    }
}
