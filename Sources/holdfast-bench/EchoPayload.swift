/// The payload of an echo message: the send (or scheduled send) time in its first bytes, filler after.
///
/// Binary messages carry the nanosecond timestamp as 8 little-endian bytes; text messages carry it as 16
/// lowercase hex digits so the payload stays valid UTF-8. The filler is a fixed ASCII byte for the same reason.
enum EchoPayload {
    /// The smallest payload that holds a timestamp.
    static func minimumSize(text: Bool) -> Int { text ? 16 : 8 }

    private static let filler = UInt8(ascii: "x")
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes `timestamp` and filler into `payload` (at least ``minimumSize(text:)`` bytes).
    static func fill(_ payload: UnsafeMutableRawBufferPointer, timestamp: UInt64, text: Bool) {
        let stampBytes = minimumSize(text: text)
        if text {
            for index in 0..<16 {
                let nibble = Int(truncatingIfNeeded: timestamp >> UInt64((15 - index) * 4)) & 0xF
                payload[index] = hexDigits[nibble]
            }
        } else {
            payload.storeBytes(of: timestamp.littleEndian, toByteOffset: 0, as: UInt64.self)
        }
        if payload.count > stampBytes {
            UnsafeMutableRawBufferPointer(rebasing: payload[stampBytes...]).initializeMemory(as: UInt8.self, repeating: filler)
        }
    }

    /// Reads the timestamp back from an echoed message's prefix, or nil when it is not one of ours.
    static func timestamp(from prefix: FrameReader.Prefix, text: Bool) -> UInt64? {
        guard prefix.count >= minimumSize(text: text) else { return nil }
        guard text else { return UInt64(littleEndian: prefix.words.0) }
        var value: UInt64 = 0
        for index in 0..<16 {
            let byte = prefix.byte(index)
            let nibble: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(nibble)
        }
        return value
    }
}
