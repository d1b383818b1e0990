/// One connection's WebSocket protocol state after the handshake (RFC 6455, RFC 7692).
///
/// Lifecycle: create it from the handshake result, then call ``nextEvent(input:output:)`` until it returns
/// ``WebSocketEvent/needMoreInput``, dropping the consumed bytes from the receive buffer each time; send with
/// ``appendMessage(_:opcode:into:)``, ``appendPing(_:into:)`` and ``appendClose(code:reason:into:)``. After a
/// ``WebSocketEvent/closed(code:reason:initiatedByPeer:error:)`` event, flush the output and close the socket.
///
/// The struct is pure: bytes in, bytes and events out; it owns no socket and no thread. Its class-backed parts are
/// the message buffer, created per message and released when it completes, and for a connection that negotiated
/// permessage-deflate one ``DeflateContext`` (its zlib streams created lazily), so an idle plain connection holds
/// only the inline fields. Copying the struct shares those parts; keep exactly one copy per connection.
/// All state is in stored properties and can be moved to another process with ``exportState()``.
public struct WebSocketConnection {
    // Size note: 32 bytes inline on 64-bit platforms (see the MemoryLayout test); keep it small, servers hold
    // one per idle connection. Everything about compression sits behind one reference, nil without deflate.

    /// The largest payload one frame may announce (see ``WebSocketLimits``), 32 bits: the configuration caps the
    /// limits at 1 GiB.
    let maxFrameSize: Int32
    /// The largest complete message.
    let maxMessageSize: Int32
    /// The opcode (text or binary) of the fragmented message being received, or nil.
    var openMessage: WebSocketOpcode?
    /// Whether the message being received has RSV1 set on its first frame.
    var openMessageCompressed = false
    /// UTF-8 state of the text message being received, carried across fragments.
    var utf8 = UTF8Validator()
    /// Our close frame is in the output; data from the peer is ignored from now on.
    var closeSent = false
    /// The closed event was delivered; nothing more is parsed.
    var finished = false
    /// The last delivered message lives in `message`; release it at the next call (the caller's pointer is
    /// valid until then).
    var releaseMessageOnNextCall = false
    /// The code reported again if the caller asks for events after the closed event.
    var finishedCode: UInt16 = 0
    /// Reassembly or inflation target of the message being received.
    var message: MessageBuffer?
    /// The negotiated deflate parameters, the compression settings and the zlib streams; nil when uncompressed.
    /// Possibly a shared context (see ``DeflateContext``): write through ``ownedDeflate()`` only.
    private(set) var deflate: DeflateContext?

    /// Creates the state for a freshly upgraded connection.
    /// - Parameters:
    ///   - limits: frame and message size limits (clamped to 0...`Int32.max`).
    ///   - deflate: the negotiated permessage-deflate parameters, or nil.
    ///   - deflateConfiguration: the server's compression settings (level, memory level, minimum size).
    public init(
        limits: WebSocketLimits,
        deflate: PerMessageDeflateParameters?,
        deflateConfiguration: PerMessageDeflateConfiguration
    ) {
        // Clamped to 31 bits, so `count + length` arithmetic on peer-announced lengths can never overflow.
        self.maxFrameSize = Int32(clamping: max(limits.maxFrameSize, 0))
        self.maxMessageSize = Int32(clamping: max(limits.maxMessageSize, 0))
        self.deflate = deflate.map { DeflateContext.forConnection(parameters: $0, configuration: deflateConfiguration) }
    }

    /// The deflate context for creating a zlib stream: a shared context is first replaced by one of this
    /// connection's own (once, with the first compressed message received).
    mutating func ownedDeflate() -> DeflateContext? {
        guard let deflate, deflate.isShared else { return deflate }
        let own = deflate.unshared()
        self.deflate = own
        return own
    }

    /// The limits applied to incoming frames and messages.
    public var limits: WebSocketLimits {
        WebSocketLimits(maxFrameSize: Int(maxFrameSize), maxMessageSize: Int(maxMessageSize))
    }

    /// The negotiated permessage-deflate parameters, nil when uncompressed.
    public var deflateParameters: PerMessageDeflateParameters? { deflate?.parameters }

    /// Whether our close frame has been written (by ``appendClose(code:reason:into:)``, as a reply, or because of
    /// a protocol error). Once the closed event was delivered, the peer's close has been received too.
    public var isClosed: Bool { closeSent }

    /// Appends one complete message frame: compressed (RSV1) when deflate was negotiated and the payload is at least
    /// the minimum size, otherwise plain. Ignored once the close handshake started.
    /// - Parameters:
    ///   - payload: the message bytes (UTF-8 for text; not validated).
    ///   - opcode: `.text` or `.binary`; any other opcode is a programming error.
    ///   - output: the send buffer to append to.
    public mutating func appendMessage(
        _ payload: UnsafeRawBufferPointer,
        opcode: WebSocketOpcode,
        into output: inout [UInt8]
    ) {
        precondition(opcode == .text || opcode == .binary, "appendMessage sends text or binary only")
        guard !closeSent else { return }
        if let deflate, payload.count >= Int(deflate.minimumSizeToCompress),
            appendCompressed(payload, opcode: opcode, deflate: deflate, into: &output)
        {
            return
        }
        WebSocketFrame.appendFrame(opcode: opcode, fin: true, payload: payload, into: &output)
    }

    /// Appends one message made of a per-connection `prefix` followed by a body shared by many connections.
    ///
    /// With `server_no_context_takeover` negotiated and the message long enough to compress, the frame carries
    /// the prefix in a stored block and then the body compressed once for all connections (``SharedDeflate``).
    /// With context takeover the message is compressed for this connection alone, as ``appendMessage(_:opcode:into:)``
    /// does; without deflate it goes out plain. The receiver sees `prefix + shared.body` in every case.
    public mutating func appendMessage(
        prefix: [UInt8], shared: SharedDeflate, opcode: WebSocketOpcode, into output: inout [UInt8]
    ) {
        guard !closeSent else { return }
        if let payload = sharedPayload(prefix: prefix, shared: shared) {
            appendSharedHead(prefix: prefix, payload: payload, opcode: opcode, into: &output)
            output.append(contentsOf: payload.bytes)
            return
        }
        let whole = prefix + shared.body
        whole.withUnsafeBytes { appendMessage($0, opcode: opcode, into: &output) }
    }

    /// How `prefix + shared.body` travels on this connection when the bulk can be the same bytes as on every other
    /// connection: `bytes` is the shared body, compressed once (``SharedDeflate``) or plain, never copied here, so a
    /// server can write it to each socket straight from the one buffer after ``appendSharedHead(prefix:payload:opcode:into:)``.
    /// Nil when this connection compresses with context takeover (the message must go through
    /// ``appendMessage(prefix:shared:opcode:into:)``) or its close frame was sent.
    public func sharedPayload(prefix: [UInt8], shared: SharedDeflate) -> (bytes: [UInt8], compressed: Bool)? {
        guard !closeSent else { return nil }
        guard let deflate, prefix.count + shared.bodyCount >= Int(deflate.minimumSizeToCompress) else {
            return (shared.body, false)
        }
        let parameters = deflate.parameters
        guard parameters.serverNoContextTakeover,
              let body = shared.compressed(windowBits: Int(parameters.serverMaxWindowBits)) else { return nil }
        return (body, true)
    }

    /// Appends the frame header and the prefix for a payload from ``sharedPayload(prefix:shared:)``: the prefix as
    /// deflate stored blocks when the payload is compressed, as is otherwise. The payload's bytes follow.
    public func appendSharedHead(
        prefix: [UInt8], payload: (bytes: [UInt8], compressed: Bool), opcode: WebSocketOpcode, into output: inout [UInt8]
    ) {
        precondition(opcode == .text || opcode == .binary, "messages are text or binary")
        guard payload.compressed else {
            WebSocketFrame.appendHeader(
                opcode: opcode, fin: true, rsv1: false, length: prefix.count + payload.bytes.count, mask: nil, into: &output)
            output.append(contentsOf: prefix)
            return
        }
        // 5 bytes of stored-block header per 64 KiB of prefix.
        let storedLength = prefix.isEmpty ? 0 : prefix.count + 5 * ((prefix.count + 0xFFFE) / 0xFFFF)
        WebSocketFrame.appendHeader(
            opcode: opcode, fin: true, rsv1: true, length: storedLength + payload.bytes.count, mask: nil, into: &output)
        prefix.withUnsafeBytes { SharedDeflate.appendStoredBlocks($0, into: &output) }
    }

    /// Starts the close handshake: appends a close frame with the code and the reason (cut to 123 bytes on a
    /// character boundary). Afterwards data from the peer is ignored until its close arrives. Does nothing when a
    /// close was already sent.
    public mutating func appendClose(code: WebSocketCloseCode, reason: String, into output: inout [UInt8]) {
        guard !closeSent else { return }
        closeSent = true
        // A partly received message will never complete; drop it at the next call (its pointer may be in use).
        openMessage = nil
        releaseMessageOnNextCall = true
        Self.appendCloseFrame(code: code, reason: reason, into: &output)
    }

    /// Appends a ping; payloads longer than 125 bytes are a programming error.
    public mutating func appendPing(_ payload: UnsafeRawBufferPointer, into output: inout [UInt8]) {
        precondition(payload.count <= 125, "control frame payloads are at most 125 bytes")
        WebSocketFrame.appendFrame(opcode: .ping, fin: true, payload: payload, into: &output)
    }

    /// Writes a close frame; 1005 means "no code" and is sent as an empty close payload.
    static func appendCloseFrame(code: WebSocketCloseCode, reason: String, into output: inout [UInt8]) {
        guard code != .noStatusReceived else {
            WebSocketFrame.appendFrame(opcode: .close, fin: true, payload: UnsafeRawBufferPointer(start: nil, count: 0),
                                       into: &output)
            return
        }
        // Code and reason are assembled on the stack: every closed WebSocket sends one of these.
        var reason = reason
        reason.withUTF8 { utf8 in
            var count = min(utf8.count, 123)
            // Never cut a character in half: drop trailing continuation bytes and their lead byte.
            if count < utf8.count {
                while count > 0, utf8[count - 1] & 0xC0 == 0x80 { count -= 1 }
                if count > 0, utf8[count - 1] >= 0xC0 { count -= 1 }
            }
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 125) { body in
                body[0] = UInt8(code.rawValue >> 8)
                body[1] = UInt8(code.rawValue & 0xFF)
                _ = UnsafeMutableBufferPointer(rebasing: body[2..<(2 + count)])
                    .initialize(fromContentsOf: UnsafeBufferPointer(rebasing: utf8[..<count]))
                let payload = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: body[..<(2 + count)]))
                WebSocketFrame.appendFrame(opcode: .close, fin: true, payload: payload, into: &output)
            }
        }
    }

    /// Compresses one message into a frame; false when zlib is unavailable (the caller then sends it plain).
    private func appendCompressed(
        _ payload: UnsafeRawBufferPointer,
        opcode: WebSocketOpcode,
        deflate: DeflateContext,
        into output: inout [UInt8]
    ) -> Bool {
        // Without context takeover nothing outlives the message, so the compressor comes from the pool.
        if deflate.parameters.serverNoContextTakeover {
            let settings = deflate.deflaterSettings
            guard let stream = DeflaterPool.shared.take(settings) else { return false }
            defer { DeflaterPool.shared.give(stream, settings) }
            return appendCompressed(payload, opcode: opcode, with: stream, into: &output)
        }
        guard let deflater = deflate.makeDeflater() else { return false }
        guard appendCompressed(payload, opcode: opcode, with: deflater, into: &output) else {
            deflate.deflater = nil
            return false
        }
        return true
    }

    /// Compresses one message into a frame with `deflater`; false when zlib fails (nothing is appended then).
    private func appendCompressed(
        _ payload: UnsafeRawBufferPointer, opcode: WebSocketOpcode, with deflater: ZlibStream, into output: inout [UInt8]
    ) -> Bool {
        // Compress behind 10 bytes of headroom, then write the header right-aligned into it and drop the gap.
        let headroom = 10
        let frameStart = output.count
        output.append(contentsOf: repeatElement(0, count: headroom))
        guard deflater.deflate(payload, appendingTo: &output) else {
            output.removeSubrange(frameStart...)
            return false
        }
        if output.count - frameStart >= headroom + 4, output.suffix(4).elementsEqual(ZlibStream.syncTail) {
            output.removeLast(4)
        }
        let length = output.count - frameStart - headroom
        var header = (UInt64(0), UInt64(0))
        let size = withUnsafeMutableBytes(of: &header) {
            WebSocketFrame.writeHeader(opcode: opcode, fin: true, rsv1: true, length: length, mask: nil, into: $0)
        }
        let headerStart = frameStart + headroom - size
        withUnsafeBytes(of: &header) { bytes in
            for index in 0..<size { output[headerStart + index] = bytes[index] }
        }
        output.removeSubrange(frameStart..<headerStart)
        return true
    }
}
