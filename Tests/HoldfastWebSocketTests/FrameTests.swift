import Testing
@testable import HoldfastWebSocket

@Suite struct FrameTests {
    @Test func decodesSevenSixteenAndSixtyFourBitLengths() {
        var harness = Harness(limits: WebSocketLimits(maxFrameSize: 1 << 17, maxMessageSize: 1 << 17))
        for size in [0, 1, 125, 126, 127, 65535, 65536, 70000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            #expect(harness.feed(clientFrame(.binary, payload)) == [.binary(payload)], "size \(size)")
        }
        #expect(harness.buffer.isEmpty)
    }

    @Test func encodesTheShortestLengthForm() {
        for (size, header) in [(125, 2), (126, 4), (65535, 4), (65536, 10)] {
            var out: [UInt8] = []
            [UInt8](repeating: 1, count: size).withUnsafeBytes {
                WebSocketFrame.appendFrame(opcode: .binary, fin: true, payload: $0, into: &out)
            }
            #expect(out.count == size + header)
            #expect(ServerFrame.parse(out) == [ServerFrame(fin: true, rsv1: false, opcode: 2,
                                                           payload: [UInt8](repeating: 1, count: size))])
        }
    }

    @Test func smallAndLargeFramesAppendBehindQueuedBytes() {
        // Small frames are assembled before they are appended; both paths must leave what was queued intact.
        var out: [UInt8] = [9, 9, 9]
        var expected: [ServerFrame] = []
        for size in [0, 1, 125, 126, WebSocketFrame.smallFrameSize, WebSocketFrame.smallFrameSize + 1, 70000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            payload.withUnsafeBytes {
                WebSocketFrame.appendFrame(opcode: size % 2 == 0 ? .binary : .text, fin: size != 1, payload: $0, into: &out)
            }
            expected.append(ServerFrame(fin: size != 1, rsv1: false, opcode: size % 2 == 0 ? 2 : 1, payload: payload))
        }
        #expect(Array(out[..<3]) == [9, 9, 9])
        #expect(ServerFrame.parse(Array(out[3...])) == expected)
    }

    @Test func masksWithTheKeyInWireOrder() {
        let frame = clientFrame(.text, [0x48, 0x65, 0x6C, 0x6C, 0x6F], mask: 0x37FA_213D)
        // RFC 6455 §5.7: a masked "Hello".
        #expect(frame == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        var harness = Harness()
        #expect(harness.feed(frame) == [.text("Hello")])
    }

    @Test func unmasksEveryLengthAroundTheEightByteStride() {
        var harness = Harness()
        for size in 0..<40 {
            let payload = (0..<size).map { UInt8($0) }
            #expect(harness.feed(clientFrame(.binary, payload, mask: 0xDEAD_BEEF)) == [.binary(payload)])
        }
    }

    @Test func reassemblesFragmentedMessages() {
        var harness = Harness()
        let events = harness.feed(
            clientFrame(.text, "Hel", fin: false) + clientFrame(.continuation, "lo, ", fin: false)
                + clientFrame(.continuation, "world") + clientFrame(.binary, [1, 2], fin: false)
                + clientFrame(.continuation, [3])
        )
        #expect(events == [.text("Hello, world"), .binary([1, 2, 3])])
    }

    @Test func deliversControlFramesInsideAFragmentedMessage() {
        var harness = Harness()
        let events = harness.feed(
            clientFrame(.text, "a", fin: false) + clientFrame(.ping, "p1") + clientFrame(.continuation, "b", fin: false)
                + clientFrame(.pong, "q") + clientFrame(.continuation, "c")
        )
        #expect(events == [.ping(Array("p1".utf8)), .pong(Array("q".utf8)), .text("abc")])
        #expect(harness.sentFrames == [ServerFrame(fin: true, rsv1: false, opcode: 10, payload: Array("p1".utf8))])
    }

    @Test func answersPingWithPongEchoingThePayload() {
        var harness = Harness()
        let payload = (0..<125).map { UInt8($0) }
        #expect(harness.feed(clientFrame(.ping, payload)) == [.ping(payload)])
        #expect(harness.sentFrames == [ServerFrame(fin: true, rsv1: false, opcode: 10, payload: payload)])
    }

    @Test func repliesToThePeersCloseWithTheSameCode() {
        var harness = Harness()
        let events = harness.feed(clientFrame(.close, [0x03, 0xE8] + Array("bye".utf8)))
        #expect(events == [.closed(code: 1000, byPeer: true, error: nil)])
        #expect(harness.sentFrames.map(\.closeCode) == [1000])
        #expect(harness.connection.isClosed)
    }

    @Test func repliesToAnEmptyCloseWithAnEmptyClose() {
        var harness = Harness()
        #expect(harness.feed(clientFrame(.close, [])) == [.closed(code: 1005, byPeer: true, error: nil)])
        #expect(harness.sentFrames == [ServerFrame(fin: true, rsv1: false, opcode: 8, payload: [])])
    }

    @Test func completesAServerInitiatedCloseAndIgnoresDataMeanwhile() {
        var harness = Harness()
        harness.feed(clientFrame(.text, "a", fin: false))
        harness.connection.appendClose(code: .goingAway, reason: "restart", into: &harness.output)
        #expect(harness.connection.isClosed)
        let events = harness.feed(clientFrame(.continuation, "b") + clientFrame(.text, "ignored")
                                  + clientFrame(.close, [0x03, 0xE9]))
        #expect(events == [.closed(code: 1001, byPeer: false, error: nil)])
        #expect(harness.sentFrames.count == 1)
        #expect(harness.sentFrames[0].closeCode == 1001)
        #expect(harness.sentFrames[0].payload.dropFirst(2) == Array("restart".utf8)[...])
    }

    @Test func cutsLongCloseReasonsOnACharacterBoundary() {
        var harness = Harness()
        harness.connection.appendClose(code: .normalClosure, reason: String(repeating: "é", count: 100),
                                       into: &harness.output)
        let payload = harness.sentFrames[0].payload
        #expect(payload.count == 2 + 122)
        #expect(String(validating: payload.dropFirst(2), as: UTF8.self) != nil)
    }

    @Test func sendsMessagesUncompressedWithoutDeflate() {
        var harness = Harness()
        Array("hello".utf8).withUnsafeBytes {
            harness.connection.appendMessage($0, opcode: .text, into: &harness.output)
        }
        #expect(harness.output == [0x81, 0x05] + Array("hello".utf8))
    }

    @Test func keepsIncompleteFramesForLater() {
        var harness = Harness()
        let frame = clientFrame(.text, "hello")
        #expect(harness.feed(Array(frame.prefix(4))) == [])
        #expect(harness.buffer.count == 4)
        #expect(harness.feed(Array(frame.dropFirst(4))) == [.text("hello")])
    }

    @Test func reportsClosedAgainAfterTheConnectionFinished() {
        var harness = Harness()
        harness.feed(clientFrame(.close, [0x03, 0xE8]))
        var output: [UInt8] = []
        var leftover: [UInt8] = [1, 2, 3]
        let consumed = leftover.withUnsafeMutableBytes { harness.connection.nextEvent(input: $0, output: &output).consumed }
        #expect(consumed == 3)
        #expect(output.isEmpty)
    }

    @Test func staysSmallInline() {
        // 32 bytes on 64-bit platforms: the two limits (8), flags and the close code (8), and two class references,
        // the message buffer made per message and the deflate context.
        #expect(MemoryLayout<WebSocketConnection>.size == 32)
    }

    @Test func makesADeflateContextOnlyWhenDeflateWasNegotiated() {
        let plain = WebSocketConnection(limits: .init(), deflate: nil, deflateConfiguration: .init())
        #expect(plain.deflate == nil)
        #expect(plain.deflateParameters == nil)
        let parameters = PerMessageDeflateParameters(clientMaxWindowBits: 10)
        let compressing = WebSocketConnection(limits: .init(), deflate: parameters, deflateConfiguration: .init())
        #expect(compressing.deflateParameters == parameters)
        #expect(compressing.deflate?.inflater == nil && compressing.deflate?.deflater == nil, "zlib streams are lazy")
    }

    @Test func keepsLimitsUpToTheirThirtyOneBitCeiling() {
        let limits = WebSocketLimits(maxFrameSize: 1 << 30, maxMessageSize: 1 << 40)
        let connection = WebSocketConnection(limits: limits, deflate: nil, deflateConfiguration: .init())
        #expect(connection.limits == WebSocketLimits(maxFrameSize: 1 << 30, maxMessageSize: Int(Int32.max)))
    }
}
