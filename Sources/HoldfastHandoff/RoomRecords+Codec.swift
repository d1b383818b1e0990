public import HoldfastBytes
import HoldfastPresence
public import HoldfastRooms

extension StagedRoom {
    /// The record (``HandoffFormat/stagedRoomRecord``).
    public func encode() -> [UInt8] {
        var presenceBytes: [UInt8] = []
        presence.encode(into: &presenceBytes)
        var out = ByteWriter(capacity: 32 + presenceBytes.count)
        out.byte(HandoffFormat.stagedRoomRecord)
        out.string(topic)
        out.unsigned(presenceGeneration)
        out.data(presenceBytes)
        return out.bytes
    }

    /// Reads a staged room record.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.stagedRoomRecord else {
            throw ByteReadError.invalid("not a staged room")
        }
        let topic = try input.string()
        let generation = try input.unsigned()
        let presence = try decodePresence(try input.data(), topic: topic)
        try input.expectEnd()
        self.init(topic: topic, presenceGeneration: generation, presence: presence)
    }
}

extension RoomSnapshot {
    /// The record (``HandoffFormat/roomRecord``).
    public func encode() -> [UInt8] {
        var presenceBytes: [UInt8]?
        if let presence {
            var bytes: [UInt8] = []
            presence.encode(into: &bytes)
            presenceBytes = bytes
        }
        var out = ByteWriter(capacity: 64 + (presenceBytes?.count ?? 0) + awaitingState.count * 4)
        out.byte(HandoffFormat.roomRecord)
        out.string(topic)
        out.signed(lastID)
        out.optionalData(presenceBytes)
        out.unsigned(UInt64(awaitingState.count))
        for id in awaitingState { out.unsigned(id) }
        out.unsigned(UInt64(pending.count))
        for item in pending {
            out.signed(item.message.id)
            out.string(item.message.user)
            out.string(item.message.body)
            out.signed(item.message.timestamp)
            out.optionalString(item.message.clientID)
            out.unsigned(item.senderConnectionID)
            out.optionalString(item.ref)
        }
        return out.bytes
    }

    /// Reads a room record.
    public init(decoding bytes: [UInt8]) throws(ByteReadError) {
        var input = ByteReader(bytes)
        guard try input.byte() == HandoffFormat.roomRecord else { throw ByteReadError.invalid("not a room record") }
        let topic = try input.string()
        let lastID = try input.signed()
        let presence = try input.optionalData().map { (bytes) throws(ByteReadError) in
            try decodePresence(bytes, topic: topic)
        }
        var awaiting: [UInt64] = []
        // Counts are bounded by the bytes left (each item takes at least one), so damage cannot size a loop.
        for _ in 0..<(try input.count()) { awaiting.append(try input.unsigned()) }
        var pending: [PendingMessage] = []
        for _ in 0..<(try input.count()) {
            let message = ChatMessage(
                id: try input.signed(), user: try input.string(), body: try input.string(),
                timestamp: try input.signed(), clientID: try input.optionalString())
            pending.append(PendingMessage(
                message: message, senderConnectionID: try input.unsigned(), ref: try input.optionalString()))
        }
        try input.expectEnd()
        self.init(topic: topic, lastID: lastID, presence: presence, awaitingState: awaiting, pending: pending)
    }
}

/// A room's presence bytes, with the topic in the error.
private func decodePresence(_ bytes: [UInt8], topic: String) throws(ByteReadError) -> PresenceSnapshot {
    do {
        return try PresenceSnapshot(decoding: bytes)
    } catch {
        throw ByteReadError.invalid("presence of \(topic): \(error)")
    }
}
