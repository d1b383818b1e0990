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

    /// A snapshot from another process may carry window bits or levels that zlib refuses. Importing one used to
    /// free the refused zlib stream twice (the failable initializer's `deinit` ran after its own cleanup); now
    /// the connection sends plain frames and fails a compressed message with a typed error. Found by
    /// Fuzz/Corpus/handoff/window-bits-zlib-refuses.
    @Test func importsZlibSettingsThatZlibRefuses() {
        let state = WebSocketConnectionState(
            limits: WebSocketLimits(),
            deflate: PerMessageDeflateParameters(serverMaxWindowBits: 76, clientMaxWindowBits: 76),
            minimumSizeToCompress: 0, compressionLevel: 100, memoryLevel: 100, closeSent: false, openMessage: nil,
            utf8State: 0, partialMessage: [], inflateWindow: [1, 2, 3], deflateWindow: [4, 5, 6])
        var harness = Harness()
        harness.connection = WebSocketConnection(importing: state)
        var output: [UInt8] = []
        Array("plain".utf8).withUnsafeBytes { harness.connection.appendMessage($0, opcode: .text, into: &output) }
        #expect(ServerFrame.parse(output) == [ServerFrame(fin: true, rsv1: false, opcode: 1, payload: Array("plain".utf8))])
        let compressed = ClientDeflater(windowBits: 15).compress(Array("hello".utf8))
        #expect(harness.feed(clientFrame(.text, compressed, rsv1: true))
            == [.closed(code: 1011, byPeer: false, error: .compressionUnavailable)])
    }

    @Test func zlibStreamsWithSettingsZlibRefusesAreNil() {
        #expect(ZlibStream(inflateWindowBits: 76) == nil)
        #expect(ZlibStream(inflateWindowBits: -3) == nil)
        #expect(ZlibStream(deflateWindowBits: 76, level: 6, memoryLevel: 8) == nil)
        #expect(ZlibStream(deflateWindowBits: 15, level: 100, memoryLevel: 8) == nil)
        #expect(ZlibStream(deflateWindowBits: 15, level: 6, memoryLevel: 100) == nil)
        #expect(ZlibStream(inflateWindowBits: 15) != nil)
    }
}
