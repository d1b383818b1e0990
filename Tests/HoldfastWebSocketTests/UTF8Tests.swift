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

    /// Invalid sequences and the index of the byte where they stop being a prefix of valid UTF-8.
    static let invalidWithOffendingByte: [([UInt8], Int)] = [
        ([0xC0, 0xAF], 0), ([0xE0, 0x80, 0xAF], 1), ([0xF0, 0x80, 0x80, 0xAF], 1), ([0xED, 0xA0, 0x80], 1),
        ([0xF4, 0x90, 0x80, 0x80], 1), ([0xF5, 0x80], 0), ([0x80], 0), ([0xFF], 0), ([0xC2, 0x41], 1),
        ([0xE2, 0x82, 0x28], 2), ([0xF0, 0x9F, 0x8E, 0x41], 3),
    ]

    @Test func failsOnTheOffendingFragmentAtEverySplitWithTheMessageLeftOpen() {
        for (invalid, offending) in Self.invalidWithOffendingByte {
            let text = Array("ok".utf8) + invalid + Array(" and more".utf8)
            let bad = 2 + offending
            for split in 1..<text.count {
                var harness = Harness()
                // Neither fragment ends the message: the failure can only come from the fragment itself.
                let first = harness.feed(clientFrame(.text, Array(text[..<split]), fin: false))
                if bad < split {
                    #expect(first == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)], "\(invalid) \(split)")
                    continue
                }
                #expect(first.isEmpty, "a valid prefix must not fail: \(invalid) split at \(split)")
                let second = harness.feed(clientFrame(.continuation, Array(text[split...]), fin: false))
                #expect(second == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)], "\(invalid) \(split)")
            }
        }
    }

    @Test func failsOnTheOffendingFragmentOfACompressedMessage() {
        for (invalid, _) in Self.invalidWithOffendingByte {
            let compressed = ClientDeflater(windowBits: 15).compress(Array("ok".utf8) + invalid + Array("tail".utf8))
            for split in 1..<compressed.count {
                var harness = Harness(deflate: PerMessageDeflateParameters())
                // The sync flush makes every inflated byte available by the end of the data: fails before FIN.
                let events = harness.feed(
                    clientFrame(.text, Array(compressed[..<split]), fin: false, rsv1: true)
                        + clientFrame(.continuation, Array(compressed[split...]), fin: false))
                #expect(events == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)], "\(invalid) \(split)")
            }
        }
    }

    @Test func acceptsValidCompressedTextInEveryFragmentation() {
        let text = "Grüße, κόσμε, 世界, 🎉! " + String(repeating: "ascii run ", count: 20)
        let compressed = ClientDeflater(windowBits: 15).compress(Array(text.utf8))
        for split in 1..<compressed.count {
            var harness = Harness(deflate: PerMessageDeflateParameters())
            let events = harness.feed(
                clientFrame(.text, Array(compressed[..<split]), fin: false, rsv1: true)
                    + clientFrame(.continuation, Array(compressed[split...])))
            #expect(events == [.text(text)], "split at \(split)")
        }
    }
}
