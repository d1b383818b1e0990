import Glibc
import HoldfastCore
import HoldfastHandoff
import HoldfastTestSupport
import Synchronization
import Testing

/// A loopback TCP connection: the listener, the client end and the accepted server end.
private func makeTCPConnection() throws -> (listener: Int32, client: Int32, server: Int32) {
    let listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), reusePort: false)
    let port = try SocketAddress.local(of: listener).port
    let client = connectToLoopback(port: port)
    precondition(client >= 0, "connect failed")
    for _ in 0..<1000 {
        if case .done(let server) = Socket.accept(listener) { return (listener, client, server) }
        usleep(1000)
    }
    fatalError("no connection accepted")
}

/// A pipe: (read end, write end).
private func makePipe() -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    precondition(pipe(&fds) == 0)
    return (fds[0], fds[1])
}

private func isOpen(_ fd: Int32) -> Bool {
    var status = stat()
    return fstat(fd, &status) == 0
}

private func inode(_ fd: Int32) -> UInt? {
    var status = stat()
    return fstat(fd, &status) == 0 ? UInt(status.st_ino) : nil
}

/// Waits up to `milliseconds` for `fd` to become readable, then reads; nil on timeout.
private func readWithin(_ fd: Int32, milliseconds: Int32, count: Int = 64) -> [UInt8]? {
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    guard poll(&entry, 1, milliseconds) == 1 else { return nil }
    var buffer = [UInt8](repeating: 0, count: count)
    let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
    return n >= 0 ? Array(buffer[0..<n]) : nil
}

/// True when every copy of a pipe's write end is closed (the read end reports EOF at once): a received copy
/// that was leaked would keep the pipe open.
private func pipeIsClosedForWriting(_ readEnd: Int32) -> Bool {
    readWithin(readEnd, milliseconds: 1000) == []
}

/// One serialized suite: the tests below change process-wide state (the fd table, RLIMIT_NOFILE), so none of
/// them may run while another of them does. The fd-table-heavy ones come last, after the quick suites of this
/// module have finished.
@Suite(.serialized) struct HandoffChannelTests {
    @Test func passesAConnectedTCPSocketThatStillReachesTheClient() throws {
        let (listener, client, server) = try makeTCPConnection()
        defer { close(listener); close(client) }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }

        try sender.send(Array("conn 1".utf8), fds: [server], timeoutMilliseconds: 1000)
        close(server)
        let (payload, fds) = try receiver.receive(timeoutMilliseconds: 1000)
        #expect(payload == Array("conn 1".utf8))
        try #require(fds.count == 1)
        let adopted = fds[0]
        defer { close(adopted) }
        #expect(adopted != sender.fd && adopted != receiver.fd)
        #expect(fcntl(adopted, F_GETFD) & FD_CLOEXEC != 0, "received fds must be close-on-exec")

        let hello = Array("hello from the new process".utf8)
        #expect(hello.withUnsafeBytes { write(adopted, $0.baseAddress, $0.count) } == hello.count)
        #expect(readWithin(client, milliseconds: 1000) == hello)
        // And the other direction: the client's bytes reach the adopted fd.
        #expect(write(client, "ping", 4) == 4)
        #expect(readWithin(adopted, milliseconds: 1000) == Array("ping".utf8))
    }

    @Test func carries253FdsInOneMessageAndRefuses254BeforeAnySyscall() throws {
        let pipe = makePipe()
        defer { close(pipe.read) }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }

        try sender.send([7], fds: Array(repeating: pipe.write, count: 253), timeoutMilliseconds: 1000)
        let (payload, fds) = try receiver.receive(timeoutMilliseconds: 1000)
        #expect(payload == [7])
        #expect(fds.count == 253)
        #expect(Set(fds).count == 253, "each copy is its own fd")
        #expect(fds.allSatisfy { inode($0) == inode(pipe.write) })
        for fd in fds { close(fd) }

        #expect(throws: HandoffChannelError.tooManyFds(254)) {
            try sender.send([], fds: Array(repeating: pipe.write, count: 254), timeoutMilliseconds: 1000)
        }
        // Refused by the count check alone: on a closed channel a syscall would have reported `.closed`.
        sender.close()
        #expect(throws: HandoffChannelError.tooManyFds(254)) {
            try sender.send([], fds: Array(repeating: pipe.write, count: 254), timeoutMilliseconds: 1000)
        }
        close(pipe.write)
        #expect(pipeIsClosedForWriting(pipe.read))
    }

    @Test func roundTripsAPayloadAtTheCapAndRefusesOneByteMore() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let full = (0..<HandoffChannel.maxPayload).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try sender.send(full, timeoutMilliseconds: 1000)
        let (payload, fds) = try receiver.receive(timeoutMilliseconds: 1000)
        #expect(payload == full)
        #expect(fds.isEmpty)

        #expect(throws: HandoffChannelError.payloadTooLarge(HandoffChannel.maxPayload + 1)) {
            try sender.send(full + [0], timeoutMilliseconds: 1000)
        }
        // Empty messages are messages, not end of stream.
        try sender.send([], timeoutMilliseconds: 1000)
        #expect(try receiver.receive(timeoutMilliseconds: 1000).payload == [])
    }

    @Test func reportsEndOfStreamAsClosed() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        try sender.send([1, 2], timeoutMilliseconds: 1000)
        sender.close()
        #expect(try receiver.receive(timeoutMilliseconds: 1000).payload == [1, 2])
        #expect(throws: HandoffChannelError.closed) { try receiver.receive(timeoutMilliseconds: 1000) }
        #expect(throws: HandoffChannelError.closed) { try receiver.send([3], timeoutMilliseconds: 1000) }
        receiver.close()
        #expect(receiver.fd == -1)
        #expect(throws: HandoffChannelError.closed) { try receiver.receive(timeoutMilliseconds: 1000) }
    }

    @Test func timesOutWhenNothingArrives() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let start = MonotonicClock.nowMilliseconds()
        #expect(throws: HandoffChannelError.timeout) { try receiver.receive(timeoutMilliseconds: 50) }
        let elapsed = MonotonicClock.nowMilliseconds() - start
        #expect(elapsed >= 50 && elapsed < 2000)
        #expect(throws: HandoffChannelError.timeout) { try receiver.receive(timeoutMilliseconds: 0) }
    }

    @Test func sendTimesOutWhenTheReceiverDoesNotDrain() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let chunk = [UInt8](repeating: 1, count: HandoffChannel.maxPayload)
        var sent = 0
        let outcome = Result { () throws(HandoffChannelError) in
            while sent < 1000 {
                try sender.send(chunk, timeoutMilliseconds: 50)
                sent += 1
            }
        }
        #expect(outcome.error == .timeout)
        #expect(sent >= 1)
    }

    @Test func adoptsAnInheritedFd() throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &fds) == 0)
        let oldProcess = HandoffChannel(adopting: fds[0])
        let newProcess = HandoffChannel(adopting: fds[1])
        defer { oldProcess.close(); newProcess.close() }
        #expect(newProcess.fd == fds[1])
        try newProcess.send(Array("READY".utf8), timeoutMilliseconds: 1000)
        #expect(try oldProcess.receive(timeoutMilliseconds: 1000).payload == Array("READY".utf8))
    }

    @Test func raisesTheSoftFileLimitToTheHardLimit() throws {
        let before = try ProcessLimits.fileLimit()
        let raised = ProcessLimits.raiseFileLimit()
        let after = try ProcessLimits.fileLimit()
        #expect(raised >= before.soft)
        #expect(after.soft == raised)
    }

    @Test func aStreamCutBeforeEndFailsAndClosesPendingFds() throws {
        let pipe = makePipe()
        defer { close(pipe.read) }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { receiver.close() }
        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        try writer.add(state: [1], fd: pipe.write)
        try writer.add(state: [2], fd: pipe.write)
        try writer.add(state: [UInt8](repeating: 3, count: HandoffChannel.maxPayload * 2), fd: pipe.write)
        // The third record was split: its first part is sent with its fd, the rest is still buffered.
        sender.close()
        close(pipe.write)

        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        let first = try #require(try reader.next())
        #expect(first.state == [1])
        close(try #require(first.fd))
        let second = try #require(try reader.next())
        #expect(second.state == [2])
        close(try #require(second.fd))
        let outcome = Result { () throws(HandoffChannelError) in try reader.next() }
        #expect(outcome.error == .closed)
        #expect(throws: HandoffChannelError.closed) { try reader.next() }
        #expect(pipeIsClosedForWriting(pipe.read), "fds received for unreturned records must be closed")
    }

    @Test func refusesAMalformedMessageAndClosesItsFds() throws {
        let pipe = makePipe()
        defer { close(pipe.read) }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        try sender.send([0x01, 0x03, 9, 0, 0, 0], fds: [pipe.write, pipe.write], timeoutMilliseconds: 1000)
        close(pipe.write)
        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        let outcome = Result { () throws(HandoffChannelError) in try reader.next() }
        guard case .failure(.malformed) = outcome else {
            Issue.record("expected malformed, got \(outcome)")
            return
        }
        #expect(pipeIsClosedForWriting(pipe.read))
    }

    @Test func recordsWithoutFdsInterleaveWithRecordsWithFds() throws {
        let pipe = makePipe()
        defer { close(pipe.read); close(pipe.write) }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        let large = [UInt8](repeating: 7, count: HandoffChannel.maxPayload + 10)
        try writer.add(state: [1], fd: nil)
        try writer.add(state: [2], fd: pipe.write)
        try writer.add(state: large, fd: nil)
        try writer.add(state: [3], fd: pipe.write)
        try writer.finish()
        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        var records: [(state: [UInt8], fd: Int32?)] = []
        while let record = try reader.next() { records.append(record) }
        defer { for record in records { if let fd = record.fd { close(fd) } } }
        #expect(records.map(\.state) == [[1], [2], large, [3]])
        #expect(records.map { $0.fd != nil } == [false, true, false, true])
    }

    @Test func anEmptyStreamIsJustEnd() throws {
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 1000)
        try writer.finish()
        #expect(writer.messagesSent == 1)
        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 1000)
        #expect(try reader.next() == nil)
    }

    @Test func reportsDroppedFdsWhenTheReceiverIsOutOfDescriptors() throws {
        let pipe = makePipe()
        defer { close(pipe.read) }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        try sender.send([1], fds: Array(repeating: pipe.write, count: 20), timeoutMilliseconds: 1000)
        close(pipe.write)

        // Lower the soft limit so exactly 5 fd numbers are free below it; restore it right after the receive.
        let original = try ProcessLimits.fileLimit()
        var free = 0
        var limit: Int32 = 0
        while free < 5 {
            if !isOpen(limit) { free += 1 }
            limit += 1
        }
        try ProcessLimits.setSoftFileLimit(Int(limit))
        let result = Result { () throws(HandoffChannelError) in try receiver.receive(timeoutMilliseconds: 1000) }
        try ProcessLimits.setSoftFileLimit(original.soft)

        guard case .failure(.truncatedFds(let received)) = result else {
            Issue.record("expected truncatedFds, got \(result)")
            return
        }
        #expect(received > 0 && received < 20)
        #expect(pipeIsClosedForWriting(pipe.read), "the fds that did arrive must have been closed")
        // The channel stays usable after the lost message.
        try sender.send([2], timeoutMilliseconds: 1000)
        #expect(try receiver.receive(timeoutMilliseconds: 1000).payload == [2])
    }

    @Test func streams5000RecordsInOrderWithEveryFd() throws {
        ProcessLimits.raiseFileLimit()
        let (listener, client, server) = try makeTCPConnection()
        defer { close(listener); close(client); close(server) }
        let expectedInode = inode(server)
        let count = 5000
        // Sizes from empty to a few KiB, plus a few records larger than one message.
        func state(_ index: Int) -> [UInt8] {
            let size = index % 1000 == 999 ? 300_000 : (index * 37) % 3000
            var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
            if size >= 4 { withUnsafeBytes(of: UInt32(index).littleEndian) { bytes.replaceSubrange(0..<4, with: $0) } }
            return bytes
        }
        let states = (0..<count).map(state)
        let originals = (0..<count).map { _ in dup(server) }
        defer { for fd in originals { close(fd) } }
        #expect(originals.allSatisfy { $0 >= 0 })

        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let writerOutcome = Mutex<HandoffChannelError?>(nil)
        let messages = Mutex(0)
        let start = MonotonicClock.nowNanoseconds()
        let thread = TestThread {
            let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 5000)
            do throws(HandoffChannelError) {
                for index in 0..<count { try writer.add(state: states[index], fd: originals[index]) }
                try writer.finish()
            } catch {
                writerOutcome.withLock { $0 = error }
            }
            messages.withLock { $0 = writer.messagesSent }
        }
        thread.start()

        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 5000)
        var received: [(state: [UInt8], fd: Int32)] = []
        received.reserveCapacity(count)
        let readOutcome = Result { () throws(HandoffChannelError) in
            while let record = try reader.next() {
                guard let fd = record.fd else { throw HandoffChannelError.malformed("record without its fd") }
                received.append((record.state, fd))
            }
        }
        let elapsed = Double(MonotonicClock.nowNanoseconds() - start) / 1_000_000
        thread.join()
        defer { for record in received { close(record.fd) } }

        #expect(writerOutcome.withLock { $0 } == nil)
        #expect(readOutcome.error == nil)
        #expect(received.count == count)
        #expect(reader.recordsRead == count)
        #expect(try reader.next() == nil, "END is sticky")
        var inOrder = true
        for (index, record) in received.enumerated() where record.state != states[index] { inOrder = false }
        #expect(inOrder, "every record arrives intact and in order")
        #expect(received.allSatisfy { inode($0.fd) == expectedInode }, "every fd is a copy of the connection")
        #expect(Set(received.map(\.fd)).count == count)
        #expect(Set(received.map(\.fd)).isDisjoint(with: originals))
        print("handoff: \(count) records with \(count) fds in \(messages.withLock { $0 }) messages: \(elapsed) ms")
    }
    /// The fd transfer alone: 5,000 records with 8 bytes of state each (20 messages of 253 fds).
    @Test func measures5000FdsWithSmallState() throws {
        ProcessLimits.raiseFileLimit()
        let pipe = makePipe()
        defer { close(pipe.read); close(pipe.write) }
        let count = 5000
        let originals = (0..<count).map { _ in dup(pipe.write) }
        defer { for fd in originals { close(fd) } }
        let (sender, receiver) = try HandoffChannel.makePair()
        defer { sender.close(); receiver.close() }
        let writerFailure = Mutex<HandoffChannelError?>(nil)
        let start = MonotonicClock.nowNanoseconds()
        let thread = TestThread {
            let writer = HandoffWriter(channel: sender, timeoutMilliseconds: 5000)
            do throws(HandoffChannelError) {
                for index in 0..<count {
                    let state = withUnsafeBytes(of: UInt64(index).littleEndian, Array.init)
                    try writer.add(state: state, fd: originals[index])
                }
                try writer.finish()
            } catch {
                writerFailure.withLock { $0 = error }
            }
        }
        thread.start()
        let reader = HandoffReader(channel: receiver, timeoutMilliseconds: 5000)
        var fds: [Int32] = []
        var inOrder = true
        let outcome = Result { () throws(HandoffChannelError) in
            while let (state, fd) = try reader.next() {
                if state != withUnsafeBytes(of: UInt64(fds.count).littleEndian, Array.init) { inOrder = false }
                if let fd { fds.append(fd) }
            }
        }
        let elapsed = Double(MonotonicClock.nowNanoseconds() - start) / 1_000_000
        thread.join()
        for fd in fds { close(fd) }
        #expect(writerFailure.withLock { $0 } == nil)
        #expect(outcome.error == nil)
        #expect(fds.count == count)
        #expect(inOrder)
        print("handoff: \(count) fds with 8-byte state in \(reader.messagesReceived) messages: \(elapsed) ms")
    }
}

extension Result {
    fileprivate var error: Failure? {
        if case .failure(let error) = self { error } else { nil }
    }
}
