import CZlib
import HoldfastTestSupport
import Testing
@testable import HoldfastWebSocket

/// A client-side raw deflater, as a browser would run it.
struct ClientDeflater {
    final class Stream {
        let pointer = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        init(windowBits: Int) {
            pointer.initialize(to: z_stream())
            _ = holdfast_deflateInit2(pointer, 6, Z_DEFLATED, Int32(-windowBits), 8, Z_DEFAULT_STRATEGY)
        }
        deinit {
            deflateEnd(pointer)
            pointer.deallocate()
        }
    }

    let stream: Stream

    init(windowBits: Int) { stream = Stream(windowBits: windowBits) }

    /// Compresses one message with a sync flush and strips the 00 00 FF FF tail (RFC 7692 §7.2.1).
    func compress(_ message: [UInt8]) -> [UInt8] {
        var input = message
        var output = [UInt8](repeating: 0, count: message.count * 2 + 64)
        let produced = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.pointer.pointee.next_in = source.baseAddress
                stream.pointer.pointee.avail_in = UInt32(source.count)
                stream.pointer.pointee.next_out = target.baseAddress
                stream.pointer.pointee.avail_out = UInt32(target.count)
                _ = deflate(stream.pointer, Z_SYNC_FLUSH)
                return target.count - Int(stream.pointer.pointee.avail_out)
            }
        }
        return Array(output[..<(produced - 4)])
    }
}

/// A client-side raw inflater for reading server frames.
struct ClientInflater {
    final class Stream {
        let pointer = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        init() {
            pointer.initialize(to: z_stream())
            _ = holdfast_inflateInit2(pointer, -15)
        }
        deinit {
            inflateEnd(pointer)
            pointer.deallocate()
        }
    }

    var stream = Stream()

    func inflateMessage(_ payload: [UInt8]) -> [UInt8] {
        var input = payload + [0, 0, 0xFF, 0xFF]
        var output = [UInt8](repeating: 0, count: 1 << 20)
        let produced = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.pointer.pointee.next_in = source.baseAddress
                stream.pointer.pointee.avail_in = UInt32(source.count)
                stream.pointer.pointee.next_out = target.baseAddress
                stream.pointer.pointee.avail_out = UInt32(target.count)
                _ = inflate(stream.pointer, Z_SYNC_FLUSH)
                return target.count - Int(stream.pointer.pointee.avail_out)
            }
        }
        return Array(output[..<produced])
    }
}

@Suite struct DeflateTests {
    static let messages = [
        "{\"topic\":\"room:lobby\",\"event\":\"presence_diff\",\"payload\":{\"joins\":{},\"leaves\":{}}}",
        "{\"topic\":\"room:lobby\",\"event\":\"presence_diff\",\"payload\":{\"joins\":{\"alice\":{}},\"leaves\":{}}}",
        String(repeating: "Holdfast keeps every connection across redeploys. ", count: 40),
    ]

    @Test func inflatesCompressedClientMessagesWithContextTakeover() {
        var harness = Harness(deflate: PerMessageDeflateParameters())
        let client = ClientDeflater(windowBits: 15)
        for message in Self.messages {
            let events = harness.feed(clientFrame(.text, client.compress(Array(message.utf8)), rsv1: true))
            #expect(events == [.text(message)])
        }
        #expect(harness.connection.deflate?.inflater != nil)
    }

    @Test func inflatesFragmentedCompressedMessages() {
        var harness = Harness(deflate: PerMessageDeflateParameters())
        let compressed = ClientDeflater(windowBits: 15).compress(Array(Self.messages[2].utf8))
        let half = compressed.count / 2
        let events = harness.feed(
            clientFrame(.text, Array(compressed[..<half]), fin: false, rsv1: true)
                + clientFrame(.ping, [1]) + clientFrame(.continuation, Array(compressed[half...]))
        )
        #expect(events == [.ping([1]), .text(Self.messages[2])])
    }

    @Test func acceptsUncompressedMessagesBetweenCompressedOnes() {
        var harness = Harness(deflate: PerMessageDeflateParameters())
        let client = ClientDeflater(windowBits: 15)
        let events = harness.feed(
            clientFrame(.text, client.compress(Array(Self.messages[0].utf8)), rsv1: true) + clientFrame(.text, "plain")
                + clientFrame(.text, client.compress(Array(Self.messages[1].utf8)), rsv1: true)
        )
        #expect(events == [.text(Self.messages[0]), .text("plain"), .text(Self.messages[1])])
    }

    @Test func releasesTheInflaterWithClientNoContextTakeover() {
        var harness = Harness(deflate: PerMessageDeflateParameters(clientNoContextTakeover: true))
        for message in Self.messages {
            // A fresh compressor per message, as the client promised.
            let compressed = ClientDeflater(windowBits: 15).compress(Array(message.utf8))
            #expect(harness.feed(clientFrame(.text, compressed, rsv1: true)) == [.text(message)])
            #expect(harness.connection.deflate?.inflater == nil)
        }
    }

    @Test func inflatesWithANegotiatedSmallClientWindow() {
        var harness = Harness(deflate: PerMessageDeflateParameters(clientMaxWindowBits: 9))
        let client = ClientDeflater(windowBits: 9)
        for message in Self.messages {
            #expect(harness.feed(clientFrame(.text, client.compress(Array(message.utf8)), rsv1: true)) == [.text(message)])
        }
    }

    @Test func compressesServerMessagesThatInflateWithContextTakeover() {
        var connection = WebSocketConnection(limits: .init(), deflate: PerMessageDeflateParameters(),
                                             deflateConfiguration: .init())
        let client = ClientInflater()
        var sizes: [Int] = []
        for message in Self.messages + Self.messages {
            var output: [UInt8] = []
            Array(message.utf8).withUnsafeBytes { connection.appendMessage($0, opcode: .text, into: &output) }
            let frames = ServerFrame.parse(output)
            #expect(frames.count == 1)
            #expect(frames[0].rsv1 && frames[0].fin && frames[0].opcode == 1)
            #expect(String(decoding: client.inflateMessage(frames[0].payload), as: UTF8.self) == message)
            sizes.append(frames[0].payload.count)
        }
        // The repeated messages refer back to the shared window and come out much smaller.
        #expect(sizes[3] < sizes[0] && sizes[4] < sizes[1] && sizes[5] < sizes[2])
    }

    @Test func compressesEachMessageAloneWithServerNoContextTakeover() {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true, serverMaxWindowBits: 10)
        var connection = WebSocketConnection(limits: .init(), deflate: parameters, deflateConfiguration: .init())
        for message in Self.messages + Self.messages {
            var output: [UInt8] = []
            Array(message.utf8).withUnsafeBytes { connection.appendMessage($0, opcode: .binary, into: &output) }
            let frames = ServerFrame.parse(output)
            // A fresh client inflater per message proves no message depends on an earlier one.
            #expect(ClientInflater().inflateMessage(frames[0].payload) == Array(message.utf8))
            #expect(connection.deflate?.deflater == nil)
        }
    }

    @Test func sendsTinyMessagesUncompressed() {
        var connection = WebSocketConnection(limits: .init(), deflate: PerMessageDeflateParameters(),
                                             deflateConfiguration: .init(minimumSizeToCompress: 64))
        var output: [UInt8] = []
        Array("hi".utf8).withUnsafeBytes { connection.appendMessage($0, opcode: .text, into: &output) }
        #expect(output == [0x81, 0x02, 0x68, 0x69])
        #expect(connection.deflate?.deflater == nil)
    }

    @Test func compressesLargeMessagesWithSixtyFourBitLengths() {
        var connection = WebSocketConnection(limits: .init(), deflate: PerMessageDeflateParameters(),
                                             deflateConfiguration: .init(compressionLevel: 0))
        var random = SplitMix(seed: 7)
        let message = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &random) }
        var output: [UInt8] = []
        message.withUnsafeBytes { connection.appendMessage($0, opcode: .binary, into: &output) }
        let frames = ServerFrame.parse(output)
        #expect(output[1] == 127)
        #expect(ClientInflater().inflateMessage(frames[0].payload) == message)
    }

    @Test func capsADeflateBombAtTheMessageLimit() {
        var harness = Harness(limits: WebSocketLimits(maxFrameSize: 1 << 20, maxMessageSize: 64 * 1024),
                              deflate: PerMessageDeflateParameters())
        let bomb = ClientDeflater(windowBits: 15).compress([UInt8](repeating: 0, count: 10 << 20))
        #expect(bomb.count < 64 * 1024)
        let events = harness.feed(clientFrame(.binary, bomb, rsv1: true))
        #expect(events == [.closed(code: 1009, byPeer: false, error: .messageTooBig)])
        #expect(harness.sentFrames.last?.closeCode == 1009)
    }

    @Test func rejectsInvalidUTF8InsideCompressedText() {
        var harness = Harness(deflate: PerMessageDeflateParameters())
        let compressed = ClientDeflater(windowBits: 15).compress([0x61, 0xED, 0xA0, 0x80])
        #expect(harness.feed(clientFrame(.text, compressed, rsv1: true))
            == [.closed(code: 1007, byPeer: false, error: .invalidUTF8)])
    }
}
