/// A reply from Redis (RESP2), converted from hiredis's `redisReply` while the callback runs.
public enum RedisReply: Sendable, Equatable {
    /// A simple string, such as `OK` or `PONG`.
    case status(String)
    /// An error reply nested in an array (a top-level error becomes ``RedisError/server(_:)``).
    case error(String)
    /// An integer.
    case integer(Int64)
    /// A bulk string: arbitrary bytes.
    case bulk([UInt8])
    /// The nil bulk string or nil array.
    case null
    /// An array (pipelined `EXEC`, `XRANGE`, pub/sub pushes, ...).
    case array([RedisReply])

    /// The text of a status or a bulk string (decoded as UTF-8, invalid bytes repaired); nil for other kinds.
    public var string: String? {
        switch self {
        case .status(let text): text
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .error, .integer, .null, .array: nil
        }
    }

    /// The integer, if this is one.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The elements, if this is an array.
    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// The bytes of a bulk string.
    public var bytes: [UInt8]? {
        if case .bulk(let bytes) = self { return bytes }
        return nil
    }
}
