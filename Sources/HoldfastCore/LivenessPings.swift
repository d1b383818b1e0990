import Glibc
import Synchronization

/// Feeds systemd's watchdog (`WatchdogSec=` in the unit) while every event loop is responsive.
///
/// systemd passes the watchdog period in `WATCHDOG_USEC` (and, optionally, the pid it expects pings from in
/// `WATCHDOG_PID`). A thread of its own runs a round every half period: it queues a no-op on every loop and sends
/// `WATCHDOG=1` only when all of them ran it within the half period. A process whose loops hang (a deadlock, a
/// stuck system call, a takeover that never gets to serve) therefore stops pinging, and systemd kills it and
/// starts it again (`Restart=`); clients then reconnect and recover what they missed from history. A loop that
/// is only busy for a moment misses one round, not the period.
public final class LivenessPings: Sendable {
    /// Half the watchdog period: how often a round runs, and how long the loops get to answer one.
    public let roundMilliseconds: Int
    private let notifier: SystemdNotifier
    private let loops: [EventLoop]
    private let onMissed: @Sendable (_ answered: Int, _ loops: Int) -> Void
    private let stopped = Atomic<Bool>(false)
    private let wake = ThreadSemaphore()

    /// The watchdog period systemd asked for, in milliseconds; nil when there is none for this process (no
    /// `WATCHDOG_USEC`, a value that is not a positive number, or a `WATCHDOG_PID` that names another process).
    public static func periodMilliseconds(environment: [String: String], pid: Int32) -> Int? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Int(text), microseconds > 0 else {
            return nil
        }
        if let owner = environment["WATCHDOG_PID"], !owner.isEmpty, owner != "\(pid)" { return nil }
        return max(1, microseconds / 1000)
    }

    /// Pings for `loops` through `notifier` when systemd asked for a watchdog (`environment`), else nil.
    /// `onMissed` runs on the pinging thread after a round in which not every loop answered.
    public init?(
        notifier: SystemdNotifier, loops: [EventLoop], environment: [String: String],
        onMissed: @escaping @Sendable (_ answered: Int, _ loops: Int) -> Void
    ) {
        guard notifier.isEnabled, let period = Self.periodMilliseconds(environment: environment, pid: getpid()) else {
            return nil
        }
        roundMilliseconds = max(1, period / 2)
        self.notifier = notifier
        self.loops = loops
        self.onMissed = onMissed
    }

    /// Starts the rounds, the first one right away.
    public func start() {
        startThread { [self] in run() }
    }

    /// Ends the rounds (shutdown, or this process hands over and exits).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        wake.signal()
    }

    private func run() {
        while !stopped.load(ordering: .acquiring) {
            let started = MonotonicClock.nowMilliseconds()
            let answered = round()
            guard !stopped.load(ordering: .acquiring) else { return }
            if answered == loops.count {
                _ = try? notifier.notify("WATCHDOG=1")
            } else {
                onMissed(answered, loops.count)
            }
            let left = roundMilliseconds - Int(MonotonicClock.nowMilliseconds() - started)
            if left > 0 { wake.wait(timeoutMilliseconds: left) }
        }
    }

    /// Queues a no-op on every loop; how many ran it within the round.
    private func round() -> Int {
        let ran = ThreadSemaphore()
        for loop in loops { loop.execute { ran.signal() } }
        let deadline = MonotonicClock.nowMilliseconds() + Int64(roundMilliseconds)
        var answered = 0
        while answered < loops.count {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0, ran.wait(timeoutMilliseconds: left) else { break }
            answered += 1
        }
        return answered
    }
}
