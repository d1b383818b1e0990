import Glibc
import HoldfastActors
import HoldfastCluster
import HoldfastConfig
import HoldfastCore
import HoldfastHandlerAPI
import HoldfastHandoff
import HoldfastRooms
import HoldfastUpgrade
import HoldfastWeb
import Logging
import Synchronization

/// Staging: copying connections and room presence to the new process while the old one still serves, catch-up
/// rounds, and what the pause sends (only what changed since).
extension HandoffAttempt {
    /// Staging, while the loops keep serving: every loop copies its connections (each between two of its
    /// events) and every room its presence, the copies go to the new process (connections with their fds), and
    /// it builds and registers them; the pause then only has to send what changed since. Returns the generation
    /// each connection (by loop and key) and each room's presence was copied at.
    func stage() throws(HandoffFailure) -> HandoverMachine.Event {
        guard let channel else { throw .sendFailed(reason: "no handoff channel") }
        let started = StepStart()
        let sink = RoomExportSink()
        let stagesValues = newProcess.features.contains(.stagedRoomValues)
        let outputs = newProcess.features.contains(.stagedConnectionOutput)
        var askedRooms = 0
        for room in context.rooms.allRooms where room.send(.stageForHandoff(sink)) { askedRooms += 1 }
        guard let stagedRooms = sink.wait(for: askedRooms, timeoutMilliseconds: 5_000)?.staged else {
            throw .roomsUnresponsive(reason: "not every room copied its presence within 5 s")
        }
        let runtime = self.runtime
        let requester = requesterFD
        // The loops go on serving while the copies are sent: a connection closed meanwhile keeps its socket open
        // until the stream is out, so no fd number on its way is stale or reused (a duplicate per connection
        // would double the fds, and a process may not hold that many).
        guard
            let copies = runtime.onEveryLoop(
                timeoutMilliseconds: 30_000,
                { index in
                    let loopConnections = runtime.connections[index]
                    loopConnections.deferCloses()
                    loopConnections.changed.start()  // from here, rounds visit only what changes (or is not copied)
                    var (records, withheld): ([(key: Int32, generation: StagedGeneration, bytes: [UInt8])], Int) = ([], 0)
                    loopConnections.forEach { connection in
                        guard connection.fd != requester else { return withheld += 1 }
                        guard let snapshot = connection.handoffSnapshot(loopIndex: index) else {
                            return loopConnections.changed.note(connection)
                        }
                        let updatable = outputs && snapshot.keptForUpdates != nil
                        let generation = connection.stagedGeneration(updatable: updatable)
                        if connection.change(since: generation) != .none { loopConnections.changed.note(connection) }
                        records.append((connection.fd, generation, snapshot.encode()))
                    }
                    return (records, withheld)
                })
        else { throw .loopsUnresponsive(reason: "an event loop did not copy its connections") }
        let writer = HandoffWriter(channel: channel, timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds)
        writer.beforeRecordsMessage = { [self] _ in reach("staging-batch") }
        do {
            for (loop, listener) in runtime.listeners {
                let kind: ListenerSnapshot.Kind =
                    listener.isAdmin ? .admin : listener.isAPI ? .api : listener.isTLS ? .tls : .plain
                try writer.add(state: ListenerSnapshot(kind: kind, loopIndex: loop.index).encode(), fd: listener.fd)
            }
            for (loopCopies, _) in copies {
                for copy in loopCopies {
                    let record = KeyedConnectionRecord.encode(
                        kind: HandoffFormat.stagedConnectionRecord, key: copy.key, snapshot: copy.bytes)
                    try writer.add(state: record, fd: copy.key)
                }
            }
            for room in stagedRooms { try writer.add(state: room.encode(withValues: stagesValues), fd: nil) }
        } catch {
            throw .sendFailed(reason: "handing the connections to the new binary failed: \(error)")
        }
        try finishRound(writer)
        mark("staging", since: started)
        let verify = configuration.server.testHooks
        let progress = outputs && newProcess.features.contains(.stagedConnectionProgress)
        let loops = copies.map {
            var loop = StagedLoop(copies: $0.0, keepBytes: verify, progress: progress)
            loop.withheld = $0.1
            return loop
        }
        let presence = Dictionary(
            stagedRooms.map { ($0.topic, $0.presenceGeneration) }, uniquingKeysWith: { first, _ in first })
        staged = StagedHandoff(loops: loops, rooms: presence)
        if stagesValues {
            staged.values = Dictionary(stagedRooms.map { ($0.topic, .init($0)) }) { first, _ in first }
            staged.seats = Dictionary(stagedRooms.map { ($0.topic, $0.seatsGeneration) }) { first, _ in first }
        }
        return .roundSent(changed: copies.reduce(0) { $0 + $1.0.count })
    }

    /// A catch-up round, still serving: each loop copies the connections that changed since they were staged,
    /// the new process replaces its copies (and drops the closed ones), so the pause finds even less to send.
    /// Completes with how many connections were sent again.
    func restage() throws(HandoffFailure) -> HandoverMachine.Event {
        guard let channel else { throw .sendFailed(reason: "no handoff channel") }
        let started = StepStart()
        let (runtime, requester, verify) = (self.runtime, requesterFD, configuration.server.testHooks)
        let (current, features) = (staged.loops, newProcess.features)
        guard
            let rounds = runtime.onEveryLoop(
                timeoutMilliseconds: 30_000,
                { index in
                    runtime.connections[index].deferCloses()
                    var loopStaged = current[index]
                    let changes = Self.collectChanges(
                        on: index, runtime: runtime, requester: requester, staged: &loopStaged, verify: verify,
                        features: features)
                    return (changes, loopStaged)
                })
        else { throw .loopsUnresponsive(reason: "an event loop did not copy its connections") }
        staged.loops = rounds.map(\.1)
        let changes = FinalConnections.merge(rounds.map(\.0))
        let writer = HandoffWriter(channel: channel, timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds)
        writer.beforeRecordsMessage = { [self] _ in reach("staging-batch") }
        do {
            try changes.write(to: writer)
        } catch {
            throw .sendFailed(reason: "handing the connections to the new binary failed: \(error)")
        }
        try finishRound(writer)
        mark("restaging \(changes.changed.count)+\(changes.outputs.count)+\(changes.progress.count)", since: started)
        return .roundSent(changed: changes.changed.count + changes.outputs.count + changes.progress.count)
    }

    /// Ends a staging or catch-up round with the stream's END; the machine then has the closes deferred while
    /// it was sent carried out and awaits STAGED.
    private func finishRound(_ writer: HandoffWriter) throws(HandoffFailure) {
        do {
            try writer.finish()
        } catch {
            throw .sendFailed(reason: "handing the connections to the new binary failed: \(error)")
        }
    }

    /// Each loop exports what changed since staging and then blocks until the verdict: on commit it never runs
    /// again; on rollback ``HandoverMachine/Action/unfreezeLoops`` releases it.
    func freezeAndExportConnections(staged: [StagedLoop]) throws(HandoffFailure) -> FinalConnections {
        let (runtime, requester, features) = (self.runtime, requesterFD, newProcess.features)
        let gate = ThreadSemaphore()
        frozen = gate
        guard
            let exported = runtime.loops.runOnEach(holding: gate, { index in
                var loopStaged = staged[index]
                return Self.collectChanges(
                    on: index, runtime: runtime, requester: requester, staged: &loopStaged, verify: false,
                    features: features, last: true)
            })
        else { throw .loopsUnresponsive(reason: "an event loop did not export its connections") }
        return FinalConnections.merge(exported)
    }

    /// On loop `index`: what changed since `staged` (see `StagedLoop.round`), visiting only the connections noted
    /// as changed since the last round (all of them with test hooks, which check the others are as staged); a stale
    /// copy is logged loudly. A connection that no round can take as unchanged yet stays noted for the next.
    static func collectChanges(
        on index: Int, runtime: HandoffRuntime, requester: Int32?, staged: inout StagedLoop, verify: Bool,
        features: HandoffFeatures, last: Bool = false
    ) -> FinalConnections {
        let (logger, loopConnections) = (runtime.context.logger, runtime.connections[index])
        let outputs = features.contains(.stagedConnectionOutput)
        return staged.round(
            noted: &loopConnections.changed, count: loopConnections.count, requester: requester,
            audit: verify ? loopConnections.connections.lazy.filter { $0.fd != requester } : nil, loopIndex: index,
            keepBytes: verify, outputs: outputs, progress: outputs && features.contains(.stagedConnectionProgress),
            last: last
        ) { key, differences in
            logger.error("binary upgrade: stale staged copy of an unchanged connection",
                metadata: ["fd": "\(key)", "differs": "\(differences)"])
        }
    }
}

extension HandoffAttempt {
    /// The final stream, in the pause: the header, the connections changed since staging, the closed keys and
    /// the rooms.
    func sendFinal() throws(HandoffFailure) -> HandoverMachine.Event {
        guard let channel else { throw .sendFailed(reason: "no handoff channel") }
        let started = StepStart()
        let registry = context.upgrades.registry
        context.rooms.cluster?.presence.writeHandoff()  // the node's name and token, the rooms' views
        let header = HandoffHeader(
            pid: getpid(), binaryVersion: context.admin.binaryVersion, nextConnectionID: context.peekNextConnectionID(),
            handlerChain: registry.chain.map(\.path), handlerVersion: registry.handler?.version ?? "",
            handlerState: registry.handler?.exportState() ?? [])
        let writer = HandoffWriter(channel: channel, timeoutMilliseconds: 5_000)
        writer.beforeRecordsMessage = { [self] _ in reach("send-batch") }
        var bytes = 0
        do {
            let head = header.encode()
            bytes += head.count
            try writer.add(state: head, fd: nil)
            bytes += try final.write(to: writer)
            for room in rooms {
                let encoded = staged.values.map { room.encodeChanges(since: $0[room.topic] ?? .init()) }
                    ?? room.encode()
                bytes += encoded.count
                try writer.add(state: encoded, fd: nil)
            }
            try writer.finish()
        } catch {
            throw .sendFailed(reason: "handing the state to the new binary failed: \(error)")
        }
        sent = (final.changed.count, final.outputs.count, final.progress.count, bytes)
        mark("send", since: started)
        return .completed(.finalSent)
    }
}
