import HoldfastChannels

/// The application logic of chat rooms, kept apart from the transport so it can be replaced while the server
/// runs: who may join, what a presence meta holds, what a broadcast message looks like.
///
/// Implementations are values with no I/O and no hidden state: every decision is a function of its inputs,
/// so swapping the implementation needs no state beyond what the rooms already hold.
protocol ChatHandler: Sendable {
    /// The handler's version string, reported by the admin status.
    var version: String { get }
    /// Decides a join of `topic` by `user`; an allowed join gets the presence meta to track.
    func authorizeJoin(topic: String, user: String, payload: JSONValue, now: Int64) -> JoinDecision
    /// Checks an incoming chat message; nil when acceptable, else the reason sent back in the error reply.
    func validateMessage(body: String) -> String?
    /// The payload broadcast for a stored message.
    func messagePayload(id: Int64, user: String, body: String, timestamp: Int64, clientID: JSONValue?) -> JSONValue
}

/// The outcome of ``ChatHandler/authorizeJoin(topic:user:payload:now:)``.
enum JoinDecision: Sendable, Equatable {
    case allow(presenceMeta: JSONValue)
    case deny(reason: String)
}

/// Holdfast's built-in chat behaviour.
struct DefaultChatHandler: ChatHandler {
    let version = "1.0.0"
    /// Longest accepted message body, in bytes.
    var maxBodyBytes = 8 * 1024

    func authorizeJoin(topic: String, user: String, payload: JSONValue, now: Int64) -> JoinDecision {
        guard topic.hasPrefix("room:"), topic.utf8.count > 5, topic.utf8.count <= 200 else {
            return .deny(reason: "unknown topic")
        }
        guard payload.objectMembers != nil else { return .deny(reason: "join payload must be an object") }
        if let lastSeen = payload["last_seen_id"], lastSeen != .null, lastSeen.integerValue == nil {
            return .deny(reason: "last_seen_id must be an integer")
        }
        let device = payload["device"]?.stringValue ?? "unknown"
        return .allow(presenceMeta: .object([JSONMember("device", .string(String(device.prefix(64)))),
                                             JSONMember("online_at", .integer(now))]))
    }

    func validateMessage(body: String) -> String? {
        if body.isEmpty { return "empty message" }
        if body.utf8.count > maxBodyBytes { return "message too long" }
        return nil
    }

    func messagePayload(id: Int64, user: String, body: String, timestamp: Int64, clientID: JSONValue?) -> JSONValue {
        var members = [
            JSONMember("id", .integer(id)), JSONMember("user", .string(user)), JSONMember("body", .string(body)),
            JSONMember("ts", .integer(timestamp)),
        ]
        if let clientID { members.append(JSONMember("client_id", clientID)) }
        return .object(members)
    }
}
