extension WebSocketConnection {
    /// An echo server's fast path: answers the whole messages at the front of `input` with their echoes, written in
    /// place over the frames they answer, so the server can send them straight from its receive buffer.
    ///
    /// It takes frames while each is a complete, final, uncompressed text or binary frame of less than 64 KiB within
    /// the limits (text: valid UTF-8), on a connection without permessage-deflate that has no message open and has
    /// not closed. It stops at the first frame that is anything else (a control frame, a fragment, a partial frame,
    /// a fault), which ``nextEvent(input:output:)`` then handles as always, after these answers. Each answer is the
    /// frame ``appendMessage(_:opcode:into:)`` writes for the message: unmasked, the same opcode and payload. Its
    /// header is 4 bytes shorter than the masked frame it answers, so the answers never reach the frames still to be
    /// read, and each payload is unmasked as it moves, 8 bytes at a time.
    /// - Parameter input: the unconsumed received bytes; the answered ones are overwritten.
    /// - Returns: `answered`, the length of the answers now at the start of `input`, and `consumed`, how many input
    ///   bytes they answer (both 0 when the first frame is not one of these).
    public mutating func echoInPlace(_ input: UnsafeMutableRawBufferPointer) -> (answered: Int, consumed: Int) {
        guard deflate == nil, openMessage == nil, !closeSent, !finished, let base = input.baseAddress else {
            return (0, 0)
        }
        if releaseMessageOnNextCall {
            releaseMessageOnNextCall = false
            message = nil
        }
        let limit = Int(min(maxFrameSize, maxMessageSize))
        var answered = 0
        var offset = 0
        while input.count - offset >= 6 {
            let first = base.load(fromByteOffset: offset, as: UInt8.self)
            let second = base.load(fromByteOffset: offset + 1, as: UInt8.self)
            // FIN, no RSV bit, text or binary; masked.
            guard first == 0x81 || first == 0x82, second & 0x80 != 0 else { break }
            var length = Int(second & 0x7F)
            var headerSize = 6
            if length == 126 {
                guard input.count - offset >= 8 else { break }
                length = Int(base.load(fromByteOffset: offset + 2, as: UInt8.self)) << 8
                    | Int(base.load(fromByteOffset: offset + 3, as: UInt8.self))
                headerSize = 8
            } else if length == 127 {
                break
            }
            guard length <= limit, input.count - offset - headerSize >= length else { break }
            let key = base.loadUnaligned(fromByteOffset: offset + headerSize - 4, as: UInt32.self)
            let payload = base + offset + headerSize
            if first == 0x81 {
                let text = UnsafeMutableRawBufferPointer(start: payload, count: length)
                WebSocketFrame.applyMask(key, to: text)
                guard UTF8Validator.isValid(UnsafeRawBufferPointer(text)) else {
                    WebSocketFrame.applyMask(key, to: text)  // masked again, for nextEvent to refuse it
                    break
                }
            }
            // The header first: it overwrites only bytes already read (this frame's header at the latest). The length
            // takes the fewest bytes, whatever the client used (RFC 6455 §5.2 asks for that).
            base.storeBytes(of: first, toByteOffset: answered, as: UInt8.self)
            let answerHeaderSize = length < 126 ? 2 : 4
            if length < 126 {
                base.storeBytes(of: UInt8(length), toByteOffset: answered + 1, as: UInt8.self)
            } else {
                base.storeBytes(of: 126, toByteOffset: answered + 1, as: UInt8.self)
                base.storeBytes(of: UInt16(length).bigEndian, toByteOffset: answered + 2, as: UInt16.self)
            }
            let target = base + answered + answerHeaderSize
            if first == 0x81 {
                target.copyMemory(from: payload, byteCount: length)  // overlapping: a memmove
            } else {
                Self.moveUnmasking(from: payload, to: target, count: length, key: key)
            }
            answered += answerHeaderSize + length
            offset += headerSize + length
        }
        return (answered, offset)
    }

    /// The peer's close answered in place, for a server that sends its answers from the receive buffer (see
    /// ``echoInPlace(_:)``). It takes one whole close frame at `offset` that ``nextEvent(input:output:)`` would take
    /// as a valid close (masked, final, no RSV bit, a payload of 0 or 2 to 125 bytes within the frame limit, a code
    /// valid on the wire, a UTF-8 reason) while no close frame was sent, writes the reply that
    /// ``nextEvent(input:output:)`` would append (the peer's code without a reason; empty for an empty close) at
    /// `answerOffset`, and finishes the connection as it would.
    /// - Parameters:
    ///   - input: the unconsumed received bytes; the frame's payload is unmasked, and the reply overwrites at most
    ///     4 bytes from `answerOffset`, which must be at most `offset` (the frame's header has 6).
    /// - Returns: what the closed event of ``nextEvent(input:output:)`` would carry (the peer's code and reason; the
    ///   peer initiated, no fault) and the reply's length, with the frame and everything after it consumed (as
    ///   there); nil, with nothing changed, for anything else, which ``nextEvent(input:output:)`` then handles. No
    ///   event value: an enum of this size is destroyed through an outlined switch, once per connection.
    public mutating func answerCloseInPlace(
        _ input: UnsafeMutableRawBufferPointer, at offset: Int, answerAt answerOffset: Int
    ) -> (code: WebSocketCloseCode, reason: String, answered: Int)? {
        guard !closeSent, !finished, answerOffset <= offset, let base = input.baseAddress, input.count - offset >= 6,
            base.load(fromByteOffset: offset, as: UInt8.self) == 0x88
        else { return nil }
        let second = base.load(fromByteOffset: offset + 1, as: UInt8.self)
        let length = Int(second & 0x7F)
        guard second & 0x80 != 0, length != 1, length <= 125, length <= Int(maxFrameSize),
            input.count - offset - 6 >= length
        else { return nil }
        let key = base.loadUnaligned(fromByteOffset: offset + 2, as: UInt32.self)
        let payload = UnsafeMutableRawBufferPointer(start: base + offset + 6, count: length)
        var code = WebSocketCloseCode.noStatusReceived
        var reason = ""
        if length >= 2 {
            WebSocketFrame.applyMask(key, to: payload)
            code = WebSocketCloseCode(rawValue: UInt16(payload[0]) << 8 | UInt16(payload[1]))
            let reasonBytes = UnsafeRawBufferPointer(rebasing: payload[2...])
            guard code.isValidOnWire, UTF8Validator.isValid(reasonBytes) else {
                WebSocketFrame.applyMask(key, to: payload)  // masked again, for nextEvent to refuse it
                return nil
            }
            if !reasonBytes.isEmpty { reason = String(decoding: reasonBytes, as: UTF8.self) }
        }
        closeSent = true
        finish(code: code)
        // Written over the frame's own header at the latest: 0x88, the length, the code in network order.
        let (hi, lo) = (UInt32(code.rawValue >> 8), UInt32(code.rawValue & 0xFF))
        let reply: UInt32 = code == .noStatusReceived ? 0x0088 : 0x0288 | hi << 16 | lo << 24
        base.storeBytes(of: reply.littleEndian, toByteOffset: answerOffset, as: UInt32.self)
        return (code, reason, code == .noStatusReceived ? 2 : 4)
    }

    /// Copies `count` bytes XORed with the 4-byte `key` (in-memory order = wire order) from `source` to `target`, 8
    /// bytes at a time. `target` may overlap `source` from below: each word is read before anything is written over it.
    static func moveUnmasking(from source: UnsafeMutableRawPointer, to target: UnsafeMutableRawPointer, count: Int,
                              key: UInt32) {
        let wide = UInt64(key) | UInt64(key) << 32
        var index = 0
        while index + 8 <= count {
            let word = source.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            target.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        var rest = wide.littleEndian
        while index < count {
            // The key's bytes continue in memory order: the low byte of the little-endian word first.
            let byte = source.load(fromByteOffset: index, as: UInt8.self)
            target.storeBytes(of: byte ^ UInt8(truncatingIfNeeded: rest), toByteOffset: index, as: UInt8.self)
            rest >>= 8
            index += 1
        }
    }
}
