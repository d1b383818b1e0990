import HoldfastWebSocket

/// What staging sent for one event loop, on the old process's side: each connection's generation then (by key),
/// and, with test hooks on, its bytes, so the pause can prove that every connection it does not send again is
/// indeed unchanged.
public struct StagedLoop: Sendable {
    /// The generation each staged connection was copied at (`UInt64.max`: copied with output queued, so always
    /// sent again).
    public var generations: [Int32: UInt64] = [:]
    /// The staged bytes (test hooks only).
    public var bytes: [Int32: [UInt8]] = [:]

    /// Nothing staged yet.
    public init() {}
}

/// What a catch-up round or the pause sends about the connections: those that changed since they were staged
/// (with their fd if they were not staged), the keys of the staged ones closed since, how many are open, and how
/// many could not move.
public struct FinalConnections: Sendable {
    /// Changed connections: key, encoded ``ConnectionSnapshot``, and the fd when the new process does not have it.
    public var changed: [(key: Int32, snapshot: [UInt8], fd: Int32?)] = []
    /// Keys of staged connections closed (or no longer movable) since.
    public var closed: [Int32] = []
    /// Connections open.
    public var open = 0
    /// Connections that cannot move (they stay with the old process).
    public var leftBehind = 0

    /// Nothing changed.
    public init() {}

    /// One loop's parts together.
    public static func merge(_ parts: [FinalConnections]) -> FinalConnections {
        parts.reduce(into: FinalConnections()) {
            $0.changed += $1.changed
            $0.closed += $1.closed
            $0.open += $1.open
            $0.leftBehind += $1.leftBehind
        }
    }

    /// The changed connections (with their fd when not staged before) and the closed keys, as records.
    public func write(to writer: HandoffWriter) throws(HandoffChannelError) {
        for connection in changed {
            let record = KeyedConnectionRecord.encode(
                kind: HandoffFormat.finalConnectionRecord, key: connection.key, snapshot: connection.snapshot)
            try writer.add(state: record, fd: connection.fd)
        }
        try writer.add(state: ClosedKeysRecord.encode(closed), fd: nil)
    }
}

extension ConnectionSnapshot {
    /// This snapshot, for the new process to keep until the pause so that a connection whose only change is output
    /// can be updated in place; nil when it carries zlib windows (up to 64 KiB, too much to keep 19,000 of, and such
    /// a connection's output changes its compression state, so it is rebuilt anyway).
    public var keptForUpdates: ConnectionSnapshot? {
        webSocket.map { $0.inflateWindow == nil && $0.deflateWindow == nil } ?? true ? self : nil
    }
}
