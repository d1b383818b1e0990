import HoldfastHandoff
import Testing

/// Rolling back: from every state before COMMIT, exactly the undo actions that state calls for, in the one safe
/// order, then the report; and the machine remembers where it rolled back from.
@Suite struct HandoverRollbackTests {
    /// The order every rollback keeps: the new process is gone before any loop touches a socket again.
    static let safeOrder: [HandoverMachine.Action] = [
        .killChild, .closeChannel, .unfreezeLoops, .closeDeferredSockets, .resumeIO, .releaseListeners,
        .releaseCommits,
    ]

    @Test(arguments: HandoverStops.beforeCommit)
    func aFailingStepUndoesExactlyWhatWasDoneAndReportsTheFailure(stop: HandoverStop) {
        var machine = stop.machine()
        #expect(machine.state == stop.state)
        let failure = HandoffFailure.loopsUnresponsive(reason: "an event loop did not answer")
        #expect(machine.handle(.failed(failure)) == stop.undo + [.reportFailure(failure)])
        #expect(machine.state == .rolledBack(from: stop.state, failure: failure))
    }

    @Test(arguments: HandoverStops.beforeCommit)
    func everyRollbackKeepsTheSafeOrder(stop: HandoverStop) {
        let positions = stop.undo.compactMap { Self.safeOrder.firstIndex(of: $0) }
        #expect(positions.count == stop.undo.count)
        #expect(positions == positions.sorted())
        #expect(Set(positions).count == positions.count)
    }

    @Test func failingAfterTheListenersWereHeldButBeforeStagingOnlyKillsClosesAndReleasesTheListeners() {
        var machine = HandoverStops.machine(at: .holdingListeners)
        let failure = HandoffFailure.loopsUnresponsive(reason: "an event loop did not answer")
        #expect(machine.handle(.failed(failure)) == [
            .killChild, .closeChannel, .releaseListeners, .reportFailure(failure),
        ])
    }

    /// Every state between the start and COMMIT, where the new process may vanish.
    static let live = HandoverStops.beforeCommit.filter { $0.state != .idle }

    @Test(arguments: live)
    func aNewProcessThatDoesNotAnswerRollsBackWithTheTimeoutOfTheAnswerItOwes(stop: HandoverStop) {
        var machine = stop.machine()
        let actions = machine.handle(.timedOut(afterMilliseconds: 5_000))
        let failure: HandoffFailure = stop.owes.map { .noAnswer($0, afterMilliseconds: 5_000) }
            ?? .commitFailed(reason: "the new binary did not answer within 5000 ms")
        #expect(actions == stop.undo + [.reportFailure(failure)])
        #expect(machine.state == .rolledBack(from: stop.state, failure: failure))
        if let step = stop.owes {
            #expect(failure.status == 504 && failure.code == "\(step.rawValue)_timeout")
            #expect(failure.reason == "the new binary did not answer \(step.message) within 5000 ms")
        }
    }

    @Test(arguments: live)
    func aNewProcessThatExitsRollsBackWithTheFailureOfTheAnswerItOwes(stop: HandoverStop) {
        var machine = stop.machine()
        let actions = machine.handle(.childExited("exited with status 3"))
        let failure: HandoffFailure = stop.owes.map { .childExited($0, status: "exited with status 3") }
            ?? .commitFailed(reason: "the new binary exited with status 3")
        #expect(actions == stop.undo + [.reportFailure(failure)])
        #expect(failure.status == 502)
        #expect(failure.code == stop.owes.map { "\($0.rawValue)_failed" } ?? "commit_failed")
    }

    @Test(arguments: live)
    func aChannelThatClosesRollsBackWithTheFailureOfTheAnswerItOwes(stop: HandoverStop) {
        var machine = stop.machine()
        let actions = machine.handle(.channelFailed("handoff channel closed"))
        let failure: HandoffFailure = stop.owes.map { .channelBroken($0, reason: "handoff channel closed") }
            ?? .commitFailed(reason: "handoff channel closed")
        #expect(actions == stop.undo + [.reportFailure(failure)])
        #expect(failure.status == 502)
        #expect(failure.code == stop.owes.map { "\($0.rawValue)_failed" } ?? "commit_failed")
    }

    @Test(arguments: [
        HandoverMachine.Event.timedOut(afterMilliseconds: 1), .childExited("exited with status 1"),
        .channelFailed("handoff channel closed"),
    ])
    func aVanishingPeerBeforeTheStartIsOutOfOrderAndUndoesNothing(event: HandoverMachine.Event) {
        var machine = HandoverMachine()
        let actions = machine.handle(event)
        guard case .rolledBack(.idle, let failure) = machine.state else {
            Issue.record("not rolled back from idle: \(machine.state)")
            return
        }
        #expect(failure.code == "out_of_order")
        #expect(actions == [.reportFailure(failure)])
    }

    @Test(arguments: HandoverStops.awaiting)
    func aFailedAnswerRollsBackAsARebuildFailureExceptInsteadOfReady(stop: HandoverStop) {
        var machine = stop.machine()
        let answer = HandoffControl.failed(reason: "cannot bind")
        let actions = machine.handle(.received(answer))
        let step = Self.step(of: stop)
        let failure: HandoffFailure =
            step == .ready ? .unexpectedAnswer(.ready, answer) : .rebuildFailed(reason: "cannot bind")
        #expect(actions == stop.undo + [.reportFailure(failure)])
    }

    @Test(arguments: HandoverStops.awaiting)
    func anAnswerForAnotherStepRollsBack(stop: HandoverStop) {
        var machine = stop.machine()
        let answer = HandoffControl.commit(pauseMilliseconds: 1)
        let actions = machine.handle(.received(answer))
        let failure = HandoffFailure.unexpectedAnswer(Self.step(of: stop), answer)
        #expect(actions == stop.undo + [.reportFailure(failure)])
        #expect(failure.code == "\(Self.step(of: stop).rawValue)_failed")
    }

    @Test(arguments: HandoverStops.beforeCommit.filter { $0.state != .idle })
    func anEventTheStateDoesNotExpectRollsBackAsOutOfOrder(stop: HandoverStop) {
        var machine = stop.machine()
        let actions = machine.handle(.start)
        guard case .rolledBack(let from, let failure) = machine.state else {
            Issue.record("not rolled back: \(machine.state)")
            return
        }
        #expect(from == stop.state)
        #expect(failure.code == "out_of_order" && failure.status == 500)
        #expect(actions == stop.undo + [.reportFailure(failure)])
    }

    @Test func aCompletionOfAnotherStepRollsBackAsOutOfOrder() {
        var machine = HandoverStops.machine(at: .holdingCommits)
        let actions = machine.handle(.completed(.finalSent))
        guard case .rolledBack(.holdingCommits, let failure) = machine.state else {
            Issue.record("not rolled back from holding commits: \(machine.state)")
            return
        }
        #expect(failure.code == "out_of_order")
        #expect(actions == [
            .killChild, .closeChannel, .releaseListeners, .releaseCommits, .reportFailure(failure),
        ])
    }

    @Test func aPeerEventWhileNothingIsAwaitedRollsBackAsOutOfOrder() {
        var machine = HandoverStops.machine(at: .exportingRooms)
        let actions = machine.handle(.received(.ack))
        #expect(actions.last.map { if case .reportFailure(let failure) = $0 { failure.code } else { "" } }
            == "out_of_order")
        #expect(Array(actions.dropLast()) == HandoverStops.paused)
    }

    private static func step(of stop: HandoverStop) -> HandoffStep {
        if case .awaiting(let awaited) = stop.state { return awaited.step }
        return .ready
    }
}
