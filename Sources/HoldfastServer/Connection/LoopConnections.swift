import Glibc
import HoldfastCore

/// The connections one event loop owns, for the periodic deadline sweep and for shutdown.
///
/// Thread ownership: the loop's thread only.
/// `@unchecked Sendable` for the same reason: created by the server, then used only on its loop.
final class LoopConnections: @unchecked Sendable {
    unowned(unsafe) let loop: EventLoop  // outlives us; with `context`, what every connection reaches via `owner`
    let context: ServerContext
    private(set) var connections: [Connection] = []
    private var spare: [UInt8] = []  // a drained output buffer, for the next connection to queue output without one
    /// Bytes of large transient output (buffers released, large bodies written) since the last heap trim (see
    /// `trimHeapIfNeeded`): a burst leaves freed heap behind even when its largest buffers never reached a queue.
    var transientBytes = 0
    /// `transientBytes` at the previous sweep: trimming waits until a sweep interval added nothing.
    private var transientAtLastSweep = 0
    private var sweeps: UInt = 0
    /// While a binary upgrade stages connections, closed sockets stay open (but unwatched) until the staging
    /// stream is sent: their fd numbers are on their way to the new process and must not be closed or reused.
    private var deferringCloses = false
    private var deferredCloses: [Int32] = []
    private var socketsShared = false  // an upgrade staged (sent) sockets: the new process may hold them too
    /// On one loop only: gives freed heap back after any burst (see ``HeapWatch``).
    var heapWatch: HeapWatch?
    init(loop: EventLoop, context: ServerContext) { (self.loop, self.context) = (loop, context) }

    /// Closes a connection's socket, or keeps it (unwatched) until ``closeDeferredSockets()`` while deferring.
    func closeSocket(_ fd: Int32) {
        guard deferringCloses else { return loop.close(fd: fd, shared: socketsShared) }
        loop.deregister(fd: fd)
        deferredCloses.append(fd)
    }

    /// Starts deferring socket closes (binary upgrade staging).
    func deferCloses() { (deferringCloses, socketsShared) = (true, true) }

    /// Ends deferring and closes what was deferred.
    func closeDeferredSockets() {
        deferringCloses = false
        deferredCloses.forEach(Socket.close)
        deferredCloses = []
    }

    /// Trades an empty `output` for the spare when just one of them has storage: lends the spare or keeps `output`.
    func tradeSpare(_ output: inout [UInt8]) { if (output.capacity == 0) != (spare.capacity == 0) { swap(&output, &spare) } }

    func add(_ connection: Connection) {
        connection.slot = Int32(connections.count)
        if connections.count == connections.capacity { connections.reserveCapacity(connections.count * 9 / 8 + 16) }
        connections.append(connection)
    }

    func remove(_ connection: Connection) {
        let slot = Int(connection.slot)
        guard slot >= 0, slot < connections.count, connections[slot] === connection else { return }
        let last = connections.removeLast()
        if slot < connections.count {
            connections[slot] = last
            last.slot = Int32(slot)
        }
        connection.slot = -1
    }

    var count: Int { connections.count }

    /// Large transient buffers (a presence_state for thousands of members, a slow reader's backlog) leave freed
    /// pages that glibc keeps mapped; after enough of them, give them back so idle memory stays small.
    ///
    /// Only once the burst is over (a whole sweep interval released nothing): trimming in the middle of one hands
    /// back pages the next buffers fault straight in again, and zeroing those pages cost more than half the
    /// server's CPU in a 19,000-member join burst.
    func trimHeapIfNeeded() {
        defer { transientAtLastSweep = transientBytes }
        guard transientBytes > 1 << 20, transientBytes == transientAtLastSweep else { return }
        transientBytes = 0
        Heap.trim()
    }

    /// The periodic sweep at `now` (the server clock's monotonic reading): every connection enforces its
    /// deadlines, then the heap is trimmed if a burst is over.
    func sweep(now: Int64) {
        // Open WebSockets' deadlines (heartbeats, idle timeout) count in seconds: checking them on every 4th sweep
        // (once a second) spares a loop of 10,000 members 30,000 checks a second. Handshakes and closes keep 250 ms.
        sweeps &+= 1
        let openWebSockets = sweeps % 4 == 0
        forEach { $0.sweep(now: now, openWebSockets: openWebSockets) }
        trimHeapIfNeeded()
        if let freed = heapWatch?.tick(), context.logsDebug { context.logger.debug("heap trimmed", metadata: ["freed": "\(freed)"]) }
    }

    /// Runs `body` over a snapshot, so connections may close (and leave the list) while it runs; none is retained.
    func forEach(_ body: (Connection) -> Void) {
        let snapshot = connections  // read in place: an iterator hands out retained copies
        snapshot.withUnsafeBufferPointer { for index in $0.indices { Unmanaged.passUnretained($0[index])._withUnsafeGuaranteedRef(body) } }
    }
}
