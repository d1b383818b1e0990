/// Where a Redis server is and how to log in: `redis://[[user]:password@]host[:port][/db]`.
///
/// The password and user name may be percent-encoded; an IPv6 host is written in brackets (`redis://[::1]:6379`).
/// `rediss://` parses (so configuration can name it) but ``RedisClient`` refuses it: see ``RedisError/tlsUnsupported``.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// `redis` (plain TCP) or `rediss` (TLS).
    public enum Scheme: String, Sendable {
        case redis
        case rediss
    }

    /// The scheme.
    public var scheme: Scheme
    /// Host name or address (IPv6 without brackets).
    public var host: String
    /// TCP port (default 6379).
    public var port: UInt16
    /// Database index for `SELECT` (default 0).
    public var database: Int
    /// ACL user name for `AUTH user password` (Redis 6+); nil uses `AUTH password`.
    public var username: String?
    /// Password for `AUTH`; nil sends no `AUTH`.
    public var password: String?

    /// Creates a URL from its parts.
    public init(
        host: String, port: UInt16 = 6379, database: Int = 0, username: String? = nil, password: String? = nil,
        scheme: Scheme = .redis
    ) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses `text`.
    ///
    /// - Throws: ``RedisURLError`` naming what is wrong; the message never repeats the password.
    public init(parsing text: String) throws(RedisURLError) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else { throw .missingScheme }
        let schemeText = text[..<colon].lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else { throw .unsupportedScheme(schemeText) }
        var rest = text[text.index(colon, offsetBy: 3)...]
        if rest.contains("?") || rest.contains("#") { throw .unsupportedQuery }

        var username: String?
        var password: String?
        // The last '@' ends the credentials, so an unencoded '@' in a password still parses.
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let colon = credentials.firstIndex(of: ":") else { throw .userWithoutPassword }
            let user = try Self.percentDecoded(credentials[..<colon])
            username = user.isEmpty ? nil : user
            password = try Self.percentDecoded(credentials[credentials.index(after: colon)...])
        }

        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        let (host, portText) = try Self.splitHostPort(rest)
        guard !host.isEmpty else { throw .missingHost }
        var port: UInt16 = 6379
        if let portText {
            guard let value = UInt16(portText), value > 0 else { throw .invalidPort(String(portText)) }
            port = value
        }
        var database = 0
        if !path.isEmpty {
            guard let value = Int32(path), value >= 0 else { throw .invalidDatabase(String(path)) }
            database = Int(value)
        }
        self.init(
            host: host, port: port, database: database, username: username, password: password, scheme: scheme)
    }

    /// The URL with the password replaced by `***`, safe for logs and `/admin/status`.
    public var description: String {
        var credentials = ""
        if password != nil { credentials = "\(username ?? ""):***@" }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(credentials)\(hostPart):\(port)/\(database)"
    }

    private static func splitHostPort(_ text: Substring) throws(RedisURLError) -> (String, Substring?) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .missingHost }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let after = text[text.index(after: close)...]
            if after.isEmpty { return (host, nil) }
            guard after.hasPrefix(":") else { throw .invalidPort(String(after)) }
            return (host, after.dropFirst())
        }
        guard let colon = text.firstIndex(of: ":") else { return (String(text), nil) }
        return (String(text[..<colon]), text[text.index(after: colon)...])
    }

    private static func percentDecoded(_ text: Substring) throws(RedisURLError) -> String {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw .invalidEscape
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw .invalidEscape }
        return decoded
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// Why a Redis URL did not parse.
public enum RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No `scheme://` prefix.
    case missingScheme
    /// A scheme other than `redis` or `rediss`.
    case unsupportedScheme(String)
    /// `?` or `#`: no query options are understood.
    case unsupportedQuery
    /// `user@host` without `:password`.
    case userWithoutPassword
    /// A `%` not followed by two hex digits, or credentials that are not UTF-8.
    case invalidEscape
    /// No host.
    case missingHost
    /// A port that is not 1...65535.
    case invalidPort(String)
    /// A database that is not a non-negative integer.
    case invalidDatabase(String)

    public var description: String {
        switch self {
        case .missingScheme: "expected redis://host[:port][/db]"
        case .unsupportedScheme(let scheme): "unsupported scheme \"\(scheme)\" (expected redis:// or rediss://)"
        case .unsupportedQuery: "query options (?...) are not supported"
        case .userWithoutPassword: "credentials need a password: redis://[user]:password@host"
        case .invalidEscape: "invalid percent-encoding in the credentials"
        case .missingHost: "no host"
        case .invalidPort(let text): "invalid port \"\(text)\""
        case .invalidDatabase(let text): "invalid database \"\(text)\" (expected a number)"
        }
    }
}
