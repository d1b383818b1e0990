import HoldfastTestSupport
import Testing
@testable import HoldfastWebSocket

/// Byte-stream robustness: any split of the input gives the same events, and no input can crash the parser.
@Suite struct StreamTests {
    static let stream: [UInt8] =
        clientFrame(.text, "hello") + clientFrame(.binary, [UInt8](repeating: 7, count: 300))
        + clientFrame(.text, "frag", fin: false) + clientFrame(.ping, "in between")
        + clientFrame(.continuation, "mented ✓") + clientFrame(.pong, [])
        + clientFrame(.binary, (0..<70000).map { UInt8(truncatingIfNeeded: $0) })
        + clientFrame(.close, [0x03, 0xE8] + Array("done".utf8))

    @Test func givesTheSameEventsForEverySplitPoint() {
        var whole = Harness()
        let expected = whole.feed(Self.stream)
        #expect(expected.count == 7)
        #expect(expected.last == .closed(code: 1000, byPeer: true, error: nil))
        // Every offset in the small frames, then a stride through the big binary frame.
        let splits = Array(0...400) + Array(stride(from: 401, through: Self.stream.count, by: 97))
            + Array((Self.stream.count - 20)...Self.stream.count)
        for split in splits {
            var harness = Harness()
            var events = harness.feed(Array(Self.stream[..<split]))
            events += harness.feed(Array(Self.stream[split...]))
            #expect(events == expected, "split at \(split)")
            #expect(harness.output == whole.output, "split at \(split)")
        }
    }

    @Test func givesTheSameEventsFedOneByteAtATime() {
        var whole = Harness()
        let expected = whole.feed(Self.stream)
        var harness = Harness()
        var events: [Recorded] = []
        for byte in Self.stream { events += harness.feed([byte]) }
        #expect(events == expected)
    }

    @Test func survivesThousandsOfRandomInputs() {
        var random = SplitMix(seed: 0x5EED)
        for round in 0..<3000 {
            let deflate: PerMessageDeflateParameters? = round % 2 == 0 ? PerMessageDeflateParameters() : nil
            var harness = Harness(limits: WebSocketLimits(maxFrameSize: 4096, maxMessageSize: 8192), deflate: deflate)
            let count = Int.random(in: 0..<300, using: &random)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
            // Mostly-plausible headers reach deeper into the parser than pure noise.
            if count > 2, round % 3 == 0 { bytes[1] |= 0x80 }
            for chunk in bytes.chunked(by: Int.random(in: 1...64, using: &random)) { harness.feed(chunk) }
        }
    }

    @Test func survivesRandomMutationsOfValidStreams() {
        var random = SplitMix(seed: 42)
        var compressedStream: [UInt8] = []
        let client = ClientDeflater(windowBits: 15)
        for message in ["compressed message one, compressed message one", "two two two two two two two two"] {
            compressedStream += clientFrame(.text, client.compress(Array(message.utf8)), rsv1: true)
        }
        for round in 0..<3000 {
            var bytes = round % 2 == 0 ? Self.stream : compressedStream + Self.stream
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
                default: bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...8, using: &random)))
                }
            }
            var harness = Harness(limits: WebSocketLimits(maxFrameSize: 1 << 17, maxMessageSize: 1 << 17),
                                  deflate: PerMessageDeflateParameters())
            let split = Int.random(in: 0...bytes.count, using: &random)
            harness.feed(Array(bytes[..<split]))
            harness.feed(Array(bytes[split...]))
        }
    }
}

extension Array {
    func chunked(by size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}
