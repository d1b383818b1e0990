extension HandoverMachine {
    /// Rolls back from the current state: the undo actions it calls for, then the report.
    mutating func rollBack(_ failure: HandoffFailure) -> [Action] {
        let from = state
        state = .rolledBack(from: from, failure: failure)
        return Self.undo(from: from) + [.reportFailure(failure)]
    }

    /// What undoes everything done up to and including (part of) `state`, in the one safe order: the new
    /// process is gone before any loop touches a socket again. A step that failed halfway is undone whole
    /// (releasing a listener that was not held, or resuming a loop that was not paused, changes nothing).
    static func undo(from state: State) -> [Action] {
        let child: [Action] = [.killChild, .closeChannel]
        switch state {
        case .idle:
            return []
        case .spawning:
            // The channel may exist already; the new binary does not run.
            return [.closeChannel]
        case .awaiting(.ready):
            return child
        case .holdingListeners, .awaiting(.staged):
            return child + [.releaseListeners]
        case .staging:
            return child + [.closeDeferredSockets, .releaseListeners]
        case .holdingCommits:
            return child + [.releaseListeners, .releaseCommits]
        case .pausingIO, .exportingRooms:
            return child + [.resumeIO, .releaseListeners, .releaseCommits]
        case .exportingConnections, .sendingFinal, .awaiting(.done), .committing:
            return child + [.unfreezeLoops, .resumeIO, .releaseListeners, .releaseCommits]
        case .awaitingAck, .finished, .rolledBack:
            // Committed or over: nothing may be undone.
            return []
        }
    }
}
