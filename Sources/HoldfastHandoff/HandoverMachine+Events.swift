extension HandoverMachine {
    /// What happened: a step the server performed completed or failed, or the new process did something.
    public enum Event: Sendable, Equatable {
        /// The operator asked for the upgrade.
        case start
        /// A step the server performed is done.
        case completed(Completion)
        /// A staging or catch-up round is out, END included; `changed` connections were in it.
        case roundSent(changed: Int)
        /// A control message from the new process.
        case received(HandoffControl)
        /// No answer within the step's timeout.
        case timedOut(afterMilliseconds: Int)
        /// The channel closed or broke while an answer was awaited; why.
        case channelFailed(String)
        /// The new process exited while an answer was awaited; how.
        case childExited(String)
        /// A step failed, or the caller gave up.
        case failed(HandoffFailure)
    }

    /// A step the server performed, done.
    public enum Completion: Sendable, Equatable {
        /// The new binary runs with its end of the channel.
        case spawned
        /// The listeners stopped accepting; connections that could not move were ended.
        case listenersHeld
        /// The rooms keep new messages pending; the history writer is idle.
        case commitsHeld
        /// Every loop paused its socket I/O.
        case ioPaused
        /// The process is quiescent and the rooms exported their state.
        case roomsExported
        /// Every loop exported its changed connections and is frozen.
        case connectionsExported
        /// The final stream is out, END included.
        case finalSent
        /// COMMIT is out.
        case commitSent
    }

    /// What the server must do.
    public enum Action: Sendable, Equatable {
        /// Check the binary (it exists and is executable), create the channel and start the new binary with its
        /// end (``Completion/spawned``).
        case spawn
        /// Wait for the new process's answer, watching it (``Event/received(_:)`` or how it vanished).
        case awaitReply(HandoffStep)
        /// Stop accepting, give unmovable connections their grace, end those left (``Completion/listenersHeld``).
        case holdListeners
        /// Copy and send every listener, connection and room presence, still serving (``Event/roundSent(changed:)``).
        case stage
        /// Send the connections changed since the previous round, still serving (``Event/roundSent(changed:)``).
        case restage
        /// Close the sockets whose close was deferred while a round was sent.
        case closeDeferredSockets
        /// Hold the rooms' history commits until the writer is idle (``Completion/commitsHeld``).
        case holdCommits
        /// Pause socket I/O on every loop (``Completion/ioPaused``).
        case pauseIO
        /// Wait for quiescence, export the rooms, wait again (``Completion/roomsExported``).
        case exportRooms
        /// Freeze every loop with its changed connections (``Completion/connectionsExported``).
        case exportConnections
        /// Send the header, the changed connections and the rooms (``Completion/finalSent``).
        case sendFinal
        /// Send COMMIT (``Completion/commitSent``): from then on never touch a handed-over socket.
        case sendCommit
        /// Wait for ACK (``Event/received(_:)`` or how it did not come).
        case awaitAck
        /// Record the upgrade, answer the caller and exit.
        case finish(acknowledged: Bool)
        /// Rollback: kill the new process and wait until it is gone.
        case killChild
        /// Rollback: close this end of the channel.
        case closeChannel
        /// Rollback: let the frozen loops run again.
        case unfreezeLoops
        /// Rollback: resume socket I/O on every loop.
        case resumeIO
        /// Rollback: accept again.
        case releaseListeners
        /// Rollback: let the rooms commit what they kept pending.
        case releaseCommits
        /// Rollback done: record and report the failure, still serving.
        case reportFailure(HandoffFailure)
    }
}
