import HoldfastHandoff
import Testing

/// The new side: READY, staging, STAGED for every round, DONE, then serving on COMMIT or when the old process
/// dies after DONE; and abandoning from every state without ever serving.
@Suite struct TakeoverMachineTests {
    typealias Event = TakeoverMachine.Event
    typealias Action = TakeoverMachine.Action
    typealias State = TakeoverMachine.State

    static let final = Event.finalReceived(connections: 12, rooms: 3, rebuildMilliseconds: 4.5)

    @Test func theWayForwardAnswersEveryRoundAndServesOnCommit() {
        var machine = TakeoverMachine()
        let steps: [(Event, [Action], State)] = [
            (.start, [.sendReady], .sendingReady),
            (.readySent, [.receiveStaging], .receivingStaging),
            (.stagingReceived(connections: 10), [.sendStaged(connections: 10)], .sendingStaged(round: 1)),
            (.stagedSent, [.receiveRound], .receivingRound(round: 2)),
            (.catchUpReceived(connections: 11), [.sendStaged(connections: 11)], .sendingStaged(round: 2)),
            (.stagedSent, [.receiveRound], .receivingRound(round: 3)),
            (.catchUpReceived(connections: 12), [.sendStaged(connections: 12)], .sendingStaged(round: 3)),
            (.stagedSent, [.receiveRound], .receivingRound(round: 4)),
            (Self.final, [.sendDone(connections: 12, rooms: 3, rebuildMilliseconds: 4.5)], .sendingDone),
            (.doneSent, [.awaitCommit], .awaitingCommit),
            (
                .received(.commit(pauseMilliseconds: 8.25)),
                [.serve(pauseMilliseconds: 8.25), .sendAck, .closeChannel], .serving(alone: false)
            ),
        ]
        for (event, actions, state) in steps {
            #expect(machine.handle(event) == actions, "after \(event)")
            #expect(machine.state == state, "after \(event)")
        }
    }

    @Test func theFinalStreamMayFollowStagingDirectly() {
        var machine = Self.machine(at: .receivingRound(round: 2))
        #expect(machine.state == .receivingRound(round: 2))
        #expect(machine.handle(Self.final) == [.sendDone(connections: 12, rooms: 3, rebuildMilliseconds: 4.5)])
    }

    @Test func theChannelClosingAfterDoneMeansTheOldProcessDiedAndThisOneServesAlone() {
        var machine = Self.machine(at: .awaitingCommit)
        #expect(machine.handle(.channelClosed) == [.serve(pauseMilliseconds: nil), .closeChannel])
        #expect(machine.state == .serving(alone: true))
    }

    @Test(arguments: [
        Event.received(.ack), .received(.failed(reason: "x")), .timedOut, .failed("malformed handoff message: cut"),
    ])
    func anythingButCommitOrACloseAfterDoneOnlyProlongsTheWait(event: Event) {
        // Giving up here while the old process commits would leave every socket to nobody.
        var machine = Self.machine(at: .awaitingCommit)
        #expect(machine.handle(event) == [.awaitCommit])
        #expect(machine.state == .awaitingCommit)
        #expect(machine.handle(.received(.commit(pauseMilliseconds: 2))).first == .serve(pauseMilliseconds: 2))
    }

    /// Every state before DONE is out, the event that breaks it, and what must follow.
    struct Break: Sendable, CustomTestStringConvertible {
        let state: State
        let event: Event
        let actions: [Action]
        var testDescription: String { "\(event) while \(state)" }
    }

    static let breaks: [Break] = {
        let timeout = "handoff channel timed out"
        let closed = "handoff channel closed"
        var breaks: [Break] = []
        for state in [
            State.receivingStaging, .sendingStaged(round: 1), .receivingRound(round: 2),
            .sendingStaged(round: 2), .receivingRound(round: 3),
        ] {
            let bad = "bad record"
            breaks.append(
                Break(
                    state: state, event: .failed(bad),
                    actions: [.sendFailed(reason: bad), .closeChannel, .abandon(reason: bad)]))
            breaks.append(
                Break(
                    state: state, event: .timedOut,
                    actions: [.sendFailed(reason: timeout), .closeChannel, .abandon(reason: timeout)]))
            // The old process is gone: nobody to tell.
            breaks.append(
                Break(
                    state: state, event: .channelClosed,
                    actions: [.closeChannel, .abandon(reason: closed)]))
        }
        for (state, step) in [(State.sendingReady, "READY"), (.sendingDone, "DONE")] {
            breaks.append(
                Break(
                    state: state, event: .failed("broken pipe"),
                    actions: [.closeChannel, .abandon(reason: "cannot answer \(step): broken pipe")]))
            breaks.append(
                Break(
                    state: state, event: .timedOut,
                    actions: [.closeChannel, .abandon(reason: "cannot answer \(step): \(timeout)")]))
            breaks.append(
                Break(
                    state: state, event: .channelClosed,
                    actions: [.closeChannel, .abandon(reason: "cannot answer \(step): \(closed)")]))
        }
        breaks.append(
            Break(state: .idle, event: .failed("no fd"), actions: [.closeChannel, .abandon(reason: "no fd")]))
        return breaks
    }()

    @Test(arguments: breaks)
    func aFailureOrAVanishedPeerBeforeDoneAbandonsTellingThePeerOnlyWhenItCanListen(broken: Break) {
        var machine = Self.machine(at: broken.state)
        #expect(machine.state == broken.state)
        #expect(machine.handle(broken.event) == broken.actions)
        guard case .abandoned(let from, _) = machine.state else {
            Issue.record("not abandoned: \(machine.state)")
            return
        }
        #expect(from == broken.state)
    }

    @Test func anEventTheStateDoesNotExpectAbandonsAndTellsThePeerWhileItListens() {
        var staging = Self.machine(at: .receivingStaging)
        let reason = "out of order: doneSent while receivingStaging"
        #expect(staging.handle(.doneSent) == [.sendFailed(reason: reason), .closeChannel, .abandon(reason: reason)])

        var committing = Self.machine(at: .awaitingCommit)
        let late = "out of order: start while awaitingCommit"
        #expect(committing.handle(.start) == [.closeChannel, .abandon(reason: late)])

        var ready = Self.machine(at: .sendingReady)
        let early = "out of order: \(Event.received(.ack)) while sendingReady"
        #expect(ready.handle(.received(.ack)) == [.closeChannel, .abandon(reason: early)])
    }

    @Test(arguments: [
        Event.start, .readySent, .stagingReceived(connections: 1), .stagedSent, .catchUpReceived(connections: 1),
        final, .doneSent, .received(.commit(pauseMilliseconds: 1)), .timedOut, .channelClosed, .failed("x"),
    ])
    func servingAndAbandonedAreOverAndIgnoreEverything(event: Event) {
        var serving = Self.machine(at: .awaitingCommit)
        _ = serving.handle(.received(.commit(pauseMilliseconds: 1)))
        #expect(serving.handle(event) == [])
        #expect(serving.state == .serving(alone: false))

        var abandoned = Self.machine(at: .receivingStaging)
        _ = abandoned.handle(.failed("x"))
        let state = abandoned.state
        #expect(abandoned.handle(event) == [])
        #expect(abandoned.state == state)
    }

    /// A machine driven along the way forward (two catch-up rounds at most) until it is in `state`.
    static func machine(at state: State) -> TakeoverMachine {
        let path: [Event] = [
            .start, .readySent, .stagingReceived(connections: 10), .stagedSent, .catchUpReceived(connections: 10),
            .stagedSent, .catchUpReceived(connections: 10), .stagedSent, final, .doneSent,
        ]
        var machine = TakeoverMachine()
        for event in path where machine.state != state { _ = machine.handle(event) }
        return machine
    }
}
