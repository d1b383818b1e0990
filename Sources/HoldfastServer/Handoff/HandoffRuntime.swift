import HoldfastCore

/// What a binary upgrade reaches into: the loops, their listeners and connections. Each of those objects is
/// touched only on its own loop, through tasks the upgrade queues there.
struct HandoffRuntime: @unchecked Sendable {
    let context: ServerContext
    let loops: [EventLoop]
    let listeners: [(loop: EventLoop, listener: Listener)]
    let connections: [LoopConnections]

    /// Runs `body(index)` on every loop and waits (bounded) for all of them; nil if a loop did not answer.
    func onEveryLoop<T: Sendable>(timeoutMilliseconds: Int = 5_000, _ body: @escaping @Sendable (Int) -> T) -> [T]? {
        loops.runOnEach(timeoutMilliseconds: timeoutMilliseconds, body)
    }

    /// The listeners of loop `index`.
    func listeners(of index: Int) -> [Listener] {
        listeners.filter { $0.loop === loops[index] }.map(\.listener)
    }
}
