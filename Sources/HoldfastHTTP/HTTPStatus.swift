/// An HTTP response status code with its standard reason phrase (RFC 9110 §15).
public struct HTTPStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The three-digit status code.
    public var rawValue: Int

    /// Creates a status from its code; any code is accepted, unknown ones get a generic reason phrase.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// The reason phrase sent on the status line, e.g. `Not Found` for 404.
    public var reasonPhrase: String {
        switch rawValue {
        case 100: "Continue"
        case 101: "Switching Protocols"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 422: "Unprocessable Content"
        case 426: "Upgrade Required"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status \(rawValue)"
        }
    }

    /// The code and reason phrase, e.g. `404 Not Found`.
    public var description: String { "\(rawValue) \(reasonPhrase)" }

    /// 101 Switching Protocols, the answer to an accepted WebSocket upgrade.
    public static let switchingProtocols = HTTPStatus(rawValue: 101)
    /// 200 OK.
    public static let ok = HTTPStatus(rawValue: 200)
    /// 204 No Content.
    public static let noContent = HTTPStatus(rawValue: 204)
    /// 400 Bad Request: a malformed request.
    public static let badRequest = HTTPStatus(rawValue: 400)
    /// 401 Unauthorized.
    public static let unauthorized = HTTPStatus(rawValue: 401)
    /// 403 Forbidden.
    public static let forbidden = HTTPStatus(rawValue: 403)
    /// 404 Not Found.
    public static let notFound = HTTPStatus(rawValue: 404)
    /// 405 Method Not Allowed.
    public static let methodNotAllowed = HTTPStatus(rawValue: 405)
    /// 408 Request Timeout: the request did not arrive in time.
    public static let requestTimeout = HTTPStatus(rawValue: 408)
    /// 409 Conflict.
    public static let conflict = HTTPStatus(rawValue: 409)
    /// 411 Length Required.
    public static let lengthRequired = HTTPStatus(rawValue: 411)
    /// 413 Content Too Large (formerly Payload Too Large): the body exceeds the limit.
    public static let payloadTooLarge = HTTPStatus(rawValue: 413)
    /// 414 URI Too Long: the request line exceeds the limit.
    public static let uriTooLong = HTTPStatus(rawValue: 414)
    /// 426 Upgrade Required.
    public static let upgradeRequired = HTTPStatus(rawValue: 426)
    /// 431 Request Header Fields Too Large: too many header fields or too many header bytes.
    public static let requestHeaderFieldsTooLarge = HTTPStatus(rawValue: 431)
    /// 422 Unprocessable Content: well-formed, but refused (a chat handler refused a message).
    public static let unprocessableContent = HTTPStatus(rawValue: 422)
    /// 429 Too Many Requests: over a rate limit; `Retry-After` says when to try again.
    public static let tooManyRequests = HTTPStatus(rawValue: 429)
    /// 500 Internal Server Error.
    public static let internalServerError = HTTPStatus(rawValue: 500)
    /// 501 Not Implemented: e.g. a transfer coding other than chunked.
    public static let notImplemented = HTTPStatus(rawValue: 501)
    /// 503 Service Unavailable: e.g. while draining or over capacity.
    public static let serviceUnavailable = HTTPStatus(rawValue: 503)
    /// 505 HTTP Version Not Supported: a well-formed version other than HTTP/1.0 and HTTP/1.1.
    public static let httpVersionNotSupported = HTTPStatus(rawValue: 505)
}
