import Testing
@testable import HoldfastWebSocket

@Suite struct UTF8Tests {
    /// Sends `bytes` as a text message split into fragments at the given offsets.
    func send(_ bytes: [UInt8], splits: [Int]) -> [Recorded] {
        var harness = Harness()
        var frames: [UInt8] = []
        let cuts = [0] + splits + [bytes.count]
        for index in 0..<(cuts.count - 1) {
            let piece = Array(bytes[cuts[index]..<cuts[index + 1]])
            frames += clientFrame(index == 0 ? .text : .continuation, piece, fin: index == cuts.count - 2)
        }
        return harness.feed(frames)
    }

    @Test func acceptsValidTextInEveryFragmentation() {
        let text = "Grüße, κόσμε, 世界, 🎉!"
        let bytes = Array(text.utf8)
        for split in 0...bytes.count {
            #expect(send(bytes, splits: [split]) == [.text(text)], "split at \(split)")
        }
        #expect(send(bytes, splits: Array(1..<bytes.count)) == [.text(text)])
    }

    @Test func rejectsInvalidSequences() {
        let invalid: [[UInt8]] = [
            [0xC0, 0xAF], [0xE0, 0x80, 0xAF], [0xF0, 0x80, 0x80, 0xAF],  // overlong
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],  // surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],  // above U+10FFFF
            [0x80], [0xC2], [0xE2, 0x82], [0xFE], [0xFF], [0xC2, 0x41],
        ]
        for bytes in invalid {
            let events = send(Array("ok".utf8) + bytes, splits: [])
            #expect(events == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)], "\(bytes)")
        }
    }

    @Test func acceptsBoundaryCodePoints() {
        for scalar in ["\u{7F}", "\u{80}", "\u{7FF}", "\u{800}", "\u{D7FF}", "\u{E000}", "\u{FFFF}", "\u{10000}",
                       "\u{10FFFF}"] {
            #expect(send(Array(scalar.utf8), splits: []) == [.text(scalar)])
        }
    }

    @Test func failsOnTheFragmentCarryingInvalidBytes() {
        var harness = Harness()
        let events = harness.feed(clientFrame(.text, [0x61, 0xED], fin: false) + clientFrame(.continuation, [0xA0], fin: false))
        #expect(events == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)])
    }

    @Test func rejectsAMessageEndingInsideACharacter() {
        #expect(send([0x61, 0xE2, 0x82], splits: [2]) == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)])
    }

    @Test func validatesLongASCIIRunsWithAStrayByteAtEveryPosition() {
        for position in 0..<40 {
            var bytes = [UInt8](repeating: 0x61, count: 40)
            bytes[position] = 0x80
            let valid = bytes.withUnsafeBytes { UTF8Validator.isValid($0) }
            #expect(!valid, "stray byte at \(position)")
        }
    }
}
