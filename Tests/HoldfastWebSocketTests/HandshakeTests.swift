import HoldfastHTTP
import Testing
@testable import HoldfastWebSocket

@Suite struct HandshakeTests {
    @Test func computesTheRFCSampleAcceptKey() {
        #expect(WebSocketHandshake.acceptKey(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
