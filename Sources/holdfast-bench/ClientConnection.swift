import HoldfastCore

/// What a ``ClientConnection`` reports to: the per-loop client that keeps the counts of its scenario.
protocol ConnectionOwner: AnyObject {
    var loop: EventLoop { get }
    func nextMaskKey() -> UInt32
    func connectionOpened(_ connection: ClientConnection)
    func connectionFailed(_ connection: ClientConnection, reason: String)
    func connectionLost(_ connection: ClientConnection, reason: String, violation: Bool)
    func connectionTerminated(_ connection: ClientConnection)
    /// A whole data message; its first bytes are in `prefix`, and up to the reader's retain limit of them in
    /// ``ClientConnection/retainedMessage``.
    func messageReceived(_ connection: ClientConnection, binary: Bool, length: Int, prefix: FrameReader.Prefix)
}

/// One benchmark WebSocket connection, driven by its loop's readiness events.
///
/// Lifecycle: `connecting` (non-blocking connect) → `handshaking` (TLS handshake when it has a
/// ``BenchTLSClient``, then upgrade request out, `101` in) → `open` (traffic) → `closing` (our close frame
/// sent, waiting for the server's) → `closed`. Every transition is reported to the owner, which keeps the
/// counts; this class only does the I/O.
///
/// With TLS, everything above the socket stays the same: ``output`` holds WebSocket bytes, which are sealed into
/// records (``sealed``) just before each write, and what the socket delivers is decrypted before the handshake
/// check or the frame reader sees it.
///
/// Thread ownership: created, driven and released on its loop's thread only.
///
/// Memory: the handshake state is dropped once open and reads go through the loop's shared buffer, so an
/// idle open connection holds the object, a parser of a few dozen bytes and an empty output array.
final class ClientConnection: EventHandler {
    /// Where a connection is in its life.
    enum State {
        case connecting, handshaking, open, closing, closed
    }

    private unowned let owner: any ConnectionOwner
    let fd: Int32
    private(set) var state = State.connecting
    /// Echo messages sent and not yet answered (closed-loop pacing).
    var inFlight = 0
    /// The owner's index for this connection (channel scenarios keep per-connection state in side tables).
    var tag = 0
    /// Whether this connection speaks TLS (kept after close, for the counts).
    let isTLS: Bool

    private var handshake: Handshake?
    private var tls: BenchTLSClient?
    private var response: [UInt8] = []
    private var reader = FrameReader()
    // WebSocket bytes queued for the peer; without TLS they go to the socket as they are.
    private var output: [UInt8] = []
    // With TLS: records waiting for the socket.
    private var sealed: [UInt8] = []
    // How much of the socket's buffer (`output`, or `sealed` with TLS) already went out.
    private var written = 0
    private var flushScheduled = false
    private var watchingWritable = false

    /// Wraps an fd whose connect is under way; the caller registers it for writability. With `tls`, the
    /// WebSocket handshake starts once the TLS one has completed.
    init(owner: any ConnectionOwner, fd: Int32, handshake: Handshake, tls: BenchTLSClient? = nil, retainLimit: Int = 0) {
        self.owner = owner
        self.fd = fd
        self.handshake = handshake
        self.tls = tls
        isTLS = tls != nil
        reader.retainLimit = retainLimit
    }

    /// The retained bytes of the message just delivered to the owner (see ``FrameReader/retainLimit``).
    var retainedMessage: [UInt8] { reader.retained }
    /// Whether the message just delivered is compressed (its retained bytes are the deflate stream).
    var messageCompressed: Bool { reader.messageCompressed }

    /// Frees the retained bytes once the owner is done with them (a large message's buffer is not kept).
    func releaseRetained() { reader.releaseRetained() }

    // MARK: Events

    override func handleEvent(readable: Bool, writable: Bool) {
        if state == .connecting {
            finishConnect()
            return
        }
        if writable { writeOutput() }
        if readable { readInput() }
    }

    override func flush() {
        flushScheduled = false
        writeOutput()
    }

    private func finishConnect() {
        if let error = Target.connectError(fd) {
            fail("\(error)")
            return
        }
        guard let handshake else { return }
        state = .handshaking
        owner.loop.modify(fd: fd, interest: .readable)
        // With TLS the request waits in `output` until the handshake has completed; this produces the ClientHello.
        if let failure = tls?.handshake() {
            fail(failure)
            return
        }
        enqueue(handshake.request)
    }

    private func readInput() {
        let buffer = owner.loop.readBuffer
        while state != .closed && state != .connecting {
            switch Socket.read(fd, into: buffer) {
            case .done(0):
                peerClosed("connection closed without a close frame")
                return
            case .done(let count):
                if tls != nil {
                    decrypt(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                } else {
                    received(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                }
                if count < buffer.count { return }
            case .wouldBlock:
                return
            case .failed(let error):
                peerClosed("\(error)")
                return
            }
        }
    }

    /// TLS: hands `ciphertext` to OpenSSL, advances the handshake, and passes the plaintext on as ``received(_:)``.
    ///
    /// The memory BIO copies the ciphertext, so the loop's read buffer is free again and holds the plaintext.
    private func decrypt(_ ciphertext: UnsafeRawBufferPointer) {
        guard let tls else { return }
        tls.feed(ciphertext)
        if !tls.established {
            if let failure = tls.handshake() {
                fail(failure)
                return
            }
            // Handshake records to answer, or, once established, the upgrade request to seal.
            scheduleFlush()
            guard tls.established else { return }
        }
        let buffer = owner.loop.readBuffer
        while state != .closed && state != .connecting {
            switch tls.read(into: buffer) {
            case .data(let count):
                received(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            case .wouldBlock:
                // Reading may have produced records of its own (a KeyUpdate answer, an alert).
                if tls.hasOutput { scheduleFlush() }
                return
            case .closed:
                peerClosed("TLS close_notify without a close frame")
                return
            case .failed(let reason):
                peerClosed(reason)
                return
            }
        }
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        guard state == .handshaking, let handshake else {
            consumeFrames(bytes)
            return
        }
        response.append(contentsOf: bytes)
        switch handshake.check(response) {
        case .incomplete:
            return
        case .rejected(let reason):
            fail("handshake: \(reason)")
        case .upgraded(let headLength, let deflate):
            reader.deflate = deflate
            let leftover = Array(response[headLength...])
            self.handshake = nil
            response = []
            // Drops the request's buffer (it went out before the answer came); TLS records in flight stay.
            output = []
            if tls == nil { written = 0 }
            state = .open
            owner.connectionOpened(self)
            leftover.withUnsafeBytes { consumeFrames($0) }
        }
    }

    private func consumeFrames(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while state == .open || state == .closing {
            let event: FrameReader.Event?
            do {
                event = try reader.next(bytes, &offset)
            } catch {
                owner.connectionLost(self, reason: "protocol violation: \(error)", violation: true)
                terminate()
                return
            }
            guard let event else { return }
            switch event {
            case .message(let binary, let length, let prefix):
                owner.messageReceived(self, binary: binary, length: length, prefix: prefix)
            case .ping(let payload):
                sendControl(.pong, payload)
            case .pong:
                break
            case .close(let code):
                if state == .open {
                    owner.connectionLost(self, reason: "server closed (code \(code.map(String.init) ?? "none"))", violation: false)
                    sendClose(code: code ?? 1000)
                    writeOutput()
                }
                terminate()
                return
            }
        }
    }

    // MARK: Sending

    /// Queues an echo message stamped with `timestamp`; false when the connection is no longer open.
    @discardableResult
    func sendEcho(size: Int, text: Bool, timestamp: UInt64, maskKey: UInt32) -> Bool {
        guard state == .open else { return false }
        FrameWriter.append(to: &output, opcode: text ? .text : .binary, length: size, maskKey: maskKey) {
            EchoPayload.fill($0, timestamp: timestamp, text: text)
        }
        inFlight += 1
        scheduleFlush()
        return true
    }

    /// Queues a masked text frame carrying `payload`; false when the connection is not open.
    @discardableResult
    func sendText(_ payload: [UInt8]) -> Bool {
        guard state == .open else { return false }
        FrameWriter.append(to: &output, opcode: .text, length: payload.count, maskKey: owner.nextMaskKey()) { target in
            payload.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        scheduleFlush()
        return true
    }

    /// Starts the closing handshake: sends close 1000 and waits for the server's close or EOF.
    func close() {
        switch state {
        case .open:
            sendClose(code: 1000)
            state = .closing
        case .connecting, .handshaking:
            terminate()
        case .closing, .closed:
            break
        }
    }

    /// Drops the connection at once, e.g. when a close times out.
    func terminate() {
        guard state != .closed else { return }
        state = .closed
        owner.loop.deregister(fd: fd)
        Socket.close(fd)
        output = []
        sealed = []
        // Frees OpenSSL's state (some KiB) now rather than when the owner drops the connection.
        tls = nil
        owner.connectionTerminated(self)
    }

    private func sendClose(code: UInt16) {
        sendControl(.close, [UInt8(code >> 8), UInt8(truncatingIfNeeded: code)])
    }

    private func sendControl(_ opcode: FrameWriter.Opcode, _ payload: [UInt8]) {
        FrameWriter.append(to: &output, opcode: opcode, length: payload.count, maskKey: owner.nextMaskKey()) { target in
            payload.withUnsafeBytes { target.copyMemory(from: $0) }
        }
        scheduleFlush()
    }

    private func enqueue(_ bytes: [UInt8]) {
        output.append(contentsOf: bytes)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        owner.loop.scheduleFlush(self)
    }

    private func writeOutput() {
        guard state != .closed, state != .connecting else { return }
        guard let tls else {
            if let failure = send(&output) { peerClosed(failure) }
            return
        }
        if tls.established, !output.isEmpty {
            if let failure = output.withUnsafeBytes({ tls.write($0) }) {
                peerClosed(failure)
                return
            }
            output.removeAll(keepingCapacity: true)
        }
        tls.drain(into: &sealed)
        if let failure = send(&sealed) { peerClosed(failure) }
    }

    /// Writes `buffer[written...]` to the socket, emptying the buffer once all of it went out; nil unless the
    /// write failed. (The caller handles a failure: terminating here would touch the buffer being written.)
    private func send(_ buffer: inout [UInt8]) -> String? {
        while written < buffer.count {
            let result = buffer.withUnsafeBytes { Socket.write(fd, UnsafeRawBufferPointer(rebasing: $0[written...])) }
            switch result {
            case .done(let count):
                written += count
            case .wouldBlock:
                // Only now ask for writability; a permanently writable registration would spin the loop.
                if !watchingWritable {
                    watchingWritable = true
                    owner.loop.modify(fd: fd, interest: [.readable, .writable])
                }
                return nil
            case .failed(let error):
                return "\(error)"
            }
        }
        buffer.removeAll(keepingCapacity: true)
        written = 0
        if watchingWritable {
            watchingWritable = false
            owner.loop.modify(fd: fd, interest: .readable)
        }
        return nil
    }

    // MARK: Failure

    /// Gives up on a connection that has not opened yet (connect error, bad handshake, timeout).
    func fail(_ reason: String) {
        guard state == .connecting || state == .handshaking else { return }
        owner.connectionFailed(self, reason: reason)
        terminate()
    }

    private func peerClosed(_ reason: String) {
        switch state {
        case .connecting, .handshaking:
            fail(reason)
        case .open:
            owner.connectionLost(self, reason: reason, violation: false)
            terminate()
        case .closing:
            terminate()
        case .closed:
            break
        }
    }
}
