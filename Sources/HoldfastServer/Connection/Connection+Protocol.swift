import HoldfastChannels
import HoldfastCore
import HoldfastHTTP
import HoldfastJSON
import HoldfastWeb
import HoldfastWebSocket
import Logging

extension Connection {
    /// Runs plaintext through HTTP or WebSocket, in place. Returns how many bytes were consumed; the caller keeps
    /// the rest (an incomplete request or frame) for the next read.
    func processPlaintext(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count {
            let input = UnsafeMutableRawBufferPointer(rebasing: bytes[offset...])
            if let done = echoInPlace(input) { offset += done; continue }  // `/ws/echo`'s fast path
            switch state {
            case .http(let layer?) where isAPI:
                return offset + readAPIRequests(UnsafeRawBufferPointer(input), layer)
            case .http(let existing):
                // A whole upgrade head is read in place; the parser (made when first needed) takes everything else.
                if existing?.parser.hasPartialRequest != true, let consumed = upgradeInPlace(UnsafeRawBufferPointer(input)) {
                    offset += consumed
                    continue
                }
                let layer = existing ?? HTTPLayer(limits: context.httpLimits)
                if existing == nil { state = .http(layer) }
                let (result, consumed) = layer.parser.parse(UnsafeRawBufferPointer(input))
                offset += consumed
                switch result {
                case .needMoreInput:
                    return offset
                case .request(let request):
                    handle(request)
                case .failed(let error):
                    logger.info("bad HTTP request", metadata: ["fd": "\(fd)", "status": "\(error.status.rawValue)", "error": "\(error)"])
                    respond(.plainText(error.status, error.description), keepAlive: false)
                    return bytes.count
                }
            case .webSocket(let layer), .webSocketClosing(let layer):
                let (event, consumed) = withApplicationOutput { layer.webSocket.nextEvent(input: input, output: &$0) }
                offset += consumed
                if !handle(event, on: layer) { return offset }
            case .tlsHandshake:
                return offset
            case .draining, .lingering, .closed:
                return bytes.count
            }
        }
        return offset
    }

    /// An open `/ws/echo` WebSocket's layer, unretained: no copy of ``state`` (a retain and a release per read).
    private var echoLayer: Unmanaged<WebSocketLayer>? {
        guard case .webSocket(let layer) = state, case .echo = layer.application else { return nil }
        return .passUnretained(layer)
    }

    /// `/ws/echo`'s fast path (see `WebSocketConnection.echoInPlace`): the answers to whole messages, or to a close
    /// (`answerCloseInPlace`), are written over them and sent from there, on a plaintext socket with nothing queued
    /// ahead; what the kernel does not take is queued. Returns the input bytes answered, nil for none. The layer is
    /// used before the write, which may close; a close is handled (draining) before it, as `nextEvent`'s is.
    private func echoInPlace(_ input: UnsafeMutableRawBufferPointer) -> Int? {
        guard tls == nil, outboundOffset == outbound.count, let layer = echoLayer else { return nil }
        let (answered, consumed) = layer._withUnsafeGuaranteedRef { $0.webSocket.echoInPlace(input) }
        guard consumed > 0 else { return answerClose(input, layer) }
        writeNow(UnsafeRawBufferPointer(rebasing: input[..<answered]))  // the read event moved handoffGeneration
        return consumed
    }

    /// A close at the start of `input`, answered in place: apart, so the echo's own path stays as short as it was. The
    /// layer goes with the state when the connection drains, after its last use here.
    @inline(never)
    private func answerClose(_ input: UnsafeMutableRawBufferPointer, _ layer: Unmanaged<WebSocketLayer>) -> Int? {
        let answer = layer._withUnsafeGuaranteedRef { $0.webSocket.answerCloseInPlace(input, at: 0, answerAt: 0) }
        guard let close = answer else { return nil }
        closed(code: close.code, reason: close.reason, byPeer: true, error: nil)  // draining: the close follows
        writeNow(UnsafeRawBufferPointer(rebasing: input[..<close.answered]), beforeShutdown: true)
        return input.count
    }

    /// Acts on one WebSocket event of `layer`; returns false when no further input should be parsed now.
    private func handle(_ event: WebSocketEvent, on layer: WebSocketLayer) -> Bool {
        switch event {
        case .needMoreInput:
            return false
        case .text(let payload):
            if phase == .webSocket { onMessage(payload, opcode: .text, on: layer) }
        case .binary(let payload):
            if phase == .webSocket { onMessage(payload, opcode: .binary, on: layer) }
        case .ping, .pong:
            break  // the pong for a ping is already queued by the protocol layer
        case .closed(let code, let reason, let initiatedByPeer, let error):
            closed(code: code, reason: reason, byPeer: initiatedByPeer, error: error)
            return false
        }
        return true
    }

    /// The WebSocket's close handshake ended or a fault closed it (its close frame is queued or written): counted,
    /// logged, and the connection drains.
    private func closed(code: WebSocketCloseCode, reason: String, byPeer: Bool, error: WebSocketProtocolError?) {
        context.metrics.recordClose(code: code.rawValue, byPeer: byPeer)
        if let error {
            logger.info("WebSocket protocol error, closing", metadata: [
                "fd": "\(fd)", "code": "\(code.rawValue)", "error": "\(error)"])
        } else if context.logsDebug {
            logger.debug("WebSocket closed", metadata: [
                "fd": "\(fd)", "code": "\(code.rawValue)", "reason": "\(reason)", "by-peer": "\(byPeer)"])
        }
        // The peer's close frame ended its side of the handshake (RFC 6455 §5.5.1: nothing follows it), so a
        // plaintext socket closes as soon as the answer is out, as the RFC asks of a server, without waiting for
        // the peer's FIN: one read, one `shutdown` and one wake-up fewer. TLS lingers for the peer's close_notify,
        // and a protocol fault for whatever the faulty peer still sends.
        closeAfterFlush(lingering: error != nil || tls != nil)
    }

    /// A complete message from the client.
    private func onMessage(_ payload: UnsafeRawBufferPointer, opcode: WebSocketOpcode, on layer: WebSocketLayer) {
        switch layer.application {
        case .echo:
            withApplicationOutput { layer.webSocket.appendMessage(payload, opcode: opcode, into: &$0) }
        case .phoenix(let session):
            if opcode == .text { session.receiveText(payload) } else { session.receiveBinary(payload) }
        }
    }

    /// Sends one text message (a Phoenix reply or push encoded for this connection).
    func sendText(_ text: [UInt8]) {
        guard case .webSocket(let layer) = state else { return }
        noteOutputQueued()
        text.withUnsafeBytes { bytes in
            withApplicationOutput { layer.webSocket.appendMessage(bytes, opcode: .text, into: &$0) }
        }
        context.metrics.messagesOut.add()
        requestFlushIfNeeded()
    }

    /// Sends a text message made of a per-connection prefix and a body shared with other connections (see
    /// `WebSocketConnection.appendMessage(prefix:shared:opcode:into:)`).
    func sendText(prefix: [UInt8], shared: SharedDeflate) {
        guard phase == .webSocket else { return }
        noteOutputQueued()
        context.metrics.messagesOut.add()
        sendShared(prefix: prefix, shared: shared)
    }

    /// Sends broadcasts encoded once for all members: the run's frames, joined once, queued as is (an empty plaintext
    /// queue shares them) or, when large, frame by frame. On a compressing connection a message that is not small
    /// (`SharedTextMessage.sendsPlain`) goes compressed once for all members without context takeover, or for this
    /// connection alone. Large frames may be written directly, and so is a lone small one meant to go out at once
    /// (`SharedFrameRun.lonePlainFrame`) when nothing is queued ahead of it.
    func sendBroadcasts(_ run: SharedFrameRun<EncodedBroadcast>, version: PhoenixSerializerVersion) {
        let variant = version == .v1 ? 0 : 1
        guard case .webSocket = state else { return }  // the layer unread (no retain) when the frame goes plain
        if tls == nil, outboundOffset == outbound.count, !writableRegistered,
            let frame = run.lonePlainFrame(variant: variant)
        {
            return frame.withUnsafeBytes { writeNow($0) }  // a lone diff: written now, the socket at hand
        }
        guard case .webSocket(let layer) = state else { return }
        let compresses = layer.webSocket.deflateParameters != nil && run.messages.contains { $0.compressible(variant) }
        if compresses { handoffGeneration &+= 1 } else if tls != nil { outputGeneration &+= 1 }
        let limit = tls == nil && pendingOutputBytes == 0 ? Int.max : Self.directWriteThreshold
        if !compresses, let frames = run.joinedFrames(variant: variant, below: limit) { return appendJoined(frames) }
        for broadcast in run.messages where phase == .webSocket {  // a failed direct write closes the socket
            guard let message = broadcast.variant(variant) else { continue }
            if compresses && !message.sendsPlain {
                sendShared(prefix: [], shared: message.payload)
            } else if sendsDirectly(message.frame.count) {
                send(head: UnsafeRawBufferPointer(start: nil, count: 0), sharedBody: message.frame)
            } else {
                withApplicationOutput { $0.append(contentsOf: message.frame) }
            }
        }
        requestFlushIfNeeded()
    }

    /// `prefix + shared.body` as one message: the shared bytes as they are when this connection allows it (see
    /// `send(head:sharedBody:)`), compressed for this connection alone when it keeps a deflate context.
    private func sendShared(prefix: [UInt8], shared: SharedDeflate) {
        guard case .webSocket(let layer) = state else { return }
        guard let payload = layer.webSocket.sharedPayload(prefix: prefix, shared: shared) else {
            withApplicationOutput {
                layer.webSocket.appendMessage(prefix: prefix, shared: shared, opcode: .text, into: &$0)
            }
            requestFlushIfNeeded()
            return
        }
        if sendsDirectly(payload.bytes.count) {
            var head: [UInt8] = []
            layer.webSocket.appendSharedHead(prefix: prefix, payload: payload, opcode: .text, into: &head)
            head.withUnsafeBytes { send(head: $0, sharedBody: payload.bytes) }
        } else {
            withApplicationOutput {
                layer.webSocket.appendSharedHead(prefix: prefix, payload: payload, opcode: .text, into: &$0)
                $0.append(contentsOf: payload.bytes)
            }
            requestFlushIfNeeded()
        }
    }

    /// Sends a close frame and waits (bounded) for the peer's close before closing TCP.
    func closeWebSocket(code: WebSocketCloseCode, reason: String) {
        guard case .webSocket(let layer) = state else { return }
        handoffGeneration &+= 1
        withApplicationOutput { layer.webSocket.appendClose(code: code, reason: reason, into: &$0) }
        state = .webSocketClosing(layer)
        deadline = context.clock.nowMilliseconds() + Self.closingGraceMilliseconds
        requestFlushIfNeeded()
    }
}

extension Connection: SessionTransport {
    /// A join completed: the channel's state changed (see ``handoffGeneration``).
    func sessionStateChanged() { handoffGeneration &+= 1 }
    func sharedJoinPayload(_ payload: JSONValue) -> JSONValue { owner.joinPayloads.share(payload) }
}
