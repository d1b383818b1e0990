import HoldfastBytes
import Testing
@testable import HoldfastWebSocket

/// The accept key's SHA-1 pads its message into one or two blocks itself (and takes the buffered path past 119
/// bytes): every message length around those edges against a plain SHA-1 written from FIPS 180-4, and the key
/// check against a byte-by-byte one.
@Suite struct AcceptKeyDigestTests {
    /// SHA-1 as FIPS 180-4 defines it, one 64-byte block at a time: slow and obviously right.
    static func referenceSHA1(_ message: [UInt8]) -> [UInt8] {
        var state: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var padded = message + [0x80]
        while padded.count % 64 != 56 { padded.append(0) }
        let bits = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { padded.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        for block in stride(from: 0, to: padded.count, by: 64) {
            var w = (0..<16).map { i in
                (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(padded[block + 4 * i + $1]) }
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w.append(x << 1 | x >> 31)
            }
            var (a, b, c, d, e) = (state[0], state[1], state[2], state[3], state[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) =
                    switch i {
                    case 0..<20: ((b & c) | (~b & d), 0x5A82_7999)
                    case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
                    case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                    default: (b ^ c ^ d, 0xCA62_C1D6)
                    }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, temp)
            }
            state = [state[0] &+ a, state[1] &+ b, state[2] &+ c, state[3] &+ d, state[4] &+ e]
        }
        return state.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32($0))) } }
    }

    @Test func theReferenceHashesTheStandardVectors() {
        #expect(Base64.encode(Self.referenceSHA1(Array("abc".utf8))) == "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=")
        #expect(Base64.encode(Self.referenceSHA1([])) == "2jmj7l5rSw0yVb/vlWAYkK/YBwk=")
    }

    @Test func hashesEveryMessageLengthAroundTheBlockEdges() {
        // The hashed message is the key and the 36-byte GUID: keys of 0 to 150 bytes make messages of 36 to 186,
        // across one block (up to 55), two (56 to 119) and the buffered path above.
        for length in 0...150 {
            let key = String((0..<length).map { Character(UnicodeScalar(UInt8(0x21 + $0 % 90))) })
            let expected = Base64.encode(Self.referenceSHA1(Array((key + WebSocketHandshake.acceptGUID).utf8)))
            #expect(WebSocketHandshake.acceptKey(for: key) == expected, "key of \(length) bytes")
        }
    }

    @Test func checksKeysAsBytesDo() {
        let symbols = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        func valid(_ key: [UInt8]) -> Bool {
            key.count == 24 && key[22] == UInt8(ascii: "=") && key[23] == UInt8(ascii: "=")
                && key[..<22].allSatisfy(symbols.contains) && "AQgw".utf8.contains(key[21])
        }
        let base = Array("dGhlIHNhbXBsZSBub25jZQ==".utf8)
        // Every byte value at every position of a valid key.
        for position in base.indices {
            for byte in 0...255 {
                var key = base
                key[position] = UInt8(byte)
                let checked = key.withUnsafeBufferPointer(WebSocketHandshake.isValidKey)
                #expect(checked == valid(key), "\(position) \(byte)")
            }
        }
        #expect(Array("dGhlIHNhbXBsZSBub25jZQ=".utf8).withUnsafeBufferPointer(WebSocketHandshake.isValidKey) == false)
    }
}
