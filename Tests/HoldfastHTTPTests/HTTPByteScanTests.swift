@testable import HoldfastHTTP
import HoldfastTestSupport
import Testing

/// The word-at-a-time scans against byte-at-a-time definitions: every start, every length, a hit at every position
/// of a word (and at none), ASCII, controls and obs-text alike.
@Suite struct HTTPByteScanTests {
    /// Bytes that sit at the edges of the classes the scans tell apart.
    static let edges: [UInt8] = [
        0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x1F, 0x20, 0x21, 0x2B, 0x2D, 0x2F, 0x30, 0x39, 0x3A, 0x3F, 0x40, 0x41,
        0x5A, 0x5B, 0x60, 0x61, 0x7A, 0x7B, 0x7E, 0x7F, 0x80, 0x8D, 0xA0, 0xAD, 0xC1, 0xDA, 0xE1, 0xFA, 0xFF,
    ]

    /// Mostly visible ASCII, with an edge byte now and then; seeded, so a failure names the buffer that made it.
    private static func buffer(count: Int, using random: inout SplitMix) -> [UInt8] {
        (0..<count).map { _ in
            let pick = random.next()
            return pick % 5 == 0 ? edges[Int(pick >> 8) % edges.count] : UInt8(0x21 + (pick >> 8) % 94)
        }
    }

    private static func firstControlByBytes(_ bytes: [UInt8], from start: Int) -> Int {
        bytes[start...].firstIndex { $0 < 0x20 || $0 == 0x7F } ?? bytes.count
    }

    private static func firstNonVisibleByBytes(_ bytes: [UInt8], from start: Int) -> Int {
        bytes[start...].firstIndex { $0 <= 0x20 || $0 >= 0x7F } ?? bytes.count
    }

    /// Runs `check` on buffers of 0 to 40 bytes of visible ASCII holding `byte` at each position in turn (and at
    /// none), from every start.
    private func eachPlacement(of byte: UInt8, _ check: ([UInt8], Int) -> Void) {
        for count in 0...40 {
            for position in -1..<count {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: count)
                if position >= 0 { bytes[position] = byte }
                for start in 0...count { check(bytes, start) }
            }
        }
    }

    @Test func findsABytePlacedAnywhere() {
        for byte in Self.edges + [UInt8(ascii: ":")] {
            eachPlacement(of: byte) { bytes, start in
                let found = bytes.withUnsafeBytes { HTTPByteScan.firstIndex(of: byte, in: $0, from: start) }
                #expect(found == (bytes[start...].firstIndex(of: byte) ?? bytes.count), "\(byte) \(bytes) \(start)")
                let control = bytes.withUnsafeBufferPointer { HTTPByteScan.firstControl(in: $0, from: start) }
                #expect(control == Self.firstControlByBytes(bytes, from: start), "\(byte) \(bytes) \(start)")
                let invisible = bytes.withUnsafeBufferPointer { HTTPByteScan.firstNonVisible(in: $0, from: start) }
                #expect(invisible == Self.firstNonVisibleByBytes(bytes, from: start), "\(byte) \(bytes) \(start)")
            }
        }
    }

    @Test func agreesWithBytesOnMixedBuffers() {
        var random = SplitMix(seed: 17)
        for round in 0..<3000 {
            let bytes = Self.buffer(count: Int(random.next() % 48), using: &random)
            let start = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count + 1))
            let colon = bytes.withUnsafeBytes { HTTPByteScan.firstIndex(of: .colon, in: $0, from: start) }
            #expect(colon == (bytes[start...].firstIndex(of: .colon) ?? bytes.count), "round \(round)")
            let control = bytes.withUnsafeBufferPointer { HTTPByteScan.firstControl(in: $0, from: start) }
            #expect(control == Self.firstControlByBytes(bytes, from: start), "round \(round)")
            let invisible = bytes.withUnsafeBufferPointer { HTTPByteScan.firstNonVisible(in: $0, from: start) }
            #expect(invisible == Self.firstNonVisibleByBytes(bytes, from: start), "round \(round)")
        }
    }

    @Test func lowercasesOnlyCapitals() {
        for byte in 0...255 {
            let word = UInt64(byte) << 24 | 0x41_5A_61  // with `A`, `Z` and `a` around it
            let lowered = HTTPByteScan.asciiLowercased(word)
            #expect(UInt8(lowered >> 24 & 0xFF) == UInt8(byte).asciiLowercased, "\(byte)")
            #expect(lowered & 0xFF_FFFF == 0x61_7A_61)
        }
    }

    @Test func comparesIgnoringCaseAtEveryLength() {
        var random = SplitMix(seed: 5)
        for count in 0...40 {
            for _ in 0..<40 {
                let left = Self.buffer(count: count, using: &random)
                // The same bytes with some letters' case flipped, and sometimes one byte changed.
                var right = left.map { byte -> UInt8 in
                    let isLetter = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A
                    return isLetter && random.next() % 2 == 0 ? byte ^ 0x20 : byte
                }
                if count > 0 && random.next() % 3 == 0 {
                    let position = Int(random.next() % UInt64(count))
                    right[position] = Self.edges[Int(random.next() % UInt64(Self.edges.count))]
                }
                let expected = zip(left, right).allSatisfy { $0.asciiLowercased == $1.asciiLowercased }
                let compared = left.withUnsafeBufferPointer { l in
                    right.withUnsafeBufferPointer { r in l.equalsIgnoringASCIICase(r) }
                }
                #expect(compared == expected, "\(left) \(right)")
            }
        }
        // Bytes that differ only in bit 5 are not the same unless they are letters.
        for (left, right) in [("-", "\r"), ("@", "`"), ("[", "{"), ("\u{7F}", "_")] {
            let equal = Array(left.utf8).withUnsafeBufferPointer { l in
                Array(right.utf8).withUnsafeBufferPointer { r in l.equalsIgnoringASCIICase(r) }
            }
            #expect(!equal, "\(left.debugDescription) \(right.debugDescription)")
        }
    }

    @Test func recognisesKnownNamesExactly() {
        for field in HTTPKnownField.allCases {
            let name = Array(field.name.utf8)
            for variant in [name, name.map(\.asciiLowercased), name.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }] {
                #expect(variant.withUnsafeBytes(HTTPKnownField.recognize) == field)
            }
            // Every byte replaced by each edge byte: recognised only when it is the same letter in another case.
            for position in name.indices {
                for byte in Self.edges where byte.asciiLowercased != name[position].asciiLowercased {
                    var changed = name
                    changed[position] = byte
                    #expect(changed.withUnsafeBytes(HTTPKnownField.recognize) == nil, "\(field) \(position) \(byte)")
                }
            }
        }
        // A CR where a name has `-` (0x0D | 0x20 is `-`) is not that name.
        #expect(Array("Sec\rWebSocket-Key".utf8).withUnsafeBytes(HTTPKnownField.recognize) == nil)
        #expect(Array("Content\rLength".utf8).withUnsafeBytes(HTTPKnownField.recognize) == nil)
    }
}
