import Testing
@testable import HoldfastWebSocket

@Suite struct ExportTests {
    @Test func continuesAFragmentedMessageAfterExport() throws {
        var harness = Harness()
        harness.feed(clientFrame(.text, [0x61, 0xE2, 0x82], fin: false))
        let state = try #require(harness.connection.exportState())
        #expect(state.partialMessage == [0x61, 0xE2, 0x82])
        harness.connection = WebSocketConnection(importing: state)
        #expect(harness.feed(clientFrame(.continuation, [0xAC])) == [.text("a€")])
    }

    @Test func continuesBothDeflateContextsAfterExport() throws {
        var harness = Harness(deflate: PerMessageDeflateParameters())
        let client = ClientDeflater(windowBits: 15)
        let clientInflater = ClientInflater()
        let messages = DeflateTests.messages
        #expect(harness.feed(clientFrame(.text, client.compress(Array(messages[2].utf8)), rsv1: true))
            == [.text(messages[2])])
        var output: [UInt8] = []
        Array(messages[2].utf8).withUnsafeBytes { harness.connection.appendMessage($0, opcode: .text, into: &output) }
        _ = clientInflater.inflateMessage(ServerFrame.parse(output)[0].payload)

        let state = try #require(harness.connection.exportState())
        #expect(state.inflateWindow?.isEmpty == false && state.deflateWindow?.isEmpty == false)
        harness.connection = WebSocketConnection(importing: state)

        // The client keeps its context: the next message refers back to the exported window.
        #expect(harness.feed(clientFrame(.text, client.compress(Array(messages[2].utf8)), rsv1: true))
            == [.text(messages[2])])
        output = []
        Array(messages[2].utf8).withUnsafeBytes { harness.connection.appendMessage($0, opcode: .text, into: &output) }
        let frame = ServerFrame.parse(output)[0]
        #expect(frame.payload.count < 40)
        #expect(String(decoding: clientInflater.inflateMessage(frame.payload), as: UTF8.self) == messages[2])
    }

    @Test func refusesToExportHalfACompressedMessage() {
        var harness = Harness(deflate: PerMessageDeflateParameters())
        let compressed = ClientDeflater(windowBits: 15).compress(Array(DeflateTests.messages[2].utf8))
        harness.feed(clientFrame(.text, Array(compressed.prefix(10)), fin: false, rsv1: true))
        #expect(harness.connection.exportState() == nil)
    }
}
