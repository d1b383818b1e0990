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
    /// its comparison and its record, not an encoding of it whole as well.
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
            let key = connection.fd
            let stagedAt = stillStaged.removeValue(forKey: key)
            let change = stagedAt.map(connection.change(since:)) ?? .whole
            if change == .none && !isStale(connection, loopIndex: loopIndex, output: nil, stale: stale) {
                result.open += 1
            } else if change == .output, case let output = connection.handoffOutput(),
                !isStale(connection, loopIndex: loopIndex, output: output, stale: stale)
            {
                result.open += 1
                result.outputs.append(output)
                noteQueued(output.outbound.count, of: key, in: &result)
                generations[key] = connection.stagedGeneration(updatable: true)
                if keepBytes { bytes[key] = connection.handoffSnapshot(loopIndex: loopIndex)?.encode() }
            } else if let snapshot = connection.handoffSnapshot(loopIndex: loopIndex) {
                result.open += 1
                noteQueued(snapshot.outbound.count, of: key, in: &result)
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
                generations[key] = connection.stagedGeneration(updatable: updatable)
                if keeps, let encoded { bytes[key] = encoded } else if !last { bytes.removeValue(forKey: key) }
            } else {
                // Cannot move (left behind): its staged copy must go too.
                if stagedAt != nil { result.closed.append(key) }
                generations.removeValue(forKey: key)
                bytes.removeValue(forKey: key)
                result.leftBehind += 1
            }
        }
        // Staged, but closed since.
        for key in stillStaged.keys {
            result.closed.append(key)
            generations.removeValue(forKey: key)
            bytes.removeValue(forKey: key)
        }
        return result
    }

    /// Counts the `count` bytes queued for connection `key` that this round sends, and how many of them at most were
    /// already queued when the previous round sent it (the part a round sending only what was appended since could
    /// have left out), then remembers `count` for the next round.
    @inlinable
    mutating func noteQueued(_ count: Int, of key: Int32, in result: inout FinalConnections) {
        result.queuedBytes += count
        result.queuedBeforeBytes += Swift.min(count, queued[key] ?? 0)
        queued[key] = count > 0 ? count : nil
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
