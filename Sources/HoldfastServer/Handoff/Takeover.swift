import Glibc
import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastJSON
import HoldfastPresence
import HoldfastUpgrade
import Logging
import Synchronization

/// Binary upgrade, the new process's side: started by the old process with one end of the handoff channel as
/// fd 3 (named by ``environmentVariable``), it rebuilds every listener, connection and room from the stream and
/// serves once the old process has committed.
enum Takeover {
    /// Names the inherited handoff fd; its presence puts `holdfast serve` in takeover mode.
    static let environmentVariable = "HOLDFAST_HANDOFF_FD"
}

/// Why this process could not take over; the old process has rolled back (or will) and keeps serving.
public struct TakeoverError: Error, CustomStringConvertible {
    let reason: String
    public var description: String { "binary upgrade takeover failed: \(reason)" }
}

extension Server {
    /// The handoff fd this process inherited, if it was started by a binary upgrade.
    public static func inheritedHandoffFD(environment: [String: String]) -> Int32? {
        environment[Takeover.environmentVariable].flatMap { Int32($0) }
    }

    /// Takes over from the process that started this one: READY, receive and rebuild everything, DONE, wait for
    /// COMMIT, then start the loops and serve. Throws (after telling the old process, which rolls back) when
    /// anything cannot be rebuilt; the caller must then exit without touching any socket.
    public func takeOver(handoffFD: Int32) throws {
        let channel = HandoffChannel(adopting: handoffFD)
        ProcessLimits.raiseFileLimit()
        do {
            try HandoffControl.ready(pid: getpid(), version: context.admin.binaryVersion).send(on: channel, timeoutMilliseconds: 5_000)
        } catch {
            throw TakeoverError(reason: "cannot answer READY: \(error)")
        }
        let perLoop = prepareLoops()
        let stagingStarted = MonotonicClock.nowNanoseconds()
        var stage = StagedConnections()
        do {
            stage = try receiveStaging(from: channel, perLoop: perLoop)
            try HandoffControl.staged(connections: stage.byKey.count).send(on: channel, timeoutMilliseconds: 5_000)
        } catch {
            let reason = "\(error)"
            try? HandoffControl.failed(reason: reason).send(on: channel, timeoutMilliseconds: 1_000)
            throw TakeoverError(reason: reason)
        }
        let staging = Double(MonotonicClock.nowNanoseconds() - stagingStarted) / 1e6
        let started = MonotonicClock.nowNanoseconds()
        let rooms: [ActorRef<RoomMessage>]
        let counts: (connections: Int, rooms: Int)
        let header: HandoffHeader
        do {
            (header, rooms, counts) = try receiveFinal(from: channel, stage: stage, perLoop: perLoop)
        } catch {
            let reason = "\(error)"
            try? HandoffControl.failed(reason: reason).send(on: channel, timeoutMilliseconds: 1_000)
            throw TakeoverError(reason: reason)
        }
        let rebuilt = Double(MonotonicClock.nowNanoseconds() - started) / 1e6
        if configuration.server.testHooks, let delay = ProcessEnvironment.current()["HOLDFAST_TEST_TAKEOVER_DELAY_MS"].flatMap({ UInt32($0) }) {
            // Test hook: a new binary that is slow to rebuild, to exercise the old process's DONE timeout.
            usleep(delay * 1000)
        }
        do {
            try HandoffControl.done(connections: counts.connections, rooms: counts.rooms, rebuildMilliseconds: rebuilt)
                .send(on: channel, timeoutMilliseconds: 5_000)
        } catch {
            throw TakeoverError(reason: "cannot answer DONE: \(error)")
        }
        let pause = try awaitCommit(on: channel)
        group.start()
        for room in rooms { room.send(.resumeAfterHandoff) }
        // systemd must know the new main pid before the old process exits (it does once it reads ACK): the
        // barrier returns once systemd has processed the notification.
        if systemd.isEnabled {
            _ = try? systemd.notify(["MAINPID": "\(getpid())", "READY": "1"])
            _ = try? systemd.barrier(timeoutMilliseconds: 2_000)
        }
        try? HandoffControl.ack.send(on: channel, timeoutMilliseconds: 1_000)
        channel.close()
        var record = UpgradeRecord(
            kind: "binary", outcome: "ok", from: "\(header.binaryVersion) (pid \(header.pid))",
            to: "\(context.admin.binaryVersion) (pid \(getpid()))", pauseMilliseconds: pause ?? 0,
            suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: counts.rooms, error: nil)
        record.extra = [
            JSONMember("old_pid", .integer(Int64(header.pid))), JSONMember("new_pid", .integer(Int64(getpid()))),
            JSONMember("connections", .integer(Int64(counts.connections))), JSONMember("rebuild_ms", .double(rebuilt)),
        ]
        context.upgrades.record(record)
        logAddresses("took over from the previous process; listening")
        context.logger.notice("binary upgrade: serving", metadata: [
            "connections": "\(counts.connections)", "rooms": "\(counts.rooms)", "staging-ms": "\(staging)",
            "final-ms": "\(rebuilt)",
        ])
    }

    /// COMMIT, or the channel closing after DONE (the old process is gone, so the sockets are ours alone).
    /// Anything else means the old process may still be serving: leave without touching a socket. Returns the
    /// pause the old process measured up to the commit, when it sent one.
    private func awaitCommit(on channel: HandoffChannel) throws -> Double? {
        do {
            let message = try HandoffControl.receive(on: channel, timeoutMilliseconds: 60_000)
            guard case .commit(let pause) = message else { throw TakeoverError(reason: "expected COMMIT, got \(message)") }
            return pause
        } catch HandoffError.closed {
            context.logger.warning("the previous process went away after DONE; taking over")
            return nil
        } catch let error as TakeoverError {
            throw error
        } catch {
            throw TakeoverError(reason: "no COMMIT from the previous process: \(error)")
        }
    }

    /// What staging built: the listeners, each connection by its key in the old process, the room members of
    /// those connections by topic, and each room's staged presence.
    struct StagedConnections {
        var listeners: [ListenerSpec] = []
        var byKey: [Int32: Connection] = [:]
        var members: [String: [UInt64: RoomMember]] = [:]
        var presence: [String: PresenceSnapshot] = [:]

        mutating func addMembers(of connection: Connection) {
            guard let joined = connection.phoenix?.joined else { return }
            for member in joined.values { members[member.topic, default: [:]][member.connectionID] = member }
        }

        mutating func removeMembers(of connection: Connection) {
            guard let session = connection.phoenix else { return }
            for topic in session.joined.keys { members[topic]?.removeValue(forKey: session.connectionID) }
        }
    }

    /// Staging (the old process still serves): builds every connection from its copy and registers its socket
    /// on its loop, and decodes every room's presence. Nothing is read or written: the loops do not run yet.
    private func receiveStaging(from channel: HandoffChannel, perLoop: [LoopConnections]) throws -> StagedConnections {
        let reader = HandoffReader(channel: channel, timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds)
        var stage = StagedConnections()
        var unclaimed: [Int32] = []
        do {
            while let (state, fd) = try reader.next() {
                if let fd { unclaimed.append(fd) }
                switch state.first {
                case HandoffFormat.listenerRecord:
                    guard let fd else { throw HandoffStateError(reason: "a listener record without its socket") }
                    let listener = try ListenerSnapshot(decoding: state)
                    stage.listeners.append(ListenerSpec(fd: fd, kind: listener.kind, loopIndex: listener.loopIndex))
                case HandoffFormat.stagedConnectionRecord:
                    guard let fd else { throw HandoffStateError(reason: "a connection record without its socket") }
                    let (key, snapshot) = try KeyedConnectionRecord.decode(state)
                    let connection = try adoptConnection(fd: fd, snapshot: snapshot, perLoop: perLoop, register: true)
                    stage.byKey[key] = connection
                    stage.addMembers(of: connection)
                case HandoffFormat.stagedRoomRecord:
                    let room = try StagedRoom(decoding: state)
                    stage.presence[room.topic] = room.presence
                default:
                    throw HandoffStateError(reason: "unknown staging record kind \(state.first.map { "\($0)" } ?? "empty")")
                }
                if fd != nil { unclaimed.removeLast() }
            }
        } catch {
            unclaimed.forEach(Socket.close)
            throw error
        }
        if stage.listeners.contains(where: { $0.kind == .tls }) && context.tls == nil {
            throw HandoffStateError(reason: "the previous process serves TLS but this configuration has no certificate and key")
        }
        return stage
    }

    /// The pause: replaces the connections that changed since staging, drops those that closed meanwhile, and
    /// rebuilds the rooms and the handler state.
    private func receiveFinal(
        from channel: HandoffChannel, stage: StagedConnections, perLoop: [LoopConnections]
    ) throws -> (HandoffHeader, [ActorRef<RoomMessage>], (connections: Int, rooms: Int)) {
        var stage = stage
        // Catch-up rounds (each its own stream, answered STAGED), then the final stream, which starts with the
        // header.
        var reader = HandoffReader(channel: channel, timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds)
        var headerBytes: [UInt8]?
        while headerBytes == nil {
            guard let (state, fd) = try reader.next() else {
                try HandoffControl.staged(connections: stage.byKey.count).send(on: channel, timeoutMilliseconds: 5_000)
                reader = HandoffReader(channel: channel, timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds)
                continue
            }
            if state.first == HandoffFormat.headerRecord, fd == nil {
                headerBytes = state
            } else {
                try apply(state, fd: fd, to: &stage, perLoop: perLoop)
            }
        }
        let header = try HandoffHeader(decoding: headerBytes ?? [])
        context.logger.notice("binary upgrade: taking over", metadata: ["from-pid": "\(header.pid)", "from-version": "\(header.binaryVersion)"])
        var snapshots: [RoomSnapshot] = []
        while let (state, fd) = try reader.next() {
            if state.first == HandoffFormat.roomRecord {
                snapshots.append(try RoomSnapshot(decoding: state))
            } else {
                try apply(state, fd: fd, to: &stage, perLoop: perLoop)
            }
        }
        // Only now may queued output go out: a staged copy's output may have been stale.
        for connection in stage.byKey.values where connection.pendingOutputBytes > 0 { connection.requestFlushIfNeeded() }
        try adoptHandlers(header)
        var rooms: [ActorRef<RoomMessage>] = []
        for snapshot in snapshots {
            guard let presence = snapshot.presence ?? stage.presence[snapshot.topic] else {
                throw HandoffStateError(reason: "room \(snapshot.topic) came without its presence")
            }
            guard let room = context.rooms.adopt(snapshot, presence: presence, members: stage.members[snapshot.topic] ?? [:]) else {
                throw HandoffStateError(reason: "cannot start room \(snapshot.topic)")
            }
            rooms.append(room)
        }
        context.continueConnectionIDs(after: header.nextConnectionID)
        try install(stage.listeners, perLoop: perLoop)
        return (header, rooms, (stage.byKey.count, snapshots.count))
    }

    /// Applies one record of a catch-up round or of the final stream: a connection that changed since staging
    /// (replacing the staged copy, or new with its socket), or the keys of staged connections closed since.
    private func apply(_ state: [UInt8], fd: Int32?, to stage: inout StagedConnections, perLoop: [LoopConnections]) throws {
        switch state.first {
        case HandoffFormat.finalConnectionRecord:
            let (key, snapshot) = try KeyedConnectionRecord.decode(state)
            if let staged = stage.byKey[key] {
                if let fd { Socket.close(fd) }  // a staged connection has its socket already
                let replacement = try adoptConnection(fd: staged.fd, snapshot: snapshot, perLoop: perLoop, register: false)
                stage.removeMembers(of: staged)
                staged.retireStagedCopy()
                staged.loop.replaceHandler(fd: staged.fd, with: replacement)
                context.openConnections.subtract(1, ordering: .relaxed)
                stage.byKey[key] = replacement
                stage.addMembers(of: replacement)
            } else {
                guard let fd else { throw HandoffStateError(reason: "connection \(key) was neither staged nor sent") }
                do {
                    let connection = try adoptConnection(fd: fd, snapshot: snapshot, perLoop: perLoop, register: true)
                    stage.byKey[key] = connection
                    stage.addMembers(of: connection)
                } catch {
                    Socket.close(fd)
                    throw error
                }
            }
        case HandoffFormat.closedKeysRecord:
            // Staged connections the old process closed meanwhile: its copy is gone, so closing ours ends them.
            for key in try ClosedKeysRecord.decode(state) {
                guard let connection = stage.byKey.removeValue(forKey: key) else { continue }
                stage.removeMembers(of: connection)
                connection.loop.deregister(fd: connection.fd)
                Socket.close(connection.fd)
                connection.retireStagedCopy()
                context.openConnections.subtract(1, ordering: .relaxed)
            }
        default:
            if let fd { Socket.close(fd) }
            throw HandoffStateError(reason: "unknown record kind \(state.first.map { "\($0)" } ?? "empty")")
        }
    }

    /// Builds one connection on its loop (before the loops run), optionally registering its socket.
    private func adoptConnection(
        fd: Int32, snapshot: ConnectionSnapshot, perLoop: [LoopConnections], register: Bool
    ) throws -> Connection {
        let index = snapshot.loopIndex % group.loops.count
        let loop = group.loops[index]
        let (connection, _) = try Connection.adopt(fd: fd, snapshot: snapshot, loop: loop, context: context, owner: perLoop[index])
        if register { try loop.register(fd: fd, interest: .readable, handler: connection) }
        perLoop[index].add(connection)
        context.openConnections.add(1, ordering: .relaxed)
        return connection
    }

    /// Continues the previous process's handler: the same plugins when they load here (migrating the state if
    /// this process's code differs), else this binary's own plugin with the state migrated to it.
    private func adoptHandlers(_ header: HandoffHeader) throws {
        let registry = context.upgrades.registry
        var chain: [LoadedPlugin] = []
        for path in header.handlerChain {
            do {
                chain.append(try registry.load(path: path))
            } catch {
                context.logger.warning("handler plugin of the previous process does not load here", metadata: ["path": "\(path)", "error": "\(error)"])
            }
        }
        if chain.last?.path != header.handlerChain.last, let own = registry.current {
            chain = [own]
        }
        do {
            try registry.adopt(chain: chain, state: header.handlerState, version: header.handlerVersion)
        } catch {
            throw HandoffStateError(reason: "handler state: \(error.description)")
        }
    }
}
