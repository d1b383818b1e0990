import HoldfastCore
import Synchronization

/// What a binary upgrade reaches into: the loops, their listeners and connections. Each of those objects is
/// touched only on its own loop, through tasks the upgrade queues there.
struct HandoffRuntime: @unchecked Sendable {
    let context: ServerContext
    let loops: [EventLoop]
    let listeners: [(loop: EventLoop, listener: Listener)]
    let connections: [LoopConnections]

    /// Runs `body(index)` on every loop and waits (bounded) for all of them; nil if a loop did not answer.
    func onEveryLoop<T: Sendable>(timeoutMilliseconds: Int = 5_000, _ body: @escaping @Sendable (Int) -> T) -> [T]? {
        let results = Mutex<[T?]>(Array(repeating: nil, count: loops.count))
        let finished = ThreadSemaphore()
        for (index, loop) in loops.enumerated() {
            loop.execute {
                let value = body(index)
                results.withLock { $0[index] = value }
                finished.signal()
            }
        }
        let deadline = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        for _ in loops {
            let left = Int(deadline - MonotonicClock.nowMilliseconds())
            guard left > 0, finished.wait(timeoutMilliseconds: left) else { return nil }
        }
        return results.withLock { $0.compactMap { $0 } }
    }

    /// The listeners of loop `index`.
    func listeners(of index: Int) -> [Listener] {
        listeners.filter { $0.loop === loops[index] }.map(\.listener)
    }
}
