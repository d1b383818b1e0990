import Testing

@testable import HoldfastWebSocket

/// Connections that negotiated server_no_context_takeover start on one shared deflate context and take one of their
/// own only when a stream is needed (the first compressed message received).
@Suite struct SharedDeflateContextTests {
    static let noTakeover = PerMessageDeflateParameters(serverNoContextTakeover: true)

    @Test func connectionsWithoutServerContextTakeoverShareOneContext() throws {
        let first = Harness(deflate: Self.noTakeover)
        let second = Harness(deflate: Self.noTakeover)
        let context = try #require(first.connection.deflate)
        #expect(context.isShared)
        #expect(second.connection.deflate === context)
        // Other settings are another shared context, and context takeover always gets a context of its own.
        let levelOne = Harness(
            deflate: Self.noTakeover, configuration: PerMessageDeflateConfiguration(compressionLevel: 1))
        #expect(levelOne.connection.deflate !== context && levelOne.connection.deflate?.compressionLevel == 1)
        let takeover = Harness(deflate: PerMessageDeflateParameters())
        #expect(takeover.connection.deflate?.isShared == false)
        #expect(takeover.connection.deflate !== Harness(deflate: PerMessageDeflateParameters()).connection.deflate)
    }

    @Test func theFirstCompressedMessageTakesAContextOfItsOwn() throws {
        var receiving = Harness(deflate: Self.noTakeover)
        let bystander = Harness(deflate: Self.noTakeover)
        let shared = try #require(bystander.connection.deflate)
        #expect(receiving.feed(clientFrame(.text, "plain first")) == [.text("plain first")])
        #expect(receiving.connection.deflate === shared, "an uncompressed message needs no stream")

        let client = ClientDeflater(windowBits: 15)
        for message in DeflateTests.messages {
            let frame = clientFrame(.text, client.compress(Array(message.utf8)), rsv1: true)
            #expect(receiving.feed(frame) == [.text(message)])
        }
        let own = try #require(receiving.connection.deflate)
        #expect(own !== shared && !own.isShared && own.inflater != nil)
        #expect(own.parameters == shared.parameters && own.minimumSizeToCompress == shared.minimumSizeToCompress)
        #expect(shared.inflater == nil && shared.deflater == nil, "the shared context never holds a stream")
        #expect(bystander.connection.deflate === shared)
    }

    @Test func aSharedContextStillCompressesWhatItSends() throws {
        var sending = Harness(deflate: Self.noTakeover)
        let message = Array(String(repeating: "presence ", count: 40).utf8)
        message.withUnsafeBytes { sending.connection.appendMessage($0, opcode: .text, into: &sending.output) }
        #expect(sending.connection.deflate?.isShared == true)
        #expect(sending.output[0] == 0xC1, "FIN, RSV1 and the text opcode: compressed")
        let payload = Array(sending.output[2...])
        #expect(ClientInflater().inflateMessage(payload) == message)
    }

    @Test func anImportedInflateWindowTakesAContextOfItsOwn() throws {
        var exporter = Harness(deflate: Self.noTakeover)
        let client = ClientDeflater(windowBits: 15)
        let message = DeflateTests.messages[2]
        #expect(exporter.feed(clientFrame(.text, client.compress(Array(message.utf8)), rsv1: true)) == [.text(message)])
        let state = try #require(exporter.connection.exportState())
        #expect(state.inflateWindow != nil)
        var imported = Harness(deflate: nil)
        imported.connection = WebSocketConnection(importing: state)
        #expect(imported.connection.deflate?.isShared == false && imported.connection.deflate?.inflater != nil)
        #expect(imported.feed(clientFrame(.text, client.compress(Array(message.utf8)), rsv1: true)) == [.text(message)])
    }
}
