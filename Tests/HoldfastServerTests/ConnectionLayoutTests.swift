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

    @Test func aWebSocketLayerFitsInSixtyFourHeapBytes() {
        // 16 bytes of object header, then the protocol state and the application: 56 bytes, one 64-byte malloc chunk
        // (8 bytes of malloc's size field, rounded to 16).
        let stored = MemoryLayout<WebSocketConnection>.stride + MemoryLayout<Connection.Application>.size
        #expect(16 + stored <= 56)
    }

    @Test func theRecordLayerIsOnePointer() {
        // The record layer lives across phases; plaintext connections hold only a nil reference to it.
        #expect(MemoryLayout<TLSRecordLayer?>.size == 8)
    }

    @Test func aConnectionFitsOneHundredAndFortyFourHeapBytes() {
        // Every open socket holds one: 136 bytes of instance (with the 16-byte header) make one 144-byte malloc
        // chunk (8 bytes of malloc's size field, rounded to 16); 137 would take 160.
        #expect(instanceSize(of: SizeProbe.self) == 16 + 24, "the size field is where this test reads it")
        #expect(instanceSize(of: Connection.self) <= 136)
        #expect(instanceSize(of: Connection.WebSocketLayer.self) <= 56)
    }
}

/// A class of known size, to check that ``instanceSize(of:)`` reads the right field.
private final class SizeProbe {
    var a: Int64 = 0
    var b: Int32 = 0
    var c: UInt64 = 0
}

/// The instance size recorded in a Swift class's metadata. Without Objective-C interop (Linux), the fields are
/// the kind, the superclass, 32-bit flags, the 32-bit instance address point and then the 32-bit instance size.
private func instanceSize(of type: AnyClass) -> Int {
    let metadata = unsafeBitCast(type, to: UnsafeRawPointer.self)
    return Int(metadata.load(fromByteOffset: 24, as: UInt32.self))
}
