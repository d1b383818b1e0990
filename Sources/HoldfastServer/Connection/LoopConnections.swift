import Glibc
import HoldfastCore
import HoldfastHandoff
import HoldfastJSON

/// The connections one event loop owns, for the periodic deadline sweep and for shutdown.
///
/// Thread ownership: the loop's thread only.
/// `@unchecked Sendable` for the same reason: created by the server, then used only on its loop.
final class LoopConnections: @unchecked Sendable {
    unowned(unsafe) let loop: EventLoop  // outlives us; with `context`, what every connection reaches via `owner`
    let context: ServerContext
    private(set) var connections: [Connection] = []
    private var spare: [UInt8] = []  // a drained output buffer, for the next connection to queue output without one
    /// Large transient output released since the last heap trim (see ``TransientHeapTrim``).
    var transient = TransientHeapTrim()
    private var sweeps: UInt = 0
    private var closes = DeferredSocketCloses()  // held back while a binary upgrade stages connections
    /// On one loop only: gives freed heap back after any burst (see ``HeapWatch``).
    var heapWatch: HeapWatch?
    /// Join payloads repeated from one join to the next on this loop, held once (see ``RepeatedJSONSharing``).
    var joinPayloads = RepeatedJSONSharing()
    /// While a binary upgrade stages: the connections changed since staged, which its rounds and pause visit alone.
    var changed = ChangedSinceStaged<Connection>()
    init(loop: EventLoop, context: ServerContext) { (self.loop, self.context) = (loop, context) }

    /// Closes a connection's socket, or keeps it (unwatched) until ``closeDeferredSockets()`` while deferring.
    func closeSocket(_ fd: Int32) { closes.close(fd, on: loop) }

    /// Whether ``closeSocket(_:)`` ends the socket at once (see ``DeferredSocketCloses/closesAtOnce``).
    var closesSocketsAtOnce: Bool { closes.closesAtOnce }

    /// Starts deferring socket closes (binary upgrade staging).
    func deferCloses() { closes.startDeferring() }

    /// Ends deferring and closes what was deferred.
    func closeDeferredSockets() { closes.closeDeferred() }

    /// Trades an empty `output` for the spare when just one of them has storage: lends the spare or keeps `output`.
    func tradeSpare(_ output: inout [UInt8]) { if (output.capacity == 0) != (spare.capacity == 0) { swap(&output, &spare) } }

    func add(_ connection: Connection) {
        connection.slot = Int32(connections.count)
        if connections.count == connections.capacity { connections.reserveCapacity(connections.count * 9 / 8 + 16) }
        connections.append(connection)
        changed.note(connection)
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

    /// The periodic sweep at `now` (the server clock's monotonic reading): every connection enforces its
    /// deadlines, then the heap is trimmed if a burst is over.
    func sweep(now: Int64) {
        // Open WebSockets' deadlines (heartbeats, idle timeout) count in seconds: checking them on every 4th sweep
        // (once a second) spares a loop of 10,000 members 30,000 checks a second. Handshakes and closes keep 250 ms.
        sweeps &+= 1
        let openWebSockets = sweeps % 4 == 0
        forEach { $0.sweep(now: now, openWebSockets: openWebSockets) }
        transient.sweep()
        heapWatch?.tick()
    }

    /// Runs `body` over a snapshot, so connections may close (and leave the list) while it runs; none is retained.
    func forEach(_ body: (Connection) -> Void) {
        let snapshot = connections  // read in place: an iterator hands out retained copies
        snapshot.withUnsafeBufferPointer { for index in $0.indices { Unmanaged.passUnretained($0[index])._withUnsafeGuaranteedRef(body) } }
    }
}
