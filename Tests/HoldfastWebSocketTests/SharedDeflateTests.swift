import HoldfastTestSupport
import Testing
@testable import HoldfastWebSocket

/// Messages compressed once for many connections (`server_no_context_takeover`), with a per-connection prefix.
@Suite struct SharedDeflateTests {
    static let body = Array(String(repeating: "{\"u42\":{\"metas\":[{\"online_at\":1764124365123}]}},", count: 300).utf8)

    static func send(
        prefix: String, _ shared: SharedDeflate, on connection: inout WebSocketConnection
    ) -> ServerFrame {
        var output: [UInt8] = []
        connection.appendMessage(prefix: Array(prefix.utf8), shared: shared, opcode: .text, into: &output)
        let frames = ServerFrame.parse(output)
        #expect(frames.count == 1)
        return frames[0]
    }

    @Test func everyConnectionGetsTheSameCompressedBodyBehindItsOwnPrefix() throws {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true)
        var first = WebSocketConnection(limits: .init(), deflate: parameters, deflateConfiguration: .init())
        var second = WebSocketConnection(limits: .init(), deflate: parameters, deflateConfiguration: .init())
        let shared = SharedDeflate(body: Self.body, level: 6)
        let a = Self.send(prefix: "[\"1\",null,\"room:a\",\"presence_state\",", shared, on: &first)
        let b = Self.send(prefix: "[\"22\",null,\"room:a\",\"presence_state\",", shared, on: &second)
        #expect(a.rsv1 && b.rsv1 && a.fin && a.opcode == 1)
        // The stored block holds the prefix; what follows is byte for byte the same shared compression.
        let compressed = try #require(shared.compressed(windowBits: 15))
        #expect(Array(a.payload.suffix(compressed.count)) == compressed)
        #expect(Array(b.payload.suffix(compressed.count)) == compressed)
        #expect(compressed.count < Self.body.count / 10)
        #expect(ClientInflater().inflateMessage(a.payload) == Array("[\"1\",null,\"room:a\",\"presence_state\",".utf8) + Self.body)
        #expect(ClientInflater().inflateMessage(b.payload) == Array("[\"22\",null,\"room:a\",\"presence_state\",".utf8) + Self.body)
    }

    @Test func aClientWithHistoryDecodesSharedMessagesInSequence() {
        // A client never knows the server dropped its context: its inflater keeps the window of earlier messages,
        // and the shared bytes must decode correctly after any history.
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true)
        var connection = WebSocketConnection(limits: .init(), deflate: parameters, deflateConfiguration: .init())
        let client = ClientInflater()
        for round in 0..<4 {
            let body = Array("\(round)".utf8) + Self.body
            let frame = Self.send(prefix: round % 2 == 0 ? "" : "prefix-\(round)", SharedDeflate(body: body, level: 9), on: &connection)
            let expected = Array((round % 2 == 0 ? "" : "prefix-\(round)").utf8) + body
            #expect(client.inflateMessage(frame.payload) == expected)
        }
    }

    @Test func prefixesLongerThanOneStoredBlockAreSplit() {
        let parameters = PerMessageDeflateParameters(serverNoContextTakeover: true)
        var connection = WebSocketConnection(limits: .init(), deflate: parameters, deflateConfiguration: .init())
        let prefix = String(repeating: "p", count: 140_000)
        let frame = Self.send(prefix: prefix, SharedDeflate(body: Self.body, level: 6), on: &connection)
        #expect(ClientInflater().inflateMessage(frame.payload) == Array(prefix.utf8) + Self.body)
    }

    @Test func eachWindowSizeGetsItsOwnCompression() throws {
        // Repeats 2 KiB apart: a 15-bit window reaches them, a 9-bit window (512 bytes) cannot.
        var random = SplitMix(seed: 3)
        let block = (0..<2048).map { _ in UInt8.random(in: 97...122, using: &random) }
        let shared = SharedDeflate(body: block + block + block, level: 6)
        let wide = try #require(shared.compressed(windowBits: 15))
        let narrow = try #require(shared.compressed(windowBits: 9))
        #expect(wide.count < narrow.count)
        var connection = WebSocketConnection(
            limits: .init(), deflate: PerMessageDeflateParameters(serverNoContextTakeover: true, serverMaxWindowBits: 9),
            deflateConfiguration: .init())
        let frame = Self.send(prefix: "", shared, on: &connection)
        #expect(frame.payload == narrow)
    }

    @Test func contextTakeoverConnectionsCompressAloneAndPlainOnesSendPlain() {
        let shared = SharedDeflate(body: Self.body, level: 6)
        var takeover = WebSocketConnection(limits: .init(), deflate: PerMessageDeflateParameters(), deflateConfiguration: .init())
        let client = ClientInflater()
        for _ in 0..<2 {
            let frame = Self.send(prefix: "p:", shared, on: &takeover)
            #expect(frame.rsv1)
            #expect(client.inflateMessage(frame.payload) == Array("p:".utf8) + Self.body)
        }
        #expect(takeover.deflate?.deflater != nil)
        var plain = WebSocketConnection(limits: .init(), deflate: nil, deflateConfiguration: .init())
        let frame = Self.send(prefix: "p:", shared, on: &plain)
        #expect(!frame.rsv1 && frame.payload == Array("p:".utf8) + Self.body)
    }

    @Test func pooledCompressorsComeBackResetAndAreReused() throws {
        let pool = DeflaterPool(keptPerSettings: 1)
        let settings = DeflaterPool.Settings(windowBits: 15, level: 6, memoryLevel: 8)
        let stream = try #require(pool.take(settings))
        var first: [UInt8] = []
        Self.body.withUnsafeBytes { _ = stream.deflate($0, appendingTo: &first) }
        pool.give(stream, settings)
        let again = try #require(pool.take(settings))
        #expect(again === stream)
        // Reset: the same input compresses to the same bytes, with no reference to the first round.
        var second: [UInt8] = []
        Self.body.withUnsafeBytes { _ = again.deflate($0, appendingTo: &second) }
        #expect(second == first)
        #expect(ClientInflater().inflateMessage(Array(second.dropLast(4))) == Self.body)
        // Only one is kept per settings; a second one given back is released.
        pool.give(again, settings)
        pool.give(try #require(ZlibStream(deflateWindowBits: 15, level: 6, memoryLevel: 8)), settings)
        #expect(pool.take(settings) === again)
    }
}
