/// SHA-1 (FIPS 180-4) of a short message, for the opening handshake's `Sec-WebSocket-Accept` only (RFC 6455
/// §4.2.2 uses SHA-1 as a checksum, not for security).
///
/// Computed here rather than through libcrypto: OpenSSL 3's `SHA1()` looks the algorithm up in its provider
/// registry on every call, which cost twice the hash itself and a third of the server's whole upgrade.
enum AcceptKeyDigest {
    /// The digest length in bytes.
    static let length = 20

    /// Writes SHA-1(`message`) to the first 20 bytes of `digest`.
    static func sha1(_ message: UnsafeBufferPointer<UInt8>, into digest: UnsafeMutableBufferPointer<UInt8>) {
        precondition(digest.count >= length, "a SHA-1 digest is 20 bytes")
        // The message, a 1 bit, zeros, and the bit length as 64 bits, filling whole 64-byte blocks.
        let blocks = (message.count + 8) / 64 + 1
        var state: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: blocks * 64) { padded in
            _ = padded.initialize(repeating: 0)
            _ = UnsafeMutableBufferPointer(rebasing: padded[..<message.count]).initialize(fromContentsOf: message)
            padded[message.count] = 0x80
            let bits = UInt64(message.count) &* 8
            for index in 0..<8 { padded[padded.count - 1 - index] = UInt8(truncatingIfNeeded: bits &>> (8 * index)) }
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 80) { schedule in
                for block in 0..<blocks {
                    compress(UnsafeBufferPointer(rebasing: padded[(block * 64)..<(block * 64 + 64)]), schedule, &state)
                }
            }
        }
        func store(_ word: UInt32, at index: Int) {
            for byte in 0..<4 { digest[index * 4 + byte] = UInt8(truncatingIfNeeded: word &>> (24 - 8 * byte)) }
        }
        store(state.0, at: 0)
        store(state.1, at: 1)
        store(state.2, at: 2)
        store(state.3, at: 3)
        store(state.4, at: 4)
    }

    /// One 64-byte block into the running state.
    private static func compress(
        _ block: UnsafeBufferPointer<UInt8>, _ w: UnsafeMutableBufferPointer<UInt32>,
        _ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32)
    ) {
        for t in 0..<16 {
            w[t] = UInt32(block[t * 4]) &<< 24 | UInt32(block[t * 4 + 1]) &<< 16 | UInt32(block[t * 4 + 2]) &<< 8
                | UInt32(block[t * 4 + 3])
        }
        for t in 16..<80 { w[t] = rotate(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1) }
        var (a, b, c, d, e) = state
        for t in 0..<80 {
            let f: UInt32
            let k: UInt32
            switch t {
            case 0..<20:
                f = (b & c) | (~b & d)
                k = 0x5A82_7999
            case 20..<40:
                f = b ^ c ^ d
                k = 0x6ED9_EBA1
            case 40..<60:
                f = (b & c) | (b & d) | (c & d)
                k = 0x8F1B_BCDC
            default:
                f = b ^ c ^ d
                k = 0xCA62_C1D6
            }
            let next = rotate(a, 5) &+ f &+ e &+ k &+ w[t]
            e = d
            d = c
            c = rotate(b, 30)
            b = a
            a = next
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e)
    }

    @inline(__always)
    private static func rotate(_ value: UInt32, _ count: UInt32) -> UInt32 {
        value &<< count | value &>> (32 - count)
    }
}
