import Glibc
import HoldfastCore
import HoldfastTestSupport
import Testing

@Suite struct SocketTests {
    @Test func parsesListenAddresses() {
        #expect(SocketAddress(parsing: "127.0.0.1:4000") == SocketAddress(host: "127.0.0.1", port: 4000))
        #expect(SocketAddress(parsing: "[::1]:4443") == SocketAddress(host: "::1", port: 4443))
        #expect(SocketAddress(parsing: ":9") == SocketAddress(host: "127.0.0.1", port: 9))
        #expect(SocketAddress(parsing: "localhost") == nil)
        #expect(SocketAddress(parsing: "1.2.3.4:70000") == nil)
        #expect(SocketAddress(host: "::1", port: 1).description == "[::1]:1")
    }

    @Test func listensOnAnEphemeralPortAndAccepts() throws {
        let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), reusePort: true)
        defer { Socket.close(listener) }
        let bound = try SocketAddress.local(of: listener)
        #expect(bound.port != 0)
        guard case .wouldBlock = Socket.accept(listener) else {
            Issue.record("accept on an idle listener must report wouldBlock")
            return
        }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = bound.port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        var accepted: Int32 = -1
        for _ in 0..<100 {
            if case .done(let fd) = Socket.accept(listener) { accepted = fd; break }
            usleep(1000)
        }
        #expect(accepted >= 0)
        _ = "ping".withCString { write(client, $0, 4) }
        usleep(10_000)
        var buffer = [UInt8](repeating: 0, count: 16)
        let result = buffer.withUnsafeMutableBytes { Socket.read(accepted, into: $0) }
        guard case .done(4) = result else {
            Issue.record("expected 4 bytes, got \(result)")
            return
        }
        Socket.close(accepted)
    }

    /// A connected pair: a client socket and the listener's accepted socket (non-blocking).
    private func connectedPair() throws -> (listener: Int32, client: Int32, server: Int32) {
        let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), reusePort: false)
        let port = try SocketAddress.local(of: listener).port
        let client = connectToLoopback(port: port)
        #expect(client >= 0)
        for _ in 0..<100 {
            if case .done(let server) = Socket.accept(listener) { return (listener, client, server) }
            usleep(1000)
        }
        Issue.record("no connection accepted")
        throw SystemError("accept", code: EAGAIN)
    }

    private func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32 {
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(fd, level, name, &value, &length) == 0)
        return value
    }

    /// Segments the socket has sent (`tcpi_segs_out` of `TCP_INFO`, at its fixed offset in the kernel's structure,
    /// which only ever grows at its end; Glibc's `tcp_info` predates the field).
    private func segmentsSent(_ fd: Int32) -> UInt32 {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        let result = info.withUnsafeMutableBytes {
            getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, $0.baseAddress, &length)
        }
        #expect(result == 0 && length >= 144)
        return info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 136, as: UInt32.self) }
    }

    /// Reads from a blocking socket until EOF.
    private func readToEnd(_ fd: Int32) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return received }
            received += buffer[..<count]
        }
    }

    @Test func acceptedSocketsInheritNoDelayFromTheListener() throws {
        let (listener, client, server) = try connectedPair()
        defer { [listener, client, server].forEach { Socket.close($0) } }
        #expect(option(listener, Int32(IPPROTO_TCP), TCP_NODELAY) != 0)
        #expect(option(server, Int32(IPPROTO_TCP), TCP_NODELAY) != 0)
    }

    /// The last bytes before a shutdown leave with the FIN in one segment, and arrive whole before the end of input;
    /// written without `beforeShutdown`, the same bytes and FIN take two segments.
    @Test(arguments: [true, false])
    func bytesBeforeAShutdownLeaveWithTheFIN(beforeShutdown: Bool) throws {
        let (listener, client, server) = try connectedPair()
        defer { [listener, client, server].forEach { Socket.close($0) } }
        let frame: [UInt8] = [0x88, 0x02, 0x03, 0xE8]
        let before = segmentsSent(server)
        let result = frame.withUnsafeBytes { Socket.write(server, $0, beforeShutdown: beforeShutdown) }
        guard case .done(frame.count) = result else {
            Issue.record("expected \(frame.count) bytes written, got \(result)")
            return
        }
        #expect(shutdown(server, Int32(SHUT_WR)) == 0)
        #expect(segmentsSent(server) - before == (beforeShutdown ? 1 : 2))
        #expect(readToEnd(client) == frame)
    }

    @Test func refusesAnAddressInUseWithATypedError() throws {
        let first = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), reusePort: false)
        defer { Socket.close(first) }
        let port = try SocketAddress.local(of: first).port
        #expect(throws: SystemError.self) {
            try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: port), reusePort: false)
        }
    }
}
