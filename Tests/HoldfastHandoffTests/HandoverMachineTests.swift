import HoldfastHandoff
import Testing

/// The old side's way forward: every step names the next action, and the machine is where it says.
@Suite struct HandoverMachineTests {
    typealias Event = HandoverMachine.Event
    typealias Action = HandoverMachine.Action

    @Test func theWayForwardSpawnsStagesPausesExportsCommitsAndFinishes() {
        var machine = HandoverMachine()
        let steps: [(Event, [Action], HandoverMachine.State)] = [
            (.start, [.spawn], .spawning),
            (.completed(.spawned), [.awaitReply(.ready)], .awaiting(.ready)),
            (.received(HandoverStops.ready), [.holdListeners], .holdingListeners),
            (.completed(.listenersHeld), [.stage], .staging(round: 1)),
            (.roundSent(changed: 500), [.closeDeferredSockets, .awaitReply(.staged)],
             .awaiting(.staged(round: 1, changed: 500))),
            (.received(.staged(connections: 500)), [.restage], .staging(round: 2)),
            (.roundSent(changed: 7), [.closeDeferredSockets, .awaitReply(.staged)],
             .awaiting(.staged(round: 2, changed: 7))),
            (.received(.staged(connections: 500)), [.holdCommits], .holdingCommits),
            (.completed(.commitsHeld), [.pauseIO], .pausingIO),
            (.completed(.ioPaused), [.exportRooms], .exportingRooms),
            (.completed(.roomsExported), [.exportConnections], .exportingConnections),
            (.completed(.connectionsExported), [.sendFinal], .sendingFinal),
            (.completed(.finalSent), [.awaitReply(.done)], .awaiting(.done)),
            (.received(HandoverStops.done), [.sendCommit], .committing),
            (.completed(.commitSent), [.awaitAck], .awaitingAck),
            (.received(.ack), [.finish(acknowledged: true)], .finished(acknowledged: true)),
        ]
        for (event, actions, state) in steps {
            #expect(machine.handle(event) == actions, "after \(event)")
            #expect(machine.state == state, "after \(event)")
        }
    }

    @Test func aSecondCatchUpRoundFollowsOnlyWhenTheFirstSentMoreThan64Connections() {
        var many = HandoverStops.machine(at: .staging(round: 2))
        #expect(many.handle(.roundSent(changed: 65)) == [.closeDeferredSockets, .awaitReply(.staged)])
        #expect(many.handle(.received(HandoverStops.staged)) == [.restage])
        #expect(many.state == .staging(round: 3))

        var few = HandoverStops.machine(at: .staging(round: 2))
        _ = few.handle(.roundSent(changed: 64))
        #expect(few.handle(.received(HandoverStops.staged)) == [.holdCommits])
    }

    @Test func thereAreNeverMoreThanTwoCatchUpRounds() {
        var machine = HandoverStops.machine(at: .staging(round: 2))
        _ = machine.handle(.roundSent(changed: 10_000))
        _ = machine.handle(.received(HandoverStops.staged))
        _ = machine.handle(.roundSent(changed: 10_000))
        #expect(machine.state == .awaiting(.staged(round: 3, changed: 10_000)))
        #expect(machine.handle(.received(HandoverStops.staged)) == [.holdCommits])
    }

    @Test func stagingAlwaysGetsOneCatchUpRoundHoweverLittleChanged() {
        var machine = HandoverStops.machine(at: .staging(round: 1))
        _ = machine.handle(.roundSent(changed: 0))
        #expect(machine.handle(.received(HandoverStops.staged)) == [.restage])
    }

    @Test func anAckAfterCommitFinishesAcknowledged() {
        var machine = HandoverStops.awaitingAck.machine()
        #expect(machine.handle(.received(.ack)) == [.finish(acknowledged: true)])
        #expect(machine.state == .finished(acknowledged: true))
    }

    @Test(arguments: [
        HandoverMachine.Event.timedOut(afterMilliseconds: 5_000), .channelFailed("handoff channel closed"),
        .childExited("exited with status 1"), .received(.staged(connections: 1)),
        .failed(.loopsUnresponsive(reason: "an event loop did not answer")), .start, .completed(.commitSent),
    ])
    func anythingButAckAfterCommitStillFinishesButUnacknowledgedAndUndoesNothing(event: HandoverMachine.Event) {
        var machine = HandoverStops.awaitingAck.machine()
        #expect(machine.handle(event) == [.finish(acknowledged: false)])
        #expect(machine.state == .finished(acknowledged: false))
    }

    @Test(arguments: [
        HandoverMachine.Event.start, .completed(.spawned), .roundSent(changed: 1), .received(.ack),
        .timedOut(afterMilliseconds: 1), .channelFailed("x"), .childExited("x"), .failed(.noBinaryPath),
    ])
    func aFinishedAttemptIgnoresEverything(event: HandoverMachine.Event) {
        var machine = HandoverStops.awaitingAck.machine()
        _ = machine.handle(.received(.ack))
        #expect(machine.handle(event) == [])
        #expect(machine.state == .finished(acknowledged: true))
    }

    @Test(arguments: [
        HandoverMachine.Event.start, .completed(.spawned), .roundSent(changed: 1), .received(.ack),
        .timedOut(afterMilliseconds: 1), .channelFailed("x"), .childExited("x"), .failed(.noBinaryPath),
    ])
    func aRolledBackAttemptIgnoresEverything(event: HandoverMachine.Event) {
        var machine = HandoverMachine()
        _ = machine.handle(.start)
        _ = machine.handle(.failed(.spawnFailed(binary: "/bin/x", reason: "no")))
        let state = machine.state
        #expect(machine.handle(event) == [])
        #expect(machine.state == state)
    }
}
