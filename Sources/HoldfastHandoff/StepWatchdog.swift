import HoldfastCore
import Synchronization

/// Cuts a step of the handoff that runs too long.
///
/// Every wait of the protocol has its own timeout and answers with a typed failure, so the watchdog is the last
/// line: a step that blocks where no timeout reaches (a deadlock, a stuck system call, the test fault `hang`)
/// would otherwise keep the process handing over paused, or frozen, with every connection. The thread running
/// the steps brackets each one with ``begin(_:)`` and ``end()``; when one runs past the limit the watchdog
/// claims the attempt and calls `onStall` on its own thread, once. From then on ``begin(_:)`` and ``end()``
/// return false, so a stalled step that returns after all stops there instead of going on with an attempt
/// that someone else finished.
public final class StepWatchdog: Sendable {
    private struct Watch {
        var step: String?
        var startedMilliseconds: Int64 = 0
        var claimed = false
        var stopped = false
    }

    /// How long one step may run.
    public let limitMilliseconds: Int
    private let watch = Mutex(Watch())
    private let wake = ThreadSemaphore()

    /// Starts watching on a thread of its own; `onStall(step, elapsed)` runs there when a step overruns.
    public init(limitMilliseconds: Int, onStall: @escaping @Sendable (String, Int) -> Void) {
        self.limitMilliseconds = limitMilliseconds
        startThread { [self] in
            nameThisThread("hf-watchdog")
            run(onStall: onStall)
        }
    }

    /// A step starts; false when the watchdog has claimed the attempt (stop: it is not yours any more).
    public func begin(_ step: String) -> Bool {
        watch.withLock { watch in
            guard !watch.claimed else { return false }
            watch.step = step
            watch.startedMilliseconds = MonotonicClock.nowMilliseconds()
            return true
        }
    }

    /// The step ended; false when the watchdog claimed the attempt while it ran.
    public func end() -> Bool {
        watch.withLock { watch in
            guard !watch.claimed else { return false }
            watch.step = nil
            return true
        }
    }

    /// Stops watching (the attempt is over); the thread ends.
    public func stop() {
        watch.withLock { $0.stopped = true }
        wake.signal()
    }

    private func run(onStall: @Sendable (String, Int) -> Void) {
        while true {
            enum Next {
                case stop
                case wait(Int)
                case stall(String, Int)
            }
            let next: Next = watch.withLock { watch in
                if watch.stopped { return .stop }
                guard let step = watch.step else { return .wait(1_000) }
                let elapsed = Int(MonotonicClock.nowMilliseconds() - watch.startedMilliseconds)
                guard elapsed >= limitMilliseconds else { return .wait(limitMilliseconds - elapsed) }
                watch.claimed = true
                return .stall(step, elapsed)
            }
            switch next {
            case .stop:
                return
            case .wait(let milliseconds):
                wake.wait(timeoutMilliseconds: milliseconds)
            case .stall(let step, let elapsed):
                onStall(step, elapsed)
                return
            }
        }
    }
}
