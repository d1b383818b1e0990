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

    /// Only a run of one small message marked to go out at once hands out its frame for a write at once: a run of
    /// several, an unmarked message, a large one (compressed for some) and a missing variant are queued as before.
    @Test func aLoneSmallMessageMarkedToGoAtOnceHandsOutItsFrame() {
        let diff = Array(#"[null,null,"room:a","presence_diff",{"joins":{},"leaves":{}}]"#.utf8)
        let large = Array(repeating: UInt8(ascii: "b"), count: SharedTextMessage.plainBelow)
        let marked = SharedTextVariants([nil, diff], deflateLevel: 6, writtenAtOnce: true)
        let lone = SharedFrameRun([marked][...])
        #expect(lone.lonePlainFrame(variant: 1) == marked.variant(1)?.frame)
        #expect(lone.lonePlainFrame(variant: 0) == nil)  // nobody reads v1 here
        let frames = ServerFrame.parse(lone.lonePlainFrame(variant: 1) ?? [])
        #expect(frames.count == 1 && frames.first?.rsv1 == false && frames.first?.payload == diff)
        #expect(SharedFrameRun([marked, marked][...]).lonePlainFrame(variant: 1) == nil)
        let unmarked = SharedTextVariants([nil, diff], deflateLevel: 6)
        #expect(!unmarked.writtenAtOnce)
        #expect(SharedFrameRun([unmarked][...]).lonePlainFrame(variant: 1) == nil)
        let big = SharedTextVariants([nil, large], deflateLevel: 6, writtenAtOnce: true)
        #expect(SharedFrameRun([big][...]).lonePlainFrame(variant: 1) == nil)
    }
}
