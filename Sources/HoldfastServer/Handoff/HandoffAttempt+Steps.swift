import Glibc
import HoldfastActors
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastUpgrade
import Logging

/// The steps of a binary upgrade attempt that ``HandoverMachine`` names, each returning the event it completes
/// with or throwing its ``HandoffFailure``.
extension HandoffAttempt {
    // MARK: The new process

    /// Checks the binary and starts it with its end of a new channel as fd 3. argv[0] stays the name the service was
    /// started as (say, a release layout's `current` link), so the new process's own SIGUSR2 default follows it too.
    func spawnNewBinary() throws(HandoffFailure) -> HandoverMachine.Event {
        binary = try HandoverPeer.checkedBinary(path)
        let (mine, started) = try HandoverPeer.spawn(binary, argv0: context.handoff.startupExecutable)
        (channel, child) = (mine, started)
        logger.notice("binary upgrade: new process started", metadata: ["pid": "\(started.pid)", "binary": "\(binary)"])
        return .completed(.spawned)
    }

    /// Waits for the new process's answer to `step`, watching it: if it exits first, says how.
    func awaitReply(_ step: HandoffStep) -> HandoverMachine.Event {
        guard let channel, let child else { return .channelFailed("no new process") }
        let timeout =
            step == .ready
            ? configuration.upgrade.readyTimeoutMilliseconds : configuration.upgrade.doneTimeoutMilliseconds
        let event = HandoverPeer.awaitAnswer(on: channel, from: child, timeoutMilliseconds: timeout)
        if case .received(let message) = event { noteAnswer(message) }
        return event
    }

    /// Keeps what the record needs from READY and DONE.
    private func noteAnswer(_ message: HandoffControl) {
        switch message {
        case .ready(let pid, let version, let features):
            newProcess = (pid, version, features.intersection(HandoffFeatures.own(in: ProcessEnvironment.current())))
            mark("ready", since: started)
        case .done(_, _, let milliseconds):
            timings.append("rebuild", milliseconds: milliseconds)
        case .staged, .failed, .commit, .ack:
            break
        }
    }

    /// Tells the new process to take over, with the pause so far.
    func sendCommit() throws(HandoffFailure) -> HandoverMachine.Event {
        guard let channel else { throw .commitFailed(reason: "no handoff channel") }
        do {
            let pauseSoFar = Double(MonotonicClock.nowNanoseconds() - pauseStarted.wall) / 1e6
            try HandoffControl.commit(pauseMilliseconds: pauseSoFar).send(on: channel, timeoutMilliseconds: 1_000)
        } catch {
            throw .commitFailed(reason: "\(error)")
        }
        return .completed(.commitSent)
    }

    /// Committed: whether the new process confirms it serves.
    func awaitAck() -> HandoverMachine.Event {
        guard let channel else { return .channelFailed("no handoff channel") }
        return HandoverPeer.awaitAck(on: channel, timeoutMilliseconds: 5_000)
    }

    // MARK: The loops and rooms

    /// Stops accepting, then waits (bounded by `upgrade.handshake_grace_ms`) for handshakes and half-received
    /// requests to finish, and ends those that did not.
    func holdListeners() throws(HandoffFailure) -> HandoverMachine.Event {
        let runtime = self.runtime
        guard runtime.onEveryLoop({ index in runtime.listeners(of: index).forEach { $0.hold() } }) != nil else {
            throw .loopsUnresponsive(reason: "an event loop did not answer")
        }
        let requester = requesterFD
        let deadline = MonotonicClock.nowMilliseconds() + Int64(configuration.upgrade.handshakeGraceMilliseconds)
        let started = StepStart()
        while true {
            guard
                let counts = runtime.onEveryLoop({ index in
                    var blocked = 0
                    runtime.connections[index].forEach {
                        if $0.fd != requester && $0.handoffBlocker != nil { blocked += 1 }
                    }
                    return blocked
                })
            else { throw .loopsUnresponsive(reason: "an event loop did not answer") }
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
        return .completed(.listenersHeld)
    }

    /// Still serving: rooms stop handing messages to the history writer (they keep them pending; the new process
    /// commits them), the batches already handed over complete, their fan-outs are written and a last round sent.
    func holdCommits() throws(HandoffFailure) -> HandoverMachine.Event {
        let started = StepStart()
        context.rooms.holdCommits(true)
        guard MonotonicClock.poll(timeoutMilliseconds: 5_000, until: { context.rooms.historyWriterIsIdle }) else {
            throw .notQuiescent(reason: "the history writer did not finish its commits within 5 s; try again")
        }
        mark("commits", since: started)
        // The pause then waits for no fsync and writes no fan-out (the second pass writes what the rooms' turns in
        // the first handed to other loops).
        let flushing = StepStart()
        for _ in 0..<2 { _ = runtime.loops.waitUntilFlushed(timeoutMilliseconds: 1_000) }
        mark("flushed", since: flushing)
        // Last catch-up rounds, still serving: the connections those writes moved cross now, not in the pause
        // (with commits held, little changes after them; a second round when the first carried many, as the
        // connections that read while it went out then cross in the second).
        for _ in 1...2 {
            guard case .roundSent(let changed) = try restage() else { break }
            closeDeferredSockets()
            let answer = awaitReply(.staged)
            guard case .received(.staged) = answer else { throw .rebuildFailed(reason: "last round: \(answer)") }
            if changed <= HandoverMachine.catchUpThreshold { break }
        }
        return .completed(.commitsHeld)
    }

    /// The pause starts: no loop reads or writes a socket any more. Each loop pauses between two of its events, so
    /// a loop in the middle of a long turn keeps serving until it ends; the pause is counted from the first loop
    /// that stopped (`pausing` is how long the last one took).
    func pauseIO() throws(HandoffFailure) -> HandoverMachine.Event {
        let requested = StepStart()
        pauseStarted = requested
        guard let stopped = runtime.onEveryLoop({ [runtime] index in
            runtime.loops[index].pauseIO()
            return StepStart()
        }) else {
            throw .loopsUnresponsive(reason: "an event loop did not answer")
        }
        pauseStarted = stopped.min { $0.wall < $1.wall } ?? requested
        mark("pausing", since: requested)
        return .completed(.ioPaused)
    }

    /// Waits until the process is quiescent, has every room export its state, and waits again.
    func exportRooms() throws(HandoffFailure) -> HandoverMachine.Event {
        try waitUntilQuiescent(step: "drain")
        let started = StepStart()
        let sink = RoomExportSink()
        var asked = 0
        for room in context.rooms.allRooms {
            let (presence, seats) = (staged.rooms[room.id], staged.seats[room.id])
            if room.send(.exportForHandoff(sink, stagedPresence: presence, stagedSeats: seats)) { asked += 1 }
        }
        guard let collected = sink.wait(for: asked, timeoutMilliseconds: 5_000) else {
            throw .roomsUnresponsive(reason: "not every room exported its state within 5 s")
        }
        guard collected.busy.isEmpty else { throw .roomsBusy(topics: collected.busy) }
        mark("rooms", since: started)
        rooms = collected.snapshots
        try waitUntilQuiescent(step: "settle")
        return .completed(.roomsExported)
    }

    /// Waits until nothing is left to do inside the process: the history writer idle (so every accepted chat
    /// message is acknowledged and broadcast), every room mailbox empty, and no task or timer run on any loop
    /// between two consecutive barriers. With socket I/O paused, nothing can start new work after that.
    private func waitUntilQuiescent(step: String) throws(HandoffFailure) {
        let (started, rooms) = (StepStart(), context.rooms)
        if let failure = runtime.loops.waitUntilQuiescent(
            before: { rooms.historyWriterIsIdle }, after: { rooms.allRooms.allSatisfy { $0.mailboxDepth == 0 } }
        ).handoffFailure { throw failure }
        mark(step, since: started)
    }

    /// Every loop exports what changed since staging and then blocks until the verdict.
    func exportConnections() throws(HandoffFailure) -> HandoverMachine.Event {
        let started = StepStart()
        final = try freezeAndExportConnections(staged: staged.loops)
        mark("export \(final.changed.count)", since: started)
        return .completed(.connectionsExported)
    }

    /// Ends the deferral of socket closes that a staging round started (once its stream is out, or on
    /// rollback).
    func closeDeferredSockets() {
        _ = runtime.onEveryLoop { [runtime] index in runtime.connections[index].closeDeferredSockets() }
    }
}
