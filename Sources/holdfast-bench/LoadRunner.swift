import Glibc
import HoldfastCore
import Synchronization

/// One process's share of a run: an ``EventLoopGroup`` whose loops each drive a ``LoopClient``.
///
/// The coordinating (main) thread only posts work to the loops and polls their published progress; it never
/// touches connection state, so the loops run without locks on the hot path.
final class LoadRunner {
    private let group: EventLoopGroup
    private let clients: [LoopClient]

    /// Splits `connections` (numbered from `firstNumber`; with `tls`, the ones it selects use TLS) and the
    /// open-loop rate, in proportion, evenly over `threads` loops and starts them.
    init(
        target: Target, tls: TLSMix? = nil, firstNumber: Int = 0, connections: Int, threads: Int, concurrency: Int, traffic: Traffic?,
        closeOnOpen: Bool = false
    ) throws {
        let loopCount = max(1, min(threads, max(connections, 1)))
        group = try EventLoopGroup(count: loopCount)
        var clients: [LoopClient] = []
        for (index, loop) in group.loops.enumerated() {
            let part = EvenSplit(total: connections, parts: loopCount).range(index)
            let share = part.count
            var loopTraffic = traffic
            if let rate = traffic?.rate, connections > 0 {
                loopTraffic?.rate = rate * Double(share) / Double(connections)
            }
            let loopConcurrency = max(1, concurrency / loopCount)
            clients.append(LoopClient(
                loop: loop, target: target, tls: tls, firstNumber: firstNumber + part.lowerBound, connections: share,
                concurrency: loopConcurrency, traffic: loopTraffic, closeOnOpen: closeOnOpen))
        }
        self.clients = clients
        group.start()
    }

    /// Opens every connection, waiting at most `timeout` seconds; stragglers count as connect failures.
    func connect(timeout: Double) {
        for client in clients { client.loop.execute { client.startConnecting() } }
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(timeout * 1e9)
        let settled = waitUntil(deadline) { client in
            client.progress.withLock { $0.settled } >= client.connectionCount
        }
        if !settled {
            for client in clients { client.loop.execute { client.abandonPending() } }
        }
    }

    /// Arms echo traffic for `window` on every loop.
    func begin(_ window: Window) {
        for client in clients { client.loop.execute { client.begin(window) } }
    }

    /// Closes every connection (closing handshake, bounded by `timeout` seconds), collects the merged
    /// result and stops the loops.
    func finish(closeTimeout timeout: Double) -> RunResult {
        let milliseconds = Int64(timeout * 1000)
        for client in clients { client.loop.execute { client.closeAll(timeoutMilliseconds: milliseconds) } }
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(timeout * 1e9) + 500_000_000
        _ = waitUntil(deadline) { client in client.progress.withLock { $0.live } == 0 }
        for client in clients { client.loop.execute { client.publishResult() } }
        _ = waitUntil(.max) { client in client.progress.withLock { $0.result != nil } }
        var merged = RunResult()
        for client in clients {
            if let result = client.progress.withLock({ $0.result }) { merged.merge(result) }
        }
        stopLoops()
        return merged
    }

    /// Stops every loop and joins its thread.
    ///
    /// `EventLoop.run()` checks its `running` flag only after `epoll_wait` returns, so a stop task that runs at
    /// the top of an iteration is followed by an unbounded wait when the loop has no fds or timers left. A 1 ms
    /// timer armed next to the stop bounds that wait.
    private func stopLoops() {
        for loop in group.loops {
            loop.execute {
                loop.stop()
                loop.schedule(afterMilliseconds: 1) {}
            }
        }
        group.join()
    }

    /// Polls every 2 ms until `condition` holds for every loop or `deadline` passes; true when it held.
    private func waitUntil(_ deadline: UInt64, _ condition: (LoopClient) -> Bool) -> Bool {
        while true {
            if clients.allSatisfy(condition) { return true }
            if MonotonicClock.nowNanoseconds() >= deadline { return false }
            usleep(2000)
        }
    }
}

/// Sleeps the calling thread until the monotonic time `nanoseconds`.
func sleep(untilNanoseconds nanoseconds: UInt64) {
    while true {
        let now = MonotonicClock.nowNanoseconds()
        guard nanoseconds > now else { return }
        let remaining = nanoseconds - now
        var spec = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
        _ = nanosleep(&spec, nil)
    }
}
