public import HoldfastHTTP

/// The endpoints of the client listener, told apart by the request's path alone.
public enum ClientRoute {
    /// `/healthz`: the liveness answer.
    case health
    /// `/ws/echo`: the echo WebSocket, when the configuration offers it.
    case echo
    /// `/socket/websocket`: Phoenix Channels.
    case phoenix
    /// `/metrics`: Prometheus metrics.
    case metrics
    /// Anything else (the demo pages answer some of these).
    case notFound

    /// The route of `request`; `echoEndpoint` is the configuration's flag (a flag, not the copied configuration).
    public init(_ request: HTTPRequest, echoEndpoint: Bool) {
        if request.hasPath("/healthz") { self = .health }
        else if echoEndpoint && request.hasPath("/ws/echo") { self = .echo }
        else if request.hasPath("/socket/websocket") { self = .phoenix }
        else if request.hasPath("/metrics") { self = .metrics }
        else { self = .notFound }
    }

    /// The answer to `/healthz` (GET or HEAD: a HEAD answer has no body).
    public static func healthAnswer(to request: HTTPRequest) -> HTTPResponse {
        var response = HTTPResponse(status: .ok, headers: [("Content-Type", "text/plain")], body: Array("ok\n".utf8))
        if request.hasMethod("HEAD") { response.body = [] }
        return response
    }
}
