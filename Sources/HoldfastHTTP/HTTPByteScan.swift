/// Byte searches over a head's lines eight bytes at a time: the parser scans every byte of every request head
/// (a WebSocket upgrade's included), and a byte-at-a-time loop cost several instructions per byte.
enum HTTPByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of every zero byte of `word`, and of no other (exact, unlike the shorter borrow form).
    @inline(__always)
    static func zeroBytes(_ word: UInt64) -> UInt64 {
        // ((x & 0x7F..) + 0x7F..) | x keeps a byte's high bit clear only for a zero byte.
        let low = ~highs
        return ~(((word & low) &+ low) | word | low)
    }

    /// Whether any byte of `word` is zero (exact: no false positives).
    @inline(__always)
    private static func hasZeroByte(_ word: UInt64) -> Bool { zeroBytes(word) != 0 }

    /// The index (0 to 7) of the lowest-addressed byte marked in `mask` (high bits of a word loaded little-endian).
    @inline(__always)
    static func firstMarked(_ mask: UInt64) -> Int { mask.trailingZeroBitCount >> 3 }

    /// The index of the first `byte` in `buffer[start...]`, or `buffer.count`.
    static func firstIndex(of byte: UInt8, in buffer: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        let pattern = ones &* UInt64(byte)
        while index + 8 <= buffer.count {
            let word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let hits = zeroBytes(word ^ pattern)
            if hits != 0 { return index + firstMarked(hits) }
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

    /// The high bits of the bytes of `word` below `limit` (at most 0x80). A byte above (at a higher address than)
    /// a true hit may be marked too, never a miss, so the lowest-addressed mark is always a true hit.
    @inline(__always)
    private static func bytesBelow(_ word: UInt64, _ limit: UInt8) -> UInt64 {
        (word &- ones &* UInt64(limit)) & ~word & highs
    }

    /// The index of the first byte of `buffer[start...]` that is a control (below 0x20, or DEL), or `buffer.count`.
    static func firstControl(in buffer: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        let raw = UnsafeRawPointer(buffer.baseAddress!)
        let dels = ones &* 0x7F
        while index + 8 <= buffer.count {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            // Each mask's lowest mark is a true hit, so the lowest mark of both is the first control.
            let hits = bytesBelow(word, 0x20) | zeroBytes(word ^ dels)
            if hits != 0 { return index + firstMarked(hits) }
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
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let hits = (word & highs) | bytesBelow(word, 0x21) | zeroBytes(word ^ dels)
            if hits != 0 { return index + firstMarked(hits) }
            index += 8
        }
        while index < buffer.count && buffer[index] > 0x20 && buffer[index] < 0x7F { index += 1 }
        return index
    }

    /// `word` with the ASCII capitals of each byte lowercased; other bytes (obs-text included) unchanged.
    @inline(__always)
    static func asciiLowercased(_ word: UInt64) -> UInt64 {
        let heptets = word & ~highs
        // Per byte: the high bit of heptet + 0x3F is set from `A` up, that of heptet + 0x25 from `[` up; no carry
        // leaves a byte (0x7F + 0x3F < 0x100). Bytes with their own high bit set are never capitals.
        let capitals = (heptets &+ ones &* 0x3F) & ~(heptets &+ ones &* 0x25) & ~word & highs
        return word | capitals >> 2
    }

    /// Whether `a` and `b` hold the same bytes ignoring ASCII case: eight bytes at a time, the last word
    /// overlapping the one before it.
    static func equalIgnoringASCIICase(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count: Int) -> Bool {
        if count >= 8 {
            var offset = 0
            while true {
                let at = min(offset, count - 8)
                let left = a.loadUnaligned(fromByteOffset: at, as: UInt64.self)
                let right = b.loadUnaligned(fromByteOffset: at, as: UInt64.self)
                if left != right && asciiLowercased(left) != asciiLowercased(right) { return false }
                offset += 8
                if offset >= count { return true }
            }
        }
        if count >= 4 {
            // Two 4-byte words, overlapping when the count is below 8, compared as one.
            let left = UInt64(a.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(a.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            let right = UInt64(b.loadUnaligned(as: UInt32.self)) << 32
                | UInt64(b.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self))
            return left == right || asciiLowercased(left) == asciiLowercased(right)
        }
        for index in 0..<count {
            let left = a.load(fromByteOffset: index, as: UInt8.self)
            let right = b.load(fromByteOffset: index, as: UInt8.self)
            if left != right && left.asciiLowercased != right.asciiLowercased { return false }
        }
        return true
    }

    /// Whether every byte of `buffer` may appear in a field value (HT, SP, visible ASCII, obs-text).
    static func isFieldValue(_ buffer: UnsafeRawBufferPointer) -> Bool {
        for byte in buffer where !byte.isFieldValueCharacter { return false }
        return true
    }
}
