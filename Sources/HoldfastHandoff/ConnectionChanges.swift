import HoldfastWebSocket

/// What staging sent for one event loop, on the old process's side: each connection's generations then (by key),
/// and, with test hooks on, its bytes, so the pause can prove that every connection it does not send again (or
/// sends as its output alone) is indeed unchanged (but for that output).
public struct StagedLoop: Sendable {
    /// The generations each staged connection was copied at.
    public var generations: [Int32: StagedGeneration] = [:]
    /// The staged bytes (with test hooks, or for ``ConnectionProgress`` records).
    public var bytes: [Int32: [UInt8]] = [:]
    /// Whether a round compares every connection it deems unchanged with its staged bytes (test hooks).
    public var verifies = false
    /// The bytes queued for each connection when a round last sent them (none: nothing queued then).
    public var queued: [Int32: Int] = [:]
    /// Connections on the loop that no round sends (the one asking for the upgrade), for the count of open ones.
    public var withheld = 0

    /// Nothing staged yet.
    public init() {}
}

/// A connection's two change counters when it was copied, and what the new process kept of the copy. The state
/// generation moves with everything but output (input, phase and deadline changes, joins completing); the output
/// generation with output that changes more than the queue (TLS records sealed, a partial write).
public struct StagedGeneration: Sendable, Equatable {
    /// The state generation (`UInt64.max`: never taken as unchanged, e.g. a publish awaited off the loop).
    public var state: UInt64
    /// The output generation (`UInt64.max`: output was queued, so the copy's queue goes stale unseen).
    public var output: UInt64
    /// Whether an output record can update the copy: the new process keeps it (``ConnectionSnapshot/keptForUpdates``)
    /// and accepted ``HandoffFeatures/stagedConnectionOutput``.
    public var updatable: Bool

    /// The generations of a copy.
    public init(state: UInt64, output: UInt64, updatable: Bool) {
        (self.state, self.output, self.updatable) = (state, output, updatable)
    }

    /// What a round must send for a connection at `state` and `output` generations now, with `pendingOutput`
    /// bytes queued: nothing, its output alone, or all of it.
    @inlinable
    public func change(state now: UInt64, output nowOutput: UInt64, pendingOutput: Bool) -> StagedChange {
        guard now == state, state != .max else { return .whole }
        if nowOutput == output && !pendingOutput { return .none }
        return updatable ? .output : .whole
    }
}

/// What a round sends for one staged connection.
public enum StagedChange: Sendable, Equatable {
    /// Nothing: the copy is the connection.
    case none
    /// Its output (``ConnectionOutput``), applied to the copy.
    case output
    /// The whole connection (``HandoffFormat/finalConnectionRecord``).
    case whole
}

/// What a catch-up round or the pause sends about the connections: those that changed since they were staged
/// (with their fd if they were not staged), the keys of the staged ones closed since, how many are open, and how
/// many could not move.
public struct FinalConnections: Sendable {
    /// Changed connections: key, encoded ``ConnectionSnapshot``, and the fd when the new process does not have it.
    public var changed: [(key: Int32, snapshot: [UInt8], fd: Int32?)] = []
    /// Staged connections whose only change since is output: that output, applied to the copy.
    public var outputs: [ConnectionOutput] = []
    /// Staged connections whose change since is no more than reading and output: that progress, applied to the copy.
    public var progress: [ConnectionProgress] = []
    /// Keys of staged connections closed (or no longer movable) since.
    public var closed: [Int32] = []
    /// Connections open.
    public var open = 0
    /// Connections that cannot move (they stay with the old process).
    public var leftBehind = 0
    /// The output bytes queued that these records carry, and at most how many of them were queued already when the
    /// previous round sent the same connection (what carrying only the bytes appended since could save).
    public var queuedBytes = 0, queuedBeforeBytes = 0

    /// Nothing changed.
    public init() {}

    /// One loop's parts together.
    public static func merge(_ parts: [FinalConnections]) -> FinalConnections {
        parts.reduce(into: FinalConnections()) {
            $0.changed += $1.changed
            $0.outputs += $1.outputs
            $0.progress += $1.progress
            $0.closed += $1.closed
            $0.open += $1.open
            $0.leftBehind += $1.leftBehind
            $0.queuedBytes += $1.queuedBytes
            $0.queuedBeforeBytes += $1.queuedBeforeBytes
        }
    }

    /// The changed connections (with their fd when not staged before), the outputs and the closed keys, as
    /// records; returns the bytes written.
    @discardableResult
    public func write(to writer: HandoffWriter) throws(HandoffChannelError) -> Int {
        var bytes = 0
        for connection in changed {
            let record = KeyedConnectionRecord.encode(
                kind: HandoffFormat.finalConnectionRecord, key: connection.key, snapshot: connection.snapshot)
            bytes += record.count
            try writer.add(state: record, fd: connection.fd)
        }
        for output in outputs {
            let record = output.encode()
            bytes += record.count
            try writer.add(state: record, fd: nil)
        }
        for change in progress {
            let record = change.encode()
            bytes += record.count
            try writer.add(state: record, fd: nil)
        }
        let closedRecord = ClosedKeysRecord.encode(closed)
        try writer.add(state: closedRecord, fd: nil)
        return bytes + closedRecord.count
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
