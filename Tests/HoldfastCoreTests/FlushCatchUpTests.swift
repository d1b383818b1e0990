import Glibc
import HoldfastTestSupport
import Synchronization
import Testing

@testable import HoldfastCore

/// A socket's queued output, written in one `write` per flush, like a connection's.
private final class QueueingHandler: EventHandler, @unchecked Sendable {
    let fd: Int32
    let loop: EventLoop
    var queue: [UInt8] = []
    var scheduled = false
    var writes = 0
    /// Runs at this handler's first flush, before it writes.
    var onFirstFlush: (() -> Void)?

    init(fd: Int32, loop: EventLoop) {
        self.fd = fd
        self.loop = loop
    }

    func append(_ text: String) {
        queue += Array(text.utf8)
        guard !scheduled else { return }
        scheduled = true
        loop.scheduleFlush(self)
    }

    override func handleEvent(readable: Bool, writable: Bool) {}

    override func flush() {
        scheduled = false
        if let action = onFirstFlush {
            onFirstFlush = nil
            action()
        }
        guard !queue.isEmpty else { return }
        let written = queue.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        precondition(written == queue.count, "a socket pair takes a few bytes at once")
        writes += 1
        queue.removeAll()
    }
}

/// What arrived on `fd` so far (nonblocking).
private func readAll(_ fd: Int32) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        bytes += buffer[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// `count` queueing handlers on real socket pairs, served by one loop. `closeAll()` closes the pairs: a test's
/// `onFirstFlush` closures may hold the fixture, so it cannot rely on being freed.
private final class QueuedSockets: @unchecked Sendable {
    let loop: EventLoop
    let pairs: [(Int32, Int32)]
    let handlers: [QueueingHandler]

    init(count: Int, loop: EventLoop) {
        self.loop = loop
        pairs = (0..<count).map { _ in makeSocketPair() }
        handlers = pairs.map { QueueingHandler(fd: $0.0, loop: loop) }
    }

    /// Queues a loop task that gives every handler `text`.
    func appendToAll(_ text: String) {
        loop.execute { for handler in self.handlers { handler.append(text) } }
    }

    /// What each peer socket received so far.
    var received: [String] { pairs.map { readAll($0.1) } }

    func closeAll() {
        for (a, b) in pairs {
            close(a)
            close(b)
        }
    }
}

/// A loop turn's large flush batch looks at the task queue as it goes: a task that arrives while it is written
/// (a room's next durable batch) runs at once, and handlers not yet written send both in one write.
@Suite struct FlushCatchUpTests {
    /// `count` handlers on real socket pairs get "B", and the first one flushed queues a task that gives every
    /// handler "C". Returns each handler's write count and what each peer socket received.
    private func run(handlers count: Int) throws -> (writes: [Int], received: [String]) {
        let sockets = QueuedSockets(count: count, loop: try EventLoop())
        defer { sockets.closeAll() }
        sockets.handlers[0].onFirstFlush = { sockets.appendToAll("C") }
        sockets.appendToAll("B")
        runLoop(sockets.loop, forMilliseconds: 50)
        return (sockets.handlers.map(\.writes), sockets.received)
    }

    @Test func aTaskArrivingDuringALargeFlushJoinsTheWritesNotYetMade() throws {
        let count = EventLoop.catchUpInterval * 3
        let (writes, received) = try run(handlers: count)
        // Every socket gets both, in order, exactly once.
        #expect(received == Array(repeating: "BC", count: count))
        // The task ran at the first look at the queue: the handlers written before it wrote twice, every
        // later one once, with both.
        let interval = EventLoop.catchUpInterval
        #expect(writes[0..<interval].allSatisfy { $0 == 2 })
        #expect(writes[interval...].allSatisfy { $0 == 1 })
    }

    @Test func aSmallFlushLeavesTheTaskToTheNextTurn() throws {
        let count = EventLoop.catchUpInterval / 2
        let (writes, received) = try run(handlers: count)
        #expect(received == Array(repeating: "BC", count: count))
        #expect(writes == Array(repeating: 2, count: count))
    }

    @Test func aStopRunDuringTheFlushEndsTheLoop() throws {
        let loop = try EventLoop()
        let count = EventLoop.catchUpInterval * 2
        let sockets = QueuedSockets(count: count, loop: loop)
        defer { sockets.closeAll() }
        sockets.handlers[0].onFirstFlush = { loop.stop() }
        sockets.appendToAll("B")
        // No timer and no socket event would wake the loop: run() must return by itself.
        let thread = TestThread { loop.run() }
        thread.start()
        thread.join()
        #expect(sockets.received == Array(repeating: "B", count: count))
    }
}

/// A binary upgrade has the loops write the fan-outs already queued before it pauses socket I/O, and its quiescence
/// check must not take a loop in the middle of a fan-out's writes for an idle one.
@Suite struct WrittenBeforeThePauseTests {
    @Test func waitUntilFlushedReturnsOnceEveryQueuedWriteIsOut() throws {
        let loop = try EventLoop()
        let count = EventLoop.catchUpInterval * 3
        let sockets = QueuedSockets(count: count, loop: loop)
        defer { sockets.closeAll() }
        // A task that arrives during the writes (the catch-up) is written before the wait ends too.
        sockets.handlers[0].onFirstFlush = { sockets.appendToAll("C") }
        let thread = TestThread { loop.run() }
        thread.start()
        sockets.appendToAll("B")
        let flushed = [loop].waitUntilFlushed(timeoutMilliseconds: 5_000)
        // Read at once, with no sleep: every byte must be in the sockets already.
        let received = sockets.received
        loop.stop()
        thread.join()
        #expect(flushed)
        #expect(received == Array(repeating: "BC", count: count))
    }

    @Test func aTaskRunInTheMiddleOfALargeFlushSeesItPending() throws {
        let loop = try EventLoop()
        let count = EventLoop.catchUpInterval * 2
        let sockets = QueuedSockets(count: count, loop: loop)
        defer { sockets.closeAll() }
        let seen = Mutex<[Bool]>([])
        // Queued during the first write, so it runs at the first look at the queue, between two writes.
        sockets.handlers[0].onFirstFlush = {
            loop.execute {
                seen.withLock { $0.append(loop.hasPendingFlushes) }
                // A later turn, with nothing queued.
                loop.schedule(afterMilliseconds: 5) { seen.withLock { $0.append(loop.hasPendingFlushes) } }
            }
        }
        sockets.appendToAll("B")
        runLoop(loop, forMilliseconds: 50)
        #expect(seen.withLock { $0 } == [true, false])
        #expect(sockets.received == Array(repeating: "B", count: count))
    }

    @Test func aLoopWithNothingQueuedAnswersAtOnce() throws {
        let loops = try (0..<2).map { try EventLoop(index: $0) }
        let threads = loops.map { loop in TestThread { loop.run() } }
        for thread in threads { thread.start() }
        let flushed = loops.waitUntilFlushed(timeoutMilliseconds: 5_000)
        for loop in loops { loop.stop() }
        for thread in threads { thread.join() }
        #expect(flushed)
    }
}
