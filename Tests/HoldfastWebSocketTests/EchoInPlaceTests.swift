import HoldfastTestSupport
import Testing
@testable import HoldfastWebSocket

/// The echo fast path (`echoInPlace`) answers exactly as the parser plus `appendMessage` do: the same bytes, in the
/// same order, with the same close, for any stream split anywhere.
@Suite struct EchoInPlaceTests {
    /// An echo server driven the way the server drives it: the fast path first, the parser for whatever it leaves.
    struct EchoServer {
        var connection: WebSocketConnection
        var buffer: [UInt8] = []
        var output: [UInt8] = []
        var closed: UInt16?
        var answeredInPlace = 0
        let fastPath: Bool

        init(limits: WebSocketLimits, deflate: PerMessageDeflateParameters? = nil, fastPath: Bool) {
            connection = WebSocketConnection(
                limits: limits, deflate: deflate, deflateConfiguration: PerMessageDeflateConfiguration())
            self.fastPath = fastPath
        }

        mutating func feed(_ bytes: [UInt8]) {
            guard closed == nil else { return }
            buffer += bytes
            while closed == nil {
                if fastPath {
                    // The echoes, then a close right after them, answered in the same buffer (the server takes a
                    // close when it comes first, and calls again after the echoes).
                    let (answers, consumed, closing) = buffer.withUnsafeMutableBytes { input in
                        var (answered, consumed) = connection.echoInPlace(input)
                        var closing: UInt16?
                        if consumed < input.count,
                            let close = connection.answerCloseInPlace(input, at: consumed, answerAt: answered)
                        {
                            (answered, consumed) = (answered + close.answered, input.count)
                            closing = close.code.rawValue
                        }
                        return (Array(input[..<answered]), consumed, closing)
                    }
                    if consumed > 0 {
                        #expect(answers.count <= consumed - 4)
                        output += answers
                        answeredInPlace += consumed
                        buffer.removeFirst(consumed)
                        closed = closing
                        continue
                    }
                    #expect(answers.isEmpty)
                }
                let (consumed, more) = buffer.withUnsafeMutableBytes { input -> (Int, Bool) in
                    let (event, consumed) = connection.nextEvent(input: input, output: &output)
                    switch event {
                    case .needMoreInput: return (consumed, false)
                    case .text(let payload): connection.appendMessage(payload, opcode: .text, into: &output)
                    case .binary(let payload): connection.appendMessage(payload, opcode: .binary, into: &output)
                    case .ping, .pong: break
                    case .closed(let code, _, _, _): closed = code.rawValue
                    }
                    return (consumed, true)
                }
                buffer.removeFirst(consumed)
                if !more { break }
            }
        }
    }

    static func pieces(_ random: inout SplitMix) -> [UInt8] {
        let size = [0, 1, 5, 7, 8, 9, 20, 125, 126, 127, 300, 4096, 65535, 65536][Int.random(in: 0..<14, using: &random)]
        let start = Int.random(in: 0..<128, using: &random)
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: ($0 &+ start) & 0x7F) }  // ASCII: valid text
        let key = UInt32.random(in: 0...UInt32.max, using: &random)
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return clientFrame(.ping, Array(payload.prefix(100)), mask: key)
        case 1: return clientFrame(.text, payload, fin: false, mask: key) + clientFrame(.continuation, [65], mask: key)
        case 2: return clientFrame(.text, payload + [0xC3, 0xA9], mask: key)  // é
        case 3: return clientFrame(.pong, [], mask: key)
        default: return clientFrame(Bool.random(using: &random) ? .binary : .text, payload, mask: key)
        }
    }

    @Test func answersLikeTheParserForRandomStreamsAndSplits() {
        var random = SplitMix(seed: 0xEC40)
        var inPlace = 0
        for round in 0..<400 {
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 1...12, using: &random) { stream += Self.pieces(&random) }
            if round % 3 == 0, !stream.isEmpty {  // a fault somewhere: a flipped bit or a byte of noise
                let index = Int.random(in: 0..<stream.count, using: &random)
                stream[index] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            }
            if round % 5 == 0 { stream += clientFrame(.close, [0x03, 0xE8]) + clientFrame(.binary, [1, 2, 3]) }
            let limits = round % 4 == 1
                ? WebSocketLimits(maxFrameSize: 300, maxMessageSize: 400)
                : WebSocketLimits(maxFrameSize: 1 << 17, maxMessageSize: 1 << 17)
            var reference = EchoServer(limits: limits, fastPath: false)
            reference.feed(stream)
            var fast = EchoServer(limits: limits, fastPath: true)
            var index = 0
            while index < stream.count {
                let end = min(stream.count, index + Int.random(in: 1...9000, using: &random))
                fast.feed(Array(stream[index..<end]))
                index = end
            }
            #expect(fast.output == reference.output, "round \(round)")
            #expect(fast.closed == reference.closed, "round \(round)")
            inPlace += fast.answeredInPlace
        }
        #expect(inPlace > 1_000_000)  // the fast path did the bulk of the work
    }

    @Test func leavesInvalidTextToTheParserUntouched() {
        let bad = clientFrame(.text, [0x61, 0xFF, 0x62])
        var fast = EchoServer(limits: WebSocketLimits(), fastPath: true)
        fast.feed(clientFrame(.binary, [1, 2, 3]) + bad + clientFrame(.binary, [4]))
        #expect(ServerFrame.parse(fast.output).map(\.opcode) == [0x2, 0x8])
        #expect(ServerFrame.parse(fast.output).last?.closeCode == 1007)
        #expect(fast.closed == 1007)
    }

    @Test func stepsAsideForDeflateAndAfterTheClose() {
        var compressing = EchoServer(limits: WebSocketLimits(), deflate: PerMessageDeflateParameters(), fastPath: true)
        compressing.feed(clientFrame(.binary, [1, 2, 3]))
        #expect(compressing.answeredInPlace == 0)
        #expect(ServerFrame.parse(compressing.output).map(\.payload) == [[1, 2, 3]])

        var connection = WebSocketConnection(
            limits: WebSocketLimits(), deflate: nil, deflateConfiguration: PerMessageDeflateConfiguration())
        var output: [UInt8] = []
        connection.appendClose(code: .goingAway, reason: "", into: &output)
        var frame = clientFrame(.binary, [1, 2, 3])
        let result = frame.withUnsafeMutableBytes { connection.echoInPlace($0) }
        #expect(result.answered == 0 && result.consumed == 0)
    }

    @Test func answersALengthSentLongerThanNeededWithTheShortestHeader() {
        // A 44-byte payload announced in the 16-bit form: valid from a client, answered with the 7-bit form.
        let payload = (0..<44).map { UInt8($0) }
        var frame: [UInt8] = [0x82, 0x80 | 126, 0, 44, 0, 0, 0, 0] + payload
        var reference = EchoServer(limits: WebSocketLimits(), fastPath: false)
        reference.feed(frame)
        var connection = WebSocketConnection(
            limits: WebSocketLimits(), deflate: nil, deflateConfiguration: PerMessageDeflateConfiguration())
        let (answered, consumed) = frame.withUnsafeMutableBytes { connection.echoInPlace($0) }
        #expect(consumed == 52 && answered == 46)
        #expect(Array(frame[..<answered]) == [0x82, 44] + payload)
        #expect(Array(frame[..<answered]) == reference.output)
    }

    @Test func movesOverlappingPayloadsUnmaskedForEveryLength() {
        for count in 0..<40 {
            let plain = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            var frame = clientFrame(.binary, plain, mask: 0xA1B2_C3D4)
            var connection = WebSocketConnection(
                limits: WebSocketLimits(), deflate: nil, deflateConfiguration: PerMessageDeflateConfiguration())
            let (answered, consumed) = frame.withUnsafeMutableBytes { connection.echoInPlace($0) }
            #expect(consumed == frame.count && answered == count + 2)
            #expect(Array(frame[..<answered]) == [0x82, UInt8(count)] + plain)
        }
    }

    /// Every close a client may send, alone and behind echoed messages: answered in place exactly as the parser
    /// answers it (reply bytes, event, state after), or declined with the input untouched for the parser to answer.
    @Test func answersClosesLikeTheParserOrLeavesThemUntouched() {
        let reasons: [[UInt8]] = [[], Array("bye".utf8), [0xC3, 0xA9], [0xC3], [0xFF], Array(repeating: 0x61, count: 123)]
        let codes: [UInt16] = [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1015, 1016, 2999, 3000, 4999, 5000, 0]
        var payloads: [[UInt8]] = [[], [0x03]]
        for code in codes { for reason in reasons { payloads.append([UInt8(code >> 8), UInt8(code & 0xFF)] + reason) } }
        var frames: [[UInt8]] = payloads.map { clientFrame(.close, $0, mask: 0x1F2E_3D4C) }
        frames += [
            clientFrame(.close, [0x03, 0xE8], fin: false), clientFrame(.close, [0x03, 0xE8], rsv1: true),
            rawFrame(first: 0x88, payload: [0x03, 0xE8], masked: false), rawFrame(first: 0xA8, payload: [0x03, 0xE8]),
            [0x88, 0x80 | 126, 0, 2, 1, 2, 3, 4, 0x03, 0xE8],  // a control frame with a 16-bit length
            Array(clientFrame(.close, [0x03, 0xE8, 0x61]).dropLast()),  // incomplete
        ]
        var declined = 0
        for (index, frame) in frames.enumerated() {
            for limits in [WebSocketLimits(), WebSocketLimits(maxFrameSize: 2, maxMessageSize: 2)] {
                for ahead in [[], clientFrame(.binary, [1, 2, 3]) + clientFrame(.text, Array("hi".utf8))] {
                    let stream = ahead + frame + clientFrame(.binary, [9])
                    var reference = EchoServer(limits: limits, fastPath: false)
                    reference.feed(stream)
                    var fast = EchoServer(limits: limits, fastPath: true)
                    fast.feed(stream)
                    #expect(fast.output == reference.output, "frame \(index)")
                    #expect(fast.closed == reference.closed, "frame \(index)")
                    #expect(fast.connection.isClosed == reference.connection.isClosed, "frame \(index)")

                    var connection = WebSocketConnection(
                        limits: limits, deflate: nil, deflateConfiguration: PerMessageDeflateConfiguration())
                    var input = frame
                    if input.withUnsafeMutableBytes({ connection.answerCloseInPlace($0, at: 0, answerAt: 0) }) == nil {
                        #expect(input == frame, "frame \(index): declined, untouched")
                        #expect(!connection.isClosed)
                        declined += 1
                    }
                }
            }
        }
        #expect(declined > 40 && declined < frames.count * 4)  // both ways taken
    }

    @Test func answersACloseWithTheReasonForTheLog() {
        var connection = WebSocketConnection(
            limits: WebSocketLimits(), deflate: nil, deflateConfiguration: PerMessageDeflateConfiguration())
        var input = clientFrame(.binary, [7]) + clientFrame(.close, [0x0F, 0xA0] + Array("going away".utf8))
        let result = input.withUnsafeMutableBytes { connection.answerCloseInPlace($0, at: 7, answerAt: 3) }
        guard let result else {
            Issue.record("the close was not answered in place")
            return
        }
        #expect(result.code.rawValue == 4000 && result.reason == "going away")
        #expect(result.answered == 4 && Array(input[3..<7]) == [0x88, 0x02, 0x0F, 0xA0])
        #expect(Array(input[..<3]) == Array(clientFrame(.binary, [7])[..<3]))  // nothing before the answer moved
        #expect(connection.isClosed)
        #expect(input.withUnsafeMutableBytes { connection.answerCloseInPlace($0, at: 7, answerAt: 0) } == nil)
    }
}
