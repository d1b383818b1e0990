import Glibc
import HoldfastCore
import Synchronization
import Testing

/// What the handlers of one test did, in order.
private final class EventLog: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var entries: [String] { lines.withLock { $0 } }
}

/// A handler that writes what happens to it (its calls, its own work after letting go of itself, its end) to a
/// shared log, so a test can see whether the loop freed it while its call still ran.
private final class LoggingHandler: EventHandler, @unchecked Sendable {
    let name: String
    let log: EventLog
    var onEvent: ((LoggingHandler) -> Void)?
    var payload = [UInt8](repeating: 7, count: 64)  // touched after the handler lets go of itself

    init(_ name: String, log: EventLog) {
        self.name = name
        self.log = log
    }

    deinit { log.append("\(name) freed") }

    override func handleEvent(readable: Bool, writable: Bool) {
        log.append("\(name) called")
        onEvent?(self)
        let sum = payload.reduce(0) { $0 &+ Int($1) }
        log.append("\(name) returned \(sum)")
    }
}

/// Writes a byte to each peer so that their other ends turn readable in one batch, runs the loop, then closes the
/// peers.
private func makeReadable(_ loop: EventLoop, peers: [Int32]) {
    for peer in peers { _ = write(peer, "x", 1) }
    runLoop(loop, forMilliseconds: 50)
    for peer in peers { close(peer) }
}

/// The loop calls handlers without retaining them per event; these tests show that no handler is freed while
/// its own call runs, and that a handler let go of earlier in a batch is neither called nor kept.
@Suite struct HandlerLifetimeTests {
    /// A connection closing itself: the loop's reference is its last, yet it lives until its call returns.
    @Test func aHandlerClosingItselfLivesUntilItsCallReturns() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        let log = EventLog()
        loop.execute {
            let handler = LoggingHandler("a", log: log)
            handler.onEvent = { _ in loop.close(fd: a) }
            try? loop.register(fd: a, interest: .readable, handler: handler)
        }
        makeReadable(loop, peers: [b])
        #expect(log.entries == ["a called", "a returned 448", "a freed"])
    }

    /// Replaced during its own call (as across an upgrade): the old handler lives until the call returns, is then
    /// freed, and the new one gets the fd's next event.
    @Test func aHandlerReplacedDuringItsCallLivesUntilItReturns() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        let log = EventLog()
        loop.execute {
            let old = LoggingHandler("old", log: log)
            old.onEvent = { _ in
                let new = LoggingHandler("new", log: log)
                new.onEvent = { _ in loop.close(fd: a) }
                loop.replaceHandler(fd: a, with: new)
            }
            try? loop.register(fd: a, interest: .readable, handler: old)
        }
        makeReadable(loop, peers: [b])
        #expect(
            log.entries == [
                "old called", "old returned 448", "old freed", "new called", "new returned 448", "new freed",
            ])
    }

    /// Two handlers readable in the same batch, each closing the other's fd and then its own: whichever runs
    /// first frees the other at once (it is not being called), which then gets no call; both are freed.
    @Test func aHandlerClosedEarlierInTheBatchIsNotCalled() throws {
        let loop = try EventLoop()
        let (p0, p1) = makeSocketPair()
        let (q0, q1) = makeSocketPair()
        let log = EventLog()
        loop.execute {
            let first = LoggingHandler("p", log: log)
            let second = LoggingHandler("q", log: log)
            first.onEvent = { _ in
                loop.close(fd: q0)
                loop.close(fd: p0)
            }
            second.onEvent = { _ in
                loop.close(fd: p0)
                loop.close(fd: q0)
            }
            try? loop.register(fd: p0, interest: .readable, handler: first)
            try? loop.register(fd: q0, interest: .readable, handler: second)
        }
        makeReadable(loop, peers: [p1, q1])
        let entries = log.entries
        let caller = entries.first?.first.map(String.init) ?? "?"
        let other = caller == "p" ? "q" : "p"
        #expect(entries == ["\(caller) called", "\(other) freed", "\(caller) returned 448", "\(caller) freed"])
    }

    /// One handler on two fds, closing both during one call: it lives until the call returns, then is freed once.
    @Test func aHandlerOnTwoFdsClosingBothLivesUntilItsCallReturns() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        let (c, d) = makeSocketPair()
        let log = EventLog()
        loop.execute {
            let handler = LoggingHandler("h", log: log)
            handler.onEvent = { _ in
                loop.close(fd: a)
                loop.close(fd: c)
            }
            try? loop.register(fd: a, interest: .readable, handler: handler)
            try? loop.register(fd: c, interest: .readable, handler: handler)
        }
        makeReadable(loop, peers: [b, d])
        #expect(log.entries == ["h called", "h returned 448", "h freed"])
    }
}
