import Glibc
import HoldfastCore
import Testing

/// `EventLoop.close(fd:shared:)`: a socket this process alone holds is closed without an `epoll_ctl` (the kernel
/// drops the registration with the last descriptor); one another descriptor still holds is deleted explicitly.
@Suite struct EventLoopCloseTests {
    @Test func closesASocketItAloneHolds() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        defer { close(b) }
        let handler = RecordingHandler()
        loop.execute {
            try? loop.register(fd: a, interest: .readable, handler: handler, closesAlone: true)
            loop.close(fd: a)
        }
        runLoop(loop, forMilliseconds: 30)
        var byte: UInt8 = 0
        #expect(read(b, &byte, 1) == 0, "the peer sees EOF: the loop closed its end")
        #expect(handler.events == 0)
    }

    /// Another descriptor of the socket stays open (as after a binary upgrade sent it): with `shared` the loop
    /// deletes the registration, so the readable socket neither reaches a handler nor keeps waking the loop, which
    /// then sleeps until its timer.
    @Test func deregistersASocketAnotherDescriptorHolds() throws {
        let loop = try EventLoop()
        let (a, b) = makeSocketPair()
        let copy = dup(a)
        defer { close(b); close(copy) }
        let handler = RecordingHandler()
        loop.execute {
            try? loop.register(fd: a, interest: .readable, handler: handler, closesAlone: true)
            loop.close(fd: a, shared: true)
        }
        _ = write(b, "x", 1)
        runLoop(loop, forMilliseconds: 60)
        #expect(handler.events == 0)
        // A registration left behind would report the readable socket on every wait: no sleep at all.
        #expect(loop.idleNanoseconds > 30_000_000, "idle \(loop.idleNanoseconds) ns")
        var byte: UInt8 = 0
        #expect(read(copy, &byte, 1) == 1, "the other descriptor still reads the socket")
    }

    @Test func writesGatheredPartsSkippingEmptyOnes() throws {
        let (a, b) = makeSocketPair()
        defer { close(a); close(b) }
        let head: [UInt8] = Array("head-".utf8), body: [UInt8] = Array("body".utf8), none: [UInt8] = []
        let cases: [([UInt8], [UInt8], [UInt8])] = [
            (head, none, body), (none, head, none), (none, none, none), (head, body, head),
        ]
        for (first, second, third) in cases {
            let result = first.withUnsafeBytes { one in
                second.withUnsafeBytes { two in third.withUnsafeBytes { Socket.write(a, gathering: one, two, $0) } }
            }
            let expected = first + second + third
            guard case .done(let count) = result else {
                Issue.record("write failed: \(result)")
                continue
            }
            #expect(count == expected.count)
            var received = [UInt8](repeating: 0, count: 64)
            let got = expected.isEmpty ? 0 : read(b, &received, received.count)
            #expect(Array(received.prefix(max(got, 0))) == expected)
        }
    }
}
