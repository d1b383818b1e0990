import Glibc
import HoldfastActors
import HoldfastChannels
import HoldfastCore
import HoldfastHandlerAPI
import HoldfastJSON
import HoldfastUpgrade
import Logging
import Synchronization

/// Whole-binary upgrade, the old process's side: start the new binary, hand it every listening socket, every
/// connection and all state, and exit once it serves; or, on any failure before the commit, kill it and carry
/// on as if nothing happened.
///
/// The steps, on a thread of their own (the loops keep serving until the pause):
/// 1. spawn the new binary with one end of a handoff channel as fd 3, wait for READY;
/// 2. stop accepting (the listening sockets stay open: arriving connections wait in the backlog) and give
///    connections that cannot move yet (TLS handshakes, half-received requests) a grace period;
/// 3. **staging**, still serving: every loop copies its connections, the copies go to the new process with
///    their fds, and it builds and registers them (STAGED);
/// 4. **pause**: the loops stop reading and writing sockets, then run until the process is quiescent (room
///    mailboxes empty, the history writer idle, no task or timer ran on any loop between two barriers); the
///    rooms export their state, each loop exports the connections that changed since staging and then blocks
///    (frozen);
/// 5. send that, wait for DONE, send COMMIT: from here on this process never touches a handed-over socket
///    again (the TLS sequence numbers, among others, now belong to the new process); wait for ACK, answer the
///    caller, exit.
///
/// Any failure before COMMIT (missing binary, no READY or DONE in time, the new process reporting an error)
/// kills the new process, waits until it is gone, and resumes the loops: clients notice nothing but the pause.
final class BinaryUpgrade: Sendable {
    /// The path this process was started as (SIGUSR2's default target).
    let startupExecutable: String
    private let runtime = Mutex<HandoffRuntime?>(nil)

    init() {
        startupExecutable = ProcessEnvironment.startupExecutable()
    }

    /// Called by the server once its loops, listeners and connection lists exist.
    func attach(_ runtime: HandoffRuntime) {
        self.runtime.withLock { $0 = runtime }
    }

    /// Starts an upgrade to the binary at `path`. `completion` runs once on the upgrade's thread: on success
    /// with every loop frozen and just before this process exits (so it must answer `requesterFD` by writing
    /// to it directly), on failure after the loops resumed. `requesterFD` (the admin request's connection) is
    /// not handed over.
    func upgrade(
        to path: String, requesterFD: Int32?,
        completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        guard let runtime = runtime.withLock({ $0 }) else {
            completion(.failure(UpgradeFailure(status: 503, check: "not_started", reason: "the server is not serving yet")))
            return
        }
        guard runtime.context.upgrades.claim() else {
            completion(.failure(UpgradeFailure(status: 409, check: "upgrade_in_progress",
                reason: "another upgrade or rollback is running: retry when it has finished")))
            return
        }
        startThread {
            let attempt = HandoffAttempt(runtime: runtime, path: path, requesterFD: requesterFD)
            attempt.run(completion: completion)
        }
    }
}

/// Why a handoff attempt stopped; every case rolls back.
struct HandoffFailure: Error {
    let status: Int
    let check: String
    let reason: String
}

/// One binary upgrade attempt, start to commit or rollback. Its staging rounds are in
/// `BinaryUpgrade+Staging.swift`.
final class HandoffAttempt {
    let runtime: HandoffRuntime
    let path: String
    let requesterFD: Int32?
    var child: ChildProcess?
    var channel: HandoffChannel?
    var listenersHeld = false
    var commitsHeld = false
    var stagingStarted = false
    var ioPaused = false
    /// Signalled once per loop to unfreeze it on rollback.
    var frozen: ThreadSemaphore?
    var timings: [(String, Double)] = []

    var context: ServerContext { runtime.context }
    var configuration: Configuration { runtime.context.configuration }
    var logger: Logger { runtime.context.logger }

    init(runtime: HandoffRuntime, path: String, requesterFD: Int32?) {
        self.runtime = runtime
        self.path = path
        self.requesterFD = requesterFD
    }

    func run(completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void) {
        let started = MonotonicClock.nowNanoseconds()
        do throws(HandoffFailure) {
            let record = try handOver(started: started)
            context.upgrades.record(record)
            logger.notice("binary upgrade done: the new process serves, this one exits", metadata: [
                "to": "\(record.to)", "pause-ms": "\(record.pauseMilliseconds)",
                "steps-ms": "\(timings.map { "\($0.0)=\((($0.1 * 100).rounded() / 100))" }.joined(separator: ","))",
            ])
            completion(.success(record))
            // Leave without running anything that could touch a socket: the kernel closes our copies of the
            // fds, which the new process keeps open.
            _exit(0)
        } catch {
            rollBack()
            let failure = UpgradeFailure(status: error.status, check: error.check, reason: error.reason)
            logger.warning("binary upgrade rolled back, still serving", metadata: ["check": "\(error.check)", "reason": "\(error.reason)"])
            context.upgrades.record(UpgradeRecord(
                kind: "binary", outcome: "refused", from: context.admin.binaryVersion, to: "", pauseMilliseconds: 0,
                suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: 0, error: "\(error.check): \(error.reason)"))
            context.upgrades.release()
            completion(.failure(failure))
        }
    }

    // MARK: The steps

    private func handOver(started: UInt64) throws(HandoffFailure) -> UpgradeRecord {
        let binary = try checkedBinary()
        let (mine, theirs) = try makeChannel()
        channel = mine
        child = try spawn(binary, inheriting: theirs)
        theirs.close()
        let ready = try awaitControl(timeoutMilliseconds: configuration.upgrade.readyTimeoutMilliseconds, step: "ready")
        guard case .ready(let newPID, let newVersion) = ready else {
            throw failure(502, "ready_failed", "the new binary answered \(ready) instead of READY")
        }
        mark("ready", since: started)

        try holdListeners()
        try graceForUnmovableConnections()
        var staged = try stage(on: mine)
        // Catch-up rounds while still serving: a second one only if many connections changed during the first.
        if try restage(&staged, on: mine) > 64 { _ = try restage(&staged, on: mine) }
        try holdCommits()

        let pauseStarted = MonotonicClock.nowNanoseconds()
        try pauseIO()
        try waitUntilQuiescent(step: "drain")
        let rooms = try exportRooms(staged: staged.rooms)
        try waitUntilQuiescent(step: "settle")
        let exportStarted = MonotonicClock.nowNanoseconds()
        let final = try freezeAndExportConnections(staged: staged.loops)
        mark("export \(final.changed.count)", since: exportStarted)

        let sendStarted = MonotonicClock.nowNanoseconds()
        let sent = try send(rooms: rooms, final: final, channel: mine)
        mark("send", since: sendStarted)
        let answer = try awaitControl(timeoutMilliseconds: configuration.upgrade.doneTimeoutMilliseconds, step: "done")
        let rebuild: Double
        switch answer {
        case .done(_, _, let milliseconds): rebuild = milliseconds
        case .failed(let reason): throw failure(502, "rebuild_failed", "the new binary could not take over: \(reason)")
        default: throw failure(502, "done_failed", "the new binary answered \(answer) instead of DONE")
        }
        timings.append(("rebuild", rebuild))
        do {
            let pauseSoFar = Double(MonotonicClock.nowNanoseconds() - pauseStarted) / 1e6
            try HandoffControl.commit(pauseMilliseconds: pauseSoFar).send(on: mine, timeoutMilliseconds: 1_000)
        } catch {
            throw failure(502, "commit_failed", "could not tell the new binary to take over: \(error)")
        }
        // Committed: no way back from here.
        let acknowledged: Bool
        if case .ack = try? HandoffControl.receive(on: mine, timeoutMilliseconds: 5_000) {
            acknowledged = true
        } else {
            acknowledged = false
            logger.error("the new process did not confirm it serves; it owns every connection now regardless")
        }
        let finished = MonotonicClock.nowNanoseconds()
        let pause = Double(finished - pauseStarted) / 1e6
        var record = UpgradeRecord(
            kind: "binary", outcome: "ok", from: "\(context.admin.binaryVersion) (pid \(getpid()))",
            to: "\(newVersion) (pid \(newPID))", pauseMilliseconds: pause,
            suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: rooms.count, error: nil)
        record.extra = [
            JSONMember("old_pid", .integer(Int64(getpid()))),
            JSONMember("new_pid", .integer(Int64(newPID))),
            JSONMember("new_version", .string(newVersion)),
            JSONMember("binary", .string(binary)),
            JSONMember("connections", .integer(Int64(final.open))),
            JSONMember("changed_in_pause", .integer(Int64(sent.changed))),
            JSONMember("left_behind", .integer(Int64(final.leftBehind))),
            JSONMember("listeners", .integer(Int64(runtime.listeners.count))),
            JSONMember("state_bytes_in_pause", .integer(Int64(sent.bytes))),
            JSONMember("acknowledged", .bool(acknowledged)),
            JSONMember("total_ms", .double(Double(finished - started) / 1e6)),
            JSONMember("steps_ms", .object(timings.map { JSONMember($0.0, .double($0.1)) })),
        ]
        return record
    }

    private func checkedBinary() throws(HandoffFailure) -> String {
        guard !path.isEmpty else { throw failure(400, "bad_request", "no binary path given") }
        guard let resolved = realpath(path, nil) else {
            throw failure(422, "binary_missing", "cannot use \(path): \(SystemError("realpath").reason); give the absolute path of a holdfast binary")
        }
        defer { free(resolved) }
        let binary = String(cString: resolved)
        guard access(binary, X_OK) == 0 else {
            throw failure(422, "binary_not_executable", "\(binary) is not executable: \(SystemError("access").reason)")
        }
        return binary
    }

    private func makeChannel() throws(HandoffFailure) -> (HandoffChannel, HandoffChannel) {
        do {
            return try HandoffChannel.makePair()
        } catch {
            throw failure(500, "channel_failed", "cannot create the handoff channel: \(error)")
        }
    }

    private func spawn(_ binary: String, inheriting end: HandoffChannel) throws(HandoffFailure) -> ChildProcess {
        // The same command line and environment, so the new process reads the same configuration.
        let arguments = Array(CommandLine.arguments.dropFirst())
        var environment = ProcessEnvironment.entries().filter { !$0.hasPrefix(Takeover.environmentVariable + "=") }
        environment.append("\(Takeover.environmentVariable)=3")
        do {
            // argv[0] stays the name the service was started as (say, a release layout's `current` link), so the
            // new process's own SIGUSR2 default follows that link too.
            let child = try ChildProcess.spawn(
                path: binary, argv0: context.handoff.startupExecutable, arguments: arguments, environment: environment,
                inherit: end.fd)
            logger.notice("binary upgrade: new process started", metadata: ["pid": "\(child.pid)", "binary": "\(binary)"])
            return child
        } catch {
            throw failure(422, "spawn_failed", "cannot start \(binary): \(error)")
        }
    }

    /// Waits for the next control message, watching the child: if it exits first, says how.
    func awaitControl(timeoutMilliseconds: Int, step: String) throws(HandoffFailure) -> HandoffControl {
        guard let channel, let child else { throw failure(500, "\(step)_failed", "no new process") }
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        while true {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0 else {
                throw failure(504, "\(step)_timeout", "the new binary did not answer \(step.uppercased()) within \(timeoutMilliseconds) ms")
            }
            do {
                return try HandoffControl.receive(on: channel, timeoutMilliseconds: min(left, 50))
            } catch .timeout {
                if let status = child.exitStatus() {
                    throw failure(502, "\(step)_failed", "the new binary \(status) before answering \(step.uppercased()); see its log lines above")
                }
            } catch {
                let status = child.exitStatus().map { " (it \($0))" } ?? ""
                throw failure(502, "\(step)_failed", "handoff channel failed while waiting for \(step.uppercased()): \(error)\(status)")
            }
        }
    }

    private func holdListeners() throws(HandoffFailure) {
        let runtime = self.runtime
        guard runtime.onEveryLoop({ index in runtime.listeners(of: index).forEach { $0.hold() } }) != nil else {
            throw failure(500, "loops_unresponsive", "an event loop did not answer")
        }
        listenersHeld = true
    }

    /// Waits (bounded by `upgrade.handshake_grace_ms`) for handshakes and half-received requests to finish,
    /// then ends those that did not.
    private func graceForUnmovableConnections() throws(HandoffFailure) {
        let runtime = self.runtime
        let requester = requesterFD
        let deadline = MonotonicClock.nowMilliseconds() + Int64(configuration.upgrade.handshakeGraceMilliseconds)
        let started = MonotonicClock.nowNanoseconds()
        while true {
            guard let counts = runtime.onEveryLoop({ index in
                var blocked = 0
                runtime.connections[index].forEach { if $0.fd != requester && $0.handoffBlocker != nil { blocked += 1 } }
                return blocked
            }) else { throw failure(500, "loops_unresponsive", "an event loop did not answer") }
            if counts.reduce(0, +) == 0 { break }
            if MonotonicClock.nowMilliseconds() >= deadline {
                _ = runtime.onEveryLoop { index in
                    runtime.connections[index].forEach { if $0.fd != requester { $0.endForHandoff() } }
                }
                break
            }
            usleep(2_000)
        }
        mark("grace", since: started)
    }

    /// Still serving: rooms stop handing messages to the history writer (they keep them pending; the new
    /// process commits them), and the batches already handed over complete. The pause then waits for no fsync.
    private func holdCommits() throws(HandoffFailure) {
        let started = MonotonicClock.nowNanoseconds()
        context.rooms.holdCommits(true)
        commitsHeld = true
        let deadline = MonotonicClock.nowMilliseconds() + 5_000
        while !context.rooms.historyWriterIsIdle {
            guard MonotonicClock.nowMilliseconds() < deadline else {
                throw failure(503, "not_quiescent", "the history writer did not finish its commits within 5 s; try again")
            }
            usleep(100)
        }
        mark("commits", since: started)
    }

    private func pauseIO() throws(HandoffFailure) {
        let runtime = self.runtime
        guard runtime.onEveryLoop({ index in runtime.loops[index].pauseIO() }) != nil else {
            throw failure(500, "loops_unresponsive", "an event loop did not answer")
        }
        ioPaused = true
    }

    /// Waits until nothing is left to do inside the process: the history writer idle (so every accepted chat
    /// message is acknowledged and broadcast), every room mailbox empty, and no task or timer run on any loop
    /// between two consecutive barriers. With socket I/O paused, nothing can start new work after that.
    private func waitUntilQuiescent(step: String) throws(HandoffFailure) {
        let started = MonotonicClock.nowNanoseconds()
        let deadline = MonotonicClock.nowMilliseconds() + 5_000
        let runtime = self.runtime
        var previous: [UInt64]?
        while true {
            let writerIdle = context.rooms.historyWriterIsIdle
            guard let counts = runtime.onEveryLoop({ index in runtime.loops[index].workCount }) else {
                throw failure(500, "loops_unresponsive", "an event loop did not answer")
            }
            let mailboxesEmpty = context.rooms.allRooms.allSatisfy { $0.mailboxDepth == 0 }
            if writerIdle, mailboxesEmpty, let previous, zip(counts, previous).allSatisfy({ $0 == $1 + 1 }) { break }
            previous = counts
            guard MonotonicClock.nowMilliseconds() < deadline else {
                throw failure(503, "not_quiescent", "the server did not settle within 5 s (history writes or room work kept going); try again")
            }
            if !writerIdle { usleep(100) }
        }
        mark(step, since: started)
    }

    private func exportRooms(staged: [String: UInt64]) throws(HandoffFailure) -> [RoomSnapshot] {
        let started = MonotonicClock.nowNanoseconds()
        let sink = RoomExportSink()
        var asked = 0
        for room in context.rooms.allRooms where room.send(.exportForHandoff(sink, stagedPresence: staged[room.id])) {
            asked += 1
        }
        guard let collected = sink.wait(for: asked, timeoutMilliseconds: 5_000) else {
            throw failure(503, "rooms_unresponsive", "not every room exported its state within 5 s")
        }
        guard collected.busy.isEmpty else {
            throw failure(503, "rooms_busy", "rooms still had messages in flight: \(collected.busy.prefix(5).joined(separator: ", "))")
        }
        mark("rooms", since: started)
        return collected.snapshots
    }

    private func send(
        rooms: [RoomSnapshot], final: FinalConnections, channel: HandoffChannel
    ) throws(HandoffFailure) -> (changed: Int, bytes: Int) {
        let registry = context.upgrades.registry
        let header = HandoffHeader(
            pid: getpid(), binaryVersion: context.admin.binaryVersion, nextConnectionID: context.peekNextConnectionID(),
            handlerChain: registry.chain.map(\.path), handlerVersion: registry.handler?.version ?? "",
            handlerState: registry.handler?.exportState() ?? [])
        let writer = HandoffWriter(channel: channel, timeoutMilliseconds: 5_000)
        var bytes = 0
        do {
            let head = header.encode()
            bytes += head.count
            try writer.add(state: head, fd: nil)
            bytes += final.changed.reduce(0) { $0 + $1.snapshot.count }
            try Self.write(final, to: writer)
            for room in rooms {
                let encoded = room.encode()
                bytes += encoded.count
                try writer.add(state: encoded, fd: nil)
            }
            try writer.finish()
        } catch {
            throw failure(502, "send_failed", "handing the state to the new binary failed: \(error)")
        }
        return (final.changed.count, bytes)
    }

    /// Ends the deferral of socket closes that staging started (once its stream is out, or on rollback).
    func closeDeferredSockets() {
        guard stagingStarted else { return }
        stagingStarted = false
        let runtime = self.runtime
        _ = runtime.onEveryLoop { index in runtime.connections[index].closeDeferredSockets() }
    }

    // MARK: Rollback

    /// Kills the new process first (so it can never touch a socket), then lets the loops continue.
    private func rollBack() {
        child?.killAndReap()
        channel?.close()
        let runtime = self.runtime
        if let frozen {
            for _ in runtime.loops { frozen.signal() }
        }
        closeDeferredSockets()
        if ioPaused || listenersHeld {
            let resume = ioPaused
            _ = runtime.onEveryLoop { index in
                if resume { runtime.loops[index].resumeIO() }
                runtime.listeners(of: index).forEach { $0.release() }
            }
        }
        // Rooms commit what they kept pending.
        if commitsHeld { context.rooms.holdCommits(false) }
    }

    // MARK: Helpers

    func mark(_ step: String, since start: UInt64) {
        timings.append((step, Double(MonotonicClock.nowNanoseconds() - start) / 1e6))
    }

    func failure(_ status: Int, _ check: String, _ reason: String) -> HandoffFailure {
        HandoffFailure(status: status, check: check, reason: reason)
    }
}
