/// Why an upgrade request was refused; each case maps to the HTTP status the server answers with.
public enum WebSocketHandshakeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The method was not `GET` (405).
    case methodNotAllowed(String)
    /// The request was not HTTP/1.1 or later (400).
    case unsupportedHTTPVersion
    /// `Upgrade` did not name `websocket` (400).
    case missingUpgradeHeader
    /// `Connection` did not contain the `upgrade` token (400).
    case missingConnectionUpgrade
    /// `Sec-WebSocket-Key` was absent (400).
    case missingKey
    /// `Sec-WebSocket-Key` was not the base64 form of 16 bytes (400).
    case invalidKey
    /// `Sec-WebSocket-Version` was absent or not 13 (426 with `Sec-WebSocket-Version: 13`).
    case unsupportedVersion(String?)

    /// The HTTP status code of the refusal.
    public var status: Int {
        switch self {
        case .methodNotAllowed: 405
        case .unsupportedVersion: 426
        case .unsupportedHTTPVersion, .missingUpgradeHeader, .missingConnectionUpgrade, .missingKey, .invalidKey: 400
        }
    }

    /// The reason phrase for the status line.
    public var reason: String {
        switch status {
        case 405: "Method Not Allowed"
        case 426: "Upgrade Required"
        default: "Bad Request"
        }
    }

    /// Header fields the refusal must carry besides the usual ones.
    public var extraHeaders: [(String, String)] {
        switch self {
        case .methodNotAllowed: [("Allow", "GET")]
        case .unsupportedVersion: [("Sec-WebSocket-Version", "13")]
        default: []
        }
    }

    /// A human-readable explanation, also used as the response body.
    public var description: String {
        switch self {
        case .methodNotAllowed(let method): "method \(method) cannot upgrade to WebSocket"
        case .unsupportedHTTPVersion: "WebSocket upgrade requires HTTP/1.1"
        case .missingUpgradeHeader: "missing Upgrade: websocket"
        case .missingConnectionUpgrade: "Connection header lacks the upgrade token"
        case .missingKey: "missing Sec-WebSocket-Key"
        case .invalidKey: "Sec-WebSocket-Key is not base64 of 16 bytes"
        case .unsupportedVersion(let version): "unsupported Sec-WebSocket-Version \(version ?? "(none)")"
        }
    }

    /// A complete HTTP/1.1 error response that closes the connection, with ``description`` as its body.
    public var responseBytes: [UInt8] {
        let body = description + "\n"
        var head = "HTTP/1.1 \(status) \(reason)\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        head += "Content-Length: \(body.utf8.count)\r\n"
        for (name, value) in extraHeaders { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        return Array((head + body).utf8)
    }
}
