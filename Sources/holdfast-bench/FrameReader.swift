/// A streaming parser for server-to-client WebSocket frames (RFC 6455 §5.2) that keeps no data payload.
///
/// It remembers a data message's first 16 bytes (where the echo timestamp sits), a control frame's payload
/// (at most 125 bytes), and skips everything else, so a connection's parse state stays a few dozen bytes
/// whatever the message size. Frames may arrive split at any byte, several per read.
struct FrameReader {
    /// A complete message or control frame.
    enum Event {
        /// A whole data message (all fragments): its kind, total length and first bytes.
        case message(binary: Bool, length: Int, prefix: Prefix)
        /// A ping; answer with a pong carrying `payload`.
        case ping(payload: [UInt8])
        /// A pong (ignored).
        case pong
        /// A close frame, with its status code when present.
        case close(code: UInt16?)
    }

    /// A protocol violation by the server; the connection must be dropped.
    struct Violation: Error, CustomStringConvertible {
        var description: String
    }

    /// The first up to 16 bytes of a message, packed little-endian into two words.
    struct Prefix {
        /// Bytes 0–7 and 8–15.
        var words: (UInt64, UInt64) = (0, 0)
        /// How many bytes were captured (at most 16).
        var count = 0

        fileprivate mutating func append(_ byte: UInt8) {
            if count < 8 {
                words.0 |= UInt64(byte) << UInt64(count * 8)
            } else {
                words.1 |= UInt64(byte) << UInt64((count - 8) * 8)
            }
            count += 1
        }

        /// Byte `index` (< count).
        func byte(_ index: Int) -> UInt8 {
            UInt8(truncatingIfNeeded: index < 8 ? words.0 >> UInt64(index * 8) : words.1 >> UInt64((index - 8) * 8))
        }
    }

    // Header bytes gathered so far; a header is 2–14 bytes and may straddle reads.
    private var header: [UInt8] = []
    private var inPayload = false
    private var opcode: UInt8 = 0
    private var final = false
    private var remaining = 0
    private var control: [UInt8] = []
    // The data message being assembled across continuation frames.
    private var messageOpen = false
    private var messageBinary = false
    private var messageLength = 0
    private var prefix = Prefix()
    /// Up to ``retainLimit`` bytes of the current data message, kept for callers that read more than the prefix.
    private(set) var retained: [UInt8] = []
    /// How many bytes of each data message to keep in ``retained``; 0 (the default) keeps none.
    var retainLimit = 0
    /// Whether permessage-deflate was negotiated (RSV1 then marks a compressed message).
    var deflate = false
    /// Whether the last message had RSV1 set on its first frame.
    private(set) var messageCompressed = false

    init() {}

    /// Drops the retained bytes of the last message, releasing a large buffer instead of keeping its capacity.
    mutating func releaseRetained() {
        if retained.capacity > 16 * 1024 { retained = [] } else { retained.removeAll(keepingCapacity: true) }
    }

    /// Consumes bytes from `buffer` starting at `offset` and returns the next complete event, or nil once the
    /// buffer is used up. Call again with the updated offset until it returns nil.
    mutating func next(_ buffer: UnsafeRawBufferPointer, _ offset: inout Int) throws(Violation) -> Event? {
        while offset < buffer.count {
            if !inPayload {
                header.append(buffer[offset])
                offset += 1
                guard header.count >= 2, header.count == headerLength() else { continue }
                try startFrame()
                if remaining == 0, let event = try finishFrame() { return event }
                continue
            }
            let take = min(remaining, buffer.count - offset)
            if opcode >= 8 {
                control.append(contentsOf: buffer[offset..<(offset + take)])
            } else {
                var index = offset
                while prefix.count < 16, index < offset + take {
                    prefix.append(buffer[index])
                    index += 1
                }
                let keep = min(take, retainLimit - retained.count)
                if keep > 0 { retained.append(contentsOf: buffer[offset..<(offset + keep)]) }
            }
            offset += take
            remaining -= take
            if remaining == 0, let event = try finishFrame() { return event }
        }
        return nil
    }

    private func headerLength() -> Int {
        let short = header[1] & 0x7F
        let extended = short == 126 ? 2 : short == 127 ? 8 : 0
        return 2 + extended + (header[1] & 0x80 != 0 ? 4 : 0)
    }

    private mutating func startFrame() throws(Violation) {
        final = header[0] & 0x80 != 0
        opcode = header[0] & 0x0F
        let compressedBit = deflate && (opcode == 1 || opcode == 2) && header[0] & 0x40 != 0
        guard header[0] & 0x70 == (compressedBit ? 0x40 : 0) else {
            throw Violation(description: "reserved bits set without an extension")
        }
        guard header[1] & 0x80 == 0 else { throw Violation(description: "server frame is masked") }
        var length = UInt64(header[1] & 0x7F)
        if length >= 126 {
            length = 0
            for byte in header[2..<header.count] { length = length << 8 | UInt64(byte) }
        }
        guard length <= UInt64(Int32.max) else { throw Violation(description: "frame length \(length) too large") }
        remaining = Int(length)
        header.removeAll(keepingCapacity: true)
        inPayload = true
        switch opcode {
        case 0:
            guard messageOpen else { throw Violation(description: "continuation without a message") }
        case 1, 2:
            guard !messageOpen else { throw Violation(description: "new message inside a fragmented one") }
            messageOpen = true
            messageBinary = opcode == 2
            messageLength = 0
            messageCompressed = compressedBit
            prefix = Prefix()
            if !retained.isEmpty { releaseRetained() }
        case 8, 9, 10:
            guard final, remaining <= 125 else { throw Violation(description: "fragmented or long control frame") }
            control.removeAll(keepingCapacity: true)
        default:
            throw Violation(description: "unknown opcode \(opcode)")
        }
        if opcode < 8 { messageLength += remaining }
    }

    private mutating func finishFrame() throws(Violation) -> Event? {
        inPayload = false
        switch opcode {
        case 8:
            guard control.count != 1 else { throw Violation(description: "close frame with a one-byte payload") }
            return .close(code: control.count >= 2 ? UInt16(control[0]) << 8 | UInt16(control[1]) : nil)
        case 9:
            return .ping(payload: control)
        case 10:
            return .pong
        default:
            guard final else { return nil }
            messageOpen = false
            return .message(binary: messageBinary, length: messageLength, prefix: prefix)
        }
    }
}
