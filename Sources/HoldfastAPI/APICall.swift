public import HoldfastConfig
public import HoldfastHTTP
public import HoldfastJSON

/// One API request, parsed and checked; what it needs from the backend.
public enum APICall: Sendable, Equatable {
    /// `new_msg` on `room:*` is stored and ordered like a client's message; other events are broadcast as is.
    case publish(topics: [String], event: String, payload: JSONValue, asUser: String?)
    case presence(topic: String)
    case presenceStats(topic: String)
    case history(topic: String, sinceID: Int64, limit: Int)
    case disconnect(user: String, code: UInt16, reason: String, refuseOlderTokens: Bool)
    case rooms(after: String?, limit: Int)

    /// The scope a key needs for this call.
    public var scope: APIKeySpec.Scope {
        switch self {
        case .publish: .publish
        case .presence, .presenceStats, .rooms: .presence
        case .history: .history
        case .disconnect: .disconnect
        }
    }

    static let maxTopics = 100
    static let maxHistory = 1_000

    /// Parses a request to `/api/...`; throws the refusal (unknown path 404, wrong method 405, bad input 400,
    /// unknown topic 404).
    public static func parse(_ request: HTTPRequest) throws(APIError) -> APICall {
        let path = request.path
        let post = ["/api/publish", "/api/broadcast", "/api/disconnect"]
        let get = ["/api/presence", "/api/presence_stats", "/api/history", "/api/rooms"]
        guard post.contains(String(path)) || get.contains(String(path)) else {
            throw APIError(.notFound, "not_found", "no endpoint \(path); see docs/server-api.md")
        }
        let wanted = post.contains(String(path)) ? "POST" : "GET"
        guard request.method == wanted else {
            throw APIError(.methodNotAllowed, "method_not_allowed", "\(path) takes \(wanted)")
        }
        if wanted == "GET" { return try parseQuery(path: path, QueryString.parse(request.query)) }
        guard let body = try? JSON.parse(request.body), case .object = body else {
            throw .badRequest("the body must be a JSON object")
        }
        switch path {
        case "/api/publish":
            return try publish(body, topics: [try string(body, "topic")])
        case "/api/broadcast":
            guard case .array(let items) = body["topics"] ?? .null, !items.isEmpty, items.count <= maxTopics else {
                throw .badRequest("\"topics\" must be an array of 1 to \(maxTopics) topics")
            }
            let topics = try items.map { item throws(APIError) -> String in
                guard let topic = item.stringValue else { throw .badRequest("every topic must be a string") }
                return topic
            }
            return try publish(body, topics: topics)
        default:
            let user = try string(body, "user")
            let code = body["code"]?.integerValue ?? 4000
            guard (4000...4999).contains(code) else { throw .badRequest("\"code\" must be in 4000...4999") }
            let reason = body["reason"]?.stringValue ?? "disconnected"
            guard reason.utf8.count <= 120 else { throw .badRequest("\"reason\" must be at most 120 bytes") }
            let refuse: Bool
            switch body["refuse_older_tokens"] {
            case nil, .null?: refuse = false
            case .bool(let value)?: refuse = value
            default: throw .badRequest("\"refuse_older_tokens\" must be true or false")
            }
            return .disconnect(user: user, code: UInt16(code), reason: reason, refuseOlderTokens: refuse)
        }
    }

    private static func publish(_ body: JSONValue, topics: [String]) throws(APIError) -> APICall {
        for topic in topics { try checkTopic(topic) }
        guard Set(topics).count == topics.count else { throw .badRequest("a topic is listed twice") }
        let event = try string(body, "event")
        guard event.utf8.count <= 64, !event.hasPrefix("phx_"), !event.hasPrefix("presence_") else {
            throw .badRequest("\"event\" must be at most 64 bytes and not a phx_ or presence_ event")
        }
        let payload = body["payload"] ?? .emptyObject
        guard case .object = payload else { throw .badRequest("\"payload\" must be a JSON object") }
        var asUser: String?
        if let value = body["as_user"], value != .null {
            guard let user = value.stringValue, !user.isEmpty, user.utf8.count <= 256 else {
                throw .badRequest("\"as_user\" must be a string of 1 to 256 bytes")
            }
            asUser = user
        }
        if event == "new_msg" {
            guard payload["body"]?.stringValue != nil else { throw .badRequest("new_msg needs a string \"body\"") }
            if let clientID = payload["client_id"], clientID != .null, clientID.stringValue == nil {
                throw .badRequest("\"client_id\" must be a string")
            }
        }
        return .publish(topics: topics, event: event, payload: payload, asUser: asUser)
    }

    private static func parseQuery(path: Substring, _ query: [String: String]) throws(APIError) -> APICall {
        if path == "/api/rooms" {
            let limit = try integer(query, "limit", default: 100, in: 1...1_000)
            return .rooms(after: query["after"].flatMap { $0.isEmpty ? nil : $0 }, limit: Int(limit))
        }
        guard let topic = query["topic"], !topic.isEmpty else { throw .badRequest("the query needs ?topic=") }
        try checkTopic(topic)
        switch path {
        case "/api/presence": return .presence(topic: topic)
        case "/api/presence_stats": return .presenceStats(topic: topic)
        default:
            let since = try integer(query, "since_id", default: 0, in: 0...Int64.max)
            let limit = try integer(query, "limit", default: 100, in: 1...Int64(maxHistory))
            return .history(topic: topic, sinceID: since, limit: Int(limit))
        }
    }

    /// Only `room:<name>` topics have a channel.
    static func checkTopic(_ topic: String) throws(APIError) {
        guard topic.hasPrefix("room:"), topic.utf8.count > 5, topic.utf8.count <= 255,
            !topic.unicodeScalars.contains(where: { $0.value < 0x20 })
        else { throw .unknownTopic(topic) }
    }

    private static func string(_ body: JSONValue, _ name: String) throws(APIError) -> String {
        guard let value = body[name]?.stringValue, !value.isEmpty, value.utf8.count <= 256 else {
            throw .badRequest("\"\(name)\" must be a non-empty string of at most 256 bytes")
        }
        return value
    }

    private static func integer(
        _ query: [String: String], _ name: String, default fallback: Int64, in range: ClosedRange<Int64>
    ) throws(APIError) -> Int64 {
        guard let text = query[name], !text.isEmpty else { return fallback }
        guard let value = Int64(text), range.contains(value) else {
            throw .badRequest("\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }
}
