extension TakeoverMachine {
    /// What happened: a step the server performed completed or failed, or the old process did something.
    public enum Event: Sendable, Equatable {
        /// This process started in takeover mode, with its end of the channel.
        case start
        /// READY is out.
        case readySent
        /// The staging stream arrived and everything in it is built: `connections` connections.
        case stagingReceived(connections: Int)
        /// STAGED is out.
        case stagedSent
        /// A catch-up round arrived and is applied: `connections` connections now.
        case catchUpReceived(connections: Int)
        /// The final stream arrived and everything is rebuilt, not serving yet.
        case finalReceived(connections: Int, rooms: Int, rebuildMilliseconds: Double)
        /// DONE is out.
        case doneSent
        /// A control message from the old process.
        case received(HandoffControl)
        /// A send or receive did not complete in time.
        case timedOut
        /// The old process closed the channel (or died).
        case channelClosed
        /// A step failed; why (unreadable state, a broken channel, a rebuild that failed).
        case failed(String)
    }

    /// What the server must do.
    public enum Action: Sendable, Equatable {
        /// Send READY (``Event/readySent``).
        case sendReady
        /// Receive the staging stream and build it (``Event/stagingReceived(connections:)``).
        case receiveStaging
        /// Send STAGED (``Event/stagedSent``).
        case sendStaged(connections: Int)
        /// Receive the next stream: a catch-up round or the final one (``Event/catchUpReceived(connections:)``
        /// or ``Event/finalReceived(connections:rooms:rebuildMilliseconds:)``).
        case receiveRound
        /// Send DONE (``Event/doneSent``).
        case sendDone(connections: Int, rooms: Int, rebuildMilliseconds: Double)
        /// Wait for COMMIT (``Event/received(_:)``, ``Event/channelClosed`` or a failure).
        case awaitCommit
        /// Start the loops and serve; the pause the old process measured, if it committed.
        case serve(pauseMilliseconds: Double?)
        /// Send ACK (best effort).
        case sendAck
        /// Close this end of the channel.
        case closeChannel
        /// Tell the old process why this one gives up (best effort).
        case sendFailed(reason: String)
        /// Give up: exit without touching any socket.
        case abandon(reason: String)
    }
}
