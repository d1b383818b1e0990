/// The handoff protocol on the side of the process handing over (the old one), as a state machine: the server
/// feeds it what happened (``Event``) and performs the I/O the returned ``Action``s name, in order. Each batch
/// ends with at most one action whose outcome is the next event.
///
/// The way forward: spawn the new binary, await READY, hold the listeners, stage (await STAGED) and restage
/// once or twice (each awaiting STAGED), hold the history commits, pause socket I/O, export the rooms, freeze
/// the loops exporting their connections, send the final stream, await DONE, send COMMIT, await ACK, finish.
///
/// Until COMMIT is out, any failure rolls back, and rolling back is a state: the machine knows which state it
/// left and so which undo actions to emit, always in this order: kill the new process and reap it, close the
/// channel, unfreeze the loops, close the sockets closed during a staging round, resume socket I/O, release
/// the listeners, release the history commits; then report the failure. Once COMMIT is out there is no way
/// back: whatever happens, the attempt finishes (acknowledged by ACK or not).
public struct HandoverMachine: Sendable {
    /// Where the attempt is.
    public indirect enum State: Sendable, Equatable {
        /// Not started.
        case idle
        /// Checking the binary, creating the channel, starting the new binary with its end.
        case spawning
        /// Waiting for an answer of the new process.
        case awaiting(Awaited)
        /// Stopping accepting (and ending the connections that cannot move after a grace period).
        case holdingListeners
        /// Sending staging round `round` (1: staging, then catch-up rounds), still serving.
        case staging(round: Int)
        /// Stopping history commits and waiting for the writer to finish what it has.
        case holdingCommits
        /// Pausing socket I/O on every loop.
        case pausingIO
        /// Waiting for quiescence and collecting the rooms' state.
        case exportingRooms
        /// Freezing every loop with the connections changed since staging.
        case exportingConnections
        /// Sending the final stream.
        case sendingFinal
        /// Sending COMMIT.
        case committing
        /// Committed: waiting for ACK.
        case awaitingAck
        /// Over: the new process serves (`acknowledged`: it said so).
        case finished(acknowledged: Bool)
        /// Over: rolled back from `from`, because of `failure`; the old process serves on.
        case rolledBack(from: State, failure: HandoffFailure)
    }

    /// The answers awaited before COMMIT.
    public enum Awaited: Sendable, Equatable {
        /// READY.
        case ready
        /// The STAGED that answers round `round`, in which `changed` connections were sent.
        case staged(round: Int, changed: Int)
        /// DONE.
        case done

        /// Which step, for the failure.
        public var step: HandoffStep {
            switch self {
            case .ready: .ready
            case .staged: .staged
            case .done: .done
            }
        }
    }

    /// A catch-up round follows staging; another one only if more than this many connections changed in it.
    public static let catchUpThreshold = 64
    /// Staging and at most two catch-up rounds.
    public static let maximumRounds = 3

    /// Where the attempt is now.
    public internal(set) var state: State = .idle

    /// A machine that has not started.
    public init() {}

    /// Takes `event` and returns what to do next, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        // The way forward.
        case (.idle, .start):
            return advance(to: .spawning, [.spawn])
        case (.spawning, .completed(let step)):
            return after(step, expected: .spawned, to: .awaiting(.ready), [.awaitReply(.ready)])
        case (.holdingListeners, .completed(let step)):
            return after(step, expected: .listenersHeld, to: .staging(round: 1), [.stage])
        case (.staging(let round), .roundSent(let changed)):
            // The stream is out: the sockets closed meanwhile may go now.
            return advance(
                to: .awaiting(.staged(round: round, changed: changed)), [.closeDeferredSockets, .awaitReply(.staged)])
        case (.holdingCommits, .completed(let step)):
            return after(step, expected: .commitsHeld, to: .pausingIO, [.pauseIO])
        case (.pausingIO, .completed(let step)):
            return after(step, expected: .ioPaused, to: .exportingRooms, [.exportRooms])
        case (.exportingRooms, .completed(let step)):
            return after(step, expected: .roomsExported, to: .exportingConnections, [.exportConnections])
        case (.exportingConnections, .completed(let step)):
            return after(step, expected: .connectionsExported, to: .sendingFinal, [.sendFinal])
        case (.sendingFinal, .completed(let step)):
            return after(step, expected: .finalSent, to: .awaiting(.done), [.awaitReply(.done)])
        case (.committing, .completed(let step)):
            return after(step, expected: .commitSent, to: .awaitingAck, [.awaitAck])

        // The new process answers.
        case (.awaiting(let awaited), .received(let message)):
            return answered(awaited, with: message)

        // The new process vanishes (it is gone, stuck, or the channel broke), while awaited or while a step
        // runs: the answer it owes next will not come.
        case (.spawning, .timedOut), (.spawning, .childExited), (.spawning, .channelFailed),
            (.awaiting, .timedOut), (.awaiting, .childExited), (.awaiting, .channelFailed),
            (.holdingListeners, .timedOut), (.holdingListeners, .childExited), (.holdingListeners, .channelFailed),
            (.staging, .timedOut), (.staging, .childExited), (.staging, .channelFailed),
            (.holdingCommits, .timedOut), (.holdingCommits, .childExited), (.holdingCommits, .channelFailed),
            (.pausingIO, .timedOut), (.pausingIO, .childExited), (.pausingIO, .channelFailed),
            (.exportingRooms, .timedOut), (.exportingRooms, .childExited), (.exportingRooms, .channelFailed),
            (.exportingConnections, .timedOut), (.exportingConnections, .childExited),
            (.exportingConnections, .channelFailed), (.sendingFinal, .timedOut), (.sendingFinal, .childExited),
            (.sendingFinal, .channelFailed), (.committing, .timedOut), (.committing, .childExited),
            (.committing, .channelFailed):
            return rollBack(vanished(event))

        // Committed: the new process owns every socket now, whatever else happens.
        case (.awaitingAck, .received(let message)):
            let acknowledged = message == .ack
            return advance(to: .finished(acknowledged: acknowledged), [.finish(acknowledged: acknowledged)])
        case (.awaitingAck, _):
            return advance(to: .finished(acknowledged: false), [.finish(acknowledged: false)])

        // A step failed (or the caller gave up) before COMMIT: roll back from here.
        case (.idle, .failed(let failure)), (.spawning, .failed(let failure)), (.awaiting, .failed(let failure)),
            (.holdingListeners, .failed(let failure)), (.staging, .failed(let failure)),
            (.holdingCommits, .failed(let failure)), (.pausingIO, .failed(let failure)),
            (.exportingRooms, .failed(let failure)), (.exportingConnections, .failed(let failure)),
            (.sendingFinal, .failed(let failure)), (.committing, .failed(let failure)):
            return rollBack(failure)

        // Over: nothing happens any more.
        case (.finished, _), (.rolledBack, _):
            return []

        // Any other event: a bug in the caller. Before COMMIT, rolling back is always safe.
        case (.idle, _), (.spawning, _), (.awaiting, _), (.holdingListeners, _), (.staging, _), (.holdingCommits, _),
            (.pausingIO, _), (.exportingRooms, _), (.exportingConnections, _), (.sendingFinal, _), (.committing, _):
            return outOfOrder(event)
        }
    }

    /// The step the current state performs is done: on to `next`, unless it was another step.
    private mutating func after(
        _ step: Completion, expected: Completion, to next: State, _ actions: [Action]
    ) -> [Action] {
        guard step == expected else { return outOfOrder(.completed(step)) }
        return advance(to: next, actions)
    }

    /// The answer to what the machine waits for.
    private mutating func answered(_ awaited: Awaited, with message: HandoffControl) -> [Action] {
        switch (awaited, message) {
        case (.ready, .ready):
            return advance(to: .holdingListeners, [.holdListeners])
        case (.staged(let round, let changed), .staged):
            // Catch-up rounds while still serving: a second one only if many connections changed in the first.
            let another = round == 1 || (round < Self.maximumRounds && changed > Self.catchUpThreshold)
            if another { return advance(to: .staging(round: round + 1), [.restage]) }
            return advance(to: .holdingCommits, [.holdCommits])
        case (.done, .done):
            return advance(to: .committing, [.sendCommit])
        case (.staged, .failed(let reason)), (.done, .failed(let reason)):
            return rollBack(.rebuildFailed(reason: reason))
        case (.ready, _), (.staged, _), (.done, _):
            return rollBack(.unexpectedAnswer(awaited.step, message))
        }
    }

    /// Why the attempt fails when the new process vanishes in the current state: no answer to the step it owes
    /// next (READY while spawning, STAGED until the commits are held, DONE until COMMIT), or no COMMIT sent.
    private func vanished(_ event: Event) -> HandoffFailure {
        let owed: HandoffStep? = switch state {
        case .spawning: .ready
        case .awaiting(let awaited): awaited.step
        case .holdingListeners, .staging: .staged
        case .holdingCommits, .pausingIO, .exportingRooms, .exportingConnections, .sendingFinal: .done
        case .idle, .committing, .awaitingAck, .finished, .rolledBack: nil
        }
        switch (event, owed) {
        case (.timedOut(let milliseconds), let step?):
            return .noAnswer(step, afterMilliseconds: milliseconds)
        case (.childExited(let status), let step?):
            return .childExited(step, status: status)
        case (.channelFailed(let reason), let step?):
            return .channelBroken(step, reason: reason)
        case (.timedOut(let milliseconds), nil):
            return .commitFailed(reason: "the new binary did not answer within \(milliseconds) ms")
        case (.childExited(let status), nil):
            return .commitFailed(reason: "the new binary \(status)")
        case (.channelFailed(let reason), nil):
            return .commitFailed(reason: reason)
        case (.start, _), (.completed, _), (.roundSent, _), (.received, _), (.failed, _):
            return .outOfOrder(reason: "\(event) while \(state)")
        }
    }

    private mutating func outOfOrder(_ event: Event) -> [Action] {
        rollBack(.outOfOrder(reason: "\(event) while \(state)"))
    }

    private mutating func advance(to next: State, _ actions: [Action]) -> [Action] {
        state = next
        return actions
    }
}
