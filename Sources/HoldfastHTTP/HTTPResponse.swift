/// An HTTP/1.1 response: status, header fields and body, serialized in one pass into the caller's buffer.
public struct HTTPResponse: Sendable {
    /// The status sent on the status line.
    public var status: HTTPStatus
    /// Header fields in the order they are written.
    public var headers: [(name: String, value: String)]
    /// The body bytes.
    public var body: [UInt8]

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - status: The response status.
    ///   - headers: Header fields, written in order; `Content-Length` is added by ``serialize(keepAlive:into:)``.
    ///   - body: The body bytes.
    public init(status: HTTPStatus, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Appends the wire form to `output`: status line, header fields, `Content-Length` (unless the status is 1xx,
    /// 204 or 304, or the field is already present), `Connection: close` when `keepAlive` is false and no
    /// `Connection` field is present, the empty line and the body (not for 1xx, 204 and 304, which have none).
    ///
    /// CR, LF and NUL in header names or values are written as spaces so no value can split the response.
    ///
    /// - Parameters:
    ///   - keepAlive: Whether the connection stays open after this response.
    ///   - output: The buffer to append to.
    public func serialize(keepAlive: Bool, into output: inout [UInt8]) {
        let bodyAllowed = !(100...199).contains(status.rawValue) && status != .noContent && status.rawValue != 304
        output.reserveCapacity(output.count + 64 + headers.count * 32 + (bodyAllowed ? body.count : 0))
        output.append(contentsOf: "HTTP/1.1 \(status.rawValue) ".utf8)
        Self.appendSanitized(status.reasonPhrase, to: &output)
        output.append(contentsOf: [.cr, .lf])
        var hasContentLength = false
        var hasConnection = false
        for field in headers {
            hasContentLength = hasContentLength || field.name.equalsCaseInsensitive("Content-Length")
            hasConnection = hasConnection || field.name.equalsCaseInsensitive("Connection")
            Self.appendField(field.name, field.value, to: &output)
        }
        if bodyAllowed && !hasContentLength { Self.appendField("Content-Length", String(body.count), to: &output) }
        if !keepAlive && !hasConnection { Self.appendField("Connection", "close", to: &output) }
        output.append(contentsOf: [.cr, .lf])
        if bodyAllowed { output.append(contentsOf: body) }
    }

    /// The serialized bytes, for tests and one-off responses.
    public func serialized(keepAlive: Bool) -> [UInt8] {
        var output: [UInt8] = []
        serialize(keepAlive: keepAlive, into: &output)
        return output
    }

    /// A short `text/plain` response whose body is `text` and a newline, e.g. for 404, 405, 413, 431 or 503.
    ///
    /// - Parameters:
    ///   - status: The response status.
    ///   - text: The body text, typically the reason phrase or a short explanation.
    ///   - extraHeaders: Fields written after `Content-Type`, e.g. `Allow` for 405 or `Retry-After` for 503.
    public static func plainText(
        _ status: HTTPStatus, _ text: String, extraHeaders: [(name: String, value: String)] = []
    ) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8")] + extraHeaders,
            body: Array((text + "\n").utf8)
        )
    }

    /// A short `text/plain` response whose body is the status's reason phrase and a newline.
    public static func plainText(_ status: HTTPStatus) -> HTTPResponse {
        plainText(status, status.reasonPhrase)
    }

    /// The response the server sends before closing when a request fails to parse.
    public static func parseFailure(_ error: HTTPParseError) -> HTTPResponse {
        plainText(error.status, error.status.reasonPhrase)
    }

    private static func appendField(_ name: String, _ value: String, to output: inout [UInt8]) {
        appendSanitized(name, to: &output)
        output.append(contentsOf: [.colon, .space])
        appendSanitized(value, to: &output)
        output.append(contentsOf: [.cr, .lf])
    }

    private static func appendSanitized(_ text: String, to output: inout [UInt8]) {
        for byte in text.utf8 {
            output.append(byte == .cr || byte == .lf || byte == 0 ? .space : byte)
        }
    }
}
