/// One loop's socket closes while a binary upgrade stages its connections: a closed socket stays open (but
/// unwatched) until the staging stream is sent, since its fd number is on its way to the new process and must not
/// be closed or reused; once sockets were staged, the new process may hold them too, so every close is shared.
///
/// Thread ownership: the loop's thread only.
public struct DeferredSocketCloses {
    private var deferring = false
    private var deferred: [Int32] = []
    private var shared = false  // an upgrade staged (sent) sockets

    public init() {}

    /// Whether a close here ends the socket at once: not while deferring, nor once the sockets may be shared with a
    /// new process (a `close` then sends no FIN while the other process holds the socket; `shutdown` still does).
    public var closesAtOnce: Bool { !deferring && !shared }

    /// Closes `fd` on `loop`, or keeps it (unwatched) until ``closeDeferred()`` while deferring.
    public mutating func close(_ fd: Int32, on loop: EventLoop) {
        guard deferring else { return loop.close(fd: fd, shared: shared) }
        loop.deregister(fd: fd)
        deferred.append(fd)
    }

    /// Starts deferring closes (binary upgrade staging); from now on the sockets may be shared.
    public mutating func startDeferring() { (deferring, shared) = (true, true) }

    /// Ends deferring and closes what was deferred.
    public mutating func closeDeferred() {
        deferring = false
        deferred.forEach(Socket.close)
        deferred = []
    }
}
