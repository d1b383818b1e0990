/// What can go wrong with a Redis command or connection. None of these traps; each is a value for the caller.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The link is not ready (connecting, backing off, or closed): nothing was sent.
    case notConnected
    /// The connection dropped while the command was in flight: it may or may not have run.
    case connectionLost
    /// No reply came within the command timeout; the connection was dropped and is being re-established.
    case timedOut
    /// The client was closed.
    case closed
    /// Redis answered with an error reply (`ERR ...`, `WRONGTYPE ...`, `NOSCRIPT ...`).
    case server(String)
    /// The reply had another shape than the command promises (a typed helper such as ``RedisClient/incr(_:_:)``).
    case unexpectedReply(RedisReply)
    /// A connection attempt failed (refused, unreachable, DNS, timeout): the text says why.
    case connectFailed(String)
    /// `AUTH` was refused (wrong password or user), or the server wants a password that was not given.
    case authenticationFailed(String)
    /// A `rediss://` URL: the hiredis this build links has no TLS.
    case tlsUnsupported

    public var description: String {
        switch self {
        case .notConnected: "not connected to Redis"
        case .connectionLost: "the Redis connection was lost with the command in flight"
        case .timedOut: "Redis did not answer in time"
        case .closed: "the Redis client is closed"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply(let reply): "unexpected Redis reply: \(reply)"
        case .connectFailed(let reason): "cannot connect to Redis: \(reason)"
        case .authenticationFailed(let message): "Redis refused the credentials: \(message)"
        case .tlsUnsupported: "rediss:// is not supported: this build's hiredis (0.14) has no TLS"
        }
    }
}
