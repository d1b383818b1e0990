import HoldfastCore
import HoldfastHTTP
import HoldfastTLS
import Logging

extension Connection {
    /// Runs ciphertext through the handshake or the record layer and the plaintext through the protocol layers.
    /// Returns how many bytes of `bytes` were consumed; the rest is a partial record to keep.
    func processCiphertext(_ bytes: UnsafeMutableRawBufferPointer) -> Int {
        var offset = 0
        if case .tlsHandshake(let handshake) = state {
            let input = UnsafeRawBufferPointer(rebasing: bytes[...])
            switch handshake.advance(input: input, output: &outbound) {
            case .needMoreInput(let consumed):
                return consumed
            case .established(let recordLayer, let consumed, _):
                tls = recordLayer
                state = .http(nil)
                offset = consumed
            case .failed(let error, _):
                logger.info("TLS handshake failed", metadata: ["fd": "\(fd)", "error": "\(error)"])
                closeAfterFlush()
                return bytes.count
            }
        }
        guard offset < bytes.count,
            let outcome = tls?.open(
                UnsafeMutableRawBufferPointer(rebasing: bytes[offset...]), plaintext: &plainInbound, output: &outbound)
        else { return offset }
        offset += outcome.consumed
        processDecryptedInput()
        switch outcome.event {
        case .none:
            break
        case .closeNotify:
            logger.debug("TLS close_notify from peer", metadata: ["fd": "\(fd)"])
            closeAfterFlush()
            return bytes.count
        case .failed(let error):
            logger.info("TLS record error, closing", metadata: ["fd": "\(fd)", "error": "\(error)"])
            closeAfterFlush()
            return bytes.count
        }
        return offset
    }

    /// Hands decrypted bytes to the protocol layers, keeping what they cannot consume yet.
    private func processDecryptedInput() {
        guard !plainInbound.isEmpty, phase != .closed, phase != .lingering else { return }
        let consumed = plainInbound.withUnsafeMutableBytes { processPlaintext($0) }
        guard phase != .closed else { return }
        if consumed == plainInbound.count {
            plainInbound.removeAll(keepingCapacity: plainInbound.capacity <= 16 * 1024)
        } else {
            plainInbound.removeFirst(consumed)
        }
    }

    /// Seals the application bytes queued since the last flush into TLS records.
    func sealPendingPlaintext() {
        guard tls != nil, !plainOutbound.isEmpty else { return }
        let sealedBefore = outbound.count
        let from = outboundMarks.written + outbound.count - outboundOffset
        plainOutbound.withUnsafeBytes { tls?.seal($0, into: &outbound) }
        outboundMarks.sealed(from: from, plain: plainOutbound.count, into: outbound.count - sealedBefore)
        plainOutbound.removeAllWritten()
    }
}
