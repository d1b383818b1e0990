import Glibc
import HoldfastCore
import Testing

/// `DeferredSocketCloses`: while a binary upgrade stages connections, a closed socket keeps its descriptor (its
/// number is on its way to the new process) but leaves the loop's watch; the deferred ones close together later.
@Suite struct DeferredSocketClosesTests {
    /// The closes live on the loop's thread; the box carries them into its tasks.
    final class Box: @unchecked Sendable { var closes = DeferredSocketCloses() }

    @Test func closesAtOnceWhenNotDeferring() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        defer { close(b) }
        let box = Box()
        loop.execute {
            try? loop.register(fd: a, interest: .readable, handler: RecordingHandler(), closesAlone: true)
            box.closes.close(a, on: loop)
        }
        runLoop(loop, forMilliseconds: 30)
        var byte: UInt8 = 0
        #expect(read(b, &byte, 1) == 0, "the peer sees EOF")
    }

    @Test func keepsTheDescriptorUnwatchedUntilTheDeferredCloses() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        defer { close(b) }
        let box = Box()
        let handler = RecordingHandler()
        loop.execute {
            try? loop.register(fd: a, interest: .readable, handler: handler, closesAlone: true)
            box.closes.startDeferring()
            box.closes.close(a, on: loop)
        }
        _ = write(b, "x", 1)
        runLoop(loop, forMilliseconds: 40)
        #expect(handler.events == 0, "the deferred socket left the loop's watch")
        var byte: UInt8 = 0
        #expect(read(b, &byte, 1) == -1 && errno == EAGAIN, "no EOF yet: the descriptor is still open")
        #expect(read(a, &byte, 1) == 1, "the deferred descriptor still reads the socket")
        box.closes.closeDeferred()
        #expect(read(b, &byte, 1) == 0, "the peer sees EOF once the deferred closes ran")
    }

    @Test func closesEndSocketsAtOnceOnlyBeforeAnyStaging() {
        // A close that must carry the FIN (a WebSocket closed without lingering) asks first: once sockets were
        // staged, a new process may hold them, and only `shutdown` reaches the peer then.
        var closes = DeferredSocketCloses()
        #expect(closes.closesAtOnce)
        closes.startDeferring()
        #expect(!closes.closesAtOnce, "deferring")
        closes.closeDeferred()
        #expect(!closes.closesAtOnce, "shared with the process the sockets were staged for")
    }
}
