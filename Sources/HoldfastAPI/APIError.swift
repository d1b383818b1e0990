// # HoldfastAPI
//
// The server API for the application's backend: `POST /api/publish`, `/api/broadcast`, `/api/disconnect`,
// `GET /api/presence`, `/api/presence_stats`, `/api/history`, `/api/rooms` on a listener of its own.
//
// Contract: ``APIService/handle(_:reply:)`` takes one parsed HTTP request and answers exactly once through
// `reply`, on any thread (the server hops back to the connection's loop). Authentication (bearer keys with
// scopes), rate limiting and parsing are pure and happen here; what touches rooms and sockets is behind
// ``APIBackend``, which the server implements. Clustering would implement the same seam across nodes.
//
// Connections: ``APIRequestReader`` serves a connection's requests one at a time, in order, and keeps every
// request as the caller's bytes until it is served; a `new_msg` publish returns its ``PublishWait``. A binary
// upgrade carries both with the connection (the bytes, and ``PublishWait/awaited``), so nothing in flight is lost.
//
// Errors: every refusal is an ``APIError``: JSON `{"error": {"code", "message"}}` with its HTTP status.
//
// Performance: one lock for the rate limiter per request; nothing here is on the client sockets' hot path.

public import HoldfastHTTP
import HoldfastJSON

/// A refused API request: its HTTP status, a stable machine-readable code and a sentence for people.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPStatus
    public var code: String
    public var message: String
    /// Seconds to wait (429 only).
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPStatus, _ code: String, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The JSON response.
    public var response: HTTPResponse {
        let body = JSONValue.object([
            JSONMember(
                "error", .object([JSONMember("code", .string(code)), JSONMember("message", .string(message))]))
        ])
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let retryAfterSeconds { headers.append(("Retry-After", "\(retryAfterSeconds)")) }
        if status == .unauthorized { headers.append(("WWW-Authenticate", "Bearer")) }
        return HTTPResponse(status: status, headers: headers, body: JSON.encode(body))
    }

    /// A request the HTTP parser refused (too large, malformed).
    public static func parse(_ error: HTTPParseError) -> APIError {
        let code = error.status == .payloadTooLarge ? "body_too_large" : "bad_request"
        return APIError(error.status, code, error.description)
    }

    /// The room's actor cannot take the request.
    public static func roomUnavailable(_ topic: String) -> APIError {
        APIError(.serviceUnavailable, "room_unavailable", "room \(topic) is unavailable")
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func unknownTopic(_ topic: String) -> APIError {
        APIError(.notFound, "unknown_topic", "no channel serves topic '\(topic)': topics are room:<name>")
    }
}

/// A successful JSON answer.
func jsonResponse(_ value: JSONValue, status: HTTPStatus = .ok) -> HTTPResponse {
    HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: JSON.encode(value))
}
