/// Byte searches over a head's lines eight bytes at a time: the parser scans every byte of every request head
/// (a WebSocket upgrade's included), and a byte-at-a-time loop cost several instructions per byte.
enum HTTPByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether any byte of `word` is zero (exact: no false positives).
    @inline(__always)
    private static func hasZeroByte(_ word: UInt64) -> Bool {
        // The classic "has zero byte" test, exact in this form: ((x & 0x7F..) + 0x7F..) | x keeps a byte's high
        // bit clear only for a zero byte.
        let low = ~highs
        return ~(((word & low) &+ low) | word | low) != 0
    }

    /// The index of the first `byte` in `buffer[start...]`, or `buffer.count`.
    static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let pattern = ones &* UInt64(byte)
        while index + 8 <= buffer.count {
            let word = buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if hasZeroByte(word ^ pattern) { break }
            index += 8
        }
        while index < buffer.count && buffer[index] != byte { index += 1 }
        return index
    }

    /// Whether `buffer` holds a CR or a NUL byte.
    static func containsCROrNUL(_ buffer: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let crs = ones &* UInt64(UInt8.cr)
        while index + 8 <= buffer.count {
            let word = buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if hasZeroByte(word) || hasZeroByte(word ^ crs) { return true }
            index += 8
        }
        while index < buffer.count {
            if buffer[index] == .cr || buffer[index] == 0 { return true }
            index += 1
        }
        return false
    }

    /// The `tchar` bytes (RFC 9110 §5.6.2) as a 256-bit set.
    static let tokenSet: (UInt64, UInt64, UInt64, UInt64) = {
        var words: [UInt64] = [0, 0, 0, 0]
        for byte in 0...255 where UInt8(byte).isTokenCharacter { words[byte >> 6] |= 1 << UInt64(byte & 63) }
        return (words[0], words[1], words[2], words[3])
    }()

    /// Whether `buffer` is a non-empty token.
    static func isToken(_ buffer: UnsafeRawBufferPointer) -> Bool {
        guard !buffer.isEmpty else { return false }
        let set = tokenSet
        for byte in buffer {
            // Token bytes are ASCII, so only the first two words can hold them.
            if !isTokenByte(byte, set) { return false }
        }
        return true
    }

    /// Whether `byte` is in the token set `set` (``tokenSet``, loaded once by the caller).
    @inline(__always)
    static func isTokenByte(_ byte: UInt8, _ set: (UInt64, UInt64, UInt64, UInt64)) -> Bool {
        // Token bytes are ASCII, so only the first two words can hold them.
        let word = byte < 64 ? set.0 : set.1
        return byte < 128 && word & (1 << UInt64(byte & 63)) != 0
    }

    /// Whether some byte of `word` is below `limit` (at most 0x80). A byte above a true hit may be reported too,
    /// never a miss: callers then look byte by byte.
    @inline(__always)
    private static func hasByteBelow(_ word: UInt64, _ limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highs != 0
    }

    /// The index of the first byte of `buffer[start...]` that is a control (below 0x20, or DEL), or `buffer.count`.
    static func firstControl(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        let raw = UnsafeRawPointer(buffer.baseAddress!)
        let dels = ones &* 0x7F
        while index + 8 <= buffer.count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if hasByteBelow(word, 0x20) || hasZeroByte(word ^ dels) { break }
            index += 8
        }
        while index < buffer.count && buffer[index] >= 0x20 && buffer[index] != 0x7F { index += 1 }
        return index
    }

    /// The index of the first byte of `buffer[start...]` that is not visible ASCII (0x21 to 0x7E), or
    /// `buffer.count`.
    static func firstNonVisible(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        let raw = UnsafeRawPointer(buffer.baseAddress!)
        let dels = ones &* 0x7F
        while index + 8 <= buffer.count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if word & highs != 0 || hasByteBelow(word, 0x21) || hasZeroByte(word ^ dels) { break }
            index += 8
        }
        while index < buffer.count && buffer[index] > 0x20 && buffer[index] < 0x7F { index += 1 }
        return index
    }

    /// Whether every byte of `buffer` may appear in a field value (HT, SP, visible ASCII, obs-text).
    static func isFieldValue(_ buffer: UnsafeRawBufferPointer) -> Bool {
        for byte in buffer where !byte.isFieldValueCharacter { return false }
        return true
    }
}
