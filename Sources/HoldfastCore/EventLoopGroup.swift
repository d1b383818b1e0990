import Glibc
import Synchronization

/// A fixed set of event loops, each running on its own thread.
///
/// One loop per core is the default: each loop owns its connections for their whole life, so no connection
/// state is ever shared between threads.
public final class EventLoopGroup: Sendable {
    /// The loops, in index order.
    public let loops: [EventLoop]
    private let threads = Mutex<[pthread_t]>([])

    /// Creates `count` loops (not yet running).
    public init(count: Int) throws(SystemError) {
        precondition(count > 0, "an event loop group needs at least one loop")
        var loops: [EventLoop] = []
        for index in 0..<count { loops.append(try EventLoop(index: index)) }
        self.loops = loops
    }

    /// The number of online processors, the default loop count.
    public static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Starts one thread per loop.
    public func start() {
        for loop in loops {
            let thread = spawnThread { loop.run() }
            threads.withLock { $0.append(thread) }
        }
    }

    /// Stops every loop and waits for its thread to finish.
    public func stopAndJoin() {
        for loop in loops { loop.stop() }
        join()
    }

    /// Waits for every loop thread to finish (after each loop was stopped).
    public func join() {
        let running = threads.withLock { threads -> [pthread_t] in
            defer { threads.removeAll() }
            return threads
        }
        for thread in running { pthread_join(thread, nil) }
    }
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a joinable POSIX thread running `body`, for work that must not run on an event loop (blocking disk
/// writes, for instance).
/// The thread is detached: it runs for the life of the process.
public func startThread(_ body: @escaping @Sendable () -> Void) {
    pthread_detach(spawnThread(body))
}

/// Starts a joinable POSIX thread running `body`.
func spawnThread(_ body: @escaping () -> Void) -> pthread_t {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    let result = pthread_create(&thread, nil, { raw in
        let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
        body.body()
        return nil
    }, context)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
