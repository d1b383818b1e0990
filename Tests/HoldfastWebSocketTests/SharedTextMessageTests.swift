import HoldfastTestSupport
import Testing
@testable import HoldfastWebSocket

/// Which shared messages go to compressing connections as the plain ready-made frame.
@Suite struct SharedTextMessageTests {
    @Test func messagesBelowTheLimitAreSentPlainAndLargerOnesCompressed() {
        let limit = SharedTextMessage.plainBelow
        let small = SharedTextMessage(text: Array(repeating: UInt8(ascii: "a"), count: limit - 1), deflateLevel: 6)
        let large = SharedTextMessage(text: Array(repeating: UInt8(ascii: "a"), count: limit), deflateLevel: 6)
        #expect(small.sendsPlain)
        #expect(!large.sendsPlain)
        // The plain frame is a complete unmasked text frame with RSV1 clear, the same for every connection.
        let frames = ServerFrame.parse(small.frame)
        #expect(frames.count == 1)
        #expect(frames.first?.rsv1 == false && frames.first?.opcode == 1 && frames.first?.fin == true)
        #expect(frames.first?.payload == small.payload.body)
    }

    @Test func variantsReportWhetherTheyCompress() {
        let diff = Array(#"[null,null,"room:a","presence_diff",{"joins":{},"leaves":{}}]"#.utf8)
        let big = Array(repeating: UInt8(ascii: "b"), count: 4096)
        let variants = SharedTextVariants([diff, big], deflateLevel: 6)
        #expect(!variants.compressible(0))
        #expect(variants.compressible(1))
        #expect(!variants.compressible(2))  // no such variant
        let onlyV2 = SharedTextVariants([nil, diff], deflateLevel: 6)
        #expect(!onlyV2.compressible(0) && !onlyV2.compressible(1))
    }
}
