/// Appends masked client-to-server frames (RFC 6455 §5.3) to an output buffer.
///
/// The header goes in front of the payload in the same buffer and the payload is masked in place, eight bytes
/// at a time, so a frame costs one append and no temporary.
enum FrameWriter {
    /// Opcodes the benchmark sends.
    enum Opcode: UInt8 {
        case text = 1, binary = 2, close = 8, pong = 10
    }

    /// Appends one final frame of `length` payload bytes, filled by `fill` and then masked with `maskKey`.
    static func append(
        to output: inout [UInt8],
        opcode: Opcode,
        length: Int,
        maskKey: UInt32,
        fill: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        output.append(0x80 | opcode.rawValue)
        if length < 126 {
            output.append(0x80 | UInt8(length))
        } else if length <= 0xFFFF {
            output.append(0x80 | 126)
            output.append(UInt8(truncatingIfNeeded: length >> 8))
            output.append(UInt8(truncatingIfNeeded: length))
        } else {
            output.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { output.append(UInt8(truncatingIfNeeded: length >> shift)) }
        }
        withUnsafeBytes(of: maskKey) { output.append(contentsOf: $0) }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: length))
        output.withUnsafeMutableBytes { raw in
            let payload = UnsafeMutableRawBufferPointer(rebasing: raw[start..<(start + length)])
            fill(payload)
            mask(payload, key: maskKey)
        }
    }

    /// XORs `payload` with the 4-byte key as laid out in memory (which is the order it went on the wire).
    static func mask(_ payload: UnsafeMutableRawBufferPointer, key: UInt32) {
        let wide = UInt64(key) | UInt64(key) << 32
        var index = 0
        while index + 8 <= payload.count {
            let word = payload.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            payload.storeBytes(of: word ^ wide, toByteOffset: index, as: UInt64.self)
            index += 8
        }
        // Word steps keep the key phase at 0, so the tail starts at key byte 0 too.
        withUnsafeBytes(of: key) { keyBytes in
            var phase = 0
            while index < payload.count {
                payload[index] ^= keyBytes[phase]
                phase = (phase + 1) & 3
                index += 1
            }
        }
    }
}
