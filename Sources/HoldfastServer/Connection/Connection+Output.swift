import Glibc
import HoldfastCore
import Logging

extension Connection {
    /// Bytes queued for the socket and not yet written.
    var pendingOutputBytes: Int { outbound.count - outboundOffset + plainOutbound.count }

    /// Makes sure the loop flushes this connection before it sleeps (all frames produced in one loop iteration
    /// leave in one system call).
    func requestFlushIfNeeded(force: Bool = false) {
        guard !flushScheduled, phase != .closed else { return }
        guard force || pendingOutputBytes > 0 else { return }
        flushScheduled = true
        loop.scheduleFlush(self)
    }

    /// Appends application bytes (a WebSocket frame, an HTTP response) to the right queue: straight to the socket
    /// queue on plaintext connections, to the sealing queue on TLS ones.
    func withApplicationOutput<Result>(_ body: (inout [UInt8]) -> Result) -> Result {
        tls != nil ? body(&plainOutbound) : body(&outbound)
    }

    func flush() {
        flushScheduled = false
        defer { if tls != nil || outboundOffset < outbound.count { handoffGeneration &+= 1 } }
        guard phase != .closed else { return }
        sealPendingPlaintext()
        while outboundOffset < outbound.count {
            let result = outbound.withUnsafeBytes { all in
                Socket.write(fd, UnsafeRawBufferPointer(rebasing: all[outboundOffset...]))
            }
            switch result {
            case .done(let written):
                outboundOffset += written
            case .wouldBlock:
                applyBackpressure()
                return
            case .failed(let error):
                logger.debug("write failed, closing", metadata: ["fd": "\(fd)", "error": "\(error)"])
                close()
                return
            }
        }
        // Everything is out: release the buffer unless it is small enough to reuse cheaply.
        if outbound.capacity > 64 * 1024 { owner.releasedBytes += outbound.capacity }
        outbound.removeAll(keepingCapacity: outbound.capacity <= 4096)
        outboundOffset = 0
        if writableRegistered {
            writableRegistered = false
            loop.modify(fd: fd, interest: .readable)
        }
        if readingPaused { resumeReading() }
        if closeWhenFlushed { beginLingering() }
    }

    /// The kernel's send buffer is full: wait for writability, stop reading a peer that outpaces us, and drop a
    /// consumer that falls too far behind.
    private func applyBackpressure() {
        if outboundOffset > 64 * 1024 && outboundOffset > outbound.count / 2 {
            outbound.removeFirst(outboundOffset)
            outboundOffset = 0
        }
        let pending = pendingOutputBytes
        if pending > context.configuration.maxOutboundBytes {
            logger.notice(
                "slow consumer: output queue over the limit, closing",
                metadata: ["fd": "\(fd)", "queued": "\(pending)"]
            )
            close()
            return
        }
        readingPaused = pending > context.configuration.outboundHighWaterBytes
        if !writableRegistered || readingPaused {
            writableRegistered = true
            loop.modify(fd: fd, interest: readingPaused ? .writable : [.readable, .writable])
        }
    }

    private func resumeReading() {
        readingPaused = false
        loop.modify(fd: fd, interest: .readable)
    }
}
