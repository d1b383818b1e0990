/// The handoff protocol on the side of the process taking over (the new one), as a state machine: the server
/// feeds it what happened (``Event``) and performs the I/O the returned ``Action``s name, in order. Each batch
/// ends with at most one action whose outcome is the next event.
///
/// The way forward: send READY, receive the staging stream, send STAGED, then receive rounds: each catch-up
/// round is answered STAGED again, the final one (it starts with the header) DONE; then await COMMIT and
/// serve.
///
/// Abandoning is a state too. Before DONE, a failure is reported with FAILED when the channel still works (the
/// old process then rolls back at once rather than at its timeout). In no case does an abandoning process
/// touch a socket: the old process may still serve. After DONE it does not abandon at all: it waits for COMMIT
/// through junk and silence, and serves alone if the channel closes (the old process died; had it rolled back,
/// it would have killed this one first).
public struct TakeoverMachine: Sendable {
    /// Where the takeover is.
    public indirect enum State: Sendable, Equatable {
        /// Not started.
        case idle
        /// Sending READY.
        case sendingReady
        /// Receiving the staging stream and building what it holds.
        case receivingStaging
        /// Sending the STAGED that answers round `round` (1: staging, then catch-up rounds).
        case sendingStaged(round: Int)
        /// Receiving the stream after round `round - 1`: a catch-up round or the final one.
        case receivingRound(round: Int)
        /// Sending DONE.
        case sendingDone
        /// Waiting for COMMIT.
        case awaitingCommit
        /// Over: serving; `alone` when the old process died after DONE instead of committing.
        case serving(alone: Bool)
        /// Over: gave up in `from`, because of `reason`; the process must exit without touching a socket.
        case abandoned(from: State, reason: String)
    }

    /// Where the takeover is now.
    public internal(set) var state: State = .idle

    /// A machine that has not started.
    public init() {}

    /// Takes `event` and returns what to do next, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        switch (state, event) {
        // The way forward.
        case (.idle, .start):
            return advance(to: .sendingReady, [.sendReady])
        case (.sendingReady, .readySent):
            return advance(to: .receivingStaging, [.receiveStaging])
        case (.receivingStaging, .stagingReceived(let connections)):
            return advance(to: .sendingStaged(round: 1), [.sendStaged(connections: connections)])
        case (.sendingStaged(let round), .stagedSent):
            return advance(to: .receivingRound(round: round + 1), [.receiveRound])
        case (.receivingRound(let round), .catchUpReceived(let connections)):
            return advance(to: .sendingStaged(round: round), [.sendStaged(connections: connections)])
        case (.receivingRound, .finalReceived(let connections, let rooms, let milliseconds)):
            return advance(
                to: .sendingDone,
                [.sendDone(connections: connections, rooms: rooms, rebuildMilliseconds: milliseconds)])
        case (.sendingDone, .doneSent):
            return advance(to: .awaitingCommit, [.awaitCommit])
        case (.awaitingCommit, .received(.commit(let pause))):
            return advance(to: .serving(alone: false), [.serve(pauseMilliseconds: pause), .sendAck, .closeChannel])
        case (.awaitingCommit, .channelClosed):
            // After DONE the old process only commits or rolls back, and rolling back kills this one first: a
            // closed channel means it died, and nobody else can touch the sockets.
            return advance(to: .serving(alone: true), [.serve(pauseMilliseconds: nil), .closeChannel])

        // Anything else after DONE: keep waiting. From DONE on, the old process either commits or rolls back,
        // and it kills this process before it rolls back; giving up here while it commits would leave every
        // socket to nobody. So junk, an unexpected message or a slow COMMIT only prolong the wait.
        case (.awaitingCommit, .received), (.awaitingCommit, .timedOut), (.awaitingCommit, .failed):
            return [.awaitCommit]

        // READY or DONE could not be sent: the channel is broken, so there is nobody to tell.
        case (.idle, .failed(let reason)):
            return abandon(reason, tellPeer: false)
        case (.sendingReady, .failed(let reason)):
            return abandon("cannot answer READY: \(reason)", tellPeer: false)
        case (.sendingReady, .timedOut):
            return abandon("cannot answer READY: \(Self.timeoutReason)", tellPeer: false)
        case (.sendingReady, .channelClosed):
            return abandon("cannot answer READY: \(Self.closedReason)", tellPeer: false)
        case (.sendingDone, .failed(let reason)):
            return abandon("cannot answer DONE: \(reason)", tellPeer: false)
        case (.sendingDone, .timedOut):
            return abandon("cannot answer DONE: \(Self.timeoutReason)", tellPeer: false)
        case (.sendingDone, .channelClosed):
            return abandon("cannot answer DONE: \(Self.closedReason)", tellPeer: false)

        // While staging or receiving rounds: tell the old process, unless it is gone.
        case (.receivingStaging, .failed(let reason)), (.sendingStaged, .failed(let reason)),
            (.receivingRound, .failed(let reason)):
            return abandon(reason, tellPeer: true)
        case (.receivingStaging, .timedOut), (.sendingStaged, .timedOut), (.receivingRound, .timedOut):
            return abandon(Self.timeoutReason, tellPeer: true)
        case (.receivingStaging, .channelClosed), (.sendingStaged, .channelClosed), (.receivingRound, .channelClosed):
            return abandon(Self.closedReason, tellPeer: false)

        // Over: nothing happens any more.
        case (.serving, _), (.abandoned, _):
            return []

        // An event the state does not expect: a bug in the caller. Giving up is always safe before serving.
        case (_, .start), (_, .readySent), (_, .stagingReceived), (_, .stagedSent), (_, .catchUpReceived),
            (_, .finalReceived), (_, .doneSent), (_, .received), (_, .timedOut), (_, .channelClosed):
            return abandon("out of order: \(event) while \(state)", tellPeer: state.mayTellPeer)
        }
    }

    private static let timeoutReason = HandoffChannelError.timeout.description
    private static let closedReason = HandoffChannelError.closed.description

    private mutating func advance(to next: State, _ actions: [Action]) -> [Action] {
        state = next
        return actions
    }

    /// Gives up: FAILED first when `tellPeer` (best effort), then the server exits without touching a socket.
    private mutating func abandon(_ reason: String, tellPeer: Bool) -> [Action] {
        state = .abandoned(from: state, reason: reason)
        return (tellPeer ? [.sendFailed(reason: reason)] : []) + [.closeChannel, .abandon(reason: reason)]
    }
}

extension TakeoverMachine.State {
    /// Whether the old process still reads control messages: between READY and DONE.
    var mayTellPeer: Bool {
        switch self {
        case .receivingStaging, .sendingStaged, .receivingRound: true
        case .idle, .sendingReady, .sendingDone, .awaitingCommit, .serving, .abandoned: false
        }
    }
}
