import Histogram
import HoldfastCore
import Synchronization

/// The echo traffic one loop generates.
struct Traffic: Sendable {
    /// Payload bytes per message.
    var size: Int
    /// Text frames (hex timestamp) instead of binary ones.
    var text: Bool
    /// Messages kept in flight per connection (closed loop).
    var pipeline: Int
    /// Messages per second for this loop's connections together (open loop), or nil for closed loop.
    var rate: Double?
}

/// The measured window, in monotonic nanoseconds shared by every process on the machine.
struct Window: Sendable {
    /// Traffic starts here; answers before `measureStart` are warm-up and not counted.
    var warmupStart: UInt64
    var measureStart: UInt64
    /// Sending stops here and later answers are ignored.
    var measureEnd: UInt64
}

/// Progress a loop publishes to the coordinating thread.
struct LoopProgress: Sendable {
    /// Connections that opened or failed so far.
    var settled = 0
    /// Connections whose fd is still open.
    var live = 0
    /// The loop's result, once asked for with ``LoopClient/publishResult()``.
    var result: RunResult?
}

/// One loop's share of the connections, with their counters, histogram and traffic pacing.
///
/// Thread ownership: everything but `progress` is confined to `loop`'s thread; the coordinator reaches it only
/// through `loop.execute`, hence `@unchecked Sendable`.
final class LoopClient: ConnectionOwner, @unchecked Sendable {
    let loop: EventLoop
    /// Published state, read by the coordinating thread.
    let progress = Mutex(LoopProgress())

    private let target: Target
    /// The connections that use TLS instead of `target`, if any.
    private let tls: TLSMix?
    /// The number of this loop's first connection over the whole run (decides which ones use TLS).
    private let firstNumber: Int
    let connectionCount: Int
    private let concurrency: Int
    let traffic: Traffic?
    /// Closes each connection as soon as its handshake completes (the `handshakes` scenario), so the run measures
    /// opening and closing alone, with at most `concurrency` handshakes and their closes in progress.
    let closeOnOpen: Bool
    // Loop-thread state, shared with the traffic extension.
    var connections: [ClientConnection] = []
    /// Connections that completed the handshake, in order: the open loop sends round-robin over them.
    var open: [ClientConnection] = []
    var result = RunResult()
    var histogram = RunResult.emptyHistogram()
    var window: Window?
    /// The open loop's next message number; its scheduled time is derived from it, so pacing never drifts.
    var sequence = 0
    private var handshaking = 0
    private var live = 0
    private var random = SplitMix()
    // Connections of the share that never got an object (socket or connect failed at once, or timed out unstarted).
    private var skipped = 0

    /// Creates the share of `connections` numbered from `firstNumber`; nothing happens until
    /// ``startConnecting()`` runs on the loop.
    init(
        loop: EventLoop, target: Target, tls: TLSMix? = nil, firstNumber: Int = 0, connections: Int, concurrency: Int,
        traffic: Traffic?, closeOnOpen: Bool = false
    ) {
        self.loop = loop
        self.closeOnOpen = closeOnOpen
        self.target = target
        self.tls = tls
        self.firstNumber = firstNumber
        self.connectionCount = connections
        self.concurrency = max(1, concurrency)
        self.traffic = traffic
        result.connectionsRequested = connections
        if let tls { result.tlsConnections = (firstNumber..<(firstNumber + connections)).count { tls.selects($0) } }
    }

    /// A fresh masking key.
    func nextMaskKey() -> UInt32 { UInt32(truncatingIfNeeded: random.next()) }

    // MARK: Connecting (bounded number of handshakes in progress)

    /// Starts connections until `concurrency` handshakes are in progress; called again as each one settles.
    func startConnecting() {
        while handshaking < concurrency, connections.count + skipped < connectionCount {
            let now = MonotonicClock.nowNanoseconds()
            result.connectStartNanoseconds = min(result.connectStartNanoseconds, now)
            let tlsMix = tls.flatMap { $0.selects(firstNumber + connections.count + skipped) ? $0 : nil }
            let target = tlsMix?.target ?? self.target
            switch target.startConnect() {
            case .failure(let error):
                result.connectFailures += 1
                result.noteError("\(error)")
                skipped += 1
            case .success(let fd):
                let connection: ClientConnection
                do {
                    connection = ClientConnection(
                        owner: self, fd: fd, handshake: Handshake(target: target, random: &random), tls: try tlsMix?.client())
                    try loop.register(fd: fd, interest: .writable, handler: connection)
                } catch {
                    Socket.close(fd)
                    result.connectFailures += 1
                    result.noteError("\(error)")
                    skipped += 1
                    continue
                }
                connections.append(connection)
                handshaking += 1
                live += 1
            }
        }
        publishProgress()
    }

    /// Fails every connection still connecting or handshaking, and every one not yet started.
    func abandonPending() {
        let unstarted = connectionCount - connections.count - skipped
        if unstarted > 0 {
            result.connectFailures += unstarted
            result.noteError("not started before the connect timeout", count: unstarted)
            skipped += unstarted
        }
        for connection in connections where connection.state == .connecting || connection.state == .handshaking {
            connection.fail("handshake timed out")
        }
        publishProgress()
    }

    func publishProgress() {
        let settled = result.connectionsOpened + result.connectFailures
        let live = self.live
        progress.withLock {
            $0.settled = settled
            $0.live = live
        }
    }

    // MARK: Connection callbacks

    func connectionOpened(_ connection: ClientConnection) {
        handshaking -= 1
        result.connectionsOpened += 1
        if connection.isTLS { result.tlsOpened += 1 }
        result.connectEndNanoseconds = max(result.connectEndNanoseconds, MonotonicClock.nowNanoseconds())
        if closeOnOpen {
            connection.close()
        } else {
            open.append(connection)
        }
        startConnecting()
    }

    func connectionFailed(_ connection: ClientConnection, reason: String) {
        handshaking -= 1
        result.connectFailures += 1
        result.noteError(reason)
        startConnecting()
    }

    func connectionLost(_ connection: ClientConnection, reason: String, violation: Bool) {
        if violation { result.protocolViolations += 1 } else { result.unexpectedCloses += 1 }
        result.noteError(reason)
    }

    func connectionTerminated(_ connection: ClientConnection) {
        live -= 1
        publishProgress()
    }
}
