import Glibc
import HoldfastActors
import HoldfastChannels
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastPresence
import HoldfastRooms
import HoldfastUpgrade
import Logging
import Synchronization

/// Rebuilding what the old process hands over: the staging stream, catch-up rounds and the final stream. The
/// loops do not run yet, so nothing here reads or writes a socket.
extension Server {
    /// What staging built: the listeners, each connection by its key in the old process, the room members of
    /// those connections (filed by topic and loop, see `StagedRoomMembers`), and each room's staged presence.
    struct StagedConnections {
        var listeners: [ListenerSpec] = []
        var byKey: [Int32: Connection] = [:]
        var members = StagedRoomMembers<RoomMember>()
        var presence: [String: PresenceSnapshot] = [:]
        var values: [String: StagedRoomValues] = [:]
        /// The staged rooms' actors, started once staging was in (see `RoomRegistry.prestart`).
        var started: [String: PrestartedRoom] = [:]
        /// The snapshot each connection was last built or updated from, by key (see `keptForUpdates`).
        var snapshots: [Int32: ConnectionSnapshot] = [:]
        /// When the final stream's header arrived (the pause's records follow it), and where the time went since.
        var finalStarted: UInt64 = 0
        var laps = RebuildLaps()

        mutating func addMembers(of connection: Connection) { members.add(connection.phoenix?.joined.values) }
        mutating func removeMembers(of connection: Connection) { members.remove(connection.phoenix?.joined.values) }
    }

    /// Staging (the old process still serves): builds every connection from its copy and registers its socket
    /// on its loop, and decodes every room's presence. Nothing is read or written: the loops do not run yet.
    func receiveStaging(from channel: HandoffChannel, perLoop: [LoopConnections]) throws -> StagedConnections {
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
                    try Socket.passNoDelayToAccepted(fd)  // the old process may have set it per accepted socket
                    stage.listeners.append(ListenerSpec(fd: fd, kind: listener.kind, loopIndex: listener.loopIndex))
                case HandoffFormat.stagedConnectionRecord:
                    guard let fd else { throw HandoffStateError(reason: "a connection record without its socket") }
                    let (key, snapshot) = try KeyedConnectionRecord.decode(state)
                    let connection = try adoptConnection(fd: fd, snapshot: snapshot, perLoop: perLoop, register: true)
                    (stage.byKey[key], stage.snapshots[key]) = (connection, snapshot.keptForUpdates)
                    stage.addMembers(of: connection)
                case HandoffFormat.stagedRoomRecord, HandoffFormat.stagedRoomValuesRecord:
                    let room = try StagedRoom(decoding: state)
                    (stage.presence[room.topic], stage.values[room.topic]) = (room.presence, StagedRoomValues(room))
                default:
                    let kind = state.first.map { "\($0)" } ?? "empty"
                    throw HandoffStateError(reason: "unknown staging record kind \(kind)")
                }
                if fd != nil { unclaimed.removeLast() }
            }
        } catch {
            unclaimed.forEach(Socket.close)
            throw error
        }
        if stage.listeners.contains(where: { $0.kind == .tls }) && context.tls == nil {
            throw HandoffStateError(
                reason: "the previous process serves TLS but this configuration has no certificate and key")
        }
        for topic in stage.presence.keys {
            guard let room = context.rooms.prestart(topic) else { continue }  // started in the pause, then
            stage.started[topic] = room
            stage.members.point(topic, at: room.ref)
        }
        return stage
    }

    /// One stream after staging: a catch-up round (applied to `stage`; nil), or the final one, sent in the pause
    /// and starting with the header: it replaces the connections that changed since staging, drops those that
    /// closed meanwhile, and rebuilds the rooms and the handler state.
    func receiveRound(
        from channel: HandoffChannel, stage: inout StagedConnections, perLoop: [LoopConnections]
    ) throws -> (HandoffHeader, [ActorRef<RoomMessage>], (connections: Int, rooms: Int))? {
        let reader = HandoffReader(channel: channel, timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds)
        var headerBytes: [UInt8]?
        while headerBytes == nil {
            // END before any header: a catch-up round, answered STAGED.
            guard let (state, fd) = try reader.next() else { return nil }
            if state.first == HandoffFormat.headerRecord, fd == nil {
                headerBytes = state
            } else {
                try apply(state, fd: fd, to: &stage, perLoop: perLoop)
            }
        }
        let header = try HandoffHeader(decoding: headerBytes ?? [])
        stage.finalStarted = MonotonicClock.nowNanoseconds()
        stage.laps = RebuildLaps(since: stage.finalStarted)
        context.logger.notice(
            "binary upgrade: taking over",
            metadata: [
                "from-pid": "\(header.pid)", "from-version": "\(header.binaryVersion)",
            ])
        var snapshots: [RoomSnapshot] = []
        while let (state, fd) = try reader.next() {
            stage.laps.lap(.read)
            if state.first == HandoffFormat.roomRecord || state.first == HandoffFormat.roomChangesRecord {
                snapshots.append(
                    try RoomSnapshot(decoding: state) { stage.values.removeValue(forKey: $0) ?? StagedRoomValues() })
                stage.laps.lap(.roomRecords)
            } else {
                try apply(state, fd: fd, to: &stage, perLoop: perLoop)
                stage.laps.lap(RebuildLaps.Part(record: state.first))
            }
        }
        // Only now may queued output go out: a staged copy's output may have been stale.
        for connection in stage.byKey.values where connection.pendingOutputBytes > 0 {
            connection.requestFlushIfNeeded()
        }
        stage.laps.lap(.flush)
        try adoptHandlers(header)
        stage.laps.lap(.handlers)
        // Publishes awaited by handed-over API connections keep their tickets; this process numbers above them.
        let waits = CarriedPublishWaits(
            stage.byKey.values.compactMap(\.awaitedPublish), rooms: snapshots, numbering: context.api)
        var rooms: [ActorRef<RoomMessage>] = []
        for snapshot in snapshots {
            guard let presence = snapshot.presence ?? stage.presence[snapshot.topic] else {
                throw HandoffStateError(reason: "room \(snapshot.topic) came without its presence")
            }
            let members = stage.members.byTopic[snapshot.topic] ?? [:]
            let waiters = waits.answers(for: snapshot.topic)
            let started = stage.started.removeValue(forKey: snapshot.topic)
            guard
                let room = context.rooms.adopt(
                    snapshot, presence: presence, members: members, waiters: waiters, started: started)
            else { throw HandoffStateError(reason: "cannot start room \(snapshot.topic)") }
            rooms.append(room)
        }
        for topic in stage.started.keys {  // stopped since staging: its members (if any) point at no room
            context.rooms.withdraw(topic)
            stage.members.point(topic, at: nil)
        }
        stage.laps.lap(.rooms)
        context.continueConnectionIDs(after: header.nextConnectionID)
        try install(stage.listeners, perLoop: perLoop)
        stage.laps.lap(.listeners)
        return (header, rooms, (stage.byKey.count, snapshots.count))
    }

    /// Applies one record of a catch-up round or of the final stream: a connection that changed since staging
    /// (replacing the staged copy, or new with its socket), or the keys of staged connections closed since.
    func apply(_ state: [UInt8], fd: Int32?, to stage: inout StagedConnections, perLoop: [LoopConnections]) throws {
        switch state.first {
        case HandoffFormat.finalConnectionRecord:
            let (key, snapshot) = try KeyedConnectionRecord.decode(state)
            if let staged = stage.byKey[key] {
                if let fd { Socket.close(fd) }  // a staged connection has its socket already
                let before = stage.snapshots.removeValue(forKey: key)
                stage.snapshots[key] = snapshot.keptForUpdates
                if let before, staged.takeOutput(of: snapshot, stagedAs: before) { return }
                let replacement = try adoptConnection(
                    fd: staged.fd, snapshot: snapshot, perLoop: perLoop, register: false)
                stage.removeMembers(of: staged)
                staged.retireStagedCopy()
                staged.loop.replaceHandler(fd: staged.fd, with: replacement)
                context.countOpen(-1, tls: staged.isTLS)
                stage.byKey[key] = replacement
                stage.addMembers(of: replacement)
            } else {
                guard let fd else { throw HandoffStateError(reason: "connection \(key) was neither staged nor sent") }
                do {
                    let connection = try adoptConnection(fd: fd, snapshot: snapshot, perLoop: perLoop, register: true)
                    (stage.byKey[key], stage.snapshots[key]) = (connection, snapshot.keptForUpdates)
                    stage.addMembers(of: connection)
                } catch {
                    Socket.close(fd)
                    throw error
                }
            }
        case HandoffFormat.connectionOutputRecord:
            let output = try ConnectionOutput(decoding: state)
            guard fd == nil, let staged = stage.byKey[output.key], stage.snapshots[output.key] != nil else {
                if let fd { Socket.close(fd) }
                throw HandoffStateError(reason: "output for connection \(output.key), which has no staged copy to take it")
            }
            try staged.take(output)
        case HandoffFormat.connectionProgressRecord:
            let progress = try ConnectionProgress(decoding: state)
            guard fd == nil, let staged = stage.byKey[progress.key], let before = stage.snapshots[progress.key] else {
                if let fd { Socket.close(fd) }
                throw HandoffStateError(reason: "progress of connection \(progress.key), which has no staged copy")
            }
            stage.snapshots[progress.key] = try staged.take(progress, stagedAs: before)
        case HandoffFormat.closedKeysRecord:
            // Staged connections the old process closed meanwhile: its copy is gone, so closing ours ends them.
            for key in try ClosedKeysRecord.decode(state) {
                guard let connection = stage.byKey.removeValue(forKey: key) else { continue }
                stage.snapshots.removeValue(forKey: key)
                stage.removeMembers(of: connection)
                connection.loop.deregister(fd: connection.fd)
                Socket.close(connection.fd)
                connection.retireStagedCopy()
                context.countOpen(-1, tls: connection.isTLS)
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
        let (connection, _) = try Connection.adopt(
            fd: fd, snapshot: snapshot, loop: loop, context: context, owner: perLoop[index])
        if register { try loop.register(fd: fd, interest: .readable, handler: connection) }
        perLoop[index].add(connection)
        context.countOpen(1, tls: connection.isTLS)
        return connection
    }

    /// Continues the previous process's handler: the same plugins when they load here (migrating the state if
    /// this process's code differs), else this binary's own plugin with the state migrated to it.
    private func adoptHandlers(_ header: HandoffHeader) throws {
        do {
            try context.upgrades.registry.continueChain(
                header.handlerChain, state: header.handlerState, version: header.handlerVersion
            ) { path, error in
                context.logger.warning("handler plugin of the previous process does not load here",
                    metadata: ["path": "\(path)", "error": "\(error)"])
            }
        } catch {
            throw HandoffStateError(reason: "handler state: \(error.description)")
        }
    }
}
