/// One parsed HTTP/1.1 request: the request line, the header fields in arrival order and the body.
///
/// Values are kept as the parser produced them; header names compare case-insensitively through
/// ``header(_:)`` and ``headerValues(_:)``.
public struct HTTPRequest: Sendable, Equatable {
    /// The request method as sent (`GET`, `POST`, ...). Methods are case-sensitive (RFC 9110 §9.1).
    public var method: String
    /// The request target exactly as sent, e.g. `/socket/websocket?vsn=2.0.0`.
    public var target: String
    /// The HTTP minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Header fields in arrival order; names as sent, values with surrounding whitespace removed.
    public var headers: [(name: String, value: String)]
    /// The body (empty when there is none).
    public var body: [UInt8]

    /// Creates a request from its parts.
    public init(
        method: String,
        target: String,
        minorVersion: Int = 1,
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.target = target
        self.minorVersion = minorVersion
        self.headers = headers
        self.body = body
    }

    /// The path part of the target (before `?`).
    public var path: Substring {
        // `?` is ASCII, so its UTF-8 index is a character boundary; searching bytes avoids grapheme breaking.
        if let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) { return target[..<question] }
        return target[...]
    }

    /// The raw query string (after `?`), or an empty string.
    public var query: Substring {
        if let question = target.utf8.firstIndex(of: UInt8(ascii: "?")) {
            return target[target.utf8.index(after: question)...]
        }
        return ""
    }

    /// The first value of the named header field, compared case-insensitively.
    public func header(_ name: String) -> String? {
        // ASCII case folding byte by byte: every upgrade looks up several fields, and lowercased copies of the
        // names would allocate on each comparison.
        for field in headers where field.name.equalsCaseInsensitive(name) { return field.value }
        return nil
    }

    /// Every value of the named header field, split on commas, trimmed, in order (for list-valued fields such as
    /// `Connection`, `Sec-WebSocket-Protocol`, `Sec-WebSocket-Extensions`).
    public func headerValues(_ name: String) -> [Substring] {
        var values: [Substring] = []
        for field in headers where field.name.equalsCaseInsensitive(name) {
            for part in field.value.split(separator: ",") {
                let trimmed = part.trimmingSpaces
                if !trimmed.isEmpty { values.append(trimmed) }
            }
        }
        return values
    }

    /// Whether one of the comma-separated elements of the named header field equals `token`, both compared
    /// ignoring ASCII case (`Connection: keep-alive, Upgrade` contains `upgrade`). Allocates nothing.
    public func headerContainsToken(_ name: String, _ token: String) -> Bool {
        var token = token
        return token.withUTF8 { token in
            for field in headers where field.name.equalsCaseInsensitive(name) {
                var value = field.value
                if value.withUTF8({ $0.listContains(token: token) }) { return true }
            }
            return false
        }
    }

    /// Whether the connection stays open after the response (HTTP/1.1 default unless `Connection: close`;
    /// HTTP/1.0 only with `Connection: keep-alive`).
    public var keepAlive: Bool {
        if minorVersion == 0 { return headerContainsToken("Connection", "keep-alive") }
        return !headerContainsToken("Connection", "close")
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.minorVersion == rhs.minorVersion
            && lhs.body == rhs.body && lhs.headers.count == rhs.headers.count
            && zip(lhs.headers, rhs.headers).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}

extension Substring {
    /// The substring without leading and trailing spaces and horizontal tabs (HTTP's OWS).
    var trimmingSpaces: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
