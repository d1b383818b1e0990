import HoldfastWebhooks
import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastJSON
import HoldfastRooms
import HoldfastWeb
import Logging
import HoldfastUpgrade

/// One binary upgrade attempt, start to commit or rollback: it feeds a ``HandoverMachine`` what happened and
/// performs what the machine asks. The steps are in `HandoffAttempt+Steps.swift`, the staging rounds in
/// `BinaryUpgrade+Staging.swift`.
///
/// One thread at a time uses it: the upgrade's thread, or, once a step stalled past `upgrade.step_timeout_ms`,
/// the ``StepWatchdog``'s, which finishes the attempt while the stalled step is abandoned (and stops, should it
/// ever return).
final class HandoffAttempt: @unchecked Sendable {
    let runtime: HandoffRuntime
    let path: String
    let requesterFD: Int32?
    var machine = HandoverMachine()
    var binary = ""
    var child: ChildProcess?
    var channel: HandoffChannel?
    /// Signalled once per loop to unfreeze it on rollback.
    var frozen: ThreadSemaphore?
    var timings = StepTimings()
    // What the steps found out, for the next steps and the record.
    var newProcess: (pid: Int32, version: String, features: HandoffFeatures) = (0, "", [])
    var staged = StagedHandoff(loops: [], rooms: [:])
    var rooms: [RoomSnapshot] = []
    var final = FinalConnections()
    var sent: (changed: Int, outputs: Int, progress: Int, bytes: Int) = (0, 0, 0, 0)
    var started = StepStart()
    var pauseStarted = StepStart()
    /// The process's CPU milliseconds in the pause (every thread), set with the record.
    var pauseCPU = 0.0
    /// How many times each test-fault step was reached (for `step@n` faults).
    private var reached: [String: Int] = [:]

    var context: ServerContext { runtime.context }
    var configuration: Configuration { runtime.context.configuration }
    var logger: Logger { runtime.context.logger }

    init(runtime: HandoffRuntime, path: String, requesterFD: Int32?) {
        self.runtime = runtime
        self.path = path
        self.requesterFD = requesterFD
    }

    /// Runs the attempt to its end: on success the process exits inside (after `completion`); on failure it
    /// returns after rolling back and calling `completion`. A step that stalls is abandoned: the watchdog rolls
    /// back (or, after COMMIT, finishes) on its own thread, and this returns if the step ever does.
    func run(completion: @escaping @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void) {
        started = StepStart()
        let watchdog = StepWatchdog(limitMilliseconds: configuration.upgrade.stepTimeoutMilliseconds) {
            [self] step, elapsed in
            abandon(stalled: step, afterMilliseconds: elapsed, completion: completion)
        }
        defer { watchdog.stop() }
        var pending = machine.handle(.start)
        while !pending.isEmpty {
            let action = pending.removeFirst()
            guard watchdog.begin("\(action)") else { return }
            let event = perform(action, completion: completion)
            guard watchdog.end() else { return }
            if let event { pending += machine.handle(event) }
        }
    }

    /// On the watchdog's thread: the step `step` stalled. Before COMMIT the machine rolls back (the new process
    /// is killed first, so nothing it holds can act); after it the machine finishes and this process exits.
    private func abandon(
        stalled step: String, afterMilliseconds elapsed: Int,
        completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        logger.error("binary upgrade: a step stalled; abandoning it",
            metadata: ["step": "\(step)", "elapsed-ms": "\(elapsed)", "state": "\(machine.state)"])
        var pending = machine.handle(.failed(.stalled(step: step, afterMilliseconds: elapsed)))
        if pending.isEmpty, case .rolledBack = machine.state {
            logger.critical("binary upgrade: a rollback step stalled; the process may not serve until it returns")
        }
        while !pending.isEmpty {
            let action = pending.removeFirst()
            if let event = perform(action, completion: completion) { pending += machine.handle(event) }
        }
        // Committed (a stalled wait for ACK, or the finish itself): the new process owns every socket.
        if case .finished = machine.state { exitHandedOver() }
    }

    /// Performs one action; returns its outcome when it has one.
    private func perform(
        _ action: HandoverMachine.Action, completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) -> HandoverMachine.Event? {
        if let step = action.faultStep { reach(step) }
        switch action {
        case .spawn:
            return outcome { () throws(HandoffFailure) in try spawnNewBinary() }
        case .awaitReply(let step):
            return awaitReply(step)
        case .holdListeners:
            return outcome { () throws(HandoffFailure) in try holdListeners() }
        case .stage:
            return outcome { () throws(HandoffFailure) in try stage() }
        case .restage:
            return outcome { () throws(HandoffFailure) in try restage() }
        case .closeDeferredSockets:
            closeDeferredSockets()
        case .holdCommits:
            return outcome { () throws(HandoffFailure) in try holdCommits() }
        case .pauseIO:
            return outcome { () throws(HandoffFailure) in try pauseIO() }
        case .exportRooms:
            return outcome { () throws(HandoffFailure) in try exportRooms() }
        case .exportConnections:
            return outcome { () throws(HandoffFailure) in try exportConnections() }
        case .sendFinal:
            return outcome { () throws(HandoffFailure) in try sendFinal() }
        case .sendCommit:
            return outcome { () throws(HandoffFailure) in try sendCommit() }
        case .awaitAck:
            return awaitAck()
        case .finish(let acknowledged):
            finish(acknowledged: acknowledged, completion: completion)
        case .killChild:
            child?.killAndReap()
        case .closeChannel:
            channel?.close()
        case .unfreezeLoops:
            if let frozen { for _ in runtime.loops { frozen.signal() } }
        case .resumeIO:
            _ = runtime.onEveryLoop { [runtime] index in runtime.loops[index].resumeIO() }
        case .releaseListeners:
            _ = runtime.onEveryLoop { [runtime] index in
                runtime.listeners(of: index).forEach { $0.release() }
                runtime.connections[index].changed.stop()  // rolled back: a next attempt stages every connection anew
            }
        case .releaseCommits:
            // Rooms commit what they kept pending.
            context.rooms.holdCommits(false)
        case .reportFailure(let failure):
            report(failure, completion: completion)
        }
        return nil
    }

    /// Tests only: `step` is reached once more; fires the test fault armed for this time, if any.
    func reach(_ step: String) {
        let occurrence = (reached[step] ?? 0) + 1
        reached[step] = occurrence
        HandoffFault.fire(context.handoffFault, side: .old, step: step, occurrence: occurrence, channel: channel) {
            fault in
            logger.warning("test fault fires", metadata: ["fault": "\(fault)"])
        }
    }

    /// A step's outcome: the event it completes with, or its failure.
    private func outcome(
        _ step: () throws(HandoffFailure) -> HandoverMachine.Event
    ) -> HandoverMachine.Event {
        do {
            return try step()
        } catch {
            return .failed(error)
        }
    }

    /// Committed and (maybe) acknowledged: record, answer the caller, exit.
    private func finish(
        acknowledged: Bool, completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) -> Never {
        if !acknowledged {
            logger.error("the new process did not confirm it serves; it owns every connection now regardless")
        }
        let (record, summary) = upgradeRecord(acknowledged: acknowledged)
        context.upgrades.record(record)
        var fields: Logger.Metadata = ["to": "\(record.to)", "pause-ms": "\(record.pauseMilliseconds)"]
        for (key, value) in summary.logFields { fields[key] = "\(value)" }
        logger.notice("binary upgrade done: the new process serves, this one exits", metadata: fields)
        completion(.success(record))
        // Leave without running anything that could touch a socket: the kernel closes our copies of the fds,
        // which the new process keeps open.
        exitHandedOver()
    }

    private func upgradeRecord(acknowledged: Bool) -> (UpgradeRecord, HandoverSummary) {
        let finished = StepStart()
        pauseCPU = Double(finished.cpu - pauseStarted.cpu) / 1e6
        var record = UpgradeRecord(
            kind: "binary", outcome: "ok", from: "\(context.admin.binaryVersion) (pid \(getpid()))",
            to: "\(newProcess.version) (pid \(newProcess.pid))",
            pauseMilliseconds: Double(finished.wall - pauseStarted.wall) / 1e6, suspendMilliseconds: 0,
            migrateMilliseconds: 0, rooms: rooms.count, error: nil)
        let summary = HandoverSummary(
            pids: (getpid(), newProcess.pid), newVersion: newProcess.version, binary: binary, final: final, sent: sent,
            listeners: runtime.listeners.count, roomsAsChanges: staged.values != nil, acknowledged: acknowledged,
            totalMilliseconds: Double(finished.wall - started.wall) / 1e6, pauseCPUMilliseconds: pauseCPU,
            timings: timings)
        record.extra = summary.members
        return (record, summary)
    }

    /// Rolled back: record and answer the failure, still serving.
    private func report(
        _ failure: HandoffFailure, completion: @Sendable (Result<UpgradeRecord, UpgradeFailure>) -> Void
    ) {
        logger.warning(
            "binary upgrade rolled back, still serving",
            metadata: [
                "check": "\(failure.code)", "reason": "\(failure.reason)",
            ])
        context.upgrades.record(
            UpgradeRecord(
                kind: "binary", outcome: "refused", from: context.admin.binaryVersion, to: "", pauseMilliseconds: 0,
                suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: 0, error: failure.description))
        context.upgrades.release()
        completion(.failure(UpgradeFailure(failure)))
    }

    func mark(_ step: String, since start: StepStart) { timings.mark(step, since: start) }
}

extension HandoffAttempt {
    /// Exits once the new process owns everything: the last webhook batch goes to the on-disk queue first (the
    /// new process opens it when this one is gone).
    func exitHandedOver() -> Never {
        context.rooms.webhooks?.flushForExit()
        _exit(0)
    }
}
