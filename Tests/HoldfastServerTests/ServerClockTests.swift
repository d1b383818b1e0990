import Foundation
import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastTestSupport
import Logging
import Testing

@testable import HoldfastServer

/// Deadlines decided by a ``ManualClock``: the server runs for real (loops, sockets, the 250 ms sweep), but an
/// hour of its time passes in a moment, and nothing times out while the clock stands still.
@Suite(.serialized) struct ServerClockTests {
    @Test func theIdleSweepClosesAWebSocketOnlyWhenTheClockPassesTheTimeout() throws {
        let clock = ManualClock()
        let idle: Int64 = 3_600_000
        let server = try TestServer(clock: clock) { $0.server.idleTimeoutMilliseconds = idle }
        defer { server.stop() }
        let client = try BlockingClient(port: server.port)
        defer { client.close() }
        client.send("GET /ws/echo HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let head = client.read(until: Array("\r\n\r\n".utf8), timeoutMilliseconds: 5_000)
        #expect(String(decoding: head, as: UTF8.self).hasPrefix("HTTP/1.1 101"))

        // Several sweeps run while the clock stands still: the connection stays open.
        #expect(client.read(until: [], timeoutMilliseconds: 800).isEmpty)
        #expect(client.isOpen)

        // Past the idle timeout by the server's clock: a sweep closes with 1000 "idle timeout". (The clock moves
        // again until then: the first sweep after the traffic only starts the idle deadline.)
        var frame: [UInt8] = []
        for _ in 0..<20 where frame.isEmpty {
            clock.advance(byMilliseconds: idle + 1)
            frame = client.read(until: Array("idle timeout".utf8), timeoutMilliseconds: 300)
        }
        #expect(frame.first == 0x88, "a close frame")
        #expect(frame.count >= 4 && UInt16(frame[2]) << 8 | UInt16(frame[3]) == 1000)
    }

    @Test func aRequestNotCompletedInTimeIsAnsweredByTheClock() throws {
        let clock = ManualClock()
        let server = try TestServer(clock: clock) { $0.server.handshakeTimeoutMilliseconds = 10_000 }
        defer { server.stop() }
        let client = try BlockingClient(port: server.port)
        defer { client.close() }
        client.send("GET /healthz HTTP/1.1\r\n")
        #expect(client.read(until: [], timeoutMilliseconds: 800).isEmpty, "no answer while the clock stands still")
        clock.advance(byMilliseconds: 10_000)
        let answer = client.read(until: Array("request timeout".utf8), timeoutMilliseconds: 5_000)
        #expect(String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.1 408"))
    }
}

/// A server on an ephemeral port with its own state directory, one loop and the given clock.
private struct TestServer {
    let server: Server
    let port: UInt16

    init(clock: ManualClock, configure: (inout Configuration) -> Void) throws {
        var template = Array((NSTemporaryDirectory() + "/holdfast-clock-tests-XXXXXX").utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }
        var configuration = Configuration()
        configuration.server.listen = SocketAddress(host: "127.0.0.1", port: 0)
        configuration.admin.listen = SocketAddress(host: "127.0.0.1", port: 0)
        configuration.server.eventLoops = 1
        configuration.server.stateDirectory = try #require(directory)
        configuration.server.handlersPath = Self.binDirectory + "/libChatHandlers.so"
        configuration.server.shutdownTimeoutMilliseconds = 1_000
        configure(&configuration)
        var logger = Logger(label: "clock-tests")
        logger.logLevel = .warning
        server = try Server(configuration: configuration, logger: logger, clock: .manual(clock))
        try server.start()
        port = try #require(server.boundAddress?.port)
    }

    /// Where SwiftPM put the test executable, and libChatHandlers.so beside it.
    static var binDirectory: String {
        URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    func stop() { server.shutdown() }
}

/// A plain blocking TCP client with bounded reads.
private final class BlockingClient {
    let fd: Int32
    private(set) var isOpen = true

    init(port: UInt16) throws {
        fd = connectToLoopback(port: port)
        try #require(fd >= 0)
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Reads until the bytes contain `needle` (an empty needle: until the timeout or EOF) or the time is up.
    func read(until needle: [UInt8], timeoutMilliseconds: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = MonotonicClock.nowMilliseconds() + Int64(timeoutMilliseconds)
        while isOpen {
            if !needle.isEmpty, contains(received, needle) { break }
            let left = end - MonotonicClock.nowMilliseconds()
            guard left > 0 else { break }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(left)) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count <= 0 {
                isOpen = false
            } else {
                received += buffer[0..<count]
            }
        }
        return received
    }

    func close() { Glibc.close(fd) }

    private func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
