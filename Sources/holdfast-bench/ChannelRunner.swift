import Glibc
import HoldfastCore
import Synchronization

/// One process's share of a channel scenario: an ``EventLoopGroup`` whose loops each drive a ``ChannelClient``.
///
/// As in ``LoadRunner``, the coordinating thread only posts work to the loops and polls their published progress.
final class ChannelRunner: FleetRunner {
    private let group: EventLoopGroup
    private let clients: [ChannelClient]
    private let scenario: ChannelPlan.Scenario

    /// Splits `users` into contiguous shares over `threads` loops (and the open-loop rate over the loops in
    /// proportion to their publishers) and starts the loops.
    init(plan: ChannelPlan, users: [(ChannelRole, String)], threads: Int) throws {
        let loopCount = max(1, min(threads, max(users.count, 1)))
        group = try EventLoopGroup(count: loopCount)
        scenario = plan.scenario
        let publishers = users.count { $0.0 == .publisher }
        var clients: [ChannelClient] = []
        let split = EvenSplit(total: users.count, parts: loopCount)
        for (index, loop) in group.loops.enumerated() {
            let slice = Array(users[split.range(index)])
            var loopPlan = plan
            loopPlan.concurrency = max(1, plan.concurrency / loopCount)
            loopPlan.joinConcurrency = max(1, plan.joinConcurrency / loopCount)
            if plan.scenario == .chat, let rate = plan.rate {
                // chat: `rate` is per member; each loop sends for its own members.
                loopPlan.rate = rate * Double(slice.count)
            } else if let rate = plan.rate, publishers > 0 {
                loopPlan.rate = rate * Double(slice.count { $0.0 == .publisher }) / Double(publishers)
            }
            clients.append(ChannelClient(loop: loop, plan: loopPlan, users: slice))
        }
        self.clients = clients
        group.start()
    }

    /// Opens (broadcast: and joins) every connection, waiting at most `timeout` seconds.
    func connect(timeout: Double) {
        for client in clients { client.loop.execute { client.startConnecting() } }
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(timeout * 1e9)
        let settled = waitUntil(deadline) { client in
            client.progress.withLock { $0.settled } >= client.memberCount
        }
        if !settled {
            for client in clients { client.loop.execute { client.abandonPending() } }
            usleep(100_000)
        }
    }

    func begin(_ window: Window) {
        for client in clients { client.loop.execute { client.begin(window) } }
    }

    /// broadcast: waits until no publisher ack is outstanding and every joined subscriber received `expected`
    /// messages; presence-burst: until every joinable member's view is complete. Bounded by `deadline`.
    func settle(deadline: UInt64, expected: UInt64) {
        let scenario = self.scenario
        _ = waitUntil(deadline, refresh: true) { client in
            client.progress.withLock { progress in
                switch scenario {
                case .broadcast:
                    progress.pendingAcks == 0 && progress.deliveries >= expected * UInt64(progress.subscribersJoined)
                case .presenceBurst:
                    progress.membersComplete >= progress.membersJoinable
                case .chat:
                    progress.pendingAcks == 0 && progress.reconnecting == 0
                }
            }
        }
    }

    /// upgrade: tells every loop the upgrades' times, so that ``finish(closeTimeout:)`` sorts what they saw.
    func attribute(to phases: UpgradePhases) {
        for client in clients { client.loop.execute { client.phases = phases } }
    }

    /// Chat messages acknowledged so far by this process's publishers.
    func acknowledged() -> UInt64 {
        refreshAll()
        return clients.reduce(0) { $0 + $1.progress.withLock { $0.acked } }
    }

    /// soak: the merged counts of every loop so far (see ``ChannelClient/publishSample()``).
    func sample() -> ChannelResult {
        for client in clients {
            client.progress.withLock { $0.sample = nil }
            client.loop.execute { client.publishSample() }
        }
        _ = waitUntil(.max) { client in client.progress.withLock { $0.sample != nil } }
        var merged = ChannelResult()
        for client in clients {
            if let sample = client.progress.withLock({ $0.sample }) { merged.merge(sample) }
        }
        return merged
    }

    /// soak: holds churn off (around an upgrade) or lets it go on.
    func pauseChurn(_ paused: Bool) {
        for client in clients { client.loop.execute { client.churnPaused = paused } }
    }

    /// soak: marks an upgrade as under way (every presence_diff meanwhile is a flap) or over.
    func upgradeWindow(_ open: Bool) {
        for client in clients { client.loop.execute { client.upgradeWindow = open } }
    }

    func quiet() {
        let pending = Mutex(clients.count)
        for client in clients {
            client.loop.execute {
                client.quieted = true
                pending.withLock { $0 -= 1 }
            }
        }
        while pending.withLock({ $0 }) > 0 { usleep(1000) }
    }

    func finish(closeTimeout timeout: Double) -> ChannelResult {
        let milliseconds = Int64(timeout * 1000)
        for client in clients { client.loop.execute { client.closeAll(timeoutMilliseconds: milliseconds) } }
        let deadline = MonotonicClock.nowNanoseconds() + UInt64(timeout * 1e9) + 500_000_000
        _ = waitUntil(deadline) { client in client.progress.withLock { $0.live } == 0 }
        for client in clients { client.loop.execute { client.publishResult() } }
        _ = waitUntil(.max) { client in client.progress.withLock { $0.result != nil } }
        var merged = ChannelResult()
        for client in clients {
            if let result = client.progress.withLock({ $0.result }) { merged.merge(result) }
        }
        for loop in group.loops {
            loop.execute {
                loop.stop()
                loop.schedule(afterMilliseconds: 1) {}
            }
        }
        group.join()
        return merged
    }

    /// Has every loop publish its progress and waits until all have: a condition checked on a snapshot from before
    /// the traffic (no acks pending, nothing delivered) would let a drain end while messages are still in flight.
    private func refreshAll() {
        let refreshed = ThreadSemaphore()
        for client in clients { client.loop.execute { client.refreshProgress(); refreshed.signal() } }
        for _ in clients { _ = refreshed.wait(timeoutMilliseconds: 5_000) }
    }

    /// Polls every 2 ms (asking the loops to republish their counters every 50 ms when `refresh`) until
    /// `condition` holds for every loop or `deadline` passes; true when it held.
    private func waitUntil(_ deadline: UInt64, refresh: Bool = false, _ condition: (ChannelClient) -> Bool) -> Bool {
        var polls = 0
        while true {
            if refresh, polls % 25 == 0 { refreshAll() }
            polls += 1
            if clients.allSatisfy(condition) { return true }
            if MonotonicClock.nowNanoseconds() >= deadline { return false }
            usleep(2000)
        }
    }
}
