import Glibc
import HoldfastConfig
import HoldfastCore
import HoldfastHandoff
import HoldfastTLS
import HoldfastWeb
import HoldfastWebSocket
import Logging

extension Connection {
    /// Bytes queued for the socket and not yet written.
    var pendingOutputBytes: Int { outbound.count - outboundOffset + (tls?.plainOutbound.count ?? 0) }

    /// Makes sure the loop flushes this connection before it sleeps (all frames produced in one loop iteration
    /// leave in one system call).
    func requestFlushIfNeeded(force: Bool = false) {
        guard !flushScheduled, phase != .closed else { return }
        guard force || pendingOutputBytes > 0 else { return }
        flushScheduled = true
        Unmanaged.passUnretained(loop)._withUnsafeGuaranteedRef { $0.scheduleFlush(self) }  // the loop outlives us
    }

    /// Appends application bytes (a WebSocket frame, an HTTP response) to the right queue: straight to the socket
    /// queue on plaintext connections, to the sealing queue on TLS ones. What one call appends counts as one
    /// message for the slow-consumer check.
    func withApplicationOutput<Result>(_ body: (inout [UInt8]) -> Result) -> Result {
        let pending = pendingOutputBytes
        let result: Result
        if tls != nil {
            let before = plainOutbound.count
            result = body(&plainOutbound)
            if plainOutbound.count > before { outboundMarks.messageQueued(behind: pending) }
        } else {
            if outbound.capacity == 0 { owner.tradeSpare(&outbound) }
            let before = outbound.count
            result = body(&outbound)
            if outbound.count > before { outboundMarks.messageQueued(behind: pending) }
        }
        if pendingOutputBytes > pending { owner.changed.note(self) }  // output queued: the staged copy's is stale
        return result
    }

    /// Appends frames joined for many connections; each counts as one message for the slow-consumer check. An empty
    /// plaintext queue takes the joined buffer itself, copied only if more is queued behind it (copy on write).
    func appendJoined(_ frames: JoinedFrames) {
        outboundMarks.messagesQueued(behind: pendingOutputBytes, ends: frames.ends)
        owner.changed.note(self)
        if tls != nil {
            plainOutbound += frames.bytes
        } else if outboundOffset == outbound.count {
            (outbound, outboundOffset, outboundShared) = (frames.bytes, 0, true)
        } else {
            outbound += frames.bytes
        }
        requestFlushIfNeeded()
    }

    /// Bodies at least this large skip the per-connection queue when they can (see ``send(head:sharedBody:)``).
    static let directWriteThreshold = 16 * 1024

    /// Whether a shared body of `count` bytes goes out through ``send(head:sharedBody:)`` rather than the queue:
    /// a large body, on a plaintext connection that is not waiting for the socket.
    func sendsDirectly(_ count: Int) -> Bool {
        tls == nil && count >= Self.directWriteThreshold && !writableRegistered && !closeWhenFlushed && phase != .closed
    }

    /// Sends frame bytes made of a small `head` and a `sharedBody` that many connections send (a broadcast, a
    /// presence_state), when ``sendsDirectly(_:)`` allows: at once, together with anything queued, in one system
    /// call straight from the shared buffer; only what the kernel does not take is copied into the queue. Copying
    /// a 100 KiB body into 19,000 queues faulted in fresh pages for every copy, which cost more than the sending
    /// itself. The WebSocket handshake's answer goes here too, so no output buffer outlives the handshake.
    func send(head: UnsafeRawBufferPointer, sharedBody: [UInt8]) {
        let queued = outbound.count - outboundOffset
        let result = outbound.withUnsafeBytes { all in
            sharedBody.withUnsafeBytes { Socket.write(fd, gathering: .init(rebasing: all[outboundOffset...]), head, $0) }
        }
        var written = 0
        switch result {
        case .done(let count):
            written = count
        case .wouldBlock:
            break
        case .failed(let error):
            logger.debug("write failed, closing", metadata: ["fd": "\(fd)", "error": "\(error)"])
            close()
            return
        }
        owner.transient.bytes += sharedBody.count
        if written >= queued + head.count + sharedBody.count { return outputDrained() }
        outboundMarks.messageQueued(behind: queued)
        outboundMarks.wrote(written)
        // The socket is full: queue the rest and let the regular flush wait for room.
        logger.debug("large write queued in part",
            metadata: ["fd": "\(fd)", "written": "\(written)", "left": "\(queued + head.count + sharedBody.count - written)"])
        outbound.keepUnwritten(written, offset: &outboundOffset, then: Array(head), sharedBody)
        outputGeneration &+= 1
        requestFlushIfNeeded()
    }

    /// Writes `bytes` at once (plaintext, nothing queued ahead) and queues what the kernel does not take;
    /// `beforeShutdown` when the connection shuts its write side once they are out (see `Socket.write`).
    @inline(__always) func writeNow(_ bytes: UnsafeRawBufferPointer, beforeShutdown: Bool = false) {
        var written = 0
        switch Socket.write(fd, bytes, beforeShutdown: beforeShutdown) {
        case .done(let count): written = count
        case .wouldBlock: break
        case .failed(let error):
            logger.debug("write failed, closing", metadata: ["fd": "\(fd)", "error": "\(error)"])
            return close()
        }
        if written < bytes.count && phase != .closed {
            withApplicationOutput { $0.append(contentsOf: bytes[written...]) }
            requestFlushIfNeeded()
        }
    }

    func writeQueued() {
        flushScheduled = false
        defer { if tls != nil || outboundOffset < outbound.count { outputGeneration &+= 1 } }
        guard phase != .closed else { return }
        sealPendingPlaintext()
        while outboundOffset < outbound.count {
            let result = outbound.withUnsafeBytes { all in  // draining: the shutdown below follows the last write
                let unwritten = UnsafeRawBufferPointer(rebasing: all[outboundOffset...])
                return Socket.write(fd, unwritten, beforeShutdown: closeWhenFlushed)
            }
            switch result {
            case .done(let written):
                outboundOffset += written
                outboundMarks.wrote(written)
            case .wouldBlock:
                applyBackpressure()
                return
            case .failed(let error):
                logger.debug("write failed, closing", metadata: ["fd": "\(fd)", "error": "\(error)"])
                close()
                return
            }
        }
        outputDrained()
        if writableRegistered {
            writableRegistered = false
            loop.modify(fd: fd, interest: readingPaused && apiInputFull ? [] : .readable)
        }
        if readingPaused && !apiInputFull { resumeReading() }
        if closeWhenFlushed { beginLingering() }
    }

    /// Everything is out: the buffer is kept when it is this connection's own and small (an idle sweep releases it if
    /// no more output comes); a large one is released at once, and a shared run's dropped (emptying it would copy it).
    private func outputDrained() {
        if outbound.capacity > 64 * 1024 && !outboundShared { owner.transient.bytes += outbound.capacity }
        if outbound.capacity > 0 { outbound.removeAllWritten(shared: outboundShared) }  // none: nothing to release
        (outboundOffset, outboundShared) = (0, false)
        outboundMarks.drained()
    }

    /// The kernel's send buffer is full: wait for writability, stop reading a peer that outpaces us, and close a
    /// consumer that falls too far behind.
    private func applyBackpressure() {
        if outboundOffset > 64 * 1024 && outboundOffset > outbound.count / 2 {
            outbound.removeFirst(outboundOffset)
            outboundOffset = 0
        }
        let pending = pendingOutputBytes
        // The message being written does not count: one that fits the message limit never trips this alone.
        let behind = outboundMarks.bytesBehindHead(pending: pending)
        if behind > context.configuration.server.maxOutboundBytes {
            switch phase {
            case .webSocket:
                closeSlowConsumer(queued: pending, behind: behind)
            case .tlsHandshake, .http:
                logger.notice("slow consumer: output queue over the limit, closing",
                    metadata: ["fd": "\(fd)", "queued": "\(pending)", "behind-current": "\(behind)"])
                close()
                return
            case .webSocketClosing, .draining, .lingering, .closed:
                break  // nothing more is queued now, and the closing deadline ends the wait
            }
        }
        readingPaused = pending > context.configuration.server.outboundHighWaterBytes || apiInputFull
        if !writableRegistered || readingPaused {
            writableRegistered = true
            loop.modify(fd: fd, interest: readingPaused ? .writable : [.readable, .writable])
        }
    }

    /// Closes a WebSocket whose queue grew past the limit with a close frame (1008) behind what is queued, rather
    /// than a bare TCP drop: a client that resumes reading within the closing grace sees why. Nothing more is queued.
    private func closeSlowConsumer(queued: Int, behind: Int) {
        guard case .webSocket(let layer) = state else { return }
        logger.notice("slow consumer: output queue over the limit, closing with 1008",
            metadata: ["fd": "\(fd)", "queued": "\(queued)", "behind-current": "\(behind)"])
        context.metrics.recordClose(code: WebSocketCloseCode.policyViolation.rawValue, byPeer: false)
        withApplicationOutput {
            layer.webSocket.appendClose(code: .policyViolation, reason: "slow consumer", into: &$0)
        }
        closeAfterFlush()
        deadline = context.clock.nowMilliseconds() + Self.closingGraceMilliseconds
    }

    private func resumeReading() {
        readingPaused = false
        loop.modify(fd: fd, interest: .readable)
    }
}
