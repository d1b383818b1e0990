import HoldfastChannels
import Testing

@testable import HoldfastServer

/// Every socket joined to a room holds one `PhoenixSession` and one `RoomMember`: the sizes here are the malloc
/// chunks their notes promise (the instance size plus malloc's 8-byte size field, rounded up to 16).
@Suite struct JoinedMemberLayoutTests {
    @Test func aSessionFitsOneHundredAndNinetyTwoHeapBytes() {
        // The channel limits are one shared reference (they were 40 bytes of every socket), the two one-byte
        // serializer versions and the open flag sit in padding, and both the joins and the protocol state's channels
        // are filed by their own topics (a `TopicMap` kept each topic again beside the value, 16 bytes each): 184
        // bytes of instance, one 192-byte chunk, where 216 took a 224-byte one and 256 a 272-byte one.
        #expect(MemoryLayout<ChannelSocketState>.size <= 97)
        #expect(MemoryLayout<TopicKeyedMap<RoomMember>>.size == 16)
        #expect(instanceSize(of: PhoenixSession.self) <= 184)
    }

    @Test func aRoomMemberFitsEightyHeapBytesWithoutASideTable() {
        // No weak reference (its side table was a 48-byte chunk of its own per member); the user's name, the
        // connection id, the serializer version and the open flag are the session's, which is held as its concrete
        // type (one word, where an existential took two): at most 72 bytes of instance, one 80-byte chunk, where a
        // 96-byte chunk (82 bytes), a 112-byte one and before that a 128-byte and a 48-byte one were.
        #expect(instanceSize(of: RoomMember.self) <= 72)
    }
}

/// The instance size recorded in a Swift class's metadata (see `ConnectionLayoutTests`, which checks the offset).
private func instanceSize(of type: AnyClass) -> Int {
    let metadata = unsafeBitCast(type, to: UnsafeRawPointer.self)
    return Int(metadata.load(fromByteOffset: 24, as: UInt32.self))
}
