/// Where a client's connection to Redis stands. Observed on the loop thread through `onStateChange`.
public enum RedisLinkState: Sendable, Equatable {
    /// Created, not started.
    case idle
    /// Connecting or logging in (`AUTH`, `SELECT`); `attempt` counts failures since the last ready link.
    case connecting(attempt: Int)
    /// Connected and logged in: commands are sent.
    case ready
    /// The last attempt or link failed with `lastError`; the next attempt starts in `delayMilliseconds`.
    case waitingToReconnect(attempt: Int, delayMilliseconds: Int64, lastError: RedisError)
    /// Closed by its owner; final.
    case closed

    /// A one-word name for status pages: `idle`, `connecting`, `ready`, `reconnecting`, `closed`.
    public var name: String {
        switch self {
        case .idle: "idle"
        case .connecting: "connecting"
        case .ready: "ready"
        case .waitingToReconnect: "reconnecting"
        case .closed: "closed"
        }
    }
}

/// A copy of a link's state and counters that any thread may read (for `/admin/status`).
public struct RedisLinkStatus: Sendable, Equatable {
    /// The server, password redacted.
    public var address: String
    /// The current state.
    public var state: RedisLinkState
    /// Wall-clock milliseconds since the epoch when `state` was entered.
    public var stateSinceMilliseconds: Int64
    /// How many times the link became ready (1 after the first connection; each reconnect adds one).
    public var connections: Int
    /// The last connection error, if any, as text.
    public var lastError: String?
}
