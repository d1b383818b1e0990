/// Frame encoding and in-place decoding helpers (RFC 6455 §5.2).
public enum WebSocketFrame {
    /// The longest header: 2 fixed bytes, 8 length bytes, 4 mask bytes.
    public static let maxHeaderSize = 14
    /// Unmasked frames up to this payload size are assembled before they are appended (see ``appendFrame``).
    static let smallFrameSize = 512

    /// Appends one frame.
    ///
    /// Server frames are unmasked; `mask` exists for tests and clients and masks the copied payload with the given
    /// key (the key's bytes in big-endian order, as they appear on the wire).
    /// - Parameters:
    ///   - opcode: the frame opcode.
    ///   - fin: whether this is the last frame of its message.
    ///   - rsv1: the permessage-deflate "compressed" bit.
    ///   - payload: the payload bytes, sent as they are.
    ///   - mask: the masking key, or nil for an unmasked frame.
    ///   - output: the buffer to append to.
    public static func appendFrame(
        opcode: WebSocketOpcode,
        fin: Bool,
        rsv1: Bool = false,
        payload: UnsafeRawBufferPointer,
        mask: UInt32? = nil,
        into output: inout [UInt8]
    ) {
        if mask == nil && payload.count <= smallFrameSize {
            // Header and payload assembled on the stack and appended at once: one append costs more than copying
            // a small payload twice.
            return withUnsafeTemporaryAllocation(byteCount: maxHeaderSize + payload.count, alignment: 8) { frame in
                let size = writeHeader(opcode: opcode, fin: fin, rsv1: rsv1, length: payload.count, mask: nil, into: frame)
                UnsafeMutableRawBufferPointer(rebasing: frame[size...]).copyMemory(from: payload)
                output.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[..<(size + payload.count)]))
            }
        }
        appendHeader(opcode: opcode, fin: fin, rsv1: rsv1, length: payload.count, mask: mask, into: &output)
        let start = output.count
        output.append(contentsOf: payload)
        if let mask {
            output.withUnsafeMutableBytes { bytes in
                let body = UnsafeMutableRawBufferPointer(rebasing: bytes[start...])
                applyMask(wireKey(mask), to: body)
            }
        }
    }

    /// Appends a frame header with the shortest length encoding (7, 16 or 64 bits).
    public static func appendHeader(
        opcode: WebSocketOpcode,
        fin: Bool,
        rsv1: Bool,
        length: Int,
        mask: UInt32?,
        into output: inout [UInt8]
    ) {
        var header = (UInt64(0), UInt64(0))
        let size = withUnsafeMutableBytes(of: &header) { raw in
            writeHeader(opcode: opcode, fin: fin, rsv1: rsv1, length: length, mask: mask, into: raw)
        }
        // Rebased, the append copies the bytes at once (a slice would go through the generic element loop).
        withUnsafeBytes(of: &header) { output.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<size])) }
    }

    /// Writes a header into `target` (at least ``maxHeaderSize`` bytes) and returns its size.
    static func writeHeader(
        opcode: WebSocketOpcode,
        fin: Bool,
        rsv1: Bool,
        length: Int,
        mask: UInt32?,
        into target: UnsafeMutableRawBufferPointer
    ) -> Int {
        target[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        var size: Int
        if length < 126 {
            target[1] = maskBit | UInt8(length)
            size = 2
        } else if length <= 0xFFFF {
            target[1] = maskBit | 126
            target[2] = UInt8(length >> 8)
            target[3] = UInt8(length & 0xFF)
            size = 4
        } else {
            target[1] = maskBit | 127
            let wide = UInt64(length)
            for index in 0..<8 { target[2 + index] = UInt8(truncatingIfNeeded: wide >> UInt64(56 - 8 * index)) }
            size = 10
        }
        if let mask {
            for index in 0..<4 { target[size + index] = UInt8(truncatingIfNeeded: mask >> UInt32(24 - 8 * index)) }
            size += 4
        }
        return size
    }

    /// The key as a native integer whose in-memory bytes equal the wire bytes, for ``applyMask(_:to:)``.
    static func wireKey(_ mask: UInt32) -> UInt32 { mask.bigEndian }

    /// XORs `bytes` with the 4-byte key (in-memory order = wire order), 8 bytes at a time.
    static func applyMask(_ key: UInt32, to bytes: UnsafeMutableRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        let count = bytes.count
        let wide = UInt64(key) | UInt64(key) << 32
        var index = 0
        while index + 8 <= count {
            let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            base.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < count {
            // Consumes the key bytes in memory order, which is the order they had on the wire.
            let keyByte = withUnsafeBytes(of: wide) { $0[index & 7] }
            base.storeBytes(of: base.load(fromByteOffset: index, as: UInt8.self) ^ keyByte, toByteOffset: index,
                            as: UInt8.self)
            index += 1
        }
    }
}
