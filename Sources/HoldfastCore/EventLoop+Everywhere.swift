import Glibc
import Synchronization

extension Array where Element == EventLoop {
    /// Runs `body(index)` on every loop (each on its own thread, between two of its events) and waits for all of
    /// them, at most `timeoutMilliseconds` in all; nil if a loop did not answer in time.
    /// With `holding`, each loop then blocks on that semaphore until it is signalled once for it (the loops stay
    /// frozen after answering, e.g. while their state is handed to another process).
    public func runOnEach<T: Sendable>(
        timeoutMilliseconds: Int = 5_000, holding gate: ThreadSemaphore? = nil, _ body: @escaping @Sendable (Int) -> T
    ) -> [T]? {
        let results = Mutex<[T?]>(Array<T?>(repeating: nil, count: count))
        let finished = ThreadSemaphore()
        for (index, loop) in enumerated() {
            loop.execute {
                let value = body(index)
                results.withLock { $0[index] = value }
                finished.signal()
                gate?.wait()
            }
        }
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        for _ in 0..<count {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0, finished.wait(timeoutMilliseconds: left) else { return nil }
        }
        return results.withLock { $0.compactMap { $0 } }
    }
}

/// How waiting for a quiescent process ended (`waitUntilQuiescent` on the loops).
public enum Quiescence: Sendable, Equatable {
    /// Nothing ran between two barriers and the rest of the process was idle.
    case quiescent
    /// A loop did not answer a barrier.
    case unresponsive
    /// Work kept going until the deadline.
    case timedOut
}

extension Array where Element == EventLoop {
    /// Waits until nothing is left to do: `before` (checked before each barrier; false also backs off 100 µs) and
    /// `after` (checked after it) both hold, and no task or timer ran on any loop between two consecutive barriers
    /// (each loop's work count moved by the barrier's own task alone). With socket I/O paused, nothing can start new
    /// work after that.
    public func waitUntilQuiescent(
        timeoutMilliseconds: Int64 = 5_000, before: () -> Bool, after: () -> Bool
    ) -> Quiescence {
        let deadline = MonotonicClock.nowMilliseconds() + timeoutMilliseconds
        var previous: [UInt64]?
        while true {
            let idleBefore = before()
            // A loop in the middle of a fan-out's writes (its barrier ran between two handlers' flushes) is not idle.
            guard let answers = runOnEach({ index in (self[index].workCount, self[index].hasPendingFlushes) })
            else { return .unresponsive }
            let counts = answers.map(\.0)
            if idleBefore, after(), let previous, !answers.contains(where: \.1),
                zip(counts, previous).allSatisfy({ $0 == $1 + 1 })
            {
                return .quiescent
            }
            previous = counts
            guard MonotonicClock.nowMilliseconds() < deadline else { return .timedOut }
            if !idleBefore { usleep(100) }
        }
    }
}

extension EventLoop {
    /// Runs `body` on this loop once the turn that runs the tasks queued so far has written its flushes and read
    /// its sockets (a timer due at once, set by a task queued behind them: timers run after the reads, and a
    /// turn's catch-up between flushes runs tasks, never timers). A room's paced commit uses it to start after
    /// its fan-out is written, with the messages that came meanwhile. Callable from any thread.
    public func executeAfterTurn(_ body: @escaping @Sendable () -> Void) {
        execute { [self] in _ = schedule(afterMilliseconds: 0, body) }
    }
}

extension Array where Element == EventLoop {
    /// Waits until every loop has run the tasks queued on it before the call and written what they queued
    /// (``EventLoop/whenFlushed(_:)``), at most `timeoutMilliseconds`; false on timeout. The loops keep serving:
    /// a binary upgrade calls it before it pauses socket I/O, so the fan-outs already accepted are written while
    /// the server serves rather than in the pause.
    public func waitUntilFlushed(timeoutMilliseconds: Int) -> Bool {
        let finished = ThreadSemaphore()
        for loop in self { loop.execute { loop.whenFlushed { finished.signal() } } }
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        for _ in 0..<count {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0, finished.wait(timeoutMilliseconds: left) else { return false }
        }
        return true
    }
}
