import HoldfastChannels
import Testing

@testable import HoldfastServer

/// Every socket joined to a room holds one `PhoenixSession` and one `RoomMember`: the sizes here are the malloc
/// chunks their notes promise (the instance size plus malloc's 8-byte size field, rounded up to 16).
@Suite struct JoinedMemberLayoutTests {
    @Test func aSessionFitsTwoHundredAndTwentyFourHeapBytes() {
        // The channel limits are one shared reference (they were 40 bytes of every socket), and the two one-byte
        // serializer versions sit in padding: 216 bytes of instance, where 256 took a 272-byte chunk.
        #expect(MemoryLayout<ChannelSocketState>.size <= 113)
        #expect(instanceSize(of: PhoenixSession.self) <= 216)
    }

    @Test func aRoomMemberFitsNinetySixHeapBytesWithoutASideTable() {
        // No weak reference (its side table was a 48-byte chunk of its own per member), and the user's name and the
        // connection id are the session's: at most 88 bytes of instance, one 96-byte chunk, where a 112-byte chunk
        // (90 bytes with the connection id) and before that a 128-byte and a 48-byte one were.
        #expect(instanceSize(of: RoomMember.self) <= 88)
    }
}

/// The instance size recorded in a Swift class's metadata (see `ConnectionLayoutTests`, which checks the offset).
private func instanceSize(of type: AnyClass) -> Int {
    let metadata = unsafeBitCast(type, to: UnsafeRawPointer.self)
    return Int(metadata.load(fromByteOffset: 24, as: UInt32.self))
}
