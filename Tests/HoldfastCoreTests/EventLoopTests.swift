import Glibc
import HoldfastCore
import HoldfastTestSupport
import Synchronization
import Testing

/// Records readiness events; optionally runs an action on the first one.
final class RecordingHandler: EventHandler, @unchecked Sendable {
    var events = 0
    var onFirstEvent: (() -> Void)?

    override func handleEvent(readable: Bool, writable: Bool) {
        events += 1
        if events == 1, let action = onFirstEvent { action() }
    }

    override func flush() {}
}

func makeSocketPair() -> (Int32, Int32) {
    var fds: [Int32] = [0, 0]
    let result = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &fds)
    precondition(result == 0)
    return (fds[0], fds[1])
}

/// Runs `loop` on a thread until `body` has scheduled its stop.
func runLoop(_ loop: EventLoop, forMilliseconds milliseconds: Int64) {
    let done = Mutex(false)
    loop.execute {
        loop.schedule(afterMilliseconds: milliseconds) { loop.stop() }
    }
    let thread = TestThread { loop.run(); done.withLock { $0 = true } }
    thread.start()
    thread.join()
}

@Suite struct EventLoopTests {
    @Test func runsTasksSubmittedFromOtherThreadsOnTheLoopThread() throws {
        let loop = try EventLoop()
        let ranInLoop = Mutex<[Bool]>([])
        let thread = TestThread { loop.run() }
        thread.start()
        for _ in 0..<100 {
            loop.execute { ranInLoop.withLock { $0.append(loop.isInLoop) } }
        }
        loop.execute { loop.stop() }
        thread.join()
        #expect(ranInLoop.withLock { $0 } == Array(repeating: true, count: 100))
    }

    @Test func firesTimersAfterTheirDelay() throws {
        let loop = try EventLoop()
        let fired = Mutex<[Int64]>([])
        let start = MonotonicClock.nowMilliseconds()
        loop.execute {
            loop.schedule(afterMilliseconds: 30) { fired.withLock { $0.append(MonotonicClock.nowMilliseconds() - start) } }
            let cancelled = loop.schedule(afterMilliseconds: 10) { fired.withLock { $0.append(-1) } }
            loop.cancel(cancelled)
        }
        runLoop(loop, forMilliseconds: 80)
        let elapsed = fired.withLock { $0 }
        #expect(elapsed.count == 1)
        #expect(elapsed[0] >= 30)
    }

    @Test func deliversReadinessToTheRegisteredHandler() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        defer { close(a); close(b) }
        let handler = RecordingHandler()
        handler.onFirstEvent = { loop.deregister(fd: a) }
        loop.execute { try? loop.register(fd: a, interest: .readable, handler: handler) }
        _ = write(b, "x", 1)
        runLoop(loop, forMilliseconds: 50)
        #expect(handler.events == 1)
    }

    /// Two fds are readable in the same epoll batch. Whichever handler runs first closes the other fd and
    /// registers a fresh, idle socket that reuses its number: the batch's stale event for the old fd must not
    /// reach the new handler.
    @Test func dropsStaleEventsForAnFdReusedInTheSameBatch() throws {
        let loop = try EventLoop()
        let (p0, p1) = makeSocketPair()
        let (q0, q1) = makeSocketPair()
        let first = RecordingHandler()
        let second = RecordingHandler()
        let newcomer = RecordingHandler()
        var replacement: (Int32, Int32) = (-1, -1)
        func replace(_ victim: Int32) {
            loop.deregister(fd: victim)
            close(victim)
            let fresh = makeSocketPair()
            // Put the fresh, idle socket on the victim's number explicitly (other tests open fds concurrently, so
            // "lowest free number" cannot be relied on).
            if fresh.0 != victim {
                dup2(fresh.0, victim)
                close(fresh.0)
            }
            replacement = (victim, fresh.1)
            #expect((try? loop.register(fd: victim, interest: .readable, handler: newcomer)) != nil)
        }
        first.onFirstEvent = { if second.events == 0 { replace(q0) } }
        second.onFirstEvent = { if first.events == 0 { replace(p0) } }
        loop.execute {
            try? loop.register(fd: p0, interest: .readable, handler: first)
            try? loop.register(fd: q0, interest: .readable, handler: second)
        }
        _ = write(p1, "x", 1)
        _ = write(q1, "x", 1)
        runLoop(loop, forMilliseconds: 50)
        #expect(replacement.0 == p0 || replacement.0 == q0)
        #expect(newcomer.events == 0)
        #expect(first.events + second.events >= 1)
        for fd in [p1, q1, replacement.0, replacement.1] { close(fd) }
    }
}
