/// A connection as a catch-up round or the pause sees it (the server's connection conforms): what changed since
/// it was staged, and its state, whole or its output alone.
public protocol StageableConnection: AnyObject {
    /// Its key: the old process's fd number.
    var fd: Int32 { get }
    /// The generations a copy made now is staged at.
    func stagedGeneration(updatable: Bool) -> StagedGeneration
    /// What a round must send, for a copy staged at `generation`.
    func change(since generation: StagedGeneration) -> StagedChange
    /// Its output alone, pending TLS plaintext sealed first; the connection must never be written again here.
    func handoffOutput() -> ConnectionOutput
    /// Its whole state, or nil when it cannot move now; the connection must never be used again here.
    func handoffSnapshot(loopIndex: Int) -> ConnectionSnapshot?
    /// Whether it is among the connections noted as changed since last staged (see ``ChangedSinceStaged``).
    var markedChanged: Bool { get set }
    /// Whether it closed (it left its loop's connections).
    var isClosed: Bool { get }
}

extension StagedLoop {
    /// Copies made by staging: each connection's key, generations and record bytes (kept only with `keepBytes`,
    /// for the test hooks' check, or with `progress`, to tell ``ConnectionProgress`` from a whole change).
    public init(
        copies: [(key: Int32, generation: StagedGeneration, bytes: [UInt8])], keepBytes: Bool, progress: Bool = false
    ) {
        verifies = keepBytes
        for copy in copies {
            generations[copy.key] = copy.generation
            if keepBytes || (progress && copy.generation.updatable) { bytes[copy.key] = copy.bytes }
        }
    }

    /// One round on loop `loopIndex` (a catch-up round, or the pause): for each of `connections`, nothing
    /// when it is as staged, its output alone when only that moved, else all of it; the staged ones closed or no
    /// longer movable since; how many are open. Updates what is staged to what is sent. With staged bytes kept (test
    /// hooks), a connection sent as unchanged or as its output is first compared with its copy, and one that differs
    /// after all (a change that moved no generation: a bug) is reported to `stale` and sent whole. `outputs`: the new
    /// process takes ``ConnectionOutput`` records (``HandoffFeatures/stagedConnectionOutput``); `progress`: it takes
    /// ``ConnectionProgress`` records too, sent for a connection whose staged bytes are kept and that differs from
    /// them in no more than its progress (anything else, or a copy not kept, goes whole). `last`: no round follows
    /// (the pause), so no connection's bytes are encoded or kept for one: a connection sent as its progress costs
    /// its comparison and its record, not an encoding of it whole as well; and what is staged is left as it was, as
    /// copying a loop's staged generations to change them costs more than the round (they are shared).
    /// Inlinable so that the server's loop over its connections is specialized for its connection type: called
    /// generically across the module boundary it cost about 0.2 µs per connection in the pause.
    @inlinable
    public mutating func round<Connections: Sequence>(
        _ connections: Connections, loopIndex: Int, keepBytes: Bool, outputs: Bool, progress: Bool = false,
        last: Bool = false, stale: (Int32, [String]) -> Void
    ) -> FinalConnections where Connections.Element: StageableConnection {
        var result = FinalConnections()
        var stillStaged = generations
        for connection in connections {
            let stagedAt = stillStaged.removeValue(forKey: connection.fd)
            visit(
                connection, stagedAt: stagedAt, loopIndex: loopIndex, keepBytes: keepBytes, outputs: outputs,
                progress: progress, last: last, into: &result, stale: stale)
        }
        // Staged, but closed since.
        for key in stillStaged.keys { dropClosed(key, into: &result) }
        return result
    }

    /// The same round over only the connections noted as changed since the last one (see ``ChangedSinceStaged``):
    /// `changed`, the open ones among them, `closed`, the keys of those closed since, and `open`, how many
    /// connections the loop has open in all. Every other connection is as staged, so it is not visited, and it
    /// counts as open. With `audit` (the loop's every connection; test hooks), the ones not noted are checked to be
    /// as staged after all, and one that is not (a change that noted nothing: a bug) is reported to `stale` and sent.
    @inlinable
    public mutating func round<Changed: Sequence, All: Sequence>(
        changed: Changed, closed: [Int32], open: Int, audit: All?, loopIndex: Int, keepBytes: Bool, outputs: Bool,
        progress: Bool = false, last: Bool = false, stale: (Int32, [String]) -> Void
    ) -> FinalConnections where Changed.Element: StageableConnection, All.Element == Changed.Element {
        var result = FinalConnections()
        var seen = Set<Int32>()
        for connection in changed {
            seen.insert(connection.fd)
            visit(
                connection, stagedAt: generations[connection.fd], loopIndex: loopIndex, keepBytes: keepBytes,
                outputs: outputs, progress: progress, last: last, into: &result, stale: stale)
        }
        if let audit {
            for connection in audit where !seen.contains(connection.fd) {
                let stagedAt = generations[connection.fd]
                if stagedAt.map(connection.change(since:)) == StagedChange.none,
                    !isStale(connection, loopIndex: loopIndex, output: nil, stale: stale)
                {
                    continue
                }
                stale(connection.fd, ["changed since staged but not noted as changed"])
                visit(
                    connection, stagedAt: stagedAt, loopIndex: loopIndex, keepBytes: keepBytes, outputs: outputs,
                    progress: progress, last: last, into: &result, stale: stale)
            }
        }
        // A key closed and taken again by a connection accepted since is that connection's, as in a whole round.
        for key in closed where !seen.contains(key) && generations[key] != nil {
            if last { result.closed.append(key) } else { dropClosed(key, into: &result) }
        }
        result.open = open - result.leftBehind
        return result
    }

    /// A round as the server runs it, over what `tracker` noted since the last one: the closed connections among
    /// them go by key, the open ones but `requester` (the connection asking for the upgrade, never sent) are visited,
    /// and `count` connections are on the loop in all (`requester` among them). Unless `last`, a visited connection
    /// that the next round must see again even if nothing more happens to it (see ``staysChanged(_:)``) stays noted.
    @inlinable
    public mutating func round<Connection: StageableConnection, All: Sequence>(
        noted tracker: inout ChangedSinceStaged<Connection>, count: Int, requester: Int32?, audit: All?,
        loopIndex: Int, keepBytes: Bool, outputs: Bool, progress: Bool = false, last: Bool = false,
        stale: (Int32, [String]) -> Void
    ) -> FinalConnections where All.Element == Connection {
        var (open, closed): ([Connection], [Int32]) = ([], [])
        for connection in tracker.take() {
            if connection.isClosed {
                if connection.fd == requester { withheld -= 1 } else { closed.append(connection.fd) }
            } else if connection.fd != requester {
                open.append(connection)
            }
        }
        let result = round(
            changed: open, closed: closed, open: count - withheld, audit: audit, loopIndex: loopIndex,
            keepBytes: keepBytes, outputs: outputs, progress: progress, last: last, stale: stale)
        if !last { for connection in open where staysChanged(connection) { tracker.note(connection) } }
        return result
    }

    /// One connection of a round, staged at `stagedAt` (nil: not staged): nothing when it is as staged, its
    /// output alone when only that moved, else all of it (see ``round(_:loopIndex:keepBytes:outputs:progress:last:stale:)``).
    @inlinable
    mutating func visit<Connection: StageableConnection>(
        _ connection: Connection, stagedAt: StagedGeneration?, loopIndex: Int, keepBytes: Bool, outputs: Bool,
        progress: Bool, last: Bool, into result: inout FinalConnections, stale: (Int32, [String]) -> Void
    ) {
        let key = connection.fd
        let change = stagedAt.map(connection.change(since:)) ?? .whole
        if change == .none && !isStale(connection, loopIndex: loopIndex, output: nil, stale: stale) {
            result.open += 1
        } else if change == .output, case let output = connection.handoffOutput(),
            !isStale(connection, loopIndex: loopIndex, output: output, stale: stale)
        {
            result.open += 1
            result.outputs.append(output)
            noteQueued(output.outbound.count, of: key, in: &result, last: last)
            if !last { generations[key] = connection.stagedGeneration(updatable: true) }
            if keepBytes { bytes[key] = connection.handoffSnapshot(loopIndex: loopIndex)?.encode() }
        } else if let snapshot = connection.handoffSnapshot(loopIndex: loopIndex) {
            result.open += 1
            noteQueued(snapshot.outbound.count, of: key, in: &result, last: last)
            let updatable = outputs && snapshot.keptForUpdates != nil
            let keeps = !last && (keepBytes || (progress && updatable))
            var encoded: [UInt8]?
            if progress, stagedAt?.updatable == true, let staged = bytes[key],
                let then = try? ConnectionSnapshot(decoding: staged), then.differsOnlyInProgress(from: snapshot)
            {
                result.progress.append(ConnectionProgress(key: key, of: snapshot))
                if keeps { encoded = snapshot.encode() }
            } else {
                let whole = snapshot.encode()
                result.changed.append((key, whole, stagedAt == nil ? key : nil))
                encoded = whole
            }
            if !last { generations[key] = connection.stagedGeneration(updatable: updatable) }
            if keeps, let encoded { bytes[key] = encoded } else if !last { bytes.removeValue(forKey: key) }
        } else {
            // Cannot move (left behind): its staged copy must go too.
            if stagedAt != nil { result.closed.append(key) }
            if !last { (generations[key], bytes[key]) = (nil, nil) }
            result.leftBehind += 1
        }
    }

    /// A staged connection closed since: the new process drops its copy.
    @inlinable
    mutating func dropClosed(_ key: Int32, into result: inout FinalConnections) {
        result.closed.append(key)
        generations.removeValue(forKey: key)
        bytes.removeValue(forKey: key)
    }

    /// Whether `connection`, staged (or not) as this loop now holds it, must be visited by the next round even if
    /// nothing more happens to it: it is not staged (new, or cannot move yet), or its copy is one no round takes as
    /// unchanged (output queued, a publish awaited).
    @inlinable
    public func staysChanged(_ connection: some StageableConnection) -> Bool {
        generations[connection.fd].map { connection.change(since: $0) != .none } ?? true
    }

    /// Counts the `count` bytes queued for connection `key` that this round sends, and how many of them at most were
    /// already queued when the previous round sent it (the part a round sending only what was appended since could
    /// have left out), then remembers `count` for the next round.
    @inlinable
    mutating func noteQueued(_ count: Int, of key: Int32, in result: inout FinalConnections, last: Bool = false) {
        result.queuedBytes += count
        result.queuedBeforeBytes += Swift.min(count, queued[key] ?? 0)
        if !last { queued[key] = count > 0 ? count : nil }
    }

    /// Test hooks only (staged bytes kept): whether a connection deemed unchanged (or changed only by `output`)
    /// differs from its staged copy (with that output) after all.
    @inlinable
    func isStale(
        _ connection: some StageableConnection, loopIndex: Int, output: ConnectionOutput?,
        stale: (Int32, [String]) -> Void
    ) -> Bool {
        guard verifies, let staged = bytes[connection.fd], let then = try? ConnectionSnapshot(decoding: staged) else {
            return false
        }
        let expected = output.map { $0.applied(to: then) } ?? then
        let now = connection.handoffSnapshot(loopIndex: loopIndex)
        guard now != expected else { return false }
        stale(connection.fd, now.map { expected.differences(from: $0) } ?? ["gone"])
        return true
    }
}
