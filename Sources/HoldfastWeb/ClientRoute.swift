public import HoldfastHTTP

/// The endpoints of the client listener, chosen by the target's path alone (each endpoint checks its method),
/// compared as bytes where the request lies: a parsed request and a head read in place route the same way.
public enum ClientRoute: Sendable, Equatable {
    /// `/healthz`.
    case health
    /// `/ws/echo`, when served: a WebSocket that echoes every message.
    case echo
    /// `/socket/websocket`: a Phoenix Channels WebSocket.
    case phoenix
    /// `/metrics`.
    case metrics
    /// Anything else: the pages, or 404.
    case other

    /// The route of a target whose path `hasPath` compares; `echoEndpoint` says whether `/ws/echo` is served (a
    /// flag, not the configuration, which would be copied on every request).
    public init(hasPath: (StaticString) -> Bool, echoEndpoint: Bool) {
        if hasPath("/healthz") { self = .health }
        else if echoEndpoint && hasPath("/ws/echo") { self = .echo }
        else if hasPath("/socket/websocket") { self = .phoenix }
        else if hasPath("/metrics") { self = .metrics }
        else { self = .other }
    }

    /// Whether the route upgrades to a WebSocket.
    public var upgrades: Bool { self == .echo || self == .phoenix }

    /// The answer to `/healthz` (GET or HEAD: a HEAD answer has no body).
    public static func healthAnswer(to request: HTTPRequest) -> HTTPResponse {
        var response = HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: Array("ok\n".utf8))
        if request.hasMethod("HEAD") { response.body = [] }
        return response
    }
}
