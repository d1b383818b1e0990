import Glibc
import HoldfastActors
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastJSON
import HoldfastPresence
import HoldfastRooms
import HoldfastUpgrade
import HoldfastWeb
import Logging

// Binary upgrade, the new process's side: started by the old process with one end of the handoff channel as
// fd 3 (named by `HandoffChannel.inheritedFDVariable`), the server rebuilds every listener, connection and room
// from the stream and serves once the old process has committed. `TakeoverMachine` decides the order,
// `TakeoverRun` performs it, and `Server+TakeoverRebuild.swift` rebuilds.

/// Why this process could not take over; the old process has rolled back (or will) and keeps serving.
public struct TakeoverError: Error, CustomStringConvertible {
    let reason: String
    /// The reason, as the log shows it.
    public var description: String { "binary upgrade takeover failed: \(reason)" }
}

extension Server {
    /// The handoff fd this process inherited, if it was started by a binary upgrade.
    public static func inheritedHandoffFD(environment: [String: String]) -> Int32? {
        environment[HandoffChannel.inheritedFDVariable].flatMap { Int32($0) }
    }

    /// Takes over from the process that started this one: READY, receive and rebuild everything, DONE, wait for
    /// COMMIT, then start the loops and serve. Throws (after telling the old process, which rolls back) when
    /// anything cannot be rebuilt; the caller must then exit without touching any socket.
    public func takeOver(handoffFD: Int32) throws {
        let channel = HandoffChannel(adopting: handoffFD)
        ProcessLimits.raiseFileLimit()
        try TakeoverRun(server: self, channel: channel).run()
    }
}

/// One takeover, READY to serving or giving up: feeds a ``TakeoverMachine`` what happened and performs what it
/// asks.
final class TakeoverRun {
    let server: Server
    let channel: HandoffChannel
    private var machine = TakeoverMachine()
    private var perLoop: [LoopConnections] = []
    private var stage = Server.StagedConnections()
    private var header: HandoffHeader?
    private var rooms: [ActorRef<RoomMessage>] = []
    private var counts = (connections: 0, rooms: 0)
    private var stagingStarted: UInt64 = 0
    private var stagingMilliseconds = 0.0
    private var roundsStarted: UInt64?
    private var rebuildMilliseconds = 0.0
    private var commitReceived: UInt64 = 0
    private var servingAfterCommitMilliseconds = 0.0
    private var pause: Double?
    private var abandoned: String?

    private var context: ServerContext { server.context }

    init(server: Server, channel: HandoffChannel) {
        self.server = server
        self.channel = channel
    }

    /// Runs the takeover to its end: serving, or throwing why not (the process must then exit without touching
    /// a socket).
    func run() throws(TakeoverError) {
        var pending = machine.handle(.start)
        while !pending.isEmpty {
            let action = pending.removeFirst()
            if let event = perform(action) { pending += machine.handle(event) }
        }
        if let abandoned { throw TakeoverError(reason: abandoned) }
        recordServing()
    }

    /// Performs one action; returns its outcome when it has one.
    private func perform(_ action: TakeoverMachine.Action) -> TakeoverMachine.Event? {
        if let step = action.faultStep {
            HandoffFault.fire(context.handoffFault, side: .new, step: step, channel: channel) { fault in
                context.logger.warning("test fault fires", metadata: ["fault": "\(fault)"])
            }
        }
        switch action {
        case .sendReady:
            return outcome {
                let features = HandoffFeatures.offered(in: ProcessEnvironment.current(), parent: getppid())
                try HandoffControl.ready(pid: getpid(), version: context.admin.binaryVersion, features: features)
                    .send(on: channel, timeoutMilliseconds: 5_000)
                return .readySent
            }
        case .receiveStaging:
            return outcome {
                perLoop = server.prepareLoops()
                stagingStarted = MonotonicClock.nowNanoseconds()
                stage = try server.receiveStaging(from: channel, perLoop: perLoop)
                return .stagingReceived(connections: stage.byKey.count)
            }
        case .sendStaged(let connections):
            return outcome {
                try HandoffControl.staged(connections: connections).send(on: channel, timeoutMilliseconds: 5_000)
                if roundsStarted == nil {
                    stagingMilliseconds = Double(MonotonicClock.nowNanoseconds() - stagingStarted) / 1e6
                    roundsStarted = MonotonicClock.nowNanoseconds()
                }
                return .stagedSent
            }
        case .receiveRound:
            return outcome { try receiveRound() }
        case .sendDone(let connections, let rooms, let milliseconds):
            if server.configuration.server.testHooks,
                let delay = ProcessEnvironment.current()["HOLDFAST_TEST_TAKEOVER_DELAY_MS"].flatMap({ UInt32($0) })
            {
                // Test hook: a new binary that is slow to rebuild, to exercise the old process's DONE timeout.
                usleep(delay * 1000)
            }
            return outcome {
                try HandoffControl.done(connections: connections, rooms: rooms, rebuildMilliseconds: milliseconds)
                    .send(on: channel, timeoutMilliseconds: 5_000)
                return .doneSent
            }
        case .awaitCommit:
            do {
                let message = try HandoffControl.receive(on: channel, timeoutMilliseconds: 60_000)
                commitReceived = MonotonicClock.nowNanoseconds()
                return .received(message)
            } catch .closed, .system {
                // Either way the channel is gone: the old process can no longer roll back through it.
                return .channelClosed
            } catch .timeout {
                return .timedOut
            } catch {
                context.logger.warning(
                    "binary upgrade: unreadable message while waiting for COMMIT",
                    metadata: [
                        "error": "\(error)"
                    ])
                return .failed("\(error)")
            }
        case .serve(let pause):
            serve(pause: pause)
        case .sendAck:
            try? HandoffControl.ack.send(on: channel, timeoutMilliseconds: 1_000)
        case .closeChannel:
            channel.close()
        case .sendFailed(let reason):
            try? HandoffControl.failed(reason: reason).send(on: channel, timeoutMilliseconds: 1_000)
        case .abandon(let reason):
            abandoned = reason
        }
        return nil
    }

    /// A step's outcome: the event it completes with, or how it failed.
    private func outcome(_ step: () throws -> TakeoverMachine.Event) -> TakeoverMachine.Event {
        do {
            return try step()
        } catch HandoffChannelError.closed {
            return .channelClosed
        } catch HandoffChannelError.timeout {
            return .timedOut
        } catch {
            return .failed("\(error)")
        }
    }

    /// The next stream: a catch-up round, or the final one, after which everything is rebuilt.
    private func receiveRound() throws -> TakeoverMachine.Event {
        guard let (header, rooms, counts) = try server.receiveRound(from: channel, stage: &stage, perLoop: perLoop)
        else { return .catchUpReceived(connections: stage.byKey.count) }
        self.header = header
        self.rooms = rooms
        self.counts = counts
        rebuildMilliseconds = Double(MonotonicClock.nowNanoseconds() - stage.finalStarted) / 1e6
        return .finalReceived(
            connections: counts.connections, rooms: counts.rooms, rebuildMilliseconds: rebuildMilliseconds)
    }

    /// Starts the loops and the rooms. Without a COMMIT (`pause` nil) the old process went away after DONE, so
    /// the sockets are this process's alone.
    private func serve(pause: Double?) {
        if pause == nil {
            // A closed channel after DONE: the previous process committed and exits, or it rolls back and kills this
            // one first. The sockets are read only once it has exited (this process, its child, is then re-parented).
            if let old = header?.pid, old > 0 { while getppid() == old { usleep(1_000) } }
            context.logger.warning("the previous process went away after DONE; taking over")
        }
        self.pause = pause
        server.group.start()
        servingAfterCommitMilliseconds = Double(MonotonicClock.nowNanoseconds() - commitReceived) / 1e6
        for room in rooms { room.send(.resumeAfterHandoff) }
        // systemd must know the new main pid before the old process exits (it does once it reads ACK): the
        // barrier returns once systemd has processed the notification.
        if server.systemd.isEnabled {
            _ = try? server.systemd.notify(["MAINPID": "\(getpid())", "READY": "1"])
            _ = try? server.systemd.barrier(timeoutMilliseconds: 2_000)
        }
        server.startLivenessPings()
    }

    /// Serving: the upgrade record for `/admin/status`, and the log.
    private func recordServing() {
        let from = header.map { "\($0.binaryVersion) (pid \($0.pid))" } ?? ""
        var record = UpgradeRecord(
            kind: "binary", outcome: "ok", from: from, to: "\(context.admin.binaryVersion) (pid \(getpid()))",
            pauseMilliseconds: pause ?? 0, suspendMilliseconds: 0, migrateMilliseconds: 0, rooms: counts.rooms,
            error: nil)
        record.extra = [
            JSONMember("old_pid", .integer(Int64(header?.pid ?? 0))), JSONMember("new_pid", .integer(Int64(getpid()))),
            JSONMember("connections", .integer(Int64(counts.connections))),
            JSONMember("rebuild_ms", .double(rebuildMilliseconds)),
            JSONMember("serving_after_commit_ms", .double(servingAfterCommitMilliseconds)),
        ]
        context.upgrades.record(record)
        server.logAddresses("took over from the previous process; listening")
        context.logger.notice(
            "binary upgrade: serving",
            metadata: [
                "connections": "\(counts.connections)", "rooms": "\(counts.rooms)",
                "staging-ms": "\(stagingMilliseconds)",
                "final-ms": "\(rebuildMilliseconds)", "serving-after-commit-ms": "\(servingAfterCommitMilliseconds)",
                "rebuild-ms": "\(stage.laps)", "rebuild-cpu-ms": "\(stage.laps.cpuDescription)",
            ])
    }
}
