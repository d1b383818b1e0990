import Testing
@testable import HoldfastWebSocket

/// Every protocol fault writes a close frame with its code and ends the connection.
@Suite struct ProtocolErrorTests {
    func expectFailure(
        _ bytes: [UInt8],
        _ error: WebSocketProtocolError,
        code: UInt16,
        harness initial: Harness = Harness(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var harness = initial
        let events = harness.feed(bytes)
        #expect(events.last == .closed(code: code, byPeer: false, error: error), sourceLocation: sourceLocation)
        #expect(harness.sentFrames.last?.opcode == 8, sourceLocation: sourceLocation)
        #expect(harness.sentFrames.last?.closeCode == code, sourceLocation: sourceLocation)
        #expect(harness.connection.isClosed, sourceLocation: sourceLocation)
    }

    @Test func rejectsUnmaskedClientFramesWith1002() {
        expectFailure(rawFrame(first: 0x81, payload: [0x61], masked: false), .unmaskedFrame, code: 1002)
    }

    @Test func rejectsReservedBitsWith1002() {
        expectFailure(rawFrame(first: 0xA1, payload: []), .reservedBitsSet, code: 1002)
        expectFailure(rawFrame(first: 0x91, payload: []), .reservedBitsSet, code: 1002)
    }

    @Test func rejectsRSV1WithoutNegotiatedDeflateWith1002() {
        expectFailure(rawFrame(first: 0xC1, payload: []), .reservedBitsSet, code: 1002)
    }

    @Test func rejectsRSV1OnContinuationAndControlFramesWith1002() {
        let deflate = Harness(deflate: PerMessageDeflateParameters())
        expectFailure(clientFrame(.binary, [1], fin: false) + rawFrame(first: 0xC0, payload: []), .reservedBitsSet,
                      code: 1002, harness: deflate)
        expectFailure(rawFrame(first: 0xC9, payload: []), .reservedBitsSet, code: 1002, harness: deflate)
    }

    @Test func rejectsUnknownOpcodesWith1002() {
        for opcode: UInt8 in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            expectFailure(rawFrame(first: 0x80 | opcode, payload: []), .unknownOpcode(opcode), code: 1002)
        }
    }

    @Test func rejectsFragmentedControlFramesWith1002() {
        expectFailure(rawFrame(first: 0x09, payload: []), .fragmentedControlFrame, code: 1002)
    }

    @Test func rejectsControlPayloadsOver125BytesWith1002() {
        expectFailure(clientFrame(.ping, [UInt8](repeating: 0, count: 126)), .controlFrameTooLong, code: 1002)
    }

    @Test func rejectsContinuationWithoutAMessageWith1002() {
        expectFailure(clientFrame(.continuation, [1]), .unexpectedContinuation, code: 1002)
    }

    @Test func rejectsANewMessageInsideAFragmentedOneWith1002() {
        expectFailure(clientFrame(.text, "a", fin: false) + clientFrame(.text, "b"), .expectedContinuation, code: 1002)
    }

    @Test func rejectsSixtyFourBitLengthsWithTheTopBitSetWith1002() {
        let header: [UInt8] = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        expectFailure(header, .invalidLength, code: 1002)
    }

    @Test func rejectsAOneByteClosePayloadWith1002() {
        expectFailure(clientFrame(.close, [0x03]), .closePayloadTooShort, code: 1002)
    }

    @Test func rejectsInvalidCloseCodesWith1002() {
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535] {
            expectFailure(clientFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)]), .invalidCloseCode(code),
                          code: 1002)
        }
    }

    @Test func acceptsEveryValidCloseCode() {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999] {
            var harness = Harness()
            let events = harness.feed(clientFrame(.close, [UInt8(code >> 8), UInt8(code & 0xFF)]))
            #expect(events == [.closed(code: code, byPeer: true, error: nil)])
            #expect(harness.sentFrames.last?.closeCode == code)
        }
    }

    @Test func rejectsInvalidUTF8InACloseReasonWith1007() {
        expectFailure(clientFrame(.close, [0x03, 0xE8, 0xC0, 0x80]), .invalidUTF8, code: 1007)
    }

    @Test func rejectsInvalidUTF8TextWith1007() {
        expectFailure(clientFrame(.text, [0x61, 0xFF]), .invalidUTF8, code: 1007)
    }

    @Test func rejectsUndecodableCompressedDataWith1007() {
        expectFailure(clientFrame(.binary, [0xFF, 0xFF, 0xFF, 0xFF], rsv1: true), .invalidCompressedData,
                      code: 1007, harness: Harness(deflate: PerMessageDeflateParameters()))
    }

    @Test func rejectsFramesOverTheFrameLimitWith1009BeforeThePayloadArrives() {
        let limits = WebSocketLimits(maxFrameSize: 100, maxMessageSize: 1000)
        let frame = clientFrame(.binary, [UInt8](repeating: 0, count: 101))
        expectFailure(Array(frame.prefix(4)), .frameTooBig, code: 1009, harness: Harness(limits: limits))
    }

    @Test func rejectsMessagesOverTheMessageLimitWith1009() {
        let limits = WebSocketLimits(maxFrameSize: 100, maxMessageSize: 150)
        let fragment = [UInt8](repeating: 0x61, count: 100)
        expectFailure(clientFrame(.text, fragment, fin: false) + clientFrame(.continuation, fragment),
                      .messageTooBig, code: 1009, harness: Harness(limits: limits))
    }

    @Test func rejectsHugeSixtyFourBitLengthsWith1009() {
        let header: [UInt8] = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        expectFailure(header, .frameTooBig, code: 1009)
    }

    @Test func writesNoSecondCloseWhenFailingAfterOurClose() {
        var harness = Harness()
        harness.connection.appendClose(code: .normalClosure, reason: "", into: &harness.output)
        let events = harness.feed(rawFrame(first: 0x83, payload: []))
        #expect(events == [.closed(code: 1002, byPeer: false, error: .unknownOpcode(3))])
        #expect(harness.sentFrames.count == 1)
    }

    @Test func mapsEveryErrorToItsCloseCode() {
        #expect(WebSocketProtocolError.invalidUTF8.closeCode == .invalidPayload)
        #expect(WebSocketProtocolError.messageTooBig.closeCode == .messageTooBig)
        #expect(WebSocketProtocolError.unmaskedFrame.closeCode == .protocolError)
        #expect(WebSocketProtocolError.compressionUnavailable.closeCode == .internalError)
    }
}
