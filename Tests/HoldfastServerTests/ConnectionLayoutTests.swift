import HoldfastHTTP
import HoldfastTLS
import HoldfastWebSocket
import Testing

@testable import HoldfastServer

/// Every open socket holds one `Connection`, and every event reads its phase state: the sizes here are the ones the
/// size note on `Connection.State` promises.
@Suite struct ConnectionLayoutTests {
    @Test func thePhaseStateIsOnePointerAndATag() {
        // Every layer is a class reference (or a pointer-sized application), so reading the state copies one word
        // whatever the phase; an inline HTTP parser would make it about 145 bytes.
        #expect(MemoryLayout<Connection.State>.size <= 9)
        #expect(MemoryLayout<HTTPRequestParser>.size > 9, "keeping the parser inline would grow every connection")
    }

    @Test func theApplicationIsOnePointer() {
        // `.echo` lives in the session pointer's spare bits, and so does "no application" (draining after HTTP).
        #expect(MemoryLayout<Connection.Application>.size == 8)
        #expect(MemoryLayout<Connection.Application?>.size == 8)
    }

    @Test func aWebSocketLayerFitsInNinetySixHeapBytes() {
        // 16 bytes of object header, then the protocol state and the application: one 96-byte malloc bucket.
        let stored = MemoryLayout<WebSocketConnection>.stride + MemoryLayout<Connection.Application>.size
        #expect(16 + stored <= 96)
    }

    @Test func theRecordLayerStaysBesideTheState() {
        // The record layer lives across phases, inline in the connection (64 bytes and a tag).
        #expect(MemoryLayout<TLSRecordLayer?>.size <= 65)
    }
}
