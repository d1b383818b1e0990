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
                    let (answers, consumed) = buffer.withUnsafeMutableBytes { input in
                        let (answered, consumed) = connection.echoInPlace(input)
                        return (Array(input[..<answered]), consumed)
                    }
                    if consumed > 0 {
                        #expect(answers.count <= consumed - 4)
                        output += answers
                        answeredInPlace += consumed
                        buffer.removeFirst(consumed)
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
}
